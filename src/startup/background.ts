/**
 * Runs the network exporters' work in the background: every timer, socket and session they create
 * while an export is in flight is unref'd, so that it never keeps the process alive past the app's
 * natural exit. Without this, an export started during the run (every 512 ended spans, or every
 * 5 s) held the event loop: towards a collector that is down, the OTLP exporter's retry timers
 * (1 s, 1.5 s, 2.25 s... up to its 10 s timeout) kept a node-postgres test file alive 40 s after
 * its last line. Where sockscope does want to wait for an export (a signal, or
 * SOCKSCOPE_FLUSH_BEFORE_EXIT), it holds the loop with a timer of its own (exit.ts).
 *
 * The exporters are third-party code (OTLP over HTTP or gRPC, Zipkin) whose timers and agents
 * cannot be reached from outside, so the export call runs in an AsyncLocalStorage scope and an
 * async_hooks `init` hook unrefs what is created inside it. The hook is enabled only while an
 * export is in flight: it costs one store lookup per async resource the process creates then.
 */
import { AsyncLocalStorage, createHook } from 'node:async_hooks';

const scope = new AsyncLocalStorage<true>();

type Refable = { unref(): unknown; ref?: unknown };

function isRefable(resource: unknown): resource is Refable {
  return (
    typeof resource === 'object' &&
    resource !== null &&
    typeof (resource as { unref?: unknown }).unref === 'function'
  );
}

function noRef(this: unknown): unknown {
  return this;
}

function unref(resource: Refable): void {
  try {
    resource.unref();
    // A keep-alive agent calls socket.ref() when it reuses a socket for the next export; the
    // handle is the exporter's own, so it stays unref'd for its whole life.
    if (typeof resource.ref === 'function') resource.ref = noRef;
  } catch {
    // a resource that refuses unref keeps the loop as it would have
  }
}

const hook = createHook({
  init(_id, _type, _trigger, resource) {
    if (scope.getStore() !== true || !isRefable(resource)) return;
    // After the constructor: a socket handle's libuv handle is initialised (and ref'd) only after
    // this hook has run, which would undo an unref made here.
    queueMicrotask(() => unref(resource));
  },
});

let inFlight = 0;

/**
 * Calls `fn` (which starts an export) so that what it creates, now or in its continuations, does not
 * hold the event loop. `settled` must be called once when the export has reported its result.
 */
export function inBackground<T>(fn: (settled: () => void) => T): T {
  if (inFlight++ === 0) hook.enable();
  let done = false;
  const settled = (): void => {
    if (done) return;
    done = true;
    if (--inFlight === 0) hook.disable();
  };
  try {
    return scope.run(true, () => fn(settled));
  } catch (err) {
    settled();
    throw err;
  }
}

/** Exports in flight now (for tests). */
export function backgroundExports(): number {
  return inFlight;
}
