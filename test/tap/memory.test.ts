import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { test } from 'node:test';
import { configure, exporter, reset } from '../helpers/otel';
import { connect, roundTrip, startEcho } from '../helpers/servers';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function heapAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

// A soak in miniature: memory must not grow with the number of exchanges or sockets. Spans are
// dropped as they end (the exporter is reset), so only sockscope's own state could accumulate.
test('memory stays bounded over 30,000 exchanges on one socket and 2,000 sockets opened and closed', async () => {
  configure();
  const peer = await startEcho();
  try {
    const warm = await connect(peer.port);
    for (let i = 0; i < 2000; i++) await roundTrip(warm, 'warm');
    warm.destroy();
    reset();
    const before = heapAfterGc();

    const s = await connect(peer.port);
    for (let i = 0; i < 30_000; i++) {
      await roundTrip(s, `request ${i}`);
      if (i % 1000 === 0) exporter.reset();
    }
    s.destroy();
    for (let i = 0; i < 2000; i++) {
      const c = await connect(peer.port);
      await roundTrip(c, 'x');
      await new Promise<void>((r) => {
        c.once('close', () => r());
        c.destroy();
      });
      if (i % 200 === 0) exporter.reset();
    }
    reset();
    await new Promise((r) => setTimeout(r, 50));
    const grown = (heapAfterGc() - before) / 1024 / 1024;
    assert.ok(grown < 5, `heap grew by ${grown.toFixed(2)} MB`);
  } finally {
    await peer.close();
  }
});
