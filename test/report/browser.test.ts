/**
 * The HTML report in a real browser: headless Chromium (Debian's `chromium` package) driven by
 * playwright-core. Skipped with a message when Chromium is missing, except in CI (`CI=true`),
 * where a missing browser is a failure.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { reportFromSpans, summarizeFindings, type TraceAnalysis } from '../../src/analysis/report';
import { isExchangeSpan } from '../../src/analysis/exchanges';
import { renderHtml } from '../../src/report/html';
import { HOSTILE_NAME, shopTraces } from './sample';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve(__dirname, '../../test-artifacts');
const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const skip =
  !haveChromium && !inCi
    ? `${CHROMIUM} not found: install Debian's chromium package to run this test`
    : false;

let browser: Browser | undefined;
let page: Page;
let analysis: TraceAnalysis;
const dialogs: string[] = [];
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  assert.ok(haveChromium, `${CHROMIUM} is required in CI (apt-get install -y chromium)`);
  const result = reportFromSpans(shopTraces().spans());
  const report = result.report;
  analysis = result.analysis;
  mkdirSync(ARTIFACTS, { recursive: true });
  const file = resolve(ARTIFACTS, 'report.html');
  writeFileSync(file, renderHtml(report, analysis, { sources: ['shop-traces.jsonl'] }));
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  // Any request leaving the page would mean it is not self-contained.
  await page.route(/^(?!file:)/, (route) => route.abort());
  await page.goto(pathToFileURL(file).href);
});

after(async () => {
  await browser?.close();
});

test('the waterfall draws exchange bars coloured by protocol', { skip }, async () => {
  const traces = await page.locator('.trace').count();
  assert.equal(traces, 5);
  const exchangeBars = await page.locator('.bar.ex').count();
  assert.equal(exchangeBars, 38, 'every exchange of the five traces');
  const colours = await page
    .locator('.bar.ex')
    .evaluateAll((bars) => [
      ...new Set(bars.map((b) => (globalThis as any).getComputedStyle(b).backgroundColor)),
    ]);
  assert.ok(colours.length >= 3, `one colour per protocol: ${colours.join(', ')}`);
});

test('findings are listed and highlighted on the bars they concern', { skip }, async () => {
  assert.equal(await page.locator('#findings tr.finding').count(), 4);
  const types = await page.locator('#findings tr.finding .badge').allTextContents();
  assert.deepEqual(types, ['n+1', 'serial', 'duplicate', 'duplicate']);
  assert.ok((await page.locator('.bar.f').count()) > 0);
  // Clicking a finding spotlights its bars and dims the rest (the page's own script runs under its CSP).
  const first = page.locator('.trace').first();
  await first.locator('li[data-f="f0"]').click();
  const focused = await first.locator('.bar.focus').count();
  assert.equal(focused, 7, 'the seven calls of the n+1 finding');
  assert.ok((await first.locator('.bar.dim').count()) > 0);
});

test('a span named like a script tag shows as text and nothing from the trace runs', { skip }, async () => {
  const labels = await page.locator('.label').allTextContents();
  assert.ok(
    labels.some((l) => l.startsWith(HOSTILE_NAME)),
    'the name is visible as text',
  );
  assert.ok((await page.locator('td.name', { hasText: HOSTILE_NAME }).count()) > 0);
  assert.equal(await page.locator('script').count(), 1, 'only the page’s own script element');
  assert.deepEqual(dialogs, [], 'no alert() ran');
  assert.deepEqual(pageErrors, []);
});

test(
  'the findings table shows one row per kind of finding, as the analysis summarises them',
  { skip },
  async () => {
    const rows = await page
      .locator('#findings tr.finding')
      .evaluateAll((trs) =>
        trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent?.trim() ?? '')),
      );
    const expected = summarizeFindings(analysis.findings);
    assert.equal(rows.length, expected.length);
    rows.forEach((cells, i) => {
      const e = expected[i];
      assert.deepEqual(cells.slice(0, 6), [
        e.type,
        e.function,
        e.operation,
        e.server,
        String(e.occurrences),
        String(e.maxCount),
      ]);
    });
    assert.deepEqual(rows[0].slice(0, 4), [
      'n+1',
      'OrderService.load',
      'postgresql SELECT',
      'orders-db:5432',
    ]);
  },
);

test(
  'each exchange bar sits in its track where its start falls in the trace, as wide as it lasts',
  { skip },
  async () => {
    const trace = page.locator('.trace').first();
    const traceId = (await trace.getAttribute('data-trace')) ?? '';
    const spans = analysis.traces.get(traceId) ?? [];
    const t0 = Math.min(...spans.map((x) => x.startMs));
    const total = Math.max(...spans.map((x) => x.endMs)) - t0;
    const exchanges = spans.filter(isExchangeSpan);
    assert.ok(exchanges.length > 5);
    for (const ex of exchanges) {
      const box = await trace.locator(`.bar[data-span="${ex.spanId}"]`).evaluate((bar) => {
        const b = bar.getBoundingClientRect();
        const t = (bar.parentElement as typeof bar).getBoundingClientRect();
        return { left: b.left - t.left, width: b.width, track: t.width };
      });
      const left = ((ex.startMs - t0) / total) * box.track;
      const width = ((ex.endMs - ex.startMs) / total) * box.track;
      assert.ok(Math.abs(box.left - left) <= 1, `${ex.name} starts at ${box.left}px, expected ${left}px`);
      // Very short bars may be drawn with a minimum width.
      assert.ok(box.width >= width - 1, `${ex.name} is ${box.width}px wide, expected at least ${width}px`);
    }
    // The n+1 loop: bars one after another, left to right.
    const n1 = await trace
      .locator('.bar.f.n1')
      .evaluateAll((bars) => bars.map((b) => b.getBoundingClientRect().left));
    assert.ok(n1.length >= 6);
    assert.deepEqual(
      [...n1].sort((a, b) => a - b),
      n1,
    );
  },
);

test('a screenshot of the page is saved as a test artifact', { skip }, async () => {
  const path = resolve(ARTIFACTS, 'report.png');
  await page.screenshot({ path, fullPage: true });
  assert.ok(existsSync(path));
});
