/**
 * Where `sockscope/register`'s start-up goes: `node --import tsx bench/startup/modules.ts [--rounds N]`.
 *
 * Starts `node -e 1` N times with a require timer preloaded (load-timer.js), plain and with
 * `--require sockscope/register` (SOCKSCOPE_AUTO_INSTRUMENTATIONS=false; otherwise the defaults a
 * user gets: OTLP to localhost:4318, or with `--file` also SOCKSCOPE_FILE), and
 * reports the JS files loaded by package, the Node built-in modules loaded beyond a plain start, and
 * the median time spent requiring each piece `register` loads (inclusive: a piece's time contains
 * the pieces it requires first, and a package required again later costs nothing then).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';

const REPO = resolve(__dirname, '..', '..');
const TIMER = join(__dirname, 'load-timer.js');

interface LoadNode {
  request: string;
  ms: number;
  children: LoadNode[];
}
interface LoadReport {
  files: string[];
  builtins: number;
  roots: LoadNode[];
}

function runOnce(dir: string, register: boolean, file: boolean): LoadReport {
  const out = join(dir, 'load.json');
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (!/^(OTEL_|SOCKSCOPE_)/.test(k) && k !== 'NODE_OPTIONS') env[k] = v;
  const args = ['--require', TIMER, ...(register ? ['--require', 'sockscope/register'] : []), '-e', '1'];
  const r = spawnSync(process.execPath, args, {
    cwd: REPO,
    env: {
      ...env,
      LOAD_TIMER_OUT: out,
      ...(file ? { SOCKSCOPE_FILE: join(dir, 'spans.jsonl') } : {}),
      SOCKSCOPE_AUTO_INSTRUMENTATIONS: 'false',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error(`node exited ${r.status}`);
  return JSON.parse(readFileSync(out, 'utf8')) as LoadReport;
}

/** The package a loaded file belongs to, or "sockscope" for the package's own dist/. */
function owner(file: string): string {
  const parts = file.split(sep);
  const i = parts.lastIndexOf('node_modules');
  if (i < 0) return file.startsWith(join(REPO, 'dist')) ? 'sockscope' : 'other';
  const name = parts[i + 1]!;
  return name.startsWith('@') ? `${name}/${parts[i + 2]}` : name;
}

/** The pieces worth naming: register's direct requires, and one level below its start-up module. */
function pieces(report: LoadReport): Map<string, number> {
  const out = new Map<string, number>();
  const register = report.roots.find((n) => n.request === 'sockscope/register') ?? report.roots.at(-1);
  const add = (label: string, ms: number): void => void out.set(label, (out.get(label) ?? 0) + ms);
  add('total', register?.ms ?? 0);
  const walk = (n: LoadNode, depth: number, path: string): void => {
    if (depth > 5) return;
    // requireSdk() loads the app's copy by its absolute path: name the package instead.
    const label = `${path}${n.request.startsWith('/') ? owner(n.request) : n.request}`;
    // Bare names are packages (or node: built-ins); relative ones are sockscope's own files.
    if (!n.request.startsWith('.') || depth === 5) return void add(label, n.ms);
    let children = 0;
    for (const c of n.children) {
      walk(c, depth + 1, `${label} > `);
      children += c.ms;
    }
    add(`${label} (own code)`, Math.max(0, n.ms - children));
  };
  for (const c of register?.children ?? []) walk(c, 1, '');
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export function measureModules(rounds: number, file: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'sockscope-modules-'));
  try {
    runOnce(dir, true, file); // file-system cache
    const times = new Map<string, number[]>();
    let plain: LoadReport | undefined;
    let last: LoadReport | undefined;
    for (let r = 0; r < rounds; r++) {
      plain = runOnce(dir, false, file);
      last = runOnce(dir, true, file);
      for (const [k, ms] of pieces(last)) times.set(k, [...(times.get(k) ?? []), ms]);
    }
    const byOwner = new Map<string, number>();
    const plainFiles = new Set(plain!.files);
    for (const f of last!.files)
      if (!plainFiles.has(f)) byOwner.set(owner(f), (byOwner.get(owner(f)) ?? 0) + 1);
    const lines = [
      `Modules \`--require sockscope/register\` loads into \`node -e 1\`: ${[...byOwner.values()].reduce((a, b) => a + b, 0)} JS files and ${last!.builtins - plain!.builtins} Node built-in modules beyond a plain start (${plain!.builtins}).`,
      '',
      '| package | JS files |',
      '| --- | ---: |',
      ...[...byOwner].sort((a, b) => b[1] - a[1]).map(([k, n]) => `| ${k} | ${n} |`),
      '',
      `Time spent requiring each piece, median of ${rounds} starts (ms, inclusive; the require timer adds its own overhead):`,
      '',
      '| piece | ms |',
      '| --- | ---: |',
      ...[...times]
        .map(([k, xs]) => [k, median(xs)] as const)
        .filter(([k, ms]) => k === 'total' || ms >= 1)
        .map(([k, ms]) => `| ${k} | ${ms.toFixed(1)} |`),
    ];
    return lines.join('\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const i = process.argv.indexOf('--rounds');
  const rounds = i > 0 ? Number(process.argv[i + 1]) : 9;
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error('bench/startup/modules.ts: --rounds needs a positive whole number');
    process.exit(2);
  }
  console.log(measureModules(rounds, process.argv.includes('--file')));
}
