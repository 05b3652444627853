/**
 * Reading V8 CPU profiles (`node --cpu-prof` files, or the inspector's `Profiler.stop` result): which
 * area a function belongs to, and how much of a profile's time sockscope is answerable for.
 *
 * Attributed to sockscope: every sample taken in sockscope's code or in code sockscope called (the
 * OpenTelemetry API and SDK, Buffer, performance.now, ...), except what its patch wrappers pass on
 * to the methods they wrap (Node's own write, push, connect) and module loading. That is the time
 * the host spends because sockscope is there, garbage collection aside (V8 does not say whose
 * garbage it collects), measured where it runs: in the real loop, with the cold caches that follow
 * every network wait, which the hot-path benchmark's warm loop does not have.
 */
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

export interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  samples?: number[];
  timeDeltas?: number[];
}

export function area(url: string, fn: string): string {
  if (fn === '(garbage collector)') return 'GC';
  if (fn === '(idle)' || fn === '(program)' || fn === '(root)') return fn;
  if (url.includes(`${ROOT}/src/`) || url.includes('sockscope-bench/dist/')) return 'sockscope';
  if (url.includes('@opentelemetry/sdk-trace') || url.includes('@opentelemetry/core')) return 'OTel SDK';
  if (url.includes('@opentelemetry/context-async-hooks')) return 'OTel context manager';
  if (url.includes('@opentelemetry/api')) return 'OTel API';
  if (url.includes('/bench/')) return 'bench';
  if (url.startsWith('node:') || url === '') return 'Node internals / native';
  if (url.includes('node_modules')) return url.replace(/.*node_modules\/((@[^/]+\/)?[^/]+).*/, '$1');
  return 'other';
}

/** Whose time to attribute: an area (see `area()`) and its patch wrappers, which call the methods they wrap. */
export interface Owner {
  area: string;
  wrappers: ReadonlySet<string>;
  /** Areas whose code, called straight from the owner's, is the wrapped library at work (anonymous wrappers). */
  wrapped?: ReadonlySet<string>;
}

/** sockscope: its wrappers in src/tap/instrumentation.ts and src/tap/http2-tap.ts. */
export const SOCKSCOPE: Owner = {
  area: 'sockscope',
  wrappers: new Set(['connect', 'write', 'end', 'push', '_destroy', 'request']),
};
/** `@opentelemetry/instrumentation-ioredis` (its wrappers are anonymous: what they call in ioredis is ioredis's). */
export const INSTRUMENTATION_IOREDIS: Owner = {
  area: '@opentelemetry/instrumentation-ioredis',
  wrappers: new Set(),
  wrapped: new Set(['ioredis']),
};
/** `@opentelemetry/instrumentation-net`, for the same measure of the scenario 7 baseline. */
export const INSTRUMENTATION_NET: Owner = {
  area: '@opentelemetry/instrumentation-net',
  wrappers: new Set(['patchedConnect']),
};
/** Module loading (sockscope's own requires at start-up) is not a per-operation cost. */
const LOADING = new Set(['Module._load', 'compileForInternalLoader', 'wrapSafe']);

/** Self time per profile node, in µs. */
export function selfTimes(p: CpuProfile): Map<number, number> {
  const self = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++)
    self.set(samples[i], (self.get(samples[i]) ?? 0) + (deltas[i] ?? 0));
  return self;
}

/**
 * µs of the profile attributed to `owner` (sockscope unless said; see the file comment), µs not idle,
 * and µs of garbage collection on the main thread (whoever made the garbage).
 */
export function attributeTo(
  p: CpuProfile,
  owner: Owner = SOCKSCOPE,
  skip: ReadonlySet<string> = new Set(),
): { ownerUs: number; busyUs: number; gcUs: number } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, ProfileNode>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n);
  const isOurs = (n: ProfileNode) => area(n.callFrame.url, n.callFrame.functionName) === owner.area;
  const cache = new Map<number, boolean>();
  const attributed = (id: number): boolean => {
    const cached = cache.get(id);
    if (cached !== undefined) return cached;
    let ours = false;
    let child: ProfileNode | undefined;
    let n = byId.get(id);
    // The innermost sockscope frame on the stack decides; module loading anywhere above rules it out.
    let decided = false;
    for (; n !== undefined; child = n, n = parent.get(n.id)) {
      if (LOADING.has(n.callFrame.functionName)) {
        ours = false;
        break;
      }
      if (!decided && isOurs(n)) {
        // A wrapper's call into the method it wraps is the host's own work, not sockscope's.
        ours =
          child === undefined ||
          isOurs(child) ||
          !(
            owner.wrappers.has(n.callFrame.functionName) ||
            owner.wrapped?.has(area(child.callFrame.url, child.callFrame.functionName)) === true
          );
        decided = true;
        if (!ours) break;
      }
    }
    cache.set(id, ours);
    return ours;
  };
  let ownerUs = 0;
  let busyUs = 0;
  let gcUs = 0;
  for (const [id, t] of selfTimes(p)) {
    const n = byId.get(id)!;
    const fn = n.callFrame.functionName;
    if (skip.has(fn) || fn === '(idle)') continue;
    busyUs += t;
    if (fn === '(garbage collector)') gcUs += t;
    else if (attributed(id)) ownerUs += t;
  }
  return { ownerUs, busyUs, gcUs };
}
