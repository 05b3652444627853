/**
 * Which spans are sockscope exchanges, and is each one covered by an upstream instrumentation?
 *
 * The verdict is recomputed from the trace with the shared rule (`findCovering` in
 * src/coverage/rule.ts), whatever `sockscope.covered` the span was recorded with: a file written
 * without `SocketCoverageProcessor`, or traces pulled from Jaeger, get the same answer.
 */
import { findCovering, serverKeys, SOCKSCOPE_SCOPE, type UpstreamSpan } from '../coverage/rule';
import {
  ATTR_SOCKSCOPE_COVERAGE_RULES,
  ATTR_SOCKSCOPE_COVERED,
  ATTR_SOCKSCOPE_COVERED_BY,
  ATTR_SOCKSCOPE_EXCHANGES,
  ATTR_SOCKSCOPE_KIND,
  ATTR_SOCKSCOPE_OPAQUE,
  KIND_CONNECTION,
  KIND_EXCHANGE,
} from '../spans/semconv';
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
  return typeof span.attributes[ATTR_SOCKSCOPE_KIND] === 'string';
}

/** A sockscope exchange span (`sockscope.kind` = `exchange`). */
export function isExchangeSpan(span: TraceSpan): boolean {
  return span.attributes[ATTR_SOCKSCOPE_KIND] === KIND_EXCHANGE && isSockscopeSpan(span);
}

/**
 * A sockscope connection span whose bytes Node's native code consumed (HTTP/2 sessions): no
 * exchange is visible on it, so the analysis counts the connection itself as one exchange.
 */
export function isOpaqueConnectionSpan(span: TraceSpan): boolean {
  const opaque = span.attributes[ATTR_SOCKSCOPE_OPAQUE];
  // When sockscope saw its streams (the HTTP/2 tap makes each stream an exchange span), the
  // connection is not counted again; only a session whose calls were invisible stands in for them.
  const streams = Number(span.attributes[ATTR_SOCKSCOPE_EXCHANGES] ?? 0);
  return (
    span.attributes[ATTR_SOCKSCOPE_KIND] === KIND_CONNECTION &&
    (opaque === true || opaque === 'true') &&
    !(streams > 0) &&
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

/** Whether the exchange's `sockscope.covered` was decided at run time with both coverage rules. */
function recordedWithBothRules(span: TraceSpan): boolean {
  const rules = span.attributes[ATTR_SOCKSCOPE_COVERAGE_RULES];
  return typeof rules === 'string' && rules.split(',').includes('sibling');
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
  rule: 'parent' | 'sibling' | 'recorded' | undefined;
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
   * Exchanges held waiting for their parent span before the oldest are decided anyway.
   * Default 10 000; `Infinity` decides everything at `finish()` (exact, memory grows with input).
   */
  maxPending?: number;
  /** Upstream spans remembered as possible covers. Default 25 000. */
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

const interned = new Map<string, string>();
/**
 * A flat copy of a string kept for long, shared between equal values. Strings from JSON.parse
 * can be slices of the whole input line; holding one would keep the line alive.
 */
export function intern(s: string): string {
  if (s.length < 13) return s; // V8 copies short substrings rather than slicing
  let v = interned.get(s);
  if (v === undefined) {
    v = Buffer.from(s, 'utf8').toString('utf8');
    if (interned.size >= 10_000) interned.clear();
    interned.set(v, v);
  }
  return v;
}

/**
 * Decides coverage for exchanges fed span by span, with bounded memory.
 *
 * Spans are exported when they end and a parent ends after its children, so once an exchange's
 * parent has arrived, so have the upstream spans that could cover it (the parent itself, or its
 * other children): with a large backlog, the exchange is decided at the end of that batch.
 * Exchanges whose parent never arrives wait until `finish()`, or until the backlog limits force
 * the oldest to be decided. Upstream spans are forgotten oldest first past `maxUpstream`. Duplicate spans (same trace and span id, as Jaeger and
 * export retries produce) count once.
 */
export class CoverageTracker<T> {
  private readonly pending = new Map<string, Pending<T>>();
  /** parent key (trace + parent span id) -> keys of pending exchanges under it */
  private readonly pendingByParent = new Map<string, Set<string>>();
  private readonly upstreamById = new Map<string, UpstreamSpan>();
  private readonly upstreamByParent = new Map<string, UpstreamSpan[]>();
  private readonly upstreamOrder = new Map<string, string>(); // id key -> parent key, oldest first
  /** Span keys seen recently (bounded): a parent that arrived in this batch or shortly before. */
  private readonly seen = new Map<string, true>();
  /** Parent keys that may now be decided: their parent span has arrived. */
  private readonly ready = new Set<string>();
  private readonly decided = new Map<string, true>();
  private readonly maxPending: number;
  private readonly maxUpstream: number;
  private readonly horizonMs: number;
  private watermark = -Infinity;

  constructor(private readonly options: CoverageTrackerOptions<T>) {
    this.maxPending = options.maxPending ?? 10_000;
    this.maxUpstream = options.maxUpstream ?? 25_000;
    this.horizonMs = options.horizonMs ?? 60_000;
  }

  add(span: TraceSpan): void {
    if (span.endMs > this.watermark) this.watermark = span.endMs;
    const idKey = span.traceId + sep + span.spanId;
    this.seen.set(idKey, true);
    if (this.seen.size > 2 * this.maxPending || this.seen.size > 200_000) {
      const first = this.seen.keys().next();
      if (!first.done) this.seen.delete(first.value);
    }
    // The parent of whatever waits under this span's key has arrived (children usually come first)...
    if (this.pendingByParent.has(idKey) || this.upstreamByParent.has(idKey)) this.ready.add(idKey);
    const opaque = isOpaqueConnectionSpan(span);
    if (opaque || isExchangeSpan(span)) {
      if (this.pending.has(idKey) || this.decided.has(idKey)) return;
      if (!opaque && recordedWithBothRules(span)) {
        // Decided at run time with both rules on sockscope's exact clock: kept as recorded (the
        // trace's whole-millisecond upstream times could only make it less exact).
        this.decided.set(idKey, true);
        const by = span.attributes[ATTR_SOCKSCOPE_COVERED_BY];
        const covered = span.attributes[ATTR_SOCKSCOPE_COVERED] === true;
        this.options.onVerdict({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId,
          startMs: span.startMs,
          endMs: span.endMs,
          covered,
          coveredBy: covered ? (typeof by === 'string' ? by : UNKNOWN_SCOPE) : undefined,
          rule: 'recorded',
          opaque: false,
          data: this.options.keep(span),
        });
        return;
      }
      const parentKey = span.traceId + sep + (span.parentSpanId ?? '');
      this.pending.set(idKey, {
        traceId: span.traceId,
        spanId: span.spanId,
        parentSpanId: span.parentSpanId,
        startMs: span.startMs,
        endMs: span.endMs,
        servers: serverKeys(span.attributes).map(intern),
        opaque,
        data: this.options.keep(span),
      });
      let set = this.pendingByParent.get(parentKey);
      if (set === undefined) this.pendingByParent.set(parentKey, (set = new Set()));
      set.add(idKey);
      // ...or it came earlier (in this batch, or a recent one).
      if (this.seen.has(parentKey)) this.ready.add(parentKey);
      return;
    }
    const u = asUpstream(span);
    if (u === undefined || this.upstreamById.has(idKey)) return;
    u.scope = intern(u.scope);
    u.servers = u.servers.map(intern);
    const parentKey = span.traceId + sep + (span.parentSpanId ?? '');
    this.upstreamById.set(idKey, u);
    let list = this.upstreamByParent.get(parentKey);
    if (list === undefined) this.upstreamByParent.set(parentKey, (list = []));
    list.push(u);
    this.upstreamOrder.set(idKey, parentKey);
    if (this.seen.has(parentKey)) this.ready.add(parentKey);
    if (this.upstreamOrder.size > this.maxUpstream) this.evictOldestUpstream();
  }

  /** Mark the end of an input batch (a JSONL line, a document): decide what can be decided. */
  endBatch(): void {
    // Small backlogs wait for finish(), which is exact whatever order the spans came in; past a
    // tenth of the limit, exchanges whose parent has arrived are decided now.
    if (this.pending.size > this.maxPending / 10 || this.ready.size > this.maxPending) {
      for (const parentKey of this.ready) {
        const keys = this.pendingByParent.get(parentKey);
        if (keys === undefined) continue;
        for (const k of keys) {
          const p = this.pending.get(k);
          if (p !== undefined) this.decide(k, p);
        }
      }
      this.ready.clear();
    }
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
    const parentKey = p.traceId + sep + (p.parentSpanId ?? '');
    const set = this.pendingByParent.get(parentKey);
    if (set !== undefined) {
      set.delete(key);
      if (set.size === 0) this.pendingByParent.delete(parentKey);
    }
    this.decided.set(key, true);
    // Remember decided ids only as long as a duplicate could plausibly still arrive.
    if (this.decided.size > 2 * Math.min(this.maxPending, 100_000)) {
      const first = this.decided.keys().next();
      if (!first.done) this.decided.delete(first.value);
    }
    const parent =
      p.parentSpanId === undefined ? undefined : this.upstreamById.get(p.traceId + sep + p.parentSpanId);
    const siblings = this.upstreamByParent.get(parentKey) ?? [];
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

  private evictOldestUpstream(): void {
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
