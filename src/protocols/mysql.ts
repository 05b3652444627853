/**
 * MySQL / MariaDB client/server protocol (protocol version 10 greeting).
 *
 * The server speaks first (greeting). The client's handshake response is the request `CONNECT`,
 * answered by the OK or ERR that ends authentication (auth-switch and more-data packets in between
 * are part of it). In the command phase every client packet with sequence id 0 is a command:
 * COM_QUERY is named by its first SQL keyword, COM_STMT_PREPARE is `PREPARE`, COM_STMT_EXECUTE is
 * named by the keyword of the statement it prepared earlier on this connection (else `EXECUTE`;
 * MariaDB's statement id 0xffffffff is the statement most recently sent to PREPARE, which its
 * connector pipelines with the first run), and both carry the statement's shape,
 * other commands by their name without `COM_` (`PING`, `INIT_DB`, ...). A response ends at its final
 * OK/EOF/ERR packet, following result sets (column count, column definitions, EOF unless
 * CLIENT_DEPRECATE_EOF, rows, final EOF/OK) and SERVER_MORE_RESULTS_EXISTS. ERR → `mysql.<code>`.
 * COM_QUIT, COM_STMT_CLOSE and COM_STMT_SEND_LONG_DATA are one-way. TLS, compression, LOCAL INFILE,
 * binlog streaming or anything unknown → unframed.
 */
import type { DetectInput, Phase, Recogniser, RequestInfo } from './types';
import { ATTR_DB_OPERATION_NAME, ATTR_DB_SYSTEM_NAME } from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { MAX_PENDING, MAX_STATEMENTS } from './limits';
import { OTHER } from './other';
import { FrameReader } from './frame-reader';
import { sqlKeyword, sqlShape } from './sql';

const CLIENT_COMPRESS = 0x20;
const CLIENT_PROTOCOL_41 = 0x200;
const CLIENT_SSL = 0x800;
const CLIENT_DEPRECATE_EOF = 1 << 24;
const CLIENT_MYSQL = 1; // unset by MariaDB servers that announce extended capabilities
const MARIADB_CLIENT_CACHE_METADATA = 1 << 4; // in the extended (upper 32 bits) capability word
const SERVER_MORE_RESULTS_EXISTS = 0x0008;
const SERVER_STATUS_CURSOR_EXISTS = 0x0040;
/** COM_STMT_EXECUTE's statement id for "the statement just prepared" (MariaDB 10.2+). */
const LAST_PREPARED = 0xffffffff;
const MAX_PACKET = 0xffffff;

// What the response to a pending command looks like.
const enum Kind {
  Simple, // a single OK / ERR / EOF packet
  ResultSet, // OK | ERR | result sets
  Prepare, // OK_prepare + parameter and column definitions
  Fetch, // rows until EOF/OK
  FieldList, // column definitions until EOF/OK
  AnyOne, // exactly one packet of any shape (COM_STATISTICS)
  Auth, // authentication until OK/ERR (handshake, COM_CHANGE_USER)
}

interface Command {
  op: string;
  kind: Kind;
  oneWay?: boolean;
  /** Absent: an operation. */
  phase?: Phase;
}

const COMMANDS: Record<number, Command | undefined> = {
  0x01: { op: 'QUIT', kind: Kind.Simple, oneWay: true, phase: 'teardown' },
  0x02: { op: 'INIT_DB', kind: Kind.Simple },
  0x04: { op: 'FIELD_LIST', kind: Kind.FieldList },
  0x05: { op: 'CREATE_DB', kind: Kind.Simple },
  0x06: { op: 'DROP_DB', kind: Kind.Simple },
  0x07: { op: 'REFRESH', kind: Kind.Simple },
  0x09: { op: 'STATISTICS', kind: Kind.AnyOne },
  0x0a: { op: 'PROCESS_INFO', kind: Kind.ResultSet },
  0x0c: { op: 'PROCESS_KILL', kind: Kind.Simple },
  0x0d: { op: 'DEBUG', kind: Kind.Simple },
  0x0e: { op: 'PING', kind: Kind.Simple, phase: 'heartbeat' },
  0x11: { op: 'CHANGE_USER', kind: Kind.Auth, phase: 'setup' },
  0x16: { op: 'PREPARE', kind: Kind.Prepare },
  0x18: { op: 'STMT_SEND_LONG_DATA', kind: Kind.Simple, oneWay: true },
  0x19: { op: 'STMT_CLOSE', kind: Kind.Simple, oneWay: true },
  0x1a: { op: 'STMT_RESET', kind: Kind.Simple },
  0x1b: { op: 'SET_OPTION', kind: Kind.Simple },
  0x1c: { op: 'STMT_FETCH', kind: Kind.Fetch },
  0x1f: { op: 'RESET_CONNECTION', kind: Kind.Simple, phase: 'setup' },
};

function payloadLength(h: Buffer): number {
  return h[0] | (h[1] << 8) | (h[2] << 16);
}

function detect(input: DetectInput): boolean {
  const s = input.server;
  if (s.length < 6 || s[3] !== 0 || s[4] !== 10) return false;
  const len = payloadLength(s);
  if (len < 20 || len > 1024) return false;
  // Server version: printable ASCII then NUL, within the prefix we were given.
  for (let i = 5; i < s.length && i < 5 + 80; i++) {
    const c = s[i];
    if (c === 0) return i > 5;
    if (c < 0x20 || c > 0x7e) return false;
  }
  return false;
}

function request(op: string, oneWay = false, phase: Phase = 'operation'): RequestInfo {
  const attributes = { [ATTR_DB_SYSTEM_NAME]: 'mysql', [ATTR_DB_OPERATION_NAME]: op };
  return oneWay ? { phase, operation: op, attributes, oneWay } : { phase, operation: op, attributes };
}

/** Reads a length-encoded integer at `o`; returns [value, next offset] or undefined past `have`. */
function lenenc(h: Buffer, o: number, have: number): [number, number] | undefined {
  if (o >= have) return undefined;
  const b = h[o];
  if (b < 0xfb) return [b, o + 1];
  if (b === 0xfc) return o + 3 <= have ? [h[o + 1] | (h[o + 2] << 8), o + 3] : undefined;
  if (b === 0xfd) return o + 4 <= have ? [h[o + 1] | (h[o + 2] << 8) | (h[o + 3] << 16), o + 4] : undefined;
  if (b === 0xfe)
    return o + 9 <= have ? [h.readUInt32LE(o + 1) + h.readUInt32LE(o + 5) * 2 ** 32, o + 9] : undefined;
  return undefined;
}

class MysqlParser extends BaseParser {
  readonly protocol = 'mysql' as const;
  private phase: 'greeting' | 'handshake' | 'auth' | 'command' = 'greeting';
  private serverCaps = 0;
  private serverExtCaps = 0;
  private deprecateEof = false;
  private cacheMetadata = false;
  private readonly pending: Command[] = [];
  /** Prepared statement id → keyword and shape of its SQL; bounded, cleared when full. */
  private readonly statements = new Map<number, { op: string; shape: string | undefined }>();
  // Response state for the front pending command.
  private rsState = 0;
  private remaining = 0;
  private prepareStmtId = -1;
  private clientCont = false;
  private serverCont = false;

  private readonly clientReader = new FrameReader(
    // Room for the start of the SQL text: its keyword names the request, its shape tells statements apart.
    320,
    (_h, have) => (have < 4 ? -1 : payloadLength(_h) + 4),
    (h, have, total) => {
      const cont = this.clientCont;
      this.clientCont = total - 4 === MAX_PACKET;
      if (!cont) this.clientPacket(h, have, total - 4);
    },
    undefined,
  );
  private readonly serverReader = new FrameReader(
    160,
    (_h, have) => (have < 4 ? -1 : payloadLength(_h) + 4),
    undefined,
    (h, have, total) => {
      const cont = this.serverCont;
      this.serverCont = total - 4 === MAX_PACKET;
      if (!cont) this.serverPacket(h, have, total - 4);
    },
  );

  private clientPacket(h: Buffer, have: number, len: number): void {
    if (this.phase === 'greeting') return void this.giveUp(); // client spoke before the greeting
    if (this.phase === 'handshake') {
      const caps = have >= 8 ? h.readUInt32LE(4) : 0;
      if (!(caps & CLIENT_PROTOCOL_41) || caps & CLIENT_COMPRESS) return void this.giveUp();
      if (caps & CLIENT_SSL) return void this.giveUp(); // SSLRequest: TLS follows on this socket
      this.deprecateEof = (caps & this.serverCaps & CLIENT_DEPRECATE_EOF) !== 0;
      if (!(this.serverCaps & CLIENT_MYSQL) && have >= 36) {
        const ext = h.readUInt32LE(32);
        this.cacheMetadata = (ext & this.serverExtCaps & MARIADB_CLIENT_CACHE_METADATA) !== 0;
      }
      this.phase = 'auth';
      this.startCommand({ op: 'CONNECT', kind: Kind.Auth, phase: 'setup' });
      return;
    }
    if (this.phase === 'auth' || h[3] !== 0 || len === 0) return; // auth data, continuation
    const code = h[4];
    if (code === 0x03 /* COM_QUERY */) {
      this.startCommand({ op: sqlKeyword(h, 5, have) ?? OTHER, kind: Kind.ResultSet }, sqlShape(h, 5, have));
    } else if (code === 0x17 /* COM_STMT_EXECUTE */) {
      const id = have >= 9 ? h.readUInt32LE(5) : -1;
      const st = id === LAST_PREPARED ? this.lastPrepared : this.statements.get(id);
      this.startCommand({ op: st?.op ?? 'EXECUTE', kind: Kind.ResultSet }, st?.shape);
    } else if (code === 0x16 /* COM_STMT_PREPARE */) {
      this.pendingKeyword = sqlKeyword(h, 5, have);
      this.pendingShape = sqlShape(h, 5, have);
      this.lastPrepared =
        this.pendingKeyword === undefined ? undefined : { op: this.pendingKeyword, shape: this.pendingShape };
      // The shape too: a PREPARE that carries the statement's first run (MariaDB) is one of its runs.
      this.startCommand({ op: 'PREPARE', kind: Kind.Prepare }, this.pendingShape);
    } else {
      const cmd = COMMANDS[code];
      if (cmd === undefined) return void this.giveUp();
      if (code === 0x19 && have >= 9) this.statements.delete(h.readUInt32LE(5));
      this.startCommand(cmd);
    }
  }

  /** Keyword of the most recent COM_STMT_PREPARE, remembered with its statement id on success. */
  private pendingKeyword: string | undefined;
  private pendingShape: string | undefined;
  /** The statement most recently sent to COM_STMT_PREPARE, for MariaDB's id 0xffffffff. */
  private lastPrepared: { op: string; shape: string | undefined } | undefined = undefined;
  private readonly prepareKeywords: Array<{ op: string | undefined; shape: string | undefined }> = [];

  private startCommand(cmd: Command, shape?: string): void {
    const r = request(cmd.op, cmd.oneWay, cmd.phase);
    this.reqs = add(this.reqs, shape === undefined ? r : { ...r, shape });
    if (cmd.oneWay) return;
    if (this.pending.length >= MAX_PENDING) return void this.giveUp();
    if (this.pending.length === 0) this.resetResponse();
    this.pending.push(cmd);
    if (cmd.kind === Kind.Prepare)
      this.prepareKeywords.push({ op: this.pendingKeyword, shape: this.pendingShape });
  }

  private resetResponse(): void {
    this.rsState = 0;
    this.remaining = 0;
    this.prepareStmtId = -1;
  }

  private finish(error?: string): void {
    const cmd = this.pending.shift();
    if (cmd?.kind === Kind.Prepare) {
      const kw = this.prepareKeywords.shift();
      if (error === undefined && this.prepareStmtId >= 0 && kw?.op !== undefined) {
        if (this.statements.size >= MAX_STATEMENTS) this.statements.clear();
        this.statements.set(this.prepareStmtId, { op: kw.op, shape: kw.shape });
      }
    }
    this.resps = add(this.resps, error === undefined ? {} : { error });
    this.resetResponse();
  }

  private serverPacket(h: Buffer, have: number, len: number): void {
    if (this.phase === 'greeting') {
      this.greeting(h, have);
      return;
    }
    const cmd = this.pending[0];
    if (cmd === undefined) {
      // Unsolicited: only an ERR before shutdown is expected; anything else means we lost track.
      if (h[4] !== 0xff) this.giveUp();
      return;
    }
    const first = h[4];
    if (first === 0xff && cmd.kind !== Kind.AnyOne) {
      const code = have >= 7 ? h.readUInt16LE(5) : 0;
      this.finish(`mysql.${code}`);
      return;
    }
    switch (cmd.kind) {
      case Kind.Auth:
        if (first === 0x00) {
          if (this.phase === 'auth') this.phase = 'command';
          this.finish();
        }
        return; // 0xfe auth switch / 0x01 more data: still authenticating
      case Kind.Simple:
      case Kind.AnyOne:
        this.finish();
        return;
      case Kind.Prepare:
        return this.prepareResponse(h, have);
      case Kind.FieldList:
        if (first === 0xfe && (len < 9 || this.deprecateEof)) this.finish();
        return;
      case Kind.Fetch:
        this.rsState = 3;
        return this.resultSet(h, have, len);
      case Kind.ResultSet:
        return this.resultSet(h, have, len);
    }
  }

  private greeting(h: Buffer, have: number): void {
    if (h[4] !== 10) return void this.giveUp();
    let i = 5;
    while (i < have && h[i] !== 0) i++;
    i += 1 + 4 + 8 + 1; // NUL, connection id, auth data part 1, filler
    if (i + 2 > have) return void this.giveUp();
    let caps = h.readUInt16LE(i);
    i += 2 + 1 + 2; // charset, status
    if (i + 2 <= have) caps |= h.readUInt16LE(i) << 16;
    i += 2 + 1 + 6; // auth data length, reserved
    if (i + 4 <= have) this.serverExtCaps = h.readUInt32LE(i);
    this.serverCaps = caps >>> 0;
    this.phase = 'handshake';
  }

  private prepareResponse(h: Buffer, have: number): void {
    if (this.rsState === 0) {
      if (h[4] !== 0x00 || have < 4 + 9) return void this.giveUp();
      this.prepareStmtId = h.readUInt32LE(5);
      const cols = h.readUInt16LE(9);
      const params = h.readUInt16LE(11);
      const eof = this.deprecateEof ? 0 : 1;
      this.remaining = (params > 0 ? params + eof : 0) + (cols > 0 ? cols + eof : 0);
      this.rsState = 1;
    } else this.remaining--;
    if (this.remaining <= 0) this.finish();
  }

  /** Result-set state machine: 0 first packet, 1 column definitions, 2 EOF after them, 3 rows. */
  private resultSet(h: Buffer, have: number, len: number): void {
    const first = h[4];
    switch (this.rsState) {
      case 0: {
        if (first === 0x00) return this.endOfResult(this.okStatus(h, have));
        if (first === 0xfb) return void this.giveUp(); // LOCAL INFILE request
        const n = lenenc(h, 4, have);
        if (n === undefined || n[0] === 0) return void this.giveUp();
        let metadata = true;
        if (this.cacheMetadata) metadata = n[1] < have && h[n[1]] !== 0;
        if (metadata) {
          this.remaining = n[0];
          this.rsState = 1;
        } else this.rsState = this.deprecateEof ? 3 : 2;
        return;
      }
      case 1:
        if (--this.remaining <= 0) this.rsState = this.deprecateEof ? 3 : 2;
        return;
      case 2: {
        if (first !== 0xfe || len >= 9) return void this.giveUp();
        const status = have >= 9 ? h.readUInt16LE(7) : 0;
        if (status & SERVER_STATUS_CURSOR_EXISTS)
          return this.endOfResult(status & ~SERVER_MORE_RESULTS_EXISTS);
        this.rsState = 3;
        return;
      }
      default: {
        if (first !== 0xfe) return; // a row
        if (this.deprecateEof ? len >= MAX_PACKET : len >= 9) return; // a row starting with 0xfe
        const status = this.deprecateEof ? this.okStatus(h, have) : have >= 9 ? h.readUInt16LE(7) : 0;
        return this.endOfResult(status);
      }
    }
  }

  private okStatus(h: Buffer, have: number): number {
    const a = lenenc(h, 5, have);
    const b = a && lenenc(h, a[1], have);
    return b && b[1] + 2 <= have ? h.readUInt16LE(b[1]) : 0;
  }

  private endOfResult(status: number): void {
    if (status & SERVER_MORE_RESULTS_EXISTS) this.rsState = 0;
    else this.finish();
  }

  protected client(chunk: Buffer): void {
    if (!this.clientReader.feed(chunk)) this.giveUp();
  }

  protected server(chunk: Buffer): void {
    if (!this.serverReader.feed(chunk)) this.giveUp();
  }
}

export const mysql: Recogniser = {
  name: 'mysql',
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new MysqlParser();
  },
};
