// The global `Buffer` is an accessor in Node 20 (a LoadGlobalIC and a getter call, ~180
// instructions per use under callgrind); the module's export is a plain property.
import { Buffer } from 'node:buffer';
import {
  INVALID_TRACEID,
  ROOT_CONTEXT,
  TraceFlags,
  context,
  isSpanContextValid,
  trace,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { nowMs } from '../spans/clock';
import { coveringScope } from '../coverage/upstream';
import type { ExchangeForCoverage } from '../coverage/rule';
import { Exchange } from './exchange';
import type { ProtocolParser, RequestInfo, ResponseInfo } from '../protocols/types';
import { ProtocolDetector, type Detected } from './protocol-detection';
import { newHash, newHttpHash, updateHash, updateHttpHash, type HttpHashState } from '../spans/request-hash';
import { peerKeys } from '../spans/server-key';
import { emitExchangeSpan, linkTarget, type PeerInfo } from '../spans/build';
import {
  endConnectionSpan,
  recordConnect,
  recordLookup,
  recordTlsHandshake,
  setPeerAttributes,
  type TlsSession,
} from '../spans/connection';
import { captureHook, isCaptured } from './capture-hook';
import type { Sweepable } from './sweeper';
import type { ConnectionCell, SocketGroup } from '../metrics/cells';
import { errorType } from '../spans/errors';
import type { TapServices, TapSettings } from './tap-settings';

const NO_REQUESTS: RequestInfo[] = [];
const NO_RESPONSES: ResponseInfo[] = [];
const NO_KEYS: readonly string[] = [];
/** An exchange still waiting for its first response byte waits this many idle periods. */
const FIRST_BYTE_WAIT_FACTOR = 30;

/** The sockets a tap watches, as the tap needs them: Node's `net.Socket` fields it reads. */
export interface TappedSocket {
  remoteAddress?: string;
  remotePort?: number;
  remoteFamily?: string;
  localAddress?: string;
  localPort?: number;
  bytesWritten?: number;
  bytesRead?: number;
  alpnProtocol?: string | false | null;
  encrypted?: boolean;
  on(event: string, fn: (...args: any[]) => void): unknown;
  removeListener(event: string, fn: (...args: any[]) => void): unknown;
}

/**
 * Per-socket state: the connection span, byte totals, the protocol parser, and the queue of open
 * exchanges. Usually one exchange is open at a time; a framed protocol written to by several
 * callers at once (an ioredis client shared by concurrent requests) queues one per caller and
 * pairs responses with them in order.
 */
export class SocketTap implements Sweepable {
  bytesSent = 0;
  bytesReceived = 0;
  exchanges = 0;
  heartbeats = 0;
  closed = false;
  /** The socket finished connecting (and its TLS handshake), or was first seen connected. */
  connected = false;
  connSpan: Span | undefined = undefined;
  private readonly open: Exchange[] = [];
  private parser: ProtocolParser | undefined = undefined;
  /** Until the protocol is decided; then undefined. */
  private detector: ProtocolDetector | undefined;
  private listeners: Array<[string, (...args: any[]) => void]> | undefined = undefined;
  private serverKeys: string[] | undefined = undefined;
  private readonly view: ExchangeForCoverage = {
    parentSpanId: undefined,
    startMs: 0,
    endMs: 0,
    servers: NO_KEYS,
  };
  /** The last parent found valid (its ids are well-formed): the next exchange under it skips the regexes. */
  private validParent: SpanContext | undefined = undefined;
  /** Metric cells of this socket's exchanges (for its current protocol) and of the connection. */
  private metricsGroup: SocketGroup | undefined = undefined;
  private connCell: ConnectionCell | undefined = undefined;
  private readonly openedMs: number;
  /** The last short string written and its bytes (bytesOf). */
  private lastString: string | undefined = undefined;
  private lastEncoding: BufferEncoding | undefined = undefined;
  private lastBytes: Buffer | undefined = undefined;
  /** A member of the shared sweeper (it keeps this tap while sweep() returns true). */
  private swept = false;

  constructor(
    private readonly settings: TapSettings,
    private readonly services: TapServices,
    private readonly socket: TappedSocket,
    readonly peer: PeerInfo,
  ) {
    this.detector = new ProtocolDetector(peer.port ?? 0, () => alpnOf(socket));
    this.openedMs = nowMs();
    const m = services.metrics;
    if (m.recording) {
      this.connCell = m.cells.connection(peer);
      this.connCell.open++;
    }
  }

  // ---- connection phase -------------------------------------------------------------------

  /** Watches lookup, connect and the TLS handshake with listeners removed once connected. */
  watchConnect(tls: boolean): void {
    const span = this.connSpan;
    if (span === undefined || !span.isRecording()) {
      this.watchPeerOnly(tls);
      return;
    }
    const onLookup = (err: unknown, address: unknown) => {
      if (err == null) recordLookup(span, address);
    };
    const onConnect = () => {
      this.learnPeer();
      recordConnect(span);
      if (!tls) this.established();
    };
    const onSecure = () => {
      recordTlsHandshake(span, this.socket as TlsSession);
      this.established();
    };
    this.listeners = [
      ['lookup', onLookup],
      ['connect', onConnect],
    ];
    if (tls) this.listeners.push(['secureConnect', onSecure]);
    for (const [ev, fn] of this.listeners) this.socket.on(ev, fn);
  }

  // Without a recording connection span we still need the peer address for exchanges.
  private watchPeerOnly(tls: boolean): void {
    const onConnect = () => {
      this.learnPeer();
      if (!tls) this.established();
    };
    const onSecure = () => this.established();
    this.listeners = [['connect', onConnect]];
    if (tls) this.listeners.push(['secureConnect', onSecure]);
    for (const [ev, fn] of this.listeners) this.socket.on(ev, fn);
  }

  /** Connected (and TLS established): the connect-phase listeners are removed. */
  established(): void {
    this.connected = true;
    this.unwatch();
  }

  private unwatch(): void {
    const l = this.listeners;
    if (l === undefined) return;
    this.listeners = undefined;
    for (const [ev, fn] of l) this.socket.removeListener(ev, fn);
  }

  /** Reads the connected peer's address (also for sockets first seen after enable()). */
  learnPeer(): void {
    const s = this.socket;
    const p = this.peer;
    p.peerAddress = s.remoteAddress ?? p.peerAddress;
    p.peerPort = s.remotePort ?? p.peerPort;
    this.serverKeys = undefined;
    const span = this.connSpan;
    if (span !== undefined && span.isRecording()) setPeerAttributes(span, p, s);
  }

  // ---- bytes ------------------------------------------------------------------------------

  /** A write()/end(data) call: bytes leave in the caller's context, which parents the exchange. */
  onWrite(chunk: Uint8Array | string, byteLength: number, encoding: BufferEncoding | undefined): void {
    if (this.closed || byteLength === 0) return;
    const now = nowMs();
    this.bytesSent += byteLength;
    let buf: Buffer | undefined;
    if (this.detector !== undefined) {
      buf = this.bytesOf(chunk, encoding);
      const d = this.detector.onClientBytes(buf);
      if (d !== undefined) this.detected(d);
    }
    const parser = this.parser;
    let reqs = NO_REQUESTS;
    if (parser !== undefined) reqs = parser.onClientBytes(buf ?? this.bytesOf(chunk, encoding));
    const kind = requestsKind(reqs);
    if (kind === Requests.HeartbeatsOnly) {
      this.heartbeats += reqs.length;
      return;
    }

    const framed = parser !== undefined && parser.framed;
    // The writer's context parents an exchange span and pairs pipelined callers on a framed
    // protocol. When no exchange can be emitted or judged, an unframed one needs neither: the
    // lookup (the API's global registry, then AsyncLocalStorage) is skipped.
    const ctx = !framed && this.untracedOnly() ? ROOT_CONTEXT : context.active();
    const open = this.open;
    let ex = open.length > 0 ? open[open.length - 1] : undefined;
    let fresh = false;
    if (
      ex === undefined ||
      (ex.bytesReceived > 0 && !(framed && reqs.length === 0)) ||
      // Another caller's request while one awaits its answer: its own exchange, paired in order.
      (framed && reqs.length > 0 && ex.ctx !== ctx && ex.responsesExpected > 0) ||
      // A request with no answer (AMQP basic.publish) written while another awaits one: its own.
      (framed && kind === Requests.OneWayOnly && ex.responsesExpected > 0)
    ) {
      // Unframed: a write after received data ends the previous exchange at its last byte.
      if (ex !== undefined && !framed) this.finish(ex, undefined);
      ex = this.start(ctx, now);
      fresh = true;
    }
    ex.bytesSent += byteLength;
    ex.lastWriteMs = now;
    if (ex.hash !== undefined) {
      if ('inBody' in ex.hash) updateHttpHash(ex.hash as HttpHashState, chunk, byteLength);
      else updateHash(ex.hash, chunk, byteLength);
    }
    if (kind !== Requests.None) {
      this.addRequests(ex, reqs);
      // A request the protocol answers with nothing (NATS PUB, MQTT QoS 0) ends when written.
      if (framed && kind === Requests.OneWayOnly && ex.responsesExpected === 0) this.finish(ex, undefined);
    }
    // Joined once, not at every exchange (a Set insertion per round trip): sweep() says when it leaves.
    if (fresh && !this.swept && this.open.length > 0) {
      this.swept = true;
      this.services.sweeper.add(this);
    }
  }

  /**
   * A written chunk's bytes for detection and the parser, which read them and keep none. A short
   * string written again (the same command, a PING) reuses the bytes converted last time: the
   * conversion loop was 650 instructions of a Redis round trip under callgrind.
   */
  private bytesOf(chunk: Uint8Array | string, encoding: BufferEncoding | undefined): Buffer {
    if (typeof chunk !== 'string') return toBuffer(chunk, encoding);
    if (chunk === this.lastString && encoding === this.lastEncoding && this.lastBytes !== undefined)
      return this.lastBytes;
    const bytes = toBuffer(chunk, encoding);
    if (chunk.length <= SHORT_STRING) {
      this.lastString = chunk;
      this.lastEncoding = encoding;
      this.lastBytes = bytes;
    }
    return bytes;
  }

  /** A chunk the stream machinery hands to push(): processed before the app sees it. */
  onRead(chunk: Buffer): void {
    if (this.closed) return;
    const len = chunk.length;
    if (len === 0) return;
    this.bytesReceived += len;
    if (this.detector !== undefined) {
      const d = this.detector.onServerBytes(chunk);
      if (d !== undefined) this.detected(d);
    }
    const parser = this.parser;
    const resps = parser !== undefined ? parser.onServerBytes(chunk) : NO_RESPONSES;
    const open = this.open;
    if (open.length === 0) return; // server push, greetings, subscriptions: connection only
    const now = nowMs();
    if (parser !== undefined && parser.framed) {
      const head = open[0];
      head.bytesReceived += len;
      head.lastByteMs = now;
      for (let i = 0; i < resps.length && open.length > 0; i++) {
        let ex = open[0];
        // An exchange framing cannot close (no request recognised) yields to the next.
        while (ex.responsesExpected === 0 && open.length > 1) {
          this.finish(ex, undefined);
          ex = open[0];
        }
        const r = resps[i];
        if (r.error !== undefined && ex.error === undefined) ex.error = r.error;
        if (r.attributes !== undefined) ex.responseAttributes = r.attributes;
        ex.responsesReceived++;
        ex.lastByteMs = now;
        if (ex.responsesReceived >= ex.responsesExpected) this.finish(ex, undefined);
      }
    } else {
      const ex = open[open.length - 1];
      ex.bytesReceived += len;
      ex.lastByteMs = now;
    }
  }

  /** The protocol is decided: client bytes written before this chunk count on the open exchange. */
  private detected(d: Detected): void {
    this.detector = undefined;
    this.parser = d.parser;
    if (d.parser !== undefined && d.earlier !== undefined) this.applyLate(d.parser.onClientBytes(d.earlier));
  }

  /** Requests recognised after their bytes were written count on the newest open exchange. */
  private applyLate(reqs: RequestInfo[]): void {
    const ex = this.open[this.open.length - 1];
    if (ex !== undefined) this.addRequests(ex, reqs);
  }

  /** Counts requests on an exchange: the first names it, each expecting an answer is awaited. */
  private addRequests(ex: Exchange, reqs: RequestInfo[]): void {
    for (let i = 0; i < reqs.length; i++) {
      const r = reqs[i];
      if (r.heartbeat === true) {
        this.heartbeats++;
        continue;
      }
      if (ex.request === undefined) ex.request = r;
      ex.commands++;
      if (r.oneWay !== true) ex.responsesExpected++;
    }
  }

  // ---- exchanges --------------------------------------------------------------------------

  /** With 'none', no capture running and no metrics: no exchange is emitted or judged, whatever its context. */
  private untracedOnly(): boolean {
    return (
      this.settings.exchanges === 'none' && captureHook === undefined && !this.services.metrics.recording
    );
  }

  private start(ctx: Context, now: number): Exchange {
    const s = this.settings;
    // Framing only: nothing about this exchange can be emitted or judged; it is tracked for the
    // connection's counts only, its context kept for identity (which pairs pipelined callers).
    if (this.untracedOnly()) return this.track(new Exchange(ctx, undefined, false, undefined, now));
    const parentSpan = trace.getSpan(ctx);
    let parent = parentSpan?.spanContext();
    // Decide from the parent's sampled flag before building anything (the flag is a bit test; the
    // validity check runs two regexes): an unsampled parent costs next to nothing.
    const unsampled =
      parent !== undefined &&
      (parent.traceFlags & TraceFlags.SAMPLED) === 0 &&
      parent.traceId !== INVALID_TRACEID;
    // Unsampled and no capture running: not traced, not emitted, not judged (metrics count it with
    // its coverage unknown, as below: an unsampled exchange is never judged).
    if (unsampled && captureHook === undefined)
      return this.track(new Exchange(ctx, parent, false, undefined, now));
    if (!unsampled && parent !== undefined && parent !== this.validParent) {
      // A loop under one request writes under the same SpanContext object: validate it once.
      if (isSpanContextValid(parent)) this.validParent = parent;
      else parent = undefined;
    }
    // A test capture records its exchanges whatever the sampler says; its tracer gives the app only
    // what the app would have had.
    const captured = isCaptured(ctx);
    const traced = !unsampled && !isTracingSuppressed(ctx);
    const emit =
      !isTracingSuppressed(ctx) &&
      (captured || (traced && s.exchanges !== 'none' && (parent !== undefined || !s.requireParentSpan)));
    // Metrics want the coverage verdict of every exchange whose upstream spans are visible.
    const judged = emit || (traced && this.services.metrics.recording);
    const ex = new Exchange(ctx, parent, emit, judged ? coveringScope(parentSpan) : undefined, now);
    if (judged) {
      ex.judged = true;
      this.services.coverage.matchAtStart(ex, this.viewOf);
    }
    // With 'uncovered', an exchange known to be covered is only counted: no hash, no span.
    if (ex.coveredBy !== undefined && s.exchanges === 'uncovered' && !captured) ex.emitSpan = false;
    if (captured && emit) captureHook?.exchangeStarted(ctx, now);
    if (ex.emitSpan && s.hashRequests) ex.hash = this.parser?.protocol === 'http' ? newHttpHash() : newHash();
    return this.track(ex);
  }

  private track(ex: Exchange): Exchange {
    this.open.push(ex);
    return ex;
  }

  /** `coverageView` bound once per socket, for the coverage rule to call when it needs it. */
  private readonly viewOf = (ex: Exchange): ExchangeForCoverage => this.coverageView(ex);

  /** The exchange as the coverage rule reads it, in one object per socket (the rule keeps none). */
  private coverageView(ex: Exchange): ExchangeForCoverage {
    const v = this.view;
    v.parentSpanId = ex.parent?.spanId;
    v.startMs = ex.startMs;
    v.endMs = ex.endMs();
    v.servers = this.keys();
    return v;
  }

  /** Ends an exchange and emits its span when wanted. */
  private finish(ex: Exchange, socketError: unknown): void {
    const open = this.open;
    const i = open.indexOf(ex);
    if (i === 0) open.shift();
    else if (i > 0) open.splice(i, 1);
    this.exchanges++;
    const coveredBy = ex.judged ? this.services.coverage.coverAtEnd(ex, this.viewOf) : undefined;
    const p = this.parser;
    if (this.services.metrics.recording) this.count(ex, p?.protocol, coveredBy);
    if (!ex.emitSpan) return;
    const s = this.settings;
    if (s.exchanges === 'uncovered' && coveredBy !== undefined && !isCaptured(ex.ctx)) return;
    emitExchangeSpan(
      this.services.tracer(),
      ex,
      this.peer,
      // After an upgrade to a protocol sockscope does not know, `protocol` is undefined: `tcp exchange`.
      p?.protocol !== undefined ? { name: p.protocol, version: p.version } : undefined,
      coveredBy,
      linkTarget(this.connSpan),
      // A socket failing mid-exchange fails the exchange; a clean close after a reply does not.
      unanswered(ex) ? socketError : undefined,
    );
  }

  /** Counts the exchange in its metric cell (one per attribute set, cached per socket and protocol). */
  private count(ex: Exchange, protocol: string | undefined, coveredBy: string | undefined): void {
    const m = this.services.metrics;
    let g = this.metricsGroup;
    if (g === undefined || g.protocol !== protocol)
      g = this.metricsGroup = m.cells.group(this.peer, protocol);
    m.countExchange(g, ex, coveredBy, this.services.coverage.running);
  }

  private keys(): string[] {
    return (this.serverKeys ??= peerKeys(this.peer));
  }

  /** Shared sweeper: ends exchanges of unframed protocols after `exchangeIdleMs` of quiet. */
  sweep(now: number): boolean {
    // False until it returns: the sweeper drops a member whose sweep() returned false or threw.
    this.swept = false;
    if (this.closed) return false;
    const idle = this.settings.exchangeIdleMs;
    const framed = this.parser !== undefined && this.parser.framed;
    const open = this.open;
    for (let i = 0; i < open.length;) {
      const ex = open[i];
      const waitingFirstByte = ex.lastByteMs === 0 || (framed && ex.responsesReceived < ex.responsesExpected);
      const quietSince = Math.max(ex.lastByteMs, ex.lastWriteMs);
      const limit = waitingFirstByte ? idle * FIRST_BYTE_WAIT_FACTOR : idle;
      if (now - quietSince >= limit) this.finish(ex, undefined);
      else i++;
    }
    return (this.swept = open.length > 0);
  }

  // ---- close ------------------------------------------------------------------------------

  /** The socket is being destroyed (closed, failed, or destroy() called): end everything. */
  onClose(err: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.unwatch();
    const open = this.open;
    // An exchange still waiting for (part of) its answer fails with the socket.
    const hadOpen = open.some(unanswered);
    while (open.length > 0) this.finish(open[0], err ?? undefined);
    this.services.sweeper.delete(this);
    this.swept = false;
    const cell = this.connCell;
    if (cell !== undefined) {
      this.connCell = undefined;
      const m = this.services.metrics;
      m.connectionClosed(cell, (nowMs() - this.openedMs) / 1000);
      if (!this.connected && err != null) m.cells.failure(cell, errorType(err));
    }
    const span = this.connSpan;
    this.connSpan = undefined;
    if (span === undefined) return;
    const sock = this.socket;
    endConnectionSpan(
      span,
      {
        bytesSent: this.bytesSent,
        bytesReceived: this.bytesReceived,
        exchanges: this.exchanges,
        heartbeats: this.heartbeats,
        socketWritten: typeof sock.bytesWritten === 'number' ? sock.bytesWritten : 0,
        socketRead: typeof sock.bytesRead === 'number' ? sock.bytesRead : 0,
      },
      { error: err, connected: this.connected, midExchange: hadOpen },
    );
  }
}

const enum Requests {
  None,
  HeartbeatsOnly,
  /** No request in the chunk expects an answer (heartbeats aside). */
  OneWayOnly,
  ExpectsAnswer,
}

/** What the requests found in one written chunk ask of the exchange, in one pass. */
function requestsKind(reqs: RequestInfo[]): Requests {
  if (reqs.length === 0) return Requests.None;
  let heartbeatsOnly = true;
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i];
    if (r.heartbeat === true) continue;
    heartbeatsOnly = false;
    if (r.oneWay !== true) return Requests.ExpectsAnswer;
  }
  return heartbeatsOnly ? Requests.HeartbeatsOnly : Requests.OneWayOnly;
}

/** Nothing came back yet, or framing says the answer is incomplete. */
function unanswered(ex: Exchange): boolean {
  return ex.bytesReceived === 0 || ex.responsesReceived < ex.responsesExpected;
}

/** String writes up to this many characters are converted by stringBytes' own loop. */
const SHORT_STRING = 256;

function toBuffer(chunk: Uint8Array | string, encoding: BufferEncoding | undefined): Buffer {
  if (typeof chunk === 'string') return stringBytes(chunk, encoding);
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

function alpnOf(s: TappedSocket): string | undefined {
  return typeof s.alpnProtocol === 'string' ? s.alpnProtocol : undefined;
}

/**
 * A written string's bytes, for detection and the parser (which never keep them). A short ASCII
 * string, what string-writing clients such as ioredis send, is copied into a fresh pooled Buffer
 * here: `Buffer.from(string)` took 2,900-6,600 instructions per call under callgrind (a C++ API
 * call from baseline code), more than the rest of the tap's work on a Redis round trip.
 */
function stringBytes(s: string, encoding: BufferEncoding | undefined): Buffer {
  const n = s.length;
  if (
    n > SHORT_STRING ||
    !(encoding === undefined || encoding === 'utf8' || encoding === 'utf-8' || encoding === 'latin1')
  ) {
    return Buffer.from(s, encoding);
  }
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return Buffer.from(s, encoding); // not ASCII: the encoding decides the bytes
    out[i] = c;
  }
  return out;
}
