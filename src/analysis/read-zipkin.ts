/**
 * Zipkin v2 JSON → `TraceSpan[]`: a span array as `POST /api/v2/spans` takes it, or the array of
 * traces (arrays of spans) `GET /api/v2/traces` returns. Zipkin tags are all strings; the typed
 * attributes sockscope relies on are restored (see `typedTag`).
 */
import {
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  TAG_ERROR,
  TAG_OTEL_LIBRARY_NAME,
  TAG_OTEL_SCOPE_NAME,
  TAG_OTEL_STATUS_CODE,
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

function isZipkinSpan(v: unknown): v is Record<string, unknown> {
  return isObject(v) && typeof v.traceId === 'string' && typeof v.id === 'string';
}

/** True for a Zipkin span array or an array of such arrays (an empty array counts too). */
export function isZipkinDocument(doc: unknown): doc is unknown[] {
  if (!Array.isArray(doc)) return false;
  const first = doc.find((x) => !(Array.isArray(x) && x.length === 0));
  if (first === undefined) return true;
  return isZipkinSpan(first) || (Array.isArray(first) && isZipkinSpan(first[0]));
}

function zipkinSpan(s: Record<string, unknown>): TraceSpan | undefined {
  const traceId = normaliseId(s.traceId);
  const spanId = normaliseId(s.id);
  if (traceId === undefined || spanId === undefined) return undefined;
  const tags = isObject(s.tags) ? s.tags : {};
  const attributes: Record<string, AttributeValue> = {};
  for (const [k, v] of Object.entries(tags)) {
    if (META_TAGS.has(k)) continue;
    attributes[k] = typeof v === 'string' ? typedTag(k, v) : String(v);
  }
  // Zipkin puts the peer in remoteEndpoint; keep it when the tags do not already say it.
  const remote = isObject(s.remoteEndpoint) ? s.remoteEndpoint : undefined;
  if (remote !== undefined && attributes[ATTR_NETWORK_PEER_ADDRESS] === undefined) {
    const addr = remote.ipv4 ?? remote.ipv6;
    if (typeof addr === 'string') attributes[ATTR_NETWORK_PEER_ADDRESS] = addr;
    const port = toNumber(remote.port);
    if (typeof addr === 'string' && port !== undefined) attributes[ATTR_NETWORK_PEER_PORT] = port;
  }
  const scopeTag = tags[TAG_OTEL_SCOPE_NAME] ?? tags[TAG_OTEL_LIBRARY_NAME];
  // The OpenTelemetry Zipkin exporter writes the status message into `error`, so any value is an error.
  const status: TraceSpan['status'] =
    tags[TAG_OTEL_STATUS_CODE] === 'ERROR' || TAG_ERROR in tags
      ? 'error'
      : tags[TAG_OTEL_STATUS_CODE] === 'OK'
        ? 'ok'
        : 'unset';
  const local = isObject(s.localEndpoint) ? s.localEndpoint : undefined;
  const service =
    local !== undefined && typeof local.serviceName === 'string' && local.serviceName !== ''
      ? local.serviceName
      : undefined;
  const startMs = timeMs(s.timestamp, 1000, 'timestamp', spanId);
  return {
    traceId,
    spanId,
    parentSpanId: normaliseId(s.parentId),
    name: typeof s.name === 'string' ? s.name : '',
    // Zipkin leaves `kind` out for local (internal) spans.
    kind: s.kind === undefined ? 'internal' : kindFromName(s.kind),
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
    links: [],
  };
}

export function zipkinToSpans(doc: unknown[]): TraceSpan[] {
  const out: TraceSpan[] = [];
  const visit = (list: unknown[]): void => {
    for (const x of list) {
      if (Array.isArray(x)) visit(x);
      else if (isZipkinSpan(x)) {
        const s = zipkinSpan(x);
        if (s !== undefined) out.push(s);
      }
    }
  };
  visit(doc);
  return out;
}
