/**
 * The terminal renderer every command prints through: aligned tables with a totals line, colour
 * only on a TTY and never with NO_COLOR, and every cell made inert (see inert.ts) so text from a
 * trace file cannot drive the terminal. Durations are formatted by format.ts.
 */
import { inert } from './inert';

export { formatMs, perCall } from './format';
export { inert, inertLines } from './inert';

export type Colour = 'bold' | 'dim' | 'red' | 'yellow' | 'green' | 'cyan';
const CODES: Record<Colour, [number, number]> = {
  bold: [1, 22],
  dim: [2, 22],
  red: [31, 39],
  yellow: [33, 39],
  green: [32, 39],
  cyan: [36, 39],
};

/**
 * Colour for a stream: only a TTY, and never when `NO_COLOR` is set to anything non-empty
 * (no-color.org). The caller passes the environment (only the CLI reads `process`).
 */
export function shouldColor(
  stream: { isTTY?: boolean },
  env: Readonly<Record<string, string | undefined>>,
): boolean {
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

const text = (c: Cell): string => inert(typeof c === 'string' ? c : c.text);
const colourOf = (c: Cell): Colour | undefined => (typeof c === 'string' ? undefined : c.colour);

/**
 * Render rows under headers with columns padded to the widest cell; the last column is not
 * padded (no trailing spaces). `footer` rows (totals) come after a rule line. Cell text is made
 * inert here, so no caller can forget it.
 */
export function renderTable(
  columns: Column[],
  rows: Cell[][],
  options: { color?: boolean; footer?: Cell[][] } = {},
): string {
  const color = options.color === true;
  const footer = options.footer ?? [];
  // A loop, not a spread: a table may have more rows than a call takes arguments.
  const widths = columns.map((col) => col.header.length);
  for (const r of [rows, footer]) {
    for (const cells of r) {
      columns.forEach((_, i) => {
        widths[i] = Math.max(widths[i], [...text(cells[i] ?? '')].length);
      });
    }
  }
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
