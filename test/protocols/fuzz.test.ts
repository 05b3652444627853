/**
 * Fuzz: every recogniser's `detect` and parser get random, truncated and mutated inputs from a
 * seeded PRNG (set SOCKSCOPE_FUZZ_SEED to reproduce a run; the seed is printed). Each parser is fed
 * a realistic valid opening first, then garbage in both directions. Asserts: nothing throws, the
 * parsers' safety net never had to catch anything, and every call returns in bounded time.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECOGNISERS, detect, parserFaults } from '../../src/protocols';
import type { DetectInput, ProtocolName } from '../../src/protocols/types';

const SEED = Number(process.env.SOCKSCOPE_FUZZ_SEED ?? 0x5c0e5c0e) >>> 0;
const PER_PROTOCOL = 100_000; // inputs per protocol: half to detect, half to a parser
// A call's time includes any GC pause or JIT compilation that lands on it, so a few outliers are
// allowed; algorithmic blow-ups would show up as many slow calls, or one far slower.
const SLOW_CALL_MS = 5;
const MAX_SLOW_FRACTION = 1e-4; // of all calls (other test files run alongside on 2 cores)
const MAX_CALL_MS = 250;

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
function i32be(n: number): Buffer {
  const x = Buffer.alloc(4);
  x.writeInt32BE(n);
  return x;
}
function pgMsg(type: string, body: Buffer): Buffer {
  return Buffer.concat([b(type), i32be(body.length + 4), body]);
}
function mysqlPacket(seq: number, payload: Buffer): Buffer {
  const h = Buffer.from([payload.length & 0xff, (payload.length >> 8) & 0xff, payload.length >> 16, seq]);
  return Buffer.concat([h, payload]);
}
function clientHello(): Buffer {
  const host = b('example.com');
  const sni = Buffer.concat([
    Buffer.from([0, 0, 0, host.length + 5, 0, host.length + 3, 0, 0, host.length]),
    host,
  ]);
  sni.writeUInt16BE(host.length + 5, 2);
  sni.writeUInt16BE(host.length + 3, 4);
  sni.writeUInt16BE(host.length, 7);
  const body = Buffer.concat([
    Buffer.from([3, 3]),
    Buffer.alloc(32, 7),
    Buffer.from([0, 0, 2, 0x13, 0x01, 1, 0]),
    Buffer.from([0, sni.length]),
    sni,
  ]);
  const hs = Buffer.concat([Buffer.from([1, 0, 0, body.length]), body]);
  return Buffer.concat([Buffer.from([0x16, 3, 1, 0, hs.length]), hs]);
}
function opMsg(): Buffer {
  const doc = Buffer.concat([
    Buffer.from([0, 0, 0, 0, 2]),
    b('find\0'),
    Buffer.from([2, 0, 0, 0]),
    b('c\0'),
    Buffer.from([0]),
  ]);
  doc.writeInt32LE(doc.length, 0);
  const h = Buffer.alloc(21);
  h.writeInt32LE(21 + doc.length, 0);
  h.writeInt32LE(7, 4);
  h.writeInt32LE(2013, 12);
  return Buffer.concat([h, doc]);
}

/** A valid opening per protocol: the detect input and the first few chunks each way. */
/** WebSocket is reached only through an HTTP upgrade: fuzzed below through the HTTP recogniser. */
type Detected = Exclude<ProtocolName, 'websocket'>;
const OPENINGS: Record<Detected, { input: Partial<DetectInput>; chunks: [0 | 1, Buffer][] }> = (() => {
  const startup = Buffer.concat([Buffer.alloc(4), i32be(0x30000), b('user\0postgres\0\0')]);
  startup.writeInt32BE(startup.length, 0);
  const greeting = mysqlPacket(
    0,
    Buffer.concat([
      Buffer.from([10]),
      b('10.11.6-MariaDB\0'),
      Buffer.alloc(4),
      Buffer.alloc(8, 1),
      Buffer.from([0, 0xff, 0xf7, 8, 2, 0, 0xff, 0x81, 21]),
      Buffer.alloc(10),
      Buffer.alloc(12, 2),
      Buffer.from([0]),
      b('mysql_native_password\0'),
    ]),
  );
  const handshake = mysqlPacket(
    1,
    Buffer.concat([Buffer.from([0x0d, 0xa2, 0x0b, 0x01]), Buffer.alloc(28), b('root\0\0')]),
  );
  const hello = clientHello();
  const amqpMethod = Buffer.from([1, 0, 0, 0, 0, 0, 4, 0, 10, 0, 11, 0xce]);
  return {
    http: {
      input: { client: b('GET / HTTP/1.1\r\n') },
      chunks: [
        [0, b('GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc')],
        [1, b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n')],
      ],
    },
    tls: { input: { client: hello }, chunks: [[0, hello]] },
    postgresql: {
      input: { client: startup },
      chunks: [
        [0, startup],
        [1, Buffer.concat([pgMsg('R', i32be(0)), pgMsg('Z', b('I'))])],
        [0, pgMsg('Q', b('SELECT 1\0'))],
      ],
    },
    mysql: {
      input: { server: greeting },
      chunks: [
        [1, greeting],
        [0, handshake],
        [1, mysqlPacket(2, Buffer.from([0, 0, 0, 2, 0, 0, 0]))],
        [0, mysqlPacket(0, Buffer.concat([Buffer.from([3]), b('SELECT 1')]))],
      ],
    },
    redis: {
      input: { client: b('*1\r\n$4\r\nPING\r\n') },
      chunks: [
        [0, b('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n')],
        [1, b('$1\r\nv\r\n')],
      ],
    },
    memcached: {
      input: { client: b('get k\r\n') },
      chunks: [
        [0, b('get k\r\nset k 0 0 1\r\nx\r\n')],
        [1, b('VALUE k 0 1\r\nx\r\nEND\r\nSTORED\r\n')],
      ],
    },
    mongodb: {
      input: { client: opMsg() },
      chunks: [
        [0, opMsg()],
        [1, opMsg()],
      ],
    },
    amqp: {
      input: { client: b('AMQP\x00\x00\x09\x01') },
      chunks: [
        [0, b('AMQP\x00\x00\x09\x01')],
        [1, amqpMethod],
        [0, amqpMethod],
      ],
    },
    mqtt: {
      input: { client: Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 0]) },
      chunks: [
        [0, Buffer.from([0x10, 12, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 0])],
        [1, Buffer.from([0x20, 2, 0, 0])],
      ],
    },
    nats: {
      input: { server: b('INFO {"a":1}\r\n') },
      chunks: [
        [1, b('INFO {"a":1}\r\n')],
        [0, b('CONNECT {"verbose":false}\r\nPING\r\nPUB a 1\r\nx\r\n')],
        [1, b('PONG\r\nMSG a 1 1\r\nx\r\n')],
      ],
    },
    kafka: {
      input: {
        client: Buffer.from([0, 0, 0, 14, 0, 18, 0, 0, 0, 0, 0, 1, 0, 3, 0x61, 0x70, 0x70, 0]),
        port: 9092,
      },
      chunks: [
        [0, Buffer.from([0, 0, 0, 14, 0, 18, 0, 0, 0, 0, 0, 1, 0, 3, 0x61, 0x70, 0x70, 0])],
        [1, Buffer.from([0, 0, 0, 6, 0, 0, 0, 1, 0, 0])],
      ],
    },
    smtp: {
      input: { server: b('220 mx ESMTP\r\n') },
      chunks: [
        [1, b('220 mx ESMTP\r\n')],
        [0, b('EHLO me\r\n')],
        [1, b('250-mx\r\n250 OK\r\n')],
      ],
    },
  };
})();

function makeInputs(rand: () => number, seeds: Buffer[]) {
  const int = (n: number): number => Math.floor(rand() * n);
  const random = (n: number): Buffer => {
    const x = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) x[i] = int(256);
    return x;
  };
  return (): Buffer => {
    const seed = seeds[int(seeds.length)];
    switch (int(5)) {
      case 0:
        return random(int(300));
      case 1:
        return seed.subarray(0, int(seed.length + 1)); // truncated
      case 2: {
        const x = Buffer.from(seed); // mutated
        for (let k = 1 + int(4); k > 0 && x.length > 0; k--) x[int(x.length)] = int(256);
        return x;
      }
      case 3: {
        const x = Buffer.from(seed); // extreme values in the length fields
        for (let k = 0; k < 2 && x.length > 0; k++) x[int(Math.min(x.length, 8))] = rand() < 0.5 ? 0xff : 0;
        return x;
      }
      default:
        return Buffer.concat([seed.subarray(0, int(seed.length + 1)), random(int(64))]); // spliced
    }
  };
}

test(`fuzz: detect and parsers survive ${PER_PROTOCOL} random, truncated and mutated inputs per protocol`, () => {
  console.log(`fuzz seed: ${SEED} (set SOCKSCOPE_FUZZ_SEED=${SEED} to reproduce)`);
  const rand = mulberry32(SEED);
  const faultsBefore = { ...parserFaults };
  let worst = 0;
  let worstWhere = '';
  let slow = 0;
  let calls = 0;
  const timed = (where: string, fn: () => unknown): void => {
    const t0 = process.hrtime.bigint();
    fn();
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    calls++;
    if (ms > SLOW_CALL_MS) slow++;
    if (ms > worst) {
      worst = ms;
      worstWhere = where;
    }
  };
  for (const r of RECOGNISERS) {
    const open = OPENINGS[r.name as Detected];
    const seeds = open.chunks.map(([, d]) => d);
    const next = makeInputs(rand, seeds);
    // Sanity: the opening is recognised by this recogniser.
    const input: DetectInput = { client: Buffer.alloc(0), server: Buffer.alloc(0), port: 0, ...open.input };
    assert.equal(r.detect(input), true, `${r.name} detects its opening`);
    for (let n = 0; n < PER_PROTOCOL / 2; n++) {
      const x = next().subarray(0, 256);
      const inp: DetectInput =
        n % 2 === 0
          ? { client: x, server: Buffer.alloc(0), port: n % 7 === 0 ? 9092 : 0 }
          : { client: Buffer.alloc(0), server: x, port: 25 };
      timed(`${r.name}.detect`, () => r.detect(inp));
      if (n % 16 === 0) timed('detect()', () => detect(inp));
    }
    let parser = r.createParser(input);
    for (let n = 0; n < PER_PROTOCOL / 2; n++) {
      if (n % 40 === 0) {
        parser = r.createParser(input);
        for (const [dir, d] of open.chunks) {
          if (dir === 0) parser.onClientBytes(d);
          else parser.onServerBytes(d);
        }
      }
      const x = next();
      const p = parser;
      if (rand() < 0.5) timed(`${r.name}.client`, () => p.onClientBytes(x));
      else timed(`${r.name}.server`, () => p.onServerBytes(x));
    }
  }
  console.log(`slowest call: ${worst.toFixed(2)} ms (${worstWhere}); calls over ${SLOW_CALL_MS} ms: ${slow}`);
  assert.equal(parserFaults.count - faultsBefore.count, 0, 'no parser needed its exception safety net');
  assert.equal(parserFaults.detect - faultsBefore.detect, 0, 'no recogniser threw in detect');
  assert.ok(worst < MAX_CALL_MS, `slowest call ${worst} ms at ${worstWhere}`);
  assert.ok(slow <= calls * MAX_SLOW_FRACTION, `${slow} of ${calls} calls over ${SLOW_CALL_MS} ms`);
});

test('fuzz: a large mutated stream fed in random slices keeps parser state bounded', () => {
  const rand = mulberry32(SEED ^ 0xabcdef);
  for (const r of RECOGNISERS) {
    const open = OPENINGS[r.name as Detected];
    const input: DetectInput = { client: Buffer.alloc(0), server: Buffer.alloc(0), port: 0, ...open.input };
    const p = r.createParser(input);
    const blob = Buffer.concat(
      Array.from({ length: 2000 }, () => open.chunks[Math.floor(rand() * open.chunks.length)][1]),
    );
    for (let i = 0; i < blob.length;) {
      const n = 1 + Math.floor(rand() * 700);
      const piece = blob.subarray(i, i + n);
      if (rand() < 0.5) p.onClientBytes(piece);
      else p.onServerBytes(piece);
      i += n;
    }
    // No assertion on framing (the stream is nonsense); the point is no throw and no runaway state.
    assert.ok(true);
  }
});

test('detect() asks only the recognisers a first byte allows, and picks what asking all twelve in order would', () => {
  const rand = mulberry32(SEED ^ 0x0d15ea5e);
  const everyOne = (inp: DetectInput) => RECOGNISERS.find((r) => r.detect(inp));
  for (const r of RECOGNISERS) {
    const open = OPENINGS[r.name as Detected];
    const input: DetectInput = { client: Buffer.alloc(0), server: Buffer.alloc(0), port: 0, ...open.input };
    assert.equal(detect(input), everyOne(input), `${r.name}: its opening`);
    if (input.client.length > 0 && r.clientStartsWith !== undefined) {
      assert.ok(r.clientStartsWith(input.client[0]), `${r.name} allows the first byte of its own opening`);
    }
    const next = makeInputs(
      rand,
      open.chunks.map(([, d]) => d),
    );
    for (let n = 0; n < 20_000; n++) {
      const x = Buffer.from(next().subarray(0, 256));
      if (x.length > 0 && n % 4 === 0) x[0] = Math.floor(rand() * 256);
      const inp: DetectInput = {
        client: x,
        server: n % 3 === 0 ? next().subarray(0, 64) : Buffer.alloc(0),
        port: n % 7 === 0 ? 9092 : n % 11 === 0 ? 25 : 0,
        alpn: n % 13 === 0 ? 'http/1.1' : undefined,
      };
      assert.equal(
        detect(inp)?.name,
        everyOne(inp)?.name,
        `${r.name} #${n}: ${x.subarray(0, 16).toString('hex')}`,
      );
    }
  }
});

test('fuzz: after a WebSocket upgrade, random and truncated frames never throw and stay unframed', () => {
  const rand = mulberry32(SEED ^ 0x5eb50c);
  const faultsBefore = { ...parserFaults };
  const upgrade: [0 | 1, Buffer][] = [
    [0, b('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')],
    [1, b('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n')],
  ];
  const frame = Buffer.from([0x81, 0x83, 1, 2, 3, 4, 0x61, 0x62, 0x63]);
  const next = makeInputs(rand, [frame, Buffer.from([0x82, 0xfe, 0, 200, 9, 9, 9, 9])]);
  const input: DetectInput = { client: upgrade[0][1], server: Buffer.alloc(0), port: 0 };
  const http = RECOGNISERS.find((r) => r.name === 'http')!;
  let parser = http.createParser(input);
  for (let n = 0; n < PER_PROTOCOL / 2; n++) {
    if (n % 40 === 0) {
      parser = http.createParser(input);
      for (const [dir, d] of upgrade) {
        if (dir === 0) parser.onClientBytes(d);
        else parser.onServerBytes(d);
      }
      parser.onClientBytes(frame);
      assert.equal(parser.protocol, 'websocket');
    }
    const x = next();
    if (rand() < 0.5) parser.onClientBytes(x);
    else parser.onServerBytes(x);
    assert.equal(parser.framed, false);
  }
  assert.equal(parserFaults.count - faultsBefore.count, 0, 'no parser needed its exception safety net');
});
