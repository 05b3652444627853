import { TraceFlags, context, isSpanContextValid, trace } from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { errorMonitor as streamErrorMonitor } from 'node:events';
import type * as http2 from 'node:http2';
import { coveringScope } from '../coverage/upstream';
import type { ExchangeForCoverage } from '../coverage/rule';
import { emitExchangeSpan, linkTarget, type PeerInfo } from '../spans/build';
import { nowMs } from '../spans/clock';
import { STATUS_STREAM_FAILED } from '../spans/errors';
import { httpMethod } from '../protocols/http-methods';
import { FailureLog } from '../spans/failure-log';
import * as sc from '../spans/semconv';
import { peerKeys } from '../spans/server-key';
import { Exchange } from './exchange';
import type { SocketTap } from './socket-tap';
import type { TapServices, TapSettings } from './tap-settings';

/** What the HTTP/2 tap needs from the running instrumentation (undefined while none is enabled). */
export interface Http2TapDeps {
  settings(): TapSettings | undefined;
  services(): TapServices | undefined;
  /** The tap of a session's socket, for its connection span link and caller package. */
  tapOfSession(session: object): SocketTap | undefined;
}

const H2 = { name: 'http', version: '2' };

const failures = new FailureLog('HTTP/2 stream left untraced');

/**
 * HTTP/2 client streams as exchanges. Node's native code reads and writes an HTTP/2 session's
 * socket itself, so no byte of it reaches `push` or `write`; one layer up, each
 * `ClientHttp2Session#request()` is a request/response round trip with a caller context.
 */
export function wrapRequest(deps: Http2TapDeps, original: (...args: any[]) => http2.ClientHttp2Stream) {
  return function request(this: http2.ClientHttp2Session, ...args: any[]): http2.ClientHttp2Stream {
    const stream = original.apply(this, args);
    try {
      observe(deps, this, stream, args[0]);
    } catch (e) {
      failures.report(e); // never let tracing disturb the request
    }
    return stream;
  };
}

function observe(
  deps: Http2TapDeps,
  session: http2.ClientHttp2Session,
  stream: http2.ClientHttp2Stream,
  headers: unknown,
): void {
  const s = deps.settings();
  const services = deps.services();
  if (s === undefined || services === undefined) return;
  // Metrics count every stream, sampled or not; spans follow `exchanges` and sampling.
  const counting = services.metrics.recording;
  if (s.exchanges === 'none' && !counting) return;
  const ctx = context.active();
  if (isTracingSuppressed(ctx)) return;
  const parentSpan = trace.getSpan(ctx);
  let parent = parentSpan?.spanContext();
  if (parent !== undefined && !isSpanContextValid(parent)) parent = undefined;
  const unsampled = parent !== undefined && (parent.traceFlags & TraceFlags.SAMPLED) === 0;
  const emit = !unsampled && s.exchanges !== 'none' && (parent !== undefined || !s.requireParentSpan);
  if (!emit && !counting) return;
  const h = (headers ?? {}) as Record<string, unknown>;
  const method = typeof h[':method'] === 'string' ? httpMethod(h[':method'] as string) : 'GET';
  const ex = new Exchange(ctx, parent, emit, unsampled ? undefined : coveringScope(parentSpan), nowMs());
  ex.judged = !unsampled;
  ex.request = {
    operation: method,
    phase: 'operation',
    attributes: { [sc.ATTR_HTTP_REQUEST_METHOD]: method },
  };
  ex.commands = 1;
  ex.responsesExpected = 1;
  const tap = deps.tapOfSession(session);
  const sock = session.socket as { remoteAddress?: string; remotePort?: number } | undefined;
  const peer: PeerInfo = tap?.peer ?? {
    transport: 'tcp',
    host: sock?.remoteAddress,
    port: sock?.remotePort,
    peerAddress: sock?.remoteAddress,
    peerPort: sock?.remotePort,
    callerPackage: undefined,
    callerPackageVersion: undefined,
  };
  // A session not connected yet whose socket sockscope does not tap names no server here.
  const servers = peerKeys(peer);
  const coverageView = (): ExchangeForCoverage => ({
    parentSpanId: parent?.spanId,
    startMs: ex.startMs,
    endMs: ex.endMs(),
    servers,
  });
  if (ex.judged) services.coverage.matchAtStart(ex, coverageView);
  let failure: unknown;
  stream.once('response', (resHeaders: http2.IncomingHttpHeaders) => {
    const status = Number(resHeaders[':status']);
    ex.lastByteMs = nowMs();
    if (Number.isFinite(status)) {
      ex.responseAttributes = { [sc.ATTR_HTTP_RESPONSE_STATUS_CODE]: status };
      if (status >= 500) ex.error = `http.${status}`;
    }
  });
  // errorMonitor observes without handling: an app that does not handle stream errors still crashes.
  stream.on(streamErrorMonitor, (err: unknown) => (failure = err));
  stream.once('close', () => {
    try {
      ex.lastByteMs = nowMs();
      ex.responsesReceived = 1;
      const coveredBy = ex.judged ? services.coverage.coverAtEnd(ex, coverageView) : undefined;
      const m = services.metrics;
      if (m.recording)
        m.countExchange(m.cells.group(peer, H2.name), ex, coveredBy, services.coverage.running);
      if (!emit || (s.exchanges === 'uncovered' && coveredBy !== undefined)) return;
      if (tap !== undefined) tap.exchanges++;
      const rst = (stream as { rstCode?: number }).rstCode;
      if (failure === undefined && rst !== undefined && rst !== 0) failure = { code: `NGHTTP2_${rst}` };
      emitExchangeSpan(
        services.tracer(),
        ex,
        peer,
        H2,
        coveredBy,
        linkTarget(tap?.connSpan),
        failure,
        STATUS_STREAM_FAILED,
      );
    } catch (e) {
      failures.report(e);
    }
  });
}
