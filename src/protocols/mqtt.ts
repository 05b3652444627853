/**
 * MQTT 3.1, 3.1.1 and 5.
 *
 * Requests: each client control packet, named by its type (`CONNECT`, `PUBLISH`, `SUBSCRIBE`,
 * `UNSUBSCRIBE`, `PUBREL`, ...). QoS 0 PUBLISH, PUBACK, PUBCOMP and DISCONNECT are one-way;
 * PINGREQ is a heartbeat. Responses: CONNACK, SUBACK, UNSUBACK, PUBACK, PUBREC, PUBREL, PUBCOMP (the
 * acknowledgement flow of the client's own packets); a failure code in CONNACK, SUBACK or a v5
 * acknowledgement → `mqtt.<code>`. The server's PUBLISH (a delivery) and PINGRESP are not responses.
 * The version (`3.1.1`, `5`) comes from CONNECT. Topic names and payloads are never read.
 */
import type { DetectInput, Recogniser, RequestInfo } from './types';
import {
  ATTR_MESSAGING_OPERATION_NAME,
  ATTR_MESSAGING_SYSTEM,
  ATTR_NETWORK_PROTOCOL_VERSION,
} from '../spans/semconv';
import { add, BaseParser } from './base-parser';
import { startsWithAscii } from './bytes';
import { FrameReader } from './frame-reader';

const NAMES = [
  'RESERVED',
  'CONNECT',
  'CONNACK',
  'PUBLISH',
  'PUBACK',
  'PUBREC',
  'PUBREL',
  'PUBCOMP',
  'SUBSCRIBE',
  'SUBACK',
  'UNSUBSCRIBE',
  'UNSUBACK',
  'PINGREQ',
  'PINGRESP',
  'DISCONNECT',
  'AUTH',
];

/** Length of the fixed header plus remaining length, or -1 (need more) / -2 (malformed). */
function packetLength(h: Buffer, have: number): number {
  let mult = 1;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    if (i >= have) return -1;
    const b = h[i];
    value += (b & 0x7f) * mult;
    if ((b & 0x80) === 0) return 1 + i + value;
    mult *= 128;
  }
  return -2;
}

function versionOf(h: Buffer, have: number): string | undefined {
  const vh = 1 + (packetLength(h, have) > 0 ? varintBytes(h, have) : 0);
  if (startsWithAscii(h, '\x00\x04MQTT', vh) && vh + 6 < have) {
    const level = h[vh + 6];
    return level === 4 ? '3.1.1' : level === 5 ? '5' : level === 3 ? '3.1' : undefined;
  }
  if (startsWithAscii(h, '\x00\x06MQIsdp', vh)) return '3.1';
  return undefined;
}

function varintBytes(h: Buffer, have: number): number {
  let n = 0;
  for (let i = 1; i <= 4 && i < have; i++) {
    n++;
    if ((h[i] & 0x80) === 0) break;
  }
  return n;
}

function detect(input: DetectInput): boolean {
  const c = input.client;
  return c.length >= 9 && c[0] === 0x10 && versionOf(c, Math.min(c.length, 64)) !== undefined;
}

class MqttParser extends BaseParser {
  readonly protocol = 'mqtt' as const;
  private pending = 0;
  private readonly creader = new FrameReader(
    32,
    packetLength,
    (h, have) => this.clientPacket(h, have),
    undefined,
  );
  private readonly sreader = new FrameReader(64, packetLength, undefined, (h, have) =>
    this.serverPacket(h, have),
  );

  private clientPacket(h: Buffer, have: number): void {
    const type = h[0] >> 4;
    const name = NAMES[type];
    if (type === 0) return void this.giveUp();
    if (type === 1) {
      this.version = versionOf(h, have);
      if (this.version === undefined) return void this.giveUp();
    }
    let oneWay = false;
    let heartbeat = false;
    if (type === 3)
      oneWay = ((h[0] >> 1) & 3) === 0; // QoS 0 publish
    else if (type === 4 || type === 7 || type === 14)
      oneWay = true; // PUBACK, PUBCOMP, DISCONNECT
    else if (type === 12) heartbeat = true;
    else if (type === 2 || type === 9 || type === 11 || type === 13)
      return void this.giveUp(); // server-only
    else if (type === 15) return void this.giveUp(); // enhanced auth: challenge/response we do not pair
    const attributes: Record<string, string> = {
      [ATTR_MESSAGING_SYSTEM]: 'mqtt',
      [ATTR_MESSAGING_OPERATION_NAME]: name,
    };
    if (this.version !== undefined) attributes[ATTR_NETWORK_PROTOCOL_VERSION] = this.version;
    const phase = type === 1 ? 'setup' : type === 14 ? 'teardown' : heartbeat ? 'heartbeat' : 'operation';
    const info: RequestInfo = { phase, operation: name, attributes };
    if (oneWay) info.oneWay = true;
    if (heartbeat) info.heartbeat = true;
    this.reqs = add(this.reqs, info);
    if (!oneWay && !heartbeat) this.pending++;
  }

  private serverPacket(h: Buffer, have: number): void {
    const type = h[0] >> 4;
    if (type === 3 || type === 13) return; // delivery, PINGRESP
    if (type === 14) return; // v5 server DISCONNECT: the socket closes next
    if (type === 15 || type === 0 || type === 1 || type === 8 || type === 10 || type === 12)
      return void this.giveUp();
    if (this.pending === 0) return void this.giveUp();
    this.pending--;
    const code = this.failure(type, h, have);
    this.resps = add(this.resps, code === undefined ? {} : { error: `mqtt.${code}` });
  }

  /** The failure reason code of an acknowledgement, if any (read within the prefix only). */
  private failure(type: number, h: Buffer, have: number): number | undefined {
    const total = packetLength(h, have);
    const vh = 1 + varintBytes(h, have);
    const v5 = this.version === '5';
    if (type === 2) {
      // CONNACK: flags, return / reason code
      const rc = vh + 1 < have ? h[vh + 1] : 0;
      return rc !== 0 ? rc : undefined;
    }
    if (type === 9 || (type === 11 && v5)) {
      // SUBACK / v5 UNSUBACK: packet id, [properties], one code per topic filter
      let i = vh + 2;
      if (v5) {
        if (i >= have) return undefined;
        let plen = 0;
        let mult = 1;
        for (let k = 0; k < 4 && i < have; k++) {
          const b = h[i++];
          plen += (b & 0x7f) * mult;
          mult *= 128;
          if ((b & 0x80) === 0) break;
        }
        i += plen;
      }
      for (; i < have && i < total; i++) if (h[i] >= 0x80) return h[i];
      return undefined;
    }
    if (v5 && (type === 4 || type === 5 || type === 6 || type === 7)) {
      // v5 acknowledgements may carry a reason code after the packet id
      const rc = vh + 2 < have && vh + 2 < total ? h[vh + 2] : 0;
      return rc >= 0x80 ? rc : undefined;
    }
    return undefined;
  }

  protected client(chunk: Buffer): void {
    if (!this.creader.feed(chunk)) return this.giveUp();
  }

  protected server(chunk: Buffer): void {
    if (!this.sreader.feed(chunk)) return this.giveUp();
  }
}

export const mqtt: Recogniser = {
  name: 'mqtt',
  clientStartsWith: (b) => b === 0x10 /* CONNECT */,
  detect(input) {
    return detect(input);
  },
  createParser() {
    return new MqttParser();
  },
};
