import { TraceFlags, context, diag, trace, type Tracer } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import type * as net from 'node:net';
import { liveCoverage } from '../coverage/processor';
import type { SocketMetrics } from '../metrics/instruments';
import { nowMs } from '../spans/clock';
import type { PeerInfo } from '../spans/build';
import { startConnectionSpan } from '../spans/connection';
import { FailureLog } from '../spans/failure-log';
import type { SocketInstrumentationConfig } from '../types';
import { isCaptured } from './capture-hook';
import { callerOf } from './caller-package';
import { resolveConfig, type ResolvedConfig } from './config';
import { connectTarget } from './connect-args';
import { isIgnored } from './ignore';
import { SocketTap, type TappedSocket } from './socket-tap';
import { Sweeper } from './sweeper';
import type { TapServices, TapSettings } from './tap-settings';

/** Marks sockets sockscope leaves alone (stdio, server side, exporter's own, ignored, failed). */
const IGNORED = 0;
type Entry = SocketTap | typeof IGNORED;

export type SocketLike = net.Socket & TappedSocket & { _server?: unknown; server?: unknown; isTTY?: boolean };

/** Sweeper period for an idle timeout: a quarter of it, within 10 to 250 ms. */
function sweepIntervalMs(idleMs: number): number {
  return Math.max(10, Math.min(250, idleMs / 4));
}

/**
 * The running tap behind the patched prototypes: the socket taps of one enabled instrumentation,
 * its resolved settings and the services the taps share. One is active at a time
 * (`activeRegistry`): the patches call whichever instrumentation was enabled last, so two
 * instances never wrap each other.
 */
export class TapRegistry {
  readonly taps = new WeakMap<object, Entry>();
  /** Open taps, so that disable() can end their spans: a span is never left open. */
  readonly live = new Set<SocketTap>();
  /** The socket connect() last saw, so http2.connect() can tell which socket its session uses. */
  lastConnected: object | undefined = undefined;
  readonly settings: TapSettings;
  readonly services: TapServices;
  private cfg: ResolvedConfig;
  private readonly failures = new FailureLog('socket left untraced');
  /** Configuration warnings already given: each bad field is named once, not at every setConfig. */
  private readonly warned = new Set<string>();

  constructor(
    config: SocketInstrumentationConfig,
    tracer: () => Tracer,
    readonly metrics: SocketMetrics,
  ) {
    this.cfg = this.resolve(config);
    this.settings = {
      exchanges: this.cfg.exchanges,
      requireParentSpan: this.cfg.requireParentSpan,
      hashRequests: this.cfg.hashRequests,
      exchangeIdleMs: this.cfg.exchangeIdleMs,
    };
    this.services = {
      tracer,
      sweeper: new Sweeper(sweepIntervalMs(this.cfg.exchangeIdleMs), nowMs),
      coverage: liveCoverage,
      metrics,
    };
  }

  private resolve(config: SocketInstrumentationConfig): ResolvedConfig {
    const { config: resolved, warnings } = resolveConfig(config);
    for (const w of warnings) {
      if (this.warned.has(w)) continue;
      this.warned.add(w);
      diag.warn(w);
    }
    return resolved;
  }

  reconfigure(config: SocketInstrumentationConfig): void {
    this.cfg = this.resolve(config);
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
    const caller = this.cfg.captureCallerPackage ? callerOf() : undefined;
    const peer: PeerInfo = {
      transport: target.path !== undefined ? 'unix' : 'tcp',
      host: target.path ?? target.host,
      port: target.port,
      peerAddress: undefined,
      peerPort: undefined,
      callerPackage: caller?.name,
      callerPackageVersion: caller?.version,
    };
    const tap = new SocketTap(this.settings, this.services, socket, peer);
    // A test capture records its connections whatever the config and sampler say (see capture-hook).
    const captured = isCaptured(ctx);
    if (this.cfg.connections || captured) {
      const parent = trace.getSpanContext(ctx);
      const wanted =
        captured ||
        (parent !== undefined ? (parent.traceFlags & TraceFlags.SAMPLED) !== 0 : !this.cfg.requireParentSpan);
      if (wanted) tap.connSpan = startConnectionSpan(this.services.tracer(), ctx, peer, nowMs());
    }
    tap.watchConnect(socket.encrypted === true);
    this.forget(socket);
    this.taps.set(socket, tap);
    this.live.add(tap);
  }

  /**
   * The last socket tapOf() found a tap for, and that tap: a loop on one socket skips the WeakMap
   * lookup on every write and read. Cleared when that socket closes or fails, so it holds no
   * closed socket.
   */
  private lastSocket: object | undefined = undefined;
  private lastTap: SocketTap | undefined = undefined;

  /** The tap of a socket, classifying sockets first seen after enable() on their first bytes. */
  tapOf(socket: SocketLike): SocketTap | undefined {
    if (socket === this.lastSocket) return this.lastTap;
    const entry = this.taps.get(socket);
    if (entry !== undefined) {
      if (entry === IGNORED) return undefined;
      this.lastSocket = socket;
      this.lastTap = entry;
      return entry;
    }
    if (socket.connecting) return undefined; // not ours, still connecting: decide once connected
    // Only client sockets with a remote TCP address: not server-side sockets, not stdio pipes,
    // TTYs, child-process stdio or IPC channels (their remoteAddress is undefined).
    let tap: Entry = IGNORED;
    if (socket._server == null && socket.server == null && socket.isTTY !== true) {
      const host = socket.remoteAddress;
      const port = socket.remotePort;
      if (host !== undefined && !(this.cfg.ignore.length > 0 && isIgnored(this.cfg.ignore, { host, port }))) {
        tap = new SocketTap(this.settings, this.services, socket, {
          transport: 'tcp',
          host,
          port,
          peerAddress: host,
          peerPort: port,
          callerPackage: undefined,
          callerPackageVersion: undefined,
        });
        tap.established();
        this.live.add(tap);
      }
    }
    this.taps.set(socket, tap);
    return tap === IGNORED ? undefined : tap;
  }

  /** The tap of a socket already classified (no classification on the way). */
  existingTap(socket: object): SocketTap | undefined {
    const entry = this.taps.get(socket);
    return entry instanceof SocketTap ? entry : undefined;
  }

  private forget(socket: object): void {
    if (socket !== this.lastSocket) return;
    this.lastSocket = undefined;
    this.lastTap = undefined;
  }

  onClose(socket: SocketLike, err: unknown): void {
    this.forget(socket);
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
    this.lastSocket = undefined;
    this.lastTap = undefined;
    this.services.sweeper.stop();
  }

  /** An internal failure: log it (a few times), stop tracing that socket, never throw. */
  fail(socket: SocketLike | undefined, e: unknown): void {
    this.failures.report(e);
    if (socket === undefined) return;
    this.forget(socket);
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

/** The one registry the patched methods report to (undefined while no instrumentation is enabled). */
export let activeRegistry: TapRegistry | undefined;

export function setActiveRegistry(r: TapRegistry | undefined): void {
  activeRegistry = r;
}
