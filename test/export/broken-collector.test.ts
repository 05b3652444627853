/**
 * A collector that is down, slow or failing must not change the app: its own requests are not held
 * up, memory stays bounded (the batch processor's queue drops, with one warning per run of drops),
 * and nothing throws. No timing is compared: "not held up" is shown by order of events, the app's
 * requests all completing while an export is still unanswered (or has failed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { diag, DiagLogLevel, SpanKind, type DiagLogger } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  BatchSpanProcessor,
  type TracerProvider,
  type ReadableSpan,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { closedPort, startHttpReceiver, type Receiver } from './helpers/receivers';
import { createProvider } from './helpers/sample-spans';

const REQUESTS = 30;

/** The app's own backend: a loopback HTTP server. */
async function startBackend(): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((_req, res) => res.end('pong'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function get(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: '/work', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      })
      .on('error', reject);
  });
}

/** Sequential app requests, each inside spans like sockscope's, so that exports keep happening. */
async function appRequests(provider: TracerProvider, port: number): Promise<void> {
  const tracer = provider.getTracer('sockscope');
  for (let i = 0; i < REQUESTS; i++) {
    const conn = tracer.startSpan('tcp connect', {
      kind: SpanKind.CLIENT,
      attributes: { 'sockscope.kind': 'connection' },
    });
    await get(port);
    for (let k = 0; k < 20; k++) {
      tracer
        .startSpan('http GET', { kind: SpanKind.CLIENT, attributes: { 'sockscope.kind': 'exchange', k } })
        .end();
    }
    conn.end();
  }
}

/** The exports the batch processor has started, and how those that came back ended. */
interface ExportLog {
  started: number;
  results: ExportResultCode[];
}

/** The OTLP exporter, with each export call and its result logged. */
function loggedExporter(url: string, log: ExportLog): SpanExporter {
  const exporter = new OTLPTraceExporter({ url: `${url}/v1/traces` });
  return {
    export(spans: ReadableSpan[], done: (r: ExportResult) => void) {
      log.started++;
      exporter.export(spans, (r) => {
        log.results.push(r.code);
        done(r);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  };
}

function exportingProvider(
  url: string,
  queue: { maxQueueSize?: number } = {},
  log: ExportLog = { started: 0, results: [] },
): TracerProvider {
  return createProvider([
    new BatchSpanProcessor({
      exporter: loggedExporter(url, log),
      scheduledDelayMillis: 20,
      maxExportBatchSize: 64,
      maxQueueSize: queue.maxQueueSize ?? 256,
    }),
  ]);
}

/** Shuts a provider down without waiting for a collector that will not answer. */
async function shutdownQuickly(provider: TracerProvider): Promise<void> {
  await Promise.race([provider.shutdown().catch(() => undefined), new Promise((r) => setTimeout(r, 500))]);
}

function captureDiag(t: { after(fn: () => void): void }): string[] {
  const messages: string[] = [];
  const logger: DiagLogger = {
    error: (m) => messages.push(`error: ${m}`),
    warn: (m) => messages.push(`warn: ${m}`),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  t.after(() => diag.disable());
  return messages;
}

/**
 * The app makes its requests with exports going to a broken collector. It is not held up when all
 * its requests complete while no export has succeeded: an export was started and is unanswered or
 * failed (a client that waited for the collector would never get there with a held export).
 */
async function assertNotHeldUp(
  t: { after(fn: () => void): void; diagnostic(m: string): void },
  collectorUrl: string,
  whilePending?: Receiver,
): Promise<void> {
  captureDiag(t);
  const backend = await startBackend();
  try {
    const log: ExportLog = { started: 0, results: [] };
    const provider = exportingProvider(collectorUrl, {}, log);
    // Make sure an export has started (and, for a holding collector, is stuck there) first.
    provider.getTracer('sockscope').startSpan('tcp connect').end();
    while (log.started === 0) await new Promise((r) => setTimeout(r, 5));
    if (whilePending) await whilePending.waitFor(1);
    assert.ok(log.started >= 1, 'an export was started before the app worked');
    await appRequests(provider, backend.port);
    t.diagnostic(`exports started ${log.started}, results ${JSON.stringify(log.results)}`);
    assert.equal(log.results.includes(ExportResultCode.SUCCESS), false, 'no export got through meanwhile');
    if (whilePending) assert.ok(log.started > log.results.length, 'the held export is still unanswered');
    await shutdownQuickly(provider);
  } finally {
    await backend.close();
  }
}

test("a collector that is down (closed port) does not hold up the app's own requests, and nothing throws", async (t) => {
  const port = await closedPort();
  await assertNotHeldUp(t, `http://127.0.0.1:${port}`);
});

test("a collector that accepts and does not answer does not hold up the app's own requests while the export is pending", async (t) => {
  const slow = await startHttpReceiver({ hold: true });
  try {
    await assertNotHeldUp(t, slow.url, slow);
    assert.ok(slow.requests.length >= 1, 'the export reached the collector and was left pending');
  } finally {
    await slow.close();
  }
});

test("a collector answering 500 does not hold up the app's own requests, and nothing throws", async (t) => {
  const failing = await startHttpReceiver({ status: 500 });
  try {
    await assertNotHeldUp(t, failing.url);
    assert.ok(failing.requests.length >= 1, 'exports were attempted');
  } finally {
    await failing.close();
  }
});

test('with a stuck collector the queue stays at maxQueueSize and memory stays bounded however many spans are made', async (t) => {
  const slow = await startHttpReceiver({ hold: true });
  const processor = new BatchSpanProcessor({
    exporter: new OTLPTraceExporter({ url: `${slow.url}/v1/traces` }),
    maxQueueSize: 2048,
    maxExportBatchSize: 512,
  });
  const provider = createProvider([processor]);
  try {
    const tracer = provider.getTracer('sockscope');
    const make = (n: number): void => {
      for (let i = 0; i < n; i++) {
        tracer
          .startSpan('redis GET', {
            kind: SpanKind.CLIENT,
            attributes: { 'sockscope.kind': 'exchange', 'sockscope.request.hash': 'h'.repeat(64), i },
          })
          .end();
      }
    };
    make(5_000);
    await slow.waitFor(1);
    const before = process.memoryUsage().heapUsed;
    for (let round = 0; round < 20; round++) {
      make(10_000);
      await new Promise((r) => setImmediate(r));
    }
    const grown = process.memoryUsage().heapUsed - before;
    t.diagnostic(`heap grew by ${(grown / 1048576).toFixed(1)} MB over 200,000 spans`);
    // Internal field, read only here: the number of spans the processor holds.
    const queued = (processor as unknown as { _finishedSpans: unknown[] })._finishedSpans.length;
    assert.ok(queued <= 2048, `queue holds ${queued} spans`);
    // 200,000 spans retained would be hundreds of MB; dropped ones are garbage.
    assert.ok(grown < 150 * 1024 * 1024, `heap grew by ${(grown / 1048576).toFixed(0)} MB`);
  } finally {
    await shutdownQuickly(provider);
    await slow.close();
  }
});

test('dropped spans are reported once per run of drops, not once per span', async (t) => {
  const messages = captureDiag(t);
  const failing = await startHttpReceiver({ status: 500 });
  const provider = exportingProvider(failing.url, { maxQueueSize: 100 });
  try {
    const tracer = provider.getTracer('sockscope');
    const bursts = 8;
    const perBurst = 2_000;
    for (let b = 0; b < bursts; b++) {
      for (let i = 0; i < perBurst; i++) tracer.startSpan('tcp exchange', { kind: SpanKind.CLIENT }).end();
      // Let the failing export come back so the queue drains and the next burst is accepted.
      await new Promise((r) => setTimeout(r, 100));
    }
    tracer.startSpan('tcp exchange').end();
    const dropped = messages.filter((m) => /Dropped \d+ spans because maxQueueSize reached/.test(m));
    const total = dropped.reduce((n, m) => n + Number(/Dropped (\d+)/.exec(m)![1]), 0);
    t.diagnostic(
      `${dropped.length} drop warnings for ${total} dropped spans; ${messages.length} diag messages in all`,
    );
    assert.ok(dropped.length >= 1, `a drop warning appeared: ${JSON.stringify(messages.slice(0, 5))}`);
    assert.ok(dropped.length <= bursts, `${dropped.length} drop warnings for ${bursts} bursts`);
    assert.ok(total >= bursts * (perBurst - 200), `the warnings count the dropped spans (${total})`);
    assert.ok(messages.length < 100, `${messages.length} diag messages for ${bursts * perBurst} spans`);
  } finally {
    await shutdownQuickly(provider);
    await failing.close();
  }
});
