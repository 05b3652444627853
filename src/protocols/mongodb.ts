/**
 * MongoDB wire protocol: OP_MSG (and the legacy OP_QUERY used for the first handshake).
 *
 * Requests: each client message, named by the first key of its command document (`find`,
 * `insert`, `hello`, `isMaster`, `saslStart`) when it is a known command (mongodb-commands.ts), else
 * `_OTHER`; only that key is read, never a value, collection
 * name or filter. OP_MSG with the moreToCome flag expects no reply (one-way). OP_COMPRESSED is
 * named `compressed` (its command is not readable without decompressing). Responses: each server
 * message; a reply whose small document says `ok: 0` → `mongodb.<codeName>` (or `mongodb.<code>`).
 * A reply with moreToCome (exhaust cursors, streaming `hello`) starts a stream of replies without
 * requests → unframed after it.
 */
import type { DetectInput, Phase, Recogniser } from './types';
import { ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME } from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { isAlpha, isDigit } from './bytes';
import { FrameReader } from './frame-reader';
import { MONGODB_COMMANDS } from './mongodb-commands';
import { OTHER } from './other';

const OP_REPLY = 1;
const OP_QUERY = 2004;
const OP_COMPRESSED = 2012;
const OP_MSG = 2013;
const MORE_TO_COME = 2;
const MAX_MESSAGE = 48 * 1024 * 1024;
const COMPRESSED = 'compressed';

function detect(input: DetectInput): boolean {
  const c = input.client;
  if (c.length < 21) return false;
  const len = c.readInt32LE(0);
  const op = c.readInt32LE(12);
  if (len < 21 || len > MAX_MESSAGE || c.readInt32LE(8) !== 0) return false;
  if (op === OP_MSG) return c[20] === 0 || c[20] === 1; // first section kind
  if (op === OP_QUERY) return c[20] !== 0; // full collection name (C string) starts here
  return (
    op === OP_COMPRESSED && c.length >= 25 && (c.readInt32LE(16) === OP_MSG || c.readInt32LE(16) === OP_QUERY)
  );
}

/** The first key of the BSON document starting at `o`, when it is a plain command name. */
function firstKey(h: Buffer, o: number, have: number): string | undefined {
  const keyStart = o + 4 + 1; // document length, element type
  let i = keyStart;
  while (i < have && i - keyStart <= 40 && h[i] !== 0) {
    if (!isAlpha(h[i]) && !isDigit(h[i]) && h[i] !== 0x5f) return undefined;
    i++;
  }
  if (i >= have || h[i] !== 0 || i === keyStart || !isAlpha(h[keyStart])) return undefined;
  return h.toString('latin1', keyStart, i);
}

/**
 * Walks the top-level elements of the BSON document at `o` (only within `have`) looking for
 * `ok`, `code` and `codeName`. Returns the error type when ok is 0, else undefined.
 */
function replyError(h: Buffer, o: number, have: number): string | undefined {
  if (o + 5 > have) return undefined;
  const end = Math.min(have, o + h.readInt32LE(o));
  let i = o + 4;
  let ok = -1;
  let code: number | undefined;
  let codeName: string | undefined;
  while (i < end && h[i] !== 0) {
    const type = h[i++];
    const k = i;
    while (i < end && h[i] !== 0) i++;
    if (i >= end) break;
    const keyLen = i - k;
    const key = keyLen <= 8 ? h.toString('latin1', k, i) : '';
    i++;
    let size: number;
    switch (type) {
      case 0x01: // double
        if (key === 'ok' && i + 8 <= end) ok = h.readDoubleLE(i);
        size = 8;
        break;
      case 0x10: // int32
        if (i + 4 <= end) {
          if (key === 'ok') ok = h.readInt32LE(i);
          if (key === 'code') code = h.readInt32LE(i);
        }
        size = 4;
        break;
      case 0x12: // int64
      case 0x09: // date
      case 0x11: // timestamp
        if (key === 'ok' && i + 8 <= end) ok = Number(h.readBigInt64LE(i));
        size = 8;
        break;
      case 0x08: // bool
        if (key === 'ok' && i < end) ok = h[i];
        size = 1;
        break;
      case 0x02: // string
      case 0x0d: // JavaScript
      case 0x0e: // symbol
        if (i + 4 > end) return finish();
        size = 4 + h.readInt32LE(i);
        if (key === 'codeName' && i + size <= end && size > 5 && size <= 68) {
          let letters = true;
          for (let k = i + 4; k < i + size - 1; k++) if (!isAlpha(h[k])) letters = false;
          if (letters) codeName = h.toString('latin1', i + 4, i + size - 1);
        }
        break;
      case 0x03: // document
      case 0x04: // array
        if (i + 4 > end) return finish();
        size = h.readInt32LE(i);
        break;
      case 0x05: // binary
        if (i + 4 > end) return finish();
        size = 5 + h.readInt32LE(i);
        break;
      case 0x07: // ObjectId
        size = 12;
        break;
      case 0x13: // decimal128
        size = 16;
        break;
      case 0x0a: // null
      case 0x06: // undefined
      case 0x7f: // max key
      case 0xff: // min key
        size = 0;
        break;
      default:
        return finish(); // rare types: stop looking
    }
    if (size < 0) return finish();
    i += size;
  }
  return finish();

  function finish(): string | undefined {
    if (ok !== 0) return undefined;
    return `mongodb.${codeName ?? (code !== undefined ? String(code) : 'error')}`;
  }
}

const HANDSHAKES = new Set(['hello', 'isMaster', 'ismaster']);
const PHASES: Record<string, Phase | undefined> = {
  saslStart: 'setup',
  saslContinue: 'setup',
  authenticate: 'setup',
  getnonce: 'setup',
  ping: 'heartbeat',
  endSessions: 'teardown',
  logout: 'teardown',
};

class MongoParser extends BaseParser {
  readonly protocol = 'mongodb' as const;
  /** The connection's first handshake was seen. */
  private greeted = false;
  private pending = 0;
  private readonly creader = new FrameReader(
    160,
    (h, have) => (have < 4 ? -1 : lengthOf(h)),
    (h, have) => this.request(h, have),
    undefined,
  );
  private readonly sreader = new FrameReader(
    512,
    (h, have) => (have < 4 ? -1 : lengthOf(h)),
    undefined,
    (h, have) => this.response(h, have),
  );

  /**
   * The first handshake (`hello`/`isMaster`) and authentication are setup; later handshakes are
   * the driver's server monitoring, heartbeats, as is `ping`; `endSessions` and `logout` are teardown.
   */
  private phaseOf(name: string | undefined): Phase {
    if (name === undefined) return 'operation';
    if (HANDSHAKES.has(name)) {
      if (this.greeted) return 'heartbeat';
      this.greeted = true;
      return 'setup';
    }
    return PHASES[name] ?? 'operation';
  }

  private request(h: Buffer, have: number): void {
    if (have < 16) return void this.giveUp();
    const op = h.readInt32LE(12);
    let name: string | undefined;
    let oneWay = false;
    if (op === OP_MSG) {
      if (have < 21) return void this.giveUp();
      oneWay = (h.readUInt32LE(16) & MORE_TO_COME) !== 0;
      if (h[20] === 0) name = firstKey(h, 21, have);
    } else if (op === OP_QUERY) {
      let i = 20;
      while (i < have && h[i] !== 0) i++; // full collection name: skipped, never read out
      name = firstKey(h, i + 1 + 8, have);
    } else if (op === OP_COMPRESSED) {
      name = COMPRESSED;
    } else return void this.giveUp();
    if (name !== undefined && name !== COMPRESSED && !MONGODB_COMMANDS.has(name)) name = OTHER;
    const attributes =
      name === undefined
        ? { [ATTR_DB_SYSTEM_NAME]: 'mongodb' }
        : { [ATTR_DB_SYSTEM_NAME]: 'mongodb', [ATTR_DB_OPERATION_NAME]: name };
    const phase = this.phaseOf(name);
    this.reqs = add(
      this.reqs,
      oneWay ? { phase, operation: name, attributes, oneWay } : { phase, operation: name, attributes },
    );
    if (!oneWay) this.pending++;
  }

  private response(h: Buffer, have: number): void {
    if (have < 16 || this.pending === 0) return void this.giveUp();
    const op = h.readInt32LE(12);
    let error: string | undefined;
    let more = false;
    if (op === OP_MSG && have >= 21) {
      more = (h.readUInt32LE(16) & MORE_TO_COME) !== 0;
      if (h[20] === 0) error = replyError(h, 21, have);
    } else if (op === OP_REPLY && have >= 36) {
      error = replyError(h, 36, have);
    } else if (op !== OP_COMPRESSED) return void this.giveUp();
    this.pending--;
    this.resps = add(this.resps, error === undefined ? {} : { error });
    if (more) this.giveUp(); // the server now streams replies nobody asked for
  }

  protected client(chunk: Buffer): void {
    if (!this.creader.feed(chunk)) return this.giveUp();
  }

  protected server(chunk: Buffer): void {
    if (!this.sreader.feed(chunk)) return this.giveUp();
  }
}

function lengthOf(h: Buffer): number {
  const n = h.readInt32LE(0);
  return n >= 16 && n <= MAX_MESSAGE ? n : -2;
}

export const mongodb: Recogniser = {
  name: 'mongodb',
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new MongoParser();
  },
};
