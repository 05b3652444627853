import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reportFromSpans, summarizeFindings } from '../../src/analysis/report';
import { TraceRecorder } from '../helpers/spans';

const PG = '@opentelemetry/instrumentation-pg';

function checkoutService(): TraceRecorder {
  const rec = new TraceRecorder('checkout');
  for (let n = 0; n < 2; n++) {
    const req = rec.request('POST /checkout', { start: 0, end: 100 });
    const fn = rec.fn('priceCart', req, { start: 10, end: 60 });
    // Two overlapping redis reads: 10 ms of network time, not 14.
    rec.exchange(fn, { protocol: 'redis', operation: 'MGET', server: 'cache:6379', start: 11, end: 18 });
    rec.exchange(fn, { protocol: 'redis', operation: 'GET', server: 'cache:6379', start: 14, end: 21 });
    // A pg query seen twice: instrumentation-pg's span and the exchange it covers.
    rec.upstream(fn, PG, 'pg.query:SELECT', { server: 'db:5432', start: 30, end: 50 });
    rec.exchange(fn, { protocol: 'postgresql', operation: 'SELECT', start: 31, end: 49 });
    // Outside the traced function, still in the request.
    rec.exchange(req, { protocol: 'http', operation: 'POST', server: 'payments:443', start: 70, end: 90 });
  }
  return rec;
}

test('each traced function and entry span is reported with its calls, exchanges and times', () => {
  const { report } = reportFromSpans(checkoutService().spans());
  const names = report.functions.map((f) => f.name);
  assert.deepEqual(names.sort(), ['POST /checkout', 'priceCart']);
  const price = report.functions.find((f) => f.name === 'priceCart');
  assert.ok(price);
  assert.equal(price.kind, 'function');
  assert.equal(price.service, 'checkout');
  assert.equal(price.calls, 2);
  assert.equal(price.exchanges, 6, 'three round trips per call: the covered pg query counts once');
  assert.equal(price.wallTimeMs, 100);
  // Per call: redis 11..21 (overlap counted once) + pg 31..49 = 10 + 18 ms.
  assert.equal(price.networkTimeMs, 56);
  assert.equal(price.networkShare, 0.56);
});

test('an entry span counts the network time of the traced functions inside it', () => {
  const { report } = reportFromSpans(checkoutService().spans());
  const req = report.functions.find((f) => f.name === 'POST /checkout');
  assert.ok(req);
  assert.equal(req.kind, 'entry');
  assert.equal(req.calls, 2);
  assert.equal(req.exchanges, 8);
  assert.equal(req.networkTimeMs, 2 * (10 + 18 + 20));
  assert.equal(req.wallTimeMs, 200);
});

test('network time is broken down by server and protocol, largest first', () => {
  const { report } = reportFromSpans(checkoutService().spans());
  const req = report.functions.find((f) => f.name === 'POST /checkout');
  assert.deepEqual(req?.byServer, [
    { server: 'payments:443', protocol: 'http', exchanges: 2, timeMs: 40 },
    { server: 'db:5432', protocol: 'postgresql', exchanges: 2, timeMs: 36 },
    { server: 'cache:6379', protocol: 'redis', exchanges: 4, timeMs: 20 },
  ]);
});

test('network time counts only what falls inside the function span', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /fire-and-forget', { start: 0, end: 10 });
  rec.exchange(req, { protocol: 'http', operation: 'POST', server: 'audit:80', start: 5, end: 25 });
  const { report } = reportFromSpans(rec.spans());
  assert.equal(report.functions[0].networkTimeMs, 5);
  assert.equal(report.functions[0].networkShare, 0.5);
});

test('the JSON report has the contract shape and findings sorted by savings', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /orders', { start: 0, end: 200 });
  const fn = rec.fn('listOrders', req, { start: 1, end: 190 });
  for (let i = 0; i < 6; i++) {
    rec.exchange(fn, {
      protocol: 'postgresql',
      operation: 'SELECT',
      hash: `q${i}`,
      start: 2 + i * 4,
      end: 5 + i * 4,
    });
  }
  rec.exchange(fn, {
    protocol: 'redis',
    operation: 'GET',
    server: 'cache:6379',
    hash: 'k',
    start: 40,
    end: 42,
  });
  rec.exchange(fn, {
    protocol: 'redis',
    operation: 'GET',
    server: 'cache:6379',
    hash: 'k',
    start: 100,
    end: 102,
  });
  const { report } = reportFromSpans(rec.spans());
  const json = JSON.parse(JSON.stringify(report));
  assert.deepEqual(Object.keys(json), ['functions', 'thresholds', 'hiddenFindings']);
  assert.deepEqual(json.thresholds, { minSavingsMs: 1, serialMaxGapMs: 10, nPlusOneMin: 5 });
  assert.equal(json.hiddenFindings, 0);
  const list = json.functions.find((f: { name: string }) => f.name === 'listOrders');
  for (const key of ['name', 'calls', 'exchanges', 'networkTimeMs', 'wallTimeMs', 'byServer', 'findings']) {
    assert.ok(key in list, `function has ${key}`);
  }
  assert.deepEqual(
    list.findings.map((f: { type: string }) => f.type),
    ['n+1', 'duplicate'],
  );
  for (const f of list.findings) {
    assert.ok(Array.isArray(f.exchanges) && f.exchanges.length >= 2);
    assert.equal(typeof f.estimatedSavingsMs, 'number');
    assert.equal(f.roundTripsSaved, f.exchanges.length - 1, 'one call per exchange: k calls, k-1 removed');
    assert.ok(!('projectedSavingsMs' in f), 'no projection without an RTT');
  }
});

test('findings of the same shape over many traces are summarised, largest total savings first', () => {
  const rec = new TraceRecorder();
  for (let n = 0; n < 3; n++) {
    const req = rec.request('GET /orders', { start: 0, end: 100 });
    for (let i = 0; i < 5; i++) {
      rec.exchange(req, { protocol: 'postgresql', operation: 'SELECT', start: i * 5, end: i * 5 + 2 + n });
    }
    const dup = { protocol: 'redis', operation: 'GET', server: 'cache:6379', hash: 'k' };
    rec.exchange(req, { ...dup, start: 50, end: 52 });
    rec.exchange(req, { ...dup, start: 60, end: 62 });
  }
  const { analysis } = reportFromSpans(rec.spans());
  const [nPlusOne, duplicate] = summarizeFindings(analysis.findings);
  assert.equal(nPlusOne.type, 'n+1');
  assert.equal(nPlusOne.occurrences, 3);
  assert.equal(nPlusOne.maxCount, 5);
  assert.equal(nPlusOne.maxSavingsMs, 16);
  assert.equal(nPlusOne.totalSavingsMs, 8 + 12 + 16);
  assert.equal(duplicate.type, 'duplicate');
  assert.equal(duplicate.occurrences, 3);
});

test('the total of round trips counts calls made inside traced functions at the top of a trace', () => {
  const rec = new TraceRecorder();
  const job = rec.fn('nightlyJob', undefined, { start: 0, end: 10 });
  rec.exchange(job, { protocol: 'redis', operation: 'GET', server: 'cache:6379', start: 1, end: 2 });
  const { analysis, report } = reportFromSpans(rec.spans());
  assert.equal(analysis.roundTrips, 1);
  assert.equal(report.functions[0].kind, 'function');
});
