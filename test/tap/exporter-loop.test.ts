import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { configure, inSpan, instrumentation, provider } from '../helpers/otel';
import { connect, roundTrip, startEcho } from '../helpers/servers';

test('spans exported through the real OTLP/HTTP exporter never describe the exporter’s own socket', async () => {
  configure();
  // A loopback collector that decodes the OTLP/JSON it receives.
  const received: Array<{ name: string; port: unknown }> = [];
  let requests = 0;
  const collector = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      requests++;
      const doc = JSON.parse(body);
      for (const rs of doc.resourceSpans ?? [])
        for (const ss of rs.scopeSpans ?? [])
          for (const s of ss.spans ?? []) {
            const port = (s.attributes ?? []).find((a: { key: string }) => a.key === 'server.port')?.value
              ?.intValue;
            received.push({ name: s.name, port });
          }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const collectorPort = (collector.address() as AddressInfo).port;
  const exporting = new TracerProvider({
    spanProcessors: [
      new BatchSpanProcessor({
        exporter: new OTLPTraceExporter({ url: `http://127.0.0.1:${collectorPort}/v1/traces`, headers: {} }),
        scheduledDelayMillis: 20,
      }),
    ],
  });
  instrumentation.setTracerProvider(exporting);
  const peer = await startEcho();
  try {
    for (let round = 0; round < 5; round++) {
      await inSpan('work', async () => {
        const s = await connect(peer.port);
        await roundTrip(s, `round ${round}`);
        s.destroy();
      });
      await new Promise((r) => setTimeout(r, 60)); // let a scheduled export run in between
    }
    await exporting.forceFlush();
  } finally {
    instrumentation.setTracerProvider(provider);
    await exporting.shutdown();
    await peer.close();
    collector.close();
  }
  assert.ok(requests >= 2, `several export requests were made (${requests})`);
  const ours = received.filter((s) => s.name === 'tcp connect' || s.name.endsWith('exchange'));
  assert.ok(ours.length >= 10, 'the app’s own sockets were exported');
  assert.deepEqual(
    ours.filter((s) => String(s.port) === String(collectorPort)),
    [],
    'no span about the collector connection: no feedback loop',
  );
});
