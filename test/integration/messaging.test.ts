/**
 * Real broker clients (amqplib, mqtt, nats) against the machine's RabbitMQ, Mosquitto and NATS
 * server, through the whole tap: exchange span names and messaging attributes, one-way requests
 * ending when written, heartbeats making no exchange, and framing ending exchanges (see
 * `FRAMING_ONLY` in ./support).
 */
import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';
import { configure, reset, sockscopeSpans, waitFor } from '../helpers/otel';
import { requireService } from '../helpers/services';
import type { MqttClient } from 'mqtt';
import {
  FRAMING_ONLY,
  HOST,
  assertExchange,
  childOf,
  connectionOf,
  exchanges,
  messaging,
  step,
  tag,
} from './support';

beforeEach(() => {
  configure(FRAMING_ONLY);
  reset();
});

const amqpAttrs = (op: string) => messaging('rabbitmq', 'amqp', op, '0.9.1');
const mqttAttrs = (op: string, version = '3.1.1') => messaging('mqtt', 'mqtt', op, version);
const natsAttrs = (op: string) => messaging('nats', 'nats', op);

test('amqplib: the handshake, channel.open and queue.declare are amqp exchanges ended by their -ok reply', async (t) => {
  if (!(await requireService(t, 'RabbitMQ', HOST, 5672))) return;
  const amqplib = await import('amqplib');
  const connected = await step('connect', 4, () => amqplib.connect(`amqp://guest:guest@${HOST}:5672`));
  const conn = connected.result;
  t.after(() => conn.close().catch(() => {}));
  assert.deepEqual(
    connected.exchanges.map((s) => s.name),
    ['amqp connect', 'amqp connection.start-ok', 'amqp connection.tune-ok', 'amqp connection.open'],
  );
  assertExchange(connected.exchanges[0], 'amqp connect', {
    ...amqpAttrs('connect'),
    'sockscope.caller.package': 'amqplib',
  });
  // connection.tune-ok has no reply: it ends when written, with nothing received.
  assert.equal(connected.exchanges[2].attributes['sockscope.bytes_received'], 0);

  const channel = await step('createChannel', 1, () => conn.createChannel());
  assertExchange(channel.exchanges[0], 'amqp channel.open', amqpAttrs('channel.open'));
  const ch = channel.result;

  const declared = await step('assertQueue', 1, () => ch.assertQueue('', { exclusive: true }));
  assert.match(declared.result.queue, /^amq\.gen-/);
  assertExchange(declared.exchanges[0], 'amqp queue.declare', amqpAttrs('queue.declare'));
});

test('amqplib: basic.publish is one-way, basic.get and basic.consume end at their reply, acks are one-way', async (t) => {
  if (!(await requireService(t, 'RabbitMQ', HOST, 5672))) return;
  const amqplib = await import('amqplib');
  const conn = await amqplib.connect(`amqp://guest:guest@${HOST}:5672`);
  t.after(() => conn.close().catch(() => {}));
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue('', { exclusive: true });

  const published = await step('publish', 1, async () => ch.sendToQueue(queue, Buffer.from('one')));
  assertExchange(published.exchanges[0], 'amqp basic.publish', amqpAttrs('basic.publish'));
  assert.equal(published.exchanges[0].attributes['sockscope.bytes_received'], 0, 'no reply to a publish');

  // The broker may not have routed the message yet: poll basic.get until it arrives.
  let got: Awaited<ReturnType<typeof ch.get>> = false;
  const gets: string[] = [];
  while (got === false) {
    const g = await step('get', 1, () => ch.get(queue));
    got = g.result;
    gets.push(...g.exchanges.map((s) => s.name));
    assertExchange(g.exchanges[0], 'amqp basic.get', amqpAttrs('basic.get'));
  }
  assert.equal(got.content.toString(), 'one');
  const message = got;
  const ack = await step('ack', 1, async () => ch.ack(message));
  assertExchange(ack.exchanges[0], 'amqp basic.ack', amqpAttrs('basic.ack'));

  const empty = await step('get on an empty queue', 1, () => ch.get(queue));
  assert.equal(empty.result, false);
  assertExchange(empty.exchanges[0], 'amqp basic.get', amqpAttrs('basic.get'));

  let deliver: (m: unknown) => void = () => {};
  const delivered = new Promise((r) => (deliver = r));
  const consumed = await step('consume', 1, () =>
    ch.consume(queue, (m) => {
      if (m) {
        ch.ack(m);
        deliver(m);
      }
    }),
  );
  assertExchange(consumed.exchanges[0], 'amqp basic.consume', amqpAttrs('basic.consume'));
  const second = await step('publish to the consumer', 1, async () =>
    ch.sendToQueue(queue, Buffer.from('two')),
  );
  assertExchange(second.exchanges[0], 'amqp basic.publish', amqpAttrs('basic.publish'));
  await delivered;
  // The delivery itself opens no exchange; the consumer's ack is one more one-way exchange.
  await waitFor(() => exchanges().some((s) => s.name === 'amqp basic.ack' && !ack.exchanges.includes(s)));
});

test('amqplib: declaring a missing queue passively is an ERROR exchange carrying the reply code', async (t) => {
  if (!(await requireService(t, 'RabbitMQ', HOST, 5672))) return;
  const amqplib = await import('amqplib');
  const conn = await amqplib.connect(`amqp://guest:guest@${HOST}:5672`);
  t.after(() => conn.close().catch(() => {}));
  const ch = await conn.createChannel();
  ch.on('error', () => {});
  const checked = await step(
    'checkQueue',
    1,
    () => assert.rejects(ch.checkQueue(`sockscope-missing-${tag()}`), /NOT_FOUND/),
    (s) => s.name === 'amqp queue.declare',
  );
  assertExchange(checked.exchanges[0], 'amqp queue.declare', amqpAttrs('queue.declare'), 'amqp.404');
});

test('mqtt: CONNECT, SUBSCRIBE and a QoS 1 PUBLISH end at their acknowledgement; a QoS 0 PUBLISH is one-way', async (t) => {
  if (!(await requireService(t, 'Mosquitto', HOST, 1883))) return;
  const mqtt = await import('mqtt');
  let client: MqttClient | undefined;
  t.after(() => client?.endAsync(true).catch(() => {}));
  // mqtt.js writes CONNECT in nine write() calls, the first of them the single byte 0x10.
  const connected = await step('connect', 1, async () => {
    client = await mqtt.connectAsync(`mqtt://${HOST}:1883`, { protocolVersion: 4, reconnectPeriod: 0 });
    return client;
  });
  const c = connected.result;
  assertExchange(connected.exchanges[0], 'mqtt CONNECT', {
    ...mqttAttrs('CONNECT'),
    'sockscope.caller.package': 'mqtt',
  });
  const topic = `sockscope/it/${tag()}`;
  const sub = await step('subscribe', 1, () => c.subscribeAsync(`${topic}/in`, { qos: 1 }));
  assertExchange(sub.exchanges[0], 'mqtt SUBSCRIBE', mqttAttrs('SUBSCRIBE'));
  const qos0 = await step('publish qos 0', 1, () => c.publishAsync(`${topic}/out`, 'zero', { qos: 0 }));
  assertExchange(qos0.exchanges[0], 'mqtt PUBLISH', mqttAttrs('PUBLISH'));
  assert.equal(qos0.exchanges[0].attributes['sockscope.bytes_received'], 0, 'QoS 0 has no acknowledgement');
  const qos1 = await step('publish qos 1', 1, () => c.publishAsync(`${topic}/out`, 'one', { qos: 1 }));
  assertExchange(qos1.exchanges[0], 'mqtt PUBLISH', mqttAttrs('PUBLISH'));
  assert.ok(Number(qos1.exchanges[0].attributes['sockscope.bytes_received']) > 0, 'PUBACK received');
});

test('mqtt: a v5 client is recognised as MQTT version 5', async (t) => {
  if (!(await requireService(t, 'Mosquitto', HOST, 1883))) return;
  const mqtt = await import('mqtt');
  let client: MqttClient | undefined;
  t.after(() => client?.endAsync(true).catch(() => {}));
  const connected = await step('connect', 1, async () => {
    client = await mqtt.connectAsync(`mqtt://${HOST}:1883`, { protocolVersion: 5, reconnectPeriod: 0 });
    return client;
  });
  const c = connected.result;
  assertExchange(connected.exchanges[0], 'mqtt CONNECT', mqttAttrs('CONNECT', '5'));
  const qos1 = await step('publish qos 1', 1, () => c.publishAsync(`sockscope/it/${tag()}`, 'x', { qos: 1 }));
  assertExchange(qos1.exchanges[0], 'mqtt PUBLISH', mqttAttrs('PUBLISH', '5'));
});

test('mqtt: keep-alive PINGREQ/PINGRESP make no exchange span and are counted on the connection', async (t) => {
  if (!(await requireService(t, 'Mosquitto', HOST, 1883))) return;
  const mqtt = await import('mqtt');
  const c = await mqtt.connectAsync(`mqtt://${HOST}:1883`, {
    protocolVersion: 4,
    keepalive: 1,
    reconnectPeriod: 0,
  });
  t.after(() => c.endAsync(true).catch(() => {}));
  // mqtt.js sends PINGREQ after a keep-alive period with nothing sent; wait for two round trips.
  let pongs = 0;
  await new Promise<void>((resolve) =>
    c.on('packetreceive', (p) => {
      if (p.cmd === 'pingresp' && ++pongs === 2) resolve();
    }),
  );
  await c.endAsync();
  const connect = exchanges().find((s) => s.name === 'mqtt CONNECT');
  assert.ok(connect, `mqtt CONNECT exchange (got ${exchanges().map((s) => s.name)})`);
  await waitFor(() => connectionOf(connect) !== undefined, 5000, 'the connection span');
  const link = connect.links[0]?.context.spanId;
  const names = exchanges()
    .filter((s) => s.links[0]?.context.spanId === link)
    .map((s) => s.name);
  assert.deepEqual(names, ['mqtt CONNECT', 'mqtt DISCONNECT']);
  assert.ok(Number(connectionOf(connect)?.attributes['sockscope.heartbeats']) >= 2, 'heartbeats counted');
});

test('nats: CONNECT and PUB are one-way nats exchanges ended when written', async (t) => {
  if (!(await requireService(t, 'NATS', HOST, 4222))) return;
  const { connect, StringCodec } = await import('nats');
  const sc = StringCodec();
  const connected = await step('connect', 1, () => connect({ servers: `${HOST}:4222` }));
  const nc = connected.result;
  t.after(() => nc.close().catch(() => {}));
  assertExchange(connected.exchanges[0], 'nats CONNECT', {
    ...natsAttrs('CONNECT'),
    'sockscope.caller.package': 'nats',
  });
  const pub = await step(
    'publish',
    1,
    async () => nc.publish(`sockscope.it.${tag()}`, sc.encode('x')),
    childOf,
  );
  assertExchange(pub.exchanges[0], 'nats PUB', natsAttrs('PUB'));
  assert.equal(pub.exchanges[0].attributes['sockscope.bytes_received'], 0);
});

test('nats: a request is a one-way PUB exchange; its reply arrives as a MSG delivery that opens no exchange', async (t) => {
  if (!(await requireService(t, 'NATS', HOST, 4222))) return;
  const { connect, StringCodec } = await import('nats');
  const sc = StringCodec();
  const subject = `sockscope.it.svc.${tag()}`;
  const responder = await connect({ servers: `${HOST}:4222` });
  const nc = await connect({ servers: `${HOST}:4222` });
  t.after(async () => {
    await nc.close().catch(() => {});
    await responder.close().catch(() => {});
  });
  const sub = responder.subscribe(subject);
  void (async () => {
    for await (const m of sub) m.respond(sc.encode(`re:${sc.decode(m.data)}`));
  })();
  await responder.flush();

  // The first request also subscribes the client's shared reply inbox: SUB and PUB in one write.
  const first = await step(
    'first request',
    1,
    () => nc.request(subject, sc.encode('a'), { timeout: 2000 }),
    childOf,
  );
  assert.equal(sc.decode(first.result.data), 're:a');
  assertExchange(first.exchanges[0], 'nats SUB', { ...natsAttrs('SUB'), 'sockscope.command_count': 2 });

  const second = await step(
    'second request',
    1,
    () => nc.request(subject, sc.encode('b'), { timeout: 2000 }),
    childOf,
  );
  assert.equal(sc.decode(second.result.data), 're:b');
  assertExchange(second.exchanges[0], 'nats PUB', natsAttrs('PUB'));
  assert.equal(second.exchanges.length, 1, 'the MSG reply opens no exchange');
  assert.equal(second.exchanges[0].attributes['sockscope.bytes_received'], 0);
});

test('nats: flush (PING/PONG) makes no exchange span and is counted as heartbeats on the connection', async (t) => {
  if (!(await requireService(t, 'NATS', HOST, 4222))) return;
  const { connect } = await import('nats');
  const nc = await connect({ servers: `${HOST}:4222` });
  t.after(() => nc.close().catch(() => {}));
  const connectExchange = exchanges().find((s) => s.name === 'nats CONNECT');
  assert.ok(connectExchange);
  await nc.flush();
  await nc.flush();
  await nc.close();
  await waitFor(() => connectionOf(connectExchange) !== undefined, 5000, 'the connection span');
  const link = connectExchange.links[0]?.context.spanId;
  const names = exchanges()
    .filter((s) => s.links[0]?.context.spanId === link)
    .map((s) => s.name);
  assert.deepEqual(names, ['nats CONNECT']);
  // The PING sent with CONNECT and one per flush.
  assert.ok(Number(connectionOf(connectExchange)?.attributes['sockscope.heartbeats']) >= 3);
  assert.equal(connectionOf(connectExchange)?.attributes['sockscope.exchanges'], 1);
  assert.equal(sockscopeSpans('exchange').filter((s) => s.name.includes('PING')).length, 0);
});
