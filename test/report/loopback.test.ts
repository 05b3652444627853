/**
 * The report on a developer's machine: real ioredis calls to the machine's Redis over loopback,
 * where a GET takes a fraction of a millisecond, recorded by sockscope, written as a JSONL trace
 * file and read back by the real CLI, as a developer runs it. A duplicated GET is still a finding;
 * a serial pair is held to a threshold the report names; `--rtt` projects savings by the one
 * formula. Expected numbers are computed from the recorded durations, never from timings.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test, type TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { readTraceFile } from '../../src/analysis/read';
import type { TraceSpan } from '../../src/analysis/model';
import { formatMs } from '../../src/render/format';
import { configure, inSpan, reset, sockscopeSpans, spans, waitFor } from '../helpers/otel';
import { requireService } from '../helpers/services';
import { otlpJsonLine } from '../helpers/spans';

const MAIN = resolve(__dirname, '../../src/cli/main.ts');
const HOST = '127.0.0.1';
const dir = mkdtempSync(join(tmpdir(), 'sockscope-loopback-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const round3 = (n: number): number => Math.round(n * 1000) / 1000;
const duration = (s: TraceSpan): number => s.endMs - s.startMs;

interface Recorded {
  file: string;
  spans: TraceSpan[];
}

let recording: Promise<Recorded> | undefined;

/**
 * Records once, through sockscope: `GET /profile` reads one key twice (a duplicate), and
 * `GET /dashboard` reads two keys one after the other (a serial pair). Nothing else is in the file.
 */
function recorded(): Promise<Recorded> {
  recording ??= (async () => {
    configure({ exchangeIdleMs: 60_000 }); // exchanges end by the protocol's framing, not by idling
    const redis = new Redis({ host: HOST, port: 6379, lazyConnect: true });
    const tag = randomBytes(6).toString('hex');
    const [k, a, b] = ['k', 'a', 'b'].map((x) => `sockscope:loopback:${tag}:${x}`);
    try {
      await redis.connect();
      await redis.mset(k, '1', a, '2', b, '3');
      reset();
      await inSpan('GET /profile', async () => {
        await redis.get(k);
        await redis.get(k);
      });
      await inSpan('GET /dashboard', async () => {
        await redis.get(a);
        await redis.get(b);
      });
      await waitFor(() => sockscopeSpans('exchange').length >= 4, 5000, 'four redis GET exchanges');
      const file = join(dir, 'loopback.jsonl');
      writeFileSync(file, `${otlpJsonLine(spans())}\n`);
      reset();
      await redis.del(k, a, b);
      return { file, spans: await readTraceFile(file) };
    } finally {
      redis.disconnect();
    }
  })();
  return recording;
}

/** Runs the real entry point, as `sockscope report ...` does. */
function report(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'report', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1' },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface JsonFinding {
  type: string;
  operation: string;
  server: string;
  count: number;
  exchanges: string[];
  estimatedSavingsMs: number;
  roundTripsSaved: number;
  projectedSavingsMs?: number;
}
interface JsonFunction {
  name: string;
  findings: JsonFinding[];
  hiddenFindings: number;
}

function json(...args: string[]): { functions: JsonFunction[]; hiddenFindings: number; rttMs?: number } {
  const r = report(...args, '--json');
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout);
}

function fn(out: { functions: JsonFunction[] }, name: string): JsonFunction {
  const f = out.functions.find((x) => x.name === name);
  assert.ok(f, `${name} is in the report`);
  return f;
}

/** The two GET exchanges under the named entry span, in start order. */
function getsUnder(rec: Recorded, entry: string): TraceSpan[] {
  const root = rec.spans.find((s) => s.name === entry);
  assert.ok(root, entry);
  const gets = rec.spans
    .filter((s) => s.parentSpanId === root.spanId && s.name === 'redis GET')
    .sort((x, y) => x.startMs - y.startMs);
  assert.equal(gets.length, 2, `two redis GET exchanges under ${entry}`);
  return gets;
}

/** The serial pair's savings, as the analysis computes them: both stages' times minus the longest. */
function serialSavings(rec: Recorded): number {
  const [first, second] = getsUnder(rec, 'GET /dashboard');
  return round3(0 + duration(first) + duration(second) - Math.max(duration(first), duration(second)));
}

async function ready(t: TestContext): Promise<Recorded | undefined> {
  if (!(await requireService(t, 'Redis', HOST, 6379))) return undefined;
  return recorded();
}

test('a duplicated Redis GET on loopback is a duplicate finding, however little it saves', async (t) => {
  const rec = await ready(t);
  if (rec === undefined) return;
  const [, repeat] = getsUnder(rec, 'GET /profile');
  // A savings floor far above any loopback GET: the duplicate is still listed.
  for (const args of [[], ['--min-savings', '1000']]) {
    const profile = fn(json(rec.file, ...args), 'GET /profile');
    assert.equal(profile.findings.length, 1, JSON.stringify(profile.findings));
    const [dup] = profile.findings;
    assert.equal(dup.type, 'duplicate');
    assert.equal(dup.operation, 'redis GET');
    assert.equal(dup.server, `${HOST}:6379`);
    assert.equal(dup.count, 2);
    assert.deepEqual(
      dup.exchanges,
      getsUnder(rec, 'GET /profile').map((s) => s.spanId),
    );
    assert.equal(dup.estimatedSavingsMs, round3(duration(repeat)), 'the repeat is the waste');
    assert.equal(dup.roundTripsSaved, 1);
  }
  const text = report(rec.file, '--min-savings', '1000');
  assert.equal(text.code, 0, text.stderr);
  const block = text.stdout.split('\n\n').find((b) => b.startsWith('GET /profile '));
  assert.match(block ?? '', /^ {2}duplicate +redis GET +127\.0\.0\.1:6379 +x2 +1\/1 /m, text.stdout);
});

test('a serial pair of loopback GETs saving under the threshold is not shown, and the report names the threshold', async (t) => {
  const rec = await ready(t);
  if (rec === undefined) return;
  const saves = serialSavings(rec);
  const above = String(round3(saves + 0.001));

  // At its own savings the pair is shown; a microsecond higher it is left out and counted.
  const shown = fn(json(rec.file, '--min-savings', String(saves)), 'GET /dashboard');
  assert.deepEqual(
    shown.findings.map((f) => [f.type, f.count, f.estimatedSavingsMs, f.roundTripsSaved]),
    [['serial', 2, saves, 1]],
  );
  const hiddenOut = json(rec.file, '--min-savings', above);
  assert.deepEqual(fn(hiddenOut, 'GET /dashboard').findings, []);
  assert.equal(fn(hiddenOut, 'GET /dashboard').hiddenFindings, 1);
  assert.equal(hiddenOut.hiddenFindings, 1);

  const text = report(rec.file, '--min-savings', above);
  assert.equal(text.code, 0, text.stderr);
  assert.ok(
    text.stdout.includes(
      `every duplicate and n+1 is shown; serial calls saving under ${above} ms are not (1 left out); --min-savings 0 shows them`,
    ),
    text.stdout,
  );
  assert.ok(text.stdout.includes(`(1 serial finding saving under ${above} ms not shown)`), text.stdout);

  // The default floor of 1 ms, stated whether or not it left the pair out.
  const byDefault = json(rec.file);
  assert.equal(byDefault.hiddenFindings, saves < 1 ? 1 : 0);
  assert.match(
    report(rec.file).stdout,
    /serial calls saving under 1 ms are not \(\d left out\); --min-savings 0 shows them/,
  );
});

test('--rtt projects each finding at a production round trip: measured savings plus the round trips removed times the RTT', async (t) => {
  const rec = await ready(t);
  if (rec === undefined) return;
  const [, repeat] = getsUnder(rec, 'GET /profile');
  const dupSaves = round3(duration(repeat));
  const serialSaves = serialSavings(rec);
  const out = json(rec.file, '--rtt', '1.5', '--min-savings', '0');
  assert.equal(out.rttMs, 1.5);
  const [dup] = fn(out, 'GET /profile').findings;
  assert.equal(dup.estimatedSavingsMs, dupSaves, 'the measured figure keeps its meaning');
  assert.equal(dup.projectedSavingsMs, round3(dupSaves + 1 * 1.5));
  const [serial] = fn(out, 'GET /dashboard').findings;
  assert.equal(serial.estimatedSavingsMs, serialSaves);
  assert.equal(serial.projectedSavingsMs, round3(serialSaves + 1 * 1.5));

  const text = report(rec.file, '--rtt', '1.5', '--min-savings', '0');
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /savings at 1\.5 ms RTT: as measured here, plus 1\.5 ms for each round trip/);
  const profile = text.stdout.split('\n\n').find((b) => b.startsWith('GET /profile '));
  assert.ok(
    profile?.includes(`~${formatMs(dupSaves)} here; ~${formatMs(round3(dupSaves + 1.5))} at 1.5 ms RTT`),
    text.stdout,
  );
  assert.match(profile ?? '', /findings, largest savings at 1\.5 ms RTT first:/);
});

test('with --rtt, the serial floor applies to the projected savings', async (t) => {
  const rec = await ready(t);
  if (rec === undefined) return;
  const saves = serialSavings(rec);
  // A floor just above the measured savings, below the savings at a 1 ms round trip.
  const floor = String(round3(saves + 0.5));
  assert.deepEqual(fn(json(rec.file, '--min-savings', floor), 'GET /dashboard').findings, []);
  const projected = fn(json(rec.file, '--min-savings', floor, '--rtt', '1'), 'GET /dashboard');
  assert.deepEqual(
    projected.findings.map((f) => [f.type, f.projectedSavingsMs]),
    [['serial', round3(saves + 1)]],
  );
  const text = report(rec.file, '--min-savings', floor, '--rtt', '1');
  assert.ok(
    text.stdout.includes(`serial calls saving under ${floor} ms at 1 ms RTT are not (0 left out)`),
    text.stdout,
  );
});
