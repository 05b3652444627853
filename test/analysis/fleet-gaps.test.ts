import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fleetGapQueries, fleetGaps, LABELS } from '../../src/analysis/fleet-gaps';
import { analyzeGaps } from '../../src/analysis/gaps';
import { parseTraceText } from '../../src/analysis/read';
import { Recorder, otlpJson } from './helpers';

const pg = {
  [LABELS.caller]: 'pg',
  [LABELS.protocol]: 'postgresql',
  [LABELS.transport]: 'tcp',
  [LABELS.address]: 'db.internal',
  [LABELS.port]: '5432',
};

test('fleet rows have the trace rows shape: phases, operation counts, verdict, uncovered operation names', () => {
  // The same traffic as spans and as metric series: one covered SELECT, an uncovered STARTUP and
  // TERMINATE, two uncovered LISTENs (an operation pg's instrumentation did not see).
  const rec = new Recorder();
  const root = rec.root('job');
  rec.upstream(root, '@opentelemetry/instrumentation-pg', {
    host: 'db.internal',
    port: 5432,
    start: 10,
    end: 20,
  });
  rec.exchange(root, { protocol: 'postgresql', operation: 'STARTUP', phase: 'setup', start: 0, end: 4 });
  rec.exchange(root, { protocol: 'postgresql', operation: 'SELECT', phase: 'operation', start: 11, end: 19 });
  rec.exchange(root, { protocol: 'postgresql', operation: 'LISTEN', phase: 'operation', start: 30, end: 31 });
  rec.exchange(root, { protocol: 'postgresql', operation: 'LISTEN', phase: 'operation', start: 40, end: 42 });
  rec.exchange(root, {
    protocol: 'postgresql',
    operation: 'TERMINATE',
    phase: 'teardown',
    start: 50,
    end: 51,
  });
  const [traceRow] = analyzeGaps(parseTraceText(otlpJson(rec.finished()), 'mem'), { rttMs: 1 }).rows;

  const series = (
    phase: string,
    operation: string,
    covered: string,
    value: number,
  ): { labels: Record<string, string>; value: number } => ({
    labels: {
      ...pg,
      [LABELS.phase]: phase,
      [LABELS.operation]: operation,
      [LABELS.covered]: covered,
      ...(covered === 'true' ? { [LABELS.coveredBy]: '@opentelemetry/instrumentation-pg' } : {}),
    },
    value,
  });
  const exchanges = [
    series('setup', 'STARTUP', 'false', 1),
    series('operation', 'SELECT', 'true', 1),
    series('operation', 'LISTEN', 'false', 2),
    series('teardown', 'TERMINATE', 'false', 1),
  ];
  const time = [
    series('setup', 'STARTUP', 'false', 0.004),
    series('operation', 'SELECT', 'true', 0.008),
    series('operation', 'LISTEN', 'false', 0.003),
    series('teardown', 'TERMINATE', 'false', 0.001),
  ];
  const fleet = fleetGaps(exchanges, time, { rttMs: 1 });
  const { undecided, ...fleetRow } = fleet.rows[0];
  assert.equal(undecided, 0);
  assert.deepEqual(fleetRow, traceRow);
  assert.equal(fleetRow.verdict, 'partly-covered');
  assert.deepEqual(fleetRow.uncoveredOperationNames, ['LISTEN']);
  assert.equal(fleet.rttMs, 1);
  assert.equal(fleet.totals.operationsUncovered, 2);
});

test('fleet series without a phase count as operations; undecided ones are neither covered nor uncovered', () => {
  const fleet = fleetGaps(
    [
      { labels: { ...pg, [LABELS.covered]: 'false' }, value: 3 },
      { labels: { ...pg, [LABELS.covered]: 'unknown' }, value: 4 },
    ],
    [],
  );
  const [row] = fleet.rows;
  assert.deepEqual(row.phases.operation, { exchanges: 7, covered: 0, uncovered: 3 });
  assert.deepEqual(
    [row.operations, row.operationsUncovered, row.undecided, row.verdict],
    [7, 3, 4, 'uncovered'],
  );
});

test('the fleet queries group by phase and operation as well as the row and verdict labels', () => {
  const q = fleetGapQueries('job="apps"', '300s');
  for (const l of [LABELS.phase, LABELS.operation, LABELS.caller, LABELS.covered]) {
    assert.match(q.exchanges, new RegExp(`sum by \\([^)]*\\b${l}\\b`));
    assert.match(q.time, new RegExp(`sum by \\([^)]*\\b${l}\\b`));
  }
});
