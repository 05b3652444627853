import { createHmac, createSecretKey, randomBytes, type Hmac } from 'node:crypto';

/** Bytes of a request that feed its digest; the total length is mixed in as well. */
export const HASH_PREFIX_BYTES = 4096;

/** Hex digits kept of the MAC: 64 bits, ample to tell duplicate requests apart within one run. */
const DIGEST_HEX = 16;

// HMAC-SHA-256 under a random key made per process and never written anywhere: without the key,
// a digest in a trace file gives nothing to test guesses of a low-entropy request against
// (a short key, a PIN). Digests compare within one run only. SHA-256 measured cheaper than
// HMAC-BLAKE2b/2s for short requests on Node 20, and a KeyObject cheaper than a raw key buffer
// (about 2.5 vs 3.4 us per short request): the key is imported once, not per MAC.
const KEY = createSecretKey(randomBytes(32));

/** Running state of a request digest: the MAC over the bytes hashed so far, their count and the total length. */
export interface HashState {
  mac: Hmac;
  hashed: number;
  total: number;
  /** The digest once taken (a MAC is finalised only once). */
  result: string | undefined;
}

export function newHash(): HashState {
  return { mac: createHmac('sha256', KEY), hashed: 0, total: 0, result: undefined };
}

function feed(s: HashState, chunk: Uint8Array | string, from: number, to: number): void {
  if (to <= from) return;
  if (typeof chunk === 'string')
    s.mac.update(from === 0 && to === chunk.length ? chunk : chunk.slice(from, to));
  else s.mac.update(from === 0 && to === chunk.length ? chunk : chunk.subarray(from, to));
  s.hashed += to - from;
}

/** Feed a chunk (Buffer or string as written); only the first HASH_PREFIX_BYTES units are mixed in. */
export function updateHash(s: HashState, chunk: Uint8Array | string, byteLength: number): void {
  s.total += byteLength;
  if (s.result !== undefined) return;
  const room = HASH_PREFIX_BYTES - s.hashed;
  if (room > 0) feed(s, chunk, 0, Math.min(room, chunk.length));
}

/** 16 hex digits. */
export function digest(s: HashState): string {
  if (s.result !== undefined) return s.result;
  const len = Buffer.allocUnsafe(8);
  len.writeDoubleLE(s.total);
  return (s.result = s.mac.update(len).digest('hex').slice(0, DIGEST_HEX));
}

/** Keyed digest of a short string (a statement shape), with the same per-process key. */
export function digestString(text: string): string {
  const s = newHash();
  updateHash(s, text, text.length);
  return digest(s);
}

/**
 * Request headers that differ on every request though the request is the same: trace context
 * that instrumentations inject, request ids. An HTTP request's digest leaves their lines out, or
 * no two HTTP requests would ever look like duplicates.
 */
const VOLATILE_HEADERS = [
  'traceparent:',
  'tracestate:',
  'baggage:',
  'b3:',
  'x-b3-',
  'uber-trace-id:',
  'uberctx-',
  'sentry-trace:',
  'x-datadog-',
  'x-request-id:',
  'x-amzn-trace-id:',
  'x-cloud-trace-context:',
];

/** Per-digest HTTP state: where we are in the head, and whether the current line is skipped. */
export interface HttpHashState extends HashState {
  lineStart: boolean;
  skipping: boolean;
  inBody: boolean;
}

export function newHttpHash(): HttpHashState {
  return { ...newHash(), lineStart: false, skipping: false, inBody: false };
}

function code(chunk: Uint8Array | string, i: number): number {
  return typeof chunk === 'string' ? chunk.charCodeAt(i) : chunk[i];
}

function volatileAt(chunk: Uint8Array | string, i: number): boolean {
  for (const name of VOLATILE_HEADERS) {
    if (i + name.length > chunk.length) continue;
    let k = 0;
    while (k < name.length) {
      let c = code(chunk, i + k);
      if (c >= 0x41 && c <= 0x5a) c += 32;
      if (c !== name.charCodeAt(k)) break;
      k++;
    }
    if (k === name.length) return true;
  }
  return false;
}

/**
 * Like `updateHash`, leaving out volatile header lines of an HTTP/1 request head: the runs of
 * bytes between them go to the MAC as they are.
 */
export function updateHttpHash(s: HttpHashState, chunk: Uint8Array | string, byteLength: number): void {
  if (s.inBody) return updateHash(s, chunk, byteLength);
  s.total += byteLength;
  const n = chunk.length;
  let from = 0; // start of the run not yet fed
  let i = 0;
  for (; i < n && s.hashed + (s.skipping ? 0 : i - from) < HASH_PREFIX_BYTES; i++) {
    const c = code(chunk, i);
    if (s.lineStart) {
      s.lineStart = false;
      if (c === 0x0d || c === 0x0a)
        s.inBody = true; // the blank line ends the head
      else if (!s.skipping && volatileAt(chunk, i)) {
        feed(s, chunk, from, i);
        s.skipping = true;
        from = i;
      }
    }
    if (c === 0x0a) {
      s.lineStart = !s.inBody;
      if (s.skipping) {
        s.skipping = false;
        from = i + 1;
      }
    }
  }
  if (!s.skipping) feed(s, chunk, from, i);
}
