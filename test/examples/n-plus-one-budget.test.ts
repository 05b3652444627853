import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { test } from 'node:test';
import { requireService } from '../helpers/services';

const ROOT = path.resolve(__dirname, '..', '..');

function runExample(fixed: boolean): { status: number | null; out: string } {
  // Run as a test file of its own, not as a subtest of this runner.
  const env: NodeJS.ProcessEnv = { ...process.env, EXAMPLE_FIXED: fixed ? '1' : '0' };
  delete env.NODE_TEST_CONTEXT;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test-reporter=spec', 'examples/n-plus-one/books.test.ts'],
    {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, EXAMPLE_FIXED: fixed ? '1' : '0' },
      timeout: 60_000,
    },
  );
  return { status: r.status, out: r.stdout + r.stderr };
}

test("the n+1 example's budget test fails with a table naming 8 postgresql SELECT calls against a budget of 2 until the loop is fixed, then passes", async (t) => {
  if (!(await requireService(t, 'PostgreSQL', '127.0.0.1', 5432))) return;
  const loop = runExample(false);
  assert.equal(loop.status, 1, loop.out);
  assert.match(
    loop.out,
    /perOperation +postgresql SELECT +127\.0\.0\.1:5432 +2 +9 +at examples\/n-plus-one\/books\.ts:\d+/,
  );
  assert.match(
    loop.out,
    /noNPlusOne +postgresql SELECT +127\.0\.0\.1:5432 +none +8 calls +bookTitles at examples\/n-plus-one\/books\.ts:\d+/,
  );
  const fixed = runExample(true);
  assert.equal(fixed.status, 0, fixed.out);
});
