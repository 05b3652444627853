/**
 * The coverage rule, in one place: both `SocketCoverageProcessor` (at run time) and the trace
 * analysis (`sockscope gaps`, `sockscope report`) decide "is this exchange already described by an
 * upstream instrumentation?" with these functions, so the two can never disagree. The rule itself
 * (parent rule, sibling rule, what never covers) is stated once, in docs/gap-analysis.md
 * ("What covered means").
 */
import { sameServer, serverKeys } from '../spans/server-key';

export { sameServer, serverKeys };

/** An upstream span as the rule needs to see it. Times are epoch milliseconds. */
export interface UpstreamSpan {
  spanId: string;
  parentSpanId: string | undefined;
  /** Instrumentation scope name, e.g. `@opentelemetry/instrumentation-pg`. */
  scope: string;
  /** Span kind in the OTLP wire numbering (1 INTERNAL, 2 SERVER, 3 CLIENT, 4 PRODUCER, 5 CONSUMER),
   * not the API's `SpanKind` enum (which is one less): use `otlpKind()` to convert. */
  kind: number;
  startMs: number;
  /** Undefined while the span is still open. */
  endMs: number | undefined;
  /** Servers the span names, as `host:port` keys (see `serverKeys`). Empty when it names none. */
  servers: readonly string[];
}

/** An exchange as the rule needs to see it. */
export interface ExchangeForCoverage {
  parentSpanId: string | undefined;
  startMs: number;
  endMs: number;
  /** `server.address:server.port` and `network.peer.address:network.peer.port` keys. */
  servers: readonly string[];
}

const SPAN_KIND_CLIENT = 3;
const SPAN_KIND_PRODUCER = 4;

/** The OTLP wire number of an API `SpanKind` (INTERNAL 0 → 1, CLIENT 2 → 3, ...). */
export function otlpKind(apiKind: number): number {
  return apiKind + 1;
}
export const SOCKSCOPE_SCOPE = 'sockscope';

/** Only CLIENT and PRODUCER spans (OTLP numbering) from another instrumentation can cover an exchange. */
export function canCover(kind: number, scope: string | undefined): boolean {
  return (kind === SPAN_KIND_CLIENT || kind === SPAN_KIND_PRODUCER) && scope !== SOCKSCOPE_SCOPE;
}

/**
 * Slack on the overlap test for trace data, in ms. The OpenTelemetry JS SDK stamps a span's start
 * with `Date.now()` (whole milliseconds) and derives its end from that, so in a trace file an
 * upstream span can sit up to 1 ms earlier than the sub-millisecond clock sockscope stamps
 * exchanges with: a short query's pg span may seem to end just before its exchange starts. At run
 * time `SocketCoverageProcessor` times upstream spans on sockscope's own clock and needs none.
 */
export const CLOCK_SLACK_MS = 1;

/**
 * An upstream call that describes this round trip started before its first write (the
 * instrumentation starts its span, then the client writes) and was still open after it began.
 */
function overlaps(u: UpstreamSpan, ex: ExchangeForCoverage, slackMs: number): boolean {
  const uEnd = u.endMs === undefined ? Infinity : u.endMs + slackMs;
  return u.startMs <= ex.startMs + slackMs && ex.startMs <= uEnd;
}

/**
 * Find the upstream span that covers an exchange, or undefined.
 * @param parent the exchange's parent span when it is an upstream span (parent rule), else undefined
 * @param siblings upstream spans under the exchange's parent (open or recently ended)
 */
export function findCovering(
  ex: ExchangeForCoverage,
  parent: UpstreamSpan | undefined,
  siblings: Iterable<UpstreamSpan>,
  slackMs: number = CLOCK_SLACK_MS,
): UpstreamSpan | undefined {
  if (parent !== undefined && canCover(parent.kind, parent.scope)) return parent;
  let unnamed: UpstreamSpan | undefined;
  let unnamedCount = 0;
  for (const u of siblings) {
    if (u.parentSpanId !== ex.parentSpanId || !canCover(u.kind, u.scope) || !overlaps(u, ex, slackMs))
      continue;
    if (u.servers.length === 0) {
      unnamedCount++;
      unnamed = u;
    } else if (sameServer(u.servers, ex.servers)) {
      return u;
    }
  }
  // A span naming no server is trusted only when it is the one upstream client span open there.
  if (unnamedCount === 1 && unnamed !== undefined) {
    for (const u of siblings) {
      if (
        u !== unnamed &&
        u.parentSpanId === ex.parentSpanId &&
        canCover(u.kind, u.scope) &&
        overlaps(u, ex, slackMs)
      )
        return undefined;
    }
    return unnamed;
  }
  return undefined;
}
