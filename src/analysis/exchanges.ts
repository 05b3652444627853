/**
 * Which spans are sockscope exchanges, and is each one covered by an upstream instrumentation?
 *
 * The verdict is recomputed from the trace with the shared rule (`findCovering` in
 * src/coverage/rule.ts), whatever `sockscope.covered` the span was recorded with: a file written
 * without `SocketCoverageProcessor`, or traces pulled from Jaeger, get the same answer.
 */
import { findCovering, serverKeys, SOCKSCOPE_SCOPE, type UpstreamSpan } from '../coverage/rule';
import type { TraceSpan } from './model';

/** Scopes whose CLIENT spans describe no round trip to the server, so they never cover one. */
const NOT_ROUND_TRIPS = new Set([
  // `tcp.connect`/`tls.connect`/`ipc.connect`: the connect only, ended before any byte is exchanged.
  '@opentelemetry/instrumentation-net',
  // Name resolution, not a call to the server.
  '@opentelemetry/instrumentation-dns',
]);
const NET_SPAN_NAMES = new Set(['tcp.connect', 'tls.connect', 'ipc.connect']);

const KIND_NUMBERS: Record<TraceSpan['kind'], number> = {
  unspecified: 0,
  internal: 1,
  server: 2,
  client: 3,
  producer: 4,
  consumer: 5,
};

/** A span sockscope wrote: its scope says so, or (formats without scope, like Zipkin) its attributes do. */
export function isSockscopeSpan(span: TraceSpan): boolean {
  if (span.scope !== undefined) return span.scope === SOCKSCOPE_SCOPE;
  return typeof span.attributes['sockscope.kind'] === 'string';
}

/** A sockscope exchange span (`sockscope.kind` = `exchange`). */
export function isExchangeSpan(span: TraceSpan): boolean {
  return span.attributes['sockscope.kind'] === 'exchange' && isSockscopeSpan(span);
}

/**
 * A sockscope connection span whose bytes Node's native code consumed (HTTP/2 sessions): no
 * exchange is visible on it, so the analysis counts the connection itself as one exchange.
 */
export function isOpaqueConnectionSpan(span: TraceSpan): boolean {
  const opaque = span.attributes['sockscope.opaque'];
  return (
    span.attributes['sockscope.kind'] === 'connection' &&
    (opaque === true || opaque === 'true') &&
    isSockscopeSpan(span)
  );
}

/** instrumentation-net's connect spans (by scope, or by name when the format lost the scope). */
export function isNetConnectSpan(span: TraceSpan): boolean {
  return (
    span.scope === '@opentelemetry/instrumentation-net' ||
    (span.scope === undefined && NET_SPAN_NAMES.has(span.name))
  );
}

/** The scope name reported for a covering span whose format did not record one (Zipkin). */
export const UNKNOWN_SCOPE = '(unknown scope)';

/** The span as the coverage rule sees it, or undefined when it can never cover an exchange. */
export function asUpstream(span: TraceSpan): UpstreamSpan | undefined {
  if (span.kind !== 'client' && span.kind !== 'producer') return undefined;
  if (isSockscopeSpan(span) || isNetConnectSpan(span)) return undefined;
  if (span.scope !== undefined && NOT_ROUND_TRIPS.has(span.scope)) return undefined;
  return {
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    scope: span.scope ?? UNKNOWN_SCOPE,
    kind: KIND_NUMBERS[span.kind],
    startMs: span.startMs,
    endMs: span.endMs,
    servers: serverKeys(span.attributes),
  };
}

/** An exchange with its coverage verdict. `data` is whatever the caller chose to keep of the span. */
export interface ExchangeVerdict<T = TraceSpan> {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  startMs: number;
  endMs: number;
  covered: boolean;
  /** The covering span's scope name, when covered. */
  coveredBy: string | undefined;
  /** Which rule found the covering span. */
  rule: 'parent' | 'sibling' | undefined;
  /** True for an opaque connection counted as one exchange (see `isOpaqueConnectionSpan`). */
  opaque: boolean;
  data: T;
}

export interface CoverageTrackerOptions<T> {
  /** What to keep of each exchange span until its verdict (keep it small for large inputs). */
  keep: (span: TraceSpan) => T;
  /** Receives each verdict once, in no guaranteed order. */
  onVerdict: (verdict: ExchangeVerdict<T>) => void;
  /**
   * Exchanges held waiting for their covering spans before the oldest are decided. Spans arrive
   * in export order, so a covering span usually follows its exchange within a few batches.
   * Default 20 000; `Infinity` decides everything at `finish()` (exact, memory grows with input).
   */
  maxPending?: number;
  /** Upstream spans remembered as possible covers. Default 50 000. */
  maxUpstream?: number;
  /**
   * Over `maxPending`, an exchange is decided early only once the data has moved this far (in
   * span time) past its end, unless the backlog reaches twice `maxPending`. Default 60 000 ms.
   */
  horizonMs?: number;
}

interface Pending<T> {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  startMs: number;
  endMs: number;
  servers: string[];
  opaque: boolean;
  data: T;
}

const sep = '\u0000';

/**
 * Decides coverage for exchanges fed span by span, with bounded memory: exchanges wait until the
 * batch that completes their trace has probably been seen, then are decided with `findCovering`.
 * Duplicate spans (same trace and span id, as Jaeger and export retries produce) count once.
 */
export class CoverageTracker<T> {
  private readonly pending = new Map<string, Pending<T>>();
  private readonly upstreamById = new Map<string, UpstreamSpan>();
  private readonly upstreamByParent = new Map<string, UpstreamSpan[]>();
  private readonly upstreamOrder = new Map<string, string>(); // id key -> parent key, oldest first
  private readonly decided = new Map<string, true>();
  private readonly maxPending: number;
  private readonly maxUpstream: number;
  private readonly horizonMs: number;
  private watermark = -Infinity;

  constructor(private readonly options: CoverageTrackerOptions<T>) {
    this.maxPending = options.maxPending ?? 20_000;
    this.maxUpstream = options.maxUpstream ?? 50_000;
    this.horizonMs = options.horizonMs ?? 60_000;
  }

  add(span: TraceSpan): void {
    if (span.endMs > this.watermark) this.watermark = span.endMs;
    const opaque = isOpaqueConnectionSpan(span);
    if (opaque || isExchangeSpan(span)) {
      const key = span.traceId + sep + span.spanId;
      if (this.pending.has(key) || this.decided.has(key)) return;
      this.pending.set(key, {
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId,
        startMs: span.startMs,
        endMs: span.endMs,
        servers: serverKeys(span.attributes),
        opaque,
        data: this.options.keep(span),
      });
      return;
    }
    const u = asUpstream(span);
    if (u === undefined) return;
    const idKey = span.traceId + sep + span.spanId;
    if (this.upstreamById.has(idKey)) return;
    const parentKey = span.traceId + sep + (span.parentSpanId ?? '');
    this.upstreamById.set(idKey, u);
    let list = this.upstreamByParent.get(parentKey);
    if (list === undefined) this.upstreamByParent.set(parentKey, (list = []));
    list.push(u);
    this.upstreamOrder.set(idKey, parentKey);
    if (this.upstreamOrder.size > this.maxUpstream) this.evictUpstream();
  }

  /** Mark the end of an input batch (a JSONL line, a document): a safe moment to decide old exchanges. */
  endBatch(): void {
    if (this.pending.size <= this.maxPending) return;
    const limit = this.watermark - this.horizonMs;
    for (const [key, p] of this.pending) {
      if (this.pending.size <= this.maxPending) break;
      if (p.endMs > limit && this.pending.size < 2 * this.maxPending) break;
      this.decide(key, p);
    }
  }

  /** Decide every exchange still waiting. */
  finish(): void {
    for (const [key, p] of this.pending) this.decide(key, p);
  }

  private decide(key: string, p: Pending<T>): void {
    this.pending.delete(key);
    this.decided.set(key, true);
    // Remember decided ids only as long as a duplicate could plausibly still arrive.
    if (this.decided.size > 2 * Math.min(this.maxPending, 100_000)) {
      const first = this.decided.keys().next();
      if (!first.done) this.decided.delete(first.value);
    }
    const parent =
      p.parentSpanId === undefined ? undefined : this.upstreamById.get(p.traceId + sep + p.parentSpanId);
    const siblings = this.upstreamByParent.get(p.traceId + sep + (p.parentSpanId ?? '')) ?? [];
    const cover = findCovering(p, parent, siblings);
    this.options.onVerdict({
      traceId: p.traceId,
      spanId: p.spanId,
      parentSpanId: p.parentSpanId,
      startMs: p.startMs,
      endMs: p.endMs,
      covered: cover !== undefined,
      coveredBy: cover?.scope,
      rule: cover === undefined ? undefined : cover === parent ? 'parent' : 'sibling',
      opaque: p.opaque,
      data: p.data,
    });
  }

  private evictUpstream(): void {
    while (this.upstreamOrder.size > this.maxUpstream) {
      const first = this.upstreamOrder.entries().next();
      if (first.done) return;
      const [idKey, parentKey] = first.value;
      this.upstreamOrder.delete(idKey);
      const u = this.upstreamById.get(idKey);
      this.upstreamById.delete(idKey);
      const list = this.upstreamByParent.get(parentKey);
      if (list === undefined) continue;
      const rest = list.filter((x) => x !== u);
      if (rest.length === 0) this.upstreamByParent.delete(parentKey);
      else this.upstreamByParent.set(parentKey, rest);
    }
  }
}

/**
 * Every exchange in an in-memory set of spans, with its verdict, in input order. Exact: nothing
 * is decided before all spans are seen.
 */
export function classifyExchanges(spans: Iterable<TraceSpan>): Array<ExchangeVerdict<TraceSpan>> {
  const out: Array<ExchangeVerdict<TraceSpan>> = [];
  const tracker = new CoverageTracker<TraceSpan>({
    keep: (s) => s,
    onVerdict: (v) => out.push(v),
    maxPending: Infinity,
    maxUpstream: Infinity,
  });
  for (const s of spans) tracker.add(s);
  tracker.finish();
  return out;
}
