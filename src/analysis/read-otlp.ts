/**
 * OTLP/JSON `ExportTraceServiceRequest` → `TraceSpan[]`. Tolerates what real writers produce:
 * hex ids in either case (or base64 from older protobuf-JSON writers), 64-bit integers as strings
 * or numbers, enum values as numbers or names, and the pre-1.0 `instrumentationLibrarySpans`.
 */
import type { AttributeValue, SpanKindName, TraceSpan } from './model';
import { checkTime, isObject, normaliseId, toNumber, TraceDataError } from './read-common';
import { ATTR_SERVICE_NAME } from '../spans/semconv';

const KINDS: SpanKindName[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export function isOtlpDocument(doc: unknown): boolean {
  return isObject(doc) && Array.isArray(doc.resourceSpans);
}

function anyValue(v: unknown): AttributeValue | undefined {
  if (!isObject(v)) return undefined;
  if ('stringValue' in v) return String(v.stringValue);
  if ('boolValue' in v) return v.boolValue === true || v.boolValue === 'true';
  if ('intValue' in v) return toNumber(v.intValue);
  if ('doubleValue' in v) return toNumber(v.doubleValue);
  if ('bytesValue' in v) return String(v.bytesValue);
  if (isObject(v.arrayValue)) {
    const values = Array.isArray(v.arrayValue.values) ? v.arrayValue.values : [];
    // Elements are scalars in the flat model (a nested array or list is null): no recursion, so
    // no nesting depth can exhaust the stack.
    return values.map((x) => {
      if (!isObject(x) || isObject(x.arrayValue) || isObject(x.kvlistValue)) return null;
      const y = anyValue(x);
      return y === undefined || Array.isArray(y) ? null : y;
    });
  }
  // kvlistValue has no place in the flat attribute model; keep it readable.
  if (isObject(v.kvlistValue)) return kvlistText(v.kvlistValue);
  return undefined;
}

/** A key-value list as JSON text; one nested past what JSON.stringify can walk is refused. */
function kvlistText(list: unknown): string {
  try {
    return JSON.stringify(list);
  } catch (err) {
    if (err instanceof RangeError)
      throw new TraceDataError('an attribute value (kvlistValue) is nested too deep');
    throw err;
  }
}

function attributes(list: unknown): Record<string, AttributeValue> {
  const out: Record<string, AttributeValue> = {};
  if (!Array.isArray(list)) return out;
  for (const kv of list) {
    if (!isObject(kv) || typeof kv.key !== 'string') continue;
    const v = anyValue(kv.value);
    if (v !== undefined) out[kv.key] = v;
  }
  return out;
}

/** Nanoseconds (string or number) to fractional epoch milliseconds without losing precision. */
function nanosToMs(v: unknown): number {
  if (typeof v === 'string' && /^\d+$/.test(v)) {
    if (v.length <= 6) return Number(v) / 1e6;
    return Number(v.slice(0, -6)) + Number(v.slice(-6)) / 1e6;
  }
  const n = toNumber(v);
  return n === undefined ? 0 : n / 1e6;
}

function kind(v: unknown): SpanKindName {
  if (typeof v === 'number') return KINDS[v] ?? 'unspecified';
  if (typeof v === 'string') {
    const n = toNumber(v);
    if (n !== undefined) return KINDS[n] ?? 'unspecified';
    const name = v.replace(/^SPAN_KIND_/, '').toLowerCase();
    return (KINDS as string[]).includes(name) ? (name as SpanKindName) : 'unspecified';
  }
  return 'unspecified';
}

function status(v: unknown): TraceSpan['status'] {
  if (!isObject(v)) return 'unset';
  const c = v.code;
  if (c === 2 || c === '2' || c === 'STATUS_CODE_ERROR') return 'error';
  if (c === 1 || c === '1' || c === 'STATUS_CODE_OK') return 'ok';
  return 'unset';
}

/** Convert one OTLP/JSON request. Spans without a trace or span id are skipped. */
export function otlpToSpans(doc: unknown): TraceSpan[] {
  const out: TraceSpan[] = [];
  if (!isObject(doc) || !Array.isArray(doc.resourceSpans)) return out;
  for (const rs of doc.resourceSpans) {
    if (!isObject(rs)) continue;
    const resource = isObject(rs.resource) ? attributes(rs.resource.attributes) : {};
    const service = typeof resource[ATTR_SERVICE_NAME] === 'string' ? resource[ATTR_SERVICE_NAME] : undefined;
    const scopeLists = Array.isArray(rs.scopeSpans)
      ? rs.scopeSpans
      : Array.isArray(rs.instrumentationLibrarySpans)
        ? rs.instrumentationLibrarySpans
        : [];
    for (const ss of scopeLists) {
      if (!isObject(ss) || !Array.isArray(ss.spans)) continue;
      const scopeObj = isObject(ss.scope)
        ? ss.scope
        : isObject(ss.instrumentationLibrary)
          ? ss.instrumentationLibrary
          : {};
      const scope = typeof scopeObj.name === 'string' && scopeObj.name !== '' ? scopeObj.name : undefined;
      for (const s of ss.spans) {
        if (!isObject(s)) continue;
        const traceId = normaliseId(s.traceId);
        const spanId = normaliseId(s.spanId);
        if (traceId === undefined || spanId === undefined) continue;
        const links: TraceSpan['links'] = [];
        if (Array.isArray(s.links)) {
          for (const l of s.links) {
            if (!isObject(l)) continue;
            const lt = normaliseId(l.traceId);
            const ls = normaliseId(l.spanId);
            if (lt !== undefined && ls !== undefined) links.push({ traceId: lt, spanId: ls });
          }
        }
        const startMs = checkTime(
          nanosToMs(s.startTimeUnixNano),
          s.startTimeUnixNano,
          'startTimeUnixNano',
          spanId,
        );
        out.push({
          traceId,
          spanId,
          parentSpanId: normaliseId(s.parentSpanId),
          name: typeof s.name === 'string' ? s.name : '',
          kind: kind(s.kind),
          scope,
          service,
          startMs,
          endMs:
            s.endTimeUnixNano === undefined
              ? startMs
              : checkTime(nanosToMs(s.endTimeUnixNano), s.endTimeUnixNano, 'endTimeUnixNano', spanId),
          attributes: attributes(s.attributes),
          status: status(s.status),
          links,
        });
      }
    }
  }
  return out;
}
