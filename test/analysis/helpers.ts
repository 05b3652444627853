/**
 * Test helpers: real OpenTelemetry SDK spans shaped like sockscope's and the upstream
 * instrumentations', serialised by the real OTLP/JSON serialiser and Zipkin exporter.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import {
  TracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';

export const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);

export interface SpanSpec {
  parent?: Span;
  kind?: SpanKind;
  attributes?: Attributes;
  /** Milliseconds after T0. */
  start: number;
  end: number;
  error?: boolean;
}

/** A recorder of finished SDK spans for one fake service. */
export class Recorder {
  readonly exporter = new InMemorySpanExporter();
  readonly provider: TracerProvider;

  constructor(service = 'checkout') {
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: this.exporter })],
    });
  }

  span(scope: string, name: string, spec: SpanSpec): Span {
    const ctx = spec.parent ? trace.setSpan(ROOT_CONTEXT, spec.parent) : ROOT_CONTEXT;
    const s = this.provider
      .getTracer(scope, '1.0.0')
      .startSpan(
        name,
        { kind: spec.kind ?? SpanKind.INTERNAL, attributes: spec.attributes, startTime: T0 + spec.start },
        ctx,
      );
    if (spec.error) s.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
    s.end(T0 + spec.end);
    return s;
  }

  /** A root (or any INTERNAL) span; it is ended at `end` but may still parent spans in tests. */
  root(name: string, start = 0, end = 1000): Span {
    return this.span('app', name, { start, end, kind: SpanKind.SERVER });
  }

  /** A sockscope exchange span per the contract. */
  exchange(
    parent: Span | undefined,
    opts: {
      protocol?: string;
      operation?: string;
      host?: string;
      port?: number;
      caller?: string;
      start: number;
      end: number;
      covered?: boolean;
      transport?: 'tcp' | 'unix';
      error?: boolean;
      /** `sockscope.phase`; absent as in files written before it existed. */
      phase?: 'setup' | 'operation' | 'teardown' | 'heartbeat';
      /** `network.protocol.version` (`2` for HTTP/2 streams). */
      version?: string;
    },
  ): Span {
    const transport = opts.transport ?? 'tcp';
    const attributes: Attributes = {
      'sockscope.kind': 'exchange',
      'network.transport': transport,
      'server.address': opts.host ?? 'db.internal',
      'sockscope.bytes_sent': 42,
      'sockscope.bytes_received': 420,
      'sockscope.caller.package': opts.caller ?? 'pg',
      'sockscope.covered': opts.covered ?? false,
    };
    if (transport === 'tcp') {
      attributes['server.port'] = opts.port ?? 5432;
      attributes['network.peer.address'] = '10.0.0.7';
      attributes['network.peer.port'] = opts.port ?? 5432;
    }
    if (opts.protocol) {
      attributes['network.protocol.name'] = opts.protocol;
      if (opts.operation) attributes['sockscope.operation'] = opts.operation;
      if (opts.version) attributes['network.protocol.version'] = opts.version;
    }
    if (opts.phase) attributes['sockscope.phase'] = opts.phase;
    const name = opts.protocol ? `${opts.protocol} ${opts.operation ?? ''}`.trim() : `${transport} exchange`;
    return this.span('sockscope', name, {
      parent,
      kind: SpanKind.CLIENT,
      attributes,
      start: opts.start,
      end: opts.end,
      error: opts.error,
    });
  }

  /** An upstream instrumentation's CLIENT span naming a server, as instrumentation-pg writes it. */
  upstream(
    parent: Span | undefined,
    scope: string,
    opts: {
      name?: string;
      host?: string;
      port?: number;
      start: number;
      end: number;
      kind?: SpanKind;
      attributes?: Attributes;
    },
  ): Span {
    const attributes: Attributes = { ...opts.attributes };
    if (opts.host !== undefined) attributes['server.address'] = opts.host;
    if (opts.port !== undefined) attributes['server.port'] = opts.port;
    return this.span(scope, opts.name ?? 'pg.query:SELECT', {
      parent,
      kind: opts.kind ?? SpanKind.CLIENT,
      attributes,
      start: opts.start,
      end: opts.end,
    });
  }

  finished(): ReadableSpan[] {
    return this.exporter.getFinishedSpans();
  }
}

/** OTLP/JSON `ExportTraceServiceRequest` text, from the real serialiser. */
export function otlpJson(spans: ReadableSpan[]): string {
  return new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
}

/** Zipkin v2 JSON span array text, as the real Zipkin exporter POSTs it. */
export async function zipkinJson(spans: ReadableSpan[]): Promise<string> {
  let body = '';
  const server = createServer((req, res) => {
    req.setEncoding('utf8');
    req.on('data', (c: string) => (body += c));
    req.on('end', () => {
      res.writeHead(202);
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    const exporter = new ZipkinExporter({ url: `http://127.0.0.1:${port}/api/v2/spans` });
    await new Promise<void>((resolve, reject) =>
      exporter.export(spans, (r) =>
        r.code === 0 ? resolve() : reject(r.error ?? new Error('export failed')),
      ),
    );
    await exporter.shutdown();
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
  return body;
}

const JAEGER_KINDS = ['internal', 'server', 'client', 'producer', 'consumer'];

/**
 * Jaeger query-API JSON for SDK spans, as Jaeger's OTLP translation stores them: typed tags,
 * `span.kind`, `otel.scope.name`, `otel.status_code` + `error`, CHILD_OF references, processes.
 */
export function jaegerTraces(spans: ReadableSpan[]): Array<Record<string, unknown>> {
  const byTrace = new Map<string, ReadableSpan[]>();
  for (const s of spans) {
    const id = s.spanContext().traceId;
    byTrace.set(id, [...(byTrace.get(id) ?? []), s]);
  }
  const micros = (t: [number, number]): number => t[0] * 1e6 + Math.round(t[1] / 1000);
  return [...byTrace].map(([traceID, list]) => ({
    traceID,
    spans: list.map((s) => {
      const tags: Array<{ key: string; type: string; value: unknown }> = [];
      for (const [key, value] of Object.entries(s.attributes)) {
        const type =
          typeof value === 'boolean'
            ? 'bool'
            : typeof value === 'number'
              ? Number.isInteger(value)
                ? 'int64'
                : 'float64'
              : 'string';
        tags.push({ key, type, value });
      }
      tags.push({ key: 'otel.scope.name', type: 'string', value: s.instrumentationScope.name });
      if (s.kind !== SpanKind.INTERNAL)
        tags.push({ key: 'span.kind', type: 'string', value: JAEGER_KINDS[s.kind] });
      if (s.status.code === SpanStatusCode.ERROR) {
        tags.push({ key: 'otel.status_code', type: 'string', value: 'ERROR' });
        tags.push({ key: 'error', type: 'bool', value: true });
      }
      const parent = s.parentSpanContext?.spanId;
      return {
        traceID,
        spanID: s.spanContext().spanId,
        operationName: s.name,
        references: parent ? [{ refType: 'CHILD_OF', traceID, spanID: parent }] : [],
        startTime: micros(s.startTime),
        duration: micros(s.endTime) - micros(s.startTime),
        tags,
        logs: [],
        processID: 'p1',
        warnings: null,
      };
    }),
    processes: { p1: { serviceName: 'checkout', tags: [] } },
    warnings: null,
  }));
}

/** A typical covered/uncovered mix: pg covered by its sibling, mqtt uncovered, redis covered by parent. */
export function sampleService(rec = new Recorder()): Recorder {
  const root = rec.root('GET /checkout', 0, 500);
  // instrumentation-pg: sibling of the exchange (its span is not active while pg writes).
  rec.upstream(root, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 10,
    end: 30,
  });
  rec.exchange(root, { protocol: 'postgresql', operation: 'SELECT', caller: 'pg', start: 11, end: 29 });
  // instrumentation-ioredis: the exchange's parent.
  const redis = rec.upstream(root, '@opentelemetry/instrumentation-ioredis', {
    name: 'get',
    host: 'cache',
    port: 6379,
    start: 40,
    end: 45,
  });
  rec.exchange(redis, {
    protocol: 'redis',
    operation: 'GET',
    caller: 'ioredis',
    host: 'cache',
    port: 6379,
    start: 41,
    end: 44,
  });
  // mqtt: nobody else sees it.
  rec.exchange(root, {
    protocol: 'mqtt',
    operation: 'PUBLISH',
    caller: 'mqtt',
    host: 'broker',
    port: 1883,
    start: 50,
    end: 90,
  });
  rec.exchange(root, {
    protocol: 'mqtt',
    operation: 'PUBLISH',
    caller: 'mqtt',
    host: 'broker',
    port: 1883,
    start: 100,
    end: 120,
  });
  return rec;
}

/** A gap row's `--json` fields, in order: the contract's first. */
export const GAP_CONTRACT_KEYS = [
  'callerPackage',
  'protocol',
  'server',
  'exchanges',
  'covered',
  'uncovered',
  'coveredBy',
  'uncoveredTimeMs',
  'suggestion',
] as const;
export const GAP_ROW_KEYS = [
  ...GAP_CONTRACT_KEYS,
  'verdict',
  'operations',
  'operationsCovered',
  'operationsUncovered',
  'uncoveredOperationTimeMs',
  'uncoveredOperationNames',
  'phases',
  'callerPackageVersions',
];
