import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_THRESHOLDS,
  analyzeTraces,
  detectFindings,
  resolveThresholds,
  type Finding,
} from '../../src/analysis/findings';
import { TraceRecorder } from '../helpers/spans';

const PG = '@opentelemetry/instrumentation-pg';
const IOREDIS = '@opentelemetry/instrumentation-ioredis';
const id = TraceRecorder.id;

function only(findings: Finding[], type: Finding['type']): Finding[] {
  return findings.filter((f) => f.type === type);
}

test('a loop of sequential SELECTs under one function is reported as n+1 with the savings of batching', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /orders', { start: 0, end: 100 });
  const fn = rec.fn('listOrders', req, { start: 1, end: 95 });
  const first = rec.exchange(fn, {
    protocol: 'postgresql',
    operation: 'SELECT',
    hash: 'orders',
    start: 2,
    end: 5,
  });
  const loop = [];
  for (let i = 0; i < 6; i++) {
    const start = 6 + i * 3;
    loop.push(
      rec.exchange(fn, {
        protocol: 'postgresql',
        operation: 'SELECT',
        hash: `item${i}`,
        start,
        end: start + 2,
      }),
    );
  }
  const findings = detectFindings(rec.spans());
  const nPlusOne = only(findings, 'n+1');
  assert.equal(nPlusOne.length, 1);
  assert.equal(nPlusOne[0].function, 'listOrders');
  assert.equal(nPlusOne[0].operation, 'postgresql SELECT');
  assert.equal(nPlusOne[0].server, 'db:5432');
  assert.equal(nPlusOne[0].count, 7);
  assert.deepEqual(nPlusOne[0].exchanges, [first, ...loop].map(id));
  // 3 + 6 x 2 ms in sequence; one batched query would take about the longest of them.
  assert.equal(nPlusOne[0].estimatedSavingsMs, 12);
  assert.equal(only(findings, 'serial').length, 0, 'the n+1 calls are not reported again as serial');
});

test('a loop shorter than the n+1 threshold is not n+1, and the threshold can be lowered', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /cart', { start: 0, end: 50 });
  for (let i = 0; i < 3; i++) {
    rec.exchange(req, {
      protocol: 'redis',
      operation: 'HGETALL',
      server: 'cache:6379',
      start: i * 5,
      end: i * 5 + 4,
    });
  }
  assert.equal(only(detectFindings(rec.spans()), 'n+1').length, 0);
  const lowered = only(detectFindings(rec.spans(), { nPlusOneMin: 3 }), 'n+1');
  assert.equal(lowered.length, 1);
  assert.equal(lowered[0].count, 3);
});

test('concurrent repeats of one operation are not n+1', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /batch', { start: 0, end: 50 });
  for (let i = 0; i < 8; i++) {
    rec.exchange(req, { protocol: 'postgresql', operation: 'SELECT', start: 1 + i * 0.1, end: 10 + i * 0.1 });
  }
  assert.deepEqual(detectFindings(rec.spans()), []);
});

test('a loop over a traced helper that makes one call each is n+1 of the caller', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /feed', { start: 0, end: 100 });
  for (let i = 0; i < 5; i++) {
    const helper = rec.fn('getAuthor', req, { start: i * 10, end: i * 10 + 8 });
    rec.exchange(helper, { protocol: 'postgresql', operation: 'SELECT', start: i * 10 + 1, end: i * 10 + 7 });
  }
  const [finding] = detectFindings(rec.spans());
  assert.equal(finding.type, 'n+1');
  assert.equal(finding.function, 'GET /feed');
  assert.equal(finding.count, 5);
});

test('an instrumented call and the exchange it covers count as one call', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /users', { start: 0, end: 100 });
  const exchanges = [];
  for (let i = 0; i < 5; i++) {
    const s = i * 10;
    // ioredis makes its span the exchange's parent; pg's span is the exchange's sibling.
    const get = rec.upstream(req, IOREDIS, 'get', { server: 'cache:6379', start: s, end: s + 4 });
    exchanges.push(
      rec.exchange(get, {
        protocol: 'redis',
        operation: 'GET',
        server: 'cache:6379',
        start: s + 1,
        end: s + 3,
      }),
    );
    rec.upstream(req, PG, 'pg.query:SELECT', { server: 'db:5432', start: s + 5, end: s + 9 });
    rec.exchange(req, { protocol: 'postgresql', operation: 'SELECT', start: s + 6, end: s + 8 });
  }
  const analysis = analyzeTraces(rec.spans());
  const unit = analysis.units.find((u) => u.name === 'GET /users');
  assert.ok(unit);
  assert.equal(unit.calls.length, 10, 'ten calls, not twenty');
  const redis = analysis.findings.find((f) => f.type === 'n+1' && f.protocol === 'redis');
  assert.ok(redis);
  assert.equal(redis.count, 5);
  assert.deepEqual(redis.exchanges, exchanges.map(id), 'findings name the exchange spans');
  // Timed by the exchanges (one clock): 5 x 2 ms, minus the one that would remain.
  assert.equal(redis.estimatedSavingsMs, 8);
});

test('upstream client spans alone (no exchange spans recorded) are still calls', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /report', { start: 0, end: 100 });
  for (let i = 0; i < 5; i++) {
    rec.upstream(req, PG, 'pg.query:SELECT', {
      server: 'db:5432',
      start: i * 4,
      end: i * 4 + 3,
      attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' },
    });
  }
  const [finding] = detectFindings(rec.spans());
  assert.equal(finding.type, 'n+1');
  assert.equal(finding.operation, 'postgresql SELECT');
});

test('the same read sent twice to one server is a duplicate worth the repeat', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /profile', { start: 0, end: 60 });
  const a = rec.exchange(req, {
    protocol: 'redis',
    operation: 'GET',
    server: 'cache:6379',
    hash: 'k1',
    start: 1,
    end: 3,
  });
  rec.exchange(req, { protocol: 'postgresql', operation: 'SELECT', hash: 'q', start: 40, end: 50 });
  const b = rec.exchange(req, {
    protocol: 'redis',
    operation: 'GET',
    server: 'cache:6379',
    hash: 'k1',
    start: 30,
    end: 34,
  });
  const [dup] = only(detectFindings(rec.spans()), 'duplicate');
  assert.equal(dup.function, 'GET /profile');
  assert.equal(dup.server, 'cache:6379');
  assert.equal(dup.operation, 'redis GET');
  assert.equal(dup.count, 2);
  assert.deepEqual(dup.exchanges, [id(a), id(b)]);
  assert.equal(dup.estimatedSavingsMs, 4);
});

test('a read repeated after a write to the same server, or after an error, is not a duplicate', () => {
  const rec = new TraceRecorder();
  const req = rec.request('POST /profile', { start: 0, end: 60 });
  const cache = { protocol: 'redis', server: 'cache:6379' };
  rec.exchange(req, { ...cache, operation: 'GET', hash: 'k1', start: 1, end: 3 });
  rec.exchange(req, { ...cache, operation: 'SET', hash: 'w', start: 4, end: 6 });
  rec.exchange(req, { ...cache, operation: 'GET', hash: 'k1', start: 7, end: 9 });
  rec.exchange(req, { ...cache, operation: 'GET', hash: 'k2', start: 20, end: 22, error: true });
  rec.exchange(req, { ...cache, operation: 'GET', hash: 'k2', start: 23, end: 25 });
  assert.deepEqual(only(detectFindings(rec.spans()), 'duplicate'), []);
});

test('the same request bytes in two different traces are not a duplicate', () => {
  const rec = new TraceRecorder();
  for (const name of ['GET /a', 'GET /b']) {
    const req = rec.request(name, { start: 0, end: 10 });
    rec.exchange(req, {
      protocol: 'redis',
      operation: 'GET',
      server: 'cache:6379',
      hash: 'same',
      start: 1,
      end: 5,
    });
  }
  assert.deepEqual(detectFindings(rec.spans()), []);
});

test('a duplicate across two traced functions is reported once, at the function that holds both', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /dashboard', { start: 0, end: 100 });
  const left = rec.fn('loadHeader', req, { start: 1, end: 20 });
  rec.exchange(left, {
    protocol: 'redis',
    operation: 'GET',
    server: 'cache:6379',
    hash: 'user:1',
    start: 2,
    end: 6,
  });
  rec.exchange(left, {
    protocol: 'redis',
    operation: 'GET',
    server: 'cache:6379',
    hash: 'user:1',
    start: 7,
    end: 9,
  });
  const right = rec.fn('loadSidebar', req, { start: 30, end: 50 });
  rec.exchange(right, {
    protocol: 'redis',
    operation: 'GET',
    server: 'cache:6379',
    hash: 'user:1',
    start: 31,
    end: 35,
  });
  const dups = only(detectFindings(rec.spans()), 'duplicate');
  assert.equal(dups.length, 1);
  assert.equal(dups[0].function, 'GET /dashboard');
  assert.equal(dups[0].count, 3);
  assert.equal(dups[0].estimatedSavingsMs, 6);
});

test('independent reads made one after another are serial, with savings of running them together', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /home', { start: 0, end: 60 });
  const fn = rec.fn('loadHome', req, { start: 1, end: 50 });
  const user = rec.exchange(fn, { protocol: 'postgresql', operation: 'SELECT', start: 2, end: 12 });
  const prefs = rec.exchange(fn, {
    protocol: 'redis',
    operation: 'GET',
    server: 'cache:6379',
    start: 12.5,
    end: 17,
  });
  const [serial] = detectFindings(rec.spans());
  assert.equal(serial.type, 'serial');
  assert.equal(serial.function, 'loadHome');
  assert.equal(serial.count, 2);
  assert.equal(serial.server, 'db:5432, cache:6379');
  assert.equal(serial.operation, 'postgresql SELECT, redis GET');
  assert.deepEqual(serial.exchanges, [id(user), id(prefs)]);
  assert.equal(serial.estimatedSavingsMs, 4.5);
});

test('reads that already overlap, or that are far apart, are not serial', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /parallel', { start: 0, end: 200 });
  rec.exchange(req, { protocol: 'postgresql', operation: 'SELECT', start: 2, end: 12 });
  rec.exchange(req, { protocol: 'redis', operation: 'GET', server: 'cache:6379', start: 5, end: 15 });
  rec.exchange(req, { protocol: 'redis', operation: 'GET', server: 'cache:6379', start: 100, end: 110 });
  assert.deepEqual(detectFindings(rec.spans()), []);
  // With a longer gap tolerance, the third read could have joined the first two.
  const [serial] = detectFindings(rec.spans(), { serialMaxGapMs: 100 });
  assert.equal(serial.type, 'serial');
  assert.equal(serial.count, 3);
  // Stages of 13 ms (the overlapping pair) and 10 ms; together they would take the longest, 10 ms.
  assert.equal(serial.estimatedSavingsMs, 13);
});

test('writes and transaction statements on one connection are never serial', () => {
  const rec = new TraceRecorder();
  const req = rec.request('POST /orders', { start: 0, end: 100 });
  const conn = rec.connection(req, 'db:5432', { start: 0, end: 100 });
  const q = (operation: string, start: number): void => {
    rec.exchange(req, { protocol: 'postgresql', operation, connection: conn, start, end: start + 4 });
  };
  q('BEGIN', 1);
  q('SELECT', 5);
  q('SELECT', 9);
  q('COMMIT', 13);
  q('INSERT', 20);
  q('UPDATE', 24);
  assert.deepEqual(detectFindings(rec.spans()), []);
});

test('a pooled connection opening mid-request does not hide or create a serial finding', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /x', { start: 0, end: 100 });
  rec.exchange(req, { protocol: 'tls', operation: 'handshake', start: 1, end: 5 });
  rec.exchange(req, { protocol: 'redis', operation: 'AUTH', server: 'cache:6379', start: 5, end: 7 });
  rec.exchange(req, { protocol: 'redis', operation: 'GET', server: 'cache:6379', start: 7, end: 10 });
  rec.exchange(req, { protocol: 'postgresql', operation: 'SELECT', start: 10, end: 15 });
  const findings = detectFindings(rec.spans());
  assert.equal(findings.length, 1);
  assert.equal(findings[0].type, 'serial');
  assert.equal(findings[0].operation, 'redis GET, postgresql SELECT');
});

test('serial findings saving less than the minimum are left out and counted; the minimum can be changed', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /small', { start: 0, end: 10 });
  rec.exchange(req, { protocol: 'redis', operation: 'GET', server: 'cache:6379', start: 1, end: 1.4 });
  rec.exchange(req, { protocol: 'redis', operation: 'GET', server: 'cache:6379', start: 1.5, end: 1.9 });
  const analysis = analyzeTraces(rec.spans());
  assert.deepEqual(analysis.findings, []);
  assert.equal(analysis.hiddenFindings, 1);
  assert.deepEqual(
    [...analysis.hiddenByUnit].map(([u, n]) => [u.name, n]),
    [['GET /small', 1]],
  );
  assert.equal(analysis.thresholds.minSavingsMs, 1);
  const [f] = detectFindings(rec.spans(), { minSavingsMs: 0.1 });
  assert.equal(f.type, 'serial');
  assert.equal(f.estimatedSavingsMs, 0.4);
  assert.equal(detectFindings(rec.spans(), { minSavingsMs: 0 }).length, 1);
  assert.equal(analyzeTraces(rec.spans(), { minSavingsMs: 0 }).hiddenFindings, 0);
});

test('a duplicate and an n+1 loop are findings however little they save, whatever the minimum', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /tiny', { start: 0, end: 10 });
  const dup = { protocol: 'redis', operation: 'GET', server: 'cache:6379', hash: 'k' };
  rec.exchange(req, { ...dup, start: 0.1, end: 0.2 });
  rec.exchange(req, { ...dup, start: 0.3, end: 0.4 });
  for (let i = 0; i < 5; i++) {
    rec.exchange(req, {
      protocol: 'redis',
      operation: 'HGETALL',
      server: 'cache:6379',
      start: 1 + i * 0.2,
      end: 1.1 + i * 0.2,
    });
  }
  for (const minSavingsMs of [1, 1000]) {
    const findings = detectFindings(rec.spans(), { minSavingsMs });
    assert.deepEqual(
      findings.map((f) => [f.type, f.count]),
      [
        ['n+1', 5],
        ['duplicate', 2],
      ],
      `largest savings first at minSavingsMs ${minSavingsMs}`,
    );
  }
});

test('each finding counts the round trips its fix removes: k-1 for a duplicate or an n+1, one per stage after the first for serial', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /trips', { start: 0, end: 200 });
  const dup = { protocol: 'redis', operation: 'GET', server: 'cache:6379', hash: 'k' };
  for (let i = 0; i < 3; i++) rec.exchange(req, { ...dup, start: 1 + i * 3, end: 3 + i * 3 });
  // A serial run of three stages, the middle one two reads already running together.
  const fn = rec.fn('lookups', req, { start: 20, end: 60 });
  rec.exchange(fn, {
    protocol: 'redis',
    operation: 'HGETALL',
    server: 'cache:6379',
    hash: 'a',
    start: 21,
    end: 25,
  });
  rec.exchange(fn, { protocol: 'postgresql', operation: 'SELECT', hash: 'b', start: 25.5, end: 30 });
  rec.exchange(fn, { protocol: 'http', operation: 'GET', server: 'api:80', hash: 'c', start: 25.6, end: 31 });
  rec.exchange(fn, {
    protocol: 'redis',
    operation: 'SMEMBERS',
    server: 'cache:6379',
    hash: 'd',
    start: 31.5,
    end: 35,
  });
  const findings = detectFindings(rec.spans());
  const byType = new Map(findings.map((f) => [f.type, f]));
  assert.equal(byType.get('duplicate')?.roundTripsSaved, 2, '3 identical reads: 2 removed');
  const serial = byType.get('serial');
  assert.equal(serial?.count, 4);
  assert.equal(serial?.roundTripsSaved, 2, '3 stages run at once: 2 round trips fewer');
  // (4 + 5.5 + 3.5) minus the longest call (5.4).
  assert.equal(serial?.estimatedSavingsMs, 7.6);
  for (const f of findings) assert.ok(!('projectedSavingsMs' in f), 'no projection without rttMs');
});

test('an n+1 of calls each made of two exchanges removes two round trips per call batched away', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /items', { start: 0, end: 100 });
  for (let i = 0; i < 5; i++) {
    const s = 1 + i * 6;
    const q = rec.upstream(req, PG, 'pg.query:SELECT', {
      server: 'db:5432',
      start: s,
      end: s + 5,
      attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'SELECT' },
    });
    rec.exchange(q, { protocol: 'postgresql', operation: 'SELECT', start: s + 0.5, end: s + 2 });
    rec.exchange(q, { protocol: 'postgresql', operation: 'SELECT', start: s + 2.5, end: s + 4 });
  }
  const [f] = detectFindings(rec.spans());
  assert.equal(f.type, 'n+1');
  assert.equal(f.count, 5);
  assert.equal(f.exchanges.length, 10);
  assert.equal(f.roundTripsSaved, 8, '10 round trips, of which one batched call (2) remains');
});

test('with rttMs, each finding carries its savings projected at that round trip, and findings rank by them', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /rank', { start: 0, end: 100 });
  // Five identical reads of 0.2 ms: 0.8 ms here, four round trips fewer.
  const dup = { protocol: 'redis', operation: 'GET', server: 'cache:6379', hash: 'k' };
  for (let i = 0; i < 5; i++) rec.exchange(req, { ...dup, start: 1 + i * 0.3, end: 1.2 + i * 0.3 });
  // Two independent reads of 2 and 3 ms: 2 ms here, one round trip fewer.
  rec.exchange(req, {
    protocol: 'redis',
    operation: 'HGETALL',
    server: 'cache:6379',
    hash: 'a',
    start: 10,
    end: 12,
  });
  rec.exchange(req, { protocol: 'postgresql', operation: 'SELECT', hash: 'b', start: 12.5, end: 15.5 });
  assert.deepEqual(
    detectFindings(rec.spans()).map((f) => f.type),
    ['serial', 'duplicate'],
  );
  const projected = detectFindings(rec.spans(), { rttMs: 1 });
  assert.deepEqual(
    projected.map((f) => [f.type, f.estimatedSavingsMs, f.roundTripsSaved, f.projectedSavingsMs]),
    [
      ['duplicate', 0.8, 4, 4.8],
      ['serial', 2, 1, 3],
    ],
  );
  const analysis = analyzeTraces(rec.spans(), { rttMs: 0.25 });
  assert.equal(analysis.rttMs, 0.25);
  assert.deepEqual(
    analysis.findings.map((f) => f.projectedSavingsMs),
    [2.25, 1.8],
  );
});

test('rttMs that is not a positive number of milliseconds is refused, naming the value', () => {
  const spans = new TraceRecorder().spans();
  for (const bad of [0, -1, Number.NaN, Infinity, '2' as unknown as number]) {
    assert.throws(
      () => analyzeTraces(spans, { rttMs: bad }),
      (e: Error) => e instanceof RangeError && e.message.includes(`got ${String(bad)}`),
    );
  }
});

test('the thresholds have documented defaults and reject nonsense', () => {
  assert.deepEqual({ ...DEFAULT_THRESHOLDS }, { minSavingsMs: 1, serialMaxGapMs: 10, nPlusOneMin: 5 });
  assert.ok(Object.isFrozen(DEFAULT_THRESHOLDS));
  assert.deepEqual(resolveThresholds({ nPlusOneMin: 3 }), {
    minSavingsMs: 1,
    serialMaxGapMs: 10,
    nPlusOneMin: 3,
  });
  assert.throws(() => resolveThresholds({ nPlusOneMin: 1 }), RangeError);
  assert.throws(() => resolveThresholds({ minSavingsMs: -1 }), RangeError);
  assert.throws(() => resolveThresholds({ serialMaxGapMs: Number.NaN }), RangeError);
});

test('calls with no parent span are grouped in one unit and never make findings across traces', () => {
  const rec = new TraceRecorder();
  for (let i = 0; i < 6; i++) {
    rec.exchange(undefined, {
      protocol: 'redis',
      operation: 'PING',
      server: 'cache:6379',
      start: i,
      end: i + 0.5,
    });
  }
  const analysis = analyzeTraces(rec.spans());
  assert.deepEqual(analysis.findings, []);
  assert.deepEqual(new Set(analysis.units.map((u) => u.name)), new Set(['(no parent span)']));
  assert.equal(analysis.units.length, 6);
});

test('repeats of a duplicate are reported only as the duplicate, not again as n+1 or serial', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /loop', { start: 0, end: 100 });
  for (let i = 0; i < 6; i++) {
    rec.exchange(req, {
      protocol: 'redis',
      operation: 'GET',
      server: 'cache:6379',
      hash: 'same',
      start: i * 3,
      end: i * 3 + 2,
    });
  }
  const findings = detectFindings(rec.spans());
  assert.deepEqual(
    findings.map((f) => [f.type, f.count, f.estimatedSavingsMs]),
    [['duplicate', 6, 10]],
  );
});

test('with statement shapes known, n+1 counts only the statement repeated in the loop', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /orders/:id', { start: 0, end: 100 });
  const sql = { protocol: 'postgresql', operation: 'SELECT' };
  rec.exchange(req, { ...sql, statement: 'order-by-id', hash: 'o', start: 1, end: 4 });
  for (let i = 0; i < 5; i++) {
    rec.exchange(req, { ...sql, statement: 'item-by-id', hash: `i${i}`, start: 5 + i * 3, end: 7 + i * 3 });
  }
  const [nPlusOne] = only(detectFindings(rec.spans()), 'n+1');
  assert.equal(nPlusOne.count, 5);
  assert.equal(nPlusOne.estimatedSavingsMs, 8);
});

test('upstream spans on a clock a millisecond off the exchanges do not hide an n+1 loop', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /page', { start: 0, end: 100 });
  for (let i = 0; i < 6; i++) {
    const s = 2 + i * 4;
    // The SDK's clock truncated to whole ms and ahead of sockscope's: upstream spans overlap each other.
    rec.upstream(req, PG, 'pg.query:SELECT shop', {
      server: 'db:5432',
      start: Math.floor(s),
      end: s + 4.5,
      attributes: { 'db.system.name': 'postgresql' },
    });
    rec.exchange(req, {
      protocol: 'postgresql',
      operation: 'SELECT',
      statement: 'same',
      start: s + 0.3,
      end: s + 3.5,
    });
  }
  const [finding] = detectFindings(rec.spans());
  assert.equal(finding.type, 'n+1');
  assert.equal(finding.count, 6);
});

test('a database span without an operation attribute is named from its span name', () => {
  const rec = new TraceRecorder();
  const req = rec.request('GET /page', { start: 0, end: 100 });
  for (let i = 0; i < 5; i++) {
    rec.upstream(req, PG, 'pg.query:SELECT shop', {
      server: 'db:5432',
      start: i * 3,
      end: i * 3 + 2,
      attributes: { 'db.system.name': 'postgresql' },
    });
  }
  const [finding] = detectFindings(rec.spans());
  assert.equal(finding.operation, 'postgresql SELECT');
});
