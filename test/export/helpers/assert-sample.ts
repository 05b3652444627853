import assert from 'node:assert/strict';
import type { NormalSpan } from './otlp-decode';
import { SERVICE_NAME, type SampleIds } from './sample-spans';

/** Asserts that the four sample spans arrived with ids, parents, attributes, events and links intact. */
export function assertSampleArrived(spans: NormalSpan[], ids: SampleIds): void {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  const root = byId.get(ids.root);
  const conn = byId.get(ids.connection);
  const ex = byId.get(ids.exchange);
  const failed = byId.get(ids.failedExchange);
  assert.ok(
    root && conn && ex && failed,
    `all four spans arrived (got ${spans.map((s) => s.name).join(', ')})`,
  );
  for (const s of [root, conn, ex, failed]) {
    assert.equal(s.traceId, ids.traceId);
    assert.equal(s.resource['service.name'], SERVICE_NAME);
    assert.equal(s.scope, 'sockscope');
    assert.ok(s.endNs >= s.startNs && s.startNs > 0n);
  }
  assert.equal(root.parentSpanId, '');
  assert.equal(root.kind, 1);

  assert.equal(conn.name, 'tcp connect');
  assert.equal(conn.kind, 3);
  assert.equal(conn.parentSpanId, ids.root);
  assert.deepEqual(conn.attributes, {
    'sockscope.kind': 'connection',
    'network.transport': 'tcp',
    'network.type': 'ipv4',
    'server.address': 'cache.internal',
    'server.port': 6379,
    'network.peer.address': '10.0.0.7',
    'network.peer.port': 6379,
    'sockscope.caller.package': 'ioredis',
    'sockscope.exchanges': 2,
  });
  assert.deepEqual(
    conn.events.map((e) => e.name),
    ['dns.lookup', 'connect'],
  );
  assert.deepEqual(conn.events[0]!.attributes, { 'network.peer.address': '10.0.0.7' });

  assert.equal(ex.name, 'redis GET');
  assert.equal(ex.kind, 3);
  assert.equal(ex.parentSpanId, ids.root);
  assert.deepEqual(ex.attributes, {
    'sockscope.kind': 'exchange',
    'server.address': 'cache.internal',
    'server.port': 6379,
    'network.protocol.name': 'redis',
    'db.system.name': 'redis',
    'db.operation.name': 'GET',
    'sockscope.operation': 'GET',
    'sockscope.bytes_sent': 31,
    'sockscope.bytes_received': 12,
    'sockscope.covered': false,
    'sockscope.request.hash': 'a1b2c3d4',
    'sockscope.ratio': 0.25,
  });
  assert.deepEqual(ex.links, [
    { traceId: ids.traceId, spanId: ids.connection, attributes: { 'sockscope.link': 'connection' } },
  ]);
  assert.equal(ex.status.code, 0);

  assert.equal(failed.name, 'postgresql SELECT');
  assert.deepEqual(failed.links, [{ traceId: ids.traceId, spanId: ids.connection, attributes: {} }]);
  assert.equal(failed.attributes['sockscope.covered'], true);
  assert.equal(failed.attributes['sockscope.covered_by'], '@opentelemetry/instrumentation-pg');
  assert.deepEqual(failed.status, { code: 2, message: 'ErrorResponse 42P01' });
}
