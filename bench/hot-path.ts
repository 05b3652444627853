/**
 * The hot path in nanoseconds: what sockscope adds to one `write()` and one `push()` (a chunk read
 * from the kernel), and to one whole exchange, with no network wait in the way.
 *
 *   node --expose-gc --import tsx bench/hot-path.ts [--rounds N] [--iterations N] [--only a,b] [--source]
 *   node --expose-gc --cpu-prof --import tsx bench/hot-path.ts --only all-sdk --rounds 1 --iterations 2000000
 *   node --expose-gc --import tsx bench/hot-path.ts --digest [--rounds N] [--iterations N]
 *
 * `--digest` times the request digest alone (ns per request, typical sizes): the keyed MAC sockscope
 * uses against the former FNV lanes (reversible; kept here only as the cost reference), in one run.
 *
 * A real TCP socket pair in this process (so that sockscope taps the client as it would any), with
 * the client's `_write` replaced by a no-op on that one instance: `write()` runs the whole patched
 * path down to the stream machinery but makes no syscall; `push()` is called as Node's
 * `onStreamRead` would call it. One iteration = write(request) + push(response) = one exchange.
 */
import {
  ProxyTracerProvider,
  ROOT_CONTEXT,
  SpanKind,
  context,
  type TracerProvider,
} from '@opentelemetry/api';
import { mkdirSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { gc, median } from './lib/harness';
import { BUILD_DIR, sockscopeModules } from './lib/sockscope';
import {
  loadInstrumentedModules,
  makePipeline,
  startFloorSpan,
  unsampledContext,
  withInstrumentations,
  type Pipeline,
} from './lib/otel';
import type * as RequestHash from '../src/spans/request-hash';
import type { SocketInstrumentationConfig } from '../src/types';
import { socketPair } from './lib/peers';

/** A Redis exchange (parsed and framed), and bytes no recogniser claims (the generic path). */
const PAYLOADS = {
  redis: { request: Buffer.from('*1\r\n$4\r\nPING\r\n'), response: Buffer.from('+PONG\r\n') },
  generic: {
    request: Buffer.from('echo 000042 sockscope bench pad\n'),
    response: Buffer.from('echo 000042 sockscope bench pad\n'),
  },
};
type Payload = keyof typeof PAYLOADS;

type Op = 'exchange' | 'write' | 'push';

interface Variant {
  id: string;
  label: string;
  op: Op;
  /** sockscope config, or undefined for no instrumentation. */
  sockscope?: SocketInstrumentationConfig;
  /** 'sdk': BasicTracerProvider + BatchSpanProcessor + counting exporter; 'noop': the API's no-op tracer. */
  tracer?: 'sdk' | 'noop';
  unsampled?: boolean;
  floor?: boolean;
  /** Default `redis`. */
  payload?: Payload;
}

const VARIANTS: Variant[] = [
  { id: 'node', label: 'no instrumentation', op: 'exchange' },
  {
    id: 'none',
    label: "sockscope exchanges:'none'",
    op: 'exchange',
    sockscope: { exchanges: 'none' },
    tracer: 'sdk',
  },
  {
    id: 'unsampled',
    label: "sockscope 'all', unsampled parent",
    op: 'exchange',
    sockscope: { exchanges: 'all' },
    tracer: 'sdk',
    unsampled: true,
  },
  {
    id: 'all-noop',
    label: "sockscope 'all', API no-op tracer (sockscope's work without the SDK span)",
    op: 'exchange',
    sockscope: { exchanges: 'all' },
    tracer: 'noop',
  },
  {
    id: 'all-sdk-nohash',
    label: "sockscope 'all', SDK + BSP, hashRequests:false",
    op: 'exchange',
    sockscope: { exchanges: 'all', hashRequests: false },
    tracer: 'sdk',
  },
  {
    id: 'all-sdk',
    label: "sockscope 'all', SDK + BSP",
    op: 'exchange',
    sockscope: { exchanges: 'all' },
    tracer: 'sdk',
  },
  {
    id: 'floor',
    label: 'no instrumentation + bare SDK span (10 attributes, 1 link)',
    op: 'exchange',
    floor: true,
  },
  { id: 'node-generic', label: 'generic bytes, no instrumentation', op: 'exchange', payload: 'generic' },
  {
    id: 'none-generic',
    label: "generic bytes, sockscope 'none'",
    op: 'exchange',
    payload: 'generic',
    sockscope: { exchanges: 'none' },
    tracer: 'sdk',
  },
  {
    id: 'unsampled-generic',
    label: "generic bytes, sockscope 'all', unsampled parent",
    op: 'exchange',
    payload: 'generic',
    sockscope: { exchanges: 'all' },
    tracer: 'sdk',
    unsampled: true,
  },
  {
    id: 'all-sdk-generic',
    label: "generic bytes, sockscope 'all', SDK + BSP",
    op: 'exchange',
    payload: 'generic',
    sockscope: { exchanges: 'all' },
    tracer: 'sdk',
  },
  { id: 'write-node', label: 'write() only, no instrumentation', op: 'write' },
  {
    id: 'write-none',
    label: "write() only, sockscope 'none'",
    op: 'write',
    sockscope: { exchanges: 'none' },
    tracer: 'sdk',
  },
  {
    id: 'write-all',
    label: "write() only, sockscope 'all'",
    op: 'write',
    sockscope: { exchanges: 'all' },
    tracer: 'sdk',
  },
  { id: 'push-node', label: 'push() only, no instrumentation', op: 'push' },
  {
    id: 'push-all',
    label: "push() only, sockscope 'all'",
    op: 'push',
    sockscope: { exchanges: 'all' },
    tracer: 'sdk',
  },
];

async function iterate(
  client: net.Socket,
  op: Op,
  n: number,
  payload: Payload,
  perIteration?: () => () => void,
): Promise<void> {
  const { request, response } = PAYLOADS[payload];
  for (let i = 0; i < n; i++) {
    const done = perIteration?.();
    if (op !== 'push') client.write(request);
    if (op !== 'write') client.push(response);
    done?.();
    // Let the write callbacks (nextTick) and the batch processor run now and then.
    if ((i & 255) === 255) await tick();
  }
}

interface Result {
  nsPerOp: number;
  cpuNsPerOp: number;
  spans: Record<string, number>;
  names: string[];
}

async function block(v: Variant, n: number): Promise<Result> {
  let pipe: Pipeline | undefined;
  let provider: TracerProvider | undefined;
  if (v.tracer === 'sdk' || v.floor === true) {
    pipe = makePipeline({ coverage: v.sockscope !== undefined });
    provider = pipe.provider;
  } else if (v.tracer === 'noop') {
    provider = new ProxyTracerProvider(); // no delegate: the API's no-op tracer
  }
  const run = async () => {
    const pair = await socketPair();
    let perIteration: (() => () => void) | undefined;
    if (v.floor === true && pipe !== undefined) {
      const tracer = pipe.provider.getTracer('bench-floor');
      const conn = tracer.startSpan('tcp connect', { kind: SpanKind.CLIENT });
      perIteration = () => {
        const { request, response } = PAYLOADS.redis;
        const span = startFloorSpan(tracer, conn, '127.0.0.1', 6379, request.length, response.length);
        return () => span.end();
      };
    }
    const ctx =
      v.unsampled === true && pipe !== undefined ? unsampledContext(pipe.provider).ctx : ROOT_CONTEXT;
    const out = await context.with(ctx, async () => {
      // The GC before the warm-up, not after it: a forced full GC discards optimised code, and the
      // timed loop would pay for re-optimising it (see lib/harness.ts).
      gc();
      await iterate(pair.client, v.op, Math.min(20_000, n), v.payload ?? 'redis', perIteration); // warm-up
      const c0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      await iterate(pair.client, v.op, n, v.payload ?? 'redis', perIteration);
      const ns = Number(process.hrtime.bigint() - t0);
      const c = process.cpuUsage(c0);
      return { nsPerOp: ns / n, cpuNsPerOp: ((c.user + c.system) * 1e3) / n };
    });
    await pair.close();
    return out;
  };
  const set = v.sockscope !== undefined ? { sockscope: v.sockscope } : {};
  const r = await withInstrumentations(set, provider, run);
  const counts = pipe !== undefined ? await pipe.close() : undefined;
  return { ...r, spans: counts?.byKey ?? {}, names: counts?.names ?? [] };
}

/** The former digest (two FNV-style lanes, reversible): the cost it had, for comparison only. */
function formerDigest(bytes: Buffer): string {
  let h1 = 0x1234abcd;
  let h2 = 0x0badf00d;
  for (let i = 0; i < bytes.length && i < 4096; i++) {
    const c = bytes[i];
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995) ^ (h2 >>> 15);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0xc2b2ae35) ^ h1;
  return (h1 >>> 0).toString(16) + (h2 >>> 0).toString(16);
}

/** ns per digest of typical requests, the current MAC beside the former lanes, interleaved per round. */
function digestBench(rounds: number, iterations: number): void {
  const { newHash, updateHash, digest } = (
    sockscopeModules().origin.startsWith('build')
      ? require(join(BUILD_DIR, 'tap', 'request-hash.js'))
      : require('../src/spans/request-hash')
  ) as typeof RequestHash;
  const inputs: Array<[string, Buffer]> = [
    ['redis PING (14 B)', PAYLOADS.redis.request],
    ['redis GET key (33 B)', Buffer.from('*2\r\n$3\r\nGET\r\n$12\r\nuser:1234567\r\n')],
    [
      'HTTP GET head (~180 B)',
      Buffer.from(
        `GET /api/users/42?fields=name,email HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: node\r\nAccept: application/json\r\nConnection: keep-alive\r\n\r\n`,
      ),
    ],
    ['1 KiB', Buffer.alloc(1024, 0x61)],
    ['8 KiB (4 KiB hashed)', Buffer.alloc(8192, 0x61)],
  ];
  const impls: Array<[string, (b: Buffer) => string]> = [
    ['former FNV lanes', formerDigest],
    [
      'HMAC-SHA-256 (now)',
      (b) => {
        const h = newHash();
        updateHash(h, b, b.length);
        return digest(h);
      },
    ],
  ];
  const times = new Map<string, number[]>();
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    for (const [iname, b] of inputs) {
      for (const [name, f] of impls) {
        for (let i = 0; i < Math.min(iterations, 20_000); i++) sink += f(b).length;
        const t0 = process.hrtime.bigint();
        for (let i = 0; i < iterations; i++) sink += f(b).length;
        const ns = Number(process.hrtime.bigint() - t0) / iterations;
        const k = `${iname}|${name}`;
        times.set(k, [...(times.get(k) ?? []), ns]);
      }
    }
  }
  let text = `\nRequest digest, ns per request (median of ${rounds} rounds x ${iterations}; ${sink > 0 ? 'ok' : ''})\n\n`;
  text += `| request | ${impls.map(([n]) => n).join(' | ')} |\n| --- |${impls.map(() => ' ---: |').join('')}\n`;
  for (const [iname] of inputs) {
    text += `| ${iname} | ${impls.map(([n]) => median(times.get(`${iname}|${n}`) ?? []).toFixed(0)).join(' | ')} |\n`;
  }
  process.stdout.write(text);
}

function parse(argv: string[]) {
  const o = {
    rounds: 7,
    iterations: 200_000,
    only: undefined as Set<string> | undefined,
    source: false,
    digest: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--rounds') o.rounds = Number(argv[++i]);
    else if (a === '--iterations') o.iterations = Number(argv[++i]);
    else if (a === '--source') o.source = true;
    else if (a === '--digest') o.digest = true;
    else if (a === '--only') o.only = new Set(argv[++i].split(','));
    else throw new Error(`unknown argument ${a}`);
  }
  return o;
}

async function main(): Promise<void> {
  const o = parse(process.argv.slice(2));
  loadInstrumentedModules(o.source ? 'source' : 'build');
  process.stderr.write(`sockscope under test: ${sockscopeModules().origin}\n`);
  if (o.digest) return digestBench(o.rounds, o.iterations);
  const variants = VARIANTS.filter((v) => o.only === undefined || o.only.has(v.id));
  const wall = new Map<string, number[]>(variants.map((v) => [v.id, []]));
  const cpu = new Map<string, number[]>(variants.map((v) => [v.id, []]));
  const seen = new Map<string, string>();
  for (let r = 0; r < o.rounds; r++) {
    const line: string[] = [];
    for (const v of variants) {
      const res = await block(v, o.iterations);
      wall.get(v.id)!.push(res.nsPerOp);
      cpu.get(v.id)!.push(res.cpuNsPerOp);
      if (r === 0) {
        seen.set(
          v.id,
          [...Object.entries(res.spans).map(([k, n]) => `${k.replace('|', ' ')}=${n}`), ...res.names].join(
            ' ',
          ),
        );
      }
      line.push(`${v.id} ${res.nsPerOp.toFixed(0)}`);
    }
    process.stderr.write(`round ${r + 1}/${o.rounds}: ${line.join(', ')} ns\n`);
  }
  let text = '';
  const out = (t: string) => {
    text += t;
  };
  // Derived figures use CPU time: on a loaded machine wall time also counts time spent preempted.
  const med = (id: string) => median(cpu.get(id) ?? []);
  const medWall = (id: string) => median(wall.get(id) ?? []);
  out(`\nHot path, ns per iteration (median of ${o.rounds} rounds x ${o.iterations} iterations)\n\n`);
  out(
    '| variant | wall ns / iteration | CPU ns / iteration | spans exported (round 1) |\n| --- | ---: | ---: | --- |\n',
  );
  for (const v of variants) {
    out(
      `| ${v.id}: ${v.label} | ${medWall(v.id).toFixed(0)} | ${med(v.id).toFixed(0)} | ${seen.get(v.id) ?? ''} |\n`,
    );
  }
  const d = (a: string, b: string) => (wall.has(a) && wall.has(b) ? (med(a) - med(b)).toFixed(0) : 'n/a');
  out('\nDerived (CPU ns):\n');
  out(`- sockscope per write() call, no span (write-none - write-node): ${d('write-none', 'write-node')}\n`);
  out(
    `- sockscope per write() continuing an exchange, 'all' (write-all - write-node): ${d('write-all', 'write-node')}\n`,
  );
  out(`- sockscope per push() (push-all - push-node): ${d('push-all', 'push-node')}\n`);
  out(`- per exchange, bookkeeping only (none - node): ${d('none', 'node')}\n`);
  out(`- per exchange, unsampled parent (unsampled - node): ${d('unsampled', 'node')}\n`);
  out(
    `- per exchange, sockscope's own span work without the SDK (all-noop - node): ${d('all-noop', 'node')}\n`,
  );
  out(`- per exchange, whole cost with the SDK span (all-sdk - node): ${d('all-sdk', 'node')}\n`);
  out(`- of which the request hash (all-sdk - all-sdk-nohash): ${d('all-sdk', 'all-sdk-nohash')}\n`);
  out(`- the floor: one bare SDK span (floor - node): ${d('floor', 'node')}\n`);
  out(
    `- generic bytes (no parser), bookkeeping only (none-generic - node-generic): ${d('none-generic', 'node-generic')}\n`,
  );
  out(
    `- generic bytes, unsampled parent (unsampled-generic - node-generic): ${d('unsampled-generic', 'node-generic')}\n`,
  );
  out(
    `- generic bytes, whole cost with the SDK span (all-sdk-generic - node-generic): ${d('all-sdk-generic', 'node-generic')}\n`,
  );
  if (wall.has('all-sdk') && wall.has('floor') && wall.has('node')) {
    const ratio = (med('all-sdk') - med('node')) / (med('floor') - med('node'));
    out(`- sockscope's whole cost / the floor span's cost: ${ratio.toFixed(2)}x\n`);
  }
  process.stdout.write(text);
  if (o.only === undefined && o.iterations >= 100_000) {
    const c = cpus();
    const meta = `${new Date().toISOString()}, ${c[0]?.model.trim() ?? 'unknown'} x ${c.length}, Node ${process.version}, load ${loadavg()[0].toFixed(2)}; sockscope: ${sockscopeModules().origin}\n`;
    mkdirSync(join(__dirname, 'results'), { recursive: true });
    writeFileSync(join(__dirname, 'results', 'hot-path.md'), `# sockscope hot path\n\n${meta}${text}`);
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`hot-path: failed: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  },
);
