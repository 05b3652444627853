// The global `Buffer` is an accessor in Node 20 (a LoadGlobalIC and a getter call, ~180
// instructions per use under callgrind); the module's export is a plain property.
import { Buffer } from 'node:buffer';
import type * as net from 'node:net';
import { install, uninstall } from './prototype-patch';
import { activeRegistry, type SocketLike } from './registry';

type Fn = (...args: any[]) => any;

function byteLengthOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return -1;
}

function onWriteCall(socket: SocketLike, chunk: unknown, encoding: unknown): void {
  const registry = activeRegistry;
  if (registry === undefined || socket.destroyed || socket.writableEnded) return;
  try {
    const tap = registry.tapOf(socket);
    if (tap === undefined) return;
    const n = byteLengthOf(chunk, encoding);
    if (n > 0) {
      tap.onWrite(
        chunk as Uint8Array | string,
        n,
        typeof encoding === 'string' ? (encoding as BufferEncoding) : undefined,
      );
    }
  } catch (e) {
    registry.fail(socket, e);
  }
}

/** The wrappers of `net.Socket.prototype` methods; each reports to the active registry, if any. */
const patches = {
  connect: (original: Fn) =>
    function connect(this: SocketLike, ...args: unknown[]) {
      const registry = activeRegistry;
      if (registry !== undefined) {
        try {
          registry.onConnect(this, args);
        } catch (e) {
          registry.fail(this, e);
        }
      }
      return original.apply(this, args);
    },
  write: (original: Fn) =>
    // Taps the call, not `_write`: a deferred `_write` (back-pressure, cork) can run in another
    // context, and the exchange must be parented where the caller writes.
    function write(this: SocketLike, chunk: unknown, encoding?: unknown, _cb?: unknown) {
      onWriteCall(this, chunk, encoding);
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as unknown as unknown[]);
    },
  end: (original: Fn) =>
    function end(this: SocketLike, data?: unknown, encoding?: unknown, _cb?: unknown) {
      if (data != null && typeof data !== 'function') onWriteCall(this, data, encoding);
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as unknown as unknown[]);
    },
  push: (original: Fn) =>
    // Every chunk read from the kernel passes here (onStreamRead), for net and TLS alike, before
    // the app sees it; no 'data' listener is ever added.
    function push(this: SocketLike, chunk: unknown, _encoding?: unknown) {
      const registry = activeRegistry;
      if (registry !== undefined && chunk instanceof Uint8Array && chunk.byteLength > 0) {
        try {
          const tap = registry.tapOf(this);
          if (tap !== undefined) tap.onRead(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        } catch (e) {
          registry.fail(this, e);
        }
      }
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as unknown as unknown[]);
    },
  _destroy: (original: Fn) =>
    // Every way a socket ends (close, error, destroy() while connecting) passes here, with the
    // error if any, before 'error' is emitted: no 'error' or 'close' listener is needed.
    function _destroy(this: SocketLike, err: unknown, cb: unknown) {
      const registry = activeRegistry;
      if (registry !== undefined) {
        try {
          registry.onClose(this, err);
        } catch (e) {
          registry.fail(this, e);
        }
      }
      return original.call(this, err, cb);
    },
};

type PatchName = keyof typeof patches;
/** Own methods of `net.Socket.prototype` and inherited ones (`write`, `push`), shadowed there. */
const NET_METHODS: PatchName[] = ['connect', 'write', 'end', 'push', '_destroy'];

export function patchNet(m: typeof net): void {
  for (const name of NET_METHODS) install(m.Socket.prototype, name, patches[name]);
}

export function unpatchNet(m: typeof net): void {
  // A wrapper another instrumentation has stacked on top stays, inert: no registry is active.
  for (const name of NET_METHODS) uninstall(m.Socket.prototype, name);
}
