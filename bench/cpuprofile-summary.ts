/**
 * Summarises a V8 `.cpuprofile` (from `node --cpu-prof`): self time by function and by area
 * (sockscope's src/, the OpenTelemetry SDK and API, Node internals, the benchmark, GC, idle).
 *
 *   node --import tsx bench/cpuprofile-summary.ts FILE.cpuprofile [--top N] [--filter TEXT] [--skip FN,...] [--per N]
 *
 * It also prints the time attributed to sockscope as a whole (see lib/attribution.ts).
 *
 * `--skip` leaves out samples whose own frame is one of the named functions (spawnSync: the build
 * of src/ at start-up) from every share. `--per N` also prints each row's time divided by N
 * (the operations the profiled run performed): ns per operation.
 */
import { readFileSync } from 'node:fs';
import { SOCKSCOPE, area, attributeTo, selfTimes, type CpuProfile } from './lib/attribution';

function main(): void {
  const args = process.argv.slice(2);
  const file = args[0];
  if (file === undefined) throw new Error('usage: cpuprofile-summary FILE [--top N] [--filter TEXT]');
  const top = Number(args[args.indexOf('--top') + 1]) || 30;
  const filter = args.includes('--filter') ? args[args.indexOf('--filter') + 1] : undefined;
  const skip = new Set(args.includes('--skip') ? args[args.indexOf('--skip') + 1].split(',') : ['spawnSync']);
  const p = JSON.parse(readFileSync(file, 'utf8')) as Required<CpuProfile>;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const self = selfTimes(p);
  let total = 0;
  let busy = 0;
  const byFn = new Map<string, number>();
  const byArea = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    if (skip.has(functionName)) continue;
    total += t;
    const a = area(url, functionName);
    if (a !== '(idle)') busy += t;
    byArea.set(a, (byArea.get(a) ?? 0) + t);
    const short = url
      .replace(/^file:\/\//, '')
      .replace(/.*sockscope-bench\/dist\//, 'src/ (compiled) ')
      .replace(/.*\/(node_modules|work\/main)\//, '');
    const key = `${functionName || '(anonymous)'}  ${short}:${lineNumber + 1}`;
    byFn.set(key, (byFn.get(key) ?? 0) + t);
  }
  const ourTime = attributeTo(p, SOCKSCOPE, skip).ownerUs;
  const per = args.includes('--per') ? Number(args[args.indexOf('--per') + 1]) : undefined;
  const pct = (t: number) =>
    `${((100 * t) / busy).toFixed(1).padStart(5)}%` +
    (per !== undefined ? ` ${((t * 1e3) / per).toFixed(0).padStart(5)} ns/op` : '');
  process.stdout.write(
    `${file}: ${(total / 1e6).toFixed(2)} s sampled, ${(busy / 1e6).toFixed(2)} s not idle (shares below are of non-idle time)\n\nBy area:\n`,
  );
  for (const [a, t] of [...byArea].sort((x, y) => y[1] - x[1])) {
    if (a !== '(idle)') process.stdout.write(`  ${pct(t)}  ${a}\n`);
  }
  process.stdout.write(
    `\nAttributed to sockscope (its code and what it calls, not what its wrappers pass on; GC aside):\n  ${pct(ourTime)}  ${(ourTime / 1e6).toFixed(3)} s\n`,
  );
  process.stdout.write(
    `\nTop ${top} functions by self time${filter !== undefined ? ` (matching ${filter})` : ''}:\n`,
  );
  const rows = [...byFn]
    .filter(([k]) => filter === undefined || k.includes(filter))
    .sort((x, y) => y[1] - x[1]);
  for (const [k, t] of rows.slice(0, top)) process.stdout.write(`  ${pct(t)}  ${k}\n`);
}

main();
