import assert from 'node:assert/strict';
import { test } from 'node:test';
import { quantile, reading, topRows, type MetricSample } from '../../src/analysis/top-model';
import { parseExposition } from '../../src/cli/top-sources';

const redis = {
  server_address: '127.0.0.1',
  server_port: '6379',
  network_transport: 'tcp',
  network_protocol_name: 'redis',
};
const pg = {
  server_address: 'db',
  server_port: '5432',
  network_transport: 'tcp',
  network_protocol_name: 'postgresql',
};

function samples(n: number, seconds: number, extra: MetricSample[] = []): MetricSample[] {
  return [
    { family: 'exchanges', labels: { ...redis, sockscope_covered: 'false' }, value: n },
    { family: 'time', labels: redis, value: seconds },
    { family: 'bucket', labels: { ...redis, le: '0.001' }, value: n / 2 },
    { family: 'bucket', labels: { ...redis, le: '0.01' }, value: n },
    { family: 'bucket', labels: { ...redis, le: '+Inf' }, value: n },
    ...extra,
  ];
}

test('quantiles interpolate within the bucket, as histogram_quantile does', () => {
  const b = new Map([
    [0.001, 50],
    [0.01, 100],
    [Infinity, 100],
  ]);
  assert.equal(quantile(0.5, b), 0.001);
  assert.ok(Math.abs(quantile(0.99, b)! - (0.001 + 0.009 * (49 / 50))) < 1e-12);
  assert.equal(quantile(0.5, new Map()), undefined);
});

test('rates are the increase between readings per second, sorted by time spent, and a restart counts from zero', () => {
  const a = reading(
    samples(100, 1, [
      { family: 'exchanges', labels: { ...pg, sockscope_covered: 'true' }, value: 10 },
      { family: 'time', labels: pg, value: 5 },
    ]),
    0,
  );
  const b = reading(
    samples(300, 1.5, [
      { family: 'exchanges', labels: { ...pg, sockscope_covered: 'true' }, value: 20 },
      { family: 'time', labels: pg, value: 7 },
    ]),
    2000,
  );
  const rows = topRows(a, b);
  assert.deepEqual(
    rows.map((r) => r.protocol),
    ['postgresql', 'redis'],
    'PostgreSQL spent more time',
  );
  const r = rows.find((x) => x.protocol === 'redis')!;
  assert.equal(r.exchangesPerS, 100);
  assert.equal(r.uncoveredShare, 1);
  assert.equal(rows[0]!.uncoveredShare, 0);
  const restarted = topRows(b, reading(samples(40, 0.1), 3000)).find((x) => x.protocol === 'redis')!;
  assert.equal(restarted.exchangesPerS, 40);
});

test('open connections counted before the protocol was known go to the server busiest row', () => {
  const rows = topRows(
    undefined,
    reading(
      samples(5, 0.1, [
        {
          family: 'open',
          labels: { server_address: '127.0.0.1', server_port: '6379', network_transport: 'tcp' },
          value: 3,
        },
      ]),
      0,
    ),
  );
  assert.equal(rows.length, 1);
  assert.equal(rows[0]!.open, 3);
});

test('the exposition parser keeps sockscope series with their labels and skips the rest', () => {
  const text = [
    '# HELP sockscope_exchanges_total x',
    'target_info{service_name="a"} 1',
    'sockscope_exchanges_total{server_address="h\\"x",sockscope_covered="true"} 12',
    'sockscope_exchange_duration_bucket{le="+Inf"} 3',
  ].join('\n');
  assert.deepEqual(parseExposition(text), [
    { family: 'exchanges', labels: { server_address: 'h"x', sockscope_covered: 'true' }, value: 12 },
    { family: 'bucket', labels: { le: '+Inf' }, value: 3 },
  ]);
});
