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
import { ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_SYSTEM } from '../semconv';
import { BaseParser, LineScanner, add, startsWithAscii } from './util';

const VERBS = new Set(['CONNECT', 'PUB', 'HPUB', 'SUB', 'UNSUB', 'PING', 'PONG']);
const VERBOSE = '"verbose":true';
const MAX_LINE = 1024 * 1024; // CONNECT can carry a JWT

function detect(input: DetectInput): boolean {
  return startsWithAscii(input.server, 'INFO ') || startsWithAscii(input.server, 'INFO\t');
}

class NatsParser extends BaseParser {
  readonly protocol = 'nats' as const;
  private readonly cline = new LineScanner(MAX_LINE);
  private readonly sline = new LineScanner(MAX_LINE);
  private cskip = 0;
  private sskip = 0;
  private verbose = false;
  /** Matcher state for `"verbose":true` inside the CONNECT line. */
  private match = 0;
  private pending = 0;

  protected client(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && this.framed) {
      if (this.cskip > 0) {
        const n = Math.min(this.cskip, chunk.length - i);
        this.cskip -= n;
        i += n;
        continue;
      }
      const start = i;
      const r = this.cline.scan(chunk, i);
      if (this.cline.firstLen >= 7 && this.cline.firstIs('CONNECT'))
        this.scanVerbose(chunk, start, r < 0 ? chunk.length : r);
      if (r === -2) return this.giveUp();
      if (r === -1) break;
      i = r;
      this.clientLine();
      this.cline.reset();
      this.match = 0;
    }
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
      this.cskip = l.lastNum + 2; // payload and its CRLF
    }
    const heartbeat = verb === 'PING' || verb === 'PONG';
    const info: RequestInfo = {
      operation: verb,
      attributes: { [ATTR_MESSAGING_SYSTEM]: 'nats', [ATTR_MESSAGING_OPERATION_NAME]: verb },
    };
    if (heartbeat) info.heartbeat = true;
    else if (this.verbose) this.pending++;
    else info.oneWay = true;
    this.reqs = add(this.reqs, info);
  }

  protected server(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && this.framed) {
      if (this.sskip > 0) {
        const n = Math.min(this.sskip, chunk.length - i);
        this.sskip -= n;
        i += n;
        continue;
      }
      const r = this.sline.scan(chunk, i);
      if (r === -2) return this.giveUp();
      if (r === -1) break;
      i = r;
      this.serverLine();
      this.sline.reset();
    }
  }

  private serverLine(): void {
    const l = this.sline;
    if (l.tokens === 0) return;
    if (l.firstIs('MSG') || l.firstIs('HMSG')) {
      if (l.lastNum < 0) return void this.giveUp();
      this.sskip = l.lastNum + 2;
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
