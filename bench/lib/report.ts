/**
 * The issue's targets, judged from one run's medians, and the JSON / Markdown outputs.
 */
import type { GroupStats, VariantStats } from './harness';
import type { MemoryRun } from '../scenarios/memory';

export interface Machine {
  cpu: string;
  cores: number;
  node: string;
  platform: string;
  date: string;
  loadAverage: number[];
  commit: string;
  /** Files under src/ that differ from the commit (the tree measured is the working tree). */
  srcChanges: number;
}

export interface Target {
  id: string;
  scenario: string;
  what: string;
  /** How the measured figure is formed, e.g. `all / floor`. */
  formula: string;
  measured: number;
  limit: number;
  met: boolean;
  /** Other figures that help read this one (overhead ratios, wall ratios). */
  note: string;
  /**
   * The group's A/A control: its baseline measured again as if it were another variant. Its
   * distance from 1 is the smallest difference this run can tell apart from noise.
   */
  control?: number;
  /**
   * The same ratio with sockscope's added CPU taken from a profile of the loop itself (the time in
   * sockscope and what it calls) instead of a difference of two noisy medians.
   */
  profiled?: number;
}

export interface RunReport {
  machine: Machine;
  command: string;
  mode: 'full' | 'smoke';
  rounds: number;
  /** Which sockscope code was measured (compiled build or source through tsx). */
  sockscope: string;
  seconds: number;
  groups: GroupStats[];
  memory: MemoryRun[];
  targets: Target[];
  checksFailed: string[];
  diag: { dropped: number; warnings: string[]; errors: string[] };
}

function v(g: GroupStats | undefined, id: string): VariantStats | undefined {
  return g?.variants.find((x) => x.id === id);
}

const pct = (x: number) => `${x >= 1 ? '+' : ''}${((x - 1) * 100).toFixed(1)}%`;
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
const f3 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const us = (ns: number) => (ns / 1e3).toFixed(2);

/** The overhead of `a` over `base`, as a multiple of the overhead of `b` over `base`. */
function overheadRatio(a: VariantStats, b: VariantStats, base: VariantStats): number {
  return (a.cpuNs - base.cpuNs) / (b.cpuNs - base.cpuNs);
}

export function judge(groups: GroupStats[], memory: MemoryRun[]): Target[] {
  const out: Target[] = [];
  const byId = new Map(groups.map((g) => [g.id, g]));
  const control = (gid: string) => v(byId.get(gid), 'control')?.cpuRatio;
  const user = (x: VariantStats) => `user-CPU ratio ${f3(x.userRatio)}`;
  for (const [peer, suffix] of [
    ['redis', ''],
    ['echo', ''],
    ['redis', '-string'],
    ['echo', '-string'],
  ] as const) {
    const gid = `loop-${peer}${suffix}`;
    const g = byId.get(gid);
    const which = suffix === '' ? peer : `${peer}, string writes`;
    const raw = v(g, 'raw');
    const floor = v(g, 'floor');
    const all = v(g, 'all');
    const uns = v(g, 'unsampled');
    const none = v(g, 'none');
    if (raw && floor && all) {
      const m = all.cpuNs / floor.cpuNs;
      out.push({
        id: `2v3-${peer}${suffix}`,
        scenario: '2 vs 3',
        what: `sockscope 'all' per exchange vs the bare-span floor (${which})`,
        formula: 'CPU(all) / CPU(floor)',
        measured: m,
        limit: 1.3,
        met: m <= 1.3,
        note: `overhead over raw: sockscope ${us(all.cpuNs - raw.cpuNs)} µs vs floor ${us(floor.cpuNs - raw.cpuNs)} µs (${f2(overheadRatio(all, floor, raw))}x); profile: sockscope and the SDK work it causes ${us(all.attributedNs)} µs; best-round ${f3(all.cpuNsMin / floor.cpuNsMin)}; user-CPU ratio ${f3(all.userNs / floor.userNs)}; wall ${f3(all.wallNs / floor.wallNs)}`,
        control: control(gid),
      });
    }
    if (raw && uns) {
      out.push({
        id: `5-${peer}${suffix}`,
        scenario: '5',
        what: `unsampled parent, sockscope 'all', vs raw (${which})`,
        formula: 'CPU(unsampled) / CPU(raw)',
        measured: uns.cpuRatio,
        limit: 1.05,
        met: uns.cpuRatio <= 1.05,
        note: `paired ${f3(uns.pairedCpuRatio)}, best-round ${f3(uns.bestCpuRatio)}; ${user(uns)}; +${us(uns.cpuNs - raw.cpuNs)} µs per round trip; profile: sockscope ${us(uns.attributedNs)} µs per round trip; wall ${f3(uns.wallRatio)}`,
        control: control(gid),
        profiled: (raw.cpuNs + uns.attributedNs) / raw.cpuNs,
      });
    }
    if (raw && none) {
      out.push({
        id: `6-${peer}${suffix}`,
        scenario: '6',
        what: `exchanges:'none' vs raw (${which})`,
        formula: 'CPU(none) / CPU(raw)',
        measured: none.cpuRatio,
        limit: 1.02,
        met: none.cpuRatio <= 1.02,
        note: `paired ${f3(none.pairedCpuRatio)}, best-round ${f3(none.bestCpuRatio)}; ${user(none)}; +${us(none.cpuNs - raw.cpuNs)} µs per round trip; profile: sockscope ${us(none.attributedNs)} µs per round trip; wall ${f3(none.wallRatio)}`,
        control: control(gid),
        profiled: (raw.cpuNs + none.attributedNs) / raw.cpuNs,
      });
    }
  }
  for (const [gid, label] of [
    ['ioredis', '4'],
    ['ioredis-per20', '4 (20 GETs per parent, informative)'],
  ] as const) {
    const io = byId.get(gid);
    const bare = v(io, 'bare');
    const official = v(io, 'ioredis');
    const unc = v(io, 'uncovered');
    const all = v(io, 'all');
    const suffix = gid === 'ioredis' ? '' : '-per20';
    if (official && unc) {
      out.push({
        id: `4-uncovered${suffix}`,
        scenario: label,
        what: "sockscope 'uncovered' on a covered client vs instrumentation-ioredis alone",
        formula: 'CPU(+uncovered) / CPU(ioredis)',
        measured: unc.cpuRatio,
        limit: 1.03,
        met: unc.cpuRatio <= 1.03,
        note: `paired ${f3(unc.pairedCpuRatio)}, best-round ${f3(unc.bestCpuRatio)}; ${user(unc)}; profile: sockscope ${us(unc.attributedNs)} µs per GET; throughput (wall) ratio ${f3(1 / unc.wallRatio)}`,
        control: control(gid),
        profiled: (official.cpuNs + unc.attributedNs) / official.cpuNs,
      });
    }
    if (bare && official && all) {
      const m = (all.cpuNs - official.cpuNs) / (official.cpuNs - bare.cpuNs);
      out.push({
        id: `4-all${suffix}`,
        scenario: label,
        what: "sockscope 'all' added cost vs the ioredis instrumentation's own per-command cost",
        formula: '(CPU(+all) - CPU(ioredis)) / (CPU(ioredis) - CPU(bare))',
        measured: m,
        limit: 1.0,
        met: m <= 1.0,
        note: `sockscope +${us(all.cpuNs - official.cpuNs)} µs vs instrumentation-ioredis +${us(official.cpuNs - bare.cpuNs)} µs per GET; profile: sockscope and the SDK work it causes ${us(all.attributedNs)} µs vs instrumentation-ioredis ${us(official.attributedIoredisNs)} µs per GET`,
        profiled: all.attributedNs / official.attributedIoredisNs,
      });
    }
  }
  const ch = byId.get('churn');
  const none = v(ch, 'none');
  const netv = v(ch, 'net');
  const ss = v(ch, 'sockscope');
  if (none && netv && ss) {
    out.push({
      id: '7',
      scenario: '7',
      what: 'sockscope per connection vs instrumentation-net',
      formula: 'CPU(sockscope) / CPU(net)',
      measured: ss.cpuRatio,
      limit: 1.3,
      met: ss.cpuRatio <= 1.3,
      note: `overhead over none: sockscope +${us(ss.cpuNs - none.cpuNs)} µs vs instrumentation-net +${us(netv.cpuNs - none.cpuNs)} µs (${f2(overheadRatio(ss, netv, none))}x); paired ${f3(ss.pairedCpuRatio)}, best-round ${f3(ss.bestCpuRatio)}; ${user(ss)}; profile: sockscope ${us(ss.attributedNs)} µs vs instrumentation-net ${us(netv.attributedNetNs)} µs per connection`,
      control: control('churn'),
      profiled: (none.cpuNs + ss.attributedNs) / (none.cpuNs + netv.attributedNetNs),
    });
    const noCaller = v(ch, 'nocaller');
    if (noCaller) {
      out.push({
        id: '7-nocaller',
        scenario: '7 (informative)',
        what: 'sockscope without the caller-package capture (captureCallerPackage: false) vs instrumentation-net',
        formula: 'CPU(nocaller) / CPU(net)',
        measured: noCaller.cpuRatio,
        limit: 1.3,
        met: noCaller.cpuRatio <= 1.3,
        note: `overhead over none: +${us(noCaller.cpuNs - none.cpuNs)} µs; the stack capture: ${us(ss.cpuNs - noCaller.cpuNs)} µs per connection (profile: ${us(ss.attributedNs - noCaller.attributedNs)} µs); paired ${f3(noCaller.pairedCpuRatio)}`,
        control: control('churn'),
        profiled: (none.cpuNs + noCaller.attributedNs) / (none.cpuNs + netv.attributedNetNs),
      });
    }
  }
  for (const m of memory) {
    const peak = Math.max(m.afterMB, m.afterCloseMB, ...m.points.map((p) => p.heapMB));
    const grew = peak - m.beforeMB;
    out.push({
      id: `8-${m.id}`,
      scenario: m.id === 'coverage' ? '8 (covered client, informative)' : '8',
      what: `heap after ${m.title}`,
      formula: 'max(heap along the run, after close) - heap before, MB',
      measured: grew,
      limit: 5,
      met: grew <= 5,
      note: `peak ${f2(peak)} MB; ${f2(m.beforeMB)} → ${f2(m.afterMB)} MB (open) → ${f2(m.afterCloseMB)} MB (closed); slope ${f2(m.slopeMBPerMillion)} MB per million`,
    });
  }
  return out;
}

/**
 * met, or missed; a miss by less than the group's A/A noise is marked so: that run could not tell
 * it from a hit.
 */
function verdict(t: Target): string {
  if (t.met) return 'met';
  const noise = t.control !== undefined ? Math.abs(t.control - 1) : 0;
  return t.measured - t.limit <= noise ? '**missed**, within the A/A noise' : '**missed**';
}

export function toMarkdown(r: RunReport): string {
  const L: string[] = [];
  const m = r.machine;
  L.push(`# sockscope benchmark: ${r.mode === 'smoke' ? 'smoke run (not for publishing)' : 'latest run'}`);
  L.push('');
  L.push(`- Date: ${m.date}`);
  L.push(`- Machine: ${m.cpu}, ${m.cores} cores, ${m.platform}; Node ${m.node}`);
  L.push(
    `- Load average at start: ${m.loadAverage.map((x) => x.toFixed(2)).join(', ')} (shared machine: absolute numbers are noisy, ratios within the run hold)`,
  );
  L.push(
    `- Commit: ${m.commit}${m.srcChanges > 0 ? ` plus ${m.srcChanges} uncommitted file(s) under src/` : ''}`,
  );
  L.push(`- Command: \`${r.command}\`; ${r.rounds} interleaved rounds; ${(r.seconds / 60).toFixed(1)} min`);
  L.push(`- sockscope measured: ${r.sockscope}`);
  L.push(
    '- Primary figure: client process CPU time (user + system) per operation, median over rounds; wall time beside it.',
  );
  L.push('');
  L.push('## Targets');
  L.push('');
  L.push(
    "A/A control: each group's baseline measured a second time as if it were another variant; its ratio to the baseline is this run's noise, the smallest difference the run can resolve.",
  );
  L.push(
    "By profile: the same ratio with sockscope's added CPU (and instrumentation-net's or -ioredis's, for their baselines) taken from CPU profiles of three more blocks of that variant (one in a smoke run): the time spent in its code and in what it calls, not in the methods it wraps; garbage collection is not attributed.",
  );
  L.push('');
  L.push('| scenario | what | measured | target | verdict | A/A control | by profile | notes |');
  L.push('| --- | --- | ---: | ---: | --- | ---: | ---: | --- |');
  for (const t of r.targets) {
    const measured = t.id.startsWith('8-') ? `${f2(t.measured)} MB` : f3(t.measured);
    const limit = t.id.startsWith('8-') ? `≤ ${t.limit} MB` : `≤ ${t.limit.toFixed(2)}`;
    L.push(
      `| ${t.scenario} | ${t.what} (\`${t.formula}\`) | ${measured} | ${limit} | ${verdict(t)} | ${t.control !== undefined ? f3(t.control) : ''} | ${t.profiled !== undefined ? `${f3(t.profiled)} (${t.profiled <= t.limit ? 'met' : 'missed'})` : ''} | ${t.note} |`,
    );
  }
  L.push('');
  for (const g of r.groups) {
    L.push(`## ${g.title}`);
    L.push('');
    L.push(
      `Baseline: \`${g.baseline}\`. Per ${g.unit}; ${g.variants[0]?.ops.toLocaleString('en-US')} ${g.unit}s per block.`,
    );
    L.push('');
    L.push(
      '| variant | CPU µs | CPU ratio | paired ratio | best-round ratio | user µs | user ratio | sockscope µs (profile) | main thread µs (profile) | GC µs (profile) | wall µs | wall ratio | spans / op | dropped |',
    );
    L.push(
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    );
    for (const x of g.variants) {
      L.push(
        `| ${x.id}: ${x.label} | ${us(x.cpuNs)} | ${f3(x.cpuRatio)} (${pct(x.cpuRatio)}) | ${f3(x.pairedCpuRatio)} | ${f3(x.bestCpuRatio)} | ${us(x.userNs)} | ${f3(x.userRatio)} | ${us(x.attributedNs)} | ${us(x.profiledBusyNs)} | ${us(x.profiledGcNs)} | ${us(x.wallNs)} | ${f3(x.wallRatio)} | ${x.spansPerOp.toFixed(3)} | ${x.dropped} |`,
      );
    }
    const names = [...new Set(g.variants.filter((x) => x.id !== 'floor').flatMap((x) => x.names))];
    if (names.length > 0) L.push('', `Exchange spans seen as: ${names.map((n) => `\`${n}\``).join(', ')}.`);
    L.push('');
  }
  if (r.memory.length > 0) {
    L.push('## Memory (scenario 8)');
    L.push('');
    L.push('| run | heap before | heap after (open) | after close | slope MB / million | time |');
    L.push('| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const x of r.memory) {
      L.push(
        `| ${x.title} | ${f2(x.beforeMB)} MB | ${f2(x.afterMB)} MB | ${f2(x.afterCloseMB)} MB | ${f2(x.slopeMBPerMillion)} | ${x.seconds.toFixed(0)} s |`,
      );
    }
    L.push('');
    for (const x of r.memory) {
      L.push(
        `Heap along "${x.title}": ${x.points.map((p) => `${p.at.toLocaleString('en-US')}: ${f2(p.heapMB)}`).join(' · ')} MB`,
      );
      L.push('');
    }
  }
  L.push('## Checks');
  L.push('');
  if (r.checksFailed.length === 0) {
    L.push('Every variant exported exactly the spans it should (counted per variant), with no span dropped.');
  } else {
    for (const c of r.checksFailed) L.push(`- FAILED: ${c}`);
  }
  L.push(`Batch processor drops reported by the SDK's diag warning: ${r.diag.dropped}.`);
  if (r.diag.errors.length > 0) L.push(`Diag errors: ${r.diag.errors.slice(0, 5).join('; ')}`);
  L.push('');
  return L.join('\n');
}
