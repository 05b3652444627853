/**
 * Jaeger JSON → `TraceSpan[]`: the query API's `/api/traces` response (`{"data":[trace...]}`) and
 * one trace object as the Jaeger UI downloads it. Jaeger keeps OpenTelemetry's kind, scope and
 * status in tags (`span.kind`, `otel.scope.name`, `otel.status_code`, `error`).
 */
import {
  TAG_ERROR,
  TAG_OTEL_LIBRARY_NAME,
  TAG_OTEL_SCOPE_NAME,
  TAG_OTEL_STATUS_CODE,
  TAG_SPAN_KIND,
} from '../spans/semconv';
import type { AttributeValue, TraceSpan } from './model';
import {
  META_TAGS,
  checkTime,
  durationMs,
  isObject,
  timeMs,
  kindFromName,
  normaliseId,
  toNumber,
  typedTag,
} from './read-common';

export function isJaegerTrace(doc: unknown): doc is Record<string, unknown> {
  return isObject(doc) && Array.isArray(doc.spans) && ('traceID' in doc || 'processes' in doc);
}

export function isJaegerResponse(doc: unknown): doc is Record<string, unknown> {
  return isObject(doc) && 'data' in doc && (Array.isArray(doc.data) || doc.data === null);
}

function tagValue(t: Record<string, unknown>): AttributeValue | undefined {
  const v = t.value;
  const type = typeof t.type === 'string' ? t.type.toLowerCase() : '';
  if (type === 'int64' || type === 'float64') return toNumber(v);
  if (type === 'bool') return v === true || v === 'true';
  if (typeof v === 'string') return typeof t.key === 'string' ? typedTag(t.key, v) : v;
  if (typeof v === 'number' || typeof v === 'boolean') return v;
  return v === undefined || v === null ? undefined : JSON.stringify(v);
}

function tagsOf(list: unknown): Map<string, AttributeValue> {
  const out = new Map<string, AttributeValue>();
  if (!Array.isArray(list)) return out;
  for (const t of list) {
    if (!isObject(t) || typeof t.key !== 'string') continue;
    const v = tagValue(t);
    if (v !== undefined) out.set(t.key, v);
  }
  return out;
}

/** One Jaeger trace object's spans. */
export function jaegerTraceToSpans(trace: Record<string, unknown>): TraceSpan[] {
  const services = new Map<string, string>();
  if (isObject(trace.processes)) {
    for (const [id, p] of Object.entries(trace.processes)) {
      if (isObject(p) && typeof p.serviceName === 'string') services.set(id, p.serviceName);
    }
  }
  const out: TraceSpan[] = [];
  for (const s of trace.spans as unknown[]) {
    if (!isObject(s)) continue;
    const traceId = normaliseId(s.traceID ?? trace.traceID);
    const spanId = normaliseId(s.spanID);
    if (traceId === undefined || spanId === undefined) continue;
    const tags = tagsOf(s.tags);
    // The parent is the first CHILD_OF reference within the same trace; every other reference
    // (FOLLOWS_FROM, or CHILD_OF a span in another trace) is a link.
    let parentSpanId: string | undefined;
    const links: TraceSpan['links'] = [];
    if (Array.isArray(s.references)) {
      for (const r of s.references) {
        if (!isObject(r)) continue;
        const rt: string = normaliseId(r.traceID) ?? traceId;
        const rs: string | undefined = normaliseId(r.spanID);
        if (rs === undefined) continue;
        if (parentSpanId === undefined && r.refType === 'CHILD_OF' && rt === traceId) parentSpanId = rs;
        else links.push({ traceId: rt, spanId: rs });
      }
    }
    // Older Jaeger JSON carries the parent in its own field.
    if (parentSpanId === undefined) parentSpanId = normaliseId(s.parentSpanID);
    const attributes: Record<string, AttributeValue> = {};
    for (const [k, v] of tags) if (!META_TAGS.has(k)) attributes[k] = v;
    const statusTag = tags.get(TAG_OTEL_STATUS_CODE);
    const errorTag = tags.get(TAG_ERROR);
    const status: TraceSpan['status'] =
      statusTag === 'ERROR' || errorTag === true || errorTag === 'true'
        ? 'error'
        : statusTag === 'OK'
          ? 'ok'
          : 'unset';
    const scopeTag = tags.get(TAG_OTEL_SCOPE_NAME) ?? tags.get(TAG_OTEL_LIBRARY_NAME);
    const process = isObject(s.process) ? s.process : undefined;
    const service =
      (typeof s.processID === 'string' ? services.get(s.processID) : undefined) ??
      (process !== undefined && typeof process.serviceName === 'string' ? process.serviceName : undefined);
    const startMs = timeMs(s.startTime, 1000, 'startTime', spanId);
    out.push({
      traceId,
      spanId,
      parentSpanId,
      name: typeof s.operationName === 'string' ? s.operationName : '',
      // Jaeger's OpenTelemetry translation leaves the tag out for INTERNAL spans.
      kind: tags.has(TAG_SPAN_KIND) ? kindFromName(tags.get(TAG_SPAN_KIND)) : 'internal',
      scope: typeof scopeTag === 'string' && scopeTag !== '' ? scopeTag : undefined,
      service,
      startMs,
      endMs: checkTime(
        startMs + durationMs(s.duration, 1000, 'duration', spanId),
        s.duration,
        'duration',
        spanId,
      ),
      attributes,
      status,
      links,
    });
  }
  return out;
}

export function jaegerToSpans(doc: unknown): TraceSpan[] {
  if (isJaegerTrace(doc)) return jaegerTraceToSpans(doc);
  if (!isJaegerResponse(doc) || !Array.isArray(doc.data)) return [];
  const out: TraceSpan[] = [];
  for (const t of doc.data) if (isJaegerTrace(t)) for (const s of jaegerTraceToSpans(t)) out.push(s);
  return out;
}
