/**
 * Terminal tables: aligned columns, a totals line, colour only on a TTY and never with NO_COLOR.
 */
import type { GapsResult } from '../analysis/gaps';
import { SUGGEST_COVERED } from '../analysis/suggestions';

export type Colour = 'bold' | 'dim' | 'red' | 'yellow' | 'green' | 'cyan';
const CODES: Record<Colour, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  yellow: [33, 39],
  green: [32, 39],
  cyan: [36, 39],
};

/** Colour for a stream: only a TTY, and never when `NO_COLOR` is set to anything non-empty (no-color.org). */
export function shouldColor(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function paint(text: string, colour: Colour | undefined, enabled: boolean): string {
  if (!enabled || colour === undefined || text === '') return text;
  const [on, off] = CODES[colour];
  return `\u001b[${on}m${text}\u001b[${off}m`;
}

export interface Column {
  header: string;
  align?: 'left' | 'right';
}

/** A cell: its text, and an optional colour applied after padding (so widths stay right). */
export type Cell = string | { text: string; colour?: Colour };

const text = (c: Cell): string => (typeof c === 'string' ? c : c.text);
const colourOf = (c: Cell): Colour | undefined => (typeof c === 'string' ? undefined : c.colour);

/**
 * Render rows under headers with columns padded to the widest cell; the last column is not
 * padded (no trailing spaces). `footer` rows (totals) come after a rule line.
 */
export function renderTable(
  columns: Column[],
  rows: Cell[][],
  options: { color?: boolean; footer?: Cell[][] } = {},
): string {
  const color = options.color === true;
  const footer = options.footer ?? [];
  const widths = columns.map((col, i) =>
    Math.max(col.header.length, ...[...rows, ...footer].map((r) => [...text(r[i] ?? '')].length)),
  );
  const line = (cells: Cell[], header = false): string =>
    columns
      .map((col, i) => {
        const t = text(cells[i] ?? '');
        const pad = ' '.repeat(widths[i] - [...t].length);
        const last = i === columns.length - 1;
        const padded = col.align === 'right' ? pad + t : last ? t : t + pad;
        const c = header ? 'bold' : colourOf(cells[i] ?? '');
        // Colour the text only, so padding is never inside escape codes.
        return col.align === 'right' ? pad + paint(t, c, color) : paint(t, c, color) + padded.slice(t.length);
      })
      .join('  ')
      .replace(/\s+$/, '');
  const out = [
    line(
      columns.map((c) => c.header),
      true,
    ),
  ];
  for (const r of rows) out.push(line(r));
  if (footer.length > 0) {
    // The rule spans every column but the last, which is free text of any length.
    out.push(paint('-'.repeat(widths.slice(0, -1).reduce((a, w) => a + w + 2, 0)), 'dim', color));
    for (const r of footer) out.push(line(r));
  }
  return out.join('\n') + '\n';
}

/** `850 ms`, `12.3 s`, `0.4 ms`. */
export function formatMs(ms: number): string {
  if (ms === 0) return '0 ms';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

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
      const where = `${r.callerPackage} -> ${r.protocol} ${r.server}`;
      notes.push(`${where}: ${paint(r.suggestion, gap ? 'yellow' : undefined, options.color === true)}`);
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
