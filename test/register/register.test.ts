import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeProtobufRequest, type NormalSpan } from '../export/helpers/otlp-decode';
import { closedPort, startHttpReceiver } from '../export/helpers/receivers';
import { distBuilt, FIXTURES, LOADERS, portAnswers, readJsonl, runApp } from './helpers';

function tmpFile(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockscope-register-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'spans.jsonl');
}

const sockscopeSpans = (spans: NormalSpan[], kind: string): NormalSpan[] =>
  spans.filter((s) => s.scope === 'sockscope' && s.attributes['sockscope.kind'] === kind);

function assertHttpAppTraced(spans: NormalSpan[], serviceName: string): void {
  assert.ok(spans.length > 0, 'spans arrived');
  assert.ok(
    spans.every((s) => s.resource['service.name'] === serviceName),
    'OTEL_SERVICE_NAME is the service name',
  );
  const connections = sockscopeSpans(spans, 'connection');
  assert.ok(
    connections.some((s) => s.name === 'tcp connect' && s.attributes['server.address'] === '127.0.0.1'),
    `a sockscope connection span for the app's request (got ${spans.map((s) => `${s.scope}:${s.name}`).join(', ')})`,
  );
  assert.ok(sockscopeSpans(spans, 'exchange').length > 0, 'a sockscope exchange span');
  assert.ok(
    spans.some((s) => s.scope === '@opentelemetry/instrumentation-http'),
    'the official http instrumentation ran alongside',
  );
  assert.ok(
    !spans.some((s) => s.scope === '@opentelemetry/instrumentation-net'),
    'official instrumentation-net is off',
  );
}

test('with SOCKSCOPE_FLUSH_BEFORE_EXIT an app run with --require sockscope/register sends its spans to OTEL_EXPORTER_OTLP_ENDPOINT over OTLP/HTTP protobuf and ends normally', async () => {
  const receiver = await startHttpReceiver();
  try {
    const run = runApp(LOADERS.requireSource, 'http-app.js', {
      SOCKSCOPE_FLUSH_BEFORE_EXIT: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_SERVICE_NAME: 'register-test',
    });
    const { code, signal } = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.equal(signal, null);
    assert.match(run.stdout(), /^ok$/m);
    assert.ok(receiver.requests.length > 0, `the collector got a request; stderr=${run.stderr()}`);
    assert.equal(receiver.requests[0]!.path, '/v1/traces');
    const spans = receiver.requests.flatMap((r) => decodeProtobufRequest(r.body));
    assertHttpAppTraced(spans, 'register-test');
    // The exporter's own requests are made with tracing suppressed: none of them is a span.
    assert.ok(
      !spans.some((s) => s.attributes['server.port'] === receiver.port),
      "the exporter's requests to the collector are not traced",
    );
  } finally {
    await receiver.close();
  }
});

test('SOCKSCOPE_FILE with OTEL_TRACES_EXPORTER=none writes the spans to a JSONL file only', async (t) => {
  const file = tmpFile(t);
  const run = runApp(LOADERS.requireSource, 'http-app.js', {
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_SERVICE_NAME: 'file-test',
  });
  const { code } = await run.exited;
  assert.equal(code, 0, run.stderr());
  assertHttpAppTraced(readJsonl(file), 'file-test');
});

test('an invalid SOCKSCOPE_EXCHANGES prints one warning on stderr naming the variable and the accepted values, and the app still runs', async (t) => {
  const file = tmpFile(t);
  const run = runApp(LOADERS.requireSource, 'http-app.js', {
    SOCKSCOPE_EXCHANGES: 'sometimes',
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
  });
  const { code } = await run.exited;
  assert.equal(code, 0);
  assert.match(run.stdout(), /^ok$/m);
  const warnings = run
    .stderr()
    .split('\n')
    .filter((l) => l.includes('SOCKSCOPE_EXCHANGES'));
  assert.equal(warnings.length, 1, run.stderr());
  assert.match(warnings[0]!, /"sometimes".*all, uncovered, none/);
  // The default ('all') applies: exchange spans are emitted.
  assert.ok(sockscopeSpans(readJsonl(file), 'exchange').length > 0);
});

test('SOCKSCOPE_EXCHANGES=none keeps connection spans and emits no exchange spans', async (t) => {
  const file = tmpFile(t);
  const run = runApp(LOADERS.requireSource, 'http-app.js', {
    SOCKSCOPE_EXCHANGES: 'none',
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
  });
  assert.equal((await run.exited).code, 0, run.stderr());
  const spans = readJsonl(file);
  assert.ok(sockscopeSpans(spans, 'connection').length > 0);
  assert.equal(sockscopeSpans(spans, 'exchange').length, 0);
});

test('SOCKSCOPE_AUTO_INSTRUMENTATIONS=false leaves the official instrumentations out', async (t) => {
  const file = tmpFile(t);
  const run = runApp(LOADERS.requireSource, 'http-app.js', {
    SOCKSCOPE_AUTO_INSTRUMENTATIONS: 'false',
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
  });
  assert.equal((await run.exited).code, 0, run.stderr());
  const spans = readJsonl(file);
  assert.ok(sockscopeSpans(spans, 'connection').length > 0);
  assert.deepEqual([...new Set(spans.map((s) => s.scope))], ['sockscope']);
});

test('on SIGTERM an app without its own handler has its spans flushed and then ends by the signal, as it would without sockscope', async (t) => {
  const file = tmpFile(t);
  const run = runApp(LOADERS.requireSource, 'http-app.js', {
    KEEP_RUNNING: '1',
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
  });
  await run.waitForOutput('ready');
  assert.equal(readJsonl(file).length, 0, 'nothing flushed before the signal (batch delay is 5 s)');
  run.child.kill('SIGTERM');
  const { code, signal } = await run.exited;
  assert.equal(signal, 'SIGTERM', `ended by the signal (code ${code}); stderr=${run.stderr()}`);
  assert.ok(sockscopeSpans(readJsonl(file), 'connection').length > 0, 'spans were flushed before the end');
});

test('on SIGINT an app without its own handler has its spans flushed and then ends by the signal', async (t) => {
  const file = tmpFile(t);
  const run = runApp(LOADERS.requireSource, 'http-app.js', {
    KEEP_RUNNING: '1',
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
  });
  await run.waitForOutput('ready');
  run.child.kill('SIGINT');
  const { signal } = await run.exited;
  assert.equal(signal, 'SIGINT');
  assert.ok(readJsonl(file).length > 0);
});

test('on SIGTERM an app with its own handler is not ended by sockscope: its handler runs, spans are flushed, and it ends when it decides', async (t) => {
  const file = tmpFile(t);
  const run = runApp(LOADERS.requireSource, 'http-app.js', {
    KEEP_RUNNING: '1',
    APP_SIGNAL_HANDLER: '1',
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
  });
  await run.waitForOutput('ready');
  run.child.kill('SIGTERM');
  await run.waitForOutput('app handler SIGTERM');
  const { code, signal } = await run.exited;
  assert.equal(signal, null);
  assert.equal(code, 0);
  assert.match(run.stdout(), /app still running after the signal/);
  assert.ok(sockscopeSpans(readJsonl(file), 'connection').length > 0);
});

test('an ESM app run with --import sockscope/register is traced', async (t) => {
  const file = tmpFile(t);
  const run = runApp(LOADERS.importSource, 'http-app.mjs', {
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
    OTEL_SERVICE_NAME: 'esm-test',
  });
  assert.equal((await run.exited).code, 0, run.stderr());
  assertHttpAppTraced(readJsonl(file), 'esm-test');
});

test("--import registers the loader hook: an ESM app's named imports from node:http are traced by instrumentation-http, which they are not without it", async (t) => {
  const control = runApp(['--require', path.join(FIXTURES, 'no-hook-preload.js')], 'http-named-app.mjs', {});
  assert.equal((await control.exited).code, 0, control.stderr());
  assert.match(control.stdout(), /^ok$/m);
  assert.doesNotMatch(
    control.stdout(),
    /SPAN @opentelemetry\/instrumentation-http/,
    'control: no hook, no http spans',
  );

  const file = tmpFile(t);
  const run = runApp(LOADERS.importSource, 'http-named-app.mjs', {
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
  });
  assert.equal((await run.exited).code, 0, run.stderr());
  const http = readJsonl(file).filter((s) => s.scope === '@opentelemetry/instrumentation-http');
  assert.ok(
    http.some((s) => s.kind === 3),
    'a client span for the named import get()',
  );
  assert.ok(
    http.some((s) => s.kind === 2),
    'a server span for the named import createServer()',
  );
});

test("an ESM app's pg calls under --import produce instrumentation-pg spans, and sockscope marks the query exchange covered by them", async (t) => {
  if (!(await portAnswers(5432))) {
    const message = 'PostgreSQL does not answer at 127.0.0.1:5432 (user postgres, db test)';
    if (process.env.CI === 'true') assert.fail(message);
    t.skip(message);
    return;
  }
  const file = tmpFile(t);
  const run = runApp(LOADERS.importSource, 'pg-app.mjs', {
    SOCKSCOPE_FILE: file,
    OTEL_TRACES_EXPORTER: 'none',
  });
  assert.equal((await run.exited).code, 0, run.stderr());
  assert.match(run.stdout(), /^ok 1$/m);
  const spans = readJsonl(file);
  const pgSpans = spans.filter((s) => s.scope === '@opentelemetry/instrumentation-pg');
  assert.ok(
    pgSpans.some((s) => s.name.startsWith('pg.query')),
    `instrumentation-pg traced the ESM import of pg (got ${spans.map((s) => `${s.scope}:${s.name}`).join(', ')})`,
  );
  const covered = sockscopeSpans(spans, 'exchange').filter((s) => s.attributes['sockscope.covered'] === true);
  assert.ok(
    covered.some((s) => s.attributes['sockscope.covered_by'] === '@opentelemetry/instrumentation-pg'),
    'the query exchange is marked covered by instrumentation-pg',
  );
});

test('the built package works as `node --require sockscope/register` and `node --import sockscope/register`', async (t) => {
  if (!distBuilt()) {
    t.skip('dist/ is not built (run `npm run build` first)');
    return;
  }
  for (const [loader, app] of [
    [LOADERS.requireBuilt, 'http-app.js'],
    [LOADERS.importBuilt, 'http-app.mjs'],
  ] as const) {
    const file = tmpFile(t);
    const run = runApp(loader, app, {
      SOCKSCOPE_FILE: file,
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_SERVICE_NAME: 'built',
    });
    assert.equal((await run.exited).code, 0, run.stderr());
    assertHttpAppTraced(readJsonl(file), 'built');
  }
});

test('with SOCKSCOPE_FLUSH_BEFORE_EXIT an app whose collector does not answer still ends normally, within the shutdown timeout', async () => {
  const slow = await startHttpReceiver({ hold: true });
  try {
    const run = runApp(LOADERS.requireSource, 'http-app.js', {
      SOCKSCOPE_FLUSH_BEFORE_EXIT: 'true',
      OTEL_EXPORTER_OTLP_ENDPOINT: slow.url,
      // Long enough for the exporter, loaded at its first export, to send on a busy machine.
      SOCKSCOPE_SHUTDOWN_TIMEOUT_MS: '2000',
    });
    const { code, signal } = await run.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, run.stderr());
    assert.match(run.stdout(), /^ok$/m);
    assert.ok(slow.requests.length >= 1, 'the final flush reached the collector, which never answered');
  } finally {
    await slow.close();
  }
});

test('an app whose collector is down runs and ends normally', async () => {
  const port = await closedPort();
  const run = runApp(LOADERS.requireSource, 'http-app.js', {
    OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
    SOCKSCOPE_SHUTDOWN_TIMEOUT_MS: '500',
  });
  const { code } = await run.exited;
  assert.equal(code, 0, run.stderr());
  assert.match(run.stdout(), /^ok$/m);
});

/** The fixture printed `done`, exited 0 on its own, and its unref'd throwing interval never fired. */
async function exitsBeforeTheIntervalFires(run: ReturnType<typeof runApp>): Promise<void> {
  const { code, signal } = await run.exited;
  assert.equal(signal, null);
  assert.equal(code, 0, run.stderr());
  assert.match(run.stdout(), /^done$/m);
  assert.match(run.stdout(), /^exit 0$/m);
  assert.doesNotMatch(run.stderr(), /the interval fired/);
}

for (const [name, loader] of [
  ['plain', [] as readonly string[]],
  ['under --require sockscope/register', LOADERS.requireBuilt],
] as const) {
  test(`${name}, a script whose only pending work is an unref'd interval that throws exits 0 before it fires`, async (t) => {
    // The default OTLP exporter, towards a collector that is down, and the default resource detectors.
    const run = runApp(loader, 'unref-interval.js', {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await closedPort()}`,
      SOCKSCOPE_FILE: tmpFile(t),
    });
    await exitsBeforeTheIntervalFires(run);
  });
}

for (const collector of ['never answers', 'is down'] as const) {
  test(`an app that ends while an export to a collector that ${collector} is in flight exits before its unref'd throwing interval fires`, async () => {
    const holding = collector === 'never answers' ? await startHttpReceiver({ hold: true }) : undefined;
    try {
      const run = runApp(LOADERS.requireBuilt, 'export-in-flight.js', {
        OTEL_EXPORTER_OTLP_ENDPOINT: holding?.url ?? `http://127.0.0.1:${await closedPort()}`,
        // Every ended span is exported at once, so exports are in flight when the app ends.
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1',
      });
      await exitsBeforeTheIntervalFires(run);
      if (holding !== undefined)
        assert.ok(holding.requests.length >= 1, 'an export reached the collector, which never answered');
    } finally {
      await holding?.close();
    }
  });
}

for (const how of ['exit', 'throw', 'reject'] as const) {
  for (const after of [10, 3000]) {
    test(`an app that ends by ${how === 'exit' ? 'process.exit()' : how === 'throw' ? 'an uncaught exception' : 'an unhandled rejection'} ${after} ms after start loses none of its spans from SOCKSCOPE_FILE`, async (t) => {
      const file = tmpFile(t);
      const run = runApp(LOADERS.requireSource, 'early-exit.js', {
        SOCKSCOPE_FILE: file,
        OTEL_TRACES_EXPORTER: 'none',
        EXIT_HOW: how,
        EXIT_AFTER_MS: String(after),
      });
      const { code } = await run.exited;
      assert.equal(code, how === 'exit' ? 3 : 1, run.stderr());
      assert.match(run.stdout(), /five replies/);
      const spans = readJsonl(file);
      const gets = spans.filter((s) => s.name === 'redis GET');
      assert.equal(
        gets.length,
        5,
        `five redis GET exchanges in the file; got ${spans.map((s) => s.name).join(', ')}`,
      );
      assert.equal(spans.filter((s) => s.attributes['sockscope.kind'] === 'connection').length >= 1, true);
    });
  }
}

test('an app that starts its own tracer provider after sockscope/register gets one warning saying what to do', async () => {
  const run = runApp(LOADERS.requireSource, 'own-sdk-after-preload.js', { OTEL_TRACES_EXPORTER: 'console' });
  const { code } = await run.exited;
  assert.equal(code, 0, run.stderr());
  const warnings = run.stderr().match(/sockscope: the app started its own OpenTelemetry SDK/g) ?? [];
  assert.equal(warnings.length, 1, run.stderr());
  assert.match(run.stderr(), /add `new SocketInstrumentation\(\)`/);
});
