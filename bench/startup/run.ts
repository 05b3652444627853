/**
 * Start-up and exit cost of `sockscope/register`: `npm run bench:startup [-- --rounds N]`.
 *
 * Interleaved rounds, each starting every variant once in a fresh order, so load bursts on a shared
 * machine hit all variants alike; medians per variant, and an A/A control (plain twice) whose gap is
 * this run's own noise.
 *
 *   plain, plain (A/A)            node -e / the exit script, nothing preloaded
 *   register                      --require sockscope/register, SOCKSCOPE_AUTO_INSTRUMENTATIONS=false
 *   register + auto               --require sockscope/register with the official instrumentations
 *   auto-instrumentations only    --require @opentelemetry/auto-instrumentations-node/register
 *
 * Start-up is the wall time of `node -e 1`. Exit is the time from the script's last line to the
 * parent seeing the process exit (both read the same wall clock). Spans go nowhere
 * (OTEL_TRACES_EXPORTER=none plus a JSONL file in a temporary folder), so no collector is involved.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '..', '..');
const EXIT_SCRIPT = join(__dirname, 'exit-script.js');

interface Variant {
  name: string;
  args: string[];
  env: Record<string, string>;
}

function variants(file: string): Variant[] {
  const quiet = { OTEL_TRACES_EXPORTER: 'none', SOCKSCOPE_FILE: file, OTEL_LOG_LEVEL: 'error' };
  return [
    { name: 'plain', args: [], env: {} },
    { name: 'plain (A/A)', args: [], env: {} },
    {
      name: 'register',
      args: ['--require', 'sockscope/register'],
      env: { ...quiet, SOCKSCOPE_AUTO_INSTRUMENTATIONS: 'false' },
    },
    { name: 'register + auto', args: ['--require', 'sockscope/register'], env: quiet },
    {
      name: 'auto-instrumentations only',
      args: ['--require', '@opentelemetry/auto-instrumentations-node/register'],
      env: {
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_LOGS_EXPORTER: 'none',
        OTEL_LOG_LEVEL: 'error',
      },
    },
  ];
}

function run(v: Variant, script: string[]): Promise<{ wallMs: number; exitMs: number | undefined }> {
  return new Promise((done, fail) => {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, val] of Object.entries(process.env))
      if (!/^(OTEL_|SOCKSCOPE_)/.test(k) && k !== 'NODE_OPTIONS') env[k] = val;
    const t0 = performance.now();
    const child = spawn(process.execPath, [...v.args, ...script], {
      cwd: REPO,
      env: { ...env, ...v.env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('exit', (code) => {
      const end = performance.now();
      if (code !== 0) return fail(new Error(`${v.name} exited ${code}`));
      const last = /^last-line (\d+(?:\.\d+)?)$/m.exec(out);
      const exitMs = last ? performance.timeOrigin + end - Number(last[1]) : undefined;
      done({ wallMs: end - t0, exitMs });
    });
  });
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

export interface StartupResult {
  rounds: number;
  startupMs: Record<string, number>;
  exitMs: Record<string, number>;
}

export async function measureStartup(rounds: number): Promise<StartupResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sockscope-startup-'));
  try {
    const vs = variants(join(dir, 'spans.jsonl'));
    const start = new Map(vs.map((v) => [v.name, [] as number[]]));
    const exit = new Map(vs.map((v) => [v.name, [] as number[]]));
    // One unmeasured round: the first start of each variant pays the file-system cache.
    for (const v of vs) await run(v, ['-e', '1']);
    for (let r = 0; r < rounds; r++) {
      for (const v of shuffle(vs)) start.get(v.name)!.push((await run(v, ['-e', '1'])).wallMs);
      for (const v of shuffle(vs)) {
        const e = (await run(v, [EXIT_SCRIPT])).exitMs;
        if (e !== undefined) exit.get(v.name)!.push(e);
      }
    }
    return {
      rounds,
      startupMs: Object.fromEntries([...start].map(([k, xs]) => [k, median(xs)])),
      exitMs: Object.fromEntries([...exit].map(([k, xs]) => [k, median(xs)])),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function startupTable(r: StartupResult): string {
  const plain = r.startupMs.plain!;
  const auto = r.startupMs['auto-instrumentations only']! - plain;
  const lines = [
    `Start-up and exit, median of ${r.rounds} interleaved rounds (wall ms):`,
    '',
    '| variant | `node -e 1` | added | last line → exit |',
    '| --- | ---: | ---: | ---: |',
  ];
  for (const name of Object.keys(r.startupMs)) {
    const s = r.startupMs[name]!;
    const e = r.exitMs[name];
    lines.push(
      `| ${name} | ${s.toFixed(0)} | ${name === 'plain' ? '' : `+${(s - plain).toFixed(0)}`} | ${e === undefined ? '' : e.toFixed(1)} |`,
    );
  }
  const withAuto = r.startupMs['register + auto']! - plain;
  lines.push(
    '',
    `register + auto adds ${withAuto.toFixed(0)} ms, ${(withAuto / auto).toFixed(2)}× what the auto-instrumentations' own register adds (${auto.toFixed(0)} ms); A/A gap ${Math.abs(r.startupMs['plain (A/A)']! - plain).toFixed(0)} ms.`,
  );
  return lines.join('\n');
}

if (require.main === module) {
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 15;
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error('bench:startup: --rounds needs a positive whole number');
    process.exit(2);
  }
  void measureStartup(rounds).then((r) => console.log(startupTable(r)));
}
