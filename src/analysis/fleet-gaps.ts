/**
 * The gap table from sockscope's metrics as Prometheus stores them, summed over every instance:
 * the same rows as `sockscope gaps` builds from traces (caller package x protocol x server), from
 * `sockscope.exchanges` (all exchanges, sampled or not) and `sockscope.exchange.time`.
 *
 * Statistics: `exchanges` counts every exchange; `covered` and `uncovered` count those whose
 * coverage was decided (their trace was sampled, and both coverage rules could run); `undecided`
 * is the rest, so exchanges = covered + uncovered + undecided. The covered share of decided
 * traffic is the estimate for the undecided part: sampling is by trace, independent of coverage.
 */
import { compareGapRows, type GapRow, type GapsResult } from './gaps';
import { suggestionFor } from './suggestions';
import { displayServer } from '../spans/server-key';

/** Prometheus label names of the attributes (dots become underscores). */
export const LABELS = {
  caller: 'sockscope_caller_package',
  protocol: 'network_protocol_name',
  transport: 'network_transport',
  address: 'server_address',
  port: 'server_port',
  covered: 'sockscope_covered',
  coveredBy: 'sockscope_covered_by',
  phase: 'sockscope_phase',
} as const;

/** The metric names as Prometheus exporters write them (with or without unit and `_total` suffixes). */
export const PROM_NAMES = {
  exchanges: 'sockscope_exchanges(_total)?',
  time: 'sockscope_exchange_time(_seconds)?(_total)?',
  io: 'sockscope_io(_bytes)?(_total)?',
  open: 'sockscope_connection_count',
  durationBucket: 'sockscope_exchange_duration(_seconds)?_bucket',
} as const;

export interface FleetRow extends GapRow {
  /** Exchanges whose coverage could not be decided (unsampled traces). */
  undecided: number;
}

export interface FleetGapsResult extends GapsResult {
  rows: FleetRow[];
  totals: GapsResult['totals'] & { undecided: number };
}

const ROW_LABELS = [
  LABELS.caller,
  LABELS.protocol,
  LABELS.transport,
  LABELS.address,
  LABELS.port,
  LABELS.covered,
  LABELS.coveredBy,
];

/**
 * The two PromQL queries: exchanges and time by row labels and verdict, each series' latest value
 * within the range (counters count since their process started), summed over instances.
 */
export function fleetGapQueries(selector: string, range: string): { exchanges: string; time: string } {
  const by = ROW_LABELS.join(', ');
  const sel = (name: string) => `{__name__=~"${name}"${selector !== '' ? `, ${selector}` : ''}}`;
  return {
    exchanges: `sum by (${by}) (last_over_time(${sel(PROM_NAMES.exchanges)}[${range}]))`,
    time: `sum by (${by}) (last_over_time(${sel(PROM_NAMES.time)}[${range}]))`,
  };
}

interface Acc {
  row: FleetRow;
  coveredBy: Set<string>;
}

type Labels = Record<string, string | undefined>;

/** The row a series belongs to, as `gapGroupOf` names it for spans. */
export function rowKeyOf(l: Labels): { callerPackage: string; protocol: string; server: string } {
  const transport = l[LABELS.transport];
  const protocol = l[LABELS.protocol] ?? (transport === 'unix' ? 'unix' : (transport ?? 'tcp'));
  const host = l[LABELS.address];
  const server =
    host === undefined ? '(unknown)' : displayServer(host, transport === 'unix' ? undefined : l[LABELS.port]);
  return { callerPackage: l[LABELS.caller] ?? '(unknown)', protocol, server };
}

/** Builds the gap rows from the two queries' samples. */
export function fleetGaps(
  exchanges: ReadonlyArray<{ labels: Labels; value: number }>,
  time: ReadonlyArray<{ labels: Labels; value: number }>,
): FleetGapsResult {
  const rows = new Map<string, Acc>();
  const accOf = (l: Labels): Acc => {
    const k = rowKeyOf(l);
    const key = `${k.callerPackage}\u0000${k.protocol}\u0000${k.server}`;
    let a = rows.get(key);
    if (a === undefined) {
      a = {
        row: {
          ...k,
          exchanges: 0,
          covered: 0,
          uncovered: 0,
          undecided: 0,
          coveredBy: [],
          uncoveredTimeMs: 0,
          suggestion: '',
        },
        coveredBy: new Set(),
      };
      rows.set(key, a);
    }
    return a;
  };
  for (const s of exchanges) {
    const n = Math.round(s.value);
    if (n === 0) continue;
    const a = accOf(s.labels);
    a.row.exchanges += n;
    const verdict = s.labels[LABELS.covered];
    if (verdict === 'true') {
      a.row.covered += n;
      const by = s.labels[LABELS.coveredBy];
      if (by !== undefined) a.coveredBy.add(by);
    } else if (verdict === 'false') a.row.uncovered += n;
    else a.row.undecided += n;
  }
  for (const s of time) {
    if (s.labels[LABELS.covered] !== 'false') continue;
    const k = rowKeyOf(s.labels);
    const a = rows.get(`${k.callerPackage}\u0000${k.protocol}\u0000${k.server}`);
    if (a !== undefined) a.row.uncoveredTimeMs += s.value * 1000;
  }
  const out: FleetRow[] = [];
  const totals = { exchanges: 0, covered: 0, uncovered: 0, undecided: 0 };
  for (const { row, coveredBy } of rows.values()) {
    row.coveredBy = [...coveredBy].sort();
    row.uncoveredTimeMs = Math.round(row.uncoveredTimeMs * 1000) / 1000;
    row.suggestion = suggestionFor(row);
    out.push(row);
    totals.exchanges += row.exchanges;
    totals.covered += row.covered;
    totals.uncovered += row.uncovered;
    totals.undecided += row.undecided;
  }
  // The trace table's order: biggest blind spot first.
  out.sort(compareGapRows);
  return { rows: out, totals };
}
