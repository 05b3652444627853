/**
 * Where a capture's spans come from. Every span sockscope starts under a context marked with
 * `CAPTURE_KEY` is also started on a private tracer provider (always sampled), whose one processor
 * hands it to the captures named in the marker. The app's own tracer still gets exactly the spans
 * it would have had without a capture, so its exporter loses nothing and gets nothing extra.
 *
 * - No SDK registered: the private provider and a context manager are registered as the globals for
 *   as long as a capture runs (traced() functions then record too), and unregistered after.
 * - Beside an app's SDK: no global is touched; sockscope's tracer is wrapped for the duration.
 * - No SocketInstrumentation enabled: one is created and enabled for the duration.
 */
import {
  ROOT_CONTEXT,
  context,
  createContextKey,
  INVALID_SPAN_CONTEXT,
  ProxyTracerProvider,
  isSpanContextValid,
  trace,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOnSampler,
  TracerProvider,
  type ReadableSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace';
import { SCOPE_NAME } from '../spans/semconv';
import { CAPTURE_KEY, setCaptureHook } from '../tap/capture-hook';
import { SocketInstrumentation } from '../tap/instrumentation';
import { activeRegistry, type TapRegistry } from '../tap/registry';
import { captureStack } from './frames';
import { TeeSpan } from './tee-span';

/** What one running capture collects. */
export class Recording {
  /** Exchange and other spans that ended while the capture was open. */
  readonly ended: ReadableSpan[] = [];
  /** Connection spans started while open (a pooled connection outlives the capture). */
  readonly connections: ReadableSpan[] = [];
  open = true;
}

/** The marker's value: every capture the context belongs to (captures may nest). */
type Marker = readonly Recording[];

export function markedContext(ctx: Context, rec: Recording): Context {
  const outer = ctx.getValue(CAPTURE_KEY) as Marker | undefined;
  return ctx.setValue(CAPTURE_KEY, outer === undefined ? [rec] : [...outer, rec]);
}

function markerOf(ctx: Context): Marker | undefined {
  return ctx.getValue(CAPTURE_KEY) as Marker | undefined;
}

/** Hands each private span to the captures in its parent context's marker. */
class CaptureRouter implements SpanProcessor {
  private readonly owners = new WeakMap<object, Marker>();

  owns(span: object): boolean {
    return this.owners.has(span);
  }

  onStart(span: Span, parentContext: Context): void {
    const marker = markerOf(parentContext);
    if (marker === undefined) return;
    this.owners.set(span, marker);
    const readable = span as unknown as ReadableSpan;
    if (readable.attributes['sockscope.kind'] !== 'connection') return;
    for (const rec of marker) if (rec.open) rec.connections.push(readable);
  }

  onEnd(span: ReadableSpan): void {
    const marker = this.owners.get(span);
    if (marker === undefined || span.attributes['sockscope.kind'] === 'connection') return;
    for (const rec of marker) if (rec.open) rec.ended.push(span);
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

const router = new CaptureRouter();
/** Always sampled: a capture sees its exchanges whatever the app samples. */
const privateProvider = new TracerProvider({ sampler: new AlwaysOnSampler(), spanProcessors: [router] });
const privateTracer = privateProvider.getTracer(SCOPE_NAME);

// ---- code locations --------------------------------------------------------------------------

/** Stacks of exchanges started under a marked context, until their span is created at their end. */
const pendingStacks = new WeakMap<Context, Array<{ startMs: number; stack: Error }>>();
/** The stack at the first write of each captured exchange span (formatted only when read). */
const spanStacks = new WeakMap<object, Error>();
const PROBE_KEY = createContextKey('sockscope.capture.probe');

const hook = {
  exchangeStarted(ctx: Context, startMs: number): void {
    const stack = captureStack();
    const list = pendingStacks.get(ctx);
    if (list === undefined) pendingStacks.set(ctx, [{ startMs, stack }]);
    else list.push({ startMs, stack });
  },
};

function takeStack(ctx: Context, startMs: unknown): Error | undefined {
  const list = pendingStacks.get(ctx);
  if (list === undefined) return undefined;
  const i = list.findIndex((e) => e.startMs === startMs);
  if (i < 0) return undefined;
  const [e] = list.splice(i, 1);
  return e.stack;
}

/** The stack captured at a recorded exchange span's first write, if any. */
export function stackOfSpan(span: object): Error | undefined {
  return spanStacks.get(span);
}

// ---- the tracer sockscope uses while captures run --------------------------------------------

/**
 * Whether the app would have had this span without the capture: the tap emits a captured
 * exchange even when its settings say not to, so those settings are applied here instead
 * (an unsampled parent needs nothing: the app's sampler drops the span as before).
 */
function appWants(registry: TapRegistry | undefined, options: SpanOptions, ctx: Context): boolean {
  if (registry === undefined) return false;
  const s = registry.settings;
  const attrs = options.attributes ?? {};
  const parent = trace.getSpanContext(ctx);
  if (s.requireParentSpan && (parent === undefined || !isSpanContextValid(parent))) return false;
  if (attrs['sockscope.kind'] !== 'exchange') return true;
  if (s.exchanges === 'none') return false;
  return !(s.exchanges === 'uncovered' && attrs['sockscope.covered'] === true);
}

class CaptureTracer implements Tracer {
  constructor(
    private readonly app: Tracer | undefined,
    private readonly registry: TapRegistry | undefined,
  ) {}

  startSpan(name: string, options: SpanOptions = {}, ctx: Context = context.active()): Span {
    if (markerOf(ctx) === undefined) {
      return this.app !== undefined
        ? this.app.startSpan(name, options, ctx)
        : trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
    }
    const primary =
      this.app !== undefined && appWants(this.registry, options, ctx)
        ? this.app.startSpan(name, options, ctx)
        : undefined;
    // No SDK: the app's tracer is the private one, already routed.
    if (primary !== undefined && router.owns(primary)) return primary;
    const secondary = privateTracer.startSpan(name, options, ctx);
    if (options.attributes?.['sockscope.kind'] === 'exchange') {
      const stack = takeStack(ctx, options.startTime);
      if (stack !== undefined) spanStacks.set(secondary, stack);
    }
    return primary === undefined ? secondary : new TeeSpan(primary, secondary);
  }

  // The tap only calls startSpan; these keep the Tracer contract for anything else.
  startActiveSpan<F extends (span: Span) => unknown>(name: string, ...rest: unknown[]): ReturnType<F> {
    const fn = rest[rest.length - 1] as F;
    const options = (rest.length >= 2 ? rest[0] : {}) as SpanOptions;
    const ctx = (rest.length >= 3 ? rest[1] : context.active()) as Context;
    const span = this.startSpan(name, options, ctx);
    return context.with(trace.setSpan(ctx, span), fn as (s: Span) => ReturnType<F>, undefined, span);
  }
}

// ---- setting up and restoring ----------------------------------------------------------------

let own: SocketInstrumentation | undefined;

/**
 * The app enabled no SocketInstrumentation: one for the captures alone. It stays enabled after
 * them, emitting nothing outside a capture, because pooled connections outlive a test: a tap
 * created mid-connection could not recognise the protocol of the next test's exchanges.
 */
function ownInstrumentation(): SocketInstrumentation {
  if (own === undefined) {
    own = new SocketInstrumentation({ exchanges: 'none', connections: false });
    // Its spans go to the capture tracer only, never to whatever provider is global later.
    own.setTracerProvider(new ProxyTracerProvider());
  } else {
    own.enable();
  }
  return own;
}

interface Installed {
  /** The registry whose tracer was wrapped, and its original tracer function. */
  registry: TapRegistry;
  originalTracer: () => Tracer;
  wrappedTracer: () => Tracer;
  /** The instrumentation enabled for the captures, when the app has none. */
  created: SocketInstrumentation | undefined;
  /** Globals registered for the captures (none was registered), unregistered after. */
  contextManager: boolean;
  tracerProvider: boolean;
}

let running = 0;
let installed: Installed | undefined;

/**
 * Called when sockscope/testing is loaded: connections a test opens before its first capture (a
 * pool seeded in a `before` hook) are then tapped from their first byte, so their protocol is
 * known when a capture uses them. An app that enables its own SocketInstrumentation later takes over.
 */
export function tapEarly(): void {
  if (activeRegistry === undefined) ownInstrumentation();
}

/** A context manager is working when a value set in `with` is visible inside it. */
function hasContextManager(): boolean {
  const probe = ROOT_CONTEXT.setValue(PROBE_KEY, true);
  return context.with(probe, () => context.active().getValue(PROBE_KEY) === true);
}

/** Whether an SDK registered a global tracer provider (the API's proxy then has a delegate). */
function hasSdk(): boolean {
  const p = trace.getTracerProvider();
  return !(p instanceof ProxyTracerProvider) || p.getDelegateTracer(SCOPE_NAME) !== undefined;
}

function install(): Installed {
  let contextManager = false;
  let tracerProvider = false;
  if (!hasSdk()) {
    if (!hasContextManager()) {
      contextManager = context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    }
    tracerProvider = trace.setGlobalTracerProvider(privateProvider);
  }
  const created = activeRegistry === undefined ? ownInstrumentation() : undefined;
  const registry = activeRegistry as TapRegistry | undefined;
  if (registry === undefined) throw new Error('sockscope: the socket instrumentation could not be enabled');
  const originalTracer = registry.services.tracer;
  const cache = new WeakMap<Tracer, Tracer>();
  const alone = new CaptureTracer(undefined, undefined);
  const wrappedTracer = (): Tracer => {
    if (created !== undefined) return alone;
    const app = originalTracer();
    let t = cache.get(app);
    if (t === undefined) cache.set(app, (t = new CaptureTracer(app, registry)));
    return t;
  };
  registry.services.tracer = wrappedTracer;
  setCaptureHook(hook);
  return { registry, originalTracer, wrappedTracer, created, contextManager, tracerProvider };
}

function uninstall(i: Installed): void {
  setCaptureHook(undefined);
  if (i.registry.services.tracer === i.wrappedTracer) i.registry.services.tracer = i.originalTracer;
  if (i.tracerProvider) trace.disable();
  if (i.contextManager) context.disable();
}

/** Starts recording (the first running capture installs everything). */
export function acquire(): void {
  if (running++ === 0) {
    try {
      installed = install();
    } catch (e) {
      running--;
      throw e;
    }
  }
}

/** Stops a recording (the last one restores what was there). */
export function release(rec: Recording): void {
  rec.open = false;
  if (--running === 0 && installed !== undefined) {
    const i = installed;
    installed = undefined;
    uninstall(i);
  }
}
