/**
 * `sockscope gaps` as a library: one row per caller package x protocol x server, saying how many
 * exchanges an upstream instrumentation covers, how much time the uncovered ones took, and what
 * to do about it. The shape is the contract's `--json` output; docs/gap-analysis.md describes it.
 *
 * Every exchange has a phase (`sockscope.phase`): the application's `operation`s, and the
 * connection chatter around them (`setup`, `teardown`, `heartbeat`) that clients send with no
 * upstream span even when their instrumentation works. The old counts (`exchanges`, `covered`,
 * `uncovered`, `uncoveredTimeMs`) keep counting all exchanges; the verdict, the order and the
 * suggestion are about operations.
 */
import {
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_NETWORK_TRANSPORT,
  ATTR_SOCKSCOPE_CALLER_PACKAGE,
  ATTR_SOCKSCOPE_CALLER_PACKAGE_VERSION,
  ATTR_SOCKSCOPE_OPERATION,
  ATTR_SOCKSCOPE_PHASE,
  ATTR_TLS_NEXT_PROTOCOL,
} from '../spans/semconv';
import { serverOf, str } from './attributes';
import type { TraceSpan } from './model';
import { CoverageTracker, intern, isSockscopeSpan, type ExchangeVerdict } from './exchanges';
import { versionGapNote } from './instrumentation-ranges';
import { projectAtRtt } from './rtt';
import { officialInstrumentationFor, suggestionFor } from './suggestions';

/** What an exchange is for (`sockscope.phase`), in the order the JSON lists them. */
export const GAP_PHASES = ['setup', 'operation', 'teardown', 'heartbeat'] as const;
export type GapPhase = (typeof GAP_PHASES)[number];

export interface PhaseCounts {
  exchanges: number;
  covered: number;
  uncovered: number;
}

/**
 * A row's verdict, judged on its operations only: `covered` when no operation is uncovered (also
 * a row with no operation at all), `uncovered` when none is covered, else `partly-covered`.
 */
export type GapVerdict = 'covered' | 'partly-covered' | 'uncovered';

/** How many uncovered operation names a row lists (most frequent first). */
export const MAX_UNCOVERED_OPERATION_NAMES = 5;

export interface GapRow {
  callerPackage: string;
  /** `network.protocol.name` (`http2` for HTTP/2), else the transport (`tcp`, `unix`). */
  protocol: string;
  /** `host:port`, or the unix socket path. */
  server: string;
  /** All exchanges, whatever their phase (so are `covered`, `uncovered`, `uncoveredTimeMs`). */
  exchanges: number;
  covered: number;
  uncovered: number;
  /** Scope names of the covering spans, sorted, unique. */
  coveredBy: string[];
  uncoveredTimeMs: number;
  suggestion: string;
  /** Judged on operations (see `GapVerdict`). */
  verdict: GapVerdict;
  /** Exchanges in phase `operation` (and those with no phase: older files, unrecognised bytes). */
  operations: number;
  operationsCovered: number;
  operationsUncovered: number;
  /** Time in uncovered operations, ms: the order of the rows. */
  uncoveredOperationTimeMs: number;
  /** `sockscope.operation` of the uncovered operations, most frequent first, at most 5; never `_OTHER`. */
  uncoveredOperationNames: string[];
  /** Counts per phase; all four are always present. */
  phases: Record<GapPhase, PhaseCounts>;
  /**
   * Installed versions of the caller package its exchanges recorded
   * (`sockscope.caller.package.version`), sorted; empty when unknown (and from `--prometheus`).
   */
  callerPackageVersions: string[];
  /** With `--rtt MS` only: `uncoveredTimeMs` + `uncovered` x RTT (each exchange is a round trip). */
  projectedUncoveredTimeMs?: number;
  /** With `--rtt MS` only: `uncoveredOperationTimeMs` + `operationsUncovered` x RTT. */
  projectedUncoveredOperationTimeMs?: number;
}

export interface GapTotals {
  exchanges: number;
  covered: number;
  uncovered: number;
  operations: number;
  operationsCovered: number;
  operationsUncovered: number;
  phases: Record<GapPhase, PhaseCounts>;
}

export interface GapsResult {
  /** Biggest blind spot first (`compareGapRows`). */
  rows: GapRow[];
  totals: GapTotals;
  /** The `--rtt` the projections were made at, when given. */
  rttMs?: number;
}

/** Counts about the input, for messages such as "no sockscope spans found". */
export interface GapInputStats {
  spans: number;
  sockscopeSpans: number;
}

export const UNKNOWN_CALLER = '(unknown)';

export interface GroupKey {
  callerPackage: string;
  protocol: string;
  server: string;
}

/** What the gap rows keep of each exchange until its verdict. */
export interface GapExchange extends GroupKey {
  phase: GapPhase;
  /** The fixed-vocabulary operation name, only for operations. */
  operation: string | undefined;
  /** `sockscope.caller.package.version`, when recorded. */
  version: string | undefined;
}

/**
 * The protocol column: `network.protocol.name`, with HTTP/2 told apart from HTTP/1.x (`http2`:
 * its calls need other instrumentation), else the transport.
 */
export function protocolOf(
  name: string | undefined,
  version: string | undefined,
  transport: string | undefined,
  alpn?: string,
): string {
  if (alpn === 'h2' || (name === 'http' && version !== undefined && version.startsWith('2'))) return 'http2';
  return name ?? (transport === 'unix' ? 'unix' : (transport ?? 'tcp'));
}

/** The row an exchange (or opaque connection) span belongs to. */
export function gapGroupOf(span: TraceSpan): GroupKey {
  const a = span.attributes;
  return {
    callerPackage: intern(str(a[ATTR_SOCKSCOPE_CALLER_PACKAGE]) ?? UNKNOWN_CALLER),
    protocol: intern(
      protocolOf(
        str(a[ATTR_NETWORK_PROTOCOL_NAME]),
        str(a[ATTR_NETWORK_PROTOCOL_VERSION]),
        str(a[ATTR_NETWORK_TRANSPORT]),
        str(a[ATTR_TLS_NEXT_PROTOCOL]),
      ),
    ),
    server: intern(serverOf(a) ?? '(unknown)'),
  };
}

const PHASE_SET = new Set<string>(GAP_PHASES);

/** `sockscope.phase`, or `operation` when absent or unknown (older files, unrecognised bytes). */
export function phaseOf(value: unknown): GapPhase {
  return typeof value === 'string' && PHASE_SET.has(value) ? (value as GapPhase) : 'operation';
}

// A vocabulary word (`GET`, `basic.publish`, `COM_STMT_EXECUTE`): anything else is not listed.
const OPERATION_NAME = /^[A-Za-z][\w.:/-]{0,47}$/;

/** An operation name fit to be listed: from a fixed vocabulary, not `_OTHER`. */
export function listableOperation(value: unknown): string | undefined {
  return typeof value === 'string' && OPERATION_NAME.test(value) ? value : undefined;
}

/** What `GapAccumulator` keeps of each exchange span. */
export function gapExchangeOf(span: TraceSpan): GapExchange {
  const phase = phaseOf(span.attributes[ATTR_SOCKSCOPE_PHASE]);
  const op = phase === 'operation' ? listableOperation(span.attributes[ATTR_SOCKSCOPE_OPERATION]) : undefined;
  const version = str(span.attributes[ATTR_SOCKSCOPE_CALLER_PACKAGE_VERSION]);
  return {
    ...gapGroupOf(span),
    phase,
    operation: op === undefined ? undefined : intern(op),
    version: version === undefined ? undefined : intern(version),
  };
}

const emptyPhases = (): Record<GapPhase, PhaseCounts> => ({
  setup: { exchanges: 0, covered: 0, uncovered: 0 },
  operation: { exchanges: 0, covered: 0, uncovered: 0 },
  teardown: { exchanges: 0, covered: 0, uncovered: 0 },
  heartbeat: { exchanges: 0, covered: 0, uncovered: 0 },
});

/** Distinct caller package versions remembered per row. */
const MAX_VERSIONS_TRACKED = 16;

/** Distinct uncovered operation names remembered per row (the vocabularies are small). */
const MAX_NAMES_TRACKED = 256;

/**
 * One row's counts as they are added up, from spans or from metrics; `build` makes the row. The
 * trace table and the fleet table both use it, so they have one shape and one verdict.
 */
export class GapRowBuilder {
  exchanges = 0;
  covered = 0;
  uncovered = 0;
  /** Exchanges whose coverage is unknown (the fleet's unsampled traces). */
  undecided = 0;
  uncoveredTimeMs = 0;
  uncoveredOperationTimeMs = 0;
  readonly coveredBy = new Set<string>();
  /** Installed versions of the caller package seen in this row (traces only: metrics have none). */
  readonly versions = new Set<string>();
  readonly phases = emptyPhases();
  private readonly names = new Map<string, number>();

  constructor(readonly key: GroupKey) {}

  /** `n` exchanges of `phase`: covered (by `coveredBy`), uncovered, or undecided. */
  count(
    phase: GapPhase,
    verdict: 'covered' | 'uncovered' | 'undecided',
    n = 1,
    coveredBy?: string,
    operation?: string,
  ): void {
    const p = this.phases[phase];
    this.exchanges += n;
    p.exchanges += n;
    if (verdict === 'covered') {
      this.covered += n;
      p.covered += n;
      if (coveredBy !== undefined) this.coveredBy.add(coveredBy);
    } else if (verdict === 'uncovered') {
      this.uncovered += n;
      p.uncovered += n;
      if (phase === 'operation' && operation !== undefined) {
        const had = this.names.get(operation);
        if (had !== undefined || this.names.size < MAX_NAMES_TRACKED)
          this.names.set(operation, (had ?? 0) + n);
      }
    } else this.undecided += n;
  }

  /** Time spent in uncovered exchanges of `phase`, ms. */
  uncoveredTime(phase: GapPhase, ms: number): void {
    this.uncoveredTimeMs += ms;
    if (phase === 'operation') this.uncoveredOperationTimeMs += ms;
  }

  /** Seen an exchange recorded with this installed version of the caller package. */
  sawVersion(version: string): void {
    if (this.versions.size < MAX_VERSIONS_TRACKED) this.versions.add(version);
  }

  /**
   * When the instrumentation that would describe this row does not patch the installed version,
   * enabling it will not help: the suggestion says so instead.
   */
  private versionNote(cwd: string | undefined): string | undefined {
    if (this.versions.size === 0) return undefined;
    const official = officialInstrumentationFor(this.key.callerPackage, this.key.protocol);
    if (official === undefined) return undefined;
    const notes = [...this.versions]
      .sort()
      .map((v) => versionGapNote(this.key.callerPackage, v, official, cwd))
      .filter((n): n is string => n !== undefined);
    return notes.length === 0 ? undefined : notes.join('; ');
  }

  build(options: { rttMs?: number; cwd?: string } = {}): GapRow {
    const coveredBy = [...this.coveredBy].sort();
    const ops = this.phases.operation;
    const uncoveredOperationNames = [...this.names]
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .slice(0, MAX_UNCOVERED_OPERATION_NAMES)
      .map(([name]) => name);
    const verdict: GapVerdict =
      ops.uncovered === 0 ? 'covered' : ops.covered === 0 ? 'uncovered' : 'partly-covered';
    const round = (ms: number): number => Math.round(ms * 1000) / 1000;
    const row: GapRow = {
      ...this.key,
      exchanges: this.exchanges,
      covered: this.covered,
      uncovered: this.uncovered,
      coveredBy,
      uncoveredTimeMs: round(this.uncoveredTimeMs),
      suggestion: '',
      verdict,
      operations: ops.exchanges,
      operationsCovered: ops.covered,
      operationsUncovered: ops.uncovered,
      uncoveredOperationTimeMs: round(this.uncoveredOperationTimeMs),
      uncoveredOperationNames,
      phases: {
        setup: { ...this.phases.setup },
        operation: { ...ops },
        teardown: { ...this.phases.teardown },
        heartbeat: { ...this.phases.heartbeat },
      },
      callerPackageVersions: [...this.versions].sort(),
    };
    row.suggestion = suggestionFor({ ...row, versionNote: this.versionNote(options.cwd) });
    if (options.rttMs !== undefined) {
      row.projectedUncoveredTimeMs = projectAtRtt(row.uncoveredTimeMs, row.uncovered, options.rttMs);
      row.projectedUncoveredOperationTimeMs = projectAtRtt(
        row.uncoveredOperationTimeMs,
        row.operationsUncovered,
        options.rttMs,
      );
    }
    return row;
  }
}

/** Totals over rows (the all-exchange counts, the operation counts and the phases). */
export function totalsOf(rows: readonly GapRow[]): GapTotals {
  const t: GapTotals = {
    exchanges: 0,
    covered: 0,
    uncovered: 0,
    operations: 0,
    operationsCovered: 0,
    operationsUncovered: 0,
    phases: emptyPhases(),
  };
  for (const r of rows) {
    t.exchanges += r.exchanges;
    t.covered += r.covered;
    t.uncovered += r.uncovered;
    t.operations += r.operations;
    t.operationsCovered += r.operationsCovered;
    t.operationsUncovered += r.operationsUncovered;
    for (const p of GAP_PHASES) {
      t.phases[p].exchanges += r.phases[p].exchanges;
      t.phases[p].covered += r.phases[p].covered;
      t.phases[p].uncovered += r.phases[p].uncovered;
    }
  }
  return t;
}

/** Uncovered exchanges that are not operations: setup, teardown and heartbeat. */
export function uncoveredChatter(r: Pick<GapRow, 'uncovered' | 'operationsUncovered'>): number {
  return r.uncovered - r.operationsUncovered;
}

const sep = '\u0000';

/** The map key of a row. */
export function rowKey(k: GroupKey): string {
  return k.callerPackage + sep + k.protocol + sep + k.server;
}

export interface GapOptions {
  /** A production round-trip time, ms: adds the `projected...` fields (`--rtt`). */
  rttMs?: number;
  /**
   * Where the app's instrumentations are installed: their declared version ranges are read from
   * there; without it, from the table generated from the metapackage sockscope was built with.
   */
  cwd?: string;
}

/**
 * Builds the gap rows incrementally: feed spans with `add` (and `endBatch` after each input
 * batch so memory stays bounded), then call `result()` once.
 */
export class GapAccumulator {
  private readonly groups = new Map<string, GapRowBuilder>();
  private readonly tracker: CoverageTracker<GapExchange>;
  private readonly rttMs: number | undefined;
  private readonly cwd: string | undefined;
  readonly stats: GapInputStats = { spans: 0, sockscopeSpans: 0 };

  constructor(options: { maxPending?: number; maxUpstream?: number; horizonMs?: number } & GapOptions = {}) {
    const { rttMs, cwd, ...tracking } = options;
    this.rttMs = rttMs;
    this.cwd = cwd;
    this.tracker = new CoverageTracker<GapExchange>({
      ...tracking,
      keep: gapExchangeOf,
      onVerdict: (v) => this.count(v),
    });
  }

  add(span: TraceSpan): void {
    this.stats.spans++;
    if (isSockscopeSpan(span)) this.stats.sockscopeSpans++;
    this.tracker.add(span);
  }

  endBatch(): void {
    this.tracker.endBatch();
  }

  result(): GapsResult {
    this.tracker.finish();
    const rows = [...this.groups.values()].map((g) => g.build({ rttMs: this.rttMs, cwd: this.cwd }));
    rows.sort(compareGapRows);
    const result: GapsResult = { rows, totals: totalsOf(rows) };
    if (this.rttMs !== undefined) result.rttMs = this.rttMs;
    return result;
  }

  private count(v: ExchangeVerdict<GapExchange>): void {
    const d = v.data;
    const k = rowKey(d);
    let g = this.groups.get(k);
    if (g === undefined) {
      g = new GapRowBuilder({ callerPackage: d.callerPackage, protocol: d.protocol, server: d.server });
      this.groups.set(k, g);
    }
    if (d.version !== undefined) g.sawVersion(d.version);
    if (v.covered) g.count(d.phase, 'covered', 1, v.coveredBy);
    else {
      g.count(d.phase, 'uncovered', 1, undefined, d.operation);
      g.uncoveredTime(d.phase, Math.max(0, v.endMs - v.startMs));
    }
  }
}

/** Gap rows for spans already in memory (exact: every exchange is decided after all spans). */
export function analyzeGaps(spans: Iterable<TraceSpan>, options: GapOptions = {}): GapsResult {
  const acc = new GapAccumulator({ ...options, maxPending: Infinity, maxUpstream: Infinity });
  for (const s of spans) acc.add(s);
  return acc.result();
}

/** Gap rows for a stream of span batches (e.g. `readTraceBatches`), with bounded memory. */
export async function analyzeGapsStream(
  batches: AsyncIterable<TraceSpan[]>,
  options: GapOptions = {},
): Promise<GapsResult & { stats: GapInputStats }> {
  const acc = new GapAccumulator(options);
  for await (const batch of batches) {
    for (const s of batch) acc.add(s);
    acc.endBatch();
  }
  return { ...acc.result(), stats: acc.stats };
}

type Ordered = Pick<
  GapRow,
  | 'uncoveredOperationTimeMs'
  | 'operationsUncovered'
  | 'uncoveredTimeMs'
  | 'uncovered'
  | 'exchanges'
  | 'callerPackage'
  | 'protocol'
  | 'server'
>;

/**
 * The gap table's order, whatever its source: the biggest blind spot first, where a blind spot is
 * an uncovered operation (time in them, then how many); rows whose only gaps are connection
 * chatter come after every row with an uncovered operation, then fully covered rows; then by name.
 */
export function compareGapRows(a: Ordered, b: Ordered): number {
  return (
    b.uncoveredOperationTimeMs - a.uncoveredOperationTimeMs ||
    b.operationsUncovered - a.operationsUncovered ||
    b.uncoveredTimeMs - a.uncoveredTimeMs ||
    b.uncovered - a.uncovered ||
    b.exchanges - a.exchanges ||
    a.callerPackage.localeCompare(b.callerPackage) ||
    a.protocol.localeCompare(b.protocol) ||
    a.server.localeCompare(b.server)
  );
}
