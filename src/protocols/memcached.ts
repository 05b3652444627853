/**
 * memcached: the text protocol, and the binary protocol (magic 0x80 requests / 0x81 responses, as
 * spoken by `memjs`).
 *
 * Text: each command line is a request named by its command as sent (`get`, `set`, `delete`,
 * `incr`, meta `mg`/`ms`, ...). Storage commands' data blocks are skipped by their declared length.
 * `noreply` commands and `quit` are one-way. A response ends at `END` for retrievals and `stats`,
 * else at the first reply line (plus its data block for a meta `VA` reply). `ERROR`,
 * `CLIENT_ERROR`, `SERVER_ERROR` → `memcached.<that word>`. Keys and values are never recorded.
 *
 * Binary: each request header is a request named by its opcode (`get`, `set`, `delete`,
 * `increment`, `stat`, ...), each response header with its body ends one (a `stat` response is a
 * series ending with an empty key). A non-zero status other than not-found/exists/not-stored →
 * `memcached.<status name>`. Quiet opcodes (`getq`, `setq`, ...) answer only sometimes → unframed.
 */
import type { DetectInput, Phase, Recogniser, RequestInfo } from './types';
import { ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME } from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { MAX_PENDING } from './limits';
import { FrameReader } from './frame-reader';
import { LineStream } from './line-stream';

// Text commands. Value: 0 single-line reply, 1 multi-line until END, 2 storage (data block), 3 no reply
const TEXT_COMMANDS: Record<string, number | undefined> = {
  get: 1,
  gets: 1,
  gat: 1,
  gats: 1,
  stats: 1,
  set: 2,
  add: 2,
  replace: 2,
  append: 2,
  prepend: 2,
  cas: 2,
  delete: 0,
  incr: 0,
  decr: 0,
  touch: 0,
  flush_all: 0,
  version: 0,
  verbosity: 0,
  cache_memlimit: 0,
  shutdown: 0,
  quit: 3,
  mg: 0,
  ms: 2,
  md: 0,
  ma: 0,
  mn: 0,
  me: 0,
};

const BINARY_OPS: Record<number, string | undefined> = {
  0x00: 'get',
  0x01: 'set',
  0x02: 'add',
  0x03: 'replace',
  0x04: 'delete',
  0x05: 'increment',
  0x06: 'decrement',
  0x07: 'quit',
  0x08: 'flush',
  0x0a: 'noop',
  0x0b: 'version',
  0x0c: 'getk',
  0x0e: 'append',
  0x0f: 'prepend',
  0x10: 'stat',
  0x1c: 'touch',
  0x1d: 'gat',
  0x20: 'sasl_list_mechs',
  0x21: 'sasl_auth',
  0x22: 'sasl_step',
};
// Quiet variants: getq, getkq, setq, addq, replaceq, deleteq, incrementq, decrementq, quitq,
// flushq, appendq, prependq, gatq: replies are suppressed on success or miss.
const QUIET = new Set([0x09, 0x0d, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1e]);
const BINARY_STATUS: Record<number, string | undefined> = {
  0x03: 'VALUE_TOO_LARGE',
  0x04: 'INVALID_ARGUMENTS',
  0x06: 'NON_NUMERIC',
  0x07: 'WRONG_VBUCKET',
  0x08: 'AUTH_ERROR',
  0x09: 'AUTH_CONTINUE',
  0x81: 'UNKNOWN_COMMAND',
  0x82: 'OUT_OF_MEMORY',
  0x83: 'NOT_SUPPORTED',
  0x84: 'INTERNAL_ERROR',
  0x85: 'BUSY',
  0x86: 'TEMPORARY_FAILURE',
};

function detect(input: DetectInput): boolean {
  const c = input.client;
  if (c.length >= 24 && c[0] === 0x80 && BINARY_OPS[c[1]] !== undefined && c[5] === 0) {
    // key length + extras length must fit the body length
    const body = c.readUInt32BE(8);
    return c.readUInt16BE(2) + c[4] <= body && body < 64 * 1024 * 1024;
  }
  let i = 0;
  while (i < c.length && i < 16 && ((c[i] >= 0x61 && c[i] <= 0x7a) || c[i] === 0x5f)) i++;
  if (i === 0 || i >= c.length) return false;
  const sep = c[i];
  if (sep !== 0x20 && sep !== 0x0d && sep !== 0x0a) return false;
  const cmd = c.toString('latin1', 0, i);
  if (TEXT_COMMANDS[cmd] === undefined) return false;
  // Two-letter meta commands and a few words are too generic alone: require a whole line.
  for (let k = i; k < c.length; k++) if (c[k] === 0x0a) return true;
  return c.length >= 256;
}

/** First letters of the text commands: a text stream starts with one of them. */
const TEXT_FIRST = new Set(Object.keys(TEXT_COMMANDS).map((k) => k.charCodeAt(0)));

/** SASL authentication is setup; quit ends the connection. */
function phaseOf(op: string): Phase {
  return op === 'quit' ? 'teardown' : op.startsWith('sasl_') ? 'setup' : 'operation';
}

function request(op: string, oneWay: boolean): RequestInfo {
  const attributes = { [ATTR_DB_SYSTEM_NAME]: 'memcached', [ATTR_DB_OPERATION_NAME]: op };
  const phase = phaseOf(op);
  return oneWay ? { phase, operation: op, attributes, oneWay } : { phase, operation: op, attributes };
}

class TextParser extends BaseParser {
  readonly protocol = 'memcached' as const;
  // Data blocks (incl. their CRLF) are skipped by count; a single-line reply ends with its block.
  private readonly cin = new LineStream(8192, this, () => this.commandLine());
  private readonly sin = new LineStream(
    8192,
    this,
    () => this.replyLine(),
    () => {
      if (this.pending[0] === 0) this.finish(undefined);
    },
  );
  private readonly cline = this.cin.line;
  private readonly sline = this.sin.line;
  /** Pending reply kinds: 0 single line, 1 until END. */
  private readonly pending: number[] = [];

  protected client(chunk: Buffer): void {
    if (!this.cin.feed(chunk)) this.giveUp();
  }

  private commandLine(): void {
    const l = this.cline;
    if (l.tokens === 0) return;
    const verb = l.verb(16);
    const name = verb?.toLowerCase();
    const kind = name === undefined ? undefined : TEXT_COMMANDS[name];
    if (name === undefined || kind === undefined) return void this.giveUp();
    let quiet = l.lastIs('noreply');
    if (kind === 2) {
      // `set key flags exptime bytes [cas] [noreply]`; meta `ms key datalen flags*`
      const bytes = name === 'ms' ? l.nums[2] : l.nums[4];
      if (bytes < 0) return void this.giveUp();
      this.cin.skip = bytes + 2;
    }
    if (name.length === 2 && name[0] === 'm') {
      // Meta commands: the `q` flag suppresses some replies, so pairing would be guesswork.
      if (l.flagSeen(0x71 /* q */)) return void this.giveUp();
      quiet = false;
    }
    const oneWay = quiet || kind === 3;
    this.reqs = add(this.reqs, request(name, oneWay));
    if (oneWay) return;
    if (this.pending.length >= MAX_PENDING) return void this.giveUp();
    this.pending.push(kind === 1 ? 1 : 0);
  }

  protected server(chunk: Buffer): void {
    if (!this.sin.feed(chunk)) this.giveUp();
  }

  private replyLine(): void {
    const l = this.sline;
    const kind = this.pending[0];
    if (kind === undefined) return void this.giveUp();
    if (l.firstIs('ERROR')) return this.finish('memcached.ERROR');
    if (l.firstIs('CLIENT_ERROR')) return this.finish('memcached.CLIENT_ERROR');
    if (l.firstIs('SERVER_ERROR')) return this.finish('memcached.SERVER_ERROR');
    if (l.firstIs('VALUE')) {
      if (l.nums[3] < 0) return void this.giveUp();
      this.sin.skip = l.nums[3] + 2;
      return;
    }
    if (kind === 1) {
      if (l.firstIs('END')) this.finish(undefined);
      return; // STAT / ITEM lines
    }
    if (l.firstIs('VA')) {
      if (l.nums[1] < 0) return void this.giveUp();
      this.sin.skip = l.nums[1] + 2; // meta value: the reply ends after its data block
      return;
    }
    this.finish(undefined);
  }

  private finish(error: string | undefined): void {
    this.pending.shift();
    this.resps = add(this.resps, error === undefined ? {} : { error });
  }
}

class BinaryParser extends BaseParser {
  readonly protocol = 'memcached' as const;
  private readonly pending: number[] = [];
  private readonly creader = new FrameReader(
    24,
    (h, have) => (have < 12 ? -1 : h[0] === 0x80 ? 24 + h.readUInt32BE(8) : -2),
    (h) => this.requestHeader(h),
    undefined,
  );
  private readonly sreader = new FrameReader(
    24,
    (h, have) => (have < 12 ? -1 : h[0] === 0x81 ? 24 + h.readUInt32BE(8) : -2),
    undefined,
    (h) => this.responseEnd(h),
  );

  private requestHeader(h: Buffer): void {
    const opcode = h[1];
    if (QUIET.has(opcode)) return void this.giveUp();
    const name = BINARY_OPS[opcode];
    if (name === undefined) return void this.giveUp();
    const oneWay = opcode === 0x07; // quit: the server closes
    this.reqs = add(this.reqs, request(name, oneWay));
    if (oneWay) return;
    if (this.pending.length >= MAX_PENDING) return void this.giveUp();
    this.pending.push(opcode);
  }

  private responseEnd(h: Buffer): void {
    const opcode = this.pending[0];
    if (opcode === undefined || h[1] !== opcode) return void this.giveUp();
    const status = h.readUInt16BE(6);
    // A stat reply is a series of key/value responses ending with an empty key.
    if (opcode === 0x10 && status === 0 && h.readUInt16BE(2) !== 0) return;
    this.pending.shift();
    const benign = status === 0 || status === 1 || status === 2 || status === 5;
    this.resps = add(
      this.resps,
      benign ? {} : { error: `memcached.${BINARY_STATUS[status] ?? `status_${status}`}` },
    );
  }

  protected client(chunk: Buffer): void {
    if (!this.creader.feed(chunk)) return this.giveUp();
  }

  protected server(chunk: Buffer): void {
    if (!this.sreader.feed(chunk)) return this.giveUp();
  }
}

export const memcached: Recogniser = {
  name: 'memcached',
  clientStartsWith: (b) => b === 0x80 /* binary magic */ || TEXT_FIRST.has(b),
  detect(input) {
    return detect(input);
  },
  createParser(input) {
    return input.client.length > 0 && input.client[0] === 0x80 ? new BinaryParser() : new TextParser();
  },
};
