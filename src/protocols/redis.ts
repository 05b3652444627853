/**
 * Redis serialization protocol, RESP2 and RESP3.
 *
 * Requests: each command (an array of bulk strings, or an inline command line), named by its
 * command name upper-cased (`GET`, `HSET`, `MULTI`) when Redis's command table has it, else
 * `_OTHER` (see redis-commands.ts); arguments are skipped by length. Responses: one
 * top-level reply per command. RESP3 push frames (`>`) and attribute frames (`|`) are not replies;
 * nor are pub/sub deliveries (`message`, `pmessage`, `smessage`) once the connection subscribed.
 * (UN)SUBSCRIBE with N arguments gets N confirmations, reported as one response after the last.
 * A top-level error reply (`-ERR ...`, `!...`) → `redis.<ERROR PREFIX>`. MONITOR, CLIENT REPLY,
 * streamed RESP3 aggregates or anything unknown → unframed.
 */
import type { DetectInput, Phase, Recogniser, RequestInfo, ResponseInfo } from './types';
import { ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME } from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { MAX_PENDING } from './limits';
import { OTHER } from './other';
import { REDIS_COMMANDS } from './redis-commands';
import { CR, isAlpha, isDigit, LF, upper } from './bytes';

const MAX_DEPTH = 32;
const MAX_NAME = 32;
/** Chunks up to this many bytes are remembered for CommandReader's repeat check. */
const REPEAT_MAX = 64;

function detect(input: DetectInput): boolean {
  // `*<n>\r\n$<len>\r\n<letter>`: an array of bulk strings whose first starts with a letter.
  const c = input.client;
  if (c.length < 8 || c[0] !== 0x2a /* * */) return false;
  let i = 1;
  while (i < c.length && i < 8 && isDigit(c[i])) i++;
  if (i === 1 || c[i] !== CR || c[i + 1] !== LF || c[i + 2] !== 0x24 /* $ */) return false;
  i += 3;
  const s = i;
  while (i < c.length && i < s + 8 && isDigit(c[i])) i++;
  if (i === s || c[i] !== CR || c[i + 1] !== LF) return false;
  return i + 2 < c.length && isAlpha(c[i + 2]);
}

// Subscribe-family command kinds, used to match confirmations.
const enum Sub {
  None = 0,
  Subscribe = 1,
  Unsubscribe = 2,
  PSubscribe = 3,
  PUnsubscribe = 4,
  SSubscribe = 5,
  SUnsubscribe = 6,
}
const SUB_COMMANDS: Record<string, Sub | undefined> = {
  SUBSCRIBE: Sub.Subscribe,
  UNSUBSCRIBE: Sub.Unsubscribe,
  PSUBSCRIBE: Sub.PSubscribe,
  PUNSUBSCRIBE: Sub.PUnsubscribe,
  SSUBSCRIBE: Sub.SSubscribe,
  SUNSUBSCRIBE: Sub.SUnsubscribe,
};
const SUB_REPLIES: Record<string, Sub | undefined> = {
  subscribe: Sub.Subscribe,
  unsubscribe: Sub.Unsubscribe,
  psubscribe: Sub.PSubscribe,
  punsubscribe: Sub.PUnsubscribe,
  ssubscribe: Sub.SSubscribe,
  sunsubscribe: Sub.SUnsubscribe,
};

interface Pending {
  sub: Sub;
  /** Replies still expected; for an argument-less UNSUBSCRIBE, -1 (until none is left). */
  left: number;
  /** Turn framing off once this reply arrives (MONITOR, CLIENT REPLY). */
  last?: boolean;
}

/** What a plain command awaits: one reply. Shared: only subscribe-family entries are counted down. */
const PLAIN: Pending = Object.freeze({ sub: Sub.None, left: 1 }) as Pending;
/** A reply that is not an error carries nothing: one shared object. */
const OK_REPLY: ResponseInfo = Object.freeze({});

/** A command whose name could not be read (not a letter first, too long). */
const UNNAMED: RequestInfo = Object.freeze({
  phase: 'operation',
  attributes: Object.freeze({ [ATTR_DB_SYSTEM_NAME]: 'redis' }),
});

/**
 * Connection set-up (HELLO, AUTH, SELECT, READONLY, and CLIENT SETNAME/SETINFO below), QUIT, and
 * PING, which clients send to keep a connection alive or to check it.
 */
const PHASES: Record<string, Phase | undefined> = {
  HELLO: 'setup',
  AUTH: 'setup',
  SELECT: 'setup',
  READONLY: 'setup',
  QUIT: 'teardown',
  PING: 'heartbeat',
};
/** One shared, frozen RequestInfo per command name: a command loop allocates nothing for it. */
const requests = new Map<string, RequestInfo>();

function requestInfo(raw: string | undefined): RequestInfo {
  if (raw === undefined) return UNNAMED;
  const name = REDIS_COMMANDS.has(raw) ? raw : OTHER;
  let r = requests.get(name);
  if (r === undefined) {
    r = Object.freeze({
      phase: PHASES[name] ?? 'operation',
      operation: name,
      attributes: Object.freeze({ [ATTR_DB_SYSTEM_NAME]: 'redis', [ATTR_DB_OPERATION_NAME]: name }),
    });
    requests.set(name, r); // bounded by the command table
  }
  return r;
}

/** `CLIENT SETNAME` / `CLIENT SETINFO`: naming the connection is set-up, other CLIENT commands are not. */
const CLIENT_SETUP: RequestInfo = Object.freeze({
  phase: 'setup',
  operation: 'CLIENT',
  attributes: Object.freeze({ [ATTR_DB_SYSTEM_NAME]: 'redis', [ATTR_DB_OPERATION_NAME]: 'CLIENT' }),
});

class CommandReader {
  // 0 start of command; 1 array count; 2 expect '$'; 3 bulk length; 4 bulk data; 5 bulk CRLF;
  // 6 inline line.
  state = 0;
  private num = 0;
  private elements = 0;
  private index = 0;
  private skip = 0;
  private readonly name = Buffer.alloc(MAX_NAME);
  private nameLen = 0;
  private nameBad = false;
  private readonly lastBytes = Buffer.alloc(MAX_NAME);
  private lastName: string | undefined = undefined;
  /** First bytes of the second element (a subcommand such as `REPLY`), upper-cased. */
  private readonly sub = Buffer.alloc(8);
  private subLen = 0;
  private inlineInWord = true;
  broken = false;

  /**
   * The last chunk, when it held exactly one whole command (read from state 0 back to state 0), and
   * what it reported: the same bytes again from state 0 report the same without being read (a
   * client repeating a command, PING or a polled GET, writes the same bytes each time).
   */
  private readonly repeat = Buffer.alloc(REPEAT_MAX);
  private repeatLen = 0;
  private repeatName: string | undefined = undefined;
  private repeatArgc = 0;

  /**
   * Calls `done(name, argc)` for each complete command. Returns false if the stream is not RESP.
   * The state, the number being read and the bytes to skip live in locals during the loop.
   */
  feed(chunk: Buffer, done: (name: string | undefined, argc: number) => void): boolean {
    const len = chunk.length;
    if (this.state === 0 && len > 0 && len === this.repeatLen && this.repeats(chunk, len)) {
      done(this.repeatName, this.repeatArgc);
      return true;
    }
    const fromStart = this.state === 0;
    let commands = 0;
    let lastName: string | undefined = undefined;
    let lastArgc = 0;
    let state = this.state;
    let num = this.num;
    let skip = this.skip;
    let i = 0;
    while (i < len) {
      const c = chunk[i];
      switch (state) {
        case 0:
          this.nameLen = 0;
          this.subLen = 0;
          this.nameBad = false;
          this.index = 0;
          if (c === 0x2a) {
            state = 1;
            num = 0;
            i++;
          } else if (c === CR || c === LF) {
            i++; // stray blank line between inline commands
          } else {
            state = 6;
            this.inlineInWord = false;
          }
          break;
        case 1:
        case 3:
          i++;
          if (isDigit(c)) {
            num = num * 10 + (c - 0x30);
            if (num > 0x7fffffff) return this.fail();
          } else if (c === CR) {
            // wait for LF
          } else if (c === LF) {
            if (state === 1) {
              this.elements = num;
              if (num === 0) {
                state = 0;
                break;
              }
              state = 2;
            } else {
              skip = num;
              state = 4;
            }
          } else return this.fail();
          break;
        case 2:
          if (c !== 0x24) return this.fail();
          num = 0;
          state = 3;
          i++;
          break;
        case 4: {
          const n = Math.min(skip, len - i);
          if (this.index === 0) {
            for (let k = 0; k < n; k++) this.nameByte(chunk[i + k]);
          } else if (this.index === 1) {
            for (let k = 0; k < n && this.subLen < this.sub.length; k++)
              this.sub[this.subLen++] = upper(chunk[i + k]);
          }
          skip -= n;
          i += n;
          if (skip === 0) {
            state = 5;
            skip = 2;
          }
          break;
        }
        case 5:
          i++;
          if (--skip === 0) {
            this.index++;
            if (this.index >= this.elements) {
              state = 0;
              this.state = 0;
              this.num = num;
              this.skip = 0;
              lastName = this.nameText();
              lastArgc = this.elements;
              commands++;
              done(lastName, lastArgc);
            } else {
              num = 0;
              state = 2;
            }
          }
          break;
        case 6:
          // Inline command: words separated by spaces; the first names it.
          i++;
          if (c === LF) {
            state = 0;
            this.state = 0;
            this.num = num;
            this.skip = skip;
            lastName = this.nameText();
            lastArgc = this.index;
            commands++;
            done(lastName, lastArgc);
          } else if (c === 0x20 || c === CR || c === 0x09) {
            this.inlineInWord = false;
          } else {
            if (!this.inlineInWord) {
              this.inlineInWord = true;
              this.index++;
            }
            if (this.index === 1) this.nameByte(c);
          }
          break;
      }
    }
    this.state = state;
    this.num = num;
    this.skip = skip;
    if (fromStart && state === 0 && commands === 1 && len <= REPEAT_MAX) {
      chunk.copy(this.repeat, 0, 0, len);
      this.repeatLen = len;
      this.repeatName = lastName;
      this.repeatArgc = lastArgc;
    } else this.repeatLen = 0;
    return true;
  }

  private repeats(chunk: Buffer, len: number): boolean {
    const r = this.repeat;
    for (let k = 0; k < len; k++) if (chunk[k] !== r[k]) return false;
    return true;
  }

  private nameByte(c: number): void {
    if (this.nameLen >= MAX_NAME || !(isAlpha(c) || isDigit(c) || c === 0x2e || c === 0x5f || c === 0x2d)) {
      this.nameBad = true;
      return;
    }
    this.name[this.nameLen++] = upper(c);
  }

  private nameText(): string | undefined {
    if (this.nameBad || this.nameLen === 0 || !isAlpha(this.name[0])) return undefined;
    // A client mostly repeats a few commands: reuse the last name's string when the bytes match.
    const len = this.nameLen;
    const last = this.lastName;
    if (last !== undefined && last.length === len) {
      let k = 0;
      while (k < len && this.name[k] === this.lastBytes[k]) k++;
      if (k === len) return last;
    }
    this.name.copy(this.lastBytes, 0, 0, len);
    this.lastName = this.name.toString('latin1', 0, len);
    return this.lastName;
  }

  subIs(s: string): boolean {
    if (this.subLen !== s.length) return false;
    for (let k = 0; k < s.length; k++) if (this.sub[k] !== s.charCodeAt(k)) return false;
    return true;
  }

  private fail(): false {
    this.broken = true;
    return false;
  }
}

/** Incremental parser of the server's reply stream, reporting each complete top-level value. */
class ReplyReader {
  // 0 type byte; 1 line (header or simple value); 2 bulk data; 3 bulk trailing CRLF
  private state = 0;
  private type = 0;
  private num = 0;
  private neg = false;
  private numBad = false;
  private skip = 0;
  /** Remaining children per open aggregate. */
  private readonly stack = new Float64Array(MAX_DEPTH);
  private depth = 0;
  /** Kind of the top-level value: its type byte. */
  private topType = 0;
  // Error prefix of a top-level error, or the first element of a top-level aggregate (≤ 16 bytes).
  readonly word = Buffer.alloc(16);
  wordLen = 0;
  /** Integer value of the third element of a top-level aggregate (subscription count). */
  thirdNum = -1;
  private childIndex = 0;
  private capture = false;
  broken = false;

  /** `done(topType)` at each complete top-level value. */
  feed(chunk: Buffer, done: (topType: number) => void): boolean {
    const len = chunk.length;
    // The commonest reply, a whole simple string in one chunk (`+OK\r\n`, `+PONG\r\n`, `+QUEUED\r\n`):
    // one scan for its only LF instead of the byte-by-byte machine (which keeps nothing of it).
    if (this.state === 0 && this.depth === 0 && len > 2 && chunk[0] === 0x2b && chunk[len - 1] === LF) {
      let k = 1;
      while (chunk[k] !== LF) k++;
      if (k === len - 1) {
        this.type = 0x2b;
        this.topType = 0x2b;
        this.wordLen = 0;
        this.thirdNum = -1;
        this.childIndex = 0;
        this.capture = false;
        done(0x2b);
        return true;
      }
    }
    let i = 0;
    while (i < len) {
      const c = chunk[i];
      if (this.state === 0) {
        i++;
        this.type = c;
        this.num = 0;
        this.neg = false;
        this.numBad = false;
        if (this.depth === 0) {
          this.topType = c;
          this.wordLen = 0;
          this.thirdNum = -1;
          this.childIndex = 0;
          this.capture = c === 0x2d; /* - */
        } else if (this.depth === 1) {
          this.capture = this.childIndex === 0;
        } else this.capture = false;
        this.state = 1;
        if (!isType(c)) return this.fail();
        continue;
      }
      if (this.state === 1) {
        i++;
        if (c === CR) continue;
        if (c === LF) {
          if (!this.lineDone(done)) return false;
          continue;
        }
        if (this.capture && (this.type === 0x2b || this.type === 0x2d) && this.wordLen < this.word.length) {
          // simple string / error: keep its first word only
          if (c === 0x20) this.capture = false;
          else this.word[this.wordLen++] = c;
        }
        if (c === 0x2d && this.num === 0 && !this.neg) this.neg = true;
        else if (isDigit(c)) {
          if (this.num < 1e15) this.num = this.num * 10 + (c - 0x30);
        } else this.numBad = true;
        continue;
      }
      if (this.state === 2) {
        const n = Math.min(this.skip, len - i);
        if (this.capture) {
          for (let k = 0; k < n && this.wordLen < this.word.length; k++)
            this.word[this.wordLen++] = chunk[i + k];
        }
        this.skip -= n;
        i += n;
        if (this.skip === 0) {
          this.state = 3;
          this.skip = 2;
        }
        continue;
      }
      // state 3: CRLF after bulk data
      i++;
      if (--this.skip === 0) {
        this.state = 0;
        if (!this.valueDone(done)) return false;
      }
    }
    return true;
  }

  private lineDone(done: (t: number) => void): boolean {
    const t = this.type;
    this.state = 0;
    // Bulk-like types carry a length; aggregates a count; the rest were the whole value.
    if (t === 0x24 /* $ */ || t === 0x21 /* ! */ || t === 0x3d /* = */) {
      if (this.numBad && !this.neg) return this.fail(); // `$?` streamed strings
      if (this.neg) return this.valueDone(done); // null bulk
      this.skip = this.num;
      this.state = this.skip === 0 ? 3 : 2;
      if (this.skip === 0) this.skip = 2;
      if (t === 0x21 && this.depth === 0) this.capture = true; // blob error: first word is the code
      return true;
    }
    if (t === 0x2a || t === 0x25 || t === 0x7e || t === 0x3e || t === 0x7c) {
      if (this.numBad && !this.neg) return this.fail(); // `*?` streamed aggregates
      let n = this.neg ? 0 : this.num;
      if (t === 0x25 || t === 0x7c) n *= 2; // map / attribute: key and value per entry
      if (n === 0) return this.valueDone(done);
      if (this.depth >= MAX_DEPTH) return this.fail();
      this.stack[this.depth++] = n;
      return true;
    }
    if (t === 0x3a && this.depth === 1 && this.childIndex === 2) this.thirdNum = this.neg ? -1 : this.num;
    return this.valueDone(done);
  }

  /** A value finished: pop finished aggregates; report completed top-level values. */
  private valueDone(done: (t: number) => void): boolean {
    this.capture = false;
    while (this.depth > 0) {
      if (this.depth === 1) this.childIndex++;
      const left = --this.stack[this.depth - 1];
      if (left > 0) return true;
      this.depth--;
    }
    // An attribute frame precedes the real reply: it is not one.
    if (this.topType !== 0x7c) done(this.topType);
    return true;
  }

  private fail(): false {
    this.broken = true;
    return false;
  }
}

function isType(c: number): boolean {
  switch (c) {
    case 0x2b: // +
    case 0x2d: // -
    case 0x3a: // :
    case 0x24: // $
    case 0x2a: // *
    case 0x5f: // _
    case 0x2c: // ,
    case 0x23: // #
    case 0x21: // !
    case 0x3d: // =
    case 0x28: // (
    case 0x25: // %
    case 0x7e: // ~
    case 0x3e: // >
    case 0x7c: // |
      return true;
  }
  return false;
}

class RedisParser extends BaseParser {
  readonly protocol = 'redis' as const;
  private readonly commands = new CommandReader();
  private readonly replies = new ReplyReader();
  private readonly pending: Pending[] = [];
  /** Subscription counts learned from confirmations: channels, patterns. */
  private channels = 0;
  private patterns = 0;
  private subscribed = false;
  private lastName: string | undefined = undefined;
  private lastInfo: RequestInfo | undefined = undefined;
  private readonly onCommand = (name: string | undefined, argc: number): void => this.command(name, argc);
  private readonly onReply = (t: number): void => this.reply(t);

  private command(name: string | undefined, argc: number): void {
    // The reader hands back the same string for a repeated name: skip the map lookup too.
    if (name !== this.lastName || this.lastInfo === undefined) {
      this.lastName = name;
      this.lastInfo = requestInfo(name);
    }
    const info =
      name === 'CLIENT' && (this.commands.subIs('SETNAME') || this.commands.subIs('SETINFO'))
        ? CLIENT_SETUP
        : this.lastInfo;
    this.reqs = add(this.reqs, info);
    if (this.pending.length >= MAX_PENDING) return void this.giveUp();
    const sub = name === undefined ? Sub.None : (SUB_COMMANDS[name] ?? Sub.None);
    if (sub !== Sub.None) {
      this.subscribed = true;
      const args = argc - 1;
      if (args > 0) this.pending.push({ sub, left: args });
      else if (sub === Sub.Subscribe || sub === Sub.PSubscribe || sub === Sub.SSubscribe) this.giveUp();
      else this.pending.push({ sub, left: -1 });
      return;
    }
    // CLIENT REPLY OFF/SKIP silences replies (even its own): pairing is lost from here on.
    if (name === 'CLIENT' && this.commands.subIs('REPLY')) return void this.giveUp();
    // After these replies the server streams data that answers no command.
    const last = name === 'MONITOR' || name === 'SYNC' || name === 'PSYNC';
    this.pending.push(last ? { sub, left: 1, last } : PLAIN);
  }

  private reply(t: number): void {
    const r = this.replies;
    const isAggregate = t === 0x2a || t === 0x3e;
    let kind: Sub = Sub.None;
    let delivery = false;
    if (isAggregate && r.wordLen > 0 && r.wordLen <= 12) {
      const w = r.word.toString('latin1', 0, r.wordLen);
      kind = SUB_REPLIES[w] ?? Sub.None;
      delivery = w === 'message' || w === 'pmessage' || w === 'smessage';
    }
    const front = this.pending[0];
    if (t === 0x3e /* push */) {
      // Pushes are never replies, except RESP3 subscription confirmations answering a command.
      if (kind === Sub.None || front === undefined || front.sub !== kind) return;
    } else if (this.subscribed && delivery && t === 0x2a) {
      return; // RESP2 pub/sub delivery
    }
    if (front === undefined) return void this.giveUp();
    if (front.sub !== Sub.None && kind === front.sub) {
      const count = r.thirdNum;
      if (
        kind === Sub.Subscribe ||
        kind === Sub.Unsubscribe ||
        kind === Sub.SSubscribe ||
        kind === Sub.SUnsubscribe
      )
        this.channels = Math.max(0, count - this.patterns);
      else this.patterns = Math.max(0, count - this.channels);
      if (count === 0) this.subscribed = false;
      if (front.left > 0) front.left--;
      const finished =
        front.left === 0 ||
        (front.left < 0 &&
          (kind === Sub.Unsubscribe
            ? this.channels === 0
            : kind === Sub.PUnsubscribe
              ? this.patterns === 0
              : count <= 0));
      if (!finished) return;
    }
    this.pending.shift();
    const isError = t === 0x2d || t === 0x21;
    this.resps = add(this.resps, isError ? { error: `redis.${errorCode(r.word, r.wordLen)}` } : OK_REPLY);
    if (front.last) this.giveUp();
  }

  protected client(chunk: Buffer): void {
    if (!this.commands.feed(chunk, this.onCommand)) this.giveUp();
  }

  protected server(chunk: Buffer): void {
    if (!this.replies.feed(chunk, this.onReply)) this.giveUp(); // replies completed before still count
  }
}

/** `ERR`, `WRONGTYPE`, `NOAUTH`, ...: the upper-case prefix of an error reply, or `ERR`. */
function errorCode(w: Buffer, n: number): string {
  let k = 0;
  while (k < n && k < 16 && ((w[k] >= 0x41 && w[k] <= 0x5a) || w[k] === 0x5f)) k++;
  return k > 0 && (k === n || w[k] === 0x20) ? w.toString('latin1', 0, k) : 'ERR';
}

export const redis: Recogniser = {
  name: 'redis',
  clientStartsWith: (b) => b === 0x2a /* * */,
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new RedisParser();
  },
};
