/**
 * Instructions per round trip, counted by callgrind: `npm run bench -- --instructions` (slow: a
 * few minutes per scenario; not in CI).
 *
 * CPU time swings on a shared machine; an instruction count does not (same binary, same input,
 * same count). Each variant of the request loop (raw, sockscope 'none', 'all' under an unsampled
 * parent, 'all' sampled) runs in its own client process under `valgrind --tool=callgrind
 * --trace-children=no` (the peer is Redis or the echo child, never counted). After WARMUP round
 * trips the process has callgrind count a window of N round trips and then one of 2N
 * (loop-client.ts); (window 2 - window 1) / N is the steady-state cost of one round trip: what
 * each window pays around the round trips (asking callgrind) cancels.
 *
 * Two whole processes (WARMUP + N against WARMUP + 2N) do not work: the same process run twice
 * differs by tens of millions of instructions (V8's GC and compiler heuristics read the clock),
 * which is more than N round trips cost.
 *
 *   --n N          round trips in the first window (default 1000; the second counts 2N)
 *   --warmup N     round trips before them (default 12000)
 *   --jobs N       callgrind processes at once (default 2; counts do not depend on it)
 *   --only IDS     some of redis-buffer, redis-string, echo-buffer, echo-string; or echo-churn
 *                  (scenario 7: connect, one round trip, close per unit; variants raw, net, all,
 *                  nocaller; use a smaller --n and --warmup, e.g. 200 and 3000)
 *   --variants IDS some of raw, none, unsampled, all (echo-churn: raw, net, all, nocaller)
 *   --keep DIR     keep the callgrind.out files there (for callgrind_annotate)
 *   --source       sockscope from src/ through tsx (checks the harness; not what ships)
 *
 * Node runs with `--single-threaded` (no concurrent compiler or GC threads, whose work callgrind
 * would count in a different order from run to run), a fixed young generation of 64 MB per
 * semi-space that a window's garbage does not fill (loop-client.ts scavenges before each window),
 * and `--no-memory-reducer` (it starts full GCs after idle wall-clock time, and everything is slow
 * under valgrind).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { loadSockscope } from '../lib/sockscope';
import { startEchoServer } from '../lib/peers';
import { CHURN_SETTLE, SETTLE } from './settle';

const run = promisify(execFile);

export const NODE_FLAGS = [
  '--expose-gc',
  '--single-threaded',
  '--max-semi-space-size=64',
  '--min-semi-space-size=64',
  '--no-memory-reducer',
];
export const VALGRIND_FLAGS = ['--tool=callgrind', '--trace-children=no', '--instr-atstart=no'];
/** Set by loop-client.ts's callgrind_control calls: the two windows' dumps. */
const WINDOWS = ['.1', '.2'];
const SCENARIOS = ['redis-buffer', 'redis-string', 'echo-buffer', 'echo-string'] as const;
/** Connection churn (scenario 7): one connection per unit (connect, one round trip, close). */
const CHURN = 'echo-churn';
const VARIANTS = ['raw', 'none', 'unsampled', 'all', 'ignored', 'timer', 'net', 'nocaller'] as const;
const LABELS: Record<string, string> = {
  raw: '1 raw net.Socket, no instrumentation',
  none: "6 sockscope exchanges:'none'",
  unsampled: "5 sockscope 'all', unsampled parent",
  all: "2 sockscope 'all', sampled (reference)",
  ignored: 'sockscope enabled, this socket ignored (informative: the wrappers alone)',
  timer: "raw with one unref'd timer re-armed every 250 ms, like the idle sweeper (informative)",
  net: 'echo-churn: @opentelemetry/instrumentation-net (the churn baseline)',
  nocaller: 'echo-churn: sockscope defaults, captureCallerPackage: false',
};

export interface InstructionOptions {
  n: number;
  warmup: number;
  jobs: number;
  only: string[];
  variants: string[];
  keep: string | undefined;
  source: boolean;
  /** Processes per variant; the figure is their median (compiled code differs a little between processes). */
  repeat: number;
  /** The client, bundled to plain JS (set by runInstructions). */
  clientBundle: string;
}

export function parseInstructionArgs(argv: string[]): InstructionOptions {
  const o: InstructionOptions = {
    n: 1000,
    warmup: 12000,
    jobs: 2,
    only: [...SCENARIOS],
    variants: ['raw', 'none', 'unsampled', 'all'],
    keep: undefined,
    source: false,
    repeat: 3,
    clientBundle: '',
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--instructions') continue;
    else if (a === '--n') o.n = Number(next());
    else if (a === '--warmup') o.warmup = Number(next());
    else if (a === '--jobs') o.jobs = Number(next());
    else if (a === '--only') o.only = next().split(',');
    else if (a === '--variants') o.variants = next().split(',');
    else if (a === '--keep') o.keep = next();
    else if (a === '--source') o.source = true;
    else if (a === '--repeat') o.repeat = Number(next());
    else throw new Error(`unknown argument ${a} with --instructions`);
  }
  for (const s of o.only)
    if (!(SCENARIOS as readonly string[]).includes(s) && s !== CHURN)
      throw new Error(`unknown scenario ${s}`);
  for (const v of o.variants)
    if (!(VARIANTS as readonly string[]).includes(v)) throw new Error(`unknown variant ${v}`);
  if (!o.variants.includes('raw')) o.variants.unshift('raw'); // the ratios need it
  for (const [k, v] of [
    ['--n', o.n],
    ['--warmup', o.warmup],
    ['--jobs', o.jobs],
    ['--repeat', o.repeat],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${k} needs a positive integer`);
  }
  return o;
}

interface Job {
  scenario: string;
  variant: string;
  rep: number;
  out: string;
}

interface JobResult extends Job {
  /** Instructions counted in the window of N round trips and in the window of 2N. */
  windows: [number, number];
  /** Of each window, what V8's compilers and garbage collector ran (callgrind_annotate, inclusive). */
  v8: [number, number];
  report: Record<string, unknown>;
}

/**
 * loop-client.ts and the bench helpers it imports, bundled into one CommonJS file (packages stay
 * external, loaded from node_modules as usual; `__dirname` stays this folder, which the helpers'
 * paths are relative to). The client then runs on plain `node`: under `--require tsx/cjs` the
 * windows counted tsx's esbuild service reading its pipes and source-map bookkeeping, on
 * wall-clock timers, so more in a slower variant's windows. esbuild is tsx's own.
 */
function bundleClient(): string {
  const esbuild = require(require.resolve('esbuild', { paths: [require.resolve('tsx')] })) as {
    buildSync(o: Record<string, unknown>): unknown;
  };
  const outDir = join(__dirname, '..', '..', 'node_modules', '.cache', 'sockscope-bench', 'callgrind');
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, `loop-client.${process.pid}.cjs`);
  esbuild.buildSync({
    entryPoints: [join(__dirname, 'loop-client.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    packages: 'external',
    target: 'node18',
    define: { __dirname: JSON.stringify(__dirname) },
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

/**
 * Entry points of V8's compilers and collector, none of which calls another: a window that ran
 * one of them (a function optimised for the first time in it, a tick-driven timer callback
 * reaching its budget) counted work that is not the round trips'. The figure per round trip
 * leaves them out, and the table shows how much there was.
 */
const V8_WORK = [
  'v8::internal::Runtime_CompileOptimized(',
  'v8::internal::Runtime_CompileLazy(',
  'v8::internal::Runtime_InstallBaselineCode(',
  'v8::internal::Runtime_BytecodeBudgetInterrupt',
  'v8::internal::Heap::CollectGarbage(',
  'v8::internal::IncrementalMarking::AdvanceAndFinalizeIfComplete(',
  'v8::internal::IncrementalMarking::AdvanceOnAllocation(',
];

async function compilerAndGcOf(file: string): Promise<number> {
  const { stdout } = await run(
    'callgrind_annotate',
    ['--inclusive=yes', '--threshold=100', '--auto=no', file],
    {
      maxBuffer: 1 << 28,
      encoding: 'utf8',
    },
  );
  let sum = 0;
  for (const line of stdout.split('\n')) {
    const m = /^\s*([\d,]+) \([^)]*\)\s+\?\?\?:(.*)$/.exec(line);
    if (m !== null && V8_WORK.some((k) => m[2].startsWith(k))) sum += Number(m[1].replace(/,/g, ''));
  }
  return sum;
}

/** Total instructions (Ir) of a callgrind.out file: its `summary:` line. */
export function totalOf(file: string): number {
  const m = /^summary: (\d+)/m.exec(readFileSync(file, 'utf8'));
  if (m === null) throw new Error(`${file}: no summary line`);
  return Number(m[1]);
}

async function runJob(job: Job, o: InstructionOptions, echoPort: number): Promise<JobResult> {
  const [peer, writes] = job.scenario.split('-');
  const client = o.clientBundle;
  const args = [
    ...VALGRIND_FLAGS,
    `--callgrind-out-file=${job.out}`,
    process.execPath,
    ...NODE_FLAGS,
    // With --keep: name JIT code in the kept files (breakdown.ts reads /tmp/perf-PID.map).
    ...(o.keep !== undefined ? ['--perf-basic-prof'] : []),
    client,
    peer,
    String(echoPort),
    writes,
    job.variant,
    String(o.warmup),
    String(o.n),
    o.source ? 'source' : 'prebuilt',
  ];
  const { stdout } = await run('valgrind', args, {
    cwd: join(__dirname, '..', '..'),
    maxBuffer: 1 << 24,
    encoding: 'utf8',
  });
  const last = stdout.trim().split('\n').pop() ?? '{}';
  const windows = WINDOWS.map((w) => totalOf(job.out + w)) as [number, number];
  const v8 = await Promise.all(WINDOWS.map((w) => compilerAndGcOf(job.out + w)));
  return { ...job, windows, v8: v8 as [number, number], report: JSON.parse(last) as Record<string, unknown> };
}

/** Runs jobs with at most `jobs` at once, in order of the list. */
async function pool<T, R>(items: T[], jobs: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, items.length) }, worker));
  return out;
}

export interface InstructionRow {
  scenario: string;
  variant: string;
  /** Median over the processes. */
  perRoundTrip: number;
  /** Each process's figure, ascending. */
  each: number[];
  /** The most any of its processes' windows spent in V8's compilers and GC, per round trip (left out). */
  v8: number;
  ratio: number;
  windows: [number, number];
  checks: string;
}

function checkOf(variant: string, r: JobResult, o: InstructionOptions): string {
  const problems: string[] = [];
  {
    const total = o.warmup + 3 * o.n + 2 * (r.scenario === CHURN ? CHURN_SETTLE : SETTLE);
    const rep = r.report as {
      exported?: number;
      byKey?: Record<string, number>;
      connectionExchanges?: number;
    };
    const exch = rep.byKey?.['sockscope|exchange'] ?? 0;
    const wantExch = variant === 'all' ? total : 0;
    if (r.scenario === CHURN) {
      // One connection per unit: sockscope's variants export a connection and an exchange span
      // for each, instrumentation-net a tcp.connect span.
      const c = rep.byKey ?? {};
      if (variant === 'net' && c['@opentelemetry/instrumentation-net|tcp.connect'] !== total)
        problems.push(
          `tcp.connect spans ${String(c['@opentelemetry/instrumentation-net|tcp.connect'])} (expected ${total})`,
        );
      if (variant === 'all' || variant === 'nocaller') {
        if (c['sockscope|connection'] !== total)
          problems.push(`connection spans ${String(c['sockscope|connection'])} (expected ${total})`);
        if (exch !== total) problems.push(`exchange spans ${exch} (expected ${total})`);
      }
    } else if (variant !== 'raw' && variant !== 'ignored' && variant !== 'timer') {
      if (exch !== wantExch) problems.push(`exchange spans ${exch} (expected ${wantExch})`);
      if (rep.connectionExchanges !== total)
        problems.push(`sockscope.exchanges ${String(rep.connectionExchanges)} (expected ${total})`);
    }
  }
  return problems.length === 0 ? 'ok' : problems.join('; ');
}

export async function runInstructions(o: InstructionOptions, log: (l: string) => void): Promise<number> {
  const started = Date.now();
  const mods = loadSockscope(o.source ? 'source' : 'build'); // compiles src/ once for every child
  log(`sockscope under test: ${mods.origin}`);
  o.clientBundle = bundleClient();
  const dir = o.keep ?? mkdtempSync(join(tmpdir(), 'sockscope-callgrind-'));
  mkdirSync(dir, { recursive: true });
  const echo = await startEchoServer();
  let results: JobResult[];
  try {
    const jobs: Job[] = [];
    for (const scenario of o.only) {
      for (let rep = 0; rep < o.repeat; rep++) {
        for (const variant of o.variants) {
          const suffix = rep === 0 ? '' : `.r${rep}`;
          jobs.push({
            scenario,
            variant,
            rep,
            out: join(dir, `callgrind.out.${scenario}.${variant}${suffix}`),
          });
        }
      }
    }
    // The sampled reference last: the targets' variants first.
    jobs.sort((a, b) => Number(a.variant === 'all') - Number(b.variant === 'all'));
    log(
      `callgrind: ${jobs.length} processes (${o.only.join(', ')} x ${o.variants.join(', ')} x ` +
        `${o.warmup} + ${o.n} + ${2 * o.n} round trips), ${o.jobs} at a time`,
    );
    results = await pool(jobs, o.jobs, async (j) => {
      const r = await runJob(j, o, echo.port);
      log(
        `  ${j.scenario} ${j.variant}: ${r.windows.map((w) => w.toLocaleString('en-US')).join(' / ')} instructions` +
          ` (${((r.windows[1] - r.windows[0]) / o.n).toFixed(0)} per round trip)`,
      );
      return r;
    });
  } finally {
    await echo.stop();
    rmSync(o.clientBundle, { force: true });
    if (o.keep === undefined) rmSync(dir, { recursive: true, force: true });
  }

  const rows: InstructionRow[] = [];
  for (const scenario of o.only) {
    const per = new Map<string, InstructionRow>();
    for (const variant of o.variants) {
      const runs = results.filter((x) => x.scenario === scenario && x.variant === variant);
      const each = runs
        .map((x) => (x.windows[1] - x.v8[1] - (x.windows[0] - x.v8[0])) / o.n)
        .sort((a, b) => a - b);
      const v8 = runs.map((x) => (x.v8[0] + x.v8[1]) / (3 * o.n));
      const r = runs[0];
      const row: InstructionRow = {
        scenario,
        variant,
        perRoundTrip: each[(each.length - 1) >> 1],
        each,
        v8: Math.max(...v8),
        ratio: NaN,
        windows: r.windows,
        checks: runs.map((x) => checkOf(variant, x, o)).find((c) => c !== 'ok') ?? 'ok',
      };
      per.set(variant, row);
      rows.push(row);
    }
    const raw = per.get('raw')!.perRoundTrip;
    for (const row of per.values()) row.ratio = row.perRoundTrip / raw;
  }
  const md = instructionsMarkdown(rows, o, (Date.now() - started) / 1e3);
  process.stdout.write(`${md}\n`);
  const publish =
    o.only.length === SCENARIOS.length &&
    ['raw', 'none', 'unsampled', 'all'].every((v) => o.variants.includes(v)) &&
    !o.source;
  const outDir = publish ? join(__dirname, '..', 'results') : join(tmpdir(), 'sockscope-bench');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'instructions.md'), md);
  writeFileSync(join(outDir, 'instructions.json'), JSON.stringify({ options: o, rows }, null, 2) + '\n');
  log(
    `wrote ${join(outDir, 'instructions.md')} and instructions.json${o.keep ? `; callgrind files in ${o.keep}` : ''}`,
  );
  return rows.some((r) => r.checks !== 'ok') ? 1 : 0;
}

export function instructionsMarkdown(rows: InstructionRow[], o: InstructionOptions, seconds: number): string {
  const c = cpus();
  const lines = [
    '# Instructions per round trip (callgrind)',
    '',
    `- Date: ${new Date().toISOString()}; ${c[0]?.model.trim() ?? 'unknown'} x ${c.length}; Node ${process.version}; load ${loadavg()
      .map((x) => x.toFixed(2))
      .join(', ')}`,
    `- Command: \`npm run bench -- --instructions --n ${o.n} --warmup ${o.warmup} --repeat ${o.repeat}\`; ${seconds.toFixed(0)} s`,
    `- Each variant in its own client process under \`valgrind ${VALGRIND_FLAGS.join(' ')}\`, node ${NODE_FLAGS.join(' ')};`,
    `  after ${o.warmup} round trips, two windows counted in the same process: per round trip = (window of ${2 * o.n} − window of ${o.n}) / ${o.n},`,
    `  each window less what V8's compilers and collector ran in it (column "V8 in windows": the most of any process, per round trip counted);`,
    `  ${o.repeat} processes per variant: the median, and each process's figure.`,
    '',
    '| scenario | variant | instructions / round trip (median) | ratio to raw | each process | V8 in windows | checks |',
    '| --- | --- | ---: | ---: | --- | ---: | --- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.scenario} | ${r.variant}: ${LABELS[r.variant]} | ${Math.round(r.perRoundTrip).toLocaleString('en-US')} | ` +
        `${r.ratio.toFixed(3)} | ${r.each.map((t) => Math.round(t).toLocaleString('en-US')).join(', ')} | ` +
        `${Math.round(r.v8).toLocaleString('en-US')} | ${r.checks} |`,
    );
  }
  return lines.join('\n') + '\n';
}
