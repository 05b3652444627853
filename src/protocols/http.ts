/**
 * HTTP/1.0 and HTTP/1.1 (plus recognition of HTTP/2, left unframed).
 *
 * Requests: each request line, named by its method (`GET`, `POST`; a method outside semconv's
 * known ones, or in another case, is `_OTHER`: http-methods.ts),
 * with `http.request.method` and `network.protocol.version` (`1.1`, `1.0`). Bodies are skipped by
 * Content-Length or chunked framing. Responses: each final response, at its last body byte (1xx
 * interim responses are not final; responses to HEAD and 204/304 have no body), with
 * `http.response.status_code`; 5xx → `http.<code>`. A response with no length (read until close),
 * `Connection: close`, a 101 upgrade or a successful CONNECT ends framing (after reporting that
 * response when its end is known). Only the method, version, status code and the framing headers'
 * values (length, `chunked`, `close`) are read; no URL, header value or body is recorded.
 *
 * HTTP/2 (the `PRI * HTTP/2.0` preface or ALPN `h2`) is recognised as version `2` and unframed:
 * its frames multiplex streams, so exchanges fall back to idle timing.
 */
import type { DetectInput, Recogniser } from './types';
import {
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_NETWORK_PROTOCOL_VERSION,
} from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { httpMethod } from './http-methods';
import { MAX_PENDING } from './limits';
import { OTHER } from './other';
import { UpgradableParser } from './upgrade';
import { CR, LF, lower, startsWithAscii } from './bytes';
import { LineScanner } from './line-scanner';

/** Methods that mark a connection as HTTP/1 at its first bytes (naming uses `httpMethod()`). */
const METHODS = new Set([
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'CONNECT',
  'OPTIONS',
  'TRACE',
  'PATCH',
  'PROPFIND',
  'PROPPATCH',
  'MKCOL',
  'COPY',
  'MOVE',
  'LOCK',
  'UNLOCK',
  'REPORT',
  'SEARCH',
  'PURGE',
  'QUERY',
]);
const PREFACE = 'PRI * HTTP/2.0\r\n';
const MAX_HEAD = 64 * 1024;

function detect(input: DetectInput): boolean {
  if (input.alpn === 'h2' || input.alpn === 'http/1.1' || input.alpn === 'http/1.0') return true;
  const c = input.client;
  if (startsWithAscii(c, 'PRI * HTTP/2.0')) return true;
  let i = 0;
  while (i < c.length && i < 10 && c[i] >= 0x41 && c[i] <= 0x5a) i++;
  if (i === 0 || i >= c.length || c[i] !== 0x20) return false;
  if (!METHODS.has(c.toString('latin1', 0, i))) return false;
  const t = c[i + 1];
  // origin-form `/`, asterisk-form `*`, absolute-form `http...`, or CONNECT's authority-form.
  return t === 0x2f || t === 0x2a || t === 0x68 || (t !== undefined && t > 0x20 && c[0] === 0x43);
}

function isH2(input: DetectInput): boolean {
  return input.alpn === 'h2' || startsWithAscii(input.client, PREFACE.slice(0, 14));
}

/** Incremental reader of a message head: start line, then headers up to the empty line. */
class HeadReader {
  readonly start = new LineScanner(MAX_HEAD);
  /** 0 start line, 1 header name, 2 header value, 3 rest of line, 4 done */
  state = 0;
  private readonly name = Buffer.alloc(20);
  private nameLen = 0;
  private nameOver = false;
  private readonly value = Buffer.alloc(48);
  private valueLen = 0;
  private which = 0; // 1 content-length, 2 transfer-encoding, 3 connection, 4 upgrade
  private size = 0;
  contentLength = -1;
  badLength = false;
  chunked = false;
  close = false;
  keepAlive = false;
  upgrade = false;
  /** The Upgrade header named exactly `websocket`. */
  upgradeWebsocket = false;

  reset(): void {
    this.start.reset();
    this.state = 0;
    this.nameLen = 0;
    this.nameOver = false;
    this.size = 0;
    this.contentLength = -1;
    this.badLength = false;
    this.chunked = false;
    this.close = false;
    this.keepAlive = false;
    this.upgrade = false;
    this.upgradeWebsocket = false;
  }

  /**
   * Feed from `i`. Returns the index after the head once it is complete, -1 when more is needed,
   * -2 when it is malformed or too large. `onStartLine` runs when the start line is complete.
   */
  feed(chunk: Buffer, i: number, onStartLine: () => void): number {
    const len = chunk.length;
    while (this.state === 0) {
      const r = this.start.scan(chunk, i);
      if (r < 0) return r;
      i = r;
      if (this.start.tokens === 0) {
        this.start.reset(); // tolerate stray CRLFs between messages
        continue;
      }
      this.size = this.start.lineLength;
      this.state = 1;
      this.nameLen = 0;
      this.nameOver = false;
      onStartLine();
    }
    while (i < len) {
      const c = chunk[i++];
      if (++this.size > MAX_HEAD) return -2;
      if (this.state === 1) {
        if (c === 0x3a /* : */) {
          this.which = this.nameOver ? 0 : this.headerKind();
          this.valueLen = 0;
          this.state = this.which === 0 ? 3 : 2;
        } else if (c === LF) {
          if (this.nameLen === 0) {
            this.state = 4;
            return i;
          }
          return -2; // a header line without a colon
        } else if (c !== CR) {
          if (this.nameLen < this.name.length) this.name[this.nameLen++] = lower(c);
          else this.nameOver = true;
        }
      } else if (this.state === 2) {
        if (c === LF) {
          this.headerDone();
          this.state = 1;
          this.nameLen = 0;
          this.nameOver = false;
        } else if (c !== CR && !(this.valueLen === 0 && (c === 0x20 || c === 0x09))) {
          if (this.valueLen < this.value.length) this.value[this.valueLen++] = lower(c);
          else if (this.which === 1) this.badLength = true;
        }
      } else if (c === LF) {
        this.state = 1;
        this.nameLen = 0;
        this.nameOver = false;
      }
    }
    return -1;
  }

  private headerKind(): number {
    const n = this.nameLen;
    const b = this.name;
    const is = (s: string): boolean => n === s.length && b.toString('latin1', 0, n) === s;
    if (n === 14 && is('content-length')) return 1;
    if (n === 17 && is('transfer-encoding')) return 2;
    if (n === 10 && is('connection')) return 3;
    if (n === 7 && is('upgrade')) return 4;
    return 0;
  }

  private headerDone(): void {
    let end = this.valueLen;
    while (end > 0 && (this.value[end - 1] === 0x20 || this.value[end - 1] === 0x09)) end--;
    const v = this.value.toString('latin1', 0, end);
    switch (this.which) {
      case 1: {
        let n = 0;
        for (let k = 0; k < end; k++) {
          const d = this.value[k] - 0x30;
          if (d < 0 || d > 9) {
            this.badLength = true;
            return;
          }
          n = n * 10 + d;
        }
        if (end === 0 || (this.contentLength >= 0 && this.contentLength !== n)) this.badLength = true;
        this.contentLength = n;
        return;
      }
      case 2:
        this.chunked = v.endsWith('chunked');
        return;
      case 3:
        if (v.includes('close')) this.close = true;
        if (v.includes('keep-alive')) this.keepAlive = true;
        return;
      case 4:
        this.upgrade = true;
        this.upgradeWebsocket = v === 'websocket';
        return;
    }
  }
}

/** Skips a message body: by length, or by chunked framing (sizes, data, trailers). */
class BodyReader {
  /** 0 none, 1 by length, 2 chunked */
  mode = 0;
  private left = 0;
  /** chunked: 0 size line, 1 extension/rest of size line, 2 data, 3 CRLF after data, 4 trailers */
  private cstate = 0;
  private size = 0;
  private digits = 0;
  private lineLen = 0;

  byLength(n: number): void {
    this.mode = n > 0 ? 1 : 0;
    this.left = n;
  }

  chunkedBody(): void {
    this.mode = 2;
    this.cstate = 0;
    this.size = 0;
    this.digits = 0;
  }

  /** Returns the index after the body once it is complete, -1 when more is needed, -2 on error. */
  feed(chunk: Buffer, i: number): number {
    const len = chunk.length;
    if (this.mode === 0) return i;
    if (this.mode === 1) {
      const n = Math.min(this.left, len - i);
      this.left -= n;
      i += n;
      if (this.left > 0) return -1;
      this.mode = 0;
      return i;
    }
    while (i < len) {
      if (this.cstate === 2) {
        const n = Math.min(this.size, len - i);
        this.size -= n;
        i += n;
        if (this.size === 0) this.cstate = 3;
        continue;
      }
      const c = chunk[i++];
      switch (this.cstate) {
        case 0: {
          const h = hex(c);
          if (h >= 0) {
            if (++this.digits > 12) return -2;
            this.size = this.size * 16 + h;
          } else if (c === 0x3b /* ; */ || c === 0x20 || c === 0x09 || c === CR) {
            this.cstate = 1;
          } else if (c === LF) {
            if (!this.sizeLineDone()) return -2;
          } else return -2;
          break;
        }
        case 1:
          if (c === LF && !this.sizeLineDone()) return -2;
          break;
        case 3:
          if (c === LF) {
            this.cstate = 0;
            this.size = 0;
            this.digits = 0;
          } else if (c !== CR) return -2;
          break;
        case 4:
          if (c === LF) {
            if (this.lineLen === 0) {
              this.mode = 0;
              return i;
            }
            this.lineLen = 0;
          } else if (c !== CR && ++this.lineLen > MAX_HEAD) return -2;
          break;
      }
    }
    return -1;
  }

  private sizeLineDone(): boolean {
    if (this.digits === 0) return false;
    if (this.size === 0) {
      this.cstate = 4;
      this.lineLen = 0;
    } else this.cstate = 2;
    return true;
  }
}

function hex(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

const enum Pend {
  Normal = 0,
  Head = 1,
  Connect = 2,
}

export class Http1Parser extends BaseParser {
  readonly protocol = 'http' as const;
  private readonly reqHead = new HeadReader();
  private readonly reqBody = new BodyReader();
  private readonly resHead = new HeadReader();
  private readonly resBody = new BodyReader();
  /** 0 head, 1 body */
  private reqState = 0;
  private resState = 0;
  private readonly pending: Pend[] = [];
  private status = 0;
  private lastClose = false;
  /** The client asked to switch protocols (Upgrade/CONNECT): its later bytes may not be HTTP. */
  private clientHold = false;
  /**
   * Set when the server accepted a protocol switch: `websocket` for a 101 with `Upgrade: websocket`,
   * `other` for any other 101 or a successful CONNECT. `switchAt` is where in the server chunk that
   * response's head ended (the new protocol's first byte).
   */
  switchTo: 'websocket' | 'other' | undefined = undefined;
  switchAt = 0;
  private readonly onRequestLine = (): void => this.requestLine();
  private readonly onStatusLine = (): void => {};

  private requestLine(): void {
    const s = this.reqHead.start;
    const version = s.lastIs('http/1.1') ? '1.1' : s.lastIs('http/1.0') ? '1.0' : undefined;
    if (version === undefined || s.tokens !== 3) return void this.giveUp();
    const method = s.firstTooLong ? OTHER : httpMethod(s.first.toString('latin1', 0, s.firstLen));
    this.version = version;
    this.reqs = add(this.reqs, {
      phase: 'operation',
      operation: method,
      attributes: { [ATTR_HTTP_REQUEST_METHOD]: method, [ATTR_NETWORK_PROTOCOL_VERSION]: version },
    });
    if (this.pending.length >= MAX_PENDING) return void this.giveUp();
    this.pending.push(method === 'HEAD' ? Pend.Head : method === 'CONNECT' ? Pend.Connect : Pend.Normal);
  }

  protected client(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && this.framed && !this.clientHold) {
      if (this.reqState === 0) {
        const r = this.reqHead.feed(chunk, i, this.onRequestLine);
        if (r === -2) return this.giveUp();
        if (r === -1) break;
        i = r;
        const h = this.reqHead;
        if (h.badLength) return this.giveUp();
        if (h.chunked) this.reqBody.chunkedBody();
        else this.reqBody.byLength(Math.max(0, h.contentLength));
        if (h.upgrade || this.pending[this.pending.length - 1] === Pend.Connect) this.clientHold = true;
        this.reqHead.reset();
        this.reqState = 1;
      }
      const r = this.reqBody.feed(chunk, i);
      if (r === -2) return this.giveUp();
      if (r === -1) break;
      i = r;
      this.reqState = 0;
    }
  }

  protected server(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && this.framed) {
      if (this.resState === 0) {
        const r = this.resHead.feed(chunk, i, this.onStatusLine);
        if (r === -2) return this.giveUp();
        if (r === -1) break;
        i = r;
        if (!this.responseHead()) {
          if (this.switchTo !== undefined) this.switchAt = i;
          break;
        }
      }
      if (this.resState === 1) {
        const r = this.resBody.feed(chunk, i);
        if (r === -2) return this.giveUp();
        if (r === -1) break;
        i = r;
        this.responseDone();
      }
    }
  }

  /** Decide how the response body is framed. Returns false when framing ended. */
  private responseHead(): boolean {
    const h = this.resHead;
    const s = h.start;
    const status = s.nums[1];
    const v11 = s.firstIs('HTTP/1.1');
    const v10 = s.firstIs('HTTP/1.0');
    const pend = this.pending[0];
    const { close, keepAlive, badLength, chunked, contentLength, upgradeWebsocket } = h;
    h.reset();
    if ((!v11 && !v10) || status < 100 || status > 999) return !!this.giveUp();
    if (pend === undefined) return !!this.giveUp();
    this.status = status;
    if (status < 200 && status !== 101) return true; // interim: the final response follows
    this.lastClose = close || (!v11 && !keepAlive);
    if (status === 101 || (pend === Pend.Connect && status < 300)) {
      this.report();
      this.switchTo = status === 101 && upgradeWebsocket && pend === Pend.Normal ? 'websocket' : 'other';
      return !!this.giveUp(); // the connection now carries another protocol
    }
    if (this.clientHold) this.clientHold = false; // upgrade refused: still HTTP
    if (pend === Pend.Head || status === 204 || status === 304) this.resBody.byLength(0);
    else if (badLength) return !!this.giveUp();
    else if (chunked) this.resBody.chunkedBody();
    else if (contentLength >= 0) this.resBody.byLength(contentLength);
    else return !!this.giveUp(); // delimited by close: its end is unknowable here
    this.resState = 1;
    return true;
  }

  private responseDone(): void {
    this.resState = 0;
    this.report();
    if (this.lastClose) this.giveUp();
  }

  private report(): void {
    this.pending.shift();
    const status = this.status;
    const attributes = { [ATTR_HTTP_RESPONSE_STATUS_CODE]: status };
    this.resps = add(this.resps, status >= 500 ? { error: `http.${status}`, attributes } : { attributes });
  }
}

/** HTTP/2: recognised for naming only; frames multiplex streams, so no per-exchange framing. */
class Http2Parser extends BaseParser {
  readonly protocol = 'http' as const;
  override version = '2';
  override framed = false;
  protected client(): void {}
  protected server(): void {}
}

export const http: Recogniser = {
  name: 'http',
  clientStartsWith: (b) => b >= 0x41 && b <= 0x5a /* a method or PRI, upper case */,
  detect(input) {
    return detect(input);
  },
  createParser(input) {
    return isH2(input) ? new Http2Parser() : new UpgradableParser(new Http1Parser());
  },
};
