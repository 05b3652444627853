/**
 * The trace model every reader produces and every analysis consumes, whatever the input format
 * (OTLP/JSON, JSONL of OTLP requests, Jaeger JSON, Zipkin v2 JSON).
 */

export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer' | 'unspecified';

export type AttributeValue = string | number | boolean | Array<string | number | boolean | null>;

export interface TraceSpan {
  /** Lower-case hex, as in the input (not padded). */
  traceId: string;
  /** Lower-case hex. */
  spanId: string;
  /** Lower-case hex, or undefined for a root span. */
  parentSpanId: string | undefined;
  name: string;
  kind: SpanKindName;
  /** Instrumentation scope name (`sockscope`, `@opentelemetry/instrumentation-pg`), when known. */
  scope: string | undefined;
  /** `service.name` of the resource / process, when known. */
  service: string | undefined;
  /** Epoch milliseconds (fractional). */
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue>;
  status: 'unset' | 'ok' | 'error';
  /** Linked span contexts (lower-case hex). */
  links: Array<{ traceId: string; spanId: string }>;
}
