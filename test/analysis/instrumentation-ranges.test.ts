/**
 * The version ranges official instrumentations declare: read from the installed instrumentations,
 * the generated table that stands in for them, the range check against the instrumentation's own,
 * the gap note, and the suggestion map checked against what the instrumentations patch.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import {
  declaredRanges,
  metapackageInstrumentations,
  readInstalledRanges,
  readMetapackageRanges,
  versionGapNote,
} from '../../src/analysis/instrumentation-ranges';
import { DECLARED_RANGES, DECLARED_RANGES_SOURCE } from '../../src/analysis/instrumentation-ranges.table';
import { satisfies } from '../../src/analysis/version-range';

const REPO = join(__dirname, '..', '..');
const MYSQL2 = '@opentelemetry/instrumentation-mysql2';

/** A folder from which no instrumentation resolves: the table must answer. */
function emptyDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sockscope-ranges-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the generated table declares what the installed auto-instrumentations-node metapackage declares', (t) => {
  const meta = metapackageInstrumentations(REPO);
  const installed = readMetapackageRanges(REPO);
  assert.ok(
    meta !== undefined && installed !== undefined,
    '@opentelemetry/auto-instrumentations-node is not installed',
  );
  const regenerate = 'regenerate the table: node --import tsx scripts/instrumentation-ranges.ts';
  const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const wanted = pkg.devDependencies['@opentelemetry/auto-instrumentations-node']!;
  if (satisfies(meta.version, wanted)) {
    // The default OpenTelemetry line (package.json's devDependencies): the table is generated from it.
    assert.equal(
      DECLARED_RANGES_SOURCE,
      `@opentelemetry/auto-instrumentations-node@${meta.version}`,
      regenerate,
    );
    assert.deepEqual(DECLARED_RANGES, installed, regenerate);
    return;
  }
  // Another line (scripts/otel-lines.json): the same instrumentations; its ranges may differ a little.
  assert.deepEqual(Object.keys(DECLARED_RANGES).sort(), Object.keys(installed).sort());
  for (const [name, modules] of Object.entries(installed)) {
    if (JSON.stringify(modules) !== JSON.stringify(DECLARED_RANGES[name])) {
      t.diagnostic(
        `${name}: ${JSON.stringify(modules)} on ${meta.version}, table ${JSON.stringify(DECLARED_RANGES[name])}`,
      );
    }
  }
});

test('an instrumentation is read from its module definitions without patching the module it names', () => {
  const mysql2 = require('mysql2') as { Connection: { prototype: { query: unknown } } };
  const before = mysql2.Connection.prototype.query;
  const modules = readInstalledRanges(MYSQL2, REPO);
  assert.deepEqual(modules, { mysql2: ['>=1.4.2 <4'] });
  assert.equal(mysql2.Connection.prototype.query, before);
  // Required after the read: still the module's own function (no require hook patches it).
  delete require.cache[require.resolve('mysql2')];
  const again = require('mysql2') as { Connection: { prototype: { query: { __wrapped?: boolean } } } };
  assert.equal(again.Connection.prototype.query.__wrapped, undefined);
});

test('ranges come from the instrumentation installed at the cwd, else from the table', () => {
  assert.deepEqual(declaredRanges(MYSQL2, 'mysql2', REPO), { ranges: ['>=1.4.2 <4'], source: 'installed' });
  assert.deepEqual(declaredRanges(MYSQL2, 'mysql2', emptyDir()), { ranges: ['>=1.4.2 <4'], source: 'table' });
  assert.deepEqual(declaredRanges(MYSQL2, 'mysql2'), { ranges: ['>=1.4.2 <4'], source: 'table' });
  // One instrumentation, several packages: each has its own ranges.
  assert.deepEqual(declaredRanges('@opentelemetry/instrumentation-pg', 'pg-pool', emptyDir())?.ranges, [
    '>=2.0.0 <4',
  ]);
  // instrumentation-undici patches no module (it listens on diagnostics channels): no range to check.
  assert.equal(declaredRanges('@opentelemetry/instrumentation-undici', 'undici', REPO), undefined);
  assert.equal(declaredRanges('@opentelemetry/instrumentation-nope', 'nope', REPO), undefined);
});

test('a version outside the declared range gets the note; inside, unknown or unparseable gets none', () => {
  const dir = emptyDir();
  assert.equal(
    versionGapNote('ioredis', '7.0.0', '@opentelemetry/instrumentation-ioredis', dir),
    "installed ioredis@7.0.0 is outside @opentelemetry/instrumentation-ioredis's supported >=2.0.0 <7; upgrade the instrumentation or pin ioredis",
  );
  assert.equal(
    versionGapNote('mysql2', '1.4.1', MYSQL2, REPO),
    "installed mysql2@1.4.1 is outside @opentelemetry/instrumentation-mysql2's supported >=1.4.2 <4; upgrade the instrumentation or pin mysql2",
  );
  assert.equal(versionGapNote('ioredis', '5.11.1', '@opentelemetry/instrumentation-ioredis', dir), undefined);
  assert.equal(
    versionGapNote('ioredis', undefined, '@opentelemetry/instrumentation-ioredis', dir),
    undefined,
  );
  assert.equal(versionGapNote('ioredis', 'latest', '@opentelemetry/instrumentation-ioredis', dir), undefined);
  // Several ranges: inside any one of them is inside.
  assert.equal(
    versionGapNote('@redis/client', '5.1.0', '@opentelemetry/instrumentation-redis', dir),
    undefined,
  );
  assert.match(
    versionGapNote('@redis/client', '4.7.0', '@opentelemetry/instrumentation-redis', dir) ?? '',
    /supported \^1\.0\.0 \|\| \^5\.0\.0 \|\| \^6\.0\.0;/,
  );
  // Core modules (instrumentation-http's `http`) declare `*`.
  assert.equal(versionGapNote('http', '20.0.0', '@opentelemetry/instrumentation-http', dir), undefined);
});

/** `satisfies` of @opentelemetry/instrumentation itself: what decides whether it patches. */
function otelSatisfies(): (version: string, range: string) => boolean {
  const main = require.resolve('@opentelemetry/instrumentation');
  // 0.2xx: build/src/semver.js beside build/src/index.js; 0.30x: dist/semver.cjs beside dist/index.cjs.
  const file = ['semver.js', 'semver.cjs'].map((f) => join(dirname(main), f)).find((f) => existsSync(f));
  assert.ok(file !== undefined, `no semver module beside ${main}: update this test`);
  return (require(file) as { satisfies: (v: string, r: string) => boolean }).satisfies;
}

test('the range check agrees with the instrumentation package on every declared range', () => {
  const theirs = otelSatisfies();
  const ranges = new Set<string>([
    '^0.2.3',
    '~1.2',
    '1.2 - 2.3',
    '1.x',
    '>1',
    '<=2.1',
    '^0.0.3',
    '*',
    '>= 6.7 < 8',
  ]);
  for (const modules of Object.values(DECLARED_RANGES)) {
    for (const rs of Object.values(modules)) rs.forEach((r) => ranges.add(r));
  }
  // Versions at and around every number the ranges name, with prereleases.
  const versions = new Set<string>(['0.0.0', '0.0.3', '0.0.4', '99.0.0', '1.0.0-rc.1', '4.0.0-0']);
  for (const r of ranges) {
    for (const m of r.matchAll(/(\d+)(?:\.(\d+))?(?:\.(\d+))?/g)) {
      const [M, mi, pa] = [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)];
      for (const [a, b, c] of [
        [M, mi, pa],
        [M, mi, pa + 1],
        [M, mi + 1, 0],
        [M + 1, 0, 0],
        [Math.max(0, M - 1), 9, 9],
      ]) {
        versions.add(`${a}.${b}.${c}`);
        versions.add(`${a}.${b}.${c}-beta.1`);
      }
    }
  }
  const disagreements: string[] = [];
  for (const r of ranges) {
    for (const v of versions) {
      if (satisfies(v, r) !== theirs(v, r)) disagreements.push(`${v} in ${r}: ours ${satisfies(v, r)}`);
    }
  }
  assert.deepEqual(disagreements, []);
  assert.ok(ranges.size > 40 && versions.size > 100, `${ranges.size} ranges x ${versions.size} versions`);
});
