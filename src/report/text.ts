/**
 * The terminal form of the report: per function or entry span, its calls, exchanges, network time
 * by server and protocol and the share of wall time on the network, then its findings, largest
 * savings first (grouped over traces: one line per kind of finding).
 */
import {
  summarizeFindings,
  type FindingSummary,
  type FunctionReport,
  type Report,
  type TraceAnalysis,
} from '../analysis/report';
import { rankedSavings } from '../analysis/findings';
import { formatRtt, formatSavings } from '../render/format';
import { formatMs, inert, paint, perCall, renderTable, type Cell, type Colour } from '../render/terminal';
import { hiddenInFunction, rttNote, serialThresholdNote } from './notes';

export interface TextOptions {
  /** ANSI colour (the CLI decides: a TTY and no NO_COLOR). */
  color?: boolean;
}

const FINDING_COLOURS: Record<string, Colour> = { 'n+1': 'red', serial: 'yellow', duplicate: 'yellow' };

function indent(text: string, by = '  '): string {
  return text
    .replace(/\n$/, '')
    .split('\n')
    .map((l) => by + l)
    .join('\n');
}

const KIND_LABELS: Record<FunctionReport['kind'], string> = {
  function: 'traced function',
  entry: 'entry span',
  orphans: 'calls without a parent span',
};

/** SAVES/CALL: the mean per occurrence, with its projection when there is one. */
function savesCell(s: FindingSummary, rttMs: number | undefined): string {
  return formatSavings(s.meanSavingsMs, s.meanProjectedSavingsMs, rttMs);
}

function functionBlock(f: FunctionReport, report: Report, color: boolean): string {
  const rttMs = report.rttMs;
  const calls = Math.max(1, f.calls);
  const share = `${(f.networkShare * 100).toFixed(0)}%`;
  const title = `${inert(f.name)}${f.service ? ` [${inert(f.service)}]` : ''}`;
  const parts = [
    `${paint(title, 'bold', color)} (${KIND_LABELS[f.kind]})`,
    `  ${f.calls} call${f.calls === 1 ? '' : 's'}, ${perCall(f.exchanges, f.calls)} exchanges per call, ` +
      `network ${formatMs(f.networkTimeMs / calls)} of ${formatMs(f.wallTimeMs / calls)} per call (${share} of wall time)`,
  ];
  if (f.byServer.length > 0) {
    const rows: Cell[][] = f.byServer.map((s) => [
      inert(s.server),
      inert(s.protocol),
      String(s.exchanges),
      formatMs(s.timeMs),
      formatMs(s.timeMs / calls),
    ]);
    const columns = [
      { header: 'SERVER' },
      { header: 'PROTOCOL' },
      { header: 'EXCHANGES', align: 'right' as const },
      { header: 'TIME', align: 'right' as const },
      { header: 'PER CALL', align: 'right' as const },
    ];
    parts.push(indent(renderTable(columns, rows, { color })));
  }
  const summaries = summarizeFindings(f.findings);
  if (summaries.length > 0) {
    const rows: Cell[][] = summaries.map((s) => [
      { text: s.type, colour: FINDING_COLOURS[s.type] },
      inert(s.operation),
      inert(s.server),
      `x${s.maxCount}`,
      `${s.occurrences}/${f.calls}`,
      savesCell(s, rttMs),
      formatMs(s.maxProjectedSavingsMs ?? s.maxSavingsMs),
    ]);
    const columns = [
      { header: 'FINDING' },
      { header: 'OPERATION' },
      { header: 'SERVER' },
      { header: 'CALLS', align: 'right' as const },
      { header: 'IN CALLS', align: 'right' as const },
      { header: 'SAVES/CALL', align: 'right' as const },
      { header: rttMs !== undefined ? `MAX AT ${formatRtt(rttMs)}` : 'MAX', align: 'right' as const },
    ];
    const order =
      rttMs !== undefined ? `largest savings at ${formatRtt(rttMs)} first` : 'largest savings first';
    parts.push(`  findings, ${order}:`, indent(renderTable(columns, rows, { color })));
  }
  const hidden = hiddenInFunction(f.hiddenFindings, report);
  if (hidden !== undefined) parts.push(`  (${hidden})`);
  return parts.join('\n');
}

/** The whole terminal report. */
export function renderText(report: Report, analysis: TraceAnalysis, options: TextOptions = {}): string {
  const color = options.color === true;
  const exchanges = analysis.roundTrips;
  const n = analysis.findings.length;
  const t = analysis.traces.size;
  const header =
    `${t} trace${t === 1 ? '' : 's'}, ${report.functions.length} functions and entry spans, ` +
    `${exchanges} exchanges, ${n} finding${n === 1 ? '' : 's'}`;
  const notes = [rttNote(report), serialThresholdNote(report)].filter((n) => n !== undefined);
  const head = [header, ...notes].join('\n');
  if (report.functions.length === 0) return `${head}\nNo traced functions or entry spans found.\n`;
  // Functions with findings first (largest savings first), then by network time.
  const savings = (f: FunctionReport): number => f.findings.reduce((a, x) => a + rankedSavings(x), 0);
  const ordered = [...report.functions].sort(
    (a, b) => savings(b) - savings(a) || b.networkTimeMs - a.networkTimeMs,
  );
  return `${head}\n\n${ordered.map((f) => functionBlock(f, report, color)).join('\n\n')}\n`;
}
