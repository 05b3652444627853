/**
 * Small shared helpers for the protocol parsers. Everything here is allocation-light on purpose:
 * parsers run on every chunk of every socket.
 */
import type { Attributes } from '@opentelemetry/api';
import type { ProtocolParser, RequestInfo, ResponseInfo } from './types';

/** Shared "nothing found" results. Frozen so a caller that pushes into them fails loudly in tests. */
export const NO_REQUESTS = Object.freeze([]) as unknown as RequestInfo[];
export const NO_RESPONSES = Object.freeze([]) as unknown as ResponseInfo[];
/** The one response shape that carries nothing; shared because it is immutable by convention. */
export const PLAIN_RESPONSE: ResponseInfo = Object.freeze({});

/** Upper bound on queued in-flight requests a parser tracks; more means we have lost sync. */
export const MAX_PENDING = 1024;

export const CR = 0x0d;
export const LF = 0x0a;
export const SP = 0x20;

export function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
export function isAlpha(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}
export function upper(c: number): number {
  return c >= 0x61 && c <= 0x7a ? c - 0x20 : c;
}
export function lower(c: number): number {
  return c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
}

/** True when `buf` starts with the ASCII string `s` at `off` (exact case). */
export function startsWithAscii(buf: Buffer, s: string, off = 0): boolean {
  if (buf.length - off < s.length) return false;
  for (let i = 0; i < s.length; i++) if (buf[off + i] !== s.charCodeAt(i)) return false;
  return true;
}

/**
 * Read an ASCII word of [A-Za-z] (plus extra allowed chars) from `buf[start, end)`, at most `max`
 * characters. Returns undefined when the word is empty, too long or ends in a disallowed byte.
 */
export function asciiWord(
  buf: Buffer,
  start: number,
  end: number,
  max: number,
  allowDigits = false,
  extra = '',
): string | undefined {
  let i = start;
  while (i < end && i - start <= max) {
    const c = buf[i];
    if (
      isAlpha(c) ||
      (allowDigits && isDigit(c)) ||
      (extra.length > 0 && extra.includes(String.fromCharCode(c)))
    )
      i++;
    else break;
  }
  if (i === start || i - start > max) return undefined;
  return buf.toString('latin1', start, i);
}

/**
 * Finds the first SQL keyword in `buf[start, end)`, skipping whitespace, `(` and SQL comments, and
 * returns it upper-cased when it is a known statement keyword. Never returns anything else, so a
 * literal or identifier can never leak through an operation name.
 */
export function sqlKeyword(buf: Buffer, start: number, end: number): string | undefined {
  let i = start;
  while (i < end) {
    const c = buf[i];
    if (c === SP || c === 0x09 || c === CR || c === LF || c === 0x28 /* ( */) {
      i++;
    } else if (c === 0x2d && buf[i + 1] === 0x2d && i + 1 < end) {
      while (i < end && buf[i] !== LF) i++; // -- line comment
    } else if (c === 0x2f && buf[i + 1] === 0x2a && i + 1 < end) {
      i += 2; // /* block comment */
      while (i + 1 < end && !(buf[i] === 0x2a && buf[i + 1] === 0x2f)) i++;
      i += 2;
    } else break;
  }
  let j = i;
  while (j < end && j - i < 16 && isAlpha(buf[j])) j++;
  if (j === i || j - i > 12) return undefined;
  if (j < end && (isDigit(buf[j]) || buf[j] === 0x5f)) return undefined; // an identifier, not a keyword
  return SQL_KEYWORDS.get(buf.toString('latin1', i, j).toUpperCase());
}

const SQL_KEYWORDS = new Map<string, string>(
  (
    'SELECT INSERT UPDATE DELETE MERGE UPSERT REPLACE WITH VALUES TABLE BEGIN START COMMIT ROLLBACK END ABORT ' +
    'SAVEPOINT RELEASE CREATE ALTER DROP TRUNCATE RENAME GRANT REVOKE SET SHOW RESET DISCARD EXPLAIN ANALYZE ' +
    'ANALYSE VACUUM COPY LISTEN NOTIFY UNLISTEN DECLARE FETCH MOVE CLOSE PREPARE EXECUTE DEALLOCATE LOCK UNLOCK ' +
    'CALL DO USE DESCRIBE DESC LOAD HANDLER CHECKPOINT CLUSTER COMMENT REINDEX REFRESH SECURITY IMPORT OPTIMIZE ' +
    'REPAIR CHECK CHECKSUM KILL FLUSH PURGE XA SIGNAL RESIGNAL GET INSTALL UNINSTALL HELP BINLOG CACHE SHUTDOWN ' +
    'RESTART BACKUP'
  )
    .split(' ')
    .map((k) => [k, k]),
);

/** Builds an attribute object; callers pass only names/numbers, never payload. */
export function attrs(a: Attributes): Attributes {
  return a;
}

/**
 * A reader for length-prefixed binary frames. It keeps the first `cap` bytes of each frame in a
 * fixed buffer (enough to name it) and skips the rest by counting, so memory does not grow with
 * the payload. `lengthOf` looks at the bytes collected so far and returns the frame's total length,
 * -1 when it needs more bytes, or -2 when the bytes make no sense.
 */
export class FrameReader {
  readonly head: Buffer;
  /** Bytes of the current frame held in `head`. */
  have = 0;
  /** Total length of the current frame, -1 while unknown. */
  total = -1;
  private pos = 0;
  private started = false;
  broken = false;

  constructor(
    cap: number,
    private readonly lengthOf: (head: Buffer, have: number) => number,
    /** Called once the first min(cap, total) bytes are held. */
    private readonly onStart: ((head: Buffer, have: number, total: number) => void) | undefined,
    /** Called when the frame's last byte has passed. */
    private readonly onEnd: ((head: Buffer, have: number, total: number) => void) | undefined,
  ) {
    this.head = Buffer.alloc(cap);
  }

  /** Feed a chunk; returns false once the stream stopped making sense (then stays false). */
  feed(chunk: Buffer): boolean {
    const len = chunk.length;
    let i = 0;
    while (i < len && !this.broken) {
      if (this.total < 0) {
        // Header bytes one at a time: frames declare their length in the first few bytes.
        if (this.have >= this.head.length) {
          this.broken = true;
          return false;
        }
        this.head[this.have++] = chunk[i++];
        this.pos++;
        const t = this.lengthOf(this.head, this.have);
        if (t === -2 || (t >= 0 && t < this.have)) {
          this.broken = true;
          return false;
        }
        if (t >= 0) this.total = t;
        else continue;
      }
      const want = Math.min(this.head.length, this.total);
      if (this.have < want) {
        const n = Math.min(want - this.have, len - i);
        chunk.copy(this.head, this.have, i, i + n);
        this.have += n;
        this.pos += n;
        i += n;
      }
      if (this.have >= want && !this.started) {
        this.started = true;
        this.onStart?.(this.head, this.have, this.total);
        if (this.broken) return false;
      }
      if (this.pos < this.total) {
        const n = Math.min(this.total - this.pos, len - i);
        this.pos += n;
        i += n;
      }
      if (this.pos >= this.total && this.have >= want) {
        const have = this.have;
        const total = this.total;
        this.have = 0;
        this.total = -1;
        this.pos = 0;
        this.started = false;
        this.onEnd?.(this.head, have, total);
      }
    }
    return !this.broken;
  }
}

/**
 * Scans text lines (CRLF or LF terminated) byte by byte without keeping the line: it records the
 * first token (up to 16 bytes), the number of tokens, the numeric value of the first few tokens and
 * of the last token. Used by the line-based protocols (memcached, NATS, SMTP, Redis inline).
 */
export class LineScanner {
  /** First token, up to 16 bytes (extra bytes are dropped and `firstTooLong` set). */
  readonly first = Buffer.alloc(16);
  firstLen = 0;
  firstTooLong = false;
  tokens = 0;
  /** Numeric value of tokens 0..7, -1 when the token is not all digits. */
  readonly nums: number[] = [-1, -1, -1, -1, -1, -1, -1, -1];
  /** Numeric value of the last token, -1 when it is not all digits. */
  lastNum = -1;
  /** The last token's first 8 bytes, lower-cased. */
  readonly last = Buffer.alloc(8);
  lastLen = 0;
  lineLength = 0;
  /** Bit per lower-case letter seen as a one-letter token after the second token (meta flags). */
  private flags = 0;
  private tokenLen = 0;
  private inToken = false;
  private curNum = -1;

  constructor(private readonly maxLine: number) {}

  reset(): void {
    this.firstLen = 0;
    this.firstTooLong = false;
    this.tokens = 0;
    for (let k = 0; k < 8; k++) this.nums[k] = -1;
    this.lastNum = -1;
    this.lastLen = 0;
    this.lineLength = 0;
    this.flags = 0;
    this.tokenLen = 0;
    this.inToken = false;
    this.curNum = -1;
  }

  /** True when a one-letter token equal to `c` (lower-case) appeared at index 2 or later. */
  flagSeen(c: number): boolean {
    return c >= 0x61 && c <= 0x7a && (this.flags & (1 << (c - 0x61))) !== 0;
  }

  /**
   * Consume bytes of the current line from `chunk[i..]`. Returns the index just after the LF when
   * the line ended, -1 when the chunk ended first, or -2 when the line is longer than allowed.
   */
  scan(chunk: Buffer, i: number): number {
    const len = chunk.length;
    while (i < len) {
      const c = chunk[i++];
      if (++this.lineLength > this.maxLine) return -2;
      if (c === LF || c === SP || c === 0x09 || c === CR) {
        if (this.inToken) this.endToken();
        if (c === LF) return i;
        continue;
      }
      if (!this.inToken) {
        this.inToken = true;
        this.curNum = 0;
        this.lastLen = 0;
        this.tokenLen = 0;
      }
      this.tokenLen++;
      if (this.tokens === 0) {
        if (this.firstLen < this.first.length) this.first[this.firstLen++] = c;
        else this.firstTooLong = true;
      }
      if (this.lastLen < this.last.length) this.last[this.lastLen++] = lower(c);
      if (this.curNum >= 0) {
        if (isDigit(c) && this.curNum < 1e15) this.curNum = this.curNum * 10 + (c - 0x30);
        else this.curNum = -1;
      }
    }
    return -1;
  }

  private endToken(): void {
    this.inToken = false;
    if (this.tokenLen === 1 && this.tokens >= 2 && this.last[0] >= 0x61 && this.last[0] <= 0x7a)
      this.flags |= 1 << (this.last[0] - 0x61);
    if (this.tokens < 8) this.nums[this.tokens] = this.curNum;
    this.lastNum = this.curNum;
    this.tokens++;
  }

  /** First token upper-cased when it is 1..max letters, else undefined. */
  verb(max = 16): string | undefined {
    if (this.firstTooLong || this.firstLen === 0 || this.firstLen > max) return undefined;
    for (let k = 0; k < this.firstLen; k++) if (!isAlpha(this.first[k])) return undefined;
    return this.first.toString('latin1', 0, this.firstLen).toUpperCase();
  }

  firstIs(s: string): boolean {
    if (this.firstTooLong || this.firstLen !== s.length) return false;
    for (let k = 0; k < s.length; k++) if (upper(this.first[k]) !== s.charCodeAt(k)) return false;
    return true;
  }

  lastIs(s: string): boolean {
    if (this.lastLen !== s.length) return false;
    for (let k = 0; k < s.length; k++) if (this.last[k] !== s.charCodeAt(k)) return false;
    return true;
  }
}

/** A fixed-capacity FIFO of small integers (pending request kinds); overflow reports false. */
export class IntQueue {
  private readonly items: Int32Array;
  private head = 0;
  size = 0;
  constructor(cap = 256) {
    this.items = new Int32Array(cap);
  }
  push(v: number): boolean {
    if (this.size >= this.items.length) return false;
    this.items[(this.head + this.size) % this.items.length] = v;
    this.size++;
    return true;
  }
  peek(): number {
    return this.size > 0 ? this.items[this.head] : -1;
  }
  /** Replace the front value (e.g. a decremented reply count). */
  setFront(v: number): void {
    if (this.size > 0) this.items[this.head] = v;
  }
  shift(): number {
    if (this.size === 0) return -1;
    const v = this.items[this.head];
    this.head = (this.head + 1) % this.items.length;
    this.size--;
    return v;
  }
  clear(): void {
    this.size = 0;
    this.head = 0;
  }
}

/** Appends to a result array allocated lazily, so the common "nothing" case allocates nothing. */
export function add<T>(list: T[] | undefined, item: T): T[] {
  if (list === undefined) return [item];
  list.push(item);
  return list;
}

/**
 * How many times a parser's safety net caught an exception. It should stay 0: bounds checks, not the
 * net, are what keep parsers from throwing; the fuzz test asserts it.
 */
export const parserFaults = { count: 0, detect: 0 };

/**
 * Wraps a parser so that its entry points can never throw into the caller: a bug in a parser turns
 * into "unframed" (idle timing), never into a failed write or read in the application.
 */
export abstract class BaseParser implements ProtocolParser {
  abstract readonly protocol: ProtocolParser['protocol'];
  version: string | undefined = undefined;
  framed = true;
  /** Requests and responses found in the chunk being fed: handlers append with `add()`. */
  protected reqs: RequestInfo[] | undefined = undefined;
  protected resps: ResponseInfo[] | undefined = undefined;

  onClientBytes(chunk: Buffer): RequestInfo[] {
    if (!this.framed) return NO_REQUESTS;
    this.reqs = undefined;
    try {
      this.client(chunk);
    } catch {
      parserFaults.count++;
      this.framed = false;
    }
    const out = this.reqs;
    this.reqs = undefined;
    // Requests seen in a chunk that also lost the framing are not paired with anything.
    return this.framed && out !== undefined ? out : NO_REQUESTS;
  }

  onServerBytes(chunk: Buffer): ResponseInfo[] {
    if (!this.framed) return NO_RESPONSES;
    this.resps = undefined;
    let failed = false;
    try {
      this.server(chunk);
    } catch {
      parserFaults.count++;
      this.framed = false;
      failed = true;
    }
    const out = this.resps;
    this.resps = undefined;
    // Responses completed before the parser gave up on framing still end their exchanges.
    return !failed && out !== undefined ? out : NO_RESPONSES;
  }

  /** Give up on framing for good: the core falls back to idle timing. */
  protected giveUp(): undefined {
    this.framed = false;
    return undefined;
  }

  /** Reads a client chunk, appending the requests that begin in it to `this.reqs`. */
  protected abstract client(chunk: Buffer): void;
  /** Reads a server chunk, appending the responses completed in it to `this.resps`. */
  protected abstract server(chunk: Buffer): void;
}

/** Longest statement shape kept; statements sharing this long a prefix share a shape. */
export const SHAPE_MAX = 240;

/**
 * The literal-free shape of the SQL text in `buf[start, end)`: string and quoted literals,
 * numbers and `$n` parameters become `?`, lists of them collapse to one `?`, comments go, white
 * space folds, letters are lower-cased. Only ever digested (`sockscope.statement.hash`), never
 * recorded, so that an N+1 loop of one statement is told apart from different statements.
 */
export function sqlShape(buf: Buffer, start: number, end: number): string | undefined {
  const out: number[] = [];
  const put = (c: number): void => {
    if (c === SP && (out.length === 0 || out[out.length - 1] === SP)) return;
    out.push(c);
  };
  let i = start;
  while (i < end && out.length < SHAPE_MAX) {
    const c = buf[i];
    if (c === 0x27 /* ' */ || c === 0x22 /* " */ || c === 0x60 /* ` */) {
      // A quoted literal (or identifier): its content never reaches the shape.
      i++;
      while (i < end) {
        if (buf[i] === 0x5c /* \ */) i += 2;
        else if (buf[i] === c) {
          if (buf[i + 1] === c) i += 2;
          else break;
        } else i++;
      }
      i++;
      put(0x3f);
    } else if (c === 0x2d && buf[i + 1] === 0x2d) {
      while (i < end && buf[i] !== LF) i++;
    } else if (c === 0x2f && buf[i + 1] === 0x2a) {
      i += 2;
      while (i + 1 < end && !(buf[i] === 0x2a && buf[i + 1] === 0x2f)) i++;
      i += 2;
    } else if (isDigit(c) || (c === 0x24 /* $ */ && isDigit(buf[i + 1]))) {
      const prev = out[out.length - 1];
      const inIdentifier = prev !== undefined && (isAlpha(prev) || isDigit(prev) || prev === 0x5f);
      if (inIdentifier) {
        put(c);
        i++;
        continue;
      }
      i++;
      while (i < end && (isDigit(buf[i]) || buf[i] === 0x2e || buf[i] === 0x65 || buf[i] === 0x45)) i++;
      put(0x3f);
    } else if (c === SP || c === 0x09 || c === CR || c === LF) {
      put(SP);
      i++;
    } else {
      put(c >= 0x41 && c <= 0x5a ? c + 32 : c);
      i++;
    }
  }
  if (out.length === 0) return undefined;
  return String.fromCharCode(...out)
    .trim()
    .replace(/\?(?: ?, ?\?)+/g, '?');
}

/**
 * One direction of a text protocol: lines, with payloads of announced length between them (NATS
 * `PUB`/`MSG`, memcached data blocks). Scans each line without keeping it (`line` holds its
 * tokens while `onLine` runs) and skips payloads by count (a handler sets `skip`).
 */
export class LineStream {
  /** Payload bytes to skip before the next line. */
  skip = 0;
  readonly line: LineScanner;

  constructor(
    maxLine: number,
    private readonly parser: { readonly framed: boolean },
    private readonly onLine: () => void,
    /** Called when a payload has been skipped to its end. */
    private readonly onSkipped?: () => void,
    /** Sees each line's raw bytes as they pass (for a matcher that must not keep the line). */
    private readonly onBytes?: (chunk: Buffer, from: number, to: number) => void,
  ) {
    this.line = new LineScanner(maxLine);
  }

  /** Feeds a chunk; false when a line exceeded the maximum length (the stream is lost). */
  feed(chunk: Buffer): boolean {
    let i = 0;
    while (i < chunk.length && this.parser.framed) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        if (this.skip === 0) this.onSkipped?.();
        continue;
      }
      const start = i;
      const r = this.line.scan(chunk, i);
      this.onBytes?.(chunk, start, r < 0 ? chunk.length : r);
      if (r === -2) return false;
      if (r === -1) break;
      i = r;
      this.onLine();
      this.line.reset();
    }
    return true;
  }
}
