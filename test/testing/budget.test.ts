/** assertNetworkBudget and expectNetwork against real Redis and PostgreSQL, with no SDK registered. */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test } from 'node:test';
import Redis from 'ioredis';
import { Pool } from 'pg';
import { assertNetworkBudget, captureNetwork, expectNetwork } from '../../src/testing/index';
import { requireService } from '../helpers/services';

const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
const pool = new Pool({ host: '127.0.0.1', user: 'postgres', database: 'test', max: 1 });
const dir = mkdtempSync(path.join(tmpdir(), 'sockscope-budget-'));
after(async () => {
  redis.disconnect();
  await pool.end();
  rmSync(dir, { recursive: true, force: true });
});

/** Both services up, and the Redis client connected (its connect-time INFO is no test's business). */
async function services(t: import('node:test').TestContext): Promise<boolean> {
  const up =
    (await requireService(t, 'Redis', '127.0.0.1', 6379)) &&
    (await requireService(t, 'PostgreSQL', '127.0.0.1', 5432));
  if (up && redis.status === 'wait') await redis.connect();
  return up;
}

/** The code under test, before and after a change. */
async function cartPage(change: 'none' | 'duplicate GET' | 'new server'): Promise<void> {
  await redis.get('sockscope:test:cart');
  if (change === 'duplicate GET') await redis.get('sockscope:test:cart');
  await redis.set('sockscope:test:cart', 'x');
  if (change === 'new server') await pool.query('SELECT 1');
}

test('assertNetworkBudget passes within budget and throws an AssertionError with a table of each violation', async (t) => {
  if (!(await services(t))) return;
  const { network } = await captureNetwork(async () => {
    for (let i = 0; i < 6; i++) await redis.get('sockscope:test:same');
    await pool.query('SELECT 1');
  });
  assertNetworkBudget(network, { maxExchanges: 7, perOperation: { 'redis GET': 6 } });
  const err = (() => {
    try {
      assertNetworkBudget(network, {
        maxExchanges: 3,
        perServer: { '127.0.0.1:6379': 10 },
        perOperation: { 'redis GET': 2 },
        noDuplicates: true,
      });
    } catch (e) {
      return e as Error;
    }
    assert.fail('the budget should have failed');
  })();
  assert.equal(err.name, 'AssertionError');
  const m = err.message;
  assert.match(m, /violation +operation +server +allowed +happened +where/);
  assert.match(m, /maxExchanges +\(all\) +\(all\) +3 +7/);
  assert.match(m, /perServer +postgresql SELECT +127\.0\.0\.1:5432 +0 +1/);
  assert.match(m, /perOperation +redis GET +127\.0\.0\.1:6379 +2 +6 +at test\/testing\/budget\.test\.ts:\d+/);
  // The same GET six times over: a duplicate, named with the code that issued it.
  assert.match(
    m,
    /noDuplicates +redis GET +127\.0\.0\.1:6379 +none +6 calls +captureNetwork at test\/testing\/budget\.test\.ts:\d+/,
  );
  assert.match(m, /Allowed: exchanges <= 3, 127\.0\.0\.1:6379 <= 10, redis GET <= 2, noDuplicates/);
  assert.match(m, /Happened: 7 exchanges/);
  assert.match(m, / 6 +127\.0\.0\.1:6379 +redis GET/);
});

test('a recorded budget catches a duplicated Redis GET, though it costs well under a millisecond on loopback', async (t) => {
  if (!(await services(t))) return;
  const file = path.join(dir, 'duplicate.json');
  await expectNetwork('cart page', () => cartPage('none'), { file, update: true }); // recorded, as a first local run would
  const recorded = readFileSync(file, 'utf8');
  assert.equal(
    recorded,
    `{
  "version": 1,
  "budgets": {
    "cart page": {
      "127.0.0.1:6379": {
        "redis GET": 1,
        "redis SET": 1
      }
    }
  }
}
`,
  );
  await expectNetwork('cart page', () => cartPage('none'), { file }); // unchanged code passes
  await assert.rejects(
    expectNetwork('cart page', () => cartPage('duplicate GET'), { file }),
    (e: Error) => {
      assert.equal(e.name, 'AssertionError');
      assert.match(e.message, /Network budget "cart page" exceeded/);
      assert.match(
        e.message,
        /more calls +redis GET +127\.0\.0\.1:6379 +1 +2 \(\+1\) +at test\/testing\/budget\.test\.ts:\d+/,
      );
      return true;
    },
  );
  assert.equal(readFileSync(file, 'utf8'), recorded, 'a failing check never rewrites the file');
});

test('a recorded budget catches a call to a new server', async (t) => {
  if (!(await services(t))) return;
  const file = path.join(dir, 'new-server.json');
  await expectNetwork('cart page', () => cartPage('none'), { file, update: true }); // recorded, as a first local run would
  await assert.rejects(
    expectNetwork('cart page', () => cartPage('new server'), { file }),
    (e: Error) => {
      // pg writes a pooled client's query from its own queue: no user frame is on that stack.
      assert.match(e.message, /new server +postgresql SELECT +127\.0\.0\.1:5432 +0 +1/);
      return true;
    },
  );
});

test('fewer calls than recorded pass with a suggestion to update, and SOCKSCOPE_UPDATE_BUDGETS=1 records the new counts', async (t) => {
  if (!(await services(t))) return;
  const file = path.join(dir, 'shrink.json');
  await expectNetwork('cart page', () => cartPage('duplicate GET'), { file, update: true }); // recorded, as a first local run would
  const warnings: string[] = [];
  t.mock.method(console, 'warn', (m: string) => warnings.push(m));
  await expectNetwork('cart page', () => cartPage('none'), { file });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /127\.0\.0\.1:6379 redis GET: 2 recorded, 1 now/);
  assert.match(warnings[0], /SOCKSCOPE_UPDATE_BUDGETS=1/);
  t.mock.restoreAll();

  process.env.SOCKSCOPE_UPDATE_BUDGETS = '1';
  try {
    await expectNetwork('cart page', () => cartPage('none'), { file });
  } finally {
    delete process.env.SOCKSCOPE_UPDATE_BUDGETS;
  }
  assert.match(readFileSync(file, 'utf8'), /"redis GET": 1,/);
});

test('in CI a budget that was never recorded fails instead of being written', async (t) => {
  if (!(await services(t))) return;
  const file = path.join(dir, 'never-recorded.json');
  const saved = process.env.CI;
  process.env.CI = 'true';
  try {
    await assert.rejects(
      expectNetwork('cart page', () => cartPage('none'), { file }),
      /No network budget recorded for "cart page"/,
    );
  } finally {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  }
  assert.equal(existsSync(file), false, 'nothing was written');
});
