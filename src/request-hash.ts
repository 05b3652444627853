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

/** 16 hex digits. */
export function digest(s: HashState): string {
  let h1 = s.h1 ^ s.total;
  let h2 = s.h2 ^ Math.imul(s.total, 0x9e3779b1);
  // Final avalanche so that near-identical requests give unrelated digests.
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35) ^ h2;
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x85ebca6b);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35) ^ h1;
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

/** Keyed digest of a short string (a statement shape), with the same per-process key. */
export function digestString(text: string): string {
  const s = newHash();
  updateHash(s, text, text.length);
  return digest(s);
}
