/**
 * The `sockscope gaps` table: one line per row, biggest blind spot first, a totals line, and the
 * suggestions under it. Operations and connection chatter (setup, teardown, heartbeat) have a
 * column each, as `covered/total`.
 */
import type { GapRow, GapsResult } from '../analysis/gaps';
import { formatMs } from './format';
import { inert } from './inert';
import { paint, renderTable, type Cell, type Column } from './terminal';

const shortScope = (s: string): string => s.replace(/^@opentelemetry\//, '');

/** `covered/total`, coloured when some are uncovered; `-` when there are none. */
function fraction(covered: number, total: number, uncovered: number, colour: 'red' | 'yellow'): Cell {
  if (total === 0) return '-';
  return { text: `${covered}/${total}`, colour: uncovered > 0 ? colour : undefined };
}

/** `~44 ms`: a projection, never a measurement. */
export const projected = (ms: number): string => `~${formatMs(ms)}`;

/** The header of the projection column: `AT 1 MS RTT` reads badly, so the unit stays lower case. */
const rttHeader = (rttMs: number): string => `AT ${rttMs} ms RTT`;

/** The `sockscope gaps` table: one line per row, biggest blind spot first, and a totals line. */
export function renderGapsTable(result: GapsResult, options: { color?: boolean } = {}): string {
  // Suggestions are sentences: they go under the table, one line per row with an uncovered
  // operation, so the table itself fits a 100-column terminal.
  const rtt = result.rttMs;
  const columns: Column[] = [
    { header: 'CALLER' },
    { header: 'PROTOCOL' },
    { header: 'SERVER' },
    { header: 'OPS', align: 'right' },
    { header: 'CHATTER', align: 'right' },
    { header: 'GAP TIME', align: 'right' },
    ...(rtt !== undefined ? [{ header: rttHeader(rtt), align: 'right' as const }] : []),
    { header: 'COVERED BY' },
  ];
  const notes: string[] = [];
  const rows: Cell[][] = result.rows.map((r: GapRow) => {
    const gap = r.operationsUncovered > 0;
    if (gap) {
      const where = inert(`${r.callerPackage} -> ${r.protocol} ${r.server}`);
      notes.push(`${where}: ${paint(inert(r.suggestion), 'yellow', options.color === true)}`);
    }
    const chatter = r.exchanges - r.operations;
    return [
      r.callerPackage,
      r.protocol,
      r.server,
      fraction(r.operationsCovered, r.operations, r.operationsUncovered, 'red'),
      fraction(r.covered - r.operationsCovered, chatter, r.uncovered - r.operationsUncovered, 'yellow'),
      { text: gap ? formatMs(r.uncoveredOperationTimeMs) : '-', colour: gap ? 'red' : undefined },
      ...(rtt !== undefined
        ? [
            gap && r.projectedUncoveredOperationTimeMs !== undefined
              ? projected(r.projectedUncoveredOperationTimeMs)
              : '-',
          ]
        : []),
      r.coveredBy.length === 0 ? '-' : r.coveredBy.map(shortScope).join(', '),
    ];
  });
  const t = result.totals;
  const sum = (f: (r: GapRow) => number | undefined): number =>
    Math.round(result.rows.reduce((a, r) => a + (f(r) ?? 0), 0) * 1000) / 1000;
  const pct = t.operations === 0 ? 0 : Math.round((t.operationsUncovered / t.operations) * 100);
  const chatter = t.exchanges - t.operations;
  const footer: Cell[][] = [
    [
      'total',
      '',
      `${result.rows.length} row${result.rows.length === 1 ? '' : 's'}`,
      fraction(t.operationsCovered, t.operations, t.operationsUncovered, 'red'),
      fraction(t.covered - t.operationsCovered, chatter, t.uncovered - t.operationsUncovered, 'yellow'),
      formatMs(sum((r) => r.uncoveredOperationTimeMs)),
      ...(rtt !== undefined ? [projected(sum((r) => r.projectedUncoveredOperationTimeMs))] : []),
      `${pct}% of ops uncovered`,
    ],
  ];
  const table = renderTable(columns, rows, { color: options.color, footer });
  const legend =
    'OPS and CHATTER (setup/teardown/heartbeat) are covered/total; GAP TIME is in uncovered operations.\n';
  const body = `${table.replace(/\n+$/, '')}\n${legend}`;
  if (notes.length === 0) return body;
  return `${body}\nwhat to do:\n${notes.map((n) => `  ${n}\n`).join('')}`;
}
