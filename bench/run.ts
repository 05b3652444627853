/**
 * sockscope's benchmark harness: `npm run bench` (node --expose-gc --import tsx bench/run.ts).
 *
 *   --rounds N   interleaved rounds per scenario group (default 15, at least 1)
 *   --smoke      one short round of everything; prints the report, writes only to a temp file
 *   --only IDS   comma-separated groups: loop-redis, loop-echo, loop-redis-string, loop-echo-string,
 *                ioredis, ioredis-per20, churn, memory
 *   --source     measure src/ through tsx instead of src/ compiled by tsc (see lib/sockscope.ts)
 *   --instructions  instructions per round trip under callgrind instead (slow, not in CI; options in
 *                callgrind/instructions.ts)
 *
 * A full run writes bench/results/latest.json and latest.md. Timings never fail the run; the exit
 * code is 1 only when the harness breaks or a variant did not produce the spans it should.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gc, runGroup, type GroupDef, type GroupStats } from './lib/harness';
import { diagLog, loadInstrumentedModules } from './lib/otel';
import { echoPeer, redisPeer, startEchoServer, type EchoServer } from './lib/peers';
import { sockscopeModules } from './lib/sockscope';
import { judge, toMarkdown, type Machine, type RunReport } from './lib/report';
import { churnGroup } from './scenarios/churn';
import { BENCH_KEY, ioredisGroup, newClient } from './scenarios/ioredis';
import { loopGroup } from './scenarios/loop';
import { memoryCoverage } from './scenarios/memory-coverage';
import { memoryExchanges, memorySockets, type MemoryRun } from './scenarios/memory';
import { parseInstructionArgs, runInstructions } from './callgrind/instructions';

interface Options {
  rounds: number;
  smoke: boolean;
  only: Set<string> | undefined;
  source: boolean;
}

function parseArgs(argv: string[]): Options {
  // More, shorter rounds rather than a few long ones: on a shared machine load comes in bursts
  // that spoil whole blocks, and the median of more rounds shrugs them off.
  const o: Options = { rounds: 15, smoke: false, only: undefined, source: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--smoke') o.smoke = true;
    else if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a.startsWith('--rounds=')) o.rounds = Number(a.slice(9));
    else if (a === '--source') o.source = true;
    else if (a === '--only') o.only = new Set(argv[++i]?.split(','));
    else if (a.startsWith('--only=')) o.only = new Set(a.slice(7).split(','));
    else throw new Error(`unknown argument ${a} (use --rounds N, --smoke, --only IDS)`);
  }
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error('--rounds needs a positive integer');
  if (o.smoke) {
    o.rounds = 1;
    o.source = true;
  }
  return o;
}

/**
 * Operations per measured block, sized for blocks of 0.3 to 0.5 s on a 2-core machine (smoke: a
 * few ms): many short rounds rather than a few long ones, so the median shrugs off load bursts.
 * Warm-ups are long: switching instrumentations re-patches `net.Socket.prototype`, V8 throws away
 * the optimised code that depended on it, and a short warm-up measured the re-optimisation (on the
 * compiler threads and in slower code) instead of the steady state a service runs in.
 */
function sizes(smoke: boolean) {
  return smoke
    ? {
        loop: { ops: 300, warmup: 100 },
        ioredis: { ops: 300, warmup: 100 },
        churn: { ops: 100, warmup: 30 },
        memExchanges: 3000,
        memSockets: 300,
        memCoverage: 600,
        checkpoints: 2,
      }
    : {
        loop: { ops: 5000, warmup: 4000 },
        ioredis: { ops: 3000, warmup: 2500 },
        churn: { ops: 600, warmup: 300 },
        memExchanges: 1_000_000,
        memSockets: 10_000,
        memCoverage: 30_000,
        checkpoints: 6,
      };
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function machine(): Machine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    cores: c.length,
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    date: new Date().toISOString(),
    loadAverage: loadavg(),
    commit: git(['rev-parse', '--short', 'HEAD']) || 'unknown',
    srcChanges: git(['status', '--porcelain', '--', 'src']).split('\n').filter(Boolean).length,
  };
}

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  if (argv.includes('--instructions')) {
    return runInstructions(parseInstructionArgs(argv), (line) => process.stderr.write(`${line}\n`));
  }
  const opts = parseArgs(argv);
  const want = (id: string) => opts.only === undefined || opts.only.has(id);
  const size = sizes(opts.smoke);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const started = Date.now();
  const mach = machine();
  gc();

  const Redis = loadInstrumentedModules(opts.source ? 'source' : 'build');
  const mods = sockscopeModules();
  log(`sockscope under test: ${mods.origin}`);
  if (mods.buildErrors !== '') log(`note: src/ did not type-check (JS emitted anyway):\n${mods.buildErrors}`);
  let echo: EchoServer | undefined;
  const groups: GroupStats[] = [];
  const memory: MemoryRun[] = [];
  try {
    echo = await startEchoServer();
    const echoP = echoPeer(echo.port);
    const setup = newClient(Redis);
    await setup.connect();
    await setup.set(BENCH_KEY, 'v'.repeat(32), 'EX', 3600);
    await setup.quit();

    const defs: GroupDef[] = [];
    if (want('loop-redis')) defs.push(loopGroup(redisPeer(), size.loop));
    if (want('loop-echo')) defs.push(loopGroup(echoP, size.loop));
    if (want('loop-redis-string')) defs.push(loopGroup(redisPeer(), size.loop, true));
    if (want('loop-echo-string')) defs.push(loopGroup(echoP, size.loop, true));
    if (want('ioredis')) defs.push(ioredisGroup(Redis, size.ioredis));
    if (want('ioredis-per20')) defs.push(ioredisGroup(Redis, size.ioredis, 20));
    if (want('churn')) defs.push(churnGroup(echoP, size.churn));
    for (const d of defs) {
      log(`${d.title}: ${d.variants.map((x) => x.id).join(' ')} x ${opts.rounds} rounds`);
      groups.push(await runGroup(d, opts.rounds, log, opts.smoke ? 1 : 3));
    }
    if (want('memory')) {
      log(`Memory: ${size.memExchanges} exchanges on one socket`);
      memory.push(await memoryExchanges(echoP, size.memExchanges, size.checkpoints));
      log(`Memory: ${size.memSockets} sockets opened and closed`);
      memory.push(await memorySockets(echoP, size.memSockets, size.checkpoints));
      log(`Memory: ${size.memCoverage} covered ioredis GETs with the coverage processor (informative)`);
      memory.push(await memoryCoverage(Redis, size.memCoverage, size.checkpoints));
    }
    const cleanup = newClient(Redis);
    await cleanup.connect();
    await cleanup.del(BENCH_KEY);
    await cleanup.quit();
  } finally {
    await echo?.stop();
  }

  const checksFailed: string[] = [];
  for (const g of groups) {
    for (const x of g.variants) {
      for (const c of x.checks) if (!c.ok) checksFailed.push(`${g.id}/${x.id}: ${c.what}: ${c.detail}`);
    }
  }
  for (const m of memory)
    for (const c of m.checks) if (!c.ok) checksFailed.push(`memory/${m.id}: ${c.what}: ${c.detail}`);
  for (const e of diagLog.errors) checksFailed.push(`diag error: ${e}`);

  const report: RunReport = {
    machine: mach,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    mode: opts.smoke ? 'smoke' : 'full',
    rounds: opts.rounds,
    sockscope: sockscopeModules().origin,
    seconds: (Date.now() - started) / 1e3,
    groups,
    memory,
    targets: judge(groups, memory),
    checksFailed,
    diag: diagLog,
  };
  const md = toMarkdown(report);
  const json = JSON.stringify(report, null, 2) + '\n';
  // Only a full, unfiltered run is published; smoke and partial runs go to a temp folder.
  const publish = !opts.smoke && opts.only === undefined;
  const dir = publish ? join(__dirname, 'results') : join(tmpdir(), 'sockscope-bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'latest.json'), json);
  writeFileSync(join(dir, 'latest.md'), md);
  process.stdout.write(md + '\n');
  log(`wrote ${join(dir, 'latest.md')} and latest.json`);
  return checksFailed.length > 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(
      `bench: harness failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
    );
    process.exit(1);
  },
);
