import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimpleSpanProcessor, type SpanExporter } from '@opentelemetry/sdk-trace';
import { OTLPTraceExporter as OTLPProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as OTLPJsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as OTLPGrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { decodeJsonRequest, decodeProtobufRequest, type NormalSpan } from './helpers/otlp-decode';
import { startGrpcReceiver, startHttpReceiver, type Receiver } from './helpers/receivers';
import { createProvider, emitSampleSpans, SERVICE_NAME, type SampleIds } from './helpers/sample-spans';
import { assertSampleArrived } from './helpers/assert-sample';

/** Sends the sample spans through `exporter` with the real SDK and waits for the receiver. */
async function sendThrough(exporter: SpanExporter, receiver: Receiver): Promise<SampleIds> {
  const provider = createProvider([new SimpleSpanProcessor({ exporter })]);
  const ids = emitSampleSpans(provider);
  await provider.forceFlush();
  await receiver.waitFor(1);
  await provider.shutdown();
  return ids;
}

const allSpans = (receiver: Receiver, decode: (b: Buffer) => NormalSpan[]): NormalSpan[] =>
  receiver.requests.flatMap((r) => decode(r.body));

test('OTLP/HTTP protobuf: spans, attributes, events and links arrive intact, decoded with the OTLP protos', async () => {
  const receiver = await startHttpReceiver();
  try {
    const ids = await sendThrough(new OTLPProtoExporter({ url: `${receiver.url}/v1/traces` }), receiver);
    assert.equal(receiver.requests[0]!.path, '/v1/traces');
    assert.equal(receiver.requests[0]!.headers['content-type'], 'application/x-protobuf');
    assertSampleArrived(allSpans(receiver, decodeProtobufRequest), ids);
  } finally {
    await receiver.close();
  }
});

test('OTLP/HTTP JSON: spans, attributes, events and links arrive intact', async () => {
  const receiver = await startHttpReceiver();
  try {
    const ids = await sendThrough(new OTLPJsonExporter({ url: `${receiver.url}/v1/traces` }), receiver);
    assert.equal(receiver.requests[0]!.headers['content-type'], 'application/json');
    assertSampleArrived(allSpans(receiver, decodeJsonRequest), ids);
  } finally {
    await receiver.close();
  }
});

test('OTLP gRPC: TraceService/Export receives the spans intact', async () => {
  const receiver = await startGrpcReceiver();
  try {
    const ids = await sendThrough(new OTLPGrpcExporter({ url: receiver.url }), receiver);
    assertSampleArrived(allSpans(receiver, decodeProtobufRequest), ids);
  } finally {
    await receiver.close();
  }
});

test('Zipkin v2 JSON: spans arrive with ids, parents, kind, tags and annotations (Zipkin has no links)', async () => {
  const receiver = await startHttpReceiver({ status: 202 });
  try {
    const ids = await sendThrough(new ZipkinExporter({ url: `${receiver.url}/api/v2/spans` }), receiver);
    assert.equal(receiver.requests[0]!.path, '/api/v2/spans');
    const spans = receiver.requests.flatMap((r) => JSON.parse(r.body.toString('utf8')) as any[]);
    const byId = new Map(spans.map((s) => [s.id, s]));
    const conn = byId.get(ids.connection);
    const ex = byId.get(ids.exchange);
    const failed = byId.get(ids.failedExchange);
    const root = byId.get(ids.root);
    assert.ok(conn && ex && failed && root, 'all four spans arrived');
    for (const s of [conn, ex, failed, root]) {
      assert.equal(s.traceId, ids.traceId);
      assert.equal(s.localEndpoint.serviceName, SERVICE_NAME);
      assert.equal(typeof s.timestamp, 'number');
      assert.equal(typeof s.duration, 'number');
    }
    assert.equal(root.parentId, undefined);
    assert.equal(conn.name, 'tcp connect');
    assert.equal(conn.kind, 'CLIENT');
    assert.equal(conn.parentId, ids.root);
    assert.equal(conn.tags['sockscope.kind'], 'connection');
    assert.equal(conn.tags['server.address'], 'cache.internal');
    assert.equal(conn.tags['server.port'], '6379');
    assert.equal(conn.tags['sockscope.exchanges'], '2');
    assert.deepEqual(
      conn.annotations.map((a: { value: string }) => a.value.split(' ')[0]),
      ['dns.lookup', 'connect'],
    );
    assert.equal(ex.name, 'redis GET');
    assert.equal(ex.parentId, ids.root);
    assert.equal(ex.tags['sockscope.kind'], 'exchange');
    assert.equal(ex.tags['db.system.name'], 'redis');
    assert.equal(ex.tags['sockscope.covered'], 'false');
    assert.equal(failed.tags['otel.status_code'], 'ERROR');
    assert.equal(failed.tags.error, 'ErrorResponse 42P01');
  } finally {
    await receiver.close();
  }
});
