import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { reportFromSpans } from '../../src/analysis/report';
import { renderHtml } from '../../src/report/html';
import { formatMs } from '../../src/render/format';
import { TraceRecorder } from '../helpers/spans';
import { HOSTILE_NAME, shopTraces } from './sample';

function page(rec = shopTraces(), options = {}): string {
  const { report, analysis } = reportFromSpans(rec.spans());
  return renderHtml(report, analysis, { generatedAt: new Date(0), ...options });
}

test('a span named like a script tag is written as escaped text, never as markup', () => {
  const html = page();
  assert.ok(!html.includes(HOSTILE_NAME), 'the raw name appears nowhere');
  assert.ok(html.includes('&lt;script&gt;alert(1)&lt;/script&gt;'));
  assert.equal(html.match(/<script/g)?.length, 1, 'only the page’s own script element');
});

test('attribute values from the trace cannot break out of their quotes', () => {
  const rec = new TraceRecorder('" onmouseover="x()');
  const req = rec.request('"><img src=x onerror=alert(2)>', { start: 0, end: 10 });
  rec.exchange(req, { protocol: 'redis', operation: "GET'", server: "a'b:1", start: 1, end: 2 });
  const html = page(rec);
  assert.ok(!html.includes('<img'));
  assert.ok(!html.includes('" onmouseover="'));
  assert.ok(!html.includes("GET'"));
});

test('bidi overrides and control characters from the trace are shown inert, not applied', () => {
  const rec = new TraceRecorder('svc\u202e');
  const req = rec.request('GET /\u202egnp.exe\u2066x\u2069', { start: 0, end: 10 });
  rec.exchange(req, {
    protocol: 'redis',
    operation: 'GET',
    server: '\u001b]0;t\u0007h\u200e:1',
    start: 1,
    end: 2,
  });
  const html = page(rec);
  assert.equal(
    // eslint-disable-next-line no-control-regex
    /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/.exec(html),
    null,
  );
  assert.ok(html.includes('GET /\ufffdgnp.exe\ufffdx\ufffd'), 'the rest of the name is still shown');
});

test('the page is self-contained and only its own script may run', () => {
  const html = page();
  assert.ok(!/\s(src|href)="(https?:)?\/\//i.test(html), 'no external resources');
  assert.ok(!/@import|url\(/i.test(html));
  const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
  const hash = createHash('sha256').update(script).digest('base64');
  assert.ok(html.includes(`script-src 'sha256-${hash}'`), 'the CSP allows exactly this script');
  assert.ok(html.includes("default-src 'none'"));
});

test('waterfalls are capped and the page says how many traces it shows', () => {
  const html = page(shopTraces(), { maxTraces: 2, maxSpansPerTrace: 5 });
  assert.equal(html.match(/<div class="trace" /g)?.length, 2);
  assert.ok(html.includes('Showing 2 of 5 traces'));
  assert.ok(/\d+ more spans in this trace not shown/.test(html));
});

test('the summary tables list every function and each kind of finding', () => {
  const html = page();
  for (const name of ['GET /orders/:id', 'OrderService.load', 'OrderService.loadFast']) {
    assert.ok(html.includes(`<td class="name">${name}`), name);
  }
  assert.equal(html.match(/<tr class="finding">/g)?.length, 4);
});

test('the findings section names the serial threshold and how many serial findings it left out', () => {
  const { report, analysis } = reportFromSpans(shopTraces().spans(), { minSavingsMs: 100 });
  const html = renderHtml(report, analysis, { generatedAt: new Date(0) });
  assert.ok(
    html.includes(
      'Every duplicate and n+1 is shown; serial calls saving under 100 ms are not (3 left out); --min-savings 0 shows them.',
    ),
  );
  assert.ok(!html.includes('<span class="badge ser">'), 'no serial finding is drawn');
  assert.equal(html.match(/<tr class="finding">/g)?.length, 3, 'the n+1 and both duplicates remain');
});

test('with an RTT, each finding in a trace says what it saves here and at that round trip', () => {
  const { report, analysis } = reportFromSpans(shopTraces().spans(), { rttMs: 1 });
  const html = renderHtml(report, analysis, { generatedAt: new Date(0) });
  const dup = analysis.findings.find((f) => f.type === 'duplicate' && f.function === 'OrderService.load');
  assert.ok(dup?.projectedSavingsMs !== undefined);
  assert.ok(
    html.includes(
      `1 round trip fewer, could save ~${formatMs(dup.estimatedSavingsMs)} here; ~${formatMs(dup.projectedSavingsMs)} at 1 ms RTT`,
    ),
  );
  assert.ok(html.includes('estimated savings at 1 ms RTT'));
});
