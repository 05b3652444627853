/**
 * Measuring and interleaving. A variant is one way of running the same workload; a group is the
 * set of variants compared against one baseline. Every round runs each variant of a group once,
 * in order (A B C A B C ...), so that slow drift of the machine (other jobs, thermal state) hits
 * all variants alike, with a forced GC between variants (before the next one's warm-up).
 *
 * Not between a warm-up and its measurement: a forced full GC makes V8 throw away optimised code
 * (code whose weakly held maps died, old bytecode), and a block measured right after one paid for
 * re-optimising it, more for variants with more code on the path. Measured on the Redis loop: raw
 * 41.6 µs and sockscope 'none' 49.4 µs per round trip with a GC right before each block, 35.7 and
 * 35.6 µs without.
 */
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import {
  INSTRUMENTATION_IOREDIS,
  INSTRUMENTATION_NET,
  SOCKSCOPE,
  attributeTo,
  type CpuProfile,
} from './attribution';

export interface Sample {
  ops: number;
  /** Client process CPU time (user + system) in ns, for the whole block. */
  cpuNs: number;
  userNs: number;
  sysNs: number;
  wallNs: number;
}

export interface Check {
  what: string;
  ok: boolean;
  detail: string;
}

export interface BlockResult {
  sample: Sample;
  checks: Check[];
  /** Spans the batch processor dropped in this block. */
  dropped: number;
  /** Spans exported in this block, by `scope|kind`. */
  spans: Record<string, number>;
  /** Operations the block ran in all, warm-up included (what the spans are divided by). */
  totalOps: number;
  /** Names of the sockscope exchange spans seen (shows which protocol path was measured). */
  names?: string[];
}

export interface VariantDef {
  id: string;
  label: string;
  run(): Promise<BlockResult>;
}

export interface GroupDef {
  id: string;
  title: string;
  /** Unit of one operation in the tables: `round trip`, `GET`, `connection`. */
  unit: string;
  baseline: string;
  variants: VariantDef[];
}

export interface VariantStats {
  id: string;
  label: string;
  rounds: number;
  ops: number;
  cpuNsPerOp: number[];
  wallNsPerOp: number[];
  /** Medians over rounds. */
  cpuNs: number;
  wallNs: number;
  userShare: number;
  /**
   * CPU time per operation that profiles of more blocks of this variant attribute to sockscope and
   * what it calls (ns): measured in the loop itself, not subject to the run's noise the way a difference
   * of two medians is. 0 for variants without sockscope.
   */
  attributedNs: number;
  /** The same for `@opentelemetry/instrumentation-net` (scenario 7's baseline). */
  attributedNetNs: number;
  /** The same for `@opentelemetry/instrumentation-ioredis` (scenario 4's baseline). */
  attributedIoredisNs: number;
  /** From the same profile: main-thread CPU per operation, and of it garbage collection (ns). */
  profiledBusyNs: number;
  profiledGcNs: number;
  /** Median user-mode CPU per operation (sockscope adds only user-mode work; system time is the kernel's). */
  userNs: number;
  /** Ratio of medians of user-mode CPU per operation against the baseline's. */
  userRatio: number;
  /** Median over rounds of this variant / the baseline of the same round (paired). */
  pairedCpuRatio: number;
  /** Ratio of medians: this variant's median / the baseline's median (the published figure). */
  cpuRatio: number;
  /** Least-disturbed estimate: this variant's fastest round / the baseline's fastest round. On a
   * loaded machine other processes only ever add CPU time (cache pollution, preemption). */
  bestCpuRatio: number;
  cpuNsMin: number;
  wallRatio: number;
  dropped: number;
  spans: Record<string, number>;
  /** Exported spans per operation (warm-up included), over all rounds. */
  spansPerOp: number;
  names: string[];
  checks: Check[];
}

export interface GroupStats {
  id: string;
  title: string;
  unit: string;
  baseline: string;
  variants: VariantStats[];
}

export function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g === undefined) throw new Error('run node with --expose-gc (npm run bench does)');
  g();
  g();
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Set while a variant runs once more under the CPU profiler (after the timed rounds). */
let profiling: { profile?: CpuProfile; ops?: number } | undefined;

/**
 * Runs `body` (which performs `ops` operations), timing CPU and wall clock; while `profiling` is
 * set, records a CPU profile of the body instead of being timed for the results. The caller has
 * warmed up first; the GC between variants is `runGroup`'s.
 */
export async function measure(ops: number, body: () => Promise<void>): Promise<Sample> {
  const prof = profiling;
  const session = prof !== undefined ? await startProfiler() : undefined;
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  await body();
  const wallNs = (performance.now() - t0) * 1e6;
  const c = process.cpuUsage(c0);
  if (prof !== undefined && session !== undefined) {
    prof.profile = ((await session.post('Profiler.stop')) as { profile: CpuProfile }).profile;
    prof.ops = ops;
    session.disconnect();
  }
  return {
    ops,
    cpuNs: (c.user + c.system) * 1e3,
    userNs: c.user * 1e3,
    sysNs: c.system * 1e3,
    wallNs,
  };
}

async function startProfiler(): Promise<Session> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 100 µs: a few thousand samples per block, enough to resolve a 1% share.
  await session.post('Profiler.setSamplingInterval', { interval: 100 });
  await session.post('Profiler.start');
  return session;
}

interface Attributed {
  sockscope: number;
  net: number;
  ioredis: number;
  /** Main-thread CPU in the profiled blocks (not idle), and of it garbage collection. */
  busy: number;
  gc: number;
  ops: number;
}

/**
 * Runs a variant once more with the CPU profiler on, and returns the CPU time (µs) its profile
 * attributes to sockscope and what it calls (lib/attribution.ts), and to the two baselines'
 * instrumentations, with the operations the block measured.
 */
async function profileBlock(v: VariantDef): Promise<Attributed | undefined> {
  const prof: { profile?: CpuProfile; ops?: number } = {};
  profiling = prof;
  try {
    await v.run();
  } finally {
    profiling = undefined;
  }
  gc();
  const p = prof.profile;
  if (p === undefined || prof.ops === undefined) return undefined;
  const ours = attributeTo(p, SOCKSCOPE);
  return {
    sockscope: ours.ownerUs,
    net: attributeTo(p, INSTRUMENTATION_NET).ownerUs,
    ioredis: attributeTo(p, INSTRUMENTATION_IOREDIS).ownerUs,
    busy: ours.busyUs,
    gc: ours.gcUs,
    ops: prof.ops,
  };
}

export function check(what: string, ok: boolean, detail: string): Check {
  return { what, ok, detail };
}

/** `actual === expected` as a check. */
export function expectCount(what: string, actual: number | undefined, expected: number): Check {
  const a = actual ?? 0;
  return check(what, a === expected, `${a} (expected ${expected})`);
}

export function expectAtLeast(what: string, actual: number | undefined, min: number): Check {
  const a = actual ?? 0;
  return check(what, a >= min, `${a} (expected >= ${min})`);
}

export function expectAtMost(what: string, actual: number | undefined, max: number): Check {
  const a = actual ?? 0;
  return check(what, a <= max, `${a} (expected <= ${max})`);
}

export async function runGroup(
  group: GroupDef,
  rounds: number,
  log: (line: string) => void,
  profiledBlocks = 3,
): Promise<GroupStats> {
  const results = new Map<string, BlockResult[]>();
  for (const v of group.variants) results.set(v.id, []);
  for (let r = 0; r < rounds; r++) {
    const parts: string[] = [];
    for (const v of group.variants) {
      gc(); // the previous variant's garbage is collected now, before this one's warm-up
      const res = await v.run();
      results.get(v.id)!.push(res);
      const failed = res.checks.filter((c) => !c.ok);
      parts.push(
        `${v.id} ${(res.sample.cpuNs / res.sample.ops / 1e3).toFixed(1)}µs` +
          (failed.length > 0 ? ' CHECK FAILED' : ''),
      );
      for (const f of failed) log(`    check failed: ${group.id}/${v.id}: ${f.what}: ${f.detail}`);
    }
    log(`  ${group.id} round ${r + 1}/${rounds}: ${parts.join(', ')}`);
  }
  const base = results.get(group.baseline);
  if (base === undefined) throw new Error(`${group.id}: baseline ${group.baseline} is not a variant`);
  const baseCpu = base.map((b) => b.sample.cpuNs / b.sample.ops);
  const baseCpuMedian = median(baseCpu);
  const baseWallMedian = median(base.map((b) => b.sample.wallNs / b.sample.ops));
  const baseUserMedian = median(base.map((b) => b.sample.userNs / b.sample.ops));
  // Profiled blocks, interleaved like the rounds; their times are summed (a single block of a
  // cheap variant holds only a few dozen of sockscope's samples).
  const sums = new Map<string, Attributed>();
  for (let b = 0; b < profiledBlocks; b++) {
    for (const v of group.variants) {
      const a = await profileBlock(v);
      if (a === undefined) continue;
      const t = sums.get(v.id);
      if (t === undefined) sums.set(v.id, a);
      else for (const k of Object.keys(a) as (keyof Attributed)[]) t[k] += a[k];
    }
  }
  const attributed = new Map<string, Omit<Attributed, 'ops'>>();
  for (const [id, t] of sums) {
    const per = (us: number) => (us * 1e3) / t.ops;
    attributed.set(id, {
      sockscope: per(t.sockscope),
      net: per(t.net),
      ioredis: per(t.ioredis),
      busy: per(t.busy),
      gc: per(t.gc),
    });
  }
  log(
    `  ${group.id} profiled (${profiledBlocks} blocks each): ${group.variants.map((v) => `${v.id} ${((attributed.get(v.id)?.sockscope ?? NaN) / 1e3).toFixed(2)}µs`).join(', ')} attributed to sockscope`,
  );
  const variants = group.variants.map((v): VariantStats => {
    const rs = results.get(v.id)!;
    const cpu = rs.map((b) => b.sample.cpuNs / b.sample.ops);
    const userMedian = median(rs.map((b) => b.sample.userNs / b.sample.ops));
    const wall = rs.map((b) => b.sample.wallNs / b.sample.ops);
    const spans: Record<string, number> = {};
    for (const b of rs) for (const [k, n] of Object.entries(b.spans)) spans[k] = (spans[k] ?? 0) + n;
    const cpuMedian = median(cpu);
    const wallMedian = median(wall);
    // Checks are kept once per distinct failure, plus one passing example of each.
    const checks = new Map<string, Check>();
    for (const b of rs) for (const c of b.checks) if (!checks.has(c.what) || !c.ok) checks.set(c.what, c);
    return {
      id: v.id,
      label: v.label,
      rounds: rs.length,
      ops: rs[0]?.sample.ops ?? 0,
      cpuNsPerOp: cpu,
      wallNsPerOp: wall,
      cpuNs: cpuMedian,
      wallNs: wallMedian,
      userShare: median(rs.map((b) => b.sample.userNs / b.sample.cpuNs)),
      attributedNs: attributed.get(v.id)?.sockscope ?? NaN,
      attributedNetNs: attributed.get(v.id)?.net ?? NaN,
      attributedIoredisNs: attributed.get(v.id)?.ioredis ?? NaN,
      profiledBusyNs: attributed.get(v.id)?.busy ?? NaN,
      profiledGcNs: attributed.get(v.id)?.gc ?? NaN,
      userNs: userMedian,
      userRatio: userMedian / baseUserMedian,
      pairedCpuRatio: median(cpu.map((c, i) => c / baseCpu[i])),
      cpuRatio: cpuMedian / baseCpuMedian,
      bestCpuRatio: Math.min(...cpu) / Math.min(...baseCpu),
      cpuNsMin: Math.min(...cpu),
      wallRatio: wallMedian / baseWallMedian,
      dropped: rs.reduce((a, b) => a + b.dropped, 0),
      spans,
      spansPerOp:
        Object.entries(spans)
          .filter(([k]) => !k.endsWith('.covered'))
          .reduce((a, [, n]) => a + n, 0) /
        Math.max(
          1,
          rs.reduce((a, b) => a + b.totalOps, 0),
        ),
      names: [...new Set(rs.flatMap((b) => b.names ?? []))],
      checks: [...checks.values()],
    };
  });
  return { id: group.id, title: group.title, unit: group.unit, baseline: group.baseline, variants };
}
