/**
 * `sockscope report --html FILE`: one self-contained page (inline CSS and JS, nothing fetched)
 * with the summary tables and a waterfall per trace. Every string from the trace file is escaped,
 * and a Content-Security-Policy allows only this page's own script (by hash), so even a string
 * that slipped through could not run.
 *
 * Size is bounded: waterfalls for at most `maxTraces` traces (those holding the largest findings,
 * then the slowest), at most `maxSpansPerTrace` rows each, at most `maxTableRows` rows per table;
 * the page says when it left something out.
 */
import { createHash } from 'node:crypto';
import { isExchangeSpan } from '../analysis/exchanges';
import {
  summarizeFindings,
  type Finding,
  type FindingSummary,
  type FunctionReport,
  type Report,
  type TraceAnalysis,
} from '../analysis/report';
import { formatMs, formatRtt, perCall } from '../render/format';
import { cssToken, escapeHtml } from '../render/html/escape';
import { REPORT_SCRIPT } from '../render/html/script';
import { REPORT_CSS } from '../render/html/style';
import { bounds, colourOf, protocolOf, TYPE_CLASS, TYPE_LABELS, waterfall } from '../render/html/waterfall';
import { rttNote, serialThresholdNote } from './notes';

/** The page's size limits, defined once (the CLI's `--html-traces` default is `maxTraces`). */
export const HTML_DEFAULTS = Object.freeze({ maxTraces: 20, maxSpansPerTrace: 250, maxTableRows: 200 });

export interface HtmlOptions {
  /** Waterfalls drawn at most. Default 20. */
  maxTraces?: number;
  /** Rows per waterfall at most. Default 250. */
  maxSpansPerTrace?: number;
  /** Rows per summary table at most. Default 200. */
  maxTableRows?: number;
  /** Shown in the header (e.g. the input files). */
  sources?: string[];
  /** Shown in the header. Default: now. */
  generatedAt?: Date;
}

/** A share as a percentage, with a decimal below 10% so small shares do not read as zero. */
function pct(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

function shareCell(share: number): string {
  const w = Math.max(0, Math.min(100, share * 100));
  return `<span class="share"><i style="width:${w.toFixed(1)}%"></i></span>${escapeHtml(pct(share))}`;
}

function functionsTable(functions: FunctionReport[], maxRows: number): string {
  if (functions.length === 0) return '<p class="empty">No traced functions or entry spans in the input.</p>';
  const shown = functions.slice(0, maxRows);
  const rows = shown.map((f) => {
    const servers = f.byServer
      .map(
        (s) =>
          `<span class="chip"><span class="dot" style="background:${colourOf(s.protocol)}"></span>${escapeHtml(s.protocol)} ${escapeHtml(s.server)}: ${escapeHtml(perCall(s.exchanges, f.calls))} &times; &middot; ${escapeHtml(formatMs(s.timeMs / Math.max(1, f.calls)))}</span>`,
      )
      .join('');
    return (
      `<tr><td class="name">${escapeHtml(f.name)}${f.service ? ` <span class="chip">${escapeHtml(f.service)}</span>` : ''}</td>` +
      `<td class="num">${f.calls}</td><td class="num">${escapeHtml(perCall(f.exchanges, f.calls))}</td>` +
      `<td class="num">${escapeHtml(formatMs(f.networkTimeMs / Math.max(1, f.calls)))}</td>` +
      `<td class="num">${escapeHtml(formatMs(f.wallTimeMs / Math.max(1, f.calls)))}</td>` +
      `<td class="num">${shareCell(f.networkShare)}</td><td class="num">${f.findings.length}</td></tr>` +
      (servers ? `<tr class="sub"><td colspan="7">${servers}</td></tr>` : '')
    );
  });
  const more =
    functions.length > shown.length
      ? `<p class="more">${functions.length - shown.length} more functions not shown (see --json).</p>`
      : '';
  return (
    '<table id="functions"><thead><tr><th>Function / entry span</th><th class="num">Calls</th>' +
    '<th class="num">Exchanges / call</th><th class="num">Network / call</th><th class="num">Wall / call</th>' +
    '<th class="num">On network</th><th class="num">Findings</th></tr></thead><tbody>' +
    rows.join('') +
    '</tbody></table>' +
    more
  );
}

function findingsTable(
  summaries: FindingSummary[],
  drawn: Set<string>,
  maxRows: number,
  rttMs: number | undefined,
): string {
  if (summaries.length === 0) return '<p class="empty">No findings.</p>';
  const shown = summaries.slice(0, maxRows);
  const num = (ms: number | undefined): string =>
    `<td class="num">${escapeHtml(ms === undefined ? '' : formatMs(ms))}</td>`;
  const rows = shown.map((s) => {
    const cls = TYPE_CLASS[s.type];
    const link = drawn.has(s.example.traceId)
      ? `<a href="#trace-${escapeHtml(cssToken(s.example.traceId))}">example</a>`
      : '<span class="empty">not drawn</span>';
    const projected =
      rttMs === undefined ? '' : num(s.meanProjectedSavingsMs) + num(s.totalProjectedSavingsMs);
    return (
      `<tr class="finding"><td><span class="badge ${cls}">${escapeHtml(TYPE_LABELS[s.type])}</span></td>` +
      `<td class="name">${escapeHtml(s.function)}</td><td>${escapeHtml(s.operation)}</td><td>${escapeHtml(s.server)}</td>` +
      `<td class="num">${s.occurrences}</td><td class="num">${s.maxCount}</td><td class="num">${s.maxRoundTripsSaved}</td>` +
      `${num(s.meanSavingsMs)}${num(s.maxSavingsMs)}${num(s.totalSavingsMs)}${projected}<td>${link}</td></tr>`
    );
  });
  const rtt = rttMs === undefined ? '' : escapeHtml(formatRtt(rttMs));
  const projectedHeads =
    rttMs === undefined ? '' : `<th class="num">At ${rtt} (mean)</th><th class="num">At ${rtt} (total)</th>`;
  const more =
    summaries.length > shown.length
      ? `<p class="more">${summaries.length - shown.length} more kinds of finding not shown (see --json).</p>`
      : '';
  return (
    '<table id="findings"><thead><tr><th>Type</th><th>Function</th><th>Operation</th><th>Server</th>' +
    '<th class="num">Traces</th><th class="num">Max calls</th><th class="num">Round trips fewer</th>' +
    '<th class="num">Saves (mean)</th><th class="num">Saves (max)</th><th class="num">Saves (total)</th>' +
    `${projectedHeads}<th></th></tr></thead><tbody>` +
    rows.join('') +
    '</tbody></table>' +
    more
  );
}

/** Which traces get a waterfall: those holding the largest findings first, then the slowest. */
function pickTraces(analysis: TraceAnalysis, max: number): string[] {
  const picked: string[] = [];
  const add = (id: string): void => {
    if (picked.length < max && !picked.includes(id) && analysis.traces.has(id)) picked.push(id);
  };
  const summaries = summarizeFindings(analysis.findings);
  for (const s of summaries) add(s.example.traceId);
  const durations = [...analysis.traces].map(([id, spans]) => {
    const [t0, t1] = bounds(spans);
    return { id, d: t1 - t0 };
  });
  durations.sort((a, b) => b.d - a.d);
  for (const { id } of durations) add(id);
  return picked;
}

function legend(analysis: TraceAnalysis, drawn: string[]): string {
  const seen = new Set<string>();
  for (const id of drawn) {
    for (const s of analysis.traces.get(id) ?? []) {
      if (isExchangeSpan(s)) seen.add(protocolOf(s) ?? 'other');
    }
  }
  const items = [...seen]
    .sort()
    .map(
      (p) =>
        `<span><span class="dot" style="background:${colourOf(p === 'other' ? undefined : p)}"></span>${escapeHtml(p)}</span>`,
    );
  items.push('<span><span class="dot" style="background:#6b7488"></span>traced function</span>');
  items.push('<span><span class="dot" style="border:1px dashed #a7afc0"></span>connection</span>');
  items.push(
    '<span>outlined: in a finding (<b style="color:var(--n1)">n+1</b>, <b style="color:var(--ser)">serial</b>, <b style="color:var(--dup)">duplicate</b>)</span>',
  );
  return `<div class="legend">${items.join('')}</div>`;
}

/** The whole page. */
export function renderHtml(report: Report, analysis: TraceAnalysis, options: HtmlOptions = {}): string {
  const maxTraces = options.maxTraces ?? HTML_DEFAULTS.maxTraces;
  const maxRows = options.maxSpansPerTrace ?? HTML_DEFAULTS.maxSpansPerTrace;
  const maxTableRows = options.maxTableRows ?? HTML_DEFAULTS.maxTableRows;
  const summaries = summarizeFindings(analysis.findings);
  const drawn = pickTraces(analysis, maxTraces);
  const drawnSet = new Set(drawn);
  const findingsByTrace = new Map<string, Finding[]>();
  for (const f of analysis.findings) {
    const list = findingsByTrace.get(f.traceId);
    if (list === undefined) findingsByTrace.set(f.traceId, [f]);
    else list.push(f);
  }
  const totalSavings = analysis.findings.reduce((a, f) => a + f.estimatedSavingsMs, 0);
  const totalProjected = analysis.findings.reduce((a, f) => a + (f.projectedSavingsMs ?? 0), 0);
  const exchanges = analysis.roundTrips;
  const rttMs = report.rttMs;
  const stats = [
    [String(analysis.traces.size), 'traces'],
    [String(report.functions.length), 'functions and entry spans'],
    [String(exchanges), 'network round trips'],
    [String(analysis.findings.length), 'findings'],
    [formatMs(totalSavings), 'estimated savings (all findings)'],
    ...(rttMs !== undefined ? [[formatMs(totalProjected), `estimated savings at ${formatRtt(rttMs)}`]] : []),
  ]
    .map(([v, l]) => `<div class="stat"><b>${escapeHtml(v)}</b><span>${escapeHtml(l)}</span></div>`)
    .join('');
  const tracesNote =
    analysis.traces.size > drawn.length
      ? `Showing ${drawn.length} of ${analysis.traces.size} traces: those holding the largest findings first, then the slowest.`
      : `All ${drawn.length} traces.`;
  const waterfalls = drawn.map((id) =>
    waterfall(id, analysis.traces.get(id) ?? [], findingsByTrace.get(id) ?? [], maxRows, rttMs),
  );
  const order =
    rttMs !== undefined
      ? `largest total savings at ${formatRtt(rttMs)} first`
      : 'largest total estimated savings first';
  const findingNotes = [rttNote(report), serialThresholdNote(report)]
    .filter((n) => n !== undefined)
    .map((n) => ` ${escapeHtml(n.charAt(0).toUpperCase() + n.slice(1))}.`)
    .join('');
  const scriptHash = createHash('sha256').update(REPORT_SCRIPT).digest('base64');
  const generated = (options.generatedAt ?? new Date()).toISOString();
  const sources = options.sources?.length ? ` &middot; ${escapeHtml(options.sources.join(', '))}` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sockscope report</title>
<style>${REPORT_CSS}</style>
</head>
<body>
<header><h1>sockscope report</h1><div class="meta">Generated ${escapeHtml(generated)}${sources}</div></header>
<main>
<div class="stats">${stats}</div>
<section><h2>Functions and entry spans</h2>
<p class="note">Per traced function (<code>traced()</code>) or entry span; exchanges and times are per call (mean), by server and protocol below each row. Network time is the time with at least one round trip in flight (overlapping calls count once); an instrumented call and the socket exchange it covers count once. Inner traced functions are included in their callers.</p>
${functionsTable(report.functions, maxTableRows)}
</section>
<section><h2>Findings</h2>
<p class="note">Grouped over traces, ${escapeHtml(order)}. Savings of different findings may overlap: do not add them up.${findingNotes}</p>
${findingsTable(summaries, drawnSet, maxTableRows, rttMs)}
</section>
<section><h2>Traces</h2>
<p class="note">${escapeHtml(tracesNote)} Click a finding to spotlight its bars.</p>
${legend(analysis, drawn)}
${waterfalls.join('\n') || '<p class="empty">No traces in the input.</p>'}
</section>
</main>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}
