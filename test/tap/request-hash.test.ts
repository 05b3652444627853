import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { digest, newHash, newHttpHash, updateHash, updateHttpHash } from '../../src/spans/request-hash';

function digestOf(text: string): string {
  const s = newHash();
  updateHash(s, text, text.length);
  return digest(s);
}

// ---- The former construction and the attack that broke it (issue 14, item 1) ----------------
// Two 32-bit FNV-style lanes seeded with the key halves, then an invertible finaliser: anyone
// holding one digest of a known request (a PING) recovered lane 1's key, then tried every PIN.
const P1 = 0x01000193;
const C1 = 0x85ebca6b;
const C2 = 0xc2b2ae35;

function formerDigest(k1: number, k2: number, bytes: Buffer): string {
  let h1 = k1;
  let h2 = k2;
  for (const c of bytes) {
    h1 = Math.imul(h1 ^ c, P1);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
  }
  h1 ^= bytes.length;
  h2 ^= Math.imul(bytes.length, 0x9e3779b1);
  h1 = Math.imul(h1 ^ (h1 >>> 16), C1);
  h1 = Math.imul(h1 ^ (h1 >>> 13), C2) ^ h2;
  h2 = Math.imul(h2 ^ (h2 >>> 16), C1);
  h2 = Math.imul(h2 ^ (h2 >>> 13), C2) ^ h1;
  return (h1 >>> 0).toString(16).padStart(8, '0') + (h2 >>> 0).toString(16).padStart(8, '0');
}

function inverse(odd: number): number {
  let x = odd;
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(odd, x));
  return x;
}

/** Undoes `x = imul(x ^ x>>>16, C1); x = imul(x ^ x>>>13, C2)`. */
function unmix(y: number): number {
  let x = Math.imul(y, inverse(C2));
  x = x ^ (x >>> 13) ^ (x >>> 26);
  x = Math.imul(x, inverse(C1));
  return x ^ (x >>> 16);
}

/** Lane 1 before the key-free finaliser, read back from a 16-hex digest. */
function lane1(hex: string, length: number): number {
  const H1 = parseInt(hex.slice(0, 8), 16) | 0;
  const H2 = parseInt(hex.slice(8, 16), 16) | 0;
  const h2 = unmix(H2 ^ H1);
  return unmix(H1 ^ h2) ^ length;
}

/** Recovers lane 1's key from a known request's digest, then brute-forces the 6-digit PIN. */
function attack(knownDigest: string, known: Buffer, targetDigest: string): string | undefined {
  let k1 = lane1(knownDigest, known.length);
  const invP = inverse(P1);
  for (let i = known.length - 1; i >= 0; i--) k1 = Math.imul(k1, invP) ^ known[i];
  const target = lane1(targetDigest, 'GET pin:000000\r\n'.length);
  const prefix = Buffer.from('GET pin:');
  for (let pin = 0; pin < 1_000_000; pin++) {
    let h = k1;
    for (const c of prefix) h = Math.imul(h ^ c, P1);
    const digits = String(pin).padStart(6, '0');
    for (let i = 0; i < 6; i++) h = Math.imul(h ^ digits.charCodeAt(i), P1);
    h = Math.imul(h ^ 0x0d, P1);
    h = Math.imul(h ^ 0x0a, P1);
    if (h === target) return digits;
  }
  return undefined;
}

const PING = Buffer.from('PING\r\n');
const SECRET = '482913';

test('the former digest is recovered by the attack (the attack itself works)', () => {
  const k1 = 0x1234abcd;
  const k2 = 0x0badf00d;
  const found = attack(
    formerDigest(k1, k2, PING),
    PING,
    formerDigest(k1, k2, Buffer.from(`GET pin:${SECRET}\r\n`)),
  );
  assert.equal(found, SECRET);
});

test('knowing the digest of a PING does not let anyone recover a 6-digit PIN from its digest', () => {
  const found = attack(digestOf('PING\r\n'), PING, digestOf(`GET pin:${SECRET}\r\n`));
  assert.notEqual(found, SECRET);
});

test('digests of chosen requests give no key: PINs digested by the attacker never match', () => {
  // Without the key, the attacker's best own computation of each candidate is an HMAC under a
  // guessed key; none of a million candidates matches the real digest.
  const target = digestOf(`GET pin:${SECRET}\r\n`);
  const chosen = new Set<string>();
  for (let pin = 0; pin < 1000; pin++) chosen.add(digestOf(`GET pin:${String(pin).padStart(6, '0')}\r\n`));
  assert.equal(chosen.size, 1000, 'chosen requests give distinct digests');
  assert.equal(chosen.has(target), false);
});

test('a request digest is the same for the same bytes within a process, and differs between processes', () => {
  assert.equal(digestOf('GET pin:123456\r\n'), digestOf('GET pin:123456\r\n'));
  const fixture = join(__dirname, 'fixtures', 'print-digests.ts');
  const run = () =>
    JSON.parse(
      execFileSync(process.execPath, ['--import', 'tsx', fixture], { encoding: 'utf8' }),
    ) as string[];
  const a = run();
  const b = run();
  assert.equal(a[0], a[1], 'stable within the first process');
  assert.equal(b[0], b[1], 'stable within the second process');
  assert.match(a[0], /^[0-9a-f]{16}$/);
  assert.notEqual(a[0], b[0], 'a fresh key per process');
});

test('an HTTP request digest leaves out trace-context lines and is the same when the head comes in pieces', () => {
  const head = (tp: string) => `GET /a HTTP/1.1\r\nHost: x\r\ntraceparent: ${tp}\r\nAccept: */*\r\n\r\nbody`;
  const whole = (text: string) => {
    const s = newHttpHash();
    updateHttpHash(s, text, text.length);
    return digest(s);
  };
  const split = (text: string) => {
    const s = newHttpHash();
    // Mid-line, then at a line start (a header name is matched within one chunk, as before).
    const at = [9, text.indexOf('traceparent'), text.length];
    for (let i = 0, from = 0; i < at.length; from = at[i++]) {
      const part = Buffer.from(text.slice(from, at[i]));
      updateHttpHash(s, part, part.length);
    }
    return digest(s);
  };
  const a = head('00-aaaa-01');
  const b = head('00-bbbb-01'); // same length: the total length is mixed in
  assert.equal(whole(a), whole(b));
  assert.equal(whole(a), split(b));
  assert.notEqual(whole(a), whole(a.replace('/a', '/b')));
});
