import type { SocketTarget } from '../types';

/**
 * What the caller asked `socket.connect()` for, from any of its call shapes: `(options[, cb])`,
 * `(port[, host][, cb])`, `(path[, cb])`, and the internal normalised `[options, cb]` array that
 * `net.connect()` passes on.
 */
export function connectTarget(args: ArrayLike<unknown>): SocketTarget | undefined {
  let a: unknown = args[0];
  let rest: ArrayLike<unknown> = args;
  if (Array.isArray(a)) {
    rest = a;
    a = a[0];
  }
  if (a !== null && typeof a === 'object') {
    const o = a as { host?: unknown; port?: unknown; path?: unknown };
    if (typeof o.path === 'string') return { path: o.path };
    const port = Number(o.port);
    return {
      host: typeof o.host === 'string' ? o.host : 'localhost',
      port: Number.isFinite(port) ? port : 0,
    };
  }
  if (typeof a === 'number' || (typeof a === 'string' && a !== '' && Number(a) >= 0)) {
    return { host: typeof rest[1] === 'string' ? rest[1] : 'localhost', port: Number(a) };
  }
  if (typeof a === 'string') return { path: a };
  return undefined;
}
