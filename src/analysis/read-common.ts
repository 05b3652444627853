/**
 * Helpers shared by the trace-format readers: id normalisation and attribute value conversion.
 */
import {
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_STATUS_CODE,
  ATTR_NETWORK_LOCAL_PORT,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NET_HOST_PORT,
  ATTR_NET_PEER_PORT,
  ATTR_SERVER_PORT,
  ATTR_SOCKSCOPE_BYTES_RECEIVED,
  ATTR_SOCKSCOPE_BYTES_SENT,
  ATTR_SOCKSCOPE_COMMAND_COUNT,
  ATTR_SOCKSCOPE_COVERED,
  ATTR_SOCKSCOPE_EXCHANGES,
  ATTR_SOCKSCOPE_HEARTBEATS,
  ATTR_SOCKSCOPE_OPAQUE,
  ATTR_TLS_ESTABLISHED,
  TAG_ERROR,
  TAG_OTEL_LIBRARY_NAME,
  TAG_OTEL_LIBRARY_VERSION,
  TAG_OTEL_SCOPE_NAME,
  TAG_OTEL_SCOPE_VERSION,
  TAG_OTEL_STATUS_CODE,
  TAG_OTEL_STATUS_DESCRIPTION,
  TAG_SPAN_KIND,
} from '../spans/semconv';
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

/**
 * Thrown by the format converters when a document of a known format holds a value no trace can
 * have (a time past the year 9999, an attribute nested too deep); the reader adds file and line.
 */
export class TraceDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TraceDataError';
  }
}

/** The latest epoch millisecond a span time may be: the end of the year 9999. */
const MAX_EPOCH_MS = 253_402_300_800_000;

/**
 * `ms` when it is a time a span can have (finite, from 1970 to the year 9999).
 * @throws TraceDataError naming the span and field, with the value cut to 40 characters
 */
export function checkTime(ms: number, raw: unknown, field: string, spanId: string): number {
  if (Number.isFinite(ms) && ms >= 0 && ms <= MAX_EPOCH_MS) return ms;
  const text = String(raw);
  const shown = text.length > 40 ? `${text.slice(0, 40)}... (${text.length} characters)` : text;
  throw new TraceDataError(`span ${spanId}: ${field} ${shown} is not a time between 1970 and 9999`);
}

/**
 * A time field in `unit`s per millisecond (1000 for Jaeger's and Zipkin's microseconds) as epoch
 * milliseconds; absent is 0. Unlike `toNumber`, a number too large for a double is not dropped
 * silently but refused by `checkTime`.
 */
export function timeMs(raw: unknown, perMs: number, field: string, spanId: string): number {
  if (raw === undefined || raw === null) return 0;
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && NUMBER.test(raw) ? Number(raw) : Number.NaN;
  return checkTime(n / perMs, raw, field, spanId);
}

/** A duration field (may be negative after clock-skew adjustment) in ms; absent is 0, non-finite refused. */
export function durationMs(raw: unknown, perMs: number, field: string, spanId: string): number {
  if (raw === undefined || raw === null) return 0;
  const n =
    typeof raw === 'number' ? raw : typeof raw === 'string' && NUMBER.test(raw) ? Number(raw) : Number.NaN;
  if (Number.isFinite(n)) return n / perMs;
  return checkTime(Number.NaN, raw, field, spanId);
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
  ATTR_SERVER_PORT,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_LOCAL_PORT,
  ATTR_NET_PEER_PORT,
  ATTR_NET_HOST_PORT,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_STATUS_CODE,
  ATTR_SOCKSCOPE_BYTES_SENT,
  ATTR_SOCKSCOPE_BYTES_RECEIVED,
  ATTR_SOCKSCOPE_EXCHANGES,
  ATTR_SOCKSCOPE_COMMAND_COUNT,
  ATTR_SOCKSCOPE_HEARTBEATS,
]);
const BOOLEAN_KEYS = new Set([ATTR_SOCKSCOPE_COVERED, ATTR_SOCKSCOPE_OPAQUE, ATTR_TLS_ESTABLISHED]);
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
  TAG_SPAN_KIND,
  TAG_OTEL_SCOPE_NAME,
  TAG_OTEL_SCOPE_VERSION,
  TAG_OTEL_LIBRARY_NAME,
  TAG_OTEL_LIBRARY_VERSION,
  TAG_OTEL_STATUS_CODE,
  TAG_OTEL_STATUS_DESCRIPTION,
  TAG_ERROR,
]);

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A number from a JSON number or a numeric string (OTLP/JSON writes 64-bit integers as strings). */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v !== '' && NUMBER.test(v)) {
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }
  return undefined;
}

const NUMBER_AT = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const LITERAL_AT = /true|false|null/y;
const ESCAPE = /["\\/bfnrt]|u[0-9a-fA-F]{4}/y;

/**
 * Where `text` stops being valid JSON: the offset of the first bad character (`text.length` when
 * it ends too soon), or -1 when it is valid. Used only after `JSON.parse` failed, to name the
 * line and the reason the same way on every Node version (V8's messages differ and some give no
 * position).
 */
export function jsonErrorOffset(text: string): number {
  const n = text.length;
  let i = 0;
  const stack: Array<'o' | 'a'> = [];
  const ws = (): void => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 10 || c === 13) i++;
      else break;
    }
  };
  const str = (): number => {
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return -1;
      }
      if (c < 32) return i;
      if (c === 92) {
        ESCAPE.lastIndex = i + 1;
        if (!ESCAPE.test(text)) return i + 1;
        i = ESCAPE.lastIndex;
      } else i++;
    }
    return n;
  };
  const key = (): number => {
    ws();
    if (i >= n) return n;
    if (text[i] !== '"') return i;
    const e = str();
    if (e >= 0) return e;
    ws();
    if (i >= n) return n;
    if (text[i] !== ':') return i;
    i++;
    return -1;
  };
  let expectValue = true;
  for (;;) {
    ws();
    if (expectValue) {
      if (i >= n) return n;
      const c = text[i];
      if (c === '{') {
        i++;
        ws();
        if (text[i] === '}') {
          i++;
          expectValue = false;
        } else {
          stack.push('o');
          const e = key();
          if (e >= 0) return e;
        }
      } else if (c === '[') {
        i++;
        ws();
        if (text[i] === ']') {
          i++;
          expectValue = false;
        } else stack.push('a');
      } else if (c === '"') {
        const e = str();
        if (e >= 0) return e;
        expectValue = false;
      } else {
        NUMBER_AT.lastIndex = i;
        LITERAL_AT.lastIndex = i;
        if (NUMBER_AT.test(text)) i = NUMBER_AT.lastIndex;
        else if (LITERAL_AT.test(text)) i = LITERAL_AT.lastIndex;
        else return i;
        expectValue = false;
      }
      continue;
    }
    if (stack.length === 0) return i < n ? i : -1;
    if (i >= n) return n;
    const top = stack[stack.length - 1];
    const c = text[i];
    if (c === ',') {
      i++;
      if (top === 'o') {
        const e = key();
        if (e >= 0) return e;
      }
      expectValue = true;
    } else if ((top === 'o' && c === '}') || (top === 'a' && c === ']')) {
      i++;
      stack.pop();
    } else return i;
  }
}

/** Line (1-based, counted from `firstLine`) and a short reason for invalid JSON text. */
export function describeJsonError(text: string, firstLine = 1): { line: number; reason: string } {
  let at = jsonErrorOffset(text);
  if (at < 0) at = text.length;
  let line = firstLine;
  for (let j = text.indexOf('\n'); j !== -1 && j < at; j = text.indexOf('\n', j + 1)) line++;
  const reason = at >= text.length ? 'unexpected end of input' : `unexpected ${JSON.stringify(text[at])}`;
  return { line, reason };
}
