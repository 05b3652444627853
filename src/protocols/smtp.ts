/**
 * SMTP / ESMTP.
 *
 * The server speaks first (`220` greeting; it answers no request). Requests: each client command
 * line, named by its verb (`EHLO`, `MAIL`, `RCPT`, `DATA`, `AUTH`, `QUIT`, ...; `_OTHER` when not a
 * known verb); arguments
 * (addresses, credentials) are never read out. Responses: each final reply (the last line of a
 * multi-line reply). `DATA` is one exchange from the command to the reply after the message's
 * closing `.` (the `354` in between is interim); `AUTH` ends at the first reply that is not a `334`
 * challenge, and the client's challenge answers are not requests. `BDAT` chunks are skipped by
 * size. A 4xx/5xx final reply → `smtp.<code>`. After a successful `STARTTLS` the bytes are
 * encrypted → unframed.
 */
import type { DetectInput, Phase, Recogniser } from './types';
import { add, BaseParser } from './base-parser';
import { MAX_PENDING } from './limits';
import { CR, isDigit, LF, startsWithAscii } from './bytes';
import { LineScanner } from './line-scanner';
import { LineStream } from './line-stream';
import { OTHER } from './other';

/** SMTP and ESMTP command verbs (RFC 5321 and its extensions, LMTP's LHLO, Postfix's XCLIENT). */
const VERBS = new Set(
  'HELO EHLO LHLO MAIL RCPT DATA BDAT RSET VRFY EXPN HELP NOOP QUIT AUTH STARTTLS ETRN ATRN TURN SEND SOML SAML XCLIENT XFORWARD'.split(
    ' ',
  ),
);

/** Greeting, authentication and TLS are setup; QUIT ends the session; NOOP keeps it alive. */
const PHASES: Record<string, Phase | undefined> = {
  HELO: 'setup',
  EHLO: 'setup',
  LHLO: 'setup',
  AUTH: 'setup',
  STARTTLS: 'setup',
  QUIT: 'teardown',
  NOOP: 'heartbeat',
};

const SMTP_PORTS = new Set([25, 465, 587, 2525, 1025]);

function detect(input: DetectInput): boolean {
  const s = input.server;
  if (s.length < 4 || !startsWithAscii(s, '220') || (s[3] !== 0x20 && s[3] !== 0x2d)) return false;
  if (SMTP_PORTS.has(input.port)) return true;
  // Other 220 greeters exist (FTP): require the word SMTP in the greeting's first line.
  for (let i = 4; i + 4 <= s.length && s[i] !== LF; i++) {
    if (
      (s[i] | 0x20) === 0x73 &&
      (s[i + 1] | 0x20) === 0x6d &&
      (s[i + 2] | 0x20) === 0x74 &&
      (s[i + 3] | 0x20) === 0x70
    )
      return true;
  }
  return false;
}

const enum Cmd {
  Plain = 0,
  Data = 1,
  Auth = 2,
  StartTls = 3,
}

class SmtpParser extends BaseParser {
  readonly protocol = 'smtp' as const;
  private readonly cline = new LineScanner(64 * 1024);
  private readonly sin = new LineStream(64 * 1024, this, () => this.replyLine());
  private readonly sline = this.sin.line;
  /** The greeting has not finished yet (it answers no request). */
  private greeting = true;
  private readonly pending: Cmd[] = [];
  /** 0 commands; 1 message body (until CRLF.CRLF); 2 auth answer line; 3 BDAT chunk bytes */
  private cmode = 0;
  private bodyMatch = 2; // progress through "\r\n.\r\n"; starts as if after a CRLF
  private bdatLeft = 0;

  protected client(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && this.framed) {
      if (this.cmode === 1) {
        i = this.body(chunk, i);
        continue;
      }
      if (this.cmode === 3) {
        const n = Math.min(this.bdatLeft, chunk.length - i);
        this.bdatLeft -= n;
        i += n;
        if (this.bdatLeft === 0) this.cmode = 0;
        continue;
      }
      const r = this.cline.scan(chunk, i);
      if (r === -2) return this.giveUp();
      if (r === -1) break;
      i = r;
      if (this.cmode === 2)
        this.cmode = 0; // an AUTH challenge answer: part of the AUTH request
      else this.command();
      this.cline.reset();
    }
  }

  /** Skips message body bytes until the terminating CRLF.CRLF. */
  private body(chunk: Buffer, i: number): number {
    const END = '\r\n.\r\n';
    while (i < chunk.length) {
      const c = chunk[i++];
      if (c === END.charCodeAt(this.bodyMatch)) {
        if (++this.bodyMatch === END.length) {
          this.cmode = 0;
          this.bodyMatch = 2;
          return i;
        }
      } else this.bodyMatch = c === CR ? 1 : 0;
    }
    return i;
  }

  private command(): void {
    const l = this.cline;
    if (l.tokens === 0) return;
    // Each line is one command whatever its verb: an unknown one is named `_OTHER`, framing holds.
    const verb = l.verb(12) ?? OTHER;
    const kind =
      verb === 'DATA'
        ? Cmd.Data
        : verb === 'AUTH'
          ? Cmd.Auth
          : verb === 'STARTTLS'
            ? Cmd.StartTls
            : Cmd.Plain;
    if (verb === 'BDAT') {
      if (l.nums[1] < 0) return void this.giveUp();
      this.bdatLeft = l.nums[1];
      if (this.bdatLeft > 0) this.cmode = 3;
    }
    const operation = VERBS.has(verb) ? verb : OTHER;
    this.reqs = add(this.reqs, { operation, phase: PHASES[operation] ?? 'operation' });
    if (this.pending.length >= MAX_PENDING) return void this.giveUp();
    this.pending.push(kind);
  }

  protected server(chunk: Buffer): void {
    if (!this.sin.feed(chunk)) this.giveUp();
  }

  private replyLine(): void {
    const l = this.sline;
    const f = l.first;
    if (l.firstLen < 3 || !isDigit(f[0]) || !isDigit(f[1]) || !isDigit(f[2])) return void this.giveUp();
    if (l.firstLen > 3 && f[3] === 0x2d /* - */) return; // continuation line of a multi-line reply
    if (l.firstLen > 3) return void this.giveUp();
    const code = (f[0] - 0x30) * 100 + (f[1] - 0x30) * 10 + (f[2] - 0x30);
    if (this.greeting) {
      this.greeting = false;
      if (code !== 220) this.giveUp(); // 554: the server refuses service
      return;
    }
    const kind = this.pending[0];
    if (kind === undefined) return void this.giveUp();
    if (kind === Cmd.Data && code === 354) {
      this.cmode = 1; // the message body follows; its final reply answers DATA
      this.bodyMatch = 2;
      return;
    }
    if (kind === Cmd.Auth && code === 334) {
      this.cmode = 2; // the client's next line answers the challenge
      return;
    }
    this.pending.shift();
    this.resps = add(this.resps, code >= 400 ? { error: `smtp.${code}` } : {});
    if (kind === Cmd.StartTls && code === 220) this.giveUp(); // TLS from here on
  }
}

export const smtp: Recogniser = {
  name: 'smtp',
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new SmtpParser();
  },
};
