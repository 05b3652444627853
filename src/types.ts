import type { InstrumentationConfig } from '@opentelemetry/instrumentation';

/** Which exchange spans to emit. */
export type ExchangeMode = 'all' | 'uncovered' | 'none';

/** What an `ignore` function or object is matched against, once per socket, at connect. */
export interface SocketTarget {
  /** Host name as the caller gave it (or the remote address for sockets seen only after `enable()`). */
  host?: string;
  /** Remote port, for TCP. */
  port?: number;
  /** Unix socket path, for unix sockets. */
  path?: string;
}

/**
 * One `ignore` entry: a host or `host:port` or unix path string (exact match), a `RegExp` tested
 * against `host`, `host:port` and the unix path, a `{ host?, port? }` object (every given field
 * must match), or a function returning true for sockets to leave alone.
 */
export type IgnoreMatcher =
  string | RegExp | { host?: string | RegExp; port?: number } | ((target: SocketTarget) => boolean);

/** Configuration of `SocketInstrumentation`. */
export interface SocketInstrumentationConfig extends InstrumentationConfig {
  /**
   * Which exchange spans to emit: every exchange, only those no upstream instrumentation covers
   * (the gaps), or none (connection spans only).
   * @default 'all'
   */
  exchanges?: ExchangeMode;
  /**
   * Emit one connection span per client socket.
   * @default true
   */
  connections?: boolean;
  /**
   * Emit nothing for sockets and exchanges that have no active parent span.
   * @default false
   */
  requireParentSpan?: boolean;
  /**
   * Sockets to leave alone entirely (no spans, no byte counting).
   * @default []
   */
  ignore?: IgnoreMatcher[];
  /**
   * Resolve `sockscope.caller.package` from a short stack capture at connect (once per socket).
   * The capture is sockscope's largest cost per connection (10–30 µs of CPU, see
   * docs/performance.md); a service that opens a connection per request may turn it off.
   * @default true
   */
  captureCallerPackage?: boolean;
  /**
   * Set `sockscope.request.hash`, a keyed MAC (HMAC-SHA-256 under a random per-process key,
   * truncated to 64 bits) of an exchange's request bytes (at most the first 4 KiB plus the total
   * length), comparable only within one process run. Computed only for exchanges whose span is
   * emitted; it costs a few microseconds per exchange (`bench/hot-path.ts --digest`).
   * @default true
   */
  hashRequests?: boolean;
  /**
   * Quiet time, in milliseconds, after an exchange's last received byte at which an exchange of an
   * unframed (unrecognised) protocol ends. Exchanges still waiting for their first response byte
   * wait 30 times as long. Recognised protocols end exchanges at their last byte by framing.
   * @default 1000
   */
  exchangeIdleMs?: number;
  /**
   * Record metrics (exchanges, their duration and bytes, open connections, connection duration,
   * connect failures) through the instrumentation's `MeterProvider`, for every exchange, sampled or
   * not and whatever `exchanges` says. Costs next to nothing while the meter provider is the API's
   * no-op one. Names and attributes: docs/metrics.md.
   * @default true
   */
  metrics?: boolean;
}
