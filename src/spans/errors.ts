import { SpanStatusCode, type Span } from '@opentelemetry/api';
import * as sc from './semconv';

/**
 * The only status messages sockscope writes for a failure it observed: its own words, never the
 * error's message, which may hold URLs, tokens or payload (`new Error('… ?token=…')`).
 * The failure itself is named by `error.type`.
 */
export const STATUS_CONNECT_FAILED = 'connect failed';
export const STATUS_SOCKET_FAILED = 'socket failed mid-exchange';
export const STATUS_STREAM_FAILED = 'stream failed';
/** A `traced()` function threw or rejected. */
export const STATUS_FUNCTION_FAILED = 'function threw';
export type FailureStatus =
  | typeof STATUS_CONNECT_FAILED
  | typeof STATUS_SOCKET_FAILED
  | typeof STATUS_STREAM_FAILED
  | typeof STATUS_FUNCTION_FAILED;

/** A code or class name: letters, digits, `_ . -`, bounded. Anything else is free text. */
const ERROR_TYPE_SHAPE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;
/** Semantic conventions' value for an error type that cannot be named. */
const OTHER = '_OTHER';

function shaped(v: unknown): string | undefined {
  return typeof v === 'string' && ERROR_TYPE_SHAPE.test(v) ? v : undefined;
}

/**
 * A failure's `error.type`: its code (`ECONNREFUSED`), else, for an AggregateError of failed
 * attempts (autoSelectFamily), the first attempt's code, else its class name (`Error` when it has
 * none); `_OTHER` when what it has does not have the shape of a code or a name.
 */
export function errorType(err: unknown): string {
  const e = err as { code?: unknown; name?: unknown; errors?: unknown } | null | undefined;
  let type = shaped(e?.code);
  if (type === undefined && Array.isArray(e?.errors)) {
    for (const inner of e.errors as Array<{ code?: unknown } | null>) {
      type = shaped(inner?.code);
      if (type !== undefined) break;
    }
  }
  if (type !== undefined) return type;
  if (typeof e?.name === 'string') return shaped(e.name) ?? OTHER;
  return e?.code !== undefined ? OTHER : 'Error';
}

/** Marks a span failed: `error.type` from the error, the status message from sockscope's words. */
export function failSpan(span: Span, err: unknown, status: FailureStatus): void {
  span.setAttribute(sc.ATTR_ERROR_TYPE, errorType(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: status });
}
