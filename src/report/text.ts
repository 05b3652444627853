/**
 * The terminal form of the report: per function or entry span, its calls, exchanges, network time
 * by server and protocol and the share of wall time on the network, then its findings, largest
 * savings first (grouped over traces: one line per kind of finding).
 */
import { summariseFindings, type FunctionReport, type Report, type TraceAnalysis } from '../analysis/report';

/** Renders rows as aligned columns; the CLI passes the shared table renderer. */
export type TableRenderer = (
  header: string[],
  rows: string[][],
  options?: { align?: Array<'left' | 'right'> },
) => string;

/** Control characters from a trace file could drive the terminal (escape sequences): show them inert. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;
export function clean(text: string): string {
  return text.replace(CONTROL, '\ufffd');
}

function ms(n: number): string {
  if (n >= 10_000) return `${(n / 1000).toFixed(1)} s`;
  if (n >= 100) return `${Math.round(n)} ms`;
  return `${n.toFixed(n >= 10 ? 1 : 2)} ms`;
}

function perCall(total: number, calls: number): string {
  const v = total / Math.max(1, calls);
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** A plain aligned-columns renderer, used when none is passed. */
export const plainTable: TableRenderer = (header, rows, options) => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (options?.align?.[i] === 'right' ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
};

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

function functionBlock(f: FunctionReport, table: TableRenderer): string {
  const share = `${(f.networkShare * 100).toFixed(0)}%`;
  const head =
    `${clean(f.name)}${f.service ? ` [${clean(f.service)}]` : ''} (${f.kind === 'function' ? 'traced function' : f.kind === 'entry' ? 'entry span' : 'calls without a parent span'})\n` +
    `  ${f.calls} call${f.calls === 1 ? '' : 's'}, ${perCall(f.exchanges, f.calls)} exchanges per call, ` +
    `network ${ms(f.networkTimeMs / Math.max(1, f.calls))} of ${ms(f.wallTimeMs / Math.max(1, f.calls))} per call (${share} of wall time)`;
  const parts = [head];
  if (f.byServer.length > 0) {
    const rows = f.byServer.map((s) => [
      clean(s.server),
      clean(s.protocol),
      String(s.exchanges),
      ms(s.timeMs),
      ms(s.timeMs / Math.max(1, f.calls)),
    ]);
    parts.push(
      indent(
        table(['SERVER', 'PROTOCOL', 'EXCHANGES', 'TIME', 'PER CALL'], rows, {
          align: ['left', 'left', 'right', 'right', 'right'],
        }),
      ),
    );
  }
  const summaries = summariseFindings(f.findings);
  if (summaries.length > 0) {
    const rows = summaries.map((s) => [
      s.type,
      clean(s.operation),
      clean(s.server),
      `x${s.maxCount}`,
      `${s.occurrences}/${f.calls}`,
      `~${ms(s.meanSavingsMs)}`,
      ms(s.maxSavingsMs),
    ]);
    parts.push(
      '  findings, largest savings first:\n' +
        indent(
          table(['FINDING', 'OPERATION', 'SERVER', 'CALLS', 'IN CALLS', 'SAVES/CALL', 'MAX'], rows, {
            align: ['left', 'left', 'left', 'right', 'right', 'right', 'right'],
          }),
        ),
    );
  }
  return parts.join('\n');
}

/** The whole terminal report. */
export function renderText(
  report: Report,
  analysis: TraceAnalysis,
  table: TableRenderer = plainTable,
): string {
  const exchanges = report.functions
    .filter((f) => f.kind !== 'function')
    .reduce((a, f) => a + f.exchanges, 0);
  const n = analysis.findings.length;
  const header = `${analysis.traces.size} trace${analysis.traces.size === 1 ? '' : 's'}, ${report.functions.length} functions and entry spans, ${exchanges} exchanges, ${n} finding${n === 1 ? '' : 's'}`;
  if (report.functions.length === 0) return `${header}\nNo traced functions or entry spans found.\n`;
  // Functions with findings first (largest savings first), then by network time.
  const savings = (f: FunctionReport): number => f.findings.reduce((a, x) => a + x.estimatedSavingsMs, 0);
  const ordered = [...report.functions].sort(
    (a, b) => savings(b) - savings(a) || b.networkTimeMs - a.networkTimeMs,
  );
  return `${header}\n\n${ordered.map((f) => functionBlock(f, table)).join('\n\n')}\n`;
}
