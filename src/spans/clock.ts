/** The one clock exchange spans and the upstream spans they are matched against are timed on. */
import { performance } from 'node:perf_hooks';

const origin = performance.timeOrigin;

/** Epoch milliseconds with sub-millisecond precision: exchanges on loopback take tens of microseconds. */
export function nowMs(): number {
  return origin + performance.now();
}
