/**
 * Prepared statements are remembered per connection: a later execution carries the statement's
 * operation and shape (so `sockscope.statement.hash` matches the first run); a closed statement is
 * forgotten; another connection knows nothing of it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RecordedChunk } from '../helpers/recording-proxy';
import { configure, reset, waitFor } from '../helpers/otel';
import { requireService } from '../helpers/services';
import { HOST, exchanges } from '../integration/support';
import { replay } from './replay';

const c = (x: Buffer): RecordedChunk => ({ dir: 'client', data: x });
const s = (x: Buffer): RecordedChunk => ({ dir: 'server', data: x });

function msg(type: string, body: string): Buffer {
  const b = Buffer.concat([Buffer.from(type), Buffer.alloc(4), Buffer.from(body, 'latin1')]);
  b.writeInt32BE(b.length - 1, 1);
  return b;
}
const startup = (): Buffer => {
  const b = Buffer.concat([Buffer.from([0, 0, 0, 0, 0, 3, 0, 0]), Buffer.from('user\0u\0\0')]);
  b.writeInt32BE(b.length, 0);
  return b;
};
const ready = msg('Z', 'I');
const bind = (stmt: string): Buffer => msg('B', `\0${stmt}\0\0\0\0\0\0\0`);
const run = (stmt: string): Buffer => Buffer.concat([bind(stmt), msg('E', '\0\0\0\0\0'), msg('S', '')]);

test('PostgreSQL: Bind or Describe of a parsed statement is named by its Parse, until Close forgets it', () => {
  const r = replay([
    c(startup()),
    s(ready),
    c(Buffer.concat([msg('P', 'q1\0UPDATE t SET a = $1 WHERE id = $2\0\0\0'), run('q1')])),
    s(ready),
    c(run('q1')),
    s(ready),
    c(Buffer.concat([msg('D', 'Sq1\0'), msg('S', '')])),
    s(ready),
    c(Buffer.concat([msg('C', 'Sq1\0'), msg('S', '')])),
    s(ready),
    c(run('q1')),
    s(ready),
  ]);
  assert.deepEqual(r.events, [
    '> STARTUP',
    '<',
    '> UPDATE',
    '<',
    '> UPDATE',
    '<',
    '> UPDATE',
    '<',
    '> EXECUTE',
    '<',
    '> EXECUTE',
    '<',
  ]);
  assert.equal(r.requests[1].shape, 'update t set a = ? where id = ?');
  assert.equal(r.requests[2].shape, r.requests[1].shape);
  assert.equal(r.requests[5].shape, undefined, 'a closed statement carries no shape');
});

test('PostgreSQL: statements are per connection', () => {
  const other = replay([c(startup()), s(ready), c(run('q1')), s(ready)]);
  assert.deepEqual(other.events, ['> STARTUP', '<', '> EXECUTE', '<']);
});

test('pg through the tap: eight runs of a named statement are eight "postgresql SELECT" spans with one statement hash', async (t) => {
  if (!(await requireService(t, 'PostgreSQL', HOST, 5432))) return;
  configure();
  reset();
  const { Client } = await import('pg');
  const client = new Client({ host: HOST, port: 5432, user: 'postgres', database: 'test' });
  await client.connect();
  t.after(() => client.end());
  for (let i = 0; i < 8; i++)
    await client.query({ name: 'by_id_tap', text: 'SELECT $1::int AS id', values: [i] });
  await waitFor(() => runs().length >= 8, 3000, 'eight SELECT exchanges');
  const hashes = new Set(runs().map((x) => x.attributes['sockscope.statement.hash']));
  assert.equal(runs().length, 8);
  assert.equal(hashes.size, 1);
  assert.equal(typeof [...hashes][0], 'string');
  assert.ok(!exchanges().some((x) => x.name === 'postgresql EXECUTE'));
});

function runs(): ReturnType<typeof exchanges> {
  return exchanges().filter((x) => x.name === 'postgresql SELECT');
}
