import { createContextKey, type Context } from '@opentelemetry/api';

/**
 * The tap's one seam for `sockscope/testing`: a capture marks the context its function runs in
 * with `CAPTURE_KEY`. Exchanges and connections started under a marked context are emitted even
 * where the app's sampler or settings would not (the capture's tracer decides what the app gets),
 * and the capture is told when each exchange starts, while the writer's stack is still the stack.
 */
export const CAPTURE_KEY = createContextKey('sockscope.capture');

export interface CaptureHook {
  /** An exchange's first write under a marked context. */
  exchangeStarted(ctx: Context, startMs: number): void;
}

/** Set only while at least one capture runs: the hot path tests one variable otherwise. */
export let captureHook: CaptureHook | undefined;

export function setCaptureHook(h: CaptureHook | undefined): void {
  captureHook = h;
}

/** Whether `ctx` belongs to a running capture. */
export function isCaptured(ctx: Context): boolean {
  return captureHook !== undefined && ctx.getValue(CAPTURE_KEY) !== undefined;
}
