/**
 * WebSocket (RFC 6455), reached only through an HTTP/1.1 `101 Switching Protocols` with
 * `Upgrade: websocket` (see upgrade.ts): a connection never starts as WebSocket, so `detect()`
 * claims nothing on its own.
 *
 * Requests: each client frame that starts a message or is a control frame, named by its kind
 * (`TEXT`, `BINARY`, `CLOSE`, `PING`, `PONG`); a continuation frame is named by its message's kind
 * when server bytes arrived since the client last wrote (it then starts a new exchange, below).
 * Client frames must be masked (RFC 6455 5.1); an unmasked one, a reserved opcode or a malformed
 * length stops recognition. Only each frame's first header bytes are read: never a payload, mask
 * key or close reason.
 *
 * Exchanges: WebSocket has no request/response pairing, so the parser is unframed (`framed` is
 * false) and sockscope's idle timing defines the exchange: the client frames from one write up to
 * the next client write after server bytes arrived, ending at the last server byte before that
 * write, or after `exchangeIdleMs` of quiet. Server frames that arrive with no exchange open
 * (pushes) count on the connection only. Every frame is one-way: nothing is awaited.
 */
import type { Phase, ProtocolParser, Recogniser, RequestInfo, ResponseInfo } from './types';
import { NO_REQUESTS, NO_RESPONSES, add, parserFaults } from './base-parser';
import { FrameReader } from './frame-reader';

const OPCODES: Record<number, string | undefined> = {
  0x1: 'TEXT',
  0x2: 'BINARY',
  0x8: 'CLOSE',
  0x9: 'PING',
  0xa: 'PONG',
};
const CONTINUATION = 0x0;
/** Longest frame header: 2 bytes, a 64-bit extended length, a 4-byte mask key. */
const MAX_HEADER = 14;

/** One shared, frozen RequestInfo per frame kind. */
const REQUESTS = new Map<string, RequestInfo>(
  Object.values(OPCODES).map((op) => [
    op!,
    Object.freeze({ phase: phaseOf(op!), operation: op, oneWay: true }),
  ]),
);

/** PING and PONG keep the connection alive; CLOSE ends it; messages are operations. */
function phaseOf(op: string): Phase {
  return op === 'PING' || op === 'PONG' ? 'heartbeat' : op === 'CLOSE' ? 'teardown' : 'operation';
}

/** Total frame length from the header bytes held so far, -1 for more, -2 when malformed. */
function frameLength(h: Buffer, have: number): number {
  if (have < 2) return -1;
  const masked = (h[1] & 0x80) !== 0;
  const len7 = h[1] & 0x7f;
  const ext = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
  const header = 2 + ext + (masked ? 4 : 0);
  if (have < 2 + ext) return -1;
  let payload = len7;
  if (ext === 2) payload = h.readUInt16BE(2);
  else if (ext === 8) {
    const high = h.readUInt32BE(2);
    if (high > 0x1fffff) return -2; // beyond 2^53: not a real frame
    payload = high * 2 ** 32 + h.readUInt32BE(6);
  }
  return header + payload;
}

class WebSocketParser implements ProtocolParser {
  readonly protocol = 'websocket' as const;
  readonly version = '13';
  /** Always false: exchanges end by sockscope's idle timing (see the file comment). */
  readonly framed = false;
  /** The stream stopped making sense: report nothing more. */
  private lost = false;
  /** Server bytes arrived since the client last wrote. */
  private serverSpoke = false;
  /** Kind of the data message being sent in fragments, for its continuation frames. */
  private message: string | undefined = undefined;
  private reqs: RequestInfo[] | undefined = undefined;
  private readonly client = new FrameReader(MAX_HEADER, frameLength, (h) => this.clientFrame(h), undefined);

  private clientFrame(h: Buffer): void {
    const fin = (h[0] & 0x80) !== 0;
    const opcode = h[0] & 0x0f;
    if ((h[1] & 0x80) === 0) return void (this.lost = true); // a client frame must be masked
    let name: string | undefined;
    if (opcode === CONTINUATION) {
      if (this.message === undefined) return void (this.lost = true);
      if (this.serverSpoke) name = this.message;
      if (fin) this.message = undefined;
    } else {
      name = OPCODES[opcode];
      if (name === undefined) return void (this.lost = true); // reserved opcode: an unknown extension
      if (opcode < 0x8) {
        if (this.message !== undefined) return void (this.lost = true); // a new message mid-message
        if (!fin) this.message = name;
      } else if (!fin) return void (this.lost = true); // control frames are never fragmented
    }
    if (name !== undefined) this.reqs = add(this.reqs, REQUESTS.get(name)!);
  }

  onClientBytes(chunk: Buffer): RequestInfo[] {
    if (this.lost) return NO_REQUESTS;
    this.reqs = undefined;
    try {
      if (!this.client.feed(chunk)) this.lost = true;
    } catch {
      parserFaults.count++;
      this.lost = true;
    }
    this.serverSpoke = false;
    const out = this.reqs;
    this.reqs = undefined;
    return this.lost || out === undefined ? NO_REQUESTS : out;
  }

  onServerBytes(chunk: Buffer): ResponseInfo[] {
    if (chunk.length > 0) this.serverSpoke = true;
    return NO_RESPONSES;
  }
}

/** The WebSocket recogniser: created by the HTTP parser's upgrade, never by detection. */
export const websocket: Recogniser = {
  name: 'websocket',
  detect() {
    return false;
  },
  createParser() {
    return new WebSocketParser();
  },
};
