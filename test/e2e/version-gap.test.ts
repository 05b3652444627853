/**
 * Issue 15 §4 end to end: a real mysql2 outside `@opentelemetry/instrumentation-mysql2`'s declared
 * range (1.4.1, installed under the alias `mysql2-outside-range`) and the in-range mysql2 3.x, both
 * against the local MariaDB with instrumentation-mysql2 registered beside sockscope. The exchange
 * spans carry the caller package and its installed version; the gap note names the range only for
 * the version outside it.
 *
 * Under the alias, require-in-the-middle names the module by its folder (`mysql2-outside-range`),
 * so instrumentation-mysql2 would not hook it at any version. To show that the range alone stops
 * it, one test copies the same 1.4.1 into a folder named `mysql2` (under .tmp, so that its hoisted
 * dependencies still resolve from the repository's node_modules).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { MySQL2Instrumentation } from '@opentelemetry/instrumentation-mysql2';
import { isWrapped, registerInstrumentations } from '@opentelemetry/instrumentation';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { analyzeGaps } from '../../src/analysis/gaps';
import { versionGapNote } from '../../src/analysis/instrumentation-ranges';
import { officialInstrumentationFor } from '../../src/analysis/suggestions';
import { configure, inSpan, provider, reset, sockscopeSpans, spans, waitFor } from '../helpers/otel';
import { requireService } from '../helpers/services';
import { toTraceSpan } from '../helpers/spans';

const REPO = join(__dirname, '..', '..');
const MARIADB = { host: '127.0.0.1', port: 3306, user: 'root', database: 'test' };
const MYSQL2_SCOPE = '@opentelemetry/instrumentation-mysql2';

// Registered before either mysql2 is required, as an app does: it hooks `require`.
registerInstrumentations({ instrumentations: [new MySQL2Instrumentation()], tracerProvider: provider });

const installedVersion = (dir: string): string =>
  (JSON.parse(readFileSync(join(REPO, 'node_modules', dir, 'package.json'), 'utf8')) as { version: string })
    .version;

interface Conn {
  query(sql: string, cb: (err: Error | null) => void): void;
  end(cb?: (err?: Error | null) => void): void;
}
interface Client {
  createConnection(o: typeof MARIADB): Conn;
  Connection: { prototype: { query: unknown } };
}

/** Connects, runs two queries and ends, inside a span; the spans of that trace. */
async function runQueries(client: Client): Promise<ReadableSpan[]> {
  const traceId = await inSpan('app', async (span) => {
    const c = client.createConnection(MARIADB);
    const query = (sql: string) => new Promise<void>((res, rej) => c.query(sql, (e) => (e ? rej(e) : res())));
    await query('SELECT 1 AS a');
    await query('SELECT 2 AS b');
    await new Promise<void>((res) => c.end(() => res()));
    return span.spanContext().traceId;
  });
  const mine = () => spans().filter((s) => s.spanContext().traceId === traceId);
  await waitFor(
    () => mine().some((s) => s.attributes['sockscope.kind'] === 'connection'),
    3000,
    'the connection span',
  );
  return mine();
}

const exchangesOf = (trace: ReadableSpan[]) =>
  trace.filter(
    (s) => s.instrumentationScope.name === 'sockscope' && s.attributes['sockscope.kind'] === 'exchange',
  );

test('mysql2 1.4.1 under an alias is reported as mysql2@1.4.1, gets no instrumentation-mysql2 span, and its gap note names the range', async (t) => {
  if (!(await requireService(t, 'MariaDB', MARIADB.host, MARIADB.port))) return;
  configure();
  reset();
  const old = require('mysql2-outside-range') as Client;
  const trace = await runQueries(old);
  const exchanges = exchangesOf(trace);
  assert.ok(
    exchanges.length >= 2,
    `expected the queries' exchanges, got ${exchanges.map((s) => s.name).join(', ')}`,
  );
  for (const ex of exchanges) {
    // The package.json name, not the alias folder: that is what users and the suggestion map know.
    assert.equal(ex.attributes['sockscope.caller.package'], 'mysql2', ex.name);
    assert.equal(ex.attributes['sockscope.caller.package.version'], '1.4.1', ex.name);
  }
  const conn = sockscopeSpans('connection').find(
    (s) => s.spanContext().traceId === exchanges[0]!.spanContext().traceId,
  );
  assert.equal(conn?.attributes['sockscope.caller.package.version'], '1.4.1');
  assert.deepEqual(
    trace.filter((s) => s.instrumentationScope.name === MYSQL2_SCOPE).map((s) => s.name),
    [],
    'instrumentation-mysql2 made spans for mysql2 1.4.1',
  );
  assert.ok(exchanges.every((s) => s.attributes['sockscope.covered'] === false));

  // The gap row says why enabling the instrumentation would not help: the installed version.
  assert.equal(officialInstrumentationFor('mysql2', 'mysql'), MYSQL2_SCOPE);
  const rows = analyzeGaps(trace.map(toTraceSpan), { cwd: REPO }).rows.filter((r) => r.protocol === 'mysql');
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.callerPackage, 'mysql2');
  assert.deepEqual(rows[0]!.callerPackageVersions, ['1.4.1']);
  assert.equal(rows[0]!.verdict, 'uncovered');
  assert.equal(
    rows[0]!.suggestion,
    "installed mysql2@1.4.1 is outside @opentelemetry/instrumentation-mysql2's supported >=1.4.2 <4; upgrade the instrumentation or pin mysql2",
  );
  // Without the app's folder, the table generated from the metapackage gives the same range.
  assert.equal(
    analyzeGaps(trace.map(toTraceSpan)).rows.find((r) => r.protocol === 'mysql')?.suggestion,
    rows[0]!.suggestion,
  );
});

test('mysql2 1.4.1 in a folder named mysql2 is left unwrapped by instrumentation-mysql2, its range being the only difference from 3.x', async (t) => {
  if (!(await requireService(t, 'MariaDB', MARIADB.host, MARIADB.port))) return;
  configure();
  reset();
  mkdirSync(join(REPO, '.tmp'), { recursive: true });
  const root = mkdtempSync(join(REPO, '.tmp', 'version-gap-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  const dir = join(root, 'node_modules', 'mysql2');
  cpSync(join(REPO, 'node_modules', 'mysql2-outside-range'), dir, { recursive: true });
  const old = require(dir) as Client;
  // Same module name as the 3.x below, whose query the instrumentation wraps: only the version differs.
  assert.equal(isWrapped(old.Connection.prototype.query), false);
  const trace = await runQueries(old);
  const exchanges = exchangesOf(trace);
  assert.ok(exchanges.length >= 2);
  assert.ok(exchanges.every((s) => s.attributes['sockscope.caller.package.version'] === '1.4.1'));
  assert.deepEqual(
    trace.filter((s) => s.instrumentationScope.name === MYSQL2_SCOPE).map((s) => s.name),
    [],
    'instrumentation-mysql2 made spans for mysql2 1.4.1',
  );
  assert.match(versionGapNote('mysql2', '1.4.1', MYSQL2_SCOPE, REPO) ?? '', /outside .* >=1\.4\.2 <4/);
});

test('mysql2 3.x is reported with its installed version, is covered by instrumentation-mysql2, and has no gap note', async (t) => {
  if (!(await requireService(t, 'MariaDB', MARIADB.host, MARIADB.port))) return;
  configure();
  reset();
  const current = require('mysql2') as Client;
  assert.equal(isWrapped(current.Connection.prototype.query), true);
  const trace = await runQueries(current);
  const version = installedVersion('mysql2');
  assert.match(version, /^3\./);
  const exchanges = exchangesOf(trace);
  assert.ok(exchanges.length >= 2);
  for (const ex of exchanges) {
    assert.equal(ex.attributes['sockscope.caller.package'], 'mysql2', ex.name);
    assert.equal(ex.attributes['sockscope.caller.package.version'], version, ex.name);
  }
  // The instrumentation is live in this process: the 1.4.1 cases' missing spans are not a setup fault.
  assert.ok(
    trace.some((s) => s.instrumentationScope.name === MYSQL2_SCOPE),
    'instrumentation-mysql2 made no span for the in-range mysql2',
  );
  const queries = exchanges.filter((s) => s.name === 'mysql SELECT');
  assert.ok(queries.length >= 2 && queries.every((s) => s.attributes['sockscope.covered'] === true));
  assert.equal(versionGapNote('mysql2', version, MYSQL2_SCOPE, REPO), undefined);
  const row = analyzeGaps(trace.map(toTraceSpan), { cwd: REPO }).rows.find((r) => r.protocol === 'mysql');
  assert.deepEqual(row?.callerPackageVersions, [version]);
  assert.equal(row?.verdict, 'covered');
  assert.doesNotMatch(row?.suggestion ?? '', /outside/);
});
