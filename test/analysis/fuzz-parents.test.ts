/**
 * Damaged parent links: loops, self-parents, missing parents, duplicate span ids and very deep
 * chains. Every analysis must finish with output, and the work it does (parent links followed,
 * counted by the model) must stay within a fixed multiple of the input's size: no timing asserts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyzeGaps } from '../../src/analysis/gaps';
import type { TraceSpan } from '../../src/analysis/model';
import { parseTraceText } from '../../src/analysis/read';
import { buildReport, reportFromSpans } from '../../src/analysis/report';
import { renderHtml } from '../../src/report/html';
import { renderText } from '../../src/report/text';
import { cli, lines } from '../cli/helpers';

const TRACE = 'ab'.repeat(16);

function span(id: number, parent: number | undefined, o: Partial<TraceSpan> = {}): TraceSpan {
  return {
    traceId: TRACE,
    spanId: id.toString(16).padStart(16, '0'),
    parentSpanId: parent === undefined ? undefined : parent.toString(16).padStart(16, '0'),
    name: `span ${id}`,
    kind: 'internal',
    scope: 'app',
    service: 'svc',
    startMs: id,
    endMs: id + 1,
    attributes: {},
    status: 'unset',
    links: [],
    ...o,
  };
}

function exchange(id: number, parent: number | undefined, n = id): TraceSpan {
  return span(id, parent, {
    name: 'redis GET',
    kind: 'client',
    scope: 'sockscope',
    startMs: n,
    endMs: n + 2,
    attributes: {
      'sockscope.kind': 'exchange',
      'network.protocol.name': 'redis',
      'sockscope.operation': 'GET',
      'server.address': 'cache',
      'server.port': 6379,
      'sockscope.caller.package': 'ioredis',
      'sockscope.request.hash': `h${id % 7}`,
    },
  });
}

function upstream(id: number, parent: number | undefined, n = id): TraceSpan {
  return span(id, parent, {
    name: 'get',
    kind: 'client',
    scope: '@opentelemetry/instrumentation-ioredis',
    startMs: n,
    endMs: n + 3,
    attributes: { 'db.system': 'redis', 'server.address': 'cache', 'server.port': 6379 },
  });
}

/** A seeded PRNG (mulberry32): the same cases on every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const cases: Array<[string, () => TraceSpan[]]> = [
  ['a span that is its own parent', () => [span(1, 1, { kind: 'server' }), exchange(2, 1), exchange(3, 3)]],
  [
    'an A->B->A loop with calls under it',
    () => [span(1, 2), span(2, 1), exchange(3, 1), upstream(4, 2), exchange(5, 4)],
  ],
  ['an upstream span in a loop with its exchange', () => [upstream(1, 2), exchange(2, 1)]],
  ['missing parents', () => [exchange(1, 99), exchange(2, 98), span(3, 97), exchange(4, 3)]],
  [
    'duplicate span ids whose second copy closes a loop',
    () => [span(1, undefined), span(2, 1), span(1, 2), exchange(3, 2), exchange(3, 1)],
  ],
  [
    'a chain 100 000 spans deep with calls at the bottom',
    () => {
      const out: TraceSpan[] = [span(0, undefined, { kind: 'server' })];
      for (let i = 1; i < 100_000; i++)
        out.push(span(i, i - 1, i % 50_000 === 0 ? { attributes: { 'sockscope.function': 'f' } } : {}));
      for (let i = 0; i < 6; i++) out.push(exchange(200_000 + i, 99_999, 3 * i));
      return out;
    },
  ],
  [
    'a chain 50 000 spans deep with an exchange under every span',
    () => {
      const out: TraceSpan[] = [span(0, undefined, { kind: 'server' })];
      for (let i = 1; i < 50_000; i++) out.push(span(i, i - 1));
      for (let i = 0; i < 50_000; i++) out.push(exchange(100_000 + i, i, 3 * i));
      return out;
    },
  ],
  [
    'a loop 100 000 spans long',
    () => {
      const out: TraceSpan[] = [];
      for (let i = 0; i < 100_000; i++) out.push(span(i, (i + 1) % 100_000));
      out.push(exchange(200_000, 5));
      return out;
    },
  ],
  [
    'one upstream span covering 150 000 exchanges',
    () => {
      const out: TraceSpan[] = [span(1, undefined, { kind: 'server', endMs: 1e6 }), upstream(2, 1, 0)];
      out[1].endMs = 1e6;
      for (let i = 0; i < 150_000; i++) out.push(exchange(10 + i, 2, i));
      return out;
    },
  ],
  [
    '150 000 sibling reads in a row',
    () => {
      const out: TraceSpan[] = [span(1, undefined, { kind: 'server', endMs: 1e6 })];
      for (let i = 0; i < 150_000; i++) out.push(exchange(10 + i, 1, 3 * i));
      return out;
    },
  ],
];
for (let seed = 1; seed <= 20; seed++) {
  cases.push([
    `random parent links, seed ${seed}`,
    () => {
      const next = random(seed);
      const n = 500;
      const out: TraceSpan[] = [];
      for (let i = 1; i <= n; i++) {
        // Any span may name any id as parent: itself, a later one, an unknown one, or none.
        const r = next();
        const parent = r < 0.1 ? undefined : r < 0.15 ? i : Math.floor(next() * (n + 50)) + 1;
        const pick = next();
        const id = next() < 0.05 ? Math.floor(next() * n) + 1 : i; // some duplicate ids
        out.push(
          pick < 0.4
            ? exchange(id, parent)
            : pick < 0.55
              ? upstream(id, parent)
              : span(id, parent, pick < 0.6 ? { attributes: { 'sockscope.function': 'f' } } : {}),
        );
      }
      return out;
    },
  ]);
}

for (const [name, make] of cases) {
  test(`report, gaps and both renderers finish with output on ${name}, with work linear in its size`, () => {
    const spans = make();
    const { report, analysis } = reportFromSpans(spans);
    assert.ok(
      analysis.parentSteps <= 64 * spans.length,
      `${analysis.parentSteps} parent steps for ${spans.length} spans`,
    );
    assert.ok(report.functions.length > 0, 'the report names at least one unit');
    assert.ok(renderText(report, analysis).length > 0);
    assert.ok(renderHtml(buildReport(analysis), analysis, { generatedAt: new Date(0) }).includes('</html>'));
    assert.ok(analyzeGaps(spans).totals.exchanges > 0);
  });
}

test('a parent loop is reported once, naming the trace and the span, and the rest is analysed', () => {
  const spans = [span(1, 2), span(2, 1), exchange(3, 1), span(10, undefined, { kind: 'server' })];
  for (let i = 0; i < 5; i++) spans.push(exchange(20 + i, 10, 3 * i));
  const { analysis } = reportFromSpans(spans, { nPlusOneMin: 5 });
  assert.equal(analysis.warnings.length, 1, analysis.warnings.join('\n'));
  assert.match(analysis.warnings[0], new RegExp(`trace ${TRACE}: span 000000000000000[12] .*own ancestor`));
  assert.equal(
    analysis.findings.filter((f) => f.type === 'n+1').length,
    1,
    'the loop-free part still has its finding',
  );
});

test('loops survive the round trip through a trace file and are analysed from it', () => {
  const doc = {
    data: [
      {
        traceID: TRACE,
        spans: [
          {
            traceID: TRACE,
            spanID: 'a1',
            operationName: 'a',
            references: [{ refType: 'CHILD_OF', traceID: TRACE, spanID: 'a1' }],
            startTime: 1e15,
            duration: 10,
            tags: [],
            processID: 'p',
          },
          {
            traceID: TRACE,
            spanID: 'b1',
            operationName: 'b',
            references: [{ refType: 'CHILD_OF', traceID: TRACE, spanID: 'c1' }],
            startTime: 1e15,
            duration: 10,
            tags: [],
            processID: 'p',
          },
          {
            traceID: TRACE,
            spanID: 'c1',
            operationName: 'c',
            references: [{ refType: 'CHILD_OF', traceID: TRACE, spanID: 'b1' }],
            startTime: 1e15,
            duration: 10,
            tags: [],
            processID: 'p',
          },
        ],
        processes: { p: { serviceName: 'svc', tags: [] } },
      },
    ],
  };
  const spans = parseTraceText(JSON.stringify(doc), 'loops.json');
  const { analysis } = reportFromSpans(spans);
  assert.equal(analysis.warnings.length, 2, 'the self-parent and the two-span loop, once each');
  assert.equal(analysis.traces.get(TRACE)?.length, 3);
});

test('sockscope report on a file with a self-parent and an A->B->A loop exits 0 with one warning per loop', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sockscope-loop-'));
  try {
    const file = join(dir, 'loops.json');
    const spans = [span(1, 1, { kind: 'server' }), exchange(2, 1), span(3, 4), span(4, 3), exchange(5, 3)];
    const jaeger = {
      data: [
        {
          traceID: TRACE,
          processes: { p: { serviceName: 'svc', tags: [] } },
          spans: spans.map((s) => ({
            traceID: TRACE,
            spanID: s.spanId,
            operationName: s.name,
            references: [{ refType: 'CHILD_OF', traceID: TRACE, spanID: s.parentSpanId }],
            startTime: 1.7e15 + s.startMs * 1000,
            duration: (s.endMs - s.startMs) * 1000,
            processID: 'p',
            tags: [
              { key: 'span.kind', type: 'string', value: s.kind },
              { key: 'otel.scope.name', type: 'string', value: s.scope },
              ...Object.entries(s.attributes).map(([key, value]) => ({
                key,
                type: typeof value === 'number' ? 'int64' : 'string',
                value,
              })),
            ],
          })),
        },
      ],
    };
    writeFileSync(file, JSON.stringify(jaeger));
    const r = await cli(['report', file]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /exchanges/);
    const warnings = lines(r.stderr).filter((l) => l.includes('own ancestor'));
    assert.equal(warnings.length, 2, r.stderr);
    assert.ok(warnings.every((w) => w.includes(TRACE)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
