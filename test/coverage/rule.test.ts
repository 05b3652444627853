import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLOCK_SLACK_MS, findCovering, type UpstreamSpan } from '../../src/coverage/rule';

const CLIENT = 3;
const upstream = (over: Partial<UpstreamSpan>): UpstreamSpan => ({
  spanId: 'u1',
  parentSpanId: 'p',
  scope: '@opentelemetry/instrumentation-pg',
  kind: CLIENT,
  startMs: 100,
  endMs: 110,
  servers: ['db:5432'],
  ...over,
});
const ex = { parentSpanId: 'p', startMs: 101, endMs: 109, servers: ['db:5432', '10.0.0.5:5432'] };

test('a sibling client span naming the same server and open across the first write covers the exchange', () => {
  assert.equal(findCovering(ex, undefined, [upstream({})])?.spanId, 'u1');
});

test('a sibling that started after the exchange began, or names another server, does not cover it', () => {
  assert.equal(findCovering(ex, undefined, [upstream({ startMs: 102 + CLOCK_SLACK_MS })]), undefined);
  assert.equal(findCovering(ex, undefined, [upstream({ servers: ['cache:6379'] })]), undefined);
  assert.equal(findCovering(ex, undefined, [upstream({ parentSpanId: 'other' })]), undefined);
});

test('trace data gets 1 ms of slack for the SDK’s whole-millisecond starts; the run-time processor gets none', () => {
  const justBefore = upstream({ startMs: 100, endMs: 100.5 }); // ended 0.5 ms before the write, on paper
  assert.equal(findCovering(ex, undefined, [justBefore])?.spanId, 'u1');
  assert.equal(findCovering(ex, undefined, [justBefore], 0), undefined);
});

test('a span naming no server covers only when it is the one upstream client span open there', () => {
  const anonymous = upstream({ spanId: 'anon', servers: [] });
  assert.equal(findCovering(ex, undefined, [anonymous])?.spanId, 'anon');
  const other = upstream({ spanId: 'u2', servers: ['cache:6379'] });
  assert.equal(findCovering(ex, undefined, [anonymous, other]), undefined);
});

test('the parent rule: an upstream client parent covers whatever the times say; sockscope’s own spans never do', () => {
  assert.equal(findCovering(ex, upstream({ startMs: 500, endMs: 501 }), [])?.spanId, 'u1');
  assert.equal(findCovering(ex, upstream({ scope: 'sockscope' }), []), undefined);
  assert.equal(findCovering(ex, upstream({ kind: 1 /* INTERNAL */ }), []), undefined);
});
