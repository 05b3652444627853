/**
 * Decoders for the OTLP trace wire formats, independent of the exporters under test: protobuf with
 * the schema of the official opentelemetry-proto messages (trace/v1/trace.proto,
 * common/v1/common.proto, resource/v1/resource.proto, collector/trace/v1/trace_service.proto;
 * field numbers and types as published there) read by protobufjs, and OTLP/JSON. Both produce the
 * same normalised shape so that tests compare what arrived with what was sent.
 */
import protobuf from 'protobufjs';

const OTLP_TRACE_PROTO = `
syntax = "proto3";
package opentelemetry.proto;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }

message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4;
  }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  message Link {
    bytes trace_id = 1;
    bytes span_id = 2;
    string trace_state = 3;
    repeated KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5;
    fixed32 flags = 6;
  }
  repeated Link links = 13;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status { string message = 2; int32 code = 3; }
`;

const root = protobuf.parse(OTLP_TRACE_PROTO, { keepCase: false }).root;
export const ExportTraceServiceRequest = root.lookupType('opentelemetry.proto.ExportTraceServiceRequest');
export const ExportTraceServiceResponse = root.lookupType('opentelemetry.proto.ExportTraceServiceResponse');

export type AttrValue = string | number | boolean | AttrValue[] | null;

export interface NormalSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** OTLP SpanKind: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  startNs: bigint;
  endNs: bigint;
  attributes: Record<string, AttrValue>;
  events: { name: string; attributes: Record<string, AttrValue> }[];
  links: { traceId: string; spanId: string; attributes: Record<string, AttrValue> }[];
  status: { code: number; message: string };
  scope: string;
  resource: Record<string, AttrValue>;
}

const hex = (b: unknown): string => {
  if (b === undefined || b === null) return '';
  if (typeof b === 'string') return b.toLowerCase(); // OTLP/JSON: already hex
  return Buffer.from(b as Uint8Array).toString('hex');
};

function anyValue(v: any): AttrValue {
  if (v === undefined || v === null) return null;
  // protobufjs instances expose the set oneof member's name as `value`; JSON objects have one key.
  const key: string | undefined =
    typeof v.value === 'string' && v.value.endsWith('Value')
      ? v.value
      : Object.keys(v).find((k) => k.endsWith('Value'));
  if (key === undefined) return null;
  const x = v[key];
  switch (key) {
    case 'intValue':
      return Number(typeof x === 'object' && x !== null ? x.toString() : x);
    case 'doubleValue':
      return Number(x);
    case 'arrayValue':
      return ((x?.values ?? []) as any[]).map(anyValue);
    case 'bytesValue':
      return hex(x);
    default:
      return x as AttrValue;
  }
}

function attrs(list: any[] | undefined): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  for (const kv of list ?? []) out[kv.key] = anyValue(kv.value);
  return out;
}

const nanos = (x: any): bigint => BigInt(typeof x === 'object' && x !== null ? x.toString() : (x ?? 0));

/** Flattens an ExportTraceServiceRequest (decoded protobuf message or parsed OTLP/JSON). */
export function normalizeRequest(req: any): NormalSpan[] {
  const out: NormalSpan[] = [];
  for (const rs of req.resourceSpans ?? []) {
    const resource = attrs(rs.resource?.attributes);
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: hex(s.traceId),
          spanId: hex(s.spanId),
          parentSpanId: hex(s.parentSpanId),
          name: s.name,
          kind: Number(s.kind ?? 0),
          startNs: nanos(s.startTimeUnixNano),
          endNs: nanos(s.endTimeUnixNano),
          attributes: attrs(s.attributes),
          events: (s.events ?? []).map((e: any) => ({ name: e.name, attributes: attrs(e.attributes) })),
          links: (s.links ?? []).map((l: any) => ({
            traceId: hex(l.traceId),
            spanId: hex(l.spanId),
            attributes: attrs(l.attributes),
          })),
          status: { code: Number(s.status?.code ?? 0), message: s.status?.message ?? '' },
          scope: ss.scope?.name ?? '',
          resource,
        });
      }
    }
  }
  return out;
}

export function decodeProtobufRequest(body: Uint8Array): NormalSpan[] {
  return normalizeRequest(ExportTraceServiceRequest.decode(body));
}

export function decodeJsonRequest(body: Uint8Array | string): NormalSpan[] {
  return normalizeRequest(JSON.parse(typeof body === 'string' ? body : Buffer.from(body).toString('utf8')));
}
