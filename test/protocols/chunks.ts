/** Hand-built recorded chunks for replaying bytes through the recognisers. */
import type { RecordedChunk } from '../helpers/recording-proxy';

/** Bytes the client sent (a string is taken byte for byte, as latin1). */
export const c = (x: string | Buffer): RecordedChunk => ({
  dir: 'client',
  data: Buffer.from(x as string, 'latin1'),
});
/** Bytes the server sent. */
export const s = (x: string | Buffer): RecordedChunk => ({
  dir: 'server',
  data: Buffer.from(x as string, 'latin1'),
});

/** A MySQL packet: 3-byte little-endian length, sequence id, payload. */
export function myPkt(seq: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([payload.length & 0xff, payload.length >> 8, 0, seq]), payload]);
}
/** A MariaDB server greeting (protocol 10, mysql_native_password). */
export const myGreeting = myPkt(
  0,
  Buffer.concat([
    Buffer.from([10]),
    Buffer.from('10.11.6-MariaDB\0'),
    Buffer.alloc(4),
    Buffer.from('12345678\0'),
    Buffer.from([0xff, 0xf7, 8, 2, 0, 0xff, 0x81, 21]),
    Buffer.alloc(10),
    Buffer.from('123456789012\0mysql_native_password\0'),
  ]),
);
/** The client's handshake response, user root, no password. */
export const myLogin = myPkt(
  1,
  Buffer.concat([Buffer.from([0x0d, 0xa2, 0x0a, 0]), Buffer.alloc(28), Buffer.from('root\0\0')]),
);
/** An OK packet with the given sequence id. */
export const myOk = (seq: number): Buffer => myPkt(seq, Buffer.from([0, 0, 0, 2, 0, 0, 0]));
