/**
 * Test helper: realistic traces made of real SDK spans (TracerProvider + InMemorySpanExporter)
 * shaped like sockscope's and the upstream instrumentations', with times chosen by the test, plus
 * the conversion to the analysis model (`TraceSpan`) and to OTLP/JSON lines.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
} from '@opentelemetry/api';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  TracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace';
import type { SpanKindName, TraceSpan } from '../../src/analysis/model';

/** Span times in tests are milliseconds after this instant. */
export const T0 = Date.UTC(2026, 2, 1, 9, 0, 0);

const KIND_NAMES: Record<number, SpanKindName> = {
  [SpanKind.INTERNAL]: 'internal',
  [SpanKind.SERVER]: 'server',
  [SpanKind.CLIENT]: 'client',
  [SpanKind.PRODUCER]: 'producer',
  [SpanKind.CONSUMER]: 'consumer',
};

/** An SDK span as the readers would produce it. */
export function toTraceSpan(s: ReadableSpan): TraceSpan {
  const ms = (t: [number, number]): number => t[0] * 1e3 + t[1] / 1e6;
  const attributes: TraceSpan['attributes'] = {};
  for (const [k, v] of Object.entries(s.attributes)) {
    if (v !== undefined) attributes[k] = v as TraceSpan['attributes'][string];
  }
  const service = s.resource.attributes['service.name'];
  return {
    traceId: s.spanContext().traceId,
    spanId: s.spanContext().spanId,
    parentSpanId: s.parentSpanContext?.spanId,
    name: s.name,
    kind: KIND_NAMES[s.kind] ?? 'unspecified',
    scope: s.instrumentationScope.name,
    service: typeof service === 'string' ? service : undefined,
    startMs: ms(s.startTime),
    endMs: ms(s.endTime),
    attributes,
    status:
      s.status.code === SpanStatusCode.ERROR ? 'error' : s.status.code === SpanStatusCode.OK ? 'ok' : 'unset',
    links: s.links.map((l) => ({ traceId: l.context.traceId, spanId: l.context.spanId })),
  };
}

/** One OTLP `ExportTraceServiceRequest` in OTLP/JSON, from the real serialiser (one JSONL line). */
export function otlpJsonLine(spans: ReadableSpan[]): string {
  return new TextDecoder().decode(JsonTraceSerializer.serializeRequest(spans));
}

export interface Timing {
  /** Milliseconds after T0. */
  start: number;
  end: number;
}

export interface ExchangeSpec extends Timing {
  protocol?: string;
  operation?: string;
  /** `host:port`. */
  server?: string;
  /** `sockscope.request.hash`; omitted when undefined. */
  hash?: string;
  /** `sockscope.statement.hash` (SQL statement shape); omitted when undefined. */
  statement?: string;
  /** The connection span the exchange links to. */
  connection?: Span;
  error?: boolean;
  name?: string;
}

/** Records one fake service's spans. Spans are ended with the given times as they are made. */
export class TraceRecorder {
  readonly exporter = new InMemorySpanExporter();
  readonly provider: TracerProvider;

  constructor(readonly service = 'shop') {
    this.provider = new TracerProvider({
      resource: resourceFromAttributes({ 'service.name': service }),
      spanProcessors: [new SimpleSpanProcessor({ exporter: this.exporter })],
    });
  }

  span(
    scope: string,
    name: string,
    parent: Span | undefined,
    t: Timing & { kind?: SpanKind; attributes?: Attributes; error?: boolean; links?: Span[] },
  ): Span {
    const ctx = parent ? trace.setSpan(ROOT_CONTEXT, parent) : ROOT_CONTEXT;
    const s = this.provider.getTracer(scope).startSpan(
      name,
      {
        kind: t.kind ?? SpanKind.INTERNAL,
        attributes: t.attributes,
        startTime: T0 + t.start,
        links: (t.links ?? []).map((l) => ({ context: l.spanContext() })),
      },
      ctx,
    );
    if (t.error) s.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
    s.end(T0 + t.end);
    return s;
  }

  /** An incoming request: a SERVER root span from instrumentation-http. */
  request(name: string, t: Timing): Span {
    return this.span('@opentelemetry/instrumentation-http', name, undefined, { ...t, kind: SpanKind.SERVER });
  }

  /** A span as `traced(name, fn)` makes it. */
  fn(name: string, parent: Span | undefined, t: Timing): Span {
    return this.span('sockscope', name, parent, { ...t, attributes: { 'sockscope.function': name } });
  }

  /** Any other INTERNAL span (a middleware, a resolver). */
  internal(name: string, parent: Span | undefined, t: Timing): Span {
    return this.span('app', name, parent, t);
  }

  /** A sockscope connection span. */
  connection(parent: Span | undefined, server: string, t: Timing): Span {
    const [host, port] = server.split(':');
    return this.span('sockscope', 'tcp connect', parent, {
      ...t,
      kind: SpanKind.CLIENT,
      attributes: {
        'sockscope.kind': 'connection',
        'network.transport': 'tcp',
        'server.address': host,
        'server.port': Number(port),
      },
    });
  }

  /** A sockscope exchange span per the contract. */
  exchange(parent: Span | undefined, spec: ExchangeSpec): Span {
    const [host, port] = (spec.server ?? 'db:5432').split(':');
    const attributes: Attributes = {
      'sockscope.kind': 'exchange',
      'network.transport': 'tcp',
      'server.address': host,
      'server.port': Number(port),
      'network.peer.address': '10.0.0.7',
      'network.peer.port': Number(port),
      'sockscope.bytes_sent': 40,
      'sockscope.bytes_received': 400,
      'sockscope.covered': false,
    };
    if (spec.protocol !== undefined) attributes['network.protocol.name'] = spec.protocol;
    if (spec.operation !== undefined) attributes['sockscope.operation'] = spec.operation;
    if (spec.hash !== undefined) attributes['sockscope.request.hash'] = spec.hash;
    if (spec.statement !== undefined) attributes['sockscope.statement.hash'] = spec.statement;
    const name =
      spec.name ?? (spec.protocol ? `${spec.protocol} ${spec.operation ?? ''}`.trim() : 'tcp exchange');
    return this.span('sockscope', name, parent, {
      ...spec,
      kind: SpanKind.CLIENT,
      attributes,
      links: spec.connection ? [spec.connection] : [],
    });
  }

  /** An upstream instrumentation's CLIENT span, e.g. instrumentation-pg's `pg.query:SELECT`. */
  upstream(
    parent: Span | undefined,
    scope: string,
    name: string,
    t: Timing & { server?: string; attributes?: Attributes },
  ): Span {
    const attributes: Attributes = { ...t.attributes };
    if (t.server !== undefined) {
      const [host, port] = t.server.split(':');
      attributes['server.address'] = host;
      attributes['server.port'] = Number(port);
    }
    return this.span(scope, name, parent, { ...t, kind: SpanKind.CLIENT, attributes });
  }

  finished(): ReadableSpan[] {
    return this.exporter.getFinishedSpans();
  }

  /** Everything recorded so far, as the analysis sees it. */
  spans(): TraceSpan[] {
    return this.finished().map(toTraceSpan);
  }

  /** The span id of a recorded span, for assertions. */
  static id(span: Span): string {
    return span.spanContext().spanId;
  }
}
