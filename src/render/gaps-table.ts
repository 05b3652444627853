/**
 * The `sockscope gaps` table: one line per row, biggest blind spot first, a totals line, and the
 * suggestions under it.
 */
import type { GapsResult } from '../analysis/gaps';
import { SUGGEST_COVERED } from '../analysis/suggestions';
import { formatMs } from './format';
import { inert } from './inert';
import { paint, renderTable, type Cell, type Column } from './terminal';

const shortScope = (s: string): string => s.replace(/^@opentelemetry\//, '');

/** The `sockscope gaps` table: one line per row, biggest blind spot first, and a totals line. */
export function renderGapsTable(result: GapsResult, options: { color?: boolean } = {}): string {
  // Suggestions are sentences: they go under the table, one line per row that needs one, so the
  // table itself fits a 100-column terminal.
  const columns: Column[] = [
    { header: 'CALLER' },
    { header: 'PROTOCOL' },
    { header: 'SERVER' },
    { header: 'EXCHANGES', align: 'right' },
    { header: 'COVERED', align: 'right' },
    { header: 'GAPS', align: 'right' },
    { header: 'GAP TIME', align: 'right' },
    { header: 'COVERED BY' },
  ];
  const notes: string[] = [];
  const rows: Cell[][] = result.rows.map((r) => {
    const gap = r.uncovered > 0;
    if (r.suggestion !== SUGGEST_COVERED) {
      const where = inert(`${r.callerPackage} -> ${r.protocol} ${r.server}`);
      notes.push(
        `${where}: ${paint(inert(r.suggestion), gap ? 'yellow' : undefined, options.color === true)}`,
      );
    }
    return [
      r.callerPackage,
      r.protocol,
      r.server,
      String(r.exchanges),
      String(r.covered),
      { text: String(r.uncovered), colour: gap ? 'red' : undefined },
      { text: gap ? formatMs(r.uncoveredTimeMs) : '-', colour: gap ? 'red' : undefined },
      r.coveredBy.length === 0 ? '-' : r.coveredBy.map(shortScope).join(', '),
    ];
  });
  const t = result.totals;
  const uncoveredTime = result.rows.reduce((a, r) => a + r.uncoveredTimeMs, 0);
  const pct = t.exchanges === 0 ? 0 : Math.round((t.uncovered / t.exchanges) * 100);
  const footer: Cell[][] = [
    [
      'total',
      '',
      `${result.rows.length} row${result.rows.length === 1 ? '' : 's'}`,
      String(t.exchanges),
      String(t.covered),
      { text: String(t.uncovered), colour: t.uncovered > 0 ? 'red' : undefined },
      formatMs(Math.round(uncoveredTime * 1000) / 1000),
      `${pct}% uncovered`,
    ],
  ];
  const table = renderTable(columns, rows, { color: options.color, footer });
  if (notes.length === 0) return table;
  return `${table.replace(/\n+$/, '')}\n\nwhat to do:\n${notes.map((n) => `  ${n}\n`).join('')}`;
}
