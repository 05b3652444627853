/**
 * HTTP request methods sockscope names exchanges by: semconv's known methods (RFC 9110, PATCH from
 * RFC 5789, and QUERY). Anything else, including a different case, is `_OTHER`, as semconv
 * requires for `http.request.method`: method names are case-sensitive, and an arbitrary token must
 * not become a span name. Used by the HTTP/1 parser and the HTTP/2 tap (`:method`).
 */
import { OTHER } from './other';

const METHODS: ReadonlyMap<string, string> = new Map(
  ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH', 'QUERY'].map((m) => [
    m,
    m,
  ]),
);

/** The canonical method for `raw` when it is a known method (exact case), else `_OTHER`. */
export function httpMethod(raw: string): string {
  return METHODS.get(raw) ?? OTHER;
}
