import {
  INVALID_TRACEID,
  TraceFlags,
  context,
  isSpanContextValid,
  trace,
  type Context,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { nowMs } from './clock';
import { coveringScope } from '../coverage/upstream';
import { coverAtEnd, matchSiblingsAtStart } from '../coverage/processor';
import type { ExchangeForCoverage } from '../coverage/rule';
import { Exchange } from './exchange';
import { detect } from '../protocols';
import type { DetectInput, ProtocolParser, RequestInfo, ResponseInfo } from '../protocols/types';
import { newHash, newHttpHash, updateHash, updateHttpHash, type HttpHashState } from './request-hash';
import * as sc from '../spans/semconv';
import { describeError, emitExchangeSpan, failSpan, linkTarget, type PeerInfo } from '../spans/build';
import type { Sweepable } from './sweeper';
import type { TapSettings } from './tap-settings';

const EMPTY = Buffer.alloc(0);
const NO_REQUESTS: RequestInfo[] = [];
const NO_RESPONSES: ResponseInfo[] = [];
const NO_KEYS: readonly string[] = [];
/** Bytes of each direction kept for protocol detection (a copy, never the chunk). */
const DETECT_PREFIX = 256;
/**
 * Client bytes after which an unrecognised connection stops trying. Some clients write a request
 * a few bytes at a time (mqtt.js writes CONNECT's first byte alone), so detection accumulates
 * small writes up to this many bytes, or until the server answers.
 */
const DETECT_GIVE_UP = 64;
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

const enum Detection {
  Pending,
  Done,
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
  private detection = Detection.Pending;
  private serverPrefix: Buffer | undefined = undefined;
  private clientPrefix: Buffer | undefined = undefined;
  private wrote = false;
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

  constructor(
    private readonly settings: TapSettings,
    private readonly socket: TappedSocket,
    readonly peer: PeerInfo,
  ) {}

  // ---- connection phase -------------------------------------------------------------------

  /** Watches lookup, connect and the TLS handshake with listeners removed once connected. */
  watchConnect(tls: boolean): void {
    const span = this.connSpan;
    if (span === undefined || !span.isRecording()) {
      this.watchPeerOnly(tls);
      return;
    }
    const onLookup = (err: unknown, address: unknown) => {
      if (err == null) span.addEvent('dns.lookup', { [sc.ATTR_NETWORK_PEER_ADDRESS]: String(address) });
    };
    const onConnect = () => {
      this.learnPeer();
      span.addEvent('connect');
      if (!tls) this.established();
    };
    const onSecure = () => {
      this.learnTls(span);
      span.addEvent('tls.handshake');
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
    if (span === undefined || !span.isRecording()) return;
    if (p.peerAddress !== undefined) span.setAttribute(sc.ATTR_NETWORK_PEER_ADDRESS, p.peerAddress);
    if (p.peerPort !== undefined) span.setAttribute(sc.ATTR_NETWORK_PEER_PORT, p.peerPort);
    if (s.localAddress !== undefined) span.setAttribute(sc.ATTR_NETWORK_LOCAL_ADDRESS, s.localAddress);
    if (s.localPort !== undefined) span.setAttribute(sc.ATTR_NETWORK_LOCAL_PORT, s.localPort);
    const fam = s.remoteFamily;
    if (fam === 'IPv4' || fam === 'IPv6') span.setAttribute(sc.ATTR_NETWORK_TYPE, fam.toLowerCase());
  }

  private learnTls(span: Span): void {
    const s = this.socket as TappedSocket & {
      getProtocol?: () => string | null;
      getCipher?: () => { standardName?: string; name?: string } | undefined;
      servername?: string | false;
    };
    span.setAttribute(sc.ATTR_TLS_ESTABLISHED, true);
    const proto = s.getProtocol?.();
    if (typeof proto === 'string') {
      // Node reports `TLSv1.3`; semantic conventions split it into name `tls` and version `1.3`.
      const m = /^(TLS|SSL)v?([\d.]+)$/i.exec(proto);
      if (m) {
        span.setAttribute(sc.ATTR_TLS_PROTOCOL_NAME, m[1].toLowerCase());
        span.setAttribute(sc.ATTR_TLS_PROTOCOL_VERSION, m[2]);
      }
    }
    const cipher = s.getCipher?.();
    const cname = cipher?.standardName ?? cipher?.name;
    if (cname !== undefined) span.setAttribute(sc.ATTR_TLS_CIPHER, cname);
    if (typeof s.servername === 'string') span.setAttribute(sc.ATTR_TLS_SERVER_NAME, s.servername);
    if (typeof s.alpnProtocol === 'string') span.setAttribute(sc.ATTR_TLS_NEXT_PROTOCOL, s.alpnProtocol);
  }

  // ---- bytes ------------------------------------------------------------------------------

  /** A write()/end(data) call: bytes leave in the caller's context, which parents the exchange. */
  onWrite(chunk: Uint8Array | string, byteLength: number, encoding: BufferEncoding | undefined): void {
    if (this.closed || byteLength === 0) return;
    const now = nowMs();
    this.bytesSent += byteLength;
    this.wrote = true;
    let buf: Buffer | undefined;
    if (this.detection === Detection.Pending) {
      buf = toBuffer(chunk, encoding);
      this.detectOnWrite(buf);
    }
    const parser = this.parser;
    let reqs = NO_REQUESTS;
    if (parser !== undefined) reqs = parser.onClientBytes(buf ?? toBuffer(chunk, encoding));
    const kind = requestsKind(reqs);
    if (kind === Requests.HeartbeatsOnly) {
      this.heartbeats += reqs.length;
      return;
    }

    const framed = parser !== undefined && parser.framed;
    const ctx = context.active();
    const open = this.open;
    let ex = open.length > 0 ? open[open.length - 1] : undefined;
    let fresh = false;
    if (
      ex === undefined ||
      (ex.bytesReceived > 0 && !(framed && reqs.length === 0)) ||
      // Another caller's request while one awaits its answer: its own exchange, paired in order.
      (framed && reqs.length > 0 && ex.ctx !== ctx && ex.expected > 0) ||
      // A request with no answer (AMQP basic.publish) written while another awaits one: its own.
      (framed && kind === Requests.OneWayOnly && ex.expected > 0)
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
      if (framed && kind === Requests.OneWayOnly && ex.expected === 0) this.finish(ex, undefined);
    }
    if (fresh && this.open.length > 0) this.settings.sweeper.add(this);
  }

  /** A chunk the stream machinery hands to push(): processed before the app sees it. */
  onRead(chunk: Buffer): void {
    if (this.closed) return;
    const len = chunk.length;
    if (len === 0) return;
    this.bytesReceived += len;
    if (this.detection === Detection.Pending) this.detectOnRead(chunk);
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
        while (ex.expected === 0 && open.length > 1) {
          this.finish(ex, undefined);
          ex = open[0];
        }
        const r = resps[i];
        if (r.error !== undefined && ex.error === undefined) ex.error = r.error;
        if (r.attributes !== undefined) ex.responseAttributes = r.attributes;
        ex.received++;
        ex.lastByteMs = now;
        if (ex.received >= ex.expected) this.finish(ex, undefined);
      }
    } else {
      const ex = open[open.length - 1];
      ex.bytesReceived += len;
      ex.lastByteMs = now;
    }
  }

  private input(client: Buffer, server: Buffer): DetectInput {
    return { client, server, port: this.peer.port ?? 0, alpn: alpnOf(this.socket) };
  }

  /** Tries to recognise the protocol from the client's bytes so far (all of them: fewer than 64). */
  private detectOnWrite(buf: Buffer): void {
    const prev = this.clientPrefix;
    const had = prev === undefined ? 0 : prev.length;
    const head = buf.subarray(0, DETECT_PREFIX - had);
    const client = prev === undefined ? Buffer.from(head) : Buffer.concat([prev, head]);
    const input = this.input(client, this.serverPrefix ?? EMPTY);
    const rec = detect(input);
    if (rec !== undefined) {
      this.detected(rec.createParser(input));
      // Earlier small writes belong to the exchange already open; this chunk is fed by onWrite.
      if (prev !== undefined) this.applyLate(this.parser!.onClientBytes(prev));
    } else if (client.length >= DETECT_GIVE_UP) {
      this.detected(undefined);
    } else {
      this.clientPrefix = client;
    }
  }

  private detectOnRead(chunk: Buffer): void {
    const server = chunk.subarray(0, DETECT_PREFIX);
    if (!this.wrote) {
      // The server spoke first (MySQL greeting, NATS INFO, SMTP 220): try to recognise it now.
      if (this.serverPrefix !== undefined) return;
      const input = this.input(EMPTY, server);
      const rec = detect(input);
      if (rec !== undefined) this.detected(rec.createParser(input));
      else this.serverPrefix = Buffer.from(server);
      return;
    }
    // The server answers a short request: last try, with both sides.
    const client = this.clientPrefix ?? EMPTY;
    const input = this.input(client, server);
    const rec = detect(input);
    this.detected(rec?.createParser(input));
    if (this.parser !== undefined && client.length > 0) this.applyLate(this.parser.onClientBytes(client));
  }

  private detected(parser: ProtocolParser | undefined): void {
    this.detection = Detection.Done;
    this.parser = parser;
    this.clientPrefix = undefined;
    this.serverPrefix = undefined;
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
      if (r.oneWay !== true) ex.expected++;
    }
  }

  // ---- exchanges --------------------------------------------------------------------------

  private start(ctx: Context, now: number): Exchange {
    const s = this.settings;
    const parentSpan = trace.getSpan(ctx);
    let parent = parentSpan?.spanContext();
    // Decide from the parent's sampled flag before building anything (the flag is a bit test; the
    // validity check runs two regexes): an unsampled parent costs next to nothing.
    const unsampled =
      parent !== undefined &&
      (parent.traceFlags & TraceFlags.SAMPLED) === 0 &&
      parent.traceId !== INVALID_TRACEID;
    if (!unsampled && parent !== undefined && parent !== this.validParent) {
      // A loop under one request writes under the same SpanContext object: validate it once.
      if (isSpanContextValid(parent)) this.validParent = parent;
      else parent = undefined;
    }
    const emit =
      !unsampled &&
      s.exchanges !== 'none' &&
      (parent !== undefined || !s.requireParentSpan) &&
      !isTracingSuppressed(ctx);
    const ex = new Exchange(ctx, parent, emit, emit ? coveringScope(parentSpan) : undefined, now);
    if (emit) matchSiblingsAtStart(ex, this.viewOf);
    // With 'uncovered', an exchange known to be covered is only counted: no hash, no span.
    if (ex.coveredBy !== undefined && s.exchanges === 'uncovered') ex.emit = false;
    if (ex.emit && s.hashRequests) ex.hash = this.parser?.protocol === 'http' ? newHttpHash() : newHash();
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
    if (!ex.emit) return;
    const s = this.settings;
    const coveredBy = coverAtEnd(ex, this.viewOf);
    if (s.exchanges === 'uncovered' && coveredBy !== undefined) return;
    const p = this.parser;
    emitExchangeSpan(
      s.tracer(),
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

  private keys(): string[] {
    if (this.serverKeys !== undefined) return this.serverKeys;
    const p = this.peer;
    const out: string[] = [];
    if (p.host !== undefined) out.push(`${p.host.toLowerCase()}:${p.port ?? ''}`);
    if (p.peerAddress !== undefined) out.push(`${p.peerAddress.toLowerCase()}:${p.peerPort ?? ''}`);
    this.serverKeys = out;
    return out;
  }

  /** Shared sweeper: ends exchanges of unframed protocols after `exchangeIdleMs` of quiet. */
  sweep(now: number): boolean {
    if (this.closed) return false;
    const idle = this.settings.exchangeIdleMs;
    const framed = this.parser !== undefined && this.parser.framed;
    const open = this.open;
    for (let i = 0; i < open.length;) {
      const ex = open[i];
      const waitingFirstByte = ex.lastByteMs === 0 || (framed && ex.received < ex.expected);
      const quietSince = Math.max(ex.lastByteMs, ex.lastWriteMs);
      const limit = waitingFirstByte ? idle * FIRST_BYTE_WAIT_FACTOR : idle;
      if (now - quietSince >= limit) this.finish(ex, undefined);
      else i++;
    }
    return open.length > 0;
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
    this.settings.sweeper.delete(this);
    const span = this.connSpan;
    this.connSpan = undefined;
    if (span === undefined) return;
    if (span.isRecording()) {
      let sent = this.bytesSent;
      let received = this.bytesReceived;
      const s = this.socket;
      const written = typeof s.bytesWritten === 'number' ? s.bytesWritten : 0;
      const read = typeof s.bytesRead === 'number' ? s.bytesRead : 0;
      if (sent === 0 && received === 0 && (written > 0 || read > 0)) {
        // Node's native code consumed this socket (HTTP/2 session): no exchange was visible here.
        span.setAttribute(sc.ATTR_SOCKSCOPE_OPAQUE, true);
        sent = written;
        received = read;
      }
      span.setAttribute(sc.ATTR_SOCKSCOPE_BYTES_SENT, sent);
      span.setAttribute(sc.ATTR_SOCKSCOPE_BYTES_RECEIVED, received);
      span.setAttribute(sc.ATTR_SOCKSCOPE_EXCHANGES, this.exchanges);
      if (this.heartbeats > 0) span.setAttribute(sc.ATTR_SOCKSCOPE_HEARTBEATS, this.heartbeats);
      if (err != null) {
        // A failure while connecting or in the middle of an exchange failed a call; an idle
        // keep-alive socket reset by its peer (undici's UND_ERR_SOCKET) is how it ended, not an error.
        if (!this.connected || hadOpen) failSpan(span, err);
        else span.addEvent('close', { [sc.ATTR_ERROR_TYPE]: describeError(err).type });
      }
    }
    span.end();
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
  return ex.bytesReceived === 0 || ex.received < ex.expected;
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
