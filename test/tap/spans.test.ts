import assert from 'node:assert/strict';
import { test } from 'node:test';
import { digest, newHash, updateHash } from '../../src/spans/request-hash';
import * as sc from '../../src/spans/semconv';

test('the literal attribute names on the exchange hot path are the semconv names', () => {
  assert.equal(sc.ATTR_SOCKSCOPE_KIND, 'sockscope.kind');
  assert.equal(sc.KIND_EXCHANGE, 'exchange');
  assert.equal(sc.ATTR_NETWORK_TRANSPORT, 'network.transport');
  assert.equal(sc.ATTR_SOCKSCOPE_BYTES_SENT, 'sockscope.bytes_sent');
  assert.equal(sc.ATTR_SOCKSCOPE_BYTES_RECEIVED, 'sockscope.bytes_received');
  assert.equal(sc.ATTR_SOCKSCOPE_COVERED, 'sockscope.covered');
});

test('a request digest is 16 lower-case hex digits, the same for the same bytes as Buffer or string', () => {
  const a = newHash();
  updateHash(a, Buffer.from('GET k'), 5);
  const b = newHash();
  updateHash(b, 'GET k', 5);
  assert.match(digest(a), /^[0-9a-f]{16}$/);
  assert.equal(digest(a), digest(b));
});
