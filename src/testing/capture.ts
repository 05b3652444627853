import { context } from '@opentelemetry/api';
import { nowMs } from '../spans/clock';
import { buildNetwork } from './network';
import { Recording, acquire, markedContext, release } from './recorder';
import type { Network } from './types';

/** Name of the capture's root in findings when none is given. */
export const DEFAULT_CAPTURE_NAME = 'captureNetwork';

/**
 * Runs `fn` and returns its result with the network it used: every exchange and connection made
 * while it ran, by it or by anything it started (captures are scoped by context, so concurrent
 * captures never mix), counts per server x protocol x operation, network time and the findings
 * of `sockscope report`.
 */
export async function captureNetwork<T>(
  fn: () => T | Promise<T>,
  options: { name?: string } = {},
): Promise<{ result: T; network: Network }> {
  const rec = new Recording();
  acquire();
  let startMs = 0;
  let endMs = 0;
  try {
    startMs = nowMs();
    const result = await context.with(markedContext(context.active(), rec), fn);
    endMs = nowMs();
    // Exchange spans are made when their last response byte is read, before the client resolves;
    // one turn of the event loop lets a response read in the same tick finish too.
    await new Promise<void>((resolve) => setImmediate(resolve));
    const network = buildNetwork(
      options.name ?? DEFAULT_CAPTURE_NAME,
      rec.ended,
      rec.connections,
      startMs,
      endMs,
    );
    return { result, network };
  } finally {
    release(rec);
  }
}
