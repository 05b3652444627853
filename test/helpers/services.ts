/**
 * Real-server availability for tests.
 *
 *   test('...', async (t) => {
 *     if (!(await requireService(t, 'redis', '127.0.0.1', 6379))) return;
 *     ...
 *   });
 *
 * When the port does not accept a TCP connection within `timeoutMs`, the test is skipped with a
 * clear message, or fails when `process.env.CI === 'true'` (CI must have every service up).
 */
import * as net from 'node:net';
import type { TestContext } from 'node:test';

/** True when something accepts TCP connections at host:port. */
export function portOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    const finish = (ok: boolean): void => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => finish(false));
    s.once('connect', () => finish(true));
    s.once('error', () => finish(false));
  });
}

/**
 * Returns true when the service answers. Otherwise skips the test (returns false) or, in CI,
 * throws so the test fails.
 */
export async function requireService(
  t: TestContext,
  name: string,
  host: string,
  port: number,
  timeoutMs = 1000,
): Promise<boolean> {
  if (await portOpen(host, port, timeoutMs)) return true;
  const msg = `${name} is not reachable at ${host}:${port}`;
  if (process.env.CI === 'true') throw new Error(`${msg} (required because CI=true)`);
  t.skip(`${msg}; start it to run this test`);
  return false;
}
