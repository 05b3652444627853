/**
 * The OpenTelemetry pieces of the benchmark: one context manager for the process, a fresh SDK
 * pipeline per measured block (so each variant's spans are counted on their own), and the three
 * instrumentations, switched on and off between blocks. Instrumentations patch globally, so only
 * one variant's set is ever enabled, and the prototype is checked to be pristine when none is.
 */
import {
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  TraceFlags,
  context,
  diag,
  trace,
  type Attributes,
  type Context,
  type DiagLogger,
  type Span,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import type { InstrumentationModuleDefinition } from '@opentelemetry/instrumentation';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { NetInstrumentation } from '@opentelemetry/instrumentation-net';
import {
  AlwaysOnSampler,
  TracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import * as net from 'node:net';
import type { SocketInstrumentation } from '../../src/tap/instrumentation';
import type { SocketInstrumentationConfig } from '../../src/types';
import { loadSockscope, sockscopeModules } from './sockscope';

context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());

// ---- diagnostics: drops and sockscope's own errors must be seen, never swallowed ---------------

export const diagLog = { dropped: 0, warnings: [] as string[], errors: [] as string[] };

const logger: DiagLogger = {
  error: (msg, ...args) => void diagLog.errors.push(`${msg} ${args.map(String).join(' ')}`.trim()),
  warn: (msg) => {
    const m = /Dropped (\d+) spans/.exec(msg);
    if (m) diagLog.dropped += Number(m[1]);
    else if (diagLog.warnings.length < 50) diagLog.warnings.push(msg);
  },
  info: () => undefined,
  debug: () => undefined,
  verbose: () => undefined,
};
diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });

// ---- SDK pipeline -----------------------------------------------------------------------------

/** Queue so large that nothing is dropped: drops are still counted and reported. */
export const BSP_MAX_QUEUE = 1 << 20;

export interface SpanCounts {
  /** Spans handed to the batch processor (sampled spans that ended). */
  ended: number;
  exported: number;
  /** ended - exported after a flush: what the queue dropped. */
  dropped: number;
  /** Exported spans by `scope|kind-or-name`. */
  byKey: Record<string, number>;
  /** The first connection spans exported (their attributes are checked). */
  connections: ReadableSpan[];
  /** Distinct names of sockscope exchange spans (at most 10). */
  names: string[];
}

/** Key under which covered sockscope exchange spans are counted (also counted as exchanges). */
export const COVERED = 'sockscope|exchange.covered';

function keyOf(s: ReadableSpan): string {
  const kind = s.attributes['sockscope.kind'];
  return `${s.instrumentationScope.name}|${typeof kind === 'string' ? kind : s.name}`;
}

/** A no-op exporter that only counts what it is given. */
export class CountingExporter implements SpanExporter {
  exported = 0;
  readonly byKey = new Map<string, number>();
  readonly connections: ReadableSpan[] = [];
  readonly names = new Set<string>();

  export(spans: ReadableSpan[], done: (r: ExportResult) => void): void {
    this.exported += spans.length;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i];
      const k = keyOf(s);
      this.byKey.set(k, (this.byKey.get(k) ?? 0) + 1);
      const kind = s.attributes['sockscope.kind'];
      if (kind === 'exchange') {
        if (s.attributes['sockscope.covered'] === true)
          this.byKey.set(COVERED, (this.byKey.get(COVERED) ?? 0) + 1);
        if (this.names.size < 10) this.names.add(s.name);
      } else if (kind === 'connection' && this.connections.length < 16) {
        this.connections.push(s);
      }
    }
    done({ code: ExportResultCode.SUCCESS });
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** Counts sampled spans as they end, to tell drops from spans never made. */
class EndCounter implements SpanProcessor {
  ended = 0;
  onStart(): void {}
  onEnd(span: ReadableSpan): void {
    if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) !== 0) this.ended++;
  }
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

export interface Pipeline {
  provider: TracerProvider;
  /** Flushes, shuts the provider down and returns what it saw. */
  close(): Promise<SpanCounts>;
}

export interface PipelineOptions {
  sampler?: Sampler;
  /** Add sockscope's SocketCoverageProcessor (the sibling rule), as `sockscope/register` does. */
  coverage?: boolean;
}

/** A TracerProvider with a BatchSpanProcessor feeding a counting no-op exporter. */
export function makePipeline(opts: PipelineOptions = {}): Pipeline {
  const exporter = new CountingExporter();
  const counter = new EndCounter();
  const processors: SpanProcessor[] = [];
  if (opts.coverage === true) processors.push(new (sockscopeModules().SocketCoverageProcessor)());
  processors.push(counter, new BatchSpanProcessor({ exporter, maxQueueSize: BSP_MAX_QUEUE }));
  const provider = new TracerProvider({
    sampler: opts.sampler ?? new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: processors,
  });
  return {
    provider,
    async close() {
      await provider.forceFlush();
      await provider.shutdown();
      return {
        ended: counter.ended,
        exported: exporter.exported,
        dropped: counter.ended - exporter.exported,
        byKey: Object.fromEntries(exporter.byKey),
        connections: exporter.connections,
        names: [...exporter.names],
      };
    },
  };
}

// ---- the floor: what one bare SDK span per exchange costs ------------------------------------

/** Ten attributes, as on sockscope's exchange span (without the protocol ones). */
export function floorAttributes(host: string, port: number, sent: number, received: number): Attributes {
  return {
    'sockscope.kind': 'exchange',
    'network.transport': 'tcp',
    'sockscope.bytes_sent': sent,
    'sockscope.bytes_received': received,
    'sockscope.covered': false,
    'server.address': host,
    'server.port': port,
    'network.peer.address': host,
    'network.peer.port': port,
    'sockscope.caller.package': '(app)',
  };
}

export function startFloorSpan(
  tracer: ReturnType<TracerProvider['getTracer']>,
  link: Span,
  host: string,
  port: number,
  sent: number,
  received: number,
): Span {
  return tracer.startSpan('tcp exchange', {
    kind: SpanKind.CLIENT,
    attributes: floorAttributes(host, port, sent, received),
    links: [{ context: link.spanContext() }],
  });
}

// ---- an unsampled parent ----------------------------------------------------------------------

/** A context whose active span the ParentBasedSampler dropped (its remote parent was unsampled). */
export function unsampledContext(provider: TracerProvider): { ctx: Context; parent: Span } {
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.NONE,
    isRemote: true,
  });
  const parent = provider
    .getTracer('bench-app')
    .startSpan('GET /unsampled', { kind: SpanKind.SERVER }, remote);
  return { ctx: trace.setSpan(ROOT_CONTEXT, parent), parent };
}

// ---- instrumentations -------------------------------------------------------------------------

const pristine = {
  connect: net.Socket.prototype.connect,
  write: net.Socket.prototype.write,
  end: net.Socket.prototype.end,
  push: net.Socket.prototype.push,
  destroy: (net.Socket.prototype as unknown as { _destroy: unknown })._destroy,
};

/** Throws unless net.Socket.prototype is exactly as Node made it (no instrumentation enabled). */
export function assertPristine(): void {
  const p = net.Socket.prototype as unknown as Record<string, unknown>;
  for (const [k, v] of Object.entries(pristine)) {
    const name = k === 'destroy' ? '_destroy' : k;
    if (p[name] !== v) throw new Error(`net.Socket.prototype.${name} is still patched`);
  }
}

let sockscopeInst: SocketInstrumentation | undefined;
/** The one SocketInstrumentation of the run (made by loadInstrumentedModules). */
export function sockscope(): SocketInstrumentation {
  if (sockscopeInst === undefined) throw new Error('loadInstrumentedModules() first');
  return sockscopeInst;
}
export const ioredisInst = new IORedisInstrumentation({ enabled: false });
export const netInst = new NetInstrumentation({ enabled: false });

export type IORedisCtor = typeof import('ioredis').default;
let ioredis: IORedisCtor | undefined;

/**
 * Loads sockscope (compiled, or from source), and ioredis and net through the instrumentations'
 * require hooks (they patch modules as they are required), then leaves everything disabled.
 * Call once, before any scenario.
 */
export function loadInstrumentedModules(from: 'build' | 'source'): IORedisCtor {
  if (ioredis !== undefined) return ioredis;
  sockscopeInst = new (loadSockscope(from).SocketInstrumentation)({ enabled: false });
  ioredisInst.enable();
  const mod = require('ioredis') as { default: IORedisCtor };
  ioredis = mod.default;
  const patched = (ioredis.prototype.sendCommand as unknown as { __wrapped?: boolean }).__wrapped === true;
  ioredisInst.disable();
  if (!patched) throw new Error('instrumentation-ioredis did not patch ioredis');
  // `net` was loaded long before (core module): the require hook does not see it again, so the
  // instrumentation's own module definition is applied by hand, as its enable() does on re-enable.
  netInst.enable();
  // getModuleDefinitions() builds new definitions; enable()/disable() use the ones kept in `_modules`.
  const modules = (netInst as unknown as { _modules: InstrumentationModuleDefinition[] })._modules;
  const def = modules.find((d) => d.name === 'net');
  if (def?.patch === undefined) throw new Error('instrumentation-net has no module definition for net');
  if (def.moduleExports === undefined) {
    def.moduleExports = net;
    def.patch(net);
  }
  const netPatched = (net.Socket.prototype.connect as unknown as { __wrapped?: boolean }).__wrapped === true;
  netInst.disable();
  if (!netPatched) throw new Error('instrumentation-net did not patch net.Socket.prototype.connect');
  assertPristine();
  return ioredis;
}

/**
 * Loads sockscope alone, disabled (no ioredis, no instrumentation-net): for a process that only
 * runs sockscope's variants (the callgrind children).
 */
export function loadSockscopeOnly(from: 'build' | 'source' | 'prebuilt'): void {
  sockscopeInst ??= new (loadSockscope(from).SocketInstrumentation)({ enabled: false });
  assertPristine();
}

/** Which instrumentations a variant runs with, and sockscope's configuration. */
export interface InstrumentationSet {
  sockscope?: SocketInstrumentationConfig;
  ioredis?: boolean;
  net?: boolean;
}

/**
 * Enables a set of instrumentations against `provider`, runs `fn`, and disables them again
 * (in reverse order), leaving the prototype pristine.
 */
export async function withInstrumentations<T>(
  set: InstrumentationSet,
  provider: import('@opentelemetry/api').TracerProvider | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  assertPristine();
  if ((set.sockscope !== undefined || set.ioredis === true || set.net === true) && provider === undefined) {
    throw new Error('an instrumented variant needs a tracer provider');
  }
  const enabled: Array<{ disable(): void }> = [];
  try {
    if (set.ioredis === true) {
      ioredisInst.setTracerProvider(provider!);
      ioredisInst.enable();
      enabled.push(ioredisInst);
    }
    if (set.net === true) {
      netInst.setTracerProvider(provider!);
      netInst.enable();
      enabled.push(netInst);
    }
    if (set.sockscope !== undefined) {
      const s = sockscope();
      s.setConfig(set.sockscope);
      s.setTracerProvider(provider!);
      s.enable();
      enabled.push(s);
    }
    return await fn();
  } finally {
    for (const i of enabled.reverse()) i.disable();
    assertPristine();
  }
}
