/**
 * The gap table from sockscope's metrics as Prometheus stores them, summed over every instance:
 * the same rows as `sockscope gaps` builds from traces (caller package x protocol x server), from
 * `sockscope.exchanges` (all exchanges, sampled or not) and `sockscope.exchange.time`.
 *
 * Statistics: `exchanges` counts every exchange; `covered` and `uncovered` count those whose
 * coverage was decided (their trace was sampled, and both coverage rules could run); `undecided`
 * is the rest, so exchanges = covered + uncovered + undecided. The covered share of decided
 * traffic is the estimate for the undecided part: sampling is by trace, independent of coverage.
 * Phases and operation names come from the `sockscope.phase` and `sockscope.operation` attributes,
 * so fleet rows have the trace rows' phase counts, verdict and suggestion.
 *
 * One difference: the metrics carry no `network.protocol.version`, so HTTP/2 streams (recorded as
 * `http`) cannot be told from HTTP/1.1 here; the trace table shows them as `http2`.
 */
import {
  compareGapRows,
  GapRowBuilder,
  listableOperation,
  phaseOf,
  protocolOf,
  rowKey,
  totalsOf,
  type GapOptions,
  type GapRow,
  type GapsResult,
  type GroupKey,
} from './gaps';
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
  operation: 'sockscope_operation',
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
  LABELS.phase,
  LABELS.operation,
];

/**
 * The two PromQL queries: exchanges and time by row labels, phase, operation and verdict, each
 * series' latest value within the range (counters count since their process started), summed
 * over instances.
 */
export function fleetGapQueries(selector: string, range: string): { exchanges: string; time: string } {
  const by = ROW_LABELS.join(', ');
  const sel = (name: string) => `{__name__=~"${name}"${selector !== '' ? `, ${selector}` : ''}}`;
  return {
    exchanges: `sum by (${by}) (last_over_time(${sel(PROM_NAMES.exchanges)}[${range}]))`,
    time: `sum by (${by}) (last_over_time(${sel(PROM_NAMES.time)}[${range}]))`,
  };
}

type Labels = Record<string, string | undefined>;

/** The row a series belongs to, as `gapGroupOf` names it for spans. */
export function rowKeyOf(l: Labels): GroupKey {
  const transport = l[LABELS.transport];
  const protocol = protocolOf(l[LABELS.protocol], undefined, transport);
  const host = l[LABELS.address];
  const server =
    host === undefined ? '(unknown)' : displayServer(host, transport === 'unix' ? undefined : l[LABELS.port]);
  return { callerPackage: l[LABELS.caller] ?? '(unknown)', protocol, server };
}

/** Builds the gap rows from the two queries' samples. */
export function fleetGaps(
  exchanges: ReadonlyArray<{ labels: Labels; value: number }>,
  time: ReadonlyArray<{ labels: Labels; value: number }>,
  options: GapOptions = {},
): FleetGapsResult {
  const rows = new Map<string, GapRowBuilder>();
  const builderOf = (l: Labels, create: boolean): GapRowBuilder | undefined => {
    const k = rowKeyOf(l);
    const key = rowKey(k);
    let b = rows.get(key);
    if (b === undefined && create) rows.set(key, (b = new GapRowBuilder(k)));
    return b;
  };
  for (const s of exchanges) {
    const n = Math.round(s.value);
    if (n === 0) continue;
    const b = builderOf(s.labels, true)!;
    const phase = phaseOf(s.labels[LABELS.phase]);
    const verdict = s.labels[LABELS.covered];
    if (verdict === 'true') b.count(phase, 'covered', n, s.labels[LABELS.coveredBy]);
    else if (verdict === 'false')
      b.count(phase, 'uncovered', n, undefined, listableOperation(s.labels[LABELS.operation]));
    else b.count(phase, 'undecided', n);
  }
  for (const s of time) {
    if (s.labels[LABELS.covered] !== 'false') continue;
    builderOf(s.labels, false)?.uncoveredTime(phaseOf(s.labels[LABELS.phase]), s.value * 1000);
  }
  const out: FleetRow[] = [...rows.values()].map((b) => ({ ...b.build(options), undecided: b.undecided }));
  // The trace table's order: biggest blind spot first.
  out.sort(compareGapRows);
  const totals = { ...totalsOf(out), undecided: out.reduce((a, r) => a + r.undecided, 0) };
  const result: FleetGapsResult = { rows: out, totals };
  if (options.rttMs !== undefined) result.rttMs = options.rttMs;
  return result;
}
