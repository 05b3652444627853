/**
 * Protocols with no server on this machine (MongoDB, Kafka, SMTP, memcached): the real client
 * libraries (`mongodb`, `kafkajs`, `nodemailer`, `memjs`) talk to a loopback listener that records
 * every chunk and answers just enough for the client to continue. The recorded bytes are then
 * replayed into the recognisers. The client bytes are real; the server bytes are this test's
 * minimal answers, so these tests prove detection and naming, and framing only against our replies.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startRecordingProxy, type RecordedConnection } from '../helpers/recording-proxy';
import { answered, rechunk, replay } from './replay';

const HOST = '127.0.0.1';

test('memjs speaks the memcached binary protocol: get/set/delete are detected and named', async () => {
  const memjs = await import('memjs');
  const proxy = await startRecordingProxy({
    answer: (data, reply) => {
      // Answer each binary request header: set/delete OK, get "not found" (status 1).
      let i = 0;
      while (i + 24 <= data.length && data[i] === 0x80) {
        const opcode = data[i + 1];
        const body = data.readUInt32BE(i + 8);
        const res = Buffer.alloc(24);
        res[0] = 0x81;
        res[1] = opcode;
        res.writeUInt16BE(opcode === 0x00 ? 1 : 0, 6);
        data.copy(res, 12, i + 12, i + 16); // opaque
        reply(res);
        i += 24 + body;
      }
    },
  });
  try {
    const client = memjs.Client.create(`${HOST}:${proxy.port}`, { retries: 0, timeout: 1 });
    await client.set('secret-key', 'secret-value', { expires: 10 });
    const got = await client.get('secret-key');
    assert.equal(got.value, null);
    await client.delete('secret-key');
    client.close();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    await proxy.close();
  }
  const conn = proxy.connections[0];
  const r = replay(conn.chunks, proxy.port);
  assert.equal(r.protocol, 'memcached');
  assert.deepEqual(r.events, ['> set', '<', '> get', '<', '> delete', '<']);
  assert.equal(r.requests[0].attributes?.['db.system.name'], 'memcached');
  assert.deepEqual(replay(rechunk(conn.chunks, 5), proxy.port).events, r.events);
});

test('nodemailer speaks SMTP: EHLO, AUTH, MAIL, RCPT, DATA and QUIT pair with final replies', async () => {
  const nodemailer = await import('nodemailer');
  let inData = false;
  let line = '';
  const proxy = await startRecordingProxy({
    greet: (reply) => reply('220 localhost ESMTP sockscope-test\r\n'),
    answer: (data, reply) => {
      const text = data.toString('latin1');
      if (inData) {
        line += text;
        if (line.includes('\r\n.\r\n')) {
          inData = false;
          line = '';
          reply('250 2.0.0 queued\r\n');
        }
        return;
      }
      for (const l of text.split('\r\n').filter(Boolean)) {
        const verb = l.split(' ')[0].toUpperCase();
        if (verb === 'EHLO') reply('250-localhost\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n');
        else if (verb === 'AUTH') reply('235 2.7.0 accepted\r\n');
        else if (verb === 'DATA') {
          inData = true;
          reply('354 go ahead\r\n');
        } else if (verb === 'RCPT' && l.includes('bounce')) reply('550 5.1.1 no such user\r\n');
        else if (verb === 'QUIT') reply('221 bye\r\n');
        else reply('250 ok\r\n');
      }
    },
  });
  try {
    const transport = nodemailer.createTransport({
      host: HOST,
      port: proxy.port,
      secure: false,
      ignoreTLS: true,
      auth: { user: 'alice@example.com', pass: 'smtp-password-secret' },
    });
    await transport.sendMail({
      from: 'alice@example.com',
      to: ['bob@example.com', 'bounce@example.com'],
      subject: 'Secret subject',
      text: 'Secret body\r\n.\r\nwith a dot line',
    });
    transport.close();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    await proxy.close();
  }
  const conn = proxy.connections[0];
  const r = replay(conn.chunks, proxy.port);
  assert.equal(r.protocol, 'smtp');
  assert.deepEqual(r.events.slice(0, 12), [
    '> EHLO',
    '<',
    '> AUTH',
    '<',
    '> MAIL',
    '<',
    '> RCPT',
    '<',
    '> RCPT',
    '< smtp.550',
    '> DATA',
    '<',
  ]);
  assert.equal(r.responses.length, answered(r).length);
  assert.deepEqual(replay(rechunk(conn.chunks, 3), proxy.port).events, r.events);
  const text = JSON.stringify(r.requests) + JSON.stringify(r.responses);
  assert.ok(!text.includes('secret') && !text.includes('alice') && !text.includes('example'));
});

/** A minimal MongoDB server: answers OP_MSG and legacy OP_QUERY handshakes with fixed documents. */
async function mongoListener(): Promise<Awaited<ReturnType<typeof startRecordingProxy>>> {
  const { BSON } = await import('mongodb');
  const buffers = new Map<RecordedConnection, Buffer>();
  const reply = (doc: Record<string, unknown>, requestId: number, legacy: boolean): Buffer => {
    const body = Buffer.from(BSON.serialize(doc));
    if (legacy) {
      const h = Buffer.alloc(36);
      h.writeInt32LE(36 + body.length, 0);
      h.writeInt32LE(1, 4);
      h.writeInt32LE(requestId, 8);
      h.writeInt32LE(1, 12); // OP_REPLY
      h.writeInt32LE(1, 32); // numberReturned
      return Buffer.concat([h, body]);
    }
    const h = Buffer.alloc(21);
    h.writeInt32LE(21 + body.length, 0);
    h.writeInt32LE(1, 4);
    h.writeInt32LE(requestId, 8);
    h.writeInt32LE(2013, 12);
    return Buffer.concat([h, body]);
  };
  const answerDoc = (cmd: string): Record<string, unknown> => {
    if (cmd === 'hello' || cmd === 'isMaster' || cmd === 'ismaster')
      return {
        helloOk: true,
        ismaster: true,
        isWritablePrimary: true,
        maxBsonObjectSize: 16777216,
        maxMessageSizeBytes: 48000000,
        maxWriteBatchSize: 100000,
        localTime: new Date(),
        logicalSessionTimeoutMinutes: 30,
        connectionId: 1,
        minWireVersion: 0,
        maxWireVersion: 21,
        ok: 1,
      };
    if (cmd === 'find')
      return { cursor: { id: BSON.Long.fromNumber(0), ns: 'test.c', firstBatch: [] }, ok: 1 };
    if (cmd === 'insert') return { n: 1, ok: 1 };
    if (cmd === 'sockscopeFail')
      return { ok: 0, errmsg: 'no such command', code: 59, codeName: 'CommandNotFound' };
    return { ok: 1 };
  };
  return startRecordingProxy({
    answer: (data, send, conn) => {
      let buf = Buffer.concat([buffers.get(conn) ?? Buffer.alloc(0), data]);
      while (buf.length >= 16 && buf.length >= buf.readInt32LE(0)) {
        const len = buf.readInt32LE(0);
        const msg = buf.subarray(0, len);
        buf = buf.subarray(len);
        const requestId = msg.readInt32LE(4);
        const op = msg.readInt32LE(12);
        let doc: Record<string, unknown>;
        if (op === 2013) doc = BSON.deserialize(msg.subarray(21, 21 + msg.readInt32LE(21)));
        else {
          let i = 20;
          while (msg[i] !== 0) i++;
          i += 9; // NUL, numberToSkip, numberToReturn
          doc = BSON.deserialize(msg.subarray(i, i + msg.readInt32LE(i)));
        }
        send(reply(answerDoc(Object.keys(doc)[0]), requestId, op !== 2013));
      }
      buffers.set(conn, Buffer.from(buf));
    },
  });
}

test('the mongodb driver speaks OP_MSG: hello, insert, find and an ok:0 error are named', async () => {
  const { MongoClient } = await import('mongodb');
  const proxy = await mongoListener();
  try {
    const client = new MongoClient(`mongodb://${HOST}:${proxy.port}/test?directConnection=true`, {
      serverSelectionTimeoutMS: 3000,
      monitorCommands: false,
    });
    await client.connect();
    const c = client.db('test').collection('secret_collection');
    await c.insertOne({ password: 'mongo-secret' });
    await c.find({ email: 'alice@example.com' }).toArray();
    await assert.rejects(client.db('test').command({ sockscopeFail: 1 }));
    await client.close();
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    await proxy.close();
  }
  const all = proxy.connections.map((conn) => replay(conn.chunks, proxy.port));
  for (const r of all) assert.equal(r.protocol, 'mongodb');
  const ops = all.flatMap((r) => r.requests.map((q) => q.operation));
  // The driver's first handshake is a legacy OP_QUERY `ismaster` (the server's reply decides the rest).
  assert.ok(ops.includes('hello') || ops.includes('ismaster'), ops.join(','));
  const pool = all.find((r) => r.requests.some((q) => q.operation === 'find'));
  assert.ok(pool, 'a connection ran find');
  const events = pool.events.filter((e) => e !== '> hello' && e !== '> ismaster');
  assert.ok(
    // An unknown command is `_OTHER` (issue 14 item 7): its name came from the wire.
    events.join(' ').includes('> insert < > find < > _OTHER < mongodb.CommandNotFound'),
    events.join(' '),
  );
  assert.equal(pool.requests[0].attributes?.['db.system.name'], 'mongodb');
  const text = JSON.stringify(all.map((r) => [r.requests, r.responses]));
  assert.ok(!text.includes('secret') && !text.includes('alice'));
});

test('kafkajs: its first request (ApiVersions) is detected from the bytes it writes', async () => {
  const { Kafka, logLevel } = await import('kafkajs');
  const proxy = await startRecordingProxy({ answer: () => {} });
  try {
    const kafka = new Kafka({
      clientId: 'sockscope-secret-client',
      brokers: [`${HOST}:${proxy.port}`],
      connectionTimeout: 300,
      requestTimeout: 300,
      retry: { retries: 0 },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await assert.rejects(admin.connect());
  } finally {
    await proxy.close();
  }
  const r = replay(proxy.connections[0].chunks, 9092);
  assert.equal(r.protocol, 'kafka');
  assert.equal(r.requests[0].operation, 'ApiVersions');
  assert.equal(r.requests[0].attributes?.['messaging.system'], 'kafka');
  assert.ok(!JSON.stringify(r.requests).includes('secret'));
});

/** Builds a request exactly as kafkajs frames it, with its own protocol encoders. */
async function kafkajsRequest(
  correlationId: number,
  api: string,
  version: number,
  args: Record<string, unknown>,
): Promise<Buffer> {
  const build = require('kafkajs/src/protocol/request');
  const { protocol } = require(`kafkajs/src/protocol/requests/${api}`);
  const enc = await build({ correlationId, clientId: 'app', request: protocol({ version })(args).request });
  return enc.buffer;
}

test('kafkajs-encoded Produce, Metadata and Fetch requests are named; acks=0 Produce is one-way', async () => {
  const topicData = [
    {
      topic: 'secret-topic',
      partitions: [{ partition: 0, messages: [{ key: 'k', value: 'secret-value' }] }],
    },
  ];
  const produce = await kafkajsRequest(1, 'produce', 3, { acks: -1, timeout: 1000, topicData });
  const produce0 = await kafkajsRequest(2, 'produce', 3, { acks: 0, timeout: 1000, topicData });
  const metadata = await kafkajsRequest(3, 'metadata', 4, { topics: ['secret-topic'] });
  const fetch = await kafkajsRequest(4, 'fetch', 4, {
    replicaId: -1,
    maxWaitTime: 100,
    minBytes: 1,
    maxBytes: 1000,
    topics: [{ topic: 'secret-topic', partitions: [{ partition: 0, fetchOffset: '0', maxBytes: 100 }] }],
  });
  const response = (id: number): Buffer => {
    const b = Buffer.alloc(12);
    b.writeInt32BE(8, 0);
    b.writeInt32BE(id, 4);
    return b;
  };
  const r = replay(
    [
      { dir: 'client', data: produce },
      { dir: 'server', data: response(1) },
      { dir: 'client', data: Buffer.concat([produce0, metadata, fetch]) },
      { dir: 'server', data: Buffer.concat([response(3), response(4)]) },
    ],
    9092,
  );
  assert.equal(r.protocol, 'kafka');
  assert.deepEqual(r.events, ['> Produce', '<', '> Produce (oneway)', '> Metadata', '> Fetch', '<', '<']);
  assert.equal(r.parser?.framed, true);
  assert.ok(!JSON.stringify(r.requests).includes('secret'));
});
