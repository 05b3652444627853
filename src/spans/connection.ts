import { SpanKind, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import type { PeerInfo } from './build';
import { STATUS_CONNECT_FAILED, STATUS_SOCKET_FAILED, errorType, failSpan } from './errors';
import * as sc from './semconv';

// The names read once: `sc.X` is a getter call each time (tsc compiles semconv's re-exports of
// @opentelemetry/semantic-conventions to accessors), 160-330 instructions per connection each.
const {
  ATTR_SOCKSCOPE_KIND,
  KIND_CONNECTION,
  ATTR_NETWORK_TRANSPORT,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SOCKSCOPE_CALLER_PACKAGE,
  ATTR_SOCKSCOPE_CALLER_PACKAGE_VERSION,
  ATTR_NETWORK_PEER_ADDRESS,
  ATTR_NETWORK_PEER_PORT,
  ATTR_NETWORK_LOCAL_ADDRESS,
  ATTR_NETWORK_LOCAL_PORT,
  ATTR_NETWORK_TYPE,
  ATTR_SOCKSCOPE_BYTES_SENT,
  ATTR_SOCKSCOPE_BYTES_RECEIVED,
  ATTR_SOCKSCOPE_EXCHANGES,
} = sc;
/** Span names by transport, built once rather than per connection. */
const CONNECT_NAMES: Record<string, string> = { tcp: 'tcp connect', unix: 'unix connect' };

/** Starts a connection span in the connect() caller's context. */
export function startConnectionSpan(
  tracer: Tracer,
  ctx: Parameters<Tracer['startSpan']>[2],
  peer: PeerInfo,
  startMs: number,
): Span {
  const attributes: Attributes = {
    [ATTR_SOCKSCOPE_KIND]: KIND_CONNECTION,
    [ATTR_NETWORK_TRANSPORT]: peer.transport,
  };
  if (peer.host !== undefined) attributes[ATTR_SERVER_ADDRESS] = peer.host;
  if (peer.port !== undefined && peer.transport === 'tcp') attributes[ATTR_SERVER_PORT] = peer.port;
  if (peer.callerPackage !== undefined) attributes[ATTR_SOCKSCOPE_CALLER_PACKAGE] = peer.callerPackage;
  if (peer.callerPackageVersion !== undefined) {
    attributes[ATTR_SOCKSCOPE_CALLER_PACKAGE_VERSION] = peer.callerPackageVersion;
  }
  return tracer.startSpan(
    CONNECT_NAMES[peer.transport] ?? `${peer.transport} connect`,
    { kind: SpanKind.CLIENT, attributes, startTime: startMs },
    ctx,
  );
}

/** The connect phase's events, as they happen. */
export function recordLookup(span: Span, address: unknown): void {
  span.addEvent('dns.lookup', { [ATTR_NETWORK_PEER_ADDRESS]: String(address) });
}

export function recordConnect(span: Span): void {
  span.addEvent('connect');
}

export function recordTlsHandshake(span: Span, s: TlsSession): void {
  setTlsAttributes(span, s);
  span.addEvent('tls.handshake');
}

/** The ends of a connected socket, as Node reports them. */
export interface SocketEnds {
  localAddress?: string;
  localPort?: number;
  remoteFamily?: string;
}

/** Once connected: the address actually connected to and the local end. */
export function setPeerAttributes(span: Span, peer: PeerInfo, s: SocketEnds): void {
  if (peer.peerAddress !== undefined) span.setAttribute(ATTR_NETWORK_PEER_ADDRESS, peer.peerAddress);
  if (peer.peerPort !== undefined) span.setAttribute(ATTR_NETWORK_PEER_PORT, peer.peerPort);
  if (s.localAddress !== undefined) span.setAttribute(ATTR_NETWORK_LOCAL_ADDRESS, s.localAddress);
  if (s.localPort !== undefined) span.setAttribute(ATTR_NETWORK_LOCAL_PORT, s.localPort);
  const fam = s.remoteFamily;
  // The semantic-conventions values, without a toLowerCase() string per connection.
  if (fam === 'IPv4') span.setAttribute(ATTR_NETWORK_TYPE, 'ipv4');
  else if (fam === 'IPv6') span.setAttribute(ATTR_NETWORK_TYPE, 'ipv6');
}

/** What a `TLSSocket` tells about its session once the handshake is done. */
export interface TlsSession {
  getProtocol?: () => string | null;
  getCipher?: () => { standardName?: string; name?: string } | undefined;
  servername?: string | false;
  alpnProtocol?: string | false | null;
}

export function setTlsAttributes(span: Span, s: TlsSession): void {
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

/** A connection's totals at close, as counted by the tap and by the socket itself. */
export interface ConnectionTotals {
  bytesSent: number;
  bytesReceived: number;
  exchanges: number;
  heartbeats: number;
  /** The socket's own counters (`bytesWritten`, `bytesRead`). */
  socketWritten: number;
  socketRead: number;
}

/** How the socket ended, for the span's status. */
export interface ConnectionEnd {
  error: unknown;
  /** It finished connecting (and its TLS handshake). */
  connected: boolean;
  /** An exchange was still waiting for (part of) its answer. */
  midExchange: boolean;
}

/** Writes the totals and how the socket ended, then ends the span. */
export function endConnectionSpan(span: Span, t: ConnectionTotals, end: ConnectionEnd): void {
  if (span.isRecording()) {
    let sent = t.bytesSent;
    let received = t.bytesReceived;
    if (sent === 0 && received === 0 && (t.socketWritten > 0 || t.socketRead > 0)) {
      // Node's native code consumed this socket (HTTP/2 session): no exchange was visible here.
      span.setAttribute(sc.ATTR_SOCKSCOPE_OPAQUE, true);
      sent = t.socketWritten;
      received = t.socketRead;
    }
    span.setAttribute(ATTR_SOCKSCOPE_BYTES_SENT, sent);
    span.setAttribute(ATTR_SOCKSCOPE_BYTES_RECEIVED, received);
    span.setAttribute(ATTR_SOCKSCOPE_EXCHANGES, t.exchanges);
    if (t.heartbeats > 0) span.setAttribute(sc.ATTR_SOCKSCOPE_HEARTBEATS, t.heartbeats);
    const err = end.error;
    if (err != null) {
      // A failure while connecting or in the middle of an exchange failed a call; an idle
      // keep-alive socket reset by its peer (undici's UND_ERR_SOCKET) is how it ended, not an error.
      if (!end.connected) failSpan(span, err, STATUS_CONNECT_FAILED);
      else if (end.midExchange) failSpan(span, err, STATUS_SOCKET_FAILED);
      else span.addEvent('close', { [sc.ATTR_ERROR_TYPE]: errorType(err) });
    }
  }
  span.end();
}
