/**
 * Waste findings: duplicate requests, serial calls that could run together, and N+1 loops.
 *
 * Vocabulary:
 * - A **call** is one network round trip as the application made it: an uncovered exchange, or an
 *   upstream CLIENT/PRODUCER span together with the exchanges it covers (coverage rule of
 *   src/coverage/rule.ts), so a covered call is never counted twice. Upstream client spans nested
 *   in another upstream client span (an ORM span around a driver span) belong to the outer one.
 * - A **unit** is what the report is about: a span marked by `traced()` (`sockscope.function`), or
 *   an entry span (a root span, or a SERVER/CONSUMER span: where a service starts work). Calls with
 *   no parent span form the unit `(no parent span)`.
 *
 * The rules are documented with `DEFAULT_THRESHOLDS` below and in docs/report.md.
 */
import { CLOCK_SLACK_MS, findCovering, sameServer, serverKeys, type UpstreamSpan } from '../coverage/rule';
import { asUpstream, isExchangeSpan, isOpaqueConnectionSpan } from './exchanges';
import type { TraceSpan } from './model';

/** Every tunable of the findings, in one place. Override any subset with `resolveThresholds`. */
export interface ReportThresholds {
  /**
   * Findings whose estimated savings are below this many milliseconds are not reported. Local
   * database and cache calls take 0.1 to a few ms, so the default keeps findings that save a whole
   * millisecond or more per occurrence and drops sub-millisecond noise.
   * @default 1
   */
  minSavingsMs: number;
  /**
   * serial: the longest idle time (ms) between one call's end and the next call's start for the
   * two to count as made "one after another". A longer gap means the code did real work between
   * them (usually processing the first result), which is rarely a simple `await a; await b`.
   * @default 10
   */
  serialMaxGapMs: number;
  /**
   * n+1: how many times the same protocol and operation to the same server must repeat, one after
   * another under one parent, to be reported.
   * @default 5
   */
  nPlusOneMin: number;
}

/** The defaults. Frozen: copy with `resolveThresholds({...})` to change them. */
export const DEFAULT_THRESHOLDS: Readonly<ReportThresholds> = Object.freeze({
  minSavingsMs: 1,
  serialMaxGapMs: 10,
  nPlusOneMin: 5,
});

/**
 * The defaults with `overrides` applied.
 * @throws RangeError when a value is not a finite number in range (nPlusOneMin: integer >= 2)
 */
export function resolveThresholds(overrides: Partial<ReportThresholds> = {}): ReportThresholds {
  const t: ReportThresholds = { ...DEFAULT_THRESHOLDS };
  for (const key of Object.keys(DEFAULT_THRESHOLDS) as Array<keyof ReportThresholds>) {
    const v = overrides[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new RangeError(`threshold ${key} must be a non-negative number, got ${String(v)}`);
    }
    t[key] = v;
  }
  if (!Number.isInteger(t.nPlusOneMin) || t.nPlusOneMin < 2) {
    throw new RangeError(`threshold nPlusOneMin must be an integer >= 2, got ${t.nPlusOneMin}`);
  }
  return t;
}

export type FindingType = 'duplicate' | 'serial' | 'n+1';

/** One finding in one trace. */
export interface Finding {
  type: FindingType;
  /** The unit (traced function or entry span) the calls were made under. */
  function: string;
  /** `service.name` of the unit, when known. */
  service: string | undefined;
  traceId: string;
  /** Span id of the unit occurrence (the traced function's or entry span's span). */
  unitSpanId: string;
  /** `host:port` of the server; several, comma-separated, for a serial finding across servers. */
  server: string;
  /** Protocol(s), comma-separated like `server`. */
  protocol: string;
  /** `{protocol} {operation}` of the calls, e.g. `postgresql SELECT`; several comma-separated. */
  operation: string;
  /** Number of calls involved. */
  count: number;
  /** Span ids of the exchanges involved (for a call without exchange span, its upstream span), in start order. */
  exchanges: string[];
  /** Time the fix would save in this occurrence, ms (rounded to microseconds). */
  estimatedSavingsMs: number;
}

/** What a call's operation does, as far as ordering and caching are concerned. */
export type CallClass =
  /** Connection setup or teardown (TLS, auth, handshakes, PING, QUIT): never part of a finding. */
  | 'setup'
  /** Transaction control (BEGIN, COMMIT, MULTI, EXEC...): its order is the point. */
  | 'transaction'
  /** Known to only read: may be cached or run concurrently. */
  | 'read'
  /** Changes state, or anything not known to only read. */
  | 'write'
  /** No recognised operation. */
  | 'unknown';

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

/** Everything the report needs from one set of spans. */
export interface TraceAnalysis {
  units: UnitInstance[];
  /** Network round trips in the input (each covered call once). */
  roundTrips: number;
  findings: Finding[];
  /** Spans by trace id, as given (the HTML waterfall draws them). */
  traces: Map<string, TraceSpan[]>;
}

export const ORPHANS_UNIT = '(no parent span)';
const EPS = 0.001; // 1 µs: Jaeger and Zipkin round times to microseconds.

// --- operation classes -------------------------------------------------------------------------

// prettier-ignore
const SETUP_OPS = new Set([
  'AUTH', 'HELLO', 'PING', 'QUIT', 'CLIENT', 'READONLY', 'STARTUP', 'STARTUPMESSAGE', 'SSLREQUEST',
  'GSSENCREQUEST', 'PASSWORD', 'SASL', 'SASLINITIALRESPONSE', 'SASLRESPONSE', 'SASLSTART',
  'SASLCONTINUE', 'TERMINATE', 'HANDSHAKE', 'HANDSHAKERESPONSE', 'CONNECT', 'DISCONNECT', 'PINGREQ',
  'EHLO', 'HELO', 'STARTTLS', 'RSET', 'NOOP', 'HELLO', 'ISMASTER', 'APIVERSIONS', 'SASLHANDSHAKE',
  'SASLAUTHENTICATE', 'METADATA', 'COM_PING', 'COM_QUIT', 'SET NAMES', 'VERSION', 'CHANGE_USER',
  'INIT_DB', 'SET_OPTION', 'RESET_CONNECTION', 'PREPARE', 'STMT_CLOSE', 'STMT_RESET', 'DEALLOCATE',
]);
const TX_OPEN = new Set(['BEGIN', 'START', 'START TRANSACTION', 'MULTI', 'WATCH']);
const TX_CLOSE = new Set(['COMMIT', 'ROLLBACK', 'END', 'ABORT', 'EXEC', 'DISCARD', 'UNWATCH']);
const TX_OTHER = new Set(['SAVEPOINT', 'RELEASE', 'PREPARE TRANSACTION', 'COMMIT PREPARED', 'XA']);

const SQL_READS = new Set(['SELECT', 'SHOW', 'EXPLAIN', 'VALUES', 'TABLE', 'DESCRIBE', 'DESC']);
// prettier-ignore
const REDIS_READS = new Set([
  'GET', 'MGET', 'GETRANGE', 'STRLEN', 'EXISTS', 'TTL', 'PTTL', 'TYPE', 'HGET', 'HMGET', 'HGETALL',
  'HEXISTS', 'HKEYS', 'HVALS', 'HLEN', 'HSTRLEN', 'HRANDFIELD', 'LRANGE', 'LLEN', 'LINDEX', 'LPOS',
  'SMEMBERS', 'SISMEMBER', 'SMISMEMBER', 'SCARD', 'SRANDMEMBER', 'SINTER', 'SUNION', 'SDIFF',
  'ZRANGE', 'ZRANGEBYSCORE', 'ZRANGEBYLEX', 'ZREVRANGE', 'ZREVRANGEBYSCORE', 'ZSCORE', 'ZMSCORE',
  'ZCARD', 'ZCOUNT', 'ZRANK', 'ZREVRANK', 'ZLEXCOUNT', 'SCAN', 'SSCAN', 'HSCAN', 'ZSCAN', 'KEYS',
  'DBSIZE', 'XRANGE', 'XREVRANGE', 'XLEN', 'GEOPOS', 'GEODIST', 'GEOSEARCH', 'GEORADIUS_RO',
  'BITCOUNT', 'GETBIT', 'BITPOS', 'PFCOUNT', 'JSON.GET', 'JSON.MGET', 'EVAL_RO', 'EVALSHA_RO',
  'FCALL_RO', 'DUMP', 'OBJECT', 'MEMORY', 'SUBSTR',
]);
const MEMCACHED_READS = new Set(['GET', 'GETS', 'MG', 'GAT', 'GATS']);
const MONGO_READS = new Set(['FIND', 'AGGREGATE', 'COUNT', 'COUNTDOCUMENTS', 'DISTINCT', 'GETMORE']);
const HTTP_READS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SQL_PROTOCOLS = new Set(['postgresql', 'mysql', 'mariadb', 'mssql', 'sqlite', 'oracle', 'sql']);

function classify(protocol: string, op: string): CallClass {
  if (protocol === 'tls') return 'setup';
  if (op === '') return 'unknown';
  const o = op.toUpperCase();
  if (SETUP_OPS.has(o) || o.startsWith('CONNECTION.') || o.startsWith('CHANNEL.')) return 'setup';
  if (TX_OPEN.has(o) || TX_CLOSE.has(o) || TX_OTHER.has(o) || o.startsWith('TX.')) return 'transaction';
  let reads: Set<string> | undefined;
  if (SQL_PROTOCOLS.has(protocol)) reads = SQL_READS;
  else if (protocol === 'redis') reads = REDIS_READS;
  else if (protocol === 'memcached') reads = MEMCACHED_READS;
  else if (protocol === 'mongodb') reads = MONGO_READS;
  else if (protocol === 'http' || protocol === 'https') reads = HTTP_READS;
  // Redis `SELECT db` is connection setup, SQL `SELECT` is a read: checked after the protocol.
  if (protocol === 'redis' && o === 'SELECT') return 'setup';
  return reads?.has(o) ? 'read' : 'write';
}

// --- building calls and units ------------------------------------------------------------------

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function serverOf(attrs: TraceSpan['attributes']): string | undefined {
  const host =
    str(attrs['server.address']) ?? str(attrs['network.peer.address']) ?? str(attrs['net.peer.name']);
  if (host === undefined) return undefined;
  const port =
    str(attrs['server.address']) !== undefined
      ? str(attrs['server.port'])
      : (str(attrs['network.peer.port']) ?? str(attrs['net.peer.port']));
  return port === undefined ? host : `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function protocolOf(span: TraceSpan): string | undefined {
  const a = span.attributes;
  const p =
    str(a['network.protocol.name']) ??
    str(a['db.system.name']) ??
    str(a['db.system']) ??
    str(a['messaging.system']) ??
    str(a['rpc.system']);
  if (p !== undefined) return p.toLowerCase();
  if (str(a['http.request.method']) ?? str(a['http.method'])) return 'http';
  return undefined;
}

function operationOf(span: TraceSpan): string | undefined {
  const a = span.attributes;
  const fromAttributes =
    str(a['sockscope.operation']) ??
    str(a['db.operation.name']) ??
    str(a['db.operation']) ??
    str(a['messaging.operation.name']) ??
    str(a['messaging.operation']) ??
    str(a['http.request.method']) ??
    str(a['http.method']) ??
    str(a['rpc.method']);
  if (fromAttributes !== undefined) return fromAttributes;
  // Database spans without an operation attribute name it in the span name (`pg.query:SELECT db`).
  if (str(a['db.system.name']) ?? str(a['db.system']))
    return /(?:^|[\s:.])([A-Z][A-Z_]{2,})(?=\s|$)/.exec(span.name)?.[1];
  return undefined;
}

/** An upstream client span that describes a call even when it covers no exchange in the data. */
function describesCall(span: TraceSpan): boolean {
  if (serverKeys(span.attributes).length > 0) return true;
  return protocolOf(span) !== undefined;
}

function isEntry(span: TraceSpan, byId: Map<string, TraceSpan>): boolean {
  return (
    span.kind === 'server' ||
    span.kind === 'consumer' ||
    span.parentSpanId === undefined ||
    !byId.has(span.parentSpanId)
  );
}

function functionName(span: TraceSpan): string | undefined {
  const f = span.attributes['sockscope.function'];
  return typeof f === 'string' ? f : undefined;
}

/** Merge intervals; returns the union's total length. */
export function unionLength(intervals: Array<[number, number]>): number {
  if (intervals.length === 0) return 0;
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let [s, e] = sorted[0];
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = sorted[i];
    if (a > e) {
      total += e - s;
      s = a;
      e = b;
    } else if (b > e) e = b;
  }
  return total + (e - s);
}

const round3 = (n: number): number => Math.round(n * 1000) / 1000;

class TraceModel {
  readonly byId = new Map<string, TraceSpan>();
  readonly calls: Call[] = [];
  /** Span id -> the call it belongs to (upstream and exchange spans). */
  readonly callOf = new Map<string, Call>();
  readonly units = new Map<string, UnitInstance>();

  constructor(
    readonly traceId: string,
    readonly spans: TraceSpan[],
  ) {
    for (const s of spans) if (!this.byId.has(s.spanId)) this.byId.set(s.spanId, s);
    this.buildCalls();
    this.markTransactions();
  }

  /** The outermost upstream client span enclosing `span` (itself included), below any entry span. */
  private outermostUpstream(span: TraceSpan): TraceSpan {
    let best = span;
    let cur = this.parentOf(span);
    while (cur !== undefined && cur.kind !== 'server' && cur.kind !== 'consumer') {
      if (asUpstream(cur) !== undefined && describesCall(cur)) best = cur;
      if (isEntry(cur, this.byId)) break;
      cur = this.parentOf(cur);
    }
    return best;
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
    c.startMs = Math.min(...timed.map((s) => s.startMs));
    c.endMs = Math.max(...timed.map((s) => s.endMs));
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
    c.protocol = describe(protocolOf) ?? str(first?.attributes['network.transport']) ?? 'unknown';
    c.operation = describe(operationOf) ?? '';
    const hashes = exs.map((s) => str(s.attributes['sockscope.request.hash']));
    c.hash = exs.length > 0 && hashes.every((h) => h !== undefined) ? hashes.join('+') : undefined;
    const statements = exs.map((s) => str(s.attributes['sockscope.statement.hash']));
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

  parentOf(span: TraceSpan): TraceSpan | undefined {
    return span.parentSpanId === undefined ? undefined : this.byId.get(span.parentSpanId);
  }

  /** The units a span is in, innermost first, up to and including its entry span. */
  unitChain(spanId: string | undefined): UnitInstance[] {
    const chain: UnitInstance[] = [];
    let cur = spanId === undefined ? undefined : this.byId.get(spanId);
    if (cur === undefined) return [this.orphans(spanId)];
    while (cur !== undefined) {
      const call = this.callOf.get(cur.spanId);
      if (call === undefined || call.id !== cur.spanId) {
        const fn = functionName(cur);
        const entry = isEntry(cur, this.byId);
        if (fn !== undefined || entry) chain.push(this.unit(cur, fn, entry));
        if (entry) break;
      } else if (isEntry(cur, this.byId)) {
        // A call at the top of the trace: nothing above it to be a unit.
        chain.push(this.orphans(cur.parentSpanId));
        break;
      }
      cur = this.parentOf(cur);
    }
    return chain;
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

// --- the findings ------------------------------------------------------------------------------

function duration(c: Call): number {
  return c.endMs - c.startMs;
}

function describeCalls(calls: Call[]): Pick<Finding, 'server' | 'protocol' | 'operation' | 'exchanges'> {
  const uniq = (xs: string[]): string => [...new Set(xs)].join(', ');
  return {
    server: uniq(calls.map((c) => c.server)),
    protocol: uniq(calls.map((c) => c.protocol)),
    operation: uniq(calls.map((c) => (c.operation ? `${c.protocol} ${c.operation}` : c.protocol))),
    exchanges: calls.flatMap((c) => c.reportIds),
  };
}

function makeFinding(type: FindingType, unit: UnitInstance, calls: Call[], savings: number): Finding {
  const sorted = [...calls].sort((a, b) => a.startMs - b.startMs);
  return {
    type,
    function: unit.name,
    service: unit.service,
    traceId: unit.traceId,
    unitSpanId: unit.spanId,
    ...describeCalls(sorted),
    count: calls.length,
    estimatedSavingsMs: round3(savings),
  };
}

/**
 * The parent a call is judged under for serial and n+1: its parent, lifted past spans that wrap
 * only this one call (a traced helper, a GraphQL resolver, an ORM's internal span), so a loop over
 * `getItem()` is seen as the loop it is. Entry spans are never lifted past.
 */
function sequencingParent(
  model: TraceModel,
  call: Call,
  callsUnder: Map<string, number>,
): string | undefined {
  let p = call.parentSpanId;
  for (;;) {
    const span = p === undefined ? undefined : model.byId.get(p);
    if (span === undefined || isEntry(span, model.byId)) return p;
    if ((callsUnder.get(span.spanId) ?? 0) !== 1) return p;
    p = span.parentSpanId;
  }
}

/** Sequential runs in start order: each call starts once the previous one has ended. */
function sequentialRuns(calls: Call[]): Call[][] {
  const runs: Call[][] = [];
  let run: Call[] = [];
  for (const c of calls) {
    const prev = run[run.length - 1];
    if (prev !== undefined && c.startMs < prev.endMs - EPS) {
      runs.push(run);
      run = [];
    }
    run.push(c);
  }
  if (run.length > 0) runs.push(run);
  return runs;
}

function nPlusOne(group: Call[], repeats: Set<Call>, t: ReportThresholds): Call[][] {
  const byOp = new Map<string, Call[]>();
  for (const c of group) {
    if (repeats.has(c)) continue;
    if (c.operation === '' || c.klass === 'setup' || c.klass === 'transaction' || c.klass === 'unknown')
      continue;
    // The statement's shape, when known, tells a loop of one query from different queries.
    const key = `${c.server}\u0000${c.protocol}\u0000${c.operation.toUpperCase()}\u0000${c.statement ?? ''}`;
    const list = byOp.get(key);
    if (list === undefined) byOp.set(key, [c]);
    else list.push(c);
  }
  const out: Call[][] = [];
  for (const list of byOp.values()) {
    if (list.length < t.nPlusOneMin) continue;
    for (const run of sequentialRuns(list)) if (run.length >= t.nPlusOneMin) out.push(run);
  }
  return out;
}

/** Serial runs: independent reads made one after another. See docs/report.md for what is excluded. */
function serialRuns(
  group: Call[],
  excluded: Set<Call>,
  t: ReportThresholds,
): Array<{ calls: Call[]; savings: number }> {
  const out: Array<{ calls: Call[]; savings: number }> = [];
  // A stage is a set of calls already running together (overlapping); a run is a chain of stages.
  let stages: Call[][] = [];
  let stageEnd = -Infinity;
  const flush = (): void => {
    if (stages.length >= 2) {
      const calls = stages.flat();
      const sum = stages.reduce((acc, st) => acc + (Math.max(...st.map((c) => c.endMs)) - st[0].startMs), 0);
      out.push({ calls, savings: sum - Math.max(...calls.map(duration)) });
    }
    stages = [];
    stageEnd = -Infinity;
  };
  for (const c of group) {
    if (c.klass === 'setup') continue; // a pooled connection opening mid-request is not the code's doing
    const eligible = c.klass === 'read' && !c.inTransaction && !c.error && !excluded.has(c);
    if (!eligible) {
      flush(); // writes, transactions, retries and unknown calls order what comes after them
      continue;
    }
    if (stages.length > 0 && c.startMs < stageEnd - EPS) {
      stages[stages.length - 1].push(c);
    } else {
      if (stages.length > 0 && c.startMs - stageEnd > t.serialMaxGapMs) flush();
      stages.push([c]);
    }
    stageEnd = Math.max(stageEnd, c.endMs);
  }
  flush();
  return out;
}

/**
 * Duplicates: reads with the same request bytes to the same server, in one entry span's calls.
 * A write to that server in between, or an error on the earlier call (a retry), makes the later
 * one legitimate, so such a pair is split.
 */
function duplicateGroups(calls: Call[]): Call[][] {
  const groups = new Map<string, Call[][]>();
  const lastWrite = new Map<string, number>(); // server -> start of the latest write seen
  for (const c of calls) {
    if (c.klass === 'write' || c.klass === 'transaction') lastWrite.set(c.server, c.startMs);
    if (c.klass !== 'read' || c.hash === undefined) continue;
    const key = `${c.server}\u0000${c.hash}`;
    let runs = groups.get(key);
    if (runs === undefined) groups.set(key, (runs = [[]]));
    const run = runs[runs.length - 1];
    const prev = run[run.length - 1];
    if (prev !== undefined && (prev.error || (lastWrite.get(c.server) ?? -Infinity) > prev.startMs)) {
      runs.push([c]);
    } else {
      run.push(c);
    }
  }
  return [...groups.values()].flat().filter((g) => g.length >= 2);
}

function analyseTrace(
  traceId: string,
  spans: TraceSpan[],
  t: ReportThresholds,
): { units: UnitInstance[]; roundTrips: number } {
  const model = new TraceModel(traceId, spans);
  const chains = new Map<Call, UnitInstance[]>();
  for (const c of model.calls) {
    const chain = model.unitChain(c.parentSpanId);
    chains.set(c, chain);
    for (const u of chain) u.calls.push(c);
  }
  // Traced functions and entry spans are units even when they made no call.
  for (const s of model.byId.values()) {
    if (functionName(s) !== undefined && !model.callOf.has(s.spanId)) model.unitChain(s.spanId);
  }
  for (const u of model.units.values()) {
    if (u.kind === 'orphans') {
      for (const c of u.calls) {
        u.startMs = Math.min(u.startMs, c.startMs);
        u.endMs = Math.max(u.endMs, c.endMs);
      }
    }
  }
  const innermost = (spanId: string | undefined): UnitInstance => model.unitChain(spanId)[0];

  // Duplicates: within each entry span's calls; reported at the innermost unit holding them all.
  const repeats = new Set<Call>();
  const byEntry = new Map<UnitInstance, Call[]>();
  for (const c of model.calls) {
    const chain = chains.get(c) ?? [];
    const entry = chain[chain.length - 1];
    const list = byEntry.get(entry);
    if (list === undefined) byEntry.set(entry, [c]);
    else list.push(c);
  }
  for (const calls of byEntry.values()) {
    for (const group of duplicateGroups(calls)) {
      // Only the first request is needed: the repeats are never reported again as serial or n+1.
      for (const r of group.slice(1)) repeats.add(r);
      const memberChains = group.map((c) => chains.get(c) ?? []);
      const unit = memberChains[0].find((u) => memberChains.every((ch) => ch.includes(u)));
      if (unit === undefined) continue;
      // Keep the first request; the repeats are the waste.
      const savings = group.slice(1).reduce((a, c) => a + duration(c), 0);
      if (savings >= t.minSavingsMs) unit.findings.push(makeFinding('duplicate', unit, group, savings));
    }
  }

  // n+1 and serial: per sequencing parent.
  const callsUnder = new Map<string, number>();
  for (const c of model.calls) {
    let p = c.parentSpanId;
    while (p !== undefined) {
      const span = model.byId.get(p);
      if (span === undefined) break;
      callsUnder.set(p, (callsUnder.get(p) ?? 0) + 1);
      if (isEntry(span, model.byId)) break;
      p = span.parentSpanId;
    }
  }
  const byParent = new Map<string, Call[]>();
  for (const c of model.calls) {
    const key = sequencingParent(model, c, callsUnder) ?? '';
    const list = byParent.get(key);
    if (list === undefined) byParent.set(key, [c]);
    else list.push(c);
  }
  for (const [parent, group] of byParent) {
    const unit = innermost(parent === '' ? undefined : parent);
    const excluded = new Set<Call>(repeats);
    for (const run of nPlusOne(group, repeats, t)) {
      for (const c of run) excluded.add(c);
      const savings = run.reduce((a, c) => a + duration(c), 0) - Math.max(...run.map(duration));
      if (savings >= t.minSavingsMs) unit.findings.push(makeFinding('n+1', unit, run, savings));
    }
    for (const { calls, savings } of serialRuns(group, excluded, t)) {
      if (savings >= t.minSavingsMs) unit.findings.push(makeFinding('serial', unit, calls, savings));
    }
  }
  for (const u of model.units.values())
    u.findings.sort((a, b) => b.estimatedSavingsMs - a.estimatedSavingsMs);
  return { units: [...model.units.values()], roundTrips: model.calls.reduce((a, c) => a + c.roundTrips, 0) };
}

/** Group spans by trace id, keeping input order within each trace. */
export function groupByTrace(spans: Iterable<TraceSpan>): Map<string, TraceSpan[]> {
  const traces = new Map<string, TraceSpan[]>();
  for (const s of spans) {
    const id = s.traceId.toLowerCase();
    const list = traces.get(id);
    if (list === undefined) traces.set(id, [s]);
    else list.push(s);
  }
  return traces;
}

/**
 * Analyse spans of any number of traces: units (traced functions, entry spans), their calls, and
 * the findings, each trace on its own.
 */
export function analyseTraces(
  spans: Iterable<TraceSpan>,
  thresholds: Partial<ReportThresholds> = {},
): TraceAnalysis {
  const t = resolveThresholds(thresholds);
  const traces = groupByTrace(spans);
  const units: UnitInstance[] = [];
  let roundTrips = 0;
  for (const [traceId, list] of traces) {
    const r = analyseTrace(traceId, list, t);
    units.push(...r.units);
    roundTrips += r.roundTrips;
  }
  const findings = units
    .flatMap((u) => u.findings)
    .sort((a, b) => b.estimatedSavingsMs - a.estimatedSavingsMs);
  return { units, roundTrips, findings, traces };
}

/** The findings alone, largest estimated savings first. */
export function findFindings(
  spans: Iterable<TraceSpan>,
  thresholds: Partial<ReportThresholds> = {},
): Finding[] {
  return analyseTraces(spans, thresholds).findings;
}
