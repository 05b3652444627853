/**
 * `sockscope gaps --prometheus` against a real Prometheus (Debian's `prometheus` package): two app
 * processes under `sockscope/register`, each with its own service.instance.id and its own
 * Prometheus endpoint, make real calls to Redis, PostgreSQL and MQTT; Prometheus scrapes both every
 * second. The fleet table must equal the sum of the two processes' own trace-based tables, row by
 * row, in exchanges, covered and uncovered.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { GapAccumulator, type GapsResult } from '../../src/analysis/gaps';
import { readTraceFileBatches } from '../../src/analysis/read';
import { requireService } from '../helpers/services';
import { freePort } from './helpers';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const REGISTER = join(ROOT, 'dist', 'register.js');
const APP = join(__dirname, 'fixtures', 'fleet-app.js');

/** The `prometheus` binary, or undefined (the test is then skipped, or fails in CI). */
function prometheusBinary(t: TestContext): string | undefined {
  const r = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  if (r.status === 0) return 'prometheus';
  const msg = 'the prometheus binary is not installed (apt-get install prometheus)';
  if (process.env.CI === 'true') throw new Error(`${msg}; CI must have it`);
  t.skip(msg);
  return undefined;
}

function waitForLine(p: ChildProcess, line: string, what: string, ms = 60_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(
      () => reject(new Error(`${what}: no "${line}" within ${ms} ms; stderr: ${err}`)),
      ms,
    );
    p.stdout?.on('data', (d: Buffer) => {
      out += String(d);
      if (out.includes(line)) {
        clearTimeout(timer);
        resolve();
      }
    });
    p.stderr?.on('data', (d: Buffer) => (err += String(d)));
    p.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before "${line}"; stderr: ${err}`));
    });
  });
}

/** Starts Prometheus scraping `targets` every second; resolves to its URL once it is ready. */
async function startPrometheus(
  dir: string,
  targets: string[],
): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    [
      'global:',
      '  scrape_interval: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: apps',
      '    static_configs:',
      `      - targets: [${targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const p = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  p.stderr?.on('data', (d: Buffer) => (stderr = (stderr + String(d)).slice(-2000)));
  const url = `http://127.0.0.1:${port}`;
  const until = Date.now() + 30_000;
  for (;;) {
    const ok = await fetch(`${url}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (p.exitCode !== null || Date.now() > until) {
      p.kill();
      throw new Error(`prometheus did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    url,
    stop: () =>
      new Promise<void>((r) => {
        if (p.exitCode !== null) return r();
        p.once('exit', () => r());
        p.kill('SIGTERM');
      }),
  };
}

async function traceTable(file: string): Promise<GapsResult> {
  const acc = new GapAccumulator();
  for await (const batch of readTraceFileBatches(file)) {
    for (const s of batch) acc.add(s);
    acc.endBatch();
  }
  return acc.result();
}

type Counts = { exchanges: number; covered: number; uncovered: number };
type PhaseCounts = Record<'setup' | 'operation' | 'teardown' | 'heartbeat', Counts>;

function byRow(tables: GapsResult[]): Map<string, Counts> {
  const out = new Map<string, Counts>();
  for (const t of tables) {
    for (const r of t.rows) {
      const k = `${r.callerPackage} ${r.protocol} ${r.server}`;
      const c = out.get(k) ?? { exchanges: 0, covered: 0, uncovered: 0 };
      c.exchanges += r.exchanges;
      c.covered += r.covered;
      c.uncovered += r.uncovered;
      out.set(k, c);
    }
  }
  return out;
}

/** Per row, the phase counts summed over tables. */
function phasesByRow(tables: GapsResult[]): Map<string, PhaseCounts> {
  const out = new Map<string, PhaseCounts>();
  for (const t of tables) {
    for (const r of t.rows) {
      const k = `${r.callerPackage} ${r.protocol} ${r.server}`;
      const sum = out.get(k) ?? structuredClone(r.phases);
      if (out.has(k))
        for (const p of Object.keys(sum) as Array<keyof PhaseCounts>)
          for (const f of ['exchanges', 'covered', 'uncovered'] as const) sum[p][f] += r.phases[p][f];
      out.set(k, sum);
    }
  }
  return out;
}

function runCli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('gaps --prometheus over two instances equals the sum of their trace-based gap tables, row by row', async (t) => {
  if (prometheusBinary(t) === undefined) return;
  if (!(await requireService(t, 'redis', '127.0.0.1', 6379))) return;
  if (!(await requireService(t, 'postgresql', '127.0.0.1', 5432))) return;
  if (!(await requireService(t, 'mosquitto', '127.0.0.1', 1883))) return;
  const dir = mkdtempSync(join(tmpdir(), 'sockscope-fleet-'));
  const service = `fleet-${process.pid}`;
  const apps: ChildProcess[] = [];
  let prom: { url: string; stop(): Promise<void> } | undefined;
  try {
    const instances = [
      { id: 'a', rounds: 4 },
      { id: 'b', rounds: 7 },
    ];
    const targets: string[] = [];
    for (const i of instances) {
      const port = await freePort();
      targets.push(`127.0.0.1:${port}`);
      const p = spawn(process.execPath, ['--require', REGISTER, APP], {
        cwd: join(__dirname, 'fixtures'),
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {
          ...process.env,
          OTEL_SERVICE_NAME: service,
          OTEL_RESOURCE_ATTRIBUTES: `service.instance.id=${i.id}`,
          OTEL_TRACES_EXPORTER: 'none',
          OTEL_METRICS_EXPORTER: 'prometheus',
          OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
          OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
          SOCKSCOPE_FILE: join(dir, `${i.id}.jsonl`),
          APP_ROUNDS: String(i.rounds),
          APP_LIFETIME_MS: '120000',
        },
      });
      apps.push(p);
      await waitForLine(p, 'ready', `app ${i.id}`);
    }
    const traceTables = await Promise.all(instances.map((i) => traceTable(join(dir, `${i.id}.jsonl`))));
    const expected = byRow(traceTables);
    const expectedTotal = [...expected.values()].reduce((a, c) => a + c.exchanges, 0);
    assert.ok(expectedTotal > 0, 'the apps traced their exchanges');

    prom = await startPrometheus(dir, targets);
    // Scraped every second: wait until both instances' counts are in.
    let fleet:
      | {
          rows: Array<
            Counts & {
              callerPackage: string;
              protocol: string;
              server: string;
              undecided: number;
              phases: PhaseCounts;
            }
          >;
        }
      | undefined;
    const until = Date.now() + 30_000;
    for (;;) {
      const r = runCli(['gaps', '--prometheus', prom.url, '--service', service, '--range', '5m', '--json']);
      if (r.status === 0) {
        fleet = JSON.parse(r.stdout) as typeof fleet;
        const total = fleet!.rows.reduce((a, row) => a + row.exchanges, 0);
        if (total === expectedTotal) break;
      }
      if (Date.now() > until)
        assert.fail(`fleet table never reached ${expectedTotal} exchanges: ${r.stdout}${r.stderr}`);
      await new Promise((res) => setTimeout(res, 1000));
    }
    const got = new Map(
      fleet!.rows.map((r) => [
        `${r.callerPackage} ${r.protocol} ${r.server}`,
        { exchanges: r.exchanges, covered: r.covered, uncovered: r.uncovered },
      ]),
    );
    t.diagnostic(
      `rows (fleet = a + b): ${[...got].map(([k, c]) => `${k}: ${c.exchanges} (${c.covered} covered, ${c.uncovered} uncovered)`).join('; ')}`,
    );
    assert.deepEqual(got, expected);
    // The same operations and chatter, phase by phase (the metrics' sockscope.phase attribute).
    assert.deepEqual(
      new Map(fleet!.rows.map((r) => [`${r.callerPackage} ${r.protocol} ${r.server}`, r.phases])),
      phasesByRow(traceTables),
    );
    assert.ok(
      fleet!.rows.every((r) => r.undecided === 0),
      'every trace was sampled: every verdict decided',
    );
    assert.ok([...got.values()].some((c) => c.uncovered > 0) && [...got.values()].some((c) => c.covered > 0));

    // The table, and the gate.
    const table = runCli(['gaps', '--prometheus', prom.url, '--service', service, '--range', '5m']);
    assert.equal(table.status, 0);
    assert.match(table.stdout, /mqtt/);
    const gate = runCli(['gaps', '--prometheus', prom.url, '--service', service, '--fail-on-uncovered']);
    assert.equal(gate.status, 1);
    // Another service has nothing: one line, exit 2.
    const none = runCli(['gaps', '--prometheus', prom.url, '--service', 'no-such-service', '--range', '5m']);
    assert.equal(none.status, 2);
    assert.equal(none.stderr.trim().split('\n').length, 1);
    assert.match(none.stderr, /no sockscope metrics for service no-such-service/);
  } finally {
    for (const p of apps) p.stdin?.write('stop\n');
    await prom?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
