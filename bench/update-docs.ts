/**
 * Copies the published results into docs/performance.md, between its markers, so the page always
 * quotes the run in bench/results:
 *
 *   node --import tsx bench/update-docs.ts     (after `npm run bench` and bench/hot-path.ts)
 *
 * `<!-- latest:start -->` … `<!-- latest:end -->` gets bench/results/latest.md (its headings one level
 * down), `<!-- hotpath:start -->` … `<!-- hotpath:end -->` gets bench/results/hot-path.md,
 * `<!-- instructions:start -->` … `<!-- instructions:end -->` bench/results/instructions.md (from
 * `npm run bench -- --instructions`) when there is one. Then run
 * `npx prettier --write docs/performance.md` (the tables are re-aligned).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');
const DOC = join(ROOT, 'docs', 'performance.md');

function between(doc: string, name: string, body: string): string {
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = doc.indexOf(start);
  const b = doc.indexOf(end);
  if (a < 0 || b < a) throw new Error(`docs/performance.md has no ${start} … ${end} block`);
  return `${doc.slice(0, a + start.length)}\n\n${body.trim()}\n\n${doc.slice(b)}`;
}

function main(): void {
  const latest = readFileSync(join(ROOT, 'bench', 'results', 'latest.md'), 'utf8')
    .replace(/^# .*\n/, 'From `bench/results/latest.md` (written by that run):\n')
    .replace(/^(#{2,5}) /gm, '#$1 ');
  const hot = readFileSync(join(ROOT, 'bench', 'results', 'hot-path.md'), 'utf8').replace(
    /^# .*\n+/,
    'Run: ',
  );
  let doc = readFileSync(DOC, 'utf8');
  doc = between(doc, 'latest', latest);
  doc = between(doc, 'hotpath', hot);
  const instructions = join(ROOT, 'bench', 'results', 'instructions.md');
  if (existsSync(instructions)) {
    doc = between(doc, 'instructions', readFileSync(instructions, 'utf8').replace(/^# .*\n+/, ''));
  }
  writeFileSync(DOC, doc);
  process.stdout.write('docs/performance.md: latest and hot-path blocks updated; run prettier on it\n');
}

main();
