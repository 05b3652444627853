/**
 * One trace as the findings see it: its spans by id, its calls, and the units they are made under.
 *
 * - A **call** is one network round trip as the application made it: an uncovered exchange, or an
 *   upstream CLIENT/PRODUCER span together with the exchanges it covers (coverage rule of
 *   src/coverage/rule.ts), so a covered call is never counted twice. Upstream client spans nested
 *   in another upstream client span (an ORM span around a driver span) belong to the outer one.
 * - A **unit** is what the report is about: a span marked by `traced()` (`sockscope.function`), or
 *   an entry span (a root span, or a SERVER/CONSUMER span: where a service starts work). Calls with
 *   no parent span form the unit `(no parent span)`.
 *
 * Parent links come from the input and may loop (a span naming itself or a descendant as parent).
 * The model cuts each loop once, at the span whose parent closes it (that span becomes a root), and
 * says so in `warnings`; every walk of parents is then finite, and is also capped at the trace's
 * span count.
 */
import { CLOCK_SLACK_MS, findCovering, sameServer, serverKeys, type UpstreamSpan } from '../coverage/rule';
import {
  ATTR_NETWORK_TRANSPORT,
  ATTR_SOCKSCOPE_REQUEST_HASH,
  ATTR_SOCKSCOPE_STATEMENT_HASH,
} from '../spans/semconv';
import { functionName, operationOf, protocolOf, serverOf, str } from './attributes';
import { asUpstream, isExchangeSpan, isOpaqueConnectionSpan } from './exchanges';
import type { Finding } from './finding';
import type { TraceSpan } from './model';
import { classify, TX_CLOSE, TX_OPEN, type CallClass } from './operation-class';

export const ORPHANS_UNIT = '(no parent span)';

/** One network call (see the module comment). */
export interface Call {
  traceId: string;
  /** The upstream span id, or the (first) exchange span id. */
  id: string;
  /** The call's parent: the upstream span's parent, or the uncovered exchange's parent. */
  parentSpanId: string | undefined;
  upstream: TraceSpan | undefined;
  /** Exchange spans of the call (empty when only an upstream span describes it), by start time. */
  exchangeSpans: TraceSpan[];
  /** Round trips: exchange spans, or 1 for a call seen only as an upstream span. */
  roundTrips: number;
  /** First exchange start and last exchange end; the upstream span's times when it has no exchange. */
  startMs: number;
  endMs: number;
  /** When the bytes were on the wire: the exchanges, or the upstream span when there are none. */
  network: Array<[number, number]>;
  server: string;
  protocol: string;
  /** Operation name alone (`SELECT`), or '' when unknown. */
  operation: string;
  /** `sockscope.request.hash` of every exchange joined, or undefined when any is missing. */
  hash: string | undefined;
  /** `sockscope.statement.hash` (a SQL statement's literal-free shape) of the exchanges, when known. */
  statement: string | undefined;
  /** The connection span the exchanges link to, when known. */
  connection: string | undefined;
  klass: CallClass;
  /** Inside a BEGIN...COMMIT (or MULTI...EXEC) on the same connection. */
  inTransaction: boolean;
  error: boolean;
  /** Span ids reported in findings for this call. */
  reportIds: string[];
}

/** One occurrence of a unit in a trace. */
export interface UnitInstance {
  name: string;
  service: string | undefined;
  traceId: string;
  /** The unit's span id; for `(no parent span)` the trace id. */
  spanId: string;
  span: TraceSpan | undefined;
  kind: 'function' | 'entry' | 'orphans';
  startMs: number;
  endMs: number;
  /** Calls made under the unit, inner units included, by start time. */
  calls: Call[];
  findings: Finding[];
}

/** An upstream client span that describes a call even when it covers no exchange in the data. */
function describesCall(span: TraceSpan): boolean {
  if (serverKeys(span.attributes).length > 0) return true;
  return protocolOf(span) !== undefined;
}

/** Where a service starts work: a SERVER/CONSUMER span, a root, or a span whose parent is not in the data. */
export function isEntry(span: TraceSpan, byId: Map<string, TraceSpan>): boolean {
  return (
    span.kind === 'server' ||
    span.kind === 'consumer' ||
    span.parentSpanId === undefined ||
    !byId.has(span.parentSpanId)
  );
}

/** One link of a chain of units, innermost first. */
interface ChainLink {
  unit: UnitInstance;
  next: ChainLink | undefined;
}

/** Spans by id, calls and units of one trace (see the module comment). */
export class TraceModel {
  readonly byId = new Map<string, TraceSpan>();
  readonly calls: Call[] = [];
  /** Span id -> the call it belongs to (upstream and exchange spans). */
  readonly callOf = new Map<string, Call>();
  readonly units = new Map<string, UnitInstance>();

  /** One line per parent loop cut (see the module comment). */
  readonly warnings: string[] = [];
  /** Parent links followed by every walk so far: bounded, so tests can check the work stays linear. */
  parentSteps = 0;
  /** The longest any parent walk may be: no chain in a loop-free trace is longer. */
  private readonly maxWalk: number;
  /** Span id -> `upstreamFrom` of it (null: none). */
  private readonly upstreamMemo = new Map<string, TraceSpan | null>();
  /** Span id -> the chain of units at and above it (see `unitChain`). */
  private readonly chainMemo = new Map<string, ChainLink | undefined>();

  constructor(
    readonly traceId: string,
    readonly spans: TraceSpan[],
  ) {
    for (const s of spans) if (!this.byId.has(s.spanId)) this.byId.set(s.spanId, s);
    this.maxWalk = this.byId.size;
    this.cutParentLoops();
    this.buildCalls();
    this.markTransactions();
  }

  /**
   * Visit each span's parent chain once (each span is settled at most once, so this is linear);
   * a chain that reaches a span of its own walk is a loop: the span whose parent closes it is
   * replaced, in this model only, by a copy without a parent.
   */
  private cutParentLoops(): void {
    const state = new Map<string, 1 | 2>(); // 1: on the current walk, 2: settled
    for (const start of [...this.byId.values()]) {
      const path: TraceSpan[] = [];
      let cur: TraceSpan | undefined = start;
      while (cur !== undefined && !state.has(cur.spanId)) {
        state.set(cur.spanId, 1);
        path.push(cur);
        cur = cur.parentSpanId === undefined ? undefined : this.byId.get(cur.parentSpanId);
      }
      if (cur !== undefined && state.get(cur.spanId) === 1) {
        const closing = path[path.length - 1];
        this.byId.set(closing.spanId, { ...closing, parentSpanId: undefined });
        this.warnings.push(
          `trace ${this.traceId}: span ${closing.spanId} (${closing.name}) is its own ancestor ` +
            `(parent loop through ${closing.parentSpanId}); analysed as a root`,
        );
      }
      for (const s of path) state.set(s.spanId, 2);
    }
  }

  /** The outermost upstream client span enclosing `span` (itself included), below any entry span. */
  private outermostUpstream(span: TraceSpan): TraceSpan {
    const parent = this.parentOf(span);
    return (parent === undefined ? undefined : this.upstreamFrom(parent)) ?? span;
  }

  /**
   * The outermost upstream span describing a call among `start` and its ancestors, stopping below
   * a SERVER/CONSUMER span and at an entry span. Remembered per span, so every span's chain is
   * walked once however many exchanges sit under it.
   */
  private upstreamFrom(start: TraceSpan): TraceSpan | undefined {
    const path: TraceSpan[] = [];
    let above: TraceSpan | undefined;
    let cur: TraceSpan | undefined = start;
    for (let n = 0; n <= this.maxWalk && cur !== undefined; n++) {
      const known = this.upstreamMemo.get(cur.spanId);
      if (known !== undefined) {
        above = known ?? undefined;
        break;
      }
      path.push(cur);
      if (cur.kind === 'server' || cur.kind === 'consumer' || isEntry(cur, this.byId)) break;
      cur = this.parentOf(cur);
    }
    for (let i = path.length - 1; i >= 0; i--) {
      const p = path[i];
      let v: TraceSpan | undefined;
      if (p.kind !== 'server' && p.kind !== 'consumer') {
        const own = asUpstream(p) !== undefined && describesCall(p) ? p : undefined;
        v = isEntry(p, this.byId) ? own : (above ?? own);
      }
      this.upstreamMemo.set(p.spanId, v ?? null);
      above = v;
    }
    return above;
  }

  private buildCalls(): void {
    const upstreamById = new Map<string, UpstreamSpan>();
    const upstreamByParent = new Map<string, UpstreamSpan[]>();
    const exchanges: TraceSpan[] = [];
    for (const s of this.byId.values()) {
      if (isExchangeSpan(s) || isOpaqueConnectionSpan(s)) {
        exchanges.push(s);
        continue;
      }
      const u = asUpstream(s);
      if (u === undefined) continue;
      upstreamById.set(s.spanId, u);
      const key = s.parentSpanId ?? '';
      const list = upstreamByParent.get(key);
      if (list === undefined) upstreamByParent.set(key, [u]);
      else list.push(u);
    }
    const upstreamCall = (span: TraceSpan): Call => {
      const outer = this.outermostUpstream(span);
      let call = this.callOf.get(outer.spanId);
      if (call === undefined) {
        call = this.newCall(outer.spanId, outer.parentSpanId, outer);
        this.callOf.set(outer.spanId, call);
      }
      this.callOf.set(span.spanId, call);
      return call;
    };
    exchanges.sort((a, b) => a.startMs - b.startMs);
    const assigned = new Set<string>();
    for (const ex of exchanges) {
      const parent = ex.parentSpanId === undefined ? undefined : upstreamById.get(ex.parentSpanId);
      const siblings = upstreamByParent.get(ex.parentSpanId ?? '') ?? [];
      const cover = findCovering(
        {
          parentSpanId: ex.parentSpanId,
          startMs: ex.startMs,
          endMs: ex.endMs,
          servers: serverKeys(ex.attributes),
        },
        parent,
        siblings,
      );
      const coverSpan =
        cover === undefined
          ? undefined
          : this.byId.get(
              cover === parent ? cover.spanId : this.bestSibling(ex, cover, siblings, assigned).spanId,
            );
      if (coverSpan !== undefined) assigned.add(coverSpan.spanId);
      let call: Call;
      if (coverSpan !== undefined) {
        call = upstreamCall(coverSpan);
      } else {
        // An uncovered exchange may still sit under an upstream span further up (rare): that span is the call.
        const outer = this.outermostUpstream(ex);
        call = outer !== ex ? upstreamCall(outer) : this.newCall(ex.spanId, ex.parentSpanId, undefined);
      }
      call.exchangeSpans.push(ex);
      this.callOf.set(ex.spanId, call);
    }
    // Upstream spans that covered nothing in the data (sockscope off, or `exchanges: 'uncovered'`).
    for (const s of this.byId.values()) {
      if (upstreamById.has(s.spanId) && !this.callOf.has(s.spanId) && describesCall(s)) upstreamCall(s);
    }
    for (const c of this.calls) this.finishCall(c);
    this.calls.sort((a, b) => a.startMs - b.startMs);
  }

  /**
   * The rule says the exchange is covered by a sibling; when several siblings qualify (a client
   * that queues queries starts its next span before the previous exchange ends), the call is the
   * one overlapping the exchange most (on a tie, one that has no exchange yet).
   */
  private bestSibling(
    ex: TraceSpan,
    found: UpstreamSpan,
    siblings: UpstreamSpan[],
    assigned: Set<string>,
  ): UpstreamSpan {
    const servers = serverKeys(ex.attributes);
    let best = found;
    let bestScore = -Infinity;
    for (const u of siblings) {
      if (u.servers.length > 0 && !sameServer(u.servers, servers)) continue;
      if (u.servers.length === 0 && found.servers.length > 0) continue;
      // Upstream times are whole-millisecond anchored (see CLOCK_SLACK_MS): give them the same slack.
      const overlap =
        Math.min(ex.endMs, (u.endMs ?? Infinity) + CLOCK_SLACK_MS) - Math.max(ex.startMs, u.startMs);
      if (overlap < 0) continue;
      // One upstream span describes one call: one with no exchange yet wins over any overlap
      // (consecutive short queries overlap on paper); a call of several round trips (mysql2's
      // PREPARE then EXECUTE) still gets them all. Then the largest overlap.
      const score = (assigned.has(u.spanId) ? 0 : 1e12) + Math.round(overlap * 1000);
      if (score > bestScore) {
        best = u;
        bestScore = score;
      }
    }
    return best;
  }

  private newCall(id: string, parentSpanId: string | undefined, upstream: TraceSpan | undefined): Call {
    const call: Call = {
      traceId: this.traceId,
      id,
      parentSpanId,
      upstream,
      exchangeSpans: [],
      roundTrips: 0,
      startMs: 0,
      endMs: 0,
      network: [],
      server: '',
      protocol: '',
      operation: '',
      hash: undefined,
      statement: undefined,
      connection: undefined,
      klass: 'unknown',
      inTransaction: false,
      error: false,
      reportIds: [],
    };
    this.calls.push(call);
    return call;
  }

  private finishCall(c: Call): void {
    const exs = c.exchangeSpans;
    const all = c.upstream === undefined ? exs : [c.upstream, ...exs];
    // Exchanges when there are any: all on sockscope's clock, so the order of calls is exact. An
    // upstream span's times come from the SDK's clock, which can be a millisecond or more apart.
    const timed = exs.length > 0 ? exs : all;
    // Loops, not spreads: one upstream span may cover more exchanges than a call takes arguments.
    c.startMs = Infinity;
    c.endMs = -Infinity;
    for (const s of timed) {
      if (s.startMs < c.startMs) c.startMs = s.startMs;
      if (s.endMs > c.endMs) c.endMs = s.endMs;
    }
    c.roundTrips = Math.max(1, exs.length);
    c.network = exs.length > 0 ? exs.map((s) => [s.startMs, s.endMs]) : [[c.startMs, c.endMs]];
    const first = exs[0];
    const describe = (f: (s: TraceSpan) => string | undefined): string | undefined => {
      for (const s of exs) {
        const v = f(s);
        if (v !== undefined) return v;
      }
      return c.upstream === undefined ? undefined : f(c.upstream);
    };
    c.server = describe((s) => serverOf(s.attributes)) ?? '(unknown server)';
    c.protocol = describe(protocolOf) ?? str(first?.attributes[ATTR_NETWORK_TRANSPORT]) ?? 'unknown';
    c.operation = describe(operationOf) ?? '';
    const hashes = exs.map((s) => str(s.attributes[ATTR_SOCKSCOPE_REQUEST_HASH]));
    c.hash = exs.length > 0 && hashes.every((h) => h !== undefined) ? hashes.join('+') : undefined;
    const statements = exs.map((s) => str(s.attributes[ATTR_SOCKSCOPE_STATEMENT_HASH]));
    c.statement =
      statements.every((h) => h !== undefined) && exs.length > 0 ? statements.join('+') : undefined;
    c.connection = first?.links[0]?.spanId;
    c.klass = classify(c.protocol, c.operation);
    c.error = all.some((s) => s.status === 'error');
    c.reportIds = exs.length > 0 ? exs.map((s) => s.spanId) : [c.id];
  }

  /** Calls between BEGIN and COMMIT (MULTI and EXEC) on one connection are inherently ordered. */
  private markTransactions(): void {
    const open = new Set<string>();
    for (const c of this.calls) {
      // Without a connection link, the server stands in for the connection (over-excludes, never under).
      const conn = c.connection ?? `server:${c.server}`;
      if (c.klass === 'transaction') {
        const o = c.operation.toUpperCase();
        if (TX_OPEN.has(o)) open.add(conn);
        else if (TX_CLOSE.has(o)) open.delete(conn);
        c.inTransaction = true;
      } else if (open.has(conn)) {
        c.inTransaction = true;
      }
    }
  }

  /** The span's parent in this model (after loops are cut); counts one step of work. */
  parentOf(span: TraceSpan): TraceSpan | undefined {
    this.parentSteps++;
    // Looked up by id, so a span cut from a loop is seen as its parentless copy.
    const self = this.byId.get(span.spanId) ?? span;
    return self.parentSpanId === undefined ? undefined : this.byId.get(self.parentSpanId);
  }

  /** The units a span is in, innermost first, up to and including its entry span. */
  unitChain(spanId: string | undefined): UnitInstance[] {
    const start = spanId === undefined ? undefined : this.byId.get(spanId);
    if (start === undefined) return [this.orphans(spanId)];
    const chain: UnitInstance[] = [];
    for (let link = this.chainFrom(start); link !== undefined; link = link.next) chain.push(link.unit);
    return chain;
  }

  /**
   * The chain of units from `start` up, as a linked list shared between spans: each span's is
   * worked out once, so the walks cost the trace's size plus the chains' own length.
   */
  private chainFrom(start: TraceSpan): ChainLink | undefined {
    const path: TraceSpan[] = [];
    let next: ChainLink | undefined;
    let cur: TraceSpan | undefined = start;
    for (let n = 0; n <= this.maxWalk && cur !== undefined; n++) {
      if (this.chainMemo.has(cur.spanId)) {
        next = this.chainMemo.get(cur.spanId);
        break;
      }
      path.push(cur);
      if (isEntry(cur, this.byId)) break;
      cur = this.parentOf(cur);
    }
    for (let i = path.length - 1; i >= 0; i--) {
      const span = path[i];
      const entry = isEntry(span, this.byId);
      const call = this.callOf.get(span.spanId);
      let unit: UnitInstance | undefined;
      if (call === undefined || call.id !== span.spanId) {
        const fn = functionName(span);
        if (fn !== undefined || entry) unit = this.unit(span, fn, entry);
      } else if (entry) {
        // A call at the top of the trace: nothing above it to be a unit.
        unit = this.orphans(span.parentSpanId);
      }
      const link = unit === undefined ? next : { unit, next: entry ? undefined : next };
      this.chainMemo.set(span.spanId, link);
      next = link;
    }
    return next;
  }

  /**
   * For each span, the calls made under it up to and including its entry span (a call counts at
   * its parent and every ancestor below the entry span's parent), summed children first in one pass.
   */
  callsUnder(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const c of this.calls) {
      if (c.parentSpanId !== undefined && this.byId.has(c.parentSpanId))
        counts.set(c.parentSpanId, (counts.get(c.parentSpanId) ?? 0) + 1);
    }
    // Children before parents: Kahn's order over the (loop-free) parent links.
    const pending = new Map<string, number>();
    for (const s of this.byId.values()) {
      const p = this.parentOf(s);
      if (p !== undefined) pending.set(p.spanId, (pending.get(p.spanId) ?? 0) + 1);
    }
    const ready: TraceSpan[] = [];
    for (const s of this.byId.values()) if (!pending.has(s.spanId)) ready.push(s);
    while (ready.length > 0) {
      const s = ready.pop() as TraceSpan;
      const p = this.parentOf(s);
      if (p === undefined) continue;
      const own = counts.get(s.spanId) ?? 0;
      if (own > 0 && !isEntry(s, this.byId)) counts.set(p.spanId, (counts.get(p.spanId) ?? 0) + own);
      const left = (pending.get(p.spanId) ?? 1) - 1;
      pending.set(p.spanId, left);
      if (left === 0) ready.push(p);
    }
    return counts;
  }

  private unit(span: TraceSpan, fn: string | undefined, entry: boolean): UnitInstance {
    let u = this.units.get(span.spanId);
    if (u === undefined) {
      u = {
        name: fn ?? span.name,
        service: span.service,
        traceId: this.traceId,
        spanId: span.spanId,
        span,
        kind: fn !== undefined ? 'function' : entry ? 'entry' : 'function',
        startMs: span.startMs,
        endMs: span.endMs,
        calls: [],
        findings: [],
      };
      this.units.set(span.spanId, u);
    }
    return u;
  }

  private orphans(missingParent: string | undefined): UnitInstance {
    const key = `orphans:${missingParent ?? ''}`;
    let u = this.units.get(key);
    if (u === undefined) {
      u = {
        name: ORPHANS_UNIT,
        service: undefined,
        traceId: this.traceId,
        spanId: this.traceId,
        span: undefined,
        kind: 'orphans',
        startMs: Infinity,
        endMs: -Infinity,
        calls: [],
        findings: [],
      };
      this.units.set(key, u);
    }
    return u;
  }
}
