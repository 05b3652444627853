/**
 * sockscope/testing under real test runners: each fixture in runners/<name>/ installs its runner
 * from npm and runs for real, once to record the cart page's budget and once with a change that
 * duplicates a Redis GET, which must fail with the budget table. Uses the built package (dist/).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { requireService } from '../helpers/services';

const RUNNERS = path.join(__dirname, 'runners');
const ROOT = path.resolve(__dirname, '..', '..');
const dir = mkdtempSync(path.join(tmpdir(), 'sockscope-runners-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  out: string;
}

function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0', ...env };
  delete childEnv.NODE_TEST_CONTEXT; // the runners are not subtests of this one
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd, env: childEnv, timeout: timeoutMs, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 99;
        resolve({ code, out: `${stdout}${stderr}` });
      },
    );
  });
}

let registry: Promise<boolean> | undefined;
/** Whether the npm registry answers (asked once). */
function registryReachable(): Promise<boolean> {
  return (registry ??= run('npm', ['ping'], ROOT, {}, 20_000).then((r) => r.code === 0));
}

/** Runner available (installed from npm), or the test skipped with the reason; in CI it fails instead. */
async function install(t: TestContext, name: string): Promise<boolean> {
  if (!(await requireService(t, 'Redis', '127.0.0.1', 6379))) return false;
  if (!existsSync(path.join(ROOT, 'dist', 'testing', 'index.js'))) {
    assert.fail('dist/testing is missing: run npm run build first (npm test does)');
  }
  if (!(await registryReachable())) {
    if (process.env.CI === 'true')
      assert.fail('the npm registry is unreachable, and CI must run every runner');
    t.skip(`the npm registry is unreachable: cannot install ${name} (runs in CI)`);
    return false;
  }
  const r = await run(
    'npm',
    ['install', '--no-audit', '--no-fund', '--loglevel=error'],
    path.join(RUNNERS, name),
    {},
    300_000,
  );
  assert.equal(r.code, 0, `npm install in runners/${name} failed:\n${r.out}`);
  return true;
}

async function proveRunner(t: TestContext, name: string): Promise<void> {
  if (!(await install(t, name))) return;
  const cwd = path.join(RUNNERS, name);
  const budget = path.join(dir, `${name}.json`);
  const env = { SOCKSCOPE_BUDGET_FILE: budget, CI: 'false' };
  const first = await run('npm', ['test', '--silent'], cwd, env, 120_000);
  assert.equal(first.code, 0, first.out);
  assert.match(readFileSync(budget, 'utf8'), /"redis GET": 1,\n\s+"redis SET": 1/);

  const changed = await run('npm', ['test', '--silent'], cwd, { ...env, CART_CHANGE: 'duplicate' }, 120_000);
  assert.notEqual(changed.code, 0, changed.out);
  assert.match(changed.out, /more calls +redis GET +127\.0\.0\.1:6379 +1 +2 \(\+1\) +at .*shared\.cjs:\d+/);
  assert.match(changed.out, /perOperation +redis GET +127\.0\.0\.1:6379 +1 +2/);
}

test('under Vitest, a recorded budget is written on the first run and a duplicated GET fails the next with the table', (t) =>
  proveRunner(t, 'vitest'));

test('under Jest, a recorded budget is written on the first run and a duplicated GET fails the next with the table', (t) =>
  proveRunner(t, 'jest'));

test('under Mocha, a recorded budget is written on the first run and a duplicated GET fails the next with the table', (t) =>
  proveRunner(t, 'mocha'));
