import { TraceFlags, context, diag, trace, type Tracer } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import {
  InstrumentationBase,
  InstrumentationNodeModuleDefinition,
  isWrapped,
} from '@opentelemetry/instrumentation';
// The module object itself (not an import namespace copy), so its `connect` can be wrapped.
import http2 = require('node:http2');
import * as net from 'node:net';
import { callerPackage } from './caller-package';
import { nowMs } from './clock';
import { connectTarget } from './connect-args';
import { wrapRequest, type Http2Host } from './http2-tap';
import { isIgnored } from './ignore';
import { install, uninstall } from './prototype-patch';
import { SCOPE_NAME } from '../spans/semconv';
import { SocketTap, type TappedSocket } from './socket-tap';
import { startConnectionSpan, type PeerInfo } from '../spans/build';
import { Sweeper } from './sweeper';
import type { TapSettings } from './tap-settings';
import type { SocketInstrumentationConfig } from '../types';
import { VERSION } from '../version';

/** Defaults of `SocketInstrumentationConfig` (documented there with `@default`). */
export const DEFAULT_CONFIG = {
  exchanges: 'all',
  connections: true,
  requireParentSpan: false,
  ignore: [],
  captureCallerPackage: true,
  hashRequests: true,
  exchangeIdleMs: 1000,
} as const satisfies SocketInstrumentationConfig;

/** Marks sockets sockscope leaves alone (stdio, server side, exporter's own, ignored, failed). */
const IGNORED = 0;
type Entry = SocketTap | typeof IGNORED;

type SocketLike = net.Socket & TappedSocket & { _server?: unknown; server?: unknown; isTTY?: boolean };

/**
 * The running tap behind the patched prototype. One at a time: the patches call whichever
 * instrumentation was enabled last, so two instances never wrap each other.
 */
class Runtime {
  readonly taps = new WeakMap<object, Entry>();
  /** Open taps, so that disable() can end their spans: a span is never left open. */
  readonly live = new Set<SocketTap>();
  /** The socket connect() last saw, so http2.connect() can tell which socket its session uses. */
  lastConnected: object | undefined = undefined;
  readonly settings: TapSettings;
  private cfg: Required<Omit<SocketInstrumentationConfig, 'enabled'>>;
  private failures = 0;

  constructor(
    config: SocketInstrumentationConfig,
    private readonly tracer: () => Tracer,
  ) {
    this.cfg = resolveConfig(config);
    const idle = this.cfg.exchangeIdleMs;
    this.settings = {
      tracer,
      exchanges: this.cfg.exchanges,
      requireParentSpan: this.cfg.requireParentSpan,
      hashRequests: this.cfg.hashRequests,
      exchangeIdleMs: idle,
      sweeper: new Sweeper(Math.max(10, Math.min(250, idle / 4)), nowMs),
    };
  }

  reconfigure(config: SocketInstrumentationConfig): void {
    this.cfg = resolveConfig(config);
    const s = this.settings;
    s.exchanges = this.cfg.exchanges;
    s.requireParentSpan = this.cfg.requireParentSpan;
    s.hashRequests = this.cfg.hashRequests;
    s.exchangeIdleMs = this.cfg.exchangeIdleMs;
  }

  onConnect(socket: SocketLike, args: ArrayLike<unknown>): void {
    const ctx = context.active();
    this.lastConnected = socket;
    const prev = this.taps.get(socket);
    if (prev instanceof SocketTap && !prev.closed) return;
    // The exporter's own requests run suppressed: mark their sockets for good (no feedback loop).
    if (isTracingSuppressed(ctx)) return void this.taps.set(socket, IGNORED);
    const target = connectTarget(args);
    if (target === undefined) return;
    if (this.cfg.ignore.length > 0 && isIgnored(this.cfg.ignore, target)) {
      return void this.taps.set(socket, IGNORED);
    }
    const peer: PeerInfo = {
      transport: target.path !== undefined ? 'unix' : 'tcp',
      host: target.path ?? target.host,
      port: target.port,
      peerAddress: undefined,
      peerPort: undefined,
      callerPackage: this.cfg.captureCallerPackage ? callerPackage() : undefined,
    };
    const tap = new SocketTap(this.settings, socket, peer);
    if (this.cfg.connections) {
      const parent = trace.getSpanContext(ctx);
      const wanted =
        parent !== undefined ? (parent.traceFlags & TraceFlags.SAMPLED) !== 0 : !this.cfg.requireParentSpan;
      if (wanted) tap.connSpan = startConnectionSpan(this.tracer(), ctx, peer, nowMs());
    }
    tap.watchConnect(socket.encrypted === true);
    this.taps.set(socket, tap);
    this.live.add(tap);
  }

  /** The tap of a socket, classifying sockets first seen after enable() on their first bytes. */
  tapOf(socket: SocketLike): SocketTap | undefined {
    const entry = this.taps.get(socket);
    if (entry !== undefined) return entry === IGNORED ? undefined : entry;
    if (socket.connecting) return undefined; // not ours, still connecting: decide once connected
    // Only client sockets with a remote TCP address: not server-side sockets, not stdio pipes,
    // TTYs, child-process stdio or IPC channels (their remoteAddress is undefined).
    let tap: Entry = IGNORED;
    if (socket._server == null && socket.server == null && socket.isTTY !== true) {
      const host = socket.remoteAddress;
      const port = socket.remotePort;
      if (host !== undefined && !(this.cfg.ignore.length > 0 && isIgnored(this.cfg.ignore, { host, port }))) {
        tap = new SocketTap(this.settings, socket, {
          transport: 'tcp',
          host,
          port,
          peerAddress: host,
          peerPort: port,
          callerPackage: undefined,
        });
        tap.established();
        this.live.add(tap);
      }
    }
    this.taps.set(socket, tap);
    return tap === IGNORED ? undefined : tap;
  }

  onClose(socket: SocketLike, err: unknown): void {
    const entry = this.taps.get(socket);
    if (entry === undefined) return;
    this.taps.delete(socket);
    if (entry === IGNORED) return;
    this.live.delete(entry);
    entry.onClose(err);
  }

  /** Ends every open span (disable(), or shutting down). */
  closeAll(): void {
    for (const tap of this.live) {
      try {
        tap.onClose(undefined);
      } catch (e) {
        this.fail(undefined, e);
      }
    }
    this.live.clear();
    this.settings.sweeper.stop();
  }

  /** An internal failure: log it (a few times), stop tracing that socket, never throw. */
  fail(socket: SocketLike | undefined, e: unknown): void {
    if (this.failures++ < 10) diag.error('sockscope: internal error, socket left untraced', e);
    if (socket === undefined) return;
    const entry = this.taps.get(socket);
    this.taps.set(socket, IGNORED);
    if (entry instanceof SocketTap) {
      this.live.delete(entry);
      try {
        entry.onClose(undefined);
      } catch {
        // already failing; nothing more to end
      }
    }
  }
}

function resolveConfig(
  c: SocketInstrumentationConfig,
): Required<Omit<SocketInstrumentationConfig, 'enabled'>> {
  const exchanges =
    c.exchanges === 'all' || c.exchanges === 'uncovered' || c.exchanges === 'none'
      ? c.exchanges
      : DEFAULT_CONFIG.exchanges;
  if (c.exchanges !== undefined && c.exchanges !== exchanges) {
    diag.warn(
      `sockscope: exchanges must be 'all', 'uncovered' or 'none'; got ${String(c.exchanges)}, using 'all'`,
    );
  }
  const idle = Number(c.exchangeIdleMs);
  return {
    exchanges,
    connections: c.connections ?? DEFAULT_CONFIG.connections,
    requireParentSpan: c.requireParentSpan ?? DEFAULT_CONFIG.requireParentSpan,
    ignore: Array.isArray(c.ignore) ? c.ignore : [],
    captureCallerPackage: c.captureCallerPackage ?? DEFAULT_CONFIG.captureCallerPackage,
    hashRequests: c.hashRequests ?? DEFAULT_CONFIG.hashRequests,
    exchangeIdleMs: Number.isFinite(idle) && idle > 0 ? idle : DEFAULT_CONFIG.exchangeIdleMs,
  };
}

// The one tap the patched methods report to.
let owner: Runtime | undefined;

type Fn = (...args: any[]) => any;

function byteLengthOf(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (chunk instanceof Uint8Array) return chunk.byteLength;
  return -1;
}

function onWriteCall(socket: SocketLike, chunk: unknown, encoding: unknown): void {
  const rt = owner;
  if (rt === undefined || socket.destroyed || socket.writableEnded) return;
  try {
    const tap = rt.tapOf(socket);
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
    rt.fail(socket, e);
  }
}

const patches = {
  connect: (original: Fn) =>
    function connect(this: SocketLike, ...args: unknown[]) {
      const rt = owner;
      if (rt !== undefined) {
        try {
          rt.onConnect(this, args);
        } catch (e) {
          rt.fail(this, e);
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
      const rt = owner;
      if (rt !== undefined && chunk instanceof Uint8Array && chunk.byteLength > 0) {
        try {
          const tap = rt.tapOf(this);
          if (tap !== undefined) tap.onRead(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        } catch (e) {
          rt.fail(this, e);
        }
      }
      // eslint-disable-next-line prefer-rest-params
      return original.apply(this, arguments as unknown as unknown[]);
    },
  _destroy: (original: Fn) =>
    // Every way a socket ends (close, error, destroy() while connecting) passes here, with the
    // error if any, before 'error' is emitted: no 'error' or 'close' listener is needed.
    function _destroy(this: SocketLike, err: unknown, cb: unknown) {
      const rt = owner;
      if (rt !== undefined) {
        try {
          rt.onClose(this, err);
        } catch (e) {
          rt.fail(this, e);
        }
      }
      return original.call(this, err, cb);
    },
};

type PatchName = keyof typeof patches;
/** Own methods of `net.Socket.prototype` and inherited ones (`write`, `push`), shadowed there. */
const NET_METHODS: PatchName[] = ['connect', 'write', 'end', 'push', '_destroy'];

/**
 * SocketInstrumentation: a span for every client socket connection and for every
 * request/response exchange on it, whatever library opened it.
 */
export class SocketInstrumentation extends InstrumentationBase<SocketInstrumentationConfig> {
  constructor(config: SocketInstrumentationConfig = {}) {
    super(SCOPE_NAME, VERSION, config);
  }

  // `net` is a core module: it is patched at enable() whether or not anything requires it again
  // (fetch reaches sockets without requiring `net`). The module definition keeps the standard
  // require-in-the-middle path for the rest.
  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'net',
        ['*'],
        (m: typeof net) => {
          this.patchNet(m);
          return m;
        },
        (m: typeof net) => this.unpatchNet(m),
      ),
      new InstrumentationNodeModuleDefinition(
        'http2',
        ['*'],
        (m: typeof http2) => {
          this.patchHttp2(m);
          return m;
        },
        (m: typeof http2) => this.unpatchHttp2(m),
      ),
    ];
  }

  override enable(): void {
    super.enable();
    this.patchNet(net);
    this.patchHttp2(http2);
    owner = this.runtime();
  }

  override disable(): void {
    super.disable();
    if (owner === this.runtime()) {
      this.unpatchNet(net);
      this.unpatchHttp2(http2);
      owner = undefined;
    }
    this.runtime().closeAll();
  }

  override setConfig(config: SocketInstrumentationConfig = {}): void {
    super.setConfig(config);
    (this as unknown as Record<symbol, Runtime | undefined>)[kRuntime]?.reconfigure(this.getConfig());
  }

  // Lazily created: InstrumentationBase calls enable() from its constructor, before subclass fields exist.
  private runtime(): Runtime {
    const self = this as unknown as Record<symbol, Runtime | undefined>;
    return (self[kRuntime] ??= new Runtime(this.getConfig(), () => this.tracer));
  }

  private patchNet(m: typeof net): void {
    for (const name of NET_METHODS) install(m.Socket.prototype, name, patches[name]);
  }

  // ClientHttp2Session is not exported: its prototype's request() is wrapped at the first connect().
  private patchHttp2(m: typeof http2): void {
    if (isWrapped(m.connect)) return;
    this._wrap(m, 'connect', (original: Fn) => {
      const wrapRequestOnce = (session: unknown) => {
        const proto = Object.getPrototypeOf(session) as Record<string, any> | null;
        if (proto !== null && typeof proto.request === 'function' && !isWrapped(proto.request)) {
          http2Protos.add(proto);
          this._wrap(proto, 'request', (req: Fn) => wrapRequest(http2Host, req));
        }
      };
      return function connect(this: unknown, ...args: unknown[]) {
        if (owner !== undefined) owner.lastConnected = undefined;
        const session = original.apply(this, args);
        try {
          const socket = owner?.lastConnected;
          if (socket !== undefined) sessionSockets.set(session, socket);
          wrapRequestOnce(session);
        } catch (e) {
          owner?.fail(undefined, e);
        }
        return session;
      };
    });
  }

  private unpatchHttp2(m: typeof http2): void {
    if (isWrapped(m.connect)) this._unwrap(m, 'connect');
    for (const proto of http2Protos) if (isWrapped(proto.request)) this._unwrap(proto, 'request');
    http2Protos.clear();
  }

  private unpatchNet(m: typeof net): void {
    // A wrapper another instrumentation has stacked on top stays, inert: `owner` is cleared.
    for (const name of NET_METHODS) uninstall(m.Socket.prototype, name);
  }
}

const kRuntime = Symbol('sockscope.runtime');
const http2Protos = new Set<Record<string, any>>();
const http2Host: Http2Host = {
  settings: () => owner?.settings,
  tapOfSession: (session) => {
    const socket = sessionSockets.get(session);
    const entry = socket !== undefined ? owner?.taps.get(socket) : undefined;
    return entry instanceof SocketTap ? entry : undefined;
  },
};
// Session → the real socket (`session.socket` is a proxy that is not the tapped object).
const sessionSockets = new WeakMap<object, object>();
