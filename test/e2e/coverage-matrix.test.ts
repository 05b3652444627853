/**
 * The proof of issues 6 and 15: a real app, in its own process, with the NodeSDK, every official
 * instrumentation (`getNodeAutoInstrumentations()`) and sockscope, makes real calls with fifteen
 * clients; `sockscope gaps --json` on the file it wrote must say, row by row, which official
 * instrumentation covers what, and which clients have none.
 *
 * Two sources of truth are checked against each other: each exchange span's `sockscope.covered`
 * (decided at run time by `SocketCoverageProcessor`, which only knows spans that have started by
 * the time the exchange ends) and the gaps rows (decided afterwards from the whole file). The
 * clients' teardown runs outside the traced parent span (the app uses `requireParentSpan`), as a
 * service's shutdown does; the teardown test below shows what it looks like inside.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test, type TestContext } from 'node:test';
import { gapGroupOf, type GapRow } from '../../src/analysis/gaps';
import { SUGGEST_NONE } from '../../src/analysis/suggestions';
import { CLOCK_SLACK_MS } from '../../src/coverage/rule';
import { portOpen, requireService } from '../helpers/services';
import {
  CLIENTS,
  HOST,
  PHASES,
  callerOf,
  cleanup,
  isConnection,
  isExchange,
  opOf,
  portOf,
  rowsOf,
  runMatrix,
  spansOf,
  type ClientInfo,
  type ClientName,
  type ExpectedRow,
  type MatrixRun,
  type Phase,
} from './matrix';

const SERVICES = [
  ...new Map(CLIENTS.flatMap((c) => (c.service ? [[c.service.port, c.service] as const] : []))).values(),
];

/** All services up, else skip (or fail in CI, through requireService). */
async function servicesUp(t: TestContext): Promise<boolean> {
  for (const s of SERVICES) if (!(await requireService(t, s.name, HOST, s.port))) return false;
  return true;
}

const runs: MatrixRun[] = [];
after(() => runs.forEach(cleanup));

async function matrix(...args: Parameters<typeof runMatrix>): Promise<MatrixRun> {
  const run = await runMatrix(...args);
  runs.push(run);
  return run;
}

/** The run with every official instrumentation on (shared), or undefined when a service is down. */
let baseRun: Promise<MatrixRun | undefined> | undefined;
function base(): Promise<MatrixRun | undefined> {
  baseRun ??= (async () => {
    const up = await Promise.all(SERVICES.map((s) => portOpen(HOST, s.port)));
    return up.every(Boolean) ? matrix() : undefined;
  })();
  return baseRun;
}

/** The one gap row of a client. */
function rowOf(run: MatrixRun, client: ClientName) {
  const rows = rowsOf(run, client);
  assert.equal(rows.length, 1, `${client}: one gap row, got ${JSON.stringify(rows)}`);
  return rows[0];
}

const covered = (s: { attributes: Record<string, unknown> }): boolean =>
  s.attributes['sockscope.covered'] === true;

/** The exchange spans of a client that fall in one of its gap rows. */
const inRow = (run: MatrixRun, client: ClientName, row: GapRow) =>
  spansOf(run, client, 'exchange').filter((s) => {
    const g = gapGroupOf(s);
    return g.callerPackage === row.callerPackage && g.protocol === row.protocol && g.server === row.server;
  });

/** `{ setup: [2, 2], operation: [5, 0] }`: exchanges and uncovered ones by `sockscope.phase`, phases with none left out. */
function phaseCounts(
  spans: readonly { attributes: Record<string, unknown> }[],
): Partial<Record<Phase, readonly [number, number]>> {
  const m: Partial<Record<Phase, readonly [number, number]>> = {};
  for (const p of PHASES) {
    const of = spans.filter((s) => s.attributes['sockscope.phase'] === p);
    if (of.length > 0) m[p] = [of.length, of.filter((s) => !covered(s)).length];
  }
  return m;
}

/** A row's own phase counts, in the same form. */
function rowPhases(row: GapRow): Partial<Record<Phase, readonly [number, number]>> {
  const m: Partial<Record<Phase, readonly [number, number]>> = {};
  for (const p of PHASES) {
    const c = row.phases[p];
    assert.equal(
      c.covered + c.uncovered,
      c.exchanges,
      `${row.callerPackage} ${row.protocol} ${p}: covered + uncovered`,
    );
    if (c.exchanges > 0) m[p] = [c.exchanges, c.uncovered];
  }
  return m;
}

/** Every row of a client, as expected: protocol, coverage, phases, verdict and suggestion. */
function assertRows(run: MatrixRun, client: ClientInfo, expected: readonly ExpectedRow[]): void {
  const rows = rowsOf(run, client.name);
  assert.deepEqual(
    rows.map((r) => r.protocol).sort(),
    expected.map((e) => e.protocol).sort(),
    `${client.name}: its rows, by protocol`,
  );
  for (const want of expected) {
    const row = rows.find((r) => r.protocol === want.protocol)!;
    const what = `${client.name} ${want.protocol}`;
    const spans = inRow(run, client.name, row);
    assert.equal(row.callerPackage, callerOf(client.name), `${what}: caller package`);
    assert.equal(row.exchanges, spans.length, `${what}: every exchange counted once`);
    // The row's phase counts, the exchange spans' own phases and verdicts, and the expectation agree.
    assert.deepEqual(rowPhases(row), want.phases, `${what}: exchanges (and uncovered ones) by phase`);
    assert.deepEqual(phaseCounts(spans), want.phases, `${what}: its spans' phases and run-time verdicts`);
    assert.equal(row.covered + row.uncovered, row.exchanges, `${what}: covered + uncovered`);
    const ops = row.phases.operation;
    assert.deepEqual(
      [row.operations, row.operationsCovered, row.operationsUncovered],
      [ops.exchanges, ops.covered, ops.uncovered],
      `${what}: operation counts`,
    );
    assert.deepEqual(row.coveredBy, want.coveredBy, `${what}: covered by`);
    assert.equal(row.verdict, want.verdict, `${what}: verdict (on operations)`);
    if (want.verdict === 'covered')
      assert.equal(row.uncoveredOperationTimeMs, 0, `${what}: no time in uncovered operations`);
    if (row.uncovered === 0) assert.equal(row.uncoveredTimeMs, 0, `${what}: no uncovered time`);
    if (typeof want.suggestion === 'string')
      assert.equal(row.suggestion, want.suggestion, `${what}: suggestion`);
    else assert.match(row.suggestion, want.suggestion, `${what}: suggestion`);
  }
}

describe('coverage matrix: every official instrumentation on', () => {
  let run: MatrixRun | undefined;
  before(async () => {
    // Services are checked per test (skip, or fail in CI, there); the app runs only when all are up.
    run = await base();
  });

  for (const client of CLIENTS) {
    const expected = client.rows;
    const verdicts = [...new Set(expected.map((r) => r.verdict))].join(' and ');
    test(`${client.name}: its gap rows (${expected.map((r) => r.protocol).join(', ')}) are ${verdicts}, with the expected phases and suggestion`, async (t) => {
      if (!(await servicesUp(t)) || run === undefined) return;
      assertRows(run, client, expected);
    });
    const unspanned = client.unspanned;
    if (unspanned === undefined) continue;
    if (client.official === undefined) {
      test(`${client.name} calls are all uncovered, and gaps says no official instrumentation exists`, async (t) => {
        if (!(await servicesUp(t)) || run === undefined) return;
        const exchanges = spansOf(run, client.name, 'exchange');
        assert.ok(exchanges.length > 0, `${client.name}: sockscope saw its exchanges`);
        assert.deepEqual(exchanges.filter(covered).map(opOf), [], 'nothing covers them at run time');
        const row = rowOf(run, client.name);
        assert.equal(row.callerPackage, client.name);
        assert.equal(row.exchanges, exchanges.length, 'every exchange counted once');
        assert.equal(row.covered, 0);
        assert.equal(row.uncovered, row.exchanges);
        assert.deepEqual(row.coveredBy, []);
        assert.ok(row.uncoveredTimeMs >= 0);
        assert.equal(row.suggestion, SUGGEST_NONE);
      });
      continue;
    }
    const official = client.official;
    const what =
      unspanned.length === 0
        ? `${client.name} calls are all covered by ${official}`
        : `${client.name} calls are covered by ${official} except ${unspanned.length > 3 ? 'its connection setup and channel RPCs' : unspanned.join(', ')}, which it makes no span for`;
    test(what, async (t) => {
      if (!(await servicesUp(t)) || run === undefined) return;
      const exchanges = spansOf(run, client.name, 'exchange');
      assert.ok(exchanges.length > 0, `${client.name}: sockscope saw its exchanges`);
      // Run time: each exchange's own verdict.
      const runtimeCovered = exchanges.filter(covered);
      for (const e of exchanges) {
        const op = opOf(e);
        if (unspanned.includes(op)) {
          assert.equal(covered(e), false, `${client.name} ${op} has no upstream span`);
        } else if (!(client.name === 'amqplib' && op === 'basic.publish')) {
          assert.equal(covered(e), true, `${client.name} ${op} is covered at run time`);
          assert.equal(e.attributes['sockscope.covered_by'], official);
        }
      }
      // The gaps row, from the file: same exchanges, same covering instrumentation. Its exact
      // covered/uncovered split is checked against the run-time verdicts in a test below.
      const row = rowOf(run, client.name);
      assert.equal(row.exchanges, exchanges.length, 'every exchange counted once');
      assert.equal(row.covered + row.uncovered, row.exchanges);
      assert.deepEqual(row.coveredBy, [official]);
      // Its suggestion and verdict are checked with its other rows' fields, above.
      if (row.uncovered === 0) assert.equal(row.uncoveredTimeMs, 0);
      if (unspanned.length === 0) {
        assert.equal(runtimeCovered.length, exchanges.length, 'nothing uncovered at run time');
      }
    });
  }

  test('connection spans name the client package that opened them (fetch as undici, node-redis as @redis/client)', async (t) => {
    if (!(await servicesUp(t)) || run === undefined) return;
    for (const c of CLIENTS.filter((x) => x.name !== 'http')) {
      const conns = spansOf(run, c.name, 'connection');
      assert.ok(conns.length > 0, `${c.name}: a connection span`);
      for (const s of conns) assert.equal(s.attributes['sockscope.caller.package'], callerOf(c.name));
    }
  });

  test('postgres.js runs its parameterised query 8 times, and all 8 exchanges carry the same statement hash', async (t) => {
    if (!(await servicesUp(t)) || run === undefined) return;
    // The loop's exchanges are the last 8 (SELECT 1 and the type lookup come first).
    const selects = spansOf(run, 'postgres', 'exchange')
      .filter((s) => opOf(s) === 'SELECT')
      .sort((a, b) => a.startMs - b.startMs);
    const loop = selects.slice(-8);
    assert.equal(loop.length, 8);
    const hashes = new Set(loop.map((s) => s.attributes['sockscope.statement.hash']));
    assert.equal(hashes.size, 1, `one statement hash, got ${JSON.stringify([...hashes])}`);
    const [hash] = hashes;
    assert.match(String(hash), /^[0-9a-f]{16}$/);
    // ...and only they: the other SELECTs are other statements.
    assert.ok(selects.slice(0, -8).every((s) => s.attributes['sockscope.statement.hash'] !== hash));
  });

  test("mariadb's two runs of one prepared statement (the first pipelined with its PREPARE) carry one statement hash", async (t) => {
    if (!(await servicesUp(t)) || run === undefined) return;
    const ex = spansOf(run, 'mariadb', 'exchange').sort((a, b) => a.startMs - b.startMs);
    const runs = ex.filter((s) => ['PREPARE', 'SELECT'].includes(opOf(s))).slice(-2);
    assert.deepEqual(runs.map(opOf), ['PREPARE', 'SELECT']);
    assert.equal(
      runs[0].attributes['sockscope.command_count'],
      2,
      'PREPARE and its first EXECUTE in one write',
    );
    const [a, b] = runs.map((s) => s.attributes['sockscope.statement.hash']);
    assert.match(String(a), /^[0-9a-f]{16}$/);
    assert.equal(b, a);
  });

  test('a node:http call made by the app itself is reported as (app)', async (t) => {
    if (!(await servicesUp(t)) || run === undefined) return;
    assert.equal(rowOf(run, 'http').callerPackage, '(app)');
  });

  test("amqplib's publish is covered on a confirm channel, not on a plain one (its span ends before the write)", async (t) => {
    if (!(await servicesUp(t)) || run === undefined) return;
    const publishes = spansOf(run, 'amqplib', 'exchange').filter((s) => opOf(s) === 'basic.publish');
    const producers = run.spans.filter(
      (s) => s.scope === '@opentelemetry/instrumentation-amqplib' && s.kind === 'producer',
    );
    assert.equal(publishes.length, 2);
    assert.equal(producers.length, 2);
    const [plain, confirmed] = [...publishes].sort((a, b) => a.startMs - b.startMs);
    const [plainSpan, confirmSpan] = [...producers].sort((a, b) => a.startMs - b.startMs);
    // Channel#publish only queues the frame; amqplib's Mux writes it from a setImmediate, after
    // instrumentation-amqplib has ended its PRODUCER span. Same parent, no overlap: not covered.
    assert.equal(plain.parentSpanId, plainSpan.parentSpanId);
    assert.ok(plainSpan.endMs <= plain.startMs, 'the plain publish span ended before the frame was written');
    // The run-time verdict (not covered) is what gaps reports too: see the row-by-row test below.
    // ConfirmChannel#publish keeps its span open until the broker confirms.
    assert.equal(confirmed.parentSpanId, confirmSpan.parentSpanId);
    // Compared across two clocks: the SDK starts spans from Date.now() (whole milliseconds), so its
    // times may sit up to CLOCK_SLACK_MS off sockscope's (this failed once in CI without the slack).
    assert.ok(
      confirmSpan.startMs - CLOCK_SLACK_MS <= confirmed.startMs &&
        confirmed.endMs <= confirmSpan.endMs + CLOCK_SLACK_MS,
      `publish exchange ${confirmed.startMs}-${confirmed.endMs} inside its span ${confirmSpan.startMs}-${confirmSpan.endMs}`,
    );
    assert.equal(covered(confirmed), true);
    assert.equal(confirmed.attributes['sockscope.covered_by'], '@opentelemetry/instrumentation-amqplib');
  });

  test("a plain channel's publish, written after its span ended, is not counted as covered at run time", async (t) => {
    if (!(await servicesUp(t)) || run === undefined) return;
    const publishes = spansOf(run, 'amqplib', 'exchange').filter((s) => opOf(s) === 'basic.publish');
    const [plain] = [...publishes].sort((a, b) => a.startMs - b.startMs);
    assert.equal(covered(plain), false);
  });

  test('mqtt and nats exchanges are recognised by protocol and named by operation', async (t) => {
    if (!(await servicesUp(t)) || run === undefined) return;
    assert.equal(rowOf(run, 'mqtt').protocol, 'mqtt');
    assert.equal(rowOf(run, 'nats').protocol, 'nats');
    const mqttOps = spansOf(run, 'mqtt', 'exchange').map(opOf);
    for (const op of ['CONNECT', 'SUBSCRIBE', 'PUBLISH']) assert.ok(mqttOps.includes(op), `mqtt ${op}`);
  });

  test('gaps counts, row by row, the same covered and uncovered exchanges as the run-time processor (it keeps verdicts recorded with both rules)', async (t) => {
    if (!(await servicesUp(t)) || run === undefined) return;
    const got: Record<string, number> = {};
    const want: Record<string, number> = {};
    for (const c of CLIENTS) {
      for (const row of rowsOf(run, c.name)) {
        const key = `${c.name} ${row.protocol}`;
        got[key] = row.uncovered;
        want[key] = inRow(run, c.name, row).filter((s) => !covered(s)).length;
      }
    }
    assert.deepEqual(got, want);
    for (const s of run.spans.filter(isExchange))
      assert.equal(
        s.attributes['sockscope.coverage.rules'],
        'parent,sibling',
        `${s.name}: decided at run time`,
      );
  });

  test('totals add up to the rows, and every row is one of the clients', async (t) => {
    if (!(await servicesUp(t)) || run === undefined) return;
    const rows = run.gaps.rows;
    const sum = (f: (r: GapRow) => number): number => rows.reduce((n, r) => n + f(r), 0);
    const phases = Object.fromEntries(
      PHASES.map((p) => [
        p,
        {
          exchanges: sum((r) => r.phases[p].exchanges),
          covered: sum((r) => r.phases[p].covered),
          uncovered: sum((r) => r.phases[p].uncovered),
        },
      ]),
    );
    assert.deepEqual(run.gaps.totals, {
      exchanges: sum((r) => r.exchanges),
      covered: sum((r) => r.covered),
      uncovered: sum((r) => r.uncovered),
      operations: sum((r) => r.operations),
      operationsCovered: sum((r) => r.operationsCovered),
      operationsUncovered: sum((r) => r.operationsUncovered),
      phases,
    });
    const claimed = CLIENTS.flatMap((c) => rowsOf(run!, c.name));
    assert.equal(claimed.length, run.gaps.rows.length, `unexpected rows: ${JSON.stringify(run.gaps.rows)}`);
    assert.equal(run.gaps.totals.exchanges, run.spans.filter(isExchange).length);
  });
});

test('with @opentelemetry/instrumentation-ioredis disabled, the ioredis row turns uncovered and gaps says to enable it', async (t) => {
  if (!(await servicesUp(t))) return;
  const run = await matrix({
    disable: ['@opentelemetry/instrumentation-ioredis'],
    clients: ['ioredis', 'pg'],
  });
  assert.equal(run.spans.filter((s) => s.scope === '@opentelemetry/instrumentation-ioredis').length, 0);
  const redis = rowOf(run, 'ioredis');
  assert.ok(redis.exchanges > 0);
  assert.equal(redis.covered, 0);
  assert.equal(redis.uncovered, redis.exchanges);
  assert.deepEqual(redis.coveredBy, []);
  assert.equal(redis.suggestion, 'enable `@opentelemetry/instrumentation-ioredis`');
  // The other client in the same run is unaffected.
  assert.ok(spansOf(run, 'pg', 'exchange').every(covered));
  assert.deepEqual(rowOf(run, 'pg').coveredBy, ['@opentelemetry/instrumentation-pg']);
});

test('teardown inside the traced span adds uncovered pg Terminate and MySQL QUIT, which gaps calls normal chatter; Redis QUIT is covered', async (t) => {
  if (!(await servicesUp(t))) return;
  const run = await matrix({ teardownInside: true, clients: ['pg', 'mysql2', 'ioredis'] });
  const ops = (c: ClientName, pred: (s: Parameters<typeof covered>[0]) => boolean): string[] =>
    spansOf(run, c, 'exchange').filter(pred).map(opOf).sort();
  // pg's Client#end writes Terminate without a pg span; instrumentation-mysql2 does not wrap end().
  assert.deepEqual(
    ops('pg', (s) => !covered(s)),
    ['TERMINATE', 'TERMINATE'],
  );
  assert.deepEqual(
    ops('mysql2', (s) => !covered(s)),
    ['CONNECT', 'CONNECT', 'QUIT', 'QUIT'],
  );
  // instrumentation-ioredis traces quit like any other command.
  assert.deepEqual(
    ops('ioredis', (s) => !covered(s)),
    [],
  );
  assert.ok(ops('ioredis', covered).includes('QUIT'));
  // Teardown with no span is connection chatter: the rows stay covered, and say why.
  assert.equal(rowOf(run, 'pg').verdict, 'covered');
  assert.equal(rowOf(run, 'pg').suggestion, 'covered; 2 teardown exchanges have no span (normal)');
  assert.equal(rowOf(run, 'mysql2').verdict, 'covered');
  assert.equal(rowOf(run, 'mysql2').suggestion, 'covered; 4 setup/teardown exchanges have no span (normal)');
});

describe('with @opentelemetry/instrumentation-net enabled as well', () => {
  let without: MatrixRun | undefined;
  let withNet: MatrixRun | undefined;
  before(async () => {
    without = await base();
    if (without !== undefined) withNet = await matrix({ net: true });
  });

  test('the app still runs, and its tcp.connect spans are never counted as exchanges or coverage', async (t) => {
    if (!(await servicesUp(t)) || withNet === undefined) return;
    const netSpans = withNet.spans.filter((s) => s.scope === '@opentelemetry/instrumentation-net');
    assert.ok(netSpans.length >= 8, 'instrumentation-net made its tcp.connect spans');
    assert.ok(netSpans.every((s) => s.kind === 'internal' && s.name === 'tcp.connect'));
    assert.equal(
      withNet.gaps.totals.exchanges,
      withNet.spans.filter(isExchange).length,
      'no exchange counted twice',
    );
    for (const r of withNet.gaps.rows) assert.ok(!r.coveredBy.includes('@opentelemetry/instrumentation-net'));
  });

  test('sockscope keeps its connection spans, caller packages and every exchange', async (t) => {
    if (!(await servicesUp(t)) || withNet === undefined || without === undefined) return;
    for (const c of CLIENTS) {
      const conns = (run: MatrixRun): number =>
        run.spans.filter(
          (s) => isConnection(s) && Number(s.attributes['server.port']) === portOf(run, c.name),
        ).length;
      const exchanges = (run: MatrixRun): string[] =>
        [
          ...new Set(
            run.spans
              .filter((s) => isExchange(s) && Number(s.attributes['server.port']) === portOf(run, c.name))
              .map(opOf),
          ),
        ].sort();
      assert.equal(conns(withNet), conns(without), `${c.name}: connection spans`);
      assert.deepEqual(exchanges(withNet), exchanges(without), `${c.name}: exchange operations`);
    }
    for (const c of CLIENTS.filter((x) => x.name !== 'http')) {
      assert.equal(rowsOf(withNet, c.name)[0]?.callerPackage, callerOf(c.name));
    }
  });

  test('the rows keep their verdicts: the same clients are covered, by the same instrumentations', async (t) => {
    if (!(await servicesUp(t)) || withNet === undefined || without === undefined) return;
    for (const c of CLIENTS) {
      const key = (r: GapRow): string =>
        `${r.protocol} ${r.verdict} ${r.covered > 0} ${r.coveredBy.join(',')}`;
      const rows = (run: MatrixRun): string[] => rowsOf(run, c.name).map(key).sort();
      assert.deepEqual(rows(withNet), rows(without), `${c.name}: rows`);
      if (c.service === undefined) continue;
      if (c.official === undefined) assert.ok(rowsOf(withNet, c.name).every((r) => r.coveredBy.length === 0));
      else assert.ok(rowsOf(withNet, c.name).every((r) => r.coveredBy.join() === c.official));
    }
  });
});
