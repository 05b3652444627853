/**
 * Instructions per round trip by function, from the kept files of an instruction run, for each
 * variant and as the difference from raw:
 *
 *   npm run bench -- --instructions --keep /tmp/cg ...   # (with --keep, node runs --perf-basic-prof)
 *   node --import tsx bench/callgrind/breakdown.ts /tmp/cg redis-buffer [--self] [--sum] [--top 40] [--n 1000]
 *
 * Per function: (cost in the window of 2N − cost in the window of N) / N, as `callgrind_annotate`
 * reports it (inclusive by default: the function and what it calls; `--self` for its own
 * instructions only, which add up to the whole difference). JIT code, which callgrind knows only by
 * address, is named from the `/tmp/perf-PID.map` V8 wrote for that process; functions are matched
 * across variants by name.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface PerfEntry {
  start: bigint;
  end: bigint;
  name: string;
}

function perfMap(pid: string): PerfEntry[] {
  const file = `/tmp/perf-${pid}.map`;
  if (!existsSync(file)) return [];
  const out: PerfEntry[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (m === null) continue;
    const start = BigInt(`0x${m[1]}`);
    out.push({ start, end: start + BigInt(`0x${m[2]}`), name: m[3] });
  }
  // Later entries win (code re-created at an address): keep the last per start, sorted.
  out.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  return out;
}

function lookup(map: PerfEntry[], addr: bigint): string | undefined {
  let lo = 0;
  let hi = map.length - 1;
  let found: PerfEntry | undefined;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (map[mid].start <= addr) {
      found = map[mid];
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found !== undefined && addr < found.end ? found.name : undefined;
}

/** Cost by function name in one callgrind.out file. */
function costs(file: string, inclusive: boolean): Map<string, number> {
  const head = readFileSync(file, 'utf8').slice(0, 4000);
  const pid = /^pid: (\d+)/m.exec(head)?.[1] ?? '';
  const map = perfMap(pid);
  const text = execFileSync(
    'callgrind_annotate',
    [`--inclusive=${inclusive ? 'yes' : 'no'}`, '--threshold=100', '--auto=no', file],
    { encoding: 'utf8', maxBuffer: 1 << 28 },
  );
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
    if (m === null) continue;
    let name = m[2];
    if (name === 'PROGRAM TOTALS') continue;
    const jit = /^\?\?\?:0x([0-9a-f]+) \[\?\?\?\]$/.exec(name);
    if (jit !== null) name = lookup(map, BigInt(`0x${jit[1]}`)) ?? name;
    name = name.replace(/ \[[^\]]*\]$/, '').replace(/^\?\?\?:/, '');
    out.set(name, (out.get(name) ?? 0) + Number(m[1].replace(/,/g, '')));
  }
  return out;
}

function perRoundTrip(
  dir: string,
  scenario: string,
  variant: string,
  n: number,
  inclusive: boolean,
  sum: boolean,
) {
  const base = join(dir, `callgrind.out.${scenario}.${variant}`);
  const w1 = costs(`${base}.1`, inclusive);
  const w2 = costs(`${base}.2`, inclusive);
  const out = new Map<string, number>();
  // --sum: both windows together over the 3N units they ran (what each window pays around its
  // units is left in, a few hundred instructions spread over them): steadier than the difference
  // when the unit is long (echo-churn), where a function's JIT code is replaced mid-window and its
  // cost moves between names.
  for (const k of new Set([...w1.keys(), ...w2.keys()]))
    out.set(
      k,
      sum ? ((w2.get(k) ?? 0) + (w1.get(k) ?? 0)) / (3 * n) : ((w2.get(k) ?? 0) - (w1.get(k) ?? 0)) / n,
    );
  return out;
}

function main(): void {
  const args = process.argv.slice(2);
  const dir = args[0];
  const scenario = args[1];
  if (dir === undefined || scenario === undefined)
    throw new Error('usage: breakdown.ts DIR SCENARIO [--self] [--top N] [--n N]');
  const inclusive = !args.includes('--self');
  const top = Number(args[args.indexOf('--top') + 1] ?? 40) || 40;
  const n = args.includes('--n') ? Number(args[args.indexOf('--n') + 1]) : 1000;
  const variants = ['raw', 'none', 'unsampled', 'all', 'ignored', 'timer', 'net', 'nocaller'].filter((v) =>
    existsSync(join(dir, `callgrind.out.${scenario}.${v}.2`)),
  );
  const sum = args.includes('--sum');
  const per = new Map(variants.map((v) => [v, perRoundTrip(dir, scenario, v, n, inclusive, sum)]));
  const raw = per.get('raw') ?? new Map<string, number>();
  const names = new Set<string>();
  for (const m of per.values()) for (const k of m.keys()) names.add(k);
  const others = variants.filter((v) => v !== 'raw');
  const rows = [...names].map((name) => {
    const r = raw.get(name) ?? 0;
    const vals = variants.map((v) => per.get(v)!.get(name) ?? 0);
    const diffs = others.map((v) => (per.get(v)!.get(name) ?? 0) - r);
    return { name, vals, diffs, key: Math.max(...diffs.map(Math.abs)) };
  });
  rows.sort((a, b) => b.key - a.key);
  const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
  console.log(
    `${inclusive ? 'Inclusive' : 'Self'} instructions per round trip, ${scenario} ${sum ? `(window N + window 2N) / ${3 * n}` : `(window 2N − window N) / ${n}`}\n`,
  );
  console.log(`| function | ${variants.join(' | ')} | ${others.map((v) => `${v} − raw`).join(' | ')} |`);
  console.log(
    `| --- | ${variants.map(() => '---:').join(' | ')} | ${others.map(() => '---:').join(' | ')} |`,
  );
  for (const r of rows.slice(0, top)) {
    console.log(
      `| ${r.name.slice(0, 110)} | ${r.vals.map(fmt).join(' | ')} | ${r.diffs.map(fmt).join(' | ')} |`,
    );
  }
}

main();
