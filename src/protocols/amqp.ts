/**
 * AMQP 0-9-1 (RabbitMQ).
 *
 * Requests: the protocol header `AMQP\x00\x00\x09\x01` (operation `connect`, answered by
 * connection.start), then each client method frame named `class.method` (`basic.publish`,
 * `queue.declare`, `connection.start-ok`). Methods the spec defines without a reply
 * (`basic.publish`, `basic.ack`, `connection.tune-ok`, `*.close-ok`, ...) and synchronous ones sent
 * with no-wait are one-way; client heartbeat frames are heartbeats. Content header/body frames are
 * skipped by size. Responses: the server's reply methods (`*-ok`, connection.start/secure/tune,
 * basic.get-empty; basic.get-ok after its content); a server channel.close or connection.close
 * while a request waits answers it with `amqp.<reply code>` (e.g. `amqp.404`). Deliveries,
 * returns, publisher confirms and server heartbeats are not responses. Only class and method ids
 * and the no-wait bit are read: never exchange, queue or routing-key names, headers or bodies.
 */
import type { DetectInput, Phase, Recogniser, RequestInfo } from './types';
import { ATTR_MESSAGING_OPERATION_NAME, ATTR_MESSAGING_SYSTEM } from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { startsWithAscii } from './bytes';
import { FrameReader } from './frame-reader';

const HEADER = 'AMQP\x00\x00\x09\x01';
const FRAME_METHOD = 1;
const FRAME_HEADER = 2;
const FRAME_BODY = 3;
const FRAME_HEARTBEAT = 8;

/** Method names by `classId << 16 | methodId`. */
const METHODS = new Map<number, string>();
function def(classId: number, cls: string, methods: [number, string][]): void {
  for (const [id, name] of methods) METHODS.set((classId << 16) | id, `${cls}.${name}`);
}
def(10, 'connection', [
  [10, 'start'],
  [11, 'start-ok'],
  [20, 'secure'],
  [21, 'secure-ok'],
  [30, 'tune'],
  [31, 'tune-ok'],
  [40, 'open'],
  [41, 'open-ok'],
  [50, 'close'],
  [51, 'close-ok'],
  [60, 'blocked'],
  [61, 'unblocked'],
  [70, 'update-secret'],
  [71, 'update-secret-ok'],
]);
def(20, 'channel', [
  [10, 'open'],
  [11, 'open-ok'],
  [20, 'flow'],
  [21, 'flow-ok'],
  [40, 'close'],
  [41, 'close-ok'],
]);
def(40, 'exchange', [
  [10, 'declare'],
  [11, 'declare-ok'],
  [20, 'delete'],
  [21, 'delete-ok'],
  [30, 'bind'],
  [31, 'bind-ok'],
  [40, 'unbind'],
  [51, 'unbind-ok'],
]);
def(50, 'queue', [
  [10, 'declare'],
  [11, 'declare-ok'],
  [20, 'bind'],
  [21, 'bind-ok'],
  [30, 'purge'],
  [31, 'purge-ok'],
  [40, 'delete'],
  [41, 'delete-ok'],
  [50, 'unbind'],
  [51, 'unbind-ok'],
]);
def(60, 'basic', [
  [10, 'qos'],
  [11, 'qos-ok'],
  [20, 'consume'],
  [21, 'consume-ok'],
  [30, 'cancel'],
  [31, 'cancel-ok'],
  [40, 'publish'],
  [50, 'return'],
  [60, 'deliver'],
  [70, 'get'],
  [71, 'get-ok'],
  [72, 'get-empty'],
  [80, 'ack'],
  [90, 'reject'],
  [100, 'recover-async'],
  [110, 'recover'],
  [111, 'recover-ok'],
  [120, 'nack'],
]);
def(85, 'confirm', [
  [10, 'select'],
  [11, 'select-ok'],
]);
def(90, 'tx', [
  [10, 'select'],
  [11, 'select-ok'],
  [20, 'commit'],
  [21, 'commit-ok'],
  [30, 'rollback'],
  [31, 'rollback-ok'],
]);

const key = (c: number, m: number): number => (c << 16) | m;

/** Client methods that expect no reply. */
const CLIENT_ONE_WAY = new Set([
  key(10, 31), // tune-ok
  key(10, 51), // close-ok
  key(20, 21), // flow-ok
  key(20, 41), // close-ok
  key(60, 40), // publish
  key(60, 80), // ack
  key(60, 90), // reject
  key(60, 100), // recover-async
  key(60, 120), // nack
]);

/** Where the no-wait bit is: skip a reserved short?, then N short strings; then bit index. */
const NO_WAIT = new Map<number, [boolean, number, number]>([
  [key(40, 10), [true, 2, 4]], // exchange.declare
  [key(40, 20), [true, 1, 1]], // exchange.delete
  [key(40, 30), [true, 3, 0]], // exchange.bind
  [key(40, 40), [true, 3, 0]], // exchange.unbind
  [key(50, 10), [true, 1, 4]], // queue.declare
  [key(50, 20), [true, 3, 0]], // queue.bind
  [key(50, 30), [true, 1, 0]], // queue.purge
  [key(50, 40), [true, 1, 2]], // queue.delete
  [key(60, 20), [true, 2, 3]], // basic.consume
  [key(60, 30), [false, 1, 0]], // basic.cancel
  [key(85, 10), [false, 0, 0]], // confirm.select
]);

/** Server methods that answer the oldest waiting request. */
const SERVER_REPLIES = new Set<number>([key(10, 10), key(10, 20), key(10, 30), key(60, 72)]);
for (const [k, name] of METHODS) if (name.endsWith('-ok') && k !== key(60, 71)) SERVER_REPLIES.add(k);
const GET_OK = key(60, 71);
const CONNECTION_CLOSE = key(10, 50);
const CHANNEL_CLOSE = key(20, 40);

function detect(input: DetectInput): boolean {
  return startsWithAscii(input.client, HEADER);
}

/** Channel set-up methods beyond channel.open: no instrumentation spans them, they configure it. */
const CHANNEL_SETUP = new Set(['channel.open', 'basic.qos', 'confirm.select']);

/**
 * The protocol header and `connection.*` are setup (but `connection.close*` is teardown), as are
 * channel.open and channel configuration; `channel.close*` is teardown; heartbeat frames heartbeat.
 */
function phaseOf(op: string): Phase {
  if (op === 'heartbeat') return 'heartbeat';
  if (op.endsWith('.close') || op.endsWith('.close-ok'))
    return op.startsWith('connection.') || op.startsWith('channel.') ? 'teardown' : 'operation';
  if (op === 'connect' || op.startsWith('connection.') || CHANNEL_SETUP.has(op)) return 'setup';
  return 'operation';
}

function request(op: string, extra?: { oneWay?: boolean; heartbeat?: boolean }): RequestInfo {
  const attributes = { [ATTR_MESSAGING_SYSTEM]: 'rabbitmq', [ATTR_MESSAGING_OPERATION_NAME]: op };
  return { phase: phaseOf(op), operation: op, attributes, ...extra };
}

function frameLength(h: Buffer, have: number): number {
  if (have < 7) return -1;
  if (h[0] !== FRAME_METHOD && h[0] !== FRAME_HEADER && h[0] !== FRAME_BODY && h[0] !== FRAME_HEARTBEAT)
    return -2;
  const size = h.readUInt32BE(3);
  return size < 0x7fffff00 ? 8 + size : -2;
}

class AmqpParser extends BaseParser {
  readonly protocol = 'amqp' as const;
  override version = '0.9.1';
  private headerLeft = 8;
  private pending = 0;
  /** basic.get-ok seen on this channel: its content ends the response. -1 when none. */
  private getChannel = -1;
  private getBodyLeft = -1;
  private readonly creader = new FrameReader(
    800,
    frameLength,
    (h, have) => this.clientFrame(h, have),
    undefined,
  );
  private readonly sreader = new FrameReader(64, frameLength, undefined, (h, have) =>
    this.serverFrame(h, have),
  );

  private clientFrame(h: Buffer, have: number): void {
    const type = h[0];
    if (type === FRAME_HEARTBEAT) {
      this.reqs = add(this.reqs, request('heartbeat', { heartbeat: true }));
      return;
    }
    if (type !== FRAME_METHOD) return; // content of a publish
    if (have < 11) return void this.giveUp();
    const k = key(h.readUInt16BE(7), h.readUInt16BE(9));
    const name = METHODS.get(k);
    if (name === undefined) return void this.giveUp();
    const oneWay = CLIENT_ONE_WAY.has(k) || this.noWait(k, h, have);
    this.reqs = add(this.reqs, request(name, oneWay ? { oneWay } : undefined));
    if (!oneWay) this.pending++;
  }

  private noWait(k: number, h: Buffer, have: number): boolean {
    const spec = NO_WAIT.get(k);
    if (spec === undefined) return false;
    let i = 11 + (spec[0] ? 2 : 0);
    for (let s = 0; s < spec[1]; s++) {
      if (i >= have) return false;
      i += 1 + h[i];
    }
    return i < have && (h[i] & (1 << spec[2])) !== 0;
  }

  private serverFrame(h: Buffer, have: number): void {
    const type = h[0];
    const channel = h.readUInt16BE(1);
    if (type === FRAME_HEARTBEAT) return;
    if (type === FRAME_HEADER || type === FRAME_BODY) {
      if (channel !== this.getChannel) return; // a delivery's content
      if (type === FRAME_HEADER) {
        if (have < 19) return void this.giveUp();
        this.getBodyLeft = h.readUInt32BE(11) * 2 ** 32 + h.readUInt32BE(15);
      } else this.getBodyLeft -= h.readUInt32BE(3);
      if (this.getBodyLeft <= 0) {
        this.getChannel = -1;
        this.answer(undefined);
      }
      return;
    }
    if (have < 11) return void this.giveUp();
    const k = key(h.readUInt16BE(7), h.readUInt16BE(9));
    if (k === GET_OK) {
      this.getChannel = channel;
      this.getBodyLeft = -1;
      return;
    }
    if (SERVER_REPLIES.has(k)) return this.answer(undefined);
    if (k === CHANNEL_CLOSE || k === CONNECTION_CLOSE) {
      if (this.pending > 0) this.answer(`amqp.${have >= 13 ? h.readUInt16BE(11) : 'close'}`);
    }
    // deliver, return, ack/nack confirms, blocked, server cancel: not answers
  }

  private answer(error: string | undefined): void {
    if (this.pending === 0) return void this.giveUp();
    this.pending--;
    this.resps = add(this.resps, error === undefined ? {} : { error });
  }

  protected client(chunk: Buffer): void {
    let data = chunk;
    if (this.headerLeft > 0) {
      const n = Math.min(this.headerLeft, chunk.length);
      for (let k = 0; k < n; k++)
        if (chunk[k] !== HEADER.charCodeAt(8 - this.headerLeft + k)) return this.giveUp();
      this.headerLeft -= n;
      if (this.headerLeft === 0) {
        this.reqs = add(this.reqs, request('connect'));
        this.pending++;
      }
      data = chunk.subarray(n);
    }
    if (data.length > 0 && !this.creader.feed(data)) return this.giveUp();
  }

  protected server(chunk: Buffer): void {
    if (!this.sreader.feed(chunk)) return this.giveUp(); // e.g. the server's own header: version refused
  }
}

export const amqp: Recogniser = {
  name: 'amqp',
  clientStartsWith: (b) => b === 0x41 /* A of AMQP */,
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new AmqpParser();
  },
};
