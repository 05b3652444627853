// Installs the dependencies for one OpenTelemetry JS line: `node scripts/otel-line.mjs 2.x` is
// `npm ci`; `node scripts/otel-line.mjs 3.x` is `npm ci` followed by the 3.x versions of every
// OpenTelemetry devDependency from scripts/otel-lines.json (not saved: package.json and the lock
// stay on 2.x). Run it with the Node.js the line needs first on PATH (3.x: Node >= 22.15).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const line = process.argv[2];
const lines = JSON.parse(readFileSync(new URL('./otel-lines.json', import.meta.url), 'utf8'));
if (line !== '2.x' && !(line in lines)) {
  console.error(
    `otel-line: unknown line ${JSON.stringify(line)}; use 2.x or ${Object.keys(lines)
      .filter((k) => k !== '//')
      .join(', ')}`,
  );
  process.exit(2);
}
const npm = (args) => execFileSync('npm', args, { stdio: 'inherit' });
npm(['ci', '--no-audit', '--no-fund']);
if (line !== '2.x') {
  const devDependencies = JSON.parse(readFileSync('package.json', 'utf8')).devDependencies;
  const wanted = lines[line].packages;
  // semantic-conventions is one stable package for both lines.
  const otel = Object.keys(devDependencies).filter(
    (n) => n.startsWith('@opentelemetry/') && n !== '@opentelemetry/semantic-conventions',
  );
  const unlisted = otel.filter((n) => !(n in wanted));
  if (unlisted.length > 0) {
    console.error(`otel-line: scripts/otel-lines.json has no ${line} version for ${unlisted.join(', ')}`);
    process.exit(2);
  }
  npm(['install', '--no-save', '--no-audit', '--no-fund', ...otel.map((n) => `${n}@${wanted[n]}`)]);
}
console.log(`otel-line: ${line} installed on Node ${process.version}`);
