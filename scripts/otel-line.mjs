/* global URL */
// Installs the dependencies for one OpenTelemetry JS line.
//   node scripts/otel-line.mjs 2.x               npm ci (package.json's devDependencies are 2.x)
//   node scripts/otel-line.mjs 3.x               npm ci of the 3.x manifest and lock below
//   node scripts/otel-line.mjs 3.x --update-lock re-resolve that lock (after editing the versions)
// The 3.x manifest is package.json with every OpenTelemetry devDependency replaced by its version in
// scripts/otel-lines.json; its lock is scripts/otel-3.x.package-lock.json. package.json and
// package-lock.json are put back afterwards, so the tree on disk is 3.x while git sees no change.
// Run it with the Node.js the line needs first on PATH (3.x: Node >= 22.15).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const [line, flag] = process.argv.slice(2);
const lines = JSON.parse(readFileSync(new URL('./otel-lines.json', import.meta.url), 'utf8'));
const known = Object.keys(lines).filter((k) => k !== '//');
if (line !== '2.x' && !known.includes(line)) {
  console.error(`otel-line: unknown line ${JSON.stringify(line)}; use 2.x or ${known.join(', ')}`);
  process.exit(2);
}
const npm = (args) => execFileSync('npm', args, { stdio: 'inherit' });
if (line === '2.x') {
  npm(['ci', '--no-audit', '--no-fund']);
} else {
  const manifest = JSON.parse(readFileSync('package.json', 'utf8'));
  const wanted = lines[line].packages;
  // semantic-conventions is one stable package for both lines.
  const otel = Object.keys(manifest.devDependencies).filter(
    (n) => n.startsWith('@opentelemetry/') && n !== '@opentelemetry/semantic-conventions',
  );
  const unlisted = otel.filter((n) => !(n in wanted));
  if (unlisted.length > 0) {
    console.error(`otel-line: scripts/otel-lines.json has no ${line} version for ${unlisted.join(', ')}`);
    process.exit(2);
  }
  for (const n of otel) manifest.devDependencies[n] = wanted[n];
  const lock = `scripts/otel-${line}.package-lock.json`;
  mkdirSync('.tmp', { recursive: true });
  copyFileSync('package.json', '.tmp/package.json');
  copyFileSync('package-lock.json', '.tmp/package-lock.json');
  try {
    writeFileSync('package.json', `${JSON.stringify(manifest, null, 2)}\n`);
    if (flag === '--update-lock' || !existsSync(lock)) {
      npm(['install', '--package-lock-only', '--no-audit', '--no-fund']);
      copyFileSync('package-lock.json', lock);
    } else copyFileSync(lock, 'package-lock.json');
    npm(['ci', '--no-audit', '--no-fund']);
  } finally {
    copyFileSync('.tmp/package.json', 'package.json');
    copyFileSync('.tmp/package-lock.json', 'package-lock.json');
  }
}
console.log(`otel-line: ${line} installed on Node ${process.version}`);
