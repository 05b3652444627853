/**
 * Test support: replays recorded chunks through the recognisers the way the core does (detect on
 * the first server chunk when the server spoke first, else on the first client chunk; then feed
 * that chunk and every later one) and returns a readable event list.
 */
import { detect } from '../../src/protocols';
import type { ProtocolParser, RequestInfo, ResponseInfo } from '../../src/protocols/types';
import type { RecordedChunk } from '../helpers/recording-proxy';

export interface Replay {
  protocol: string | undefined;
  parser: ProtocolParser | undefined;
  requests: RequestInfo[];
  responses: ResponseInfo[];
  /** `> OP` for a request (`> OP (oneway)`, `> OP (heartbeat)`), `<` / `< error` for a response. */
  events: string[];
}

export function replay(chunks: RecordedChunk[], port = 0, alpn?: string): Replay {
  const out: Replay = { protocol: undefined, parser: undefined, requests: [], responses: [], events: [] };
  let parser: ProtocolParser | undefined;
  let server: Buffer = Buffer.alloc(0);
  let triedClient = false;
  let triedServer = false;
  for (const c of chunks) {
    if (!parser) {
      // Like the core: one try on the server's first chunk when it spoke first, one on the
      // client's first chunk; never on later chunks.
      if (c.dir === 'server' && (triedServer || triedClient)) continue;
      if (c.dir === 'client' && triedClient) continue;
      if (c.dir === 'server') {
        triedServer = true;
        server = c.data.subarray(0, 256);
      } else triedClient = true;
      const input =
        c.dir === 'server'
          ? { client: Buffer.alloc(0), server, port, alpn }
          : { client: c.data.subarray(0, 256), server, port, alpn };
      const r = detect(input);
      if (!r) continue;
      parser = r.createParser(input);
      out.protocol = r.name;
      out.parser = parser;
    }
    if (c.dir === 'client') {
      for (const q of parser.onClientBytes(c.data)) {
        // Every parser classes every request (setup, operation, teardown, heartbeat).
        if (q.phase === undefined) throw new Error(`${out.protocol} request ${q.operation} has no phase`);
        out.requests.push(q);
        out.events.push(`> ${q.operation}${q.oneWay ? ' (oneway)' : ''}${q.heartbeat ? ' (heartbeat)' : ''}`);
      }
    } else {
      for (const s of parser.onServerBytes(c.data)) {
        out.responses.push(s);
        out.events.push(s.error ? `< ${s.error}` : '<');
      }
    }
  }
  return out;
}

/** Requests that expect a response (not one-way, not heartbeats). */
export function answered(r: Replay): RequestInfo[] {
  return r.requests.filter((q) => !q.oneWay && !q.heartbeat);
}

/** Splits a buffer into pieces of at most `n` bytes, to test chunk-boundary handling. */
export function split(b: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += n) out.push(b.subarray(i, i + n));
  return out;
}

/**
 * Re-chunks a recording into `n`-byte pieces per original chunk (order kept). The first chunk stays
 * whole: detection looks at it once, as the core does.
 */
export function rechunk(chunks: RecordedChunk[], n: number): RecordedChunk[] {
  return chunks.flatMap((c, i) => (i === 0 ? [c] : split(c.data, n).map((data) => ({ dir: c.dir, data }))));
}
