/**
 * How `sockscope/register` ends with the process, without changing when or how it ends:
 * - natural exit: nothing is scheduled (the app exits at the same moment as without sockscope);
 *   the final flush runs synchronously in the `exit` event, which the batch processor turns into a
 *   synchronous `export()`: the JSONL file gets every ended span; a network exporter is skipped
 *   there (its request could not leave the process), and an export it has in flight does not hold
 *   the loop (background.ts), unless SOCKSCOPE_FLUSH_BEFORE_EXIT asks to wait for it;
 * - `process.exit()`, an uncaught exception, an unhandled rejection: the same `exit` path;
 * - SIGTERM/SIGINT: when the app listens for the signal, only flush (the app decides when to exit);
 *   when it does not, flush and shut down within the timeout, then re-raise the signal so the process
 *   ends as it would have (killed by the signal; a shell reports 128 + signal number).
 */
import * as os from 'node:os';
import { diag } from '@opentelemetry/api';
import type { SpanProcessor } from '@opentelemetry/sdk-trace';
import { markExiting } from './exiting';

export interface Running {
  /** The coverage processor first, then the exporting ones. */
  processors: SpanProcessor[];
  shutdown(): Promise<void>;
  /** Ends the spans of sockets still open (the process is ending, so are they). */
  endOpenSpans(): void;
}

function withTimeout(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    // Ref'd, and cleared as soon as the flush settles: the exporters' own timers and sockets are
    // unref'd (background.ts), so this timer is what keeps the process alive while a signal or
    // SOCKSCOPE_FLUSH_BEFORE_EXIT waits for them, and for no longer than the timeout.
    const timer = setTimeout(resolve, ms);
    p.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (err: unknown) => {
        clearTimeout(timer);
        diag.warn(`sockscope: flushing spans failed (${(err as Error)?.name ?? typeof err})`);
        resolve();
      },
    );
  });
}

async function flushInOrder(processors: SpanProcessor[]): Promise<void> {
  // The coverage processor first: spans it releases must reach the exporting processors' queues
  // before those are flushed.
  for (const p of processors) await p.forceFlush();
}

/** Starts every processor's flush now; each batch processor exports synchronously from here. */
export function flushSynchronously(running: Running): void {
  running.endOpenSpans();
  for (const p of running.processors) {
    try {
      void p.forceFlush().catch(() => undefined);
    } catch {
      // the process is ending: nothing sensible left to do with a failed flush
    }
  }
}

export function installExitHooks(running: Running, timeoutMs: number, flushBeforeExit: boolean): void {
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals): void => {
    const appListens = process.listenerCount(signal) > 1;
    if (appListens) {
      void withTimeout(flushInOrder(running.processors), timeoutMs);
      return;
    }
    running.endOpenSpans();
    void withTimeout(
      flushInOrder(running.processors).then(() => running.shutdown()),
      timeoutMs,
    ).then(() => {
      for (const s of signals) process.removeListener(s, onSignal);
      process.kill(process.pid, signal);
      // If the re-raised signal does not end the process (it is blocked or ignored), exit with the
      // conventional code rather than hang.
      setTimeout(() => process.exit(128 + (os.constants.signals[signal] ?? 0)), 1000).unref();
    });
  };
  for (const s of signals) process.on(s, onSignal);
  if (flushBeforeExit) flushOnBeforeExit(running, timeoutMs);
  process.once('exit', () => {
    markExiting();
    flushSynchronously(running);
  });
}

/**
 * Opt-in (SOCKSCOPE_FLUSH_BEFORE_EXIT): on a natural exit, let the exporters send what is queued,
 * up to the timeout. This keeps the event loop running for that long, so an app's unref'd timers
 * may fire where they would not have.
 */
function flushOnBeforeExit(running: Running, timeoutMs: number): void {
  let flushing = false;
  process.on('beforeExit', () => {
    // beforeExit fires again once our flush's own work is done; an empty flush schedules nothing,
    // so the process then exits.
    if (flushing) return;
    flushing = true;
    const done = flushInOrder(running.processors);
    let finished = false;
    void done.finally(() => {
      finished = true;
      flushing = false;
    });
    void withTimeout(done, timeoutMs).then(() => {
      // A collector that does not answer must not hold the exit past the timeout; exitCode kept.
      if (!finished) process.exit();
    });
  });
}
