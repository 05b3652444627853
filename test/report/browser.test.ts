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
import { reportFromSpans } from '../../src/analysis/report';
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
const dialogs: string[] = [];
const pageErrors: string[] = [];

before(async () => {
  if (skip) return;
  assert.ok(haveChromium, `${CHROMIUM} is required in CI (apt-get install -y chromium)`);
  const { report, analysis } = reportFromSpans(shopTraces().spans());
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

test('a screenshot of the page is saved as a test artifact', { skip }, async () => {
  const path = resolve(ARTIFACTS, 'report.png');
  await page.screenshot({ path, fullPage: true });
  assert.ok(existsSync(path));
});
