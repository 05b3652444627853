/**
 * `sockscope gaps` as a library: one row per caller package x protocol x server, saying how many
 * exchanges an upstream instrumentation covers, how much time the uncovered ones took, and what
 * to do about it. The shape is the contract's `--json` output.
 */
import {
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_NETWORK_PROTOCOL_VERSION,
  ATTR_NETWORK_TRANSPORT,
  ATTR_SOCKSCOPE_CALLER_PACKAGE,
  ATTR_SOCKSCOPE_KIND,
  ATTR_TLS_NEXT_PROTOCOL,
  KIND_CONNECTION,
} from '../spans/semconv';
import { serverOf, str } from './attributes';
import type { TraceSpan } from './model';
import { CoverageTracker, intern, isSockscopeSpan, type ExchangeVerdict } from './exchanges';
import { suggestionFor } from './suggestions';

export interface GapRow {
  callerPackage: string;
  /** `network.protocol.name`, else the transport (`tcp`, `unix`). */
  protocol: string;
  /** `host:port`, or the unix socket path. */
  server: string;
  exchanges: number;
  covered: number;
  uncovered: number;
  /** Scope names of the covering spans, sorted, unique. */
  coveredBy: string[];
  uncoveredTimeMs: number;
  suggestion: string;
}

export interface GapTotals {
  exchanges: number;
  covered: number;
  uncovered: number;
}

export interface GapsResult {
  /** Sorted by uncovered time, biggest blind spot first. */
  rows: GapRow[];
  totals: GapTotals;
}

/** Counts about the input, for messages such as "no sockscope spans found". */
export interface GapInputStats {
  spans: number;
  sockscopeSpans: number;
}

export const UNKNOWN_CALLER = '(unknown)';

interface GroupKey {
  callerPackage: string;
  protocol: string;
  server: string;
}

/** The row an exchange (or opaque connection) span belongs to. */
export function gapGroupOf(span: TraceSpan): GroupKey {
  const a = span.attributes;
  const transport = str(a[ATTR_NETWORK_TRANSPORT]);
  let protocol = str(a[ATTR_NETWORK_PROTOCOL_NAME]);
  if (a[ATTR_SOCKSCOPE_KIND] === KIND_CONNECTION) {
    // An opaque connection is an HTTP/2 session (or something else Node parses natively).
    const version = str(a[ATTR_NETWORK_PROTOCOL_VERSION]);
    if (a[ATTR_TLS_NEXT_PROTOCOL] === 'h2' || (protocol === 'http' && version?.startsWith('2')))
      protocol = 'http2';
  }
  protocol ??= transport === 'unix' ? 'unix' : (transport ?? 'tcp');
  const server = serverOf(a) ?? '(unknown)';
  return {
    callerPackage: intern(str(a[ATTR_SOCKSCOPE_CALLER_PACKAGE]) ?? UNKNOWN_CALLER),
    protocol: intern(protocol),
    server: intern(server),
  };
}

interface Acc extends GroupKey {
  exchanges: number;
  covered: number;
  uncovered: number;
  coveredBy: Set<string>;
  uncoveredTimeMs: number;
}

const sep = '\u0000';

/**
 * Builds the gap rows incrementally: feed spans with `add` (and `endBatch` after each input
 * batch so memory stays bounded), then call `result()` once.
 */
export class GapAccumulator {
  private readonly groups = new Map<string, Acc>();
  private readonly tracker: CoverageTracker<GroupKey>;
  readonly stats: GapInputStats = { spans: 0, sockscopeSpans: 0 };

  constructor(options: { maxPending?: number; maxUpstream?: number; horizonMs?: number } = {}) {
    this.tracker = new CoverageTracker<GroupKey>({
      ...options,
      keep: gapGroupOf,
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
    const rows: GapRow[] = [];
    const totals: GapTotals = { exchanges: 0, covered: 0, uncovered: 0 };
    for (const g of this.groups.values()) {
      const coveredBy = [...g.coveredBy].sort();
      rows.push({
        callerPackage: g.callerPackage,
        protocol: g.protocol,
        server: g.server,
        exchanges: g.exchanges,
        covered: g.covered,
        uncovered: g.uncovered,
        coveredBy,
        uncoveredTimeMs: Math.round(g.uncoveredTimeMs * 1000) / 1000,
        suggestion: suggestionFor({ ...g, coveredBy }),
      });
      totals.exchanges += g.exchanges;
      totals.covered += g.covered;
      totals.uncovered += g.uncovered;
    }
    rows.sort(compareGapRows);
    return { rows, totals };
  }

  private count(v: ExchangeVerdict<GroupKey>): void {
    const k = v.data.callerPackage + sep + v.data.protocol + sep + v.data.server;
    let g = this.groups.get(k);
    if (g === undefined) {
      g = { ...v.data, exchanges: 0, covered: 0, uncovered: 0, coveredBy: new Set(), uncoveredTimeMs: 0 };
      this.groups.set(k, g);
    }
    g.exchanges++;
    if (v.covered) {
      g.covered++;
      if (v.coveredBy !== undefined) g.coveredBy.add(v.coveredBy);
    } else {
      g.uncovered++;
      g.uncoveredTimeMs += Math.max(0, v.endMs - v.startMs);
    }
  }
}

/** Gap rows for spans already in memory (exact: every exchange is decided after all spans). */
export function analyzeGaps(spans: Iterable<TraceSpan>): GapsResult {
  const acc = new GapAccumulator({ maxPending: Infinity, maxUpstream: Infinity });
  for (const s of spans) acc.add(s);
  return acc.result();
}

/** Gap rows for a stream of span batches (e.g. `readTraceBatches`), with bounded memory. */
export async function analyzeGapsStream(
  batches: AsyncIterable<TraceSpan[]>,
): Promise<GapsResult & { stats: GapInputStats }> {
  const acc = new GapAccumulator();
  for await (const batch of batches) {
    for (const s of batch) acc.add(s);
    acc.endBatch();
  }
  return { ...acc.result(), stats: acc.stats };
}

/** The gap table's order, whatever its source: the biggest blind spot first, then by name. */
export function compareGapRows(
  a: Pick<GapRow, 'uncoveredTimeMs' | 'uncovered' | 'exchanges' | 'callerPackage' | 'protocol' | 'server'>,
  b: Pick<GapRow, 'uncoveredTimeMs' | 'uncovered' | 'exchanges' | 'callerPackage' | 'protocol' | 'server'>,
): number {
  return (
    b.uncoveredTimeMs - a.uncoveredTimeMs ||
    b.uncovered - a.uncovered ||
    b.exchanges - a.exchanges ||
    a.callerPackage.localeCompare(b.callerPackage) ||
    a.protocol.localeCompare(b.protocol) ||
    a.server.localeCompare(b.server)
  );
}
