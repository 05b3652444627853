import { randomBytes } from 'node:crypto';

/** Bytes of a request that feed its digest; the total length is mixed in as well. */
export const HASH_PREFIX_BYTES = 4096;

// A fresh random key per process: digests compare within one run only, and a low-entropy request
// (a short key, a small id) cannot be looked up from a digest in a trace file.
const key = randomBytes(8);
const K1 = key.readUInt32LE(0);
const K2 = key.readUInt32LE(4);

/** Running state of a request digest: two 32-bit lanes, the bytes hashed so far and the total length. */
export interface HashState {
  h1: number;
  h2: number;
  hashed: number;
  total: number;
}

export function newHash(): HashState {
  return { h1: K1, h2: K2, hashed: 0, total: 0 };
}

/** Feed a chunk (Buffer or string as written); only the first HASH_PREFIX_BYTES units are mixed in. */
export function updateHash(s: HashState, chunk: Uint8Array | string, byteLength: number): void {
  s.total += byteLength;
  let room = HASH_PREFIX_BYTES - s.hashed;
  if (room <= 0) return;
  let h1 = s.h1;
  let h2 = s.h2;
  const n = Math.min(room, chunk.length);
  if (typeof chunk === 'string') {
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
  } else {
    for (let i = 0; i < n; i++) {
      const c = chunk[i];
      h1 = Math.imul(h1 ^ c, 0x01000193);
      h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    }
  }
  room -= n;
  s.hashed = HASH_PREFIX_BYTES - room;
  s.h1 = h1;
  s.h2 = h2;
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex32(h: number): string {
  return HEX[(h >>> 24) & 255] + HEX[(h >>> 16) & 255] + HEX[(h >>> 8) & 255] + HEX[h & 255];
}

/** 16 hex digits. */
export function digest(s: HashState): string {
  let h1 = s.h1 ^ s.total;
  let h2 = s.h2 ^ Math.imul(s.total, 0x9e3779b1);
  // Final avalanche so that near-identical requests give unrelated digests.
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35) ^ h2;
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35) ^ h1;
  return hex32(h1) + hex32(h2);
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

/** Like `updateHash`, leaving out volatile header lines of an HTTP/1 request head. */
export function updateHttpHash(s: HttpHashState, chunk: Uint8Array | string, byteLength: number): void {
  if (s.inBody) return updateHash(s, chunk, byteLength);
  s.total += byteLength;
  let h1 = s.h1;
  let h2 = s.h2;
  const n = chunk.length;
  for (let i = 0; i < n && s.hashed < HASH_PREFIX_BYTES; i++) {
    const c = code(chunk, i);
    if (s.lineStart) {
      s.lineStart = false;
      if (c === 0x0d || c === 0x0a)
        s.inBody = true; // the blank line ends the head
      else s.skipping = volatileAt(chunk, i);
    }
    if (c === 0x0a) s.lineStart = !s.inBody;
    if (s.skipping) {
      if (c === 0x0a) s.skipping = false;
      continue;
    }
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
    s.hashed++;
  }
  s.h1 = h1;
  s.h2 = h2;
}
