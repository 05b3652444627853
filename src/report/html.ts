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
import type { TraceSpan } from '../analysis/model';
import {
  summarizeFindings,
  type Finding,
  type FindingSummary,
  type FunctionReport,
  type Report,
  type TraceAnalysis,
} from '../analysis/report';
import { esc, token } from './escape';

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

/** Bar colours by `network.protocol.name`; anything else is grey. */
export const PROTOCOL_COLOURS: Readonly<Record<string, string>> = {
  postgresql: '#3b6fd8',
  mysql: '#e08a1e',
  redis: '#d8443b',
  memcached: '#1e9e9e',
  mongodb: '#3f9142',
  http: '#2fa572',
  amqp: '#8a4fd8',
  mqtt: '#b04fa8',
  nats: '#5a5fd0',
  kafka: '#444a5a',
  smtp: '#9a6b3a',
  tls: '#8f98a8',
};
const OTHER_COLOUR = '#8f98a8';

const TYPE_LABELS: Record<Finding['type'], string> = {
  duplicate: 'duplicate',
  serial: 'serial',
  'n+1': 'n+1',
};
const TYPE_CLASS: Record<Finding['type'], string> = { duplicate: 'dup', serial: 'ser', 'n+1': 'n1' };

function ms(n: number): string {
  if (n >= 10_000) return `${(n / 1000).toFixed(1)} s`;
  if (n >= 100) return `${Math.round(n)} ms`;
  if (n >= 10) return `${n.toFixed(1)} ms`;
  return `${n.toFixed(2)} ms`;
}

function perCall(total: number, calls: number): string {
  const v = total / Math.max(1, calls);
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function pct(share: number): string {
  return `${(share * 100).toFixed(share < 0.1 ? 1 : 0)}%`;
}

function protocolOf(span: TraceSpan): string | undefined {
  const p = span.attributes['network.protocol.name'];
  return typeof p === 'string' ? p.toLowerCase() : undefined;
}

function colourOf(protocol: string | undefined): string {
  return (protocol !== undefined ? PROTOCOL_COLOURS[protocol] : undefined) ?? OTHER_COLOUR;
}

const CSS = `
:root{--fg:#1d2330;--muted:#677085;--line:#e3e6ee;--bg:#f6f7fb;--card:#fff;--dup:#c2410c;--ser:#a16207;--n1:#be123c}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{background:#1d2330;color:#fff;padding:18px 28px}
header h1{margin:0;font-size:20px;font-weight:600}
header .meta{color:#b8bfd0;font-size:12.5px;margin-top:4px;word-break:break-all}
main{padding:20px 28px 40px;max-width:1500px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:16px 18px;margin-bottom:20px}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:14px;margin:0}
.note{color:var(--muted);font-size:12.5px;margin:6px 0 10px}
.stats{display:flex;gap:12px;flex-wrap:wrap;margin:0 0 20px}
.stat{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:150px}
.stat b{display:block;font-size:20px}
.stat span{color:var(--muted);font-size:12px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 10px;border-bottom:1px solid var(--line);vertical-align:top}
th{font-size:12px;color:var(--muted);font-weight:600;text-transform:uppercase;letter-spacing:.03em}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.name{font-weight:600;overflow-wrap:break-word}
tr.sub td{border-bottom:none;padding-top:0;color:var(--muted);font-size:12.5px}
.share{display:inline-block;width:70px;height:8px;background:#e8ebf2;border-radius:4px;vertical-align:middle;margin-right:6px;overflow:hidden}
.share i{display:block;height:100%;background:#3b6fd8}
.chip{display:inline-block;padding:1px 7px;border-radius:10px;font-size:12px;margin:1px 4px 1px 0;background:#eef1f7;white-space:nowrap}
.dot{display:inline-block;width:9px;height:9px;border-radius:2px;margin-right:5px;vertical-align:baseline}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.badge.dup{background:var(--dup)}.badge.ser{background:var(--ser)}.badge.n1{background:var(--n1)}
a{color:#2f5fc4;text-decoration:none}a:hover{text-decoration:underline}
.legend{display:flex;gap:14px;flex-wrap:wrap;font-size:12.5px;color:var(--muted);margin-bottom:8px}
.trace{border-top:1px solid var(--line);padding:14px 0 6px}
.trace:first-of-type{border-top:none}
.trace-head{display:flex;justify-content:space-between;gap:12px;align-items:baseline;flex-wrap:wrap}
.trace-head code{color:var(--muted);font-size:12px}
.tfind{list-style:none;padding:0;margin:8px 0}
.tfind li{margin:3px 0;cursor:pointer;padding:3px 6px;border-radius:5px}
.tfind li:hover,.tfind li.on{background:#fff3e0}
.wf{margin-top:6px;font-size:12.5px}
.row{display:grid;grid-template-columns:minmax(220px,32%) 1fr;align-items:center;min-height:20px}
.row:hover{background:#f4f6fb}
.label{white-space:nowrap;overflow:hidden;text-overflow:ellipsis;padding-right:8px}
.label .k{color:var(--muted);font-size:11px;margin-left:4px}
.track{position:relative;height:16px;border-left:1px solid var(--line)}
.axis{position:relative;height:18px;color:var(--muted);font-size:11px}
.axis span{position:absolute;transform:translateX(-50%);white-space:nowrap}
.axis span:first-child{transform:none}
.axis span:last-child{transform:translateX(-100%)}
.bar{position:absolute;top:3px;height:10px;min-width:2px;border-radius:2px;background:#c5cbd8}
.bar.fn{background:#6b7488}
.bar.conn{background:transparent;border:1px dashed #a7afc0;height:10px}
.bar.ex{top:2px;height:12px}
.bar.f{outline:2px solid var(--n1);outline-offset:1px}
.bar.f.dup{outline-color:var(--dup)}.bar.f.ser{outline-color:var(--ser)}
.bar.dim{opacity:.25}
.bar.focus{outline-width:3px;opacity:1}
.more{color:var(--muted);font-size:12px;padding:4px 0}
.empty{color:var(--muted)}
`;

// Interactivity only: click a finding to spotlight its bars. No data is read from the page's text.
const SCRIPT = `
document.addEventListener('click',function(e){
  var li=e.target.closest&&e.target.closest('li[data-f]');
  if(!li)return;
  var trace=li.closest('.trace');
  var on=!li.classList.contains('on');
  trace.querySelectorAll('li.on').forEach(function(x){x.classList.remove('on')});
  trace.querySelectorAll('.bar').forEach(function(b){b.classList.remove('dim','focus')});
  if(!on)return;
  li.classList.add('on');
  var id=li.getAttribute('data-f');
  trace.querySelectorAll('.bar').forEach(function(b){
    var fs=(b.getAttribute('data-f')||'').split(' ');
    if(fs.indexOf(id)>=0)b.classList.add('focus');else b.classList.add('dim');
  });
});
`;

interface Row {
  span: TraceSpan;
  depth: number;
}

/** Spans of a trace in tree order (children by start time); spans whose parent is missing start trees. */
function treeOrder(spans: TraceSpan[]): Row[] {
  const ids = new Set(spans.map((s) => s.spanId));
  const children = new Map<string, TraceSpan[]>();
  const roots: TraceSpan[] = [];
  for (const s of spans) {
    if (s.parentSpanId === undefined || !ids.has(s.parentSpanId)) roots.push(s);
    else {
      const list = children.get(s.parentSpanId);
      if (list === undefined) children.set(s.parentSpanId, [s]);
      else list.push(s);
    }
  }
  const byStart = (a: TraceSpan, b: TraceSpan): number => a.startMs - b.startMs;
  const out: Row[] = [];
  const seen = new Set<string>();
  const stack: Row[] = roots
    .sort(byStart)
    .reverse()
    .map((span) => ({ span, depth: 0 }));
  while (stack.length > 0) {
    const row = stack.pop() as Row;
    if (seen.has(row.span.spanId)) continue; // duplicate ids or cycles in a damaged file
    seen.add(row.span.spanId);
    out.push(row);
    const kids = (children.get(row.span.spanId) ?? []).sort(byStart).reverse();
    for (const span of kids) stack.push({ span, depth: row.depth + 1 });
  }
  return out;
}

function shareCell(share: number): string {
  const w = Math.max(0, Math.min(100, share * 100));
  return `<span class="share"><i style="width:${w.toFixed(1)}%"></i></span>${esc(pct(share))}`;
}

function functionsTable(functions: FunctionReport[], maxRows: number): string {
  if (functions.length === 0) return '<p class="empty">No traced functions or entry spans in the input.</p>';
  const shown = functions.slice(0, maxRows);
  const rows = shown.map((f) => {
    const servers = f.byServer
      .map(
        (s) =>
          `<span class="chip"><span class="dot" style="background:${colourOf(s.protocol)}"></span>${esc(s.protocol)} ${esc(s.server)}: ${esc(perCall(s.exchanges, f.calls))} &times; &middot; ${esc(ms(s.timeMs / Math.max(1, f.calls)))}</span>`,
      )
      .join('');
    return (
      `<tr><td class="name">${esc(f.name)}${f.service ? ` <span class="chip">${esc(f.service)}</span>` : ''}</td>` +
      `<td class="num">${f.calls}</td><td class="num">${esc(perCall(f.exchanges, f.calls))}</td>` +
      `<td class="num">${esc(ms(f.networkTimeMs / Math.max(1, f.calls)))}</td>` +
      `<td class="num">${esc(ms(f.wallTimeMs / Math.max(1, f.calls)))}</td>` +
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

function findingsTable(summaries: FindingSummary[], drawn: Set<string>, maxRows: number): string {
  if (summaries.length === 0) return '<p class="empty">No findings above the thresholds.</p>';
  const shown = summaries.slice(0, maxRows);
  const rows = shown.map((s) => {
    const cls = TYPE_CLASS[s.type];
    const link = drawn.has(s.example.traceId)
      ? `<a href="#trace-${esc(token(s.example.traceId))}">example</a>`
      : '<span class="empty">not drawn</span>';
    return (
      `<tr class="finding"><td><span class="badge ${cls}">${esc(TYPE_LABELS[s.type])}</span></td>` +
      `<td class="name">${esc(s.function)}</td><td>${esc(s.operation)}</td><td>${esc(s.server)}</td>` +
      `<td class="num">${s.occurrences}</td><td class="num">${s.maxCount}</td>` +
      `<td class="num">${esc(ms(s.meanSavingsMs))}</td><td class="num">${esc(ms(s.maxSavingsMs))}</td>` +
      `<td class="num">${esc(ms(s.totalSavingsMs))}</td><td>${link}</td></tr>`
    );
  });
  const more =
    summaries.length > shown.length
      ? `<p class="more">${summaries.length - shown.length} more kinds of finding not shown (see --json).</p>`
      : '';
  return (
    '<table id="findings"><thead><tr><th>Type</th><th>Function</th><th>Operation</th><th>Server</th>' +
    '<th class="num">Traces</th><th class="num">Max calls</th><th class="num">Saves (mean)</th>' +
    '<th class="num">Saves (max)</th><th class="num">Saves (total)</th><th></th></tr></thead><tbody>' +
    rows.join('') +
    '</tbody></table>' +
    more
  );
}

function describeFinding(f: Finding): string {
  const what =
    f.type === 'duplicate'
      ? `the same request sent ${f.count} times`
      : f.type === 'n+1'
        ? `${f.count} calls one after another`
        : `${f.count} independent reads one after another`;
  return `${what}: ${f.operation} to ${f.server}, in ${f.function}; could save ~${ms(f.estimatedSavingsMs)}`;
}

/** First start and last end of a trace (a loop: spreading a huge array would overflow the stack). */
function bounds(spans: TraceSpan[]): [number, number] {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const s of spans) {
    if (s.startMs < t0) t0 = s.startMs;
    if (s.endMs > t1) t1 = s.endMs;
  }
  return [t0, t1];
}

function waterfall(traceId: string, spans: TraceSpan[], findings: Finding[], maxRows: number): string {
  const rows = treeOrder(spans);
  const [t0, t1] = bounds(spans);
  const total = Math.max(t1 - t0, 0.001);
  const findingsOf = new Map<string, number[]>();
  findings.forEach((f, i) => {
    for (const id of f.exchanges) findingsOf.set(id, [...(findingsOf.get(id) ?? []), i]);
  });
  const root = rows[0]?.span;
  const head =
    `<div class="trace-head"><h3>${esc(root?.name ?? traceId)}${root?.service ? ` <span class="chip">${esc(root.service)}</span>` : ''}</h3>` +
    `<span>${esc(ms(total))} &middot; ${spans.length} spans &middot; <code>${esc(traceId)}</code></span></div>`;
  const list =
    findings.length === 0
      ? ''
      : '<ul class="tfind">' +
        findings
          .map(
            (f, i) =>
              `<li data-f="f${i}"><span class="badge ${TYPE_CLASS[f.type]}">${esc(TYPE_LABELS[f.type])}</span> ${esc(describeFinding(f))}</li>`,
          )
          .join('') +
        '</ul>';
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((x) => `<span style="left:${x * 100}%">${esc(ms(total * x))}</span>`)
    .join('');
  const body = rows.slice(0, maxRows).map(({ span, depth }) => {
    const left = ((span.startMs - t0) / total) * 100;
    const width = ((span.endMs - span.startMs) / total) * 100;
    const protocol = protocolOf(span);
    const ex = isExchangeSpan(span);
    const fn = typeof span.attributes['sockscope.function'] === 'string';
    const conn = span.attributes['sockscope.kind'] === 'connection';
    const fs = findingsOf.get(span.spanId) ?? [];
    const classes = ['bar'];
    if (ex) classes.push('ex', `p-${token(protocol ?? 'other')}`);
    else if (fn) classes.push('fn');
    else if (conn) classes.push('conn');
    if (fs.length > 0) classes.push('f', TYPE_CLASS[findings[fs[0]].type]);
    const style =
      `left:${left.toFixed(3)}%;width:${width.toFixed(3)}%` + (ex ? `;background:${colourOf(protocol)}` : '');
    const server = span.attributes['server.address'];
    const tip = [
      span.name,
      ms(span.endMs - span.startMs),
      typeof server === 'string' ? `${server}:${String(span.attributes['server.port'] ?? '')}` : '',
      span.scope ?? '',
      span.status === 'error' ? 'error' : '',
      ...fs.map((i) => `finding: ${findings[i].type}`),
    ]
      .filter((x) => x !== '')
      .join(' \u00b7 ');
    const kind = ex ? 'exchange' : fn ? 'traced' : span.kind;
    return (
      `<div class="row"><div class="label" style="padding-left:${Math.min(depth, 20) * 14}px" title="${esc(span.name)}">` +
      `${esc(span.name)}<span class="k">${esc(kind)}</span></div><div class="track">` +
      `<div class="${classes.join(' ')}" style="${style}" title="${esc(tip)}" data-span="${esc(span.spanId)}"` +
      (fs.length > 0 ? ` data-f="${fs.map((i) => `f${i}`).join(' ')}"` : '') +
      '></div></div></div>'
    );
  });
  const more =
    rows.length > maxRows
      ? `<p class="more">${rows.length - maxRows} more spans in this trace not shown.</p>`
      : '';
  return (
    `<div class="trace" id="trace-${esc(token(traceId))}" data-trace="${esc(traceId)}">${head}${list}` +
    `<div class="wf"><div class="row"><div></div><div class="axis">${ticks}</div></div>${body.join('')}</div>${more}</div>`
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
        `<span><span class="dot" style="background:${colourOf(p === 'other' ? undefined : p)}"></span>${esc(p)}</span>`,
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
  const maxTraces = options.maxTraces ?? 20;
  const maxRows = options.maxSpansPerTrace ?? 250;
  const maxTableRows = options.maxTableRows ?? 200;
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
  const exchanges = analysis.roundTrips;
  const stats = [
    [String(analysis.traces.size), 'traces'],
    [String(report.functions.length), 'functions and entry spans'],
    [String(exchanges), 'network round trips'],
    [String(analysis.findings.length), 'findings'],
    [ms(totalSavings), 'estimated savings (all findings)'],
  ]
    .map(([v, l]) => `<div class="stat"><b>${esc(v)}</b><span>${esc(l)}</span></div>`)
    .join('');
  const tracesNote =
    analysis.traces.size > drawn.length
      ? `Showing ${drawn.length} of ${analysis.traces.size} traces: those holding the largest findings first, then the slowest.`
      : `All ${drawn.length} traces.`;
  const waterfalls = drawn.map((id) =>
    waterfall(id, analysis.traces.get(id) ?? [], findingsByTrace.get(id) ?? [], maxRows),
  );
  const scriptHash = createHash('sha256').update(SCRIPT).digest('base64');
  const generated = (options.generatedAt ?? new Date()).toISOString();
  const sources = options.sources?.length ? ` &middot; ${esc(options.sources.join(', '))}` : '';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${scriptHash}'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>sockscope report</title>
<style>${CSS}</style>
</head>
<body>
<header><h1>sockscope report</h1><div class="meta">Generated ${esc(generated)}${sources}</div></header>
<main>
<div class="stats">${stats}</div>
<section><h2>Functions and entry spans</h2>
<p class="note">Per traced function (<code>traced()</code>) or entry span; exchanges and times are per call (mean), by server and protocol below each row. Network time is the time with at least one round trip in flight (overlapping calls count once); an instrumented call and the socket exchange it covers count once. Inner traced functions are included in their callers.</p>
${functionsTable(report.functions, maxTableRows)}
</section>
<section><h2>Findings</h2>
<p class="note">Grouped over traces, largest total estimated savings first. Savings of different findings may overlap: do not add them up.</p>
${findingsTable(summaries, drawnSet, maxTableRows)}
</section>
<section><h2>Traces</h2>
<p class="note">${esc(tracesNote)} Click a finding to spotlight its bars.</p>
${legend(analysis, drawn)}
${waterfalls.join('\n') || '<p class="empty">No traces in the input.</p>'}
</section>
</main>
<script>${SCRIPT}</script>
</body>
</html>
`;
}
