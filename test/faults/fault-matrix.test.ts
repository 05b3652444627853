/**
 * The differential fault matrix: every scenario in scenarios.js runs plain, under
 * `--require sockscope/register`, and with sockscope set up in code, and what the app observes
 * (events and their order, error codes and messages, data, callback order, return values, exit
 * code) must be the same in all three. Each traced run must also have produced sockscope spans,
 * so that equal records cannot come from sockscope not running at all.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const { scenarios } = require('./scenarios') as { scenarios: Record<string, unknown> };

const REPO = path.resolve(__dirname, '..', '..');
const APP = path.join(__dirname, 'app.js');

type Mode = 'plain' | 'register' | 'programmatic';

interface Outcome {
  code: number | null;
  record: unknown;
  spans: number;
}

function run(scenario: string, mode: Mode, dir: string): Promise<Outcome> {
  const spansFile = path.join(dir, `${mode}.jsonl`);
  const args =
    mode === 'register'
      ? ['--require', 'sockscope/register', APP, scenario]
      : mode === 'programmatic'
        ? ['--require', path.join(__dirname, 'programmatic.js'), APP, scenario]
        : [APP, scenario];
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(OTEL_|SOCKSCOPE_)/.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  Object.assign(env, {
    OTEL_TRACES_EXPORTER: 'none',
    SOCKSCOPE_FILE: spansFile,
    SOCKSCOPE_AUTO_INSTRUMENTATIONS: 'false',
    FAULT_SPANS: spansFile,
  });
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('close', (code) => {
      const line = /^RECORD (.*)$/m.exec(out);
      const spans = fs.existsSync(spansFile)
        ? fs.readFileSync(spansFile, 'utf8').split('\n').filter(Boolean).length
        : 0;
      resolve({
        code,
        record: line ? JSON.parse(line[1]!) : { noRecord: true, stdout: out, stderr: err },
        spans,
      });
    });
  });
}

for (const scenario of Object.keys(scenarios)) {
  test(
    `${scenario}: the app observes the same plain, under sockscope/register, and with sockscope in code`,
    { timeout: 300_000 },
    async (t) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockscope-fault-'));
      t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
      const plain = await run(scenario, 'plain', dir);
      assert.ok(
        !(plain.record as { noRecord?: boolean }).noRecord,
        `the plain run printed a record: ${JSON.stringify(plain.record)}`,
      );
      for (const mode of ['register', 'programmatic'] as const) {
        const traced = await run(scenario, mode, dir);
        assert.deepEqual(
          traced.record,
          plain.record,
          `${mode}: what the app observed differs from the plain run`,
        );
        assert.equal(traced.code, plain.code, `${mode}: exit code`);
        assert.ok(traced.spans > 0, `${mode}: sockscope wrote spans (so it ran)`);
      }
    },
  );
}
