import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { reportFromSpans } from '../../src/analysis/report';
import { reset, spans } from '../helpers/otel';
import { requireService } from '../helpers/services';
import { toTraceSpan } from '../helpers/spans';
import { Pool } from 'pg';
import Redis from 'ioredis';
import { seed, startService, BOOKS, type Backends, type Variant } from '../../examples/n-plus-one/service';

const REQUESTS = 5;

async function measure(variant: Variant, backends: Backends) {
  const service = await startService(variant, backends);
  try {
    await (await fetch(service.url)).json(); // warm up connections and plans
    reset();
    const times: number[] = [];
    for (let i = 0; i < REQUESTS; i++) {
      const t0 = performance.now();
      const body = (await (await fetch(service.url)).json()) as { titles: string[] };
      times.push(performance.now() - t0);
      assert.equal(body.titles.length, BOOKS);
    }
    // The default thresholds: the sub-millisecond duplicate Redis read is listed without lowering them.
    const { report } = reportFromSpans(spans().map(toTraceSpan));
    const page = report.functions.find((f) => f.name === 'authorPage');
    assert.ok(page, 'the traced function is a unit of the report');
    assert.equal(page.calls, REQUESTS);
    times.sort((a, b) => a - b);
    return { page, medianMs: times[Math.floor(times.length / 2)] };
  } finally {
    await service.close();
  }
}

test('the report finds the N+1, the duplicate read and the serial lookups in the slow page, none in the fixed one, and fixing them saves about what it estimated', async (t) => {
  if (!(await requireService(t, 'PostgreSQL', '127.0.0.1', 5432))) return;
  if (!(await requireService(t, 'Redis', '127.0.0.1', 6379))) return;
  const backends: Backends = {
    pool: new Pool({ host: '127.0.0.1', user: 'postgres', database: 'test', max: 8 }),
    redis: new Redis({ host: '127.0.0.1', port: 6379 }),
  };
  after(async () => {
    await backends.pool.end();
    backends.redis.disconnect();
  });
  await seed(backends);

  const slow = await measure('slow', backends);
  const types = new Set(slow.page.findings.map((f) => f.type));
  assert.deepEqual([...types].sort(), ['duplicate', 'n+1', 'serial']);
  const nPlusOne = slow.page.findings.find((f) => f.type === 'n+1')!;
  assert.equal(nPlusOne.operation, 'postgresql SELECT');
  assert.ok(nPlusOne.count >= BOOKS, `n+1 repeats ${nPlusOne.count} times`);
  const duplicate = slow.page.findings.find((f) => f.type === 'duplicate')!;
  assert.match(JSON.stringify(duplicate), /redis/);

  const fixed = await measure('fixed', backends);
  assert.deepEqual(fixed.page.findings, []);

  // Estimated savings per call against what the fix actually saved (loose: wall time on a shared
  // machine is noisy, and under load each of the slow page's sequential awaits also waits for the
  // event loop; the point is that the estimate is of the right size, not a benchmark).
  const estimated = slow.page.findings.reduce((sum, f) => sum + f.estimatedSavingsMs, 0) / REQUESTS;
  const saved = slow.medianMs - fixed.medianMs;
  assert.ok(saved > 0, `the fixed page is faster (${slow.medianMs} ms vs ${fixed.medianMs} ms)`);
  assert.ok(
    saved > estimated * 0.3 && saved < estimated * 4,
    `saved ${saved.toFixed(1)} ms per request, estimated ${estimated.toFixed(1)} ms`,
  );
});
