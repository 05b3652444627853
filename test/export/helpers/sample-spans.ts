/**
 * Real spans from the real SDK, shaped like sockscope's: a root INTERNAL span, a `tcp connect`
 * connection span and `redis GET` / `postgresql SELECT` exchange spans linked to it.
 */
import { SpanKind, SpanStatusCode, context, trace, type SpanContext } from '@opentelemetry/api';
import { TracerProvider, type SpanProcessor } from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';

export const SERVICE_NAME = 'sockscope-export-test';

export interface SampleIds {
  traceId: string;
  root: string;
  connection: string;
  exchange: string;
  failedExchange: string;
}

export function createProvider(processors: SpanProcessor[]): TracerProvider {
  return new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': SERVICE_NAME }),
    spanProcessors: processors,
  });
}

/** Emits four spans through the provider and returns their ids. */
export function emitSampleSpans(provider: TracerProvider): SampleIds {
  const tracer = provider.getTracer('sockscope', '0.1.0');
  const root = tracer.startSpan('GET /orders', { kind: SpanKind.INTERNAL });
  const rootCtx = trace.setSpan(context.active(), root);
  const conn = tracer.startSpan(
    'tcp connect',
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'sockscope.kind': 'connection',
        'network.transport': 'tcp',
        'network.type': 'ipv4',
        'server.address': 'cache.internal',
        'server.port': 6379,
        'network.peer.address': '10.0.0.7',
        'network.peer.port': 6379,
        'sockscope.caller.package': 'ioredis',
      },
    },
    rootCtx,
  );
  conn.addEvent('dns.lookup', { 'network.peer.address': '10.0.0.7' });
  conn.addEvent('connect');
  const connCtx: SpanContext = conn.spanContext();
  const exchange = tracer.startSpan(
    'redis GET',
    {
      kind: SpanKind.CLIENT,
      links: [{ context: connCtx, attributes: { 'sockscope.link': 'connection' } }],
      attributes: {
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
      },
    },
    rootCtx,
  );
  exchange.end();
  const failed = tracer.startSpan(
    'postgresql SELECT',
    {
      kind: SpanKind.CLIENT,
      links: [{ context: connCtx }],
      attributes: {
        'sockscope.kind': 'exchange',
        'server.address': 'db.internal',
        'server.port': 5432,
        'db.system.name': 'postgresql',
        'sockscope.covered': true,
        'sockscope.covered_by': '@opentelemetry/instrumentation-pg',
      },
    },
    rootCtx,
  );
  failed.setStatus({ code: SpanStatusCode.ERROR, message: 'ErrorResponse 42P01' });
  failed.end();
  conn.setAttribute('sockscope.exchanges', 2);
  conn.end();
  root.end();
  return {
    traceId: root.spanContext().traceId,
    root: root.spanContext().spanId,
    connection: connCtx.spanId,
    exchange: exchange.spanContext().spanId,
    failedExchange: failed.spanContext().spanId,
  };
}
