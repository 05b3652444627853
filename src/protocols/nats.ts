/**
 * NATS client protocol.
 *
 * The server speaks first (`INFO {...}`). Requests: each client line, named by its verb (`CONNECT`,
 * `PUB`, `HPUB`, `SUB`, `UNSUB`); PING and PONG are heartbeats. With the default `verbose: false`
 * the server acknowledges nothing, so all of them are one-way and there are no responses: a
 * request/reply call is a PUB followed by a MSG delivery on an inbox, and deliveries (`MSG`, `HMSG`)
 * are never responses. With `"verbose":true` in CONNECT, each non-heartbeat line is answered by
 * `+OK` or `-ERR` (→ `nats.ERR`). Payloads are skipped by their declared size; subjects, reply
 * subjects, queue groups, headers and CONNECT's credentials are never recorded.
 */
import type { DetectInput, Recogniser, RequestInfo } from './types';
import { ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_SYSTEM } from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { startsWithAscii } from './bytes';
import { LineStream } from './line-stream';

const VERBS = new Set(['CONNECT', 'PUB', 'HPUB', 'SUB', 'UNSUB', 'PING', 'PONG']);
const VERBOSE = '"verbose":true';
const MAX_LINE = 1024 * 1024; // CONNECT can carry a JWT

function detect(input: DetectInput): boolean {
  return startsWithAscii(input.server, 'INFO ') || startsWithAscii(input.server, 'INFO\t');
}

class NatsParser extends BaseParser {
  readonly protocol = 'nats' as const;
  // Payloads (PUB/HPUB from the client, MSG/HMSG from the server) are skipped by count.
  private readonly cin = new LineStream(
    MAX_LINE,
    this,
    () => {
      this.clientLine();
      this.match = 0;
    },
    undefined,
    (chunk, from, to) => {
      if (this.cline.firstLen >= 7 && this.cline.firstIs('CONNECT')) this.scanVerbose(chunk, from, to);
    },
  );
  private readonly sin = new LineStream(MAX_LINE, this, () => this.serverLine());
  private readonly cline = this.cin.line;
  private readonly sline = this.sin.line;
  private verbose = false;
  /** Matcher state for `"verbose":true` inside the CONNECT line. */
  private match = 0;
  private pending = 0;

  protected client(chunk: Buffer): void {
    if (!this.cin.feed(chunk)) this.giveUp();
  }

  /** Looks for `"verbose":true` in the CONNECT JSON, across chunks, without keeping the line. */
  private scanVerbose(chunk: Buffer, from: number, to: number): void {
    for (let k = from; k < to && !this.verbose; k++) {
      const c = chunk[k];
      if (c === VERBOSE.charCodeAt(this.match)) {
        if (++this.match === VERBOSE.length) this.verbose = true;
      } else this.match = c === 0x22 ? 1 : 0;
    }
  }

  private clientLine(): void {
    const l = this.cline;
    if (l.tokens === 0) return;
    const verb = l.verb(8);
    if (verb === undefined || !VERBS.has(verb)) return void this.giveUp();
    if (verb === 'PUB' || verb === 'HPUB') {
      if (l.lastNum < 0) return void this.giveUp();
      this.cin.skip = l.lastNum + 2; // payload and its CRLF
    }
    const heartbeat = verb === 'PING' || verb === 'PONG';
    const info: RequestInfo = {
      phase: heartbeat ? 'heartbeat' : verb === 'CONNECT' ? 'setup' : 'operation',
      operation: verb,
      attributes: { [ATTR_MESSAGING_SYSTEM]: 'nats', [ATTR_MESSAGING_OPERATION_NAME]: verb },
    };
    if (heartbeat) info.heartbeat = true;
    else if (this.verbose) this.pending++;
    else info.oneWay = true;
    this.reqs = add(this.reqs, info);
  }

  protected server(chunk: Buffer): void {
    if (!this.sin.feed(chunk)) this.giveUp();
  }

  private serverLine(): void {
    const l = this.sline;
    if (l.tokens === 0) return;
    if (l.firstIs('MSG') || l.firstIs('HMSG')) {
      if (l.lastNum < 0) return void this.giveUp();
      this.sin.skip = l.lastNum + 2;
      return;
    }
    const ok = l.firstIs('+OK');
    const err = l.firstIs('-ERR');
    if ((ok || err) && this.pending > 0) {
      this.pending--;
      this.resps = add(this.resps, err ? { error: 'nats.ERR' } : {});
      return;
    }
    if (ok || err || l.firstIs('INFO') || l.firstIs('PING') || l.firstIs('PONG')) return;
    this.giveUp();
  }
}

export const nats: Recogniser = {
  name: 'nats',
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new NatsParser();
  },
};
