import {
  SpanKind,
  SpanStatusCode,
  type Attributes,
  type Link,
  type Span,
  type SpanContext,
  type Tracer,
} from '@opentelemetry/api';
import type { ExchangeRecord } from './exchange-record';
import { digest, digestString } from './request-hash';
import { STATUS_SOCKET_FAILED, failSpan, type FailureStatus } from './errors';
import * as sc from './semconv';

/** What every span about one socket says about its peer; computed once per connection. */
export interface PeerInfo {
  transport: 'tcp' | 'unix';
  /** `server.address`: host name as the caller gave it, or the unix path. */
  host: string | undefined;
  port: number | undefined;
  peerAddress: string | undefined;
  peerPort: number | undefined;
  callerPackage: string | undefined;
  /** The caller package's installed version, when its package.json gave one. */
  callerPackageVersion: string | undefined;
}

/**
 * Creates and ends the span of an exchange that has just ended, with its real start time.
 * `link` is the socket's connection span, when it has one; `failure` an error that failed the
 * exchange (the socket's, or an HTTP/2 stream's), recorded as `error.type` and `failureStatus`.
 */
export function emitExchangeSpan(
  tracer: Tracer,
  ex: ExchangeRecord,
  peer: PeerInfo,
  protocol: { name: string; version: string | undefined } | undefined,
  coveredBy: string | undefined,
  link: SpanContext | undefined,
  failure: unknown,
  failureStatus: FailureStatus = STATUS_SOCKET_FAILED,
): void {
  // Literal keys (the same names as in semconv.ts, checked by test/tap/spans.test.ts): V8 builds
  // this object from a boilerplate instead of adding computed keys one by one, once per exchange.
  const attributes: Attributes = {
    'sockscope.kind': 'exchange',
    'network.transport': peer.transport,
    'sockscope.bytes_sent': ex.bytesSent,
    'sockscope.bytes_received': ex.bytesReceived,
    'sockscope.covered': coveredBy !== undefined,
    // Readers trust a verdict made with both rules on the exact clock, and re-derive the others.
    'sockscope.coverage.rules': ex.siblingRuleApplied ? 'parent,sibling' : 'parent',
    // The first request names the exchange, so it decides the phase too.
    'sockscope.phase': ex.request?.phase ?? 'operation',
  };
  if (peer.host !== undefined) attributes[sc.ATTR_SERVER_ADDRESS] = peer.host;
  if (peer.port !== undefined && peer.transport === 'tcp') attributes[sc.ATTR_SERVER_PORT] = peer.port;
  if (peer.peerAddress !== undefined) attributes[sc.ATTR_NETWORK_PEER_ADDRESS] = peer.peerAddress;
  if (peer.peerPort !== undefined) attributes[sc.ATTR_NETWORK_PEER_PORT] = peer.peerPort;
  if (peer.callerPackage !== undefined) attributes[sc.ATTR_SOCKSCOPE_CALLER_PACKAGE] = peer.callerPackage;
  if (peer.callerPackageVersion !== undefined) {
    attributes[sc.ATTR_SOCKSCOPE_CALLER_PACKAGE_VERSION] = peer.callerPackageVersion;
  }
  if (coveredBy !== undefined) attributes[sc.ATTR_SOCKSCOPE_COVERED_BY] = coveredBy;
  let name = `${peer.transport} exchange`;
  if (protocol !== undefined) {
    attributes[sc.ATTR_NETWORK_PROTOCOL_NAME] = protocol.name;
    if (protocol.version !== undefined) attributes[sc.ATTR_NETWORK_PROTOCOL_VERSION] = protocol.version;
    const op = ex.request?.operation;
    name = op !== undefined ? `${protocol.name} ${op}` : `${protocol.name} exchange`;
    if (op !== undefined) attributes[sc.ATTR_SOCKSCOPE_OPERATION] = op;
    if (ex.request?.attributes !== undefined) Object.assign(attributes, ex.request.attributes);
    if (ex.responseAttributes !== undefined) Object.assign(attributes, ex.responseAttributes);
    if (ex.commands > 1) attributes[sc.ATTR_SOCKSCOPE_COMMAND_COUNT] = ex.commands;
    const shape = ex.request?.shape;
    if (shape !== undefined && ex.hash !== undefined) {
      attributes[sc.ATTR_SOCKSCOPE_STATEMENT_HASH] = digestString(shape);
    }
  }
  if (ex.hash !== undefined) attributes[sc.ATTR_SOCKSCOPE_REQUEST_HASH] = digest(ex.hash);
  const links: Link[] | undefined = link !== undefined ? [{ context: link }] : undefined;
  const span = tracer.startSpan(
    name,
    { kind: SpanKind.CLIENT, startTime: ex.startMs, attributes, links },
    ex.ctx,
  );
  if (ex.error !== undefined) {
    span.setAttribute(sc.ATTR_ERROR_TYPE, ex.error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: ex.error });
  } else if (failure !== undefined) {
    failSpan(span, failure, failureStatus);
  }
  span.end(Math.max(ex.startMs, ex.endMs()));
}

/** The span context to link exchanges to, when the connection span is recording. */
export function linkTarget(span: Span | undefined): SpanContext | undefined {
  return span !== undefined && span.isRecording() ? span.spanContext() : undefined;
}
