/**
 * Helpers shared by the trace-format readers: id normalisation and attribute value conversion.
 */
import type { AttributeValue, SpanKindName } from './model';

/** A reader's complaint about its input, turned by the CLI into one stderr line and exit 2. */
export class TraceInputError extends Error {
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(message);
    this.name = 'TraceInputError';
  }
}

/** Thrown by the format converters when a document is not one of the formats they know. */
export class UnknownFormatError extends Error {
  constructor(message = 'not OTLP/JSON, Jaeger JSON or Zipkin v2 JSON') {
    super(message);
    this.name = 'UnknownFormatError';
  }
}

const HEX = /^[0-9a-f]*$/i;
const BASE64 = /^[A-Za-z0-9+/_-]+={0,2}$/;

/**
 * Trace and span ids as lower-case hex. OTLP/JSON is hex (any case) per the spec, but older
 * exporters wrote the protobuf JSON mapping's base64: those are decoded when they cannot be hex.
 */
export function normaliseId(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw === '') return undefined;
  if (HEX.test(raw)) {
    if (/^0+$/.test(raw)) return undefined;
    // Re-encoding makes a fresh string: V8 may hand out ids from JSON.parse as slices of the whole
    // input line, and a retained slice would keep that line (and memory) alive.
    return raw.length % 2 === 0 ? Buffer.from(raw, 'hex').toString('hex') : raw.toLowerCase();
  }
  if (BASE64.test(raw)) {
    const hex = Buffer.from(raw, 'base64').toString('hex');
    return hex === '' || /^0+$/.test(hex) ? undefined : hex;
  }
  return raw.toLowerCase();
}

export function kindFromName(raw: unknown): SpanKindName {
  const s = typeof raw === 'string' ? raw.toLowerCase() : '';
  switch (s) {
    case 'client':
    case 'server':
    case 'producer':
    case 'consumer':
    case 'internal':
      return s;
    default:
      return 'unspecified';
  }
}

// Formats that carry every tag as a string (Zipkin) lose the types sockscope and the coverage rule
// rely on: these keys are turned back into numbers / booleans when the string clearly is one.
const NUMERIC_KEYS = new Set([
  'server.port',
  'network.peer.port',
  'network.local.port',
  'net.peer.port',
  'net.host.port',
  'http.response.status_code',
  'http.status_code',
  'sockscope.bytes_sent',
  'sockscope.bytes_received',
  'sockscope.exchanges',
  'sockscope.command_count',
  'sockscope.heartbeats',
]);
const BOOLEAN_KEYS = new Set(['sockscope.covered', 'sockscope.opaque', 'tls.established']);
const NUMBER = /^-?\d+(\.\d+)?$/;

/** Restore the type of a tag that arrived as a string. */
export function typedTag(key: string, value: string): AttributeValue {
  if (NUMERIC_KEYS.has(key) || key.startsWith('sockscope.bytes_')) {
    if (NUMBER.test(value)) return Number(value);
  } else if (BOOLEAN_KEYS.has(key)) {
    if (value === 'true') return true;
    if (value === 'false') return false;
  }
  return value;
}

/** Tags that describe the span itself (kind, scope, status) rather than the operation. */
export const META_TAGS = new Set([
  'span.kind',
  'otel.scope.name',
  'otel.scope.version',
  'otel.library.name',
  'otel.library.version',
  'otel.status_code',
  'otel.status_description',
  'error',
]);

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A number from a JSON number or a numeric string (OTLP/JSON writes 64-bit integers as strings). */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v !== '' && NUMBER.test(v)) return Number(v);
  return undefined;
}
