/* global require, module, setTimeout, setImmediate, __dirname */
// The fault matrix's scenarios. Each runs against loopback peers and reports what the app observes
// through rec(what, detail): events and their order, error codes and messages, data, callback
// order, return values. app.js runs one and prints the record; the test compares the record of a
// plain run with runs under sockscope. Ports are replaced by PORT so that records compare.
const net = require('node:net');
const tls = require('node:tls');
const fs = require('node:fs');
const path = require('node:path');
const { fork } = require('node:child_process');

const TLS_DIR = path.join(__dirname, '..', 'fixtures', 'tls');
const EVENTS = ['lookup', 'connect', 'ready', 'secureConnect', 'timeout', 'end', 'finish', 'close'];

function listen(server) {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));
}

function errorOf(e) {
  return {
    name: e.name,
    code: e.code,
    syscall: e.syscall,
    message: String(e.message).replace(/:\d{2,5}\b/g, ':PORT'),
  };
}

/** Records the socket's lifecycle events (never 'data': that would change the stream's mode). */
function watch(rec, socket, label = 'client') {
  for (const ev of EVENTS)
    socket.on(ev, (arg) => rec(`${label} ${ev}`, ev === 'close' ? { hadError: arg } : undefined));
  socket.on('error', (e) => rec(`${label} error`, errorOf(e)));
  return new Promise((resolve) => socket.on('close', () => setImmediate(resolve)));
}

/** A TLS server with the self-signed test certificate that never answers. */
async function tlsServer() {
  const server = tls.createServer(
    {
      key: fs.readFileSync(path.join(TLS_DIR, 'key.pem')),
      cert: fs.readFileSync(path.join(TLS_DIR, 'cert.pem')),
    },
    () => {},
  );
  server.on('tlsClientError', () => {});
  return { server, port: await listen(server) };
}

async function closedPort() {
  const s = net.createServer();
  const port = await listen(s);
  await new Promise((r) => s.close(r));
  return port;
}

const scenarios = {
  async econnrefused(rec) {
    await watch(rec, net.connect(await closedPort(), '127.0.0.1'));
  },

  async enotfound(rec) {
    await watch(rec, net.connect(80, 'sockscope-no-such-host.invalid'));
  },

  // A real connect timeout needs an address that never answers, and this workplace allows loopback
  // only: the `timeout` option on a connection that is accepted and then stays quiet.
  async 'connect timeout option'(rec) {
    const server = net.createServer(() => {});
    const port = await listen(server);
    const s = net.connect({ port, host: '127.0.0.1', timeout: 30 });
    s.on('timeout', () => s.destroy());
    await watch(rec, s);
    server.close();
  },

  async 'rst mid-exchange'(rec) {
    const server = net.createServer((sock) => sock.once('data', () => sock.resetAndDestroy()));
    const port = await listen(server);
    const s = net.connect(port, '127.0.0.1', () =>
      s.write('GET key\r\n', (e) => rec('write cb', e ? e.code : null)),
    );
    await watch(rec, s);
    server.close();
  },

  async 'half-close'(rec) {
    const server = net.createServer({ allowHalfOpen: true }, (sock) => {
      let got = '';
      sock.setEncoding('utf8');
      sock.on('data', (d) => {
        got += d;
        if (got === 'hello') sock.end('bye');
      });
      sock.on('end', () => rec('server got', got));
    });
    const port = await listen(server);
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true }, () => s.write('hello'));
    let data = '';
    s.on('data', (d) => (data += d));
    s.on('end', () => {
      rec('client data before end', data);
      s.end(' after end');
    });
    await watch(rec, s);
    server.close();
  },

  async 'destroy during dns'(rec) {
    const server = net.createServer(() => {});
    const port = await listen(server);
    const s = net.connect(port, 'localhost');
    s.destroy();
    rec('destroyed', s.destroyed);
    await watch(rec, s);
    server.close();
  },

  async 'destroy during connect'(rec) {
    const server = net.createServer(() => {});
    const port = await listen(server);
    const s = net.connect(port, '127.0.0.1');
    const closed = watch(rec, s);
    process.nextTick(() => s.destroy());
    await closed;
    server.close();
  },

  async 'destroy during tls handshake'(rec) {
    const { server, port } = await tlsServer();
    const s = tls.connect({ port, host: '127.0.0.1', rejectUnauthorized: false });
    s.once('connect', () => s.destroy());
    await watch(rec, s);
    server.close();
  },

  async 'tls certificate failure'(rec) {
    const { server, port } = await tlsServer();
    await watch(rec, tls.connect({ port, host: '127.0.0.1', servername: 'localhost' }));
    server.close();
  },

  async epipe(rec) {
    const server = net.createServer((sock) => sock.destroy());
    const port = await listen(server);
    const s = net.connect(port, '127.0.0.1');
    let failed;
    s.on(
      'error',
      (e) => (failed = e.code === 'EPIPE' || e.code === 'ECONNRESET' ? 'EPIPE|ECONNRESET' : e.code),
    );
    s.on('connect', () => {
      const tick = (n) => {
        if (s.destroyed || n === 0) return;
        s.write('x'.repeat(1024));
        setTimeout(() => tick(n - 1), 2);
      };
      tick(500);
    });
    await new Promise((r) => s.on('close', r));
    rec('write failed with', failed);
    server.close();
  },

  async 'write after end'(rec) {
    const server = net.createServer((sock) => sock.resume());
    const port = await listen(server);
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.end('last');
      rec(
        'write returned',
        s.write('more', (e) => rec('write cb', e ? e.code : null)),
      );
    });
    await watch(rec, s);
    server.close();
  },

  async '100 MB write under back-pressure'(rec) {
    const total = 100 * 1024 * 1024;
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    let received = 0;
    const server = net.createServer((sock) => {
      // A slow reader: pauses every 8 MB so that the writer meets back-pressure.
      sock.on('data', (d) => {
        const before = received >> 23;
        received += d.length;
        if (received >> 23 !== before) {
          sock.pause();
          setTimeout(() => sock.resume(), 5);
        }
      });
    });
    const port = await listen(server);
    const s = net.connect(port, '127.0.0.1');
    let sent = 0;
    let sawFalse = false;
    let callbacks = 0;
    let inOrder = true;
    const write = () => {
      while (sent < total) {
        const n = sent / chunk.length;
        sent += chunk.length;
        const ok = s.write(chunk, () => {
          if (callbacks !== n) inOrder = false;
          callbacks++;
        });
        if (!ok) {
          sawFalse = true;
          s.once('drain', write);
          return;
        }
      }
      s.end();
    };
    s.on('connect', write);
    await watch(rec, s);
    await new Promise((r) => server.close(r));
    rec('result', { sent, received, sawFalse, callbacks, inOrder });
  },

  async '10k concurrent sockets'(rec) {
    // The peer in its own process: 10,000 sockets on each side would exceed one process's files.
    const peer = fork(path.join(__dirname, 'echo-peer.js'), { stdio: 'inherit' });
    const port = await new Promise((r) => peer.once('message', r));
    const count = 10_000;
    const outcomes = new Map();
    await Promise.all(
      Array.from(
        { length: count },
        () =>
          new Promise((resolve) => {
            const s = net.connect(port, '127.0.0.1');
            let got = '';
            s.on('data', (d) => {
              got += d;
              if (got === 'ping') s.end();
            });
            s.on('connect', () => s.write('ping'));
            s.on('error', (e) => outcomes.set(e.code, (outcomes.get(e.code) ?? 0) + 1));
            s.on('close', () => {
              if (got === 'ping') outcomes.set('echoed', (outcomes.get('echoed') ?? 0) + 1);
              resolve();
            });
          }),
      ),
    );
    peer.kill();
    rec('outcomes', Object.fromEntries([...outcomes].sort()));
  },

  async 'many exchanges on one keep-alive socket'(rec) {
    // 20,000 in the suite; FAULT_EXCHANGES=1000000 for the full million (minutes per mode).
    const n = Number(process.env.FAULT_EXCHANGES || 20_000);
    const server = net.createServer((sock) =>
      sock.on('data', (d) => sock.write(d.length === 6 ? '+PONG\r\n' : '-ERR\r\n')),
    );
    const port = await listen(server);
    const s = net.connect(port, '127.0.0.1');
    let replies = 0;
    let bad = 0;
    s.on('data', (d) => {
      if (String(d) !== '+PONG\r\n') bad++;
      if (++replies < n) s.write('PING\r\n');
      else s.end();
    });
    s.on('connect', () => s.write('PING\r\n'));
    await watch(rec, s);
    server.close();
    rec('replies', { replies, bad });
  },

  async 'paused socket'(rec) {
    const server = net.createServer((sock) => sock.end('hello while paused'));
    const port = await listen(server);
    const s = net.connect(port, '127.0.0.1');
    s.pause();
    let resumed = false;
    s.on('data', (d) => rec('data', { resumed, text: String(d) }));
    s.on('connect', () =>
      setTimeout(() => {
        resumed = true;
        rec('isPaused before resume', s.isPaused());
        s.resume();
      }, 50),
    );
    await watch(rec, s);
    server.close();
  },

  async setEncoding(rec) {
    const euro = Buffer.from('€uro'); // € is three bytes: split it across two writes
    const server = net.createServer((sock) => {
      sock.write(euro.subarray(0, 2));
      setTimeout(() => sock.end(euro.subarray(2)), 20);
    });
    const port = await listen(server);
    const s = net.connect(port, '127.0.0.1');
    s.setEncoding('utf8');
    const chunks = [];
    s.on('data', (d) => chunks.push([typeof d, d]));
    await watch(rec, s);
    rec('chunks', chunks);
    server.close();
  },

  async 'onread socket'(rec) {
    const server = net.createServer((sock) => sock.end('hello world, more than sixteen bytes'));
    const port = await listen(server);
    let text = '';
    let calls = 0;
    const s = net.connect({
      port,
      host: '127.0.0.1',
      onread: {
        buffer: Buffer.alloc(16),
        callback(n, buf) {
          calls++;
          text += buf.toString('latin1', 0, n);
        },
      },
    });
    let dataEvents = 0;
    s.on('data', () => dataEvents++);
    await watch(rec, s);
    rec('onread', { text, calledMoreThanOnce: calls > 1, dataEvents });
    server.close();
  },

  async 'socket.setTimeout'(rec) {
    const server = net.createServer(() => {});
    const port = await listen(server);
    const s = net.connect(port, '127.0.0.1');
    rec('setTimeout returns the socket', s.setTimeout(30, () => rec('timeout callback')) === s);
    s.on('timeout', () => s.destroy());
    await watch(rec, s);
    server.close();
  },
};

module.exports = { scenarios };
