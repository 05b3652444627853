/**
 * `sockscope top` against a real app under `sockscope/register` exposing its Prometheus endpoint,
 * steered to make Redis and then PostgreSQL traffic: in a real terminal (tmux: send-keys,
 * capture-pane) the rows and rates follow the traffic, narrow terminals lay out, q and Ctrl-C
 * quit and leave the terminal as it was; on a pipe, one snapshot and exit 0.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { portOpen } from '../helpers/services';
import { freePort } from './helpers';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const REGISTER = join(ROOT, 'dist', 'register.js');
const APP = join(__dirname, 'fixtures', 'top-app.js');
const TMUX = `sockscope-top-${process.pid}`;

let app: ChildProcess | undefined;
let metricsUrl = '';
let skip: string | undefined;

before(async () => {
  if (!(await portOpen('127.0.0.1', 6379)) || !(await portOpen('127.0.0.1', 5432))) {
    skip = 'Redis and PostgreSQL are needed';
    if (process.env.CI === 'true') throw new Error(`${skip} (CI=true)`);
    return;
  }
  const port = await freePort();
  metricsUrl = `http://127.0.0.1:${port}/metrics`;
  app = spawn(process.execPath, ['--require', REGISTER, APP], {
    cwd: join(__dirname, 'fixtures'),
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      OTEL_SERVICE_NAME: 'top-test',
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_METRICS_EXPORTER: 'prometheus',
      OTEL_EXPORTER_PROMETHEUS_HOST: '127.0.0.1',
      OTEL_EXPORTER_PROMETHEUS_PORT: String(port),
      APP_LIFETIME_MS: '120000',
    },
  });
  await new Promise<void>((resolve, reject) => {
    app!.stdout!.on('data', (d: Buffer) => String(d).includes('ready') && resolve());
    app!.once('exit', (c) => reject(new Error(`top-app exited ${c}`)));
  });
});

after(() => {
  app?.stdin?.write('stop\n');
  spawnSync('tmux', ['-L', TMUX, 'kill-server']);
});

function tmux(...args: string[]): string {
  const r = spawnSync('tmux', ['-L', TMUX, ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`tmux ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

const pane = (target: string): string => tmux('capture-pane', '-p', '-t', target);

async function waitForPane(
  target: string,
  pred: (text: string) => boolean,
  what: string,
  ms = 20_000,
): Promise<string> {
  const until = Date.now() + ms;
  for (;;) {
    const text = pane(target);
    if (pred(text)) return text;
    if (Date.now() > until) assert.fail(`${what}; the pane shows:\n${text}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** The exchanges/s of a protocol's row (the third column), or undefined when it has none. */
function rateOf(text: string, protocol: string): number | undefined {
  const line = text.split('\n').find((l) => new RegExp(`^\\S+\\s+${protocol}\\s`).test(l));
  if (line === undefined) return undefined;
  const v = line.trim().split(/\s+/)[2]!;
  return Number(v.replace(/k$/, '')) * (v.endsWith('k') ? 1000 : 1);
}

function topCommand(): string {
  return `env NO_COLOR=1 ${process.execPath} ${CLI} top --metrics ${metricsUrl}; echo TOP-EXITED=$?; sleep 120`;
}

test('in a terminal, rows and rates follow the traffic, narrow terminals lay out, and q restores the terminal', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  if (spawnSync('tmux', ['-V']).status !== 0) {
    if (process.env.CI === 'true') throw new Error('tmux is needed (apt-get install tmux)');
    return t.skip('tmux is not installed (apt-get install tmux)');
  }
  tmux('new-session', '-d', '-s', 'top', '-x', '140', '-y', '30', topCommand());
  await waitForPane(
    'top',
    (p) => p.includes('sockscope top') && p.includes('EXCH/S'),
    'top never drew its table',
  );
  app!.stdin!.write('redis\n');
  await waitForPane('top', (p) => (rateOf(p, 'redis') ?? 0) > 0, 'the redis row never showed exchanges/s');
  const before = pane('top');
  assert.ok(before.includes('IN/S') && before.includes('P50'), 'a wide terminal shows every column');
  assert.equal(rateOf(before, 'postgresql') ?? 0, 0, 'no PostgreSQL traffic yet');
  app!.stdin!.write('pg\n');
  await waitForPane(
    'top',
    (p) => (rateOf(p, 'postgresql') ?? 0) > 0,
    'the postgresql row never showed exchanges/s',
  );

  tmux('resize-window', '-t', 'top', '-x', '72', '-y', '20');
  const narrow = await waitForPane(
    'top',
    (p) => !p.includes('IN/S') && p.includes('P99'),
    'no narrow layout',
  );
  assert.ok(
    narrow.split('\n').every((l) => l.length <= 72),
    'every line fits the narrow terminal',
  );

  tmux('send-keys', '-t', 'top', 'q');
  const afterQuit = await waitForPane('top', (p) => p.includes('TOP-EXITED=0'), 'q did not quit with 0');
  assert.ok(!afterQuit.includes('EXCH/S'), 'the alternate screen was left: the shell screen is back');
});

test('Ctrl-C quits and restores the terminal', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  if (spawnSync('tmux', ['-V']).status !== 0) return t.skip('tmux is not installed');
  tmux('new-session', '-d', '-s', 'ctrlc', '-x', '120', '-y', '30', topCommand());
  await waitForPane('ctrlc', (p) => p.includes('EXCH/S'), 'top never drew its table');
  tmux('send-keys', '-t', 'ctrlc', 'C-c');
  const text = await waitForPane('ctrlc', (p) => p.includes('TOP-EXITED='), 'Ctrl-C did not end top');
  assert.match(text, /TOP-EXITED=0/);
  assert.ok(!text.includes('EXCH/S'));
});

test('on a pipe, top prints one snapshot without escape codes and exits 0', async (t) => {
  if (skip !== undefined) return t.skip(skip);
  app!.stdin!.write('redis\n');
  const r = spawnSync(process.execPath, [CLI, 'top', '--metrics', metricsUrl], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(!r.stdout.includes('\u001b'), 'no escape codes');
  assert.match(r.stdout, /^sockscope top/);
  assert.match(r.stdout, /127\.0\.0\.1:6379\s+redis\s+[1-9]/);
});
