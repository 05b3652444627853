/**
 * PostgreSQL frontend/backend protocol 3.0.
 *
 * Requests: the StartupMessage (operation `STARTUP`, answered by the first ReadyForQuery after
 * authentication), each simple `Q` query, and each extended-protocol batch (Parse/Bind/Describe/
 * Execute ... up to and including Sync), named by the first SQL keyword of its Parse; a batch that
 * runs a statement parsed earlier on this connection carries that Parse's keyword and shape (else
 * `EXECUTE`). Responses: each ReadyForQuery (`Z`). An ErrorResponse
 * marks the pending response with `postgresql.<SQLSTATE>`; a FATAL one ends it (the server closes).
 * Terminate (`X`) and CancelRequest are one-way. SSLRequest answered `S` (TLS follows) or any
 * unknown message type → unframed.
 */
import type { DetectInput, Phase, Recogniser, RequestInfo } from './types';
import { ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME } from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { OTHER } from './other';
import { isAlpha, isDigit } from './bytes';
import { FrameReader } from './frame-reader';
import { MAX_STATEMENTS } from './limits';
import { sqlKeyword, sqlShape } from './sql';

const PROTOCOL_3 = 0x00030000;
const SSL_REQUEST = 80877103;
const GSSENC_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;

function readI32(b: Buffer, o: number): number {
  return b.readInt32BE(o);
}

function detect(input: DetectInput): boolean {
  const c = input.client;
  if (c.length < 8) return false;
  const len = readI32(c, 0);
  const code = readI32(c, 4);
  if (code === PROTOCOL_3) return len >= 8 && len <= 10000;
  if (code === SSL_REQUEST || code === GSSENC_REQUEST) return len === 8;
  if (code === CANCEL_REQUEST) return len === 16;
  return false;
}

/** StartupMessage (with the authentication it starts) is setup; Terminate is teardown. */
function phaseOf(op: string): Phase {
  return op === 'STARTUP' ? 'setup' : op === 'TERMINATE' ? 'teardown' : 'operation';
}

function request(op: string, oneWay = false, shape?: string): RequestInfo {
  const attributes = { [ATTR_DB_SYSTEM_NAME]: 'postgresql', [ATTR_DB_OPERATION_NAME]: op };
  const phase = phaseOf(op);
  const r: RequestInfo = oneWay
    ? { phase, operation: op, attributes, oneWay }
    : { phase, operation: op, attributes };
  if (shape !== undefined) r.shape = shape;
  return r;
}

const EXECUTE = request('EXECUTE');

/** Where the SQL text starting at `o` ends: its NUL, or the end of the bytes held. */
function textEnd(h: Buffer, o: number, have: number): number {
  const nul = h.indexOf(0, o);
  return nul >= 0 && nul < have ? nul : have;
}

/** The NUL-terminated string at `o`, or undefined when it runs past the bytes held. */
function cString(h: Buffer, o: number, have: number): string | undefined {
  let i = o;
  while (i < have && h[i] !== 0) i++;
  return i < have ? h.toString('latin1', o, i) : undefined;
}

// Client message types that are part of an extended-protocol batch ending at Sync.
const EXTENDED = new Set([
  0x50 /* P */, 0x42 /* B */, 0x44 /* D */, 0x45 /* E */, 0x43 /* C */, 0x48 /* H */,
]);
// Client message types that continue an earlier request rather than start one.
const CONTINUATION = new Set([0x70 /* p password/SASL */, 0x64 /* d CopyData */, 0x63 /* c */, 0x66 /* f */]);

class PostgresParser extends BaseParser {
  readonly protocol = 'postgresql' as const;
  override version = '3.0';
  /** The next client message is untyped (StartupMessage, SSLRequest, CancelRequest). */
  private untyped = true;
  /** An SSLRequest/GSSENCRequest is waiting for its one-byte answer. */
  private sslPending = false;
  /** An extended batch has begun and not yet been closed by Sync. */
  private inBatch = false;
  /** Statements parsed on this connection, by name (`''` is the unnamed one): their Parse request. */
  private readonly statements = new Map<string, RequestInfo>();
  /** First error seen for the response in progress. */
  private error: string | undefined;
  private readonly clientReader = new FrameReader(
    // Room for the start of the SQL text: its keyword names the request, its shape tells statements apart.
    320,
    (h, have) => {
      if (this.untyped) return have < 4 ? -1 : readI32(h, 0) >= 8 ? readI32(h, 0) : -2;
      if (have < 5) return -1;
      const n = readI32(h, 1);
      return n >= 4 ? n + 1 : -2;
    },
    (h, have) => this.clientMessage(h, have),
    undefined,
  );
  private readonly serverReader = new FrameReader(
    64,
    (h, have) => {
      if (have < 5) return -1;
      const n = readI32(h, 1);
      return n >= 4 ? n + 1 : -2;
    },
    undefined,
    (h, have) => this.serverMessage(h, have),
  );

  private clientMessage(h: Buffer, have: number): void {
    if (this.untyped) {
      const code = have >= 8 ? readI32(h, 4) : 0;
      if (code === PROTOCOL_3) {
        this.untyped = false;
        this.reqs = add(this.reqs, request('STARTUP'));
      } else if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
        this.sslPending = true; // the answer byte decides whether TLS follows
      } else if (code === CANCEL_REQUEST) {
        this.reqs = add(this.reqs, request('CANCEL', true));
      } else this.giveUp();
      return;
    }
    const type = h[0];
    if (type === 0x51 /* Q */) {
      const end = textEnd(h, 5, have);
      this.reqs = add(this.reqs, request(sqlKeyword(h, 5, end) ?? OTHER, false, sqlShape(h, 5, end)));
    } else if (type === 0x53 /* S Sync */) {
      if (!this.inBatch) this.reqs = add(this.reqs, request('SYNC'));
      this.inBatch = false;
    } else if (EXTENDED.has(type)) {
      // Every Parse is remembered (a batch can prepare several); the batch is named by its first message.
      const r =
        type === 0x50
          ? this.parseRequest(h, have)
          : this.inBatch
            ? undefined
            : this.executeRequest(type, h, have);
      if (!this.inBatch && r !== undefined) this.reqs = add(this.reqs, r);
      this.inBatch = true;
      if (type === 0x43 /* Close */ && h[5] === 0x53 /* S: a statement */) {
        const name = cString(h, 6, have);
        if (name !== undefined) this.statements.delete(name);
      }
    } else if (type === 0x58 /* X Terminate */) {
      this.reqs = add(this.reqs, request('TERMINATE', true));
    } else if (type === 0x46 /* F FunctionCall */) {
      this.reqs = add(this.reqs, request('FUNCTION_CALL'));
    } else if (!CONTINUATION.has(type)) {
      this.giveUp();
    }
  }

  /**
   * Parse: statement name (C string) then the query text; named by its first keyword. The request
   * is remembered under the statement's name, for the batches that execute it later.
   */
  private parseRequest(h: Buffer, have: number): RequestInfo {
    const name = cString(h, 5, have);
    if (name === undefined) return request(OTHER);
    const start = 5 + name.length + 1;
    const end = textEnd(h, start, have);
    const r = request(sqlKeyword(h, start, end) ?? OTHER, false, sqlShape(h, start, end));
    if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
    this.statements.set(name, r);
    return r;
  }

  /**
   * A batch that runs a statement parsed earlier: Bind (portal name, then statement name) or
   * Describe of a statement names it by that statement's request (operation and shape, so every
   * execution carries the same `sockscope.statement.hash`); otherwise, or when the statement is
   * not known, `EXECUTE`.
   */
  private executeRequest(type: number, h: Buffer, have: number): RequestInfo {
    let name: string | undefined;
    if (type === 0x42 /* Bind */) {
      const portal = cString(h, 5, have);
      if (portal !== undefined) name = cString(h, 5 + portal.length + 1, have);
    } else if (type === 0x44 /* Describe */ && h[5] === 0x53 /* S */) {
      name = cString(h, 6, have);
    }
    return (name !== undefined ? this.statements.get(name) : undefined) ?? EXECUTE;
  }

  private serverMessage(h: Buffer, have: number): void {
    const type = h[0];
    if (type === 0x5a /* Z */) {
      this.resps = add(this.resps, this.error === undefined ? {} : { error: this.error });
      this.error = undefined;
    } else if (type === 0x45 /* E */) {
      const { code, fatal } = errorFields(h, have);
      if (this.error === undefined) this.error = `postgresql.${code ?? 'error'}`;
      if (fatal) {
        // The server closes after a FATAL error (e.g. failed authentication): no ReadyForQuery.
        this.resps = add(this.resps, { error: this.error });
        this.error = undefined;
      }
    }
  }

  protected client(chunk: Buffer): void {
    if (!this.clientReader.feed(chunk)) this.giveUp();
  }

  protected server(chunk: Buffer): void {
    let start = 0;
    if (this.sslPending) {
      if (chunk.length === 0) return;
      this.sslPending = false;
      if (chunk[0] !== 0x4e /* N */) return void this.giveUp(); // 'S'/'G': encrypted from here on
      start = 1;
      if (chunk.length === 1) return;
    }
    if (!this.serverReader.feed(start === 0 ? chunk : chunk.subarray(start))) this.giveUp();
  }
}

/** Reads the SQLSTATE (`C`) and severity (`V`/`S`) fields from an ErrorResponse prefix. */
function errorFields(h: Buffer, have: number): { code: string | undefined; fatal: boolean } {
  let i = 5;
  let code: string | undefined;
  let fatal = false;
  while (i < have && h[i] !== 0) {
    const field = h[i++];
    const start = i;
    while (i < have && h[i] !== 0) i++;
    if (i >= have) break; // value runs past our prefix
    if (field === 0x43 /* C */ && i - start === 5) {
      let ok = true;
      for (let k = start; k < i; k++) if (!isDigit(h[k]) && !isAlpha(h[k])) ok = false;
      if (ok) code = h.toString('latin1', start, i).toUpperCase();
    } else if (field === 0x56 /* V */ || field === 0x53 /* S */) {
      const s = h.toString('latin1', start, Math.min(i, start + 6));
      if (s === 'FATAL' || s === 'PANIC') fatal = true;
    }
    i++;
  }
  return { code, fatal };
}

export const postgresql: Recogniser = {
  name: 'postgresql',
  clientStartsWith: (b) => b === 0 /* high byte of a length under 10,000 */,
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new PostgresParser();
  },
};
