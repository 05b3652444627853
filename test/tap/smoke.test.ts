import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { configure, inSpan, parentId, reset, sockscopeSpans, waitFor } from '../helpers/otel';
import { connect, roundTrip, startLineServer } from '../helpers/servers';

test('a request/response on a raw socket gives a connection span and one exchange per round trip', async () => {
  configure();
  reset();
  const peer = await startLineServer((l) => `echo:${l}\n`);
  after(() => peer.close());
  await inSpan('request', async (span) => {
    const s = await connect(peer.port);
    await roundTrip(s, 'one\n');
    await roundTrip(s, 'two\n');
    s.destroy();
    await waitFor(() => sockscopeSpans('connection').length === 1);
    const ex = sockscopeSpans('exchange');
    assert.equal(ex.length, 2);
    for (const e of ex) {
      assert.equal(parentId(e), span.spanContext().spanId);
      assert.equal(e.name, 'tcp exchange');
      assert.equal(e.attributes['sockscope.bytes_sent'], 4);
      assert.equal(e.attributes['sockscope.bytes_received'], 9);
    }
    const c = sockscopeSpans('connection')[0];
    assert.equal(c.name, 'tcp connect');
    assert.equal(c.attributes['sockscope.exchanges'], 2);
    assert.equal(c.attributes['server.port'], peer.port);
    assert.equal(c.attributes['network.peer.address'], '127.0.0.1');
    assert.equal(c.attributes['sockscope.caller.package'], '(app)');
    console.log(
      c.events.map((e) => e.name),
      c.attributes,
    );
  });
});
