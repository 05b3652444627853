import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderGapsTable } from '../../src/render/gaps-table';
import { formatMs, renderTable, shouldColor } from '../../src/render/terminal';

test('colour is used only on a TTY, and never when NO_COLOR is set', () => {
  assert.equal(shouldColor({ isTTY: true }, {}), true);
  assert.equal(shouldColor({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(shouldColor({ isTTY: false }, {}), false);
  assert.equal(shouldColor({}, {}), false);
  assert.equal(shouldColor({ isTTY: true }, { TERM: 'dumb' }), false);
});

test('columns are aligned, numbers to the right, with no trailing spaces', () => {
  const out = renderTable(
    [{ header: 'NAME' }, { header: 'N', align: 'right' }, { header: 'NOTE' }],
    [
      ['a', '1', 'x'],
      ['longer-name', '12345', ''],
    ],
  );
  assert.equal(
    out,
    ['NAME             N  NOTE', 'a                1  x', 'longer-name  12345'].join('\n') + '\n',
  );
});

test('colour codes wrap the text only, so coloured and plain tables line up the same', () => {
  const cols = [{ header: 'A' }, { header: 'B', align: 'right' as const }, { header: 'C' }];
  const rows = [[{ text: 'x', colour: 'red' as const }, { text: '1', colour: 'green' as const }, 'end']];
  const plain = renderTable(cols, rows);
  const coloured = renderTable(cols, rows, { color: true });
  const ESC = '\u001b';
  assert.ok(coloured.includes(`${ESC}[31mx${ESC}[39m`), coloured);
  assert.equal(
    coloured
      .split(ESC)
      .map((part, i) => (i === 0 ? part : part.replace(/^\[\d+m/, '')))
      .join(''),
    plain,
  );
});

test('the gaps table has a totals line after a rule, operations and chatter as covered/total', () => {
  const phase = (exchanges: number, covered: number) => ({
    exchanges,
    covered,
    uncovered: exchanges - covered,
  });
  const row = {
    callerPackage: 'nats',
    protocol: 'nats',
    server: 'nats:4222',
    exchanges: 4,
    covered: 0,
    uncovered: 4,
    coveredBy: [],
    uncoveredTimeMs: 5,
    suggestion: "no official instrumentation: sockscope's spans are your visibility",
    verdict: 'uncovered' as const,
    operations: 3,
    operationsCovered: 0,
    operationsUncovered: 3,
    uncoveredOperationTimeMs: 4.5,
    uncoveredOperationNames: ['PUB'],
    phases: { setup: phase(1, 0), operation: phase(3, 0), teardown: phase(0, 0), heartbeat: phase(0, 0) },
    callerPackageVersions: [],
  };
  const out = renderGapsTable({
    rows: [row],
    totals: {
      exchanges: 4,
      covered: 0,
      uncovered: 4,
      operations: 3,
      operationsCovered: 0,
      operationsUncovered: 3,
      phases: row.phases,
    },
  }).split('\n');
  assert.match(out[0], /^CALLER +PROTOCOL +SERVER +OPS +CHATTER +GAP TIME +COVERED BY$/);
  assert.match(out[1], /^nats +nats +nats:4222 +0\/3 +0\/1 +4\.5 ms +-$/);
  assert.match(out[2], /^-+$/);
  assert.match(out[3], /^total +1 row +0\/3 +0\/1 +4\.5 ms +100% of ops uncovered$/);
  assert.equal(
    out[7],
    "  nats -> nats nats:4222: no official instrumentation: sockscope's spans are your visibility",
  );
});

test('durations read naturally', () => {
  assert.deepEqual([0, 0.25, 4.5, 850, 1234, 45_000, 120_000].map(formatMs), [
    '0 ms',
    '0.25 ms',
    '4.5 ms',
    '850 ms',
    '1.23 s',
    '45.0 s',
    '2.0 min',
  ]);
});
