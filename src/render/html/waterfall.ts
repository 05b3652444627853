/**
 * A trace as a waterfall: one row per span in tree order, each a bar placed by its start and
 * length within the trace; exchange bars coloured by protocol, bars in a finding outlined.
 * Left and width are percentages of the trace's duration.
 */
import { isExchangeSpan } from '../../analysis/exchanges';
import type { Finding } from '../../analysis/findings';
import type { TraceSpan } from '../../analysis/model';
import {
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SOCKSCOPE_FUNCTION,
  ATTR_SOCKSCOPE_KIND,
  KIND_CONNECTION,
} from '../../spans/semconv';
import { displayServer } from '../../spans/server-key';
import { formatMs, formatSavings } from '../format';
import { cssToken, escapeHtml } from './escape';

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
export const OTHER_COLOUR = '#8f98a8';

export const TYPE_LABELS: Record<Finding['type'], string> = {
  duplicate: 'duplicate',
  serial: 'serial',
  'n+1': 'n+1',
};
export const TYPE_CLASS: Record<Finding['type'], string> = { duplicate: 'dup', serial: 'ser', 'n+1': 'n1' };

/** `network.protocol.name`, lower-case. */
export function protocolOf(span: TraceSpan): string | undefined {
  const p = span.attributes[ATTR_NETWORK_PROTOCOL_NAME];
  return typeof p === 'string' ? p.toLowerCase() : undefined;
}

export function colourOf(protocol: string | undefined): string {
  return (protocol !== undefined ? PROTOCOL_COLOURS[protocol] : undefined) ?? OTHER_COLOUR;
}

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

/** One sentence for a finding in a trace's list; with `rttMs`, its savings projected at it too. */
export function describeFinding(f: Finding, rttMs?: number): string {
  const what =
    f.type === 'duplicate'
      ? `the same request sent ${f.count} times`
      : f.type === 'n+1'
        ? `${f.count} calls one after another`
        : `${f.count} independent reads one after another`;
  const trips = `${f.roundTripsSaved} round trip${f.roundTripsSaved === 1 ? '' : 's'} fewer`;
  const saves = formatSavings(f.estimatedSavingsMs, f.projectedSavingsMs, rttMs);
  return `${what}: ${f.operation} to ${f.server}, in ${f.function}; ${trips}, could save ${saves}`;
}

/** First start and last end of a trace (a loop: spreading a huge array would overflow the stack). */
export function bounds(spans: TraceSpan[]): [number, number] {
  let t0 = Infinity;
  let t1 = -Infinity;
  for (const s of spans) {
    if (s.startMs < t0) t0 = s.startMs;
    if (s.endMs > t1) t1 = s.endMs;
  }
  return [t0, t1];
}

/** The waterfall of one trace, with its findings listed above it (savings projected at `rttMs` when given). */
export function waterfall(
  traceId: string,
  spans: TraceSpan[],
  findings: Finding[],
  maxRows: number,
  rttMs?: number,
): string {
  const rows = treeOrder(spans);
  const [t0, t1] = bounds(spans);
  const total = Math.max(t1 - t0, 0.001);
  const findingsOf = new Map<string, number[]>();
  findings.forEach((f, i) => {
    for (const id of f.exchanges) findingsOf.set(id, [...(findingsOf.get(id) ?? []), i]);
  });
  const root = rows[0]?.span;
  const head =
    `<div class="trace-head"><h3>${escapeHtml(root?.name ?? traceId)}${root?.service ? ` <span class="chip">${escapeHtml(root.service)}</span>` : ''}</h3>` +
    `<span>${escapeHtml(formatMs(total))} &middot; ${spans.length} spans &middot; <code>${escapeHtml(traceId)}</code></span></div>`;
  const list =
    findings.length === 0
      ? ''
      : '<ul class="tfind">' +
        findings
          .map(
            (f, i) =>
              `<li data-f="f${i}"><span class="badge ${TYPE_CLASS[f.type]}">${escapeHtml(TYPE_LABELS[f.type])}</span> ${escapeHtml(describeFinding(f, rttMs))}</li>`,
          )
          .join('') +
        '</ul>';
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map((x) => `<span style="left:${x * 100}%">${escapeHtml(formatMs(total * x))}</span>`)
    .join('');
  const body = rows.slice(0, maxRows).map(({ span, depth }) => {
    const left = ((span.startMs - t0) / total) * 100;
    const width = ((span.endMs - span.startMs) / total) * 100;
    const protocol = protocolOf(span);
    const ex = isExchangeSpan(span);
    const fn = typeof span.attributes[ATTR_SOCKSCOPE_FUNCTION] === 'string';
    const conn = span.attributes[ATTR_SOCKSCOPE_KIND] === KIND_CONNECTION;
    const fs = findingsOf.get(span.spanId) ?? [];
    const classes = ['bar'];
    if (ex) classes.push('ex', `p-${cssToken(protocol ?? 'other')}`);
    else if (fn) classes.push('fn');
    else if (conn) classes.push('conn');
    if (fs.length > 0) classes.push('f', TYPE_CLASS[findings[fs[0]].type]);
    const style =
      `left:${left.toFixed(3)}%;width:${width.toFixed(3)}%` + (ex ? `;background:${colourOf(protocol)}` : '');
    const server = span.attributes[ATTR_SERVER_ADDRESS];
    const tip = [
      span.name,
      formatMs(span.endMs - span.startMs),
      typeof server === 'string'
        ? displayServer(server, span.attributes[ATTR_SERVER_PORT] as string | number | undefined)
        : '',
      span.scope ?? '',
      span.status === 'error' ? 'error' : '',
      ...fs.map((i) => `finding: ${findings[i].type}`),
    ]
      .filter((x) => x !== '')
      .join(' \u00b7 ');
    const kind = ex ? 'exchange' : fn ? 'traced' : span.kind;
    return (
      `<div class="row"><div class="label" style="padding-left:${Math.min(depth, 20) * 14}px" title="${escapeHtml(span.name)}">` +
      `${escapeHtml(span.name)}<span class="k">${escapeHtml(kind)}</span></div><div class="track">` +
      `<div class="${classes.join(' ')}" style="${style}" title="${escapeHtml(tip)}" data-span="${escapeHtml(span.spanId)}"` +
      (fs.length > 0 ? ` data-f="${fs.map((i) => `f${i}`).join(' ')}"` : '') +
      '></div></div></div>'
    );
  });
  const more =
    rows.length > maxRows
      ? `<p class="more">${rows.length - maxRows} more spans in this trace not shown.</p>`
      : '';
  return (
    `<div class="trace" id="trace-${escapeHtml(cssToken(traceId))}" data-trace="${escapeHtml(traceId)}">${head}${list}` +
    `<div class="wf"><div class="row"><div></div><div class="axis">${ticks}</div></div>${body.join('')}</div>${more}</div>`
  );
}
