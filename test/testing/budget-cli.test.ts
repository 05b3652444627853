/** `sockscope budget check` on a trace file written by a real run under an SDK. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import Redis from 'ioredis';
import { JsonlFileSpanExporter } from '../../src/export/jsonl-file-exporter';
import { SocketInstrumentation } from '../../src/tap/instrumentation';
import { traced } from '../../src/traced';
import { formatBudgetFile } from '../../src/testing/budget-file';
import { cli, lines } from '../cli/helpers';
import { portOpen } from '../helpers/services';

const dir = mkdtempSync(path.join(tmpdir(), 'sockscope-budget-cli-'));
const traces = path.join(dir, 'traces.jsonl');
let redisUp = false;

function budget(file: string, gets: number): string {
  const p = path.join(dir, file);
  writeFileSync(
    p,
    formatBudgetFile({
      version: 1,
      budgets: { cartPage: { '127.0.0.1:6379': { 'redis GET': gets, 'redis SET': 1 } } },
    }),
  );
  return p;
}

before(async () => {
  redisUp = await portOpen('127.0.0.1', 6379);
  if (!redisUp) return;
  const provider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: new JsonlFileSpanExporter({ path: traces }) })],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  const sockscope = new SocketInstrumentation();
  sockscope.setTracerProvider(provider);
  const redis = new Redis({ host: '127.0.0.1', port: 6379 });
  const cartPage = traced('cartPage', async (duplicate: boolean) => {
    await redis.get('sockscope:test:cart');
    if (duplicate) await redis.get('sockscope:test:cart');
    await redis.set('sockscope:test:cart', 'x');
  });
  await cartPage(false);
  await cartPage(true);
  await cartPage(false);
  redis.disconnect();
  await provider.forceFlush();
  sockscope.disable();
  await provider.shutdown();
});
after(() => rmSync(dir, { recursive: true, force: true }));

test('budget check exits 1 with the violation table when one call of a function exceeds its recorded budget', async (t) => {
  if (!redisUp) return t.skip('Redis is not reachable on 127.0.0.1:6379');
  const r = await cli(['budget', 'check', traces, '--budget', budget('tight.json', 1)]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /Network budget "cartPage" exceeded: 1 violation in its worst call/);
  assert.match(r.stdout, /more calls +redis GET +127\.0\.0\.1:6379 +1 +2 \(\+1\)/);
  assert.match(r.stdout, /3 calls in the input/);
  assert.match(r.stderr, /1 of 1 functions over budget/);
});

test('budget check exits 0 when every call is within budget', async (t) => {
  if (!redisUp) return t.skip('Redis is not reachable on 127.0.0.1:6379');
  const r = await cli(['budget', 'check', traces, '--budget', budget('loose.json', 2)]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /1 function within budget/);
});

test('budget check exits 2 with one line for bad usage, a missing trace file and a broken budget file', async () => {
  const noFile = await cli(['budget', 'check', '--budget', budget('any.json', 1)]);
  assert.equal(noFile.code, 2);
  assert.deepEqual(lines(noFile.stderr), ['sockscope: budget check: give at least one trace file']);
  const missing = await cli([
    'budget',
    'check',
    path.join(dir, 'nope.jsonl'),
    '--budget',
    budget('any.json', 1),
  ]);
  assert.equal(missing.code, 2);
  assert.equal(lines(missing.stderr).length, 1);
  assert.match(missing.stderr, /nope\.jsonl/);
  const broken = path.join(dir, 'broken.json');
  writeFileSync(broken, '{"version":1,"budgets":{"cartPage":{"127.0.0.1:6379":{"redis GET":-1}}}}');
  const bad = await cli(['budget', 'check', traces, '--budget', broken]);
  assert.equal(bad.code, 2);
  assert.equal(lines(bad.stderr).length, 1);
  assert.match(
    bad.stderr,
    /broken\.json: budget "cartPage" 127\.0\.0\.1:6379 "redis GET" must be a non-negative integer, got -1/,
  );
});
