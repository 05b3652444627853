import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  TraceInputError,
  detectFormat,
  parseTraceText,
  readTraceFile,
  readTraceFileBatches,
} from '../../src/analysis/read';
import { Recorder, T0, jaegerTraces, otlpJson, sampleService, zipkinJson } from './helpers';

const FIXTURES = join(__dirname, '../fixtures/formats');
const dir = mkdtempSync(join(tmpdir(), 'sockscope-read-'));
let n = 0;
function file(content: string, name = `t${n++}.json`): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

test('the shared OTLP/JSON sample parses, with upper-case hex ids turned lower-case', async () => {
  const spans = await readTraceFile(join(FIXTURES, 'otlp-trace-example.json'));
  assert.equal(spans.length, 1);
  const s = spans[0];
  assert.equal(s.traceId, '5b8efff798038103d269b633813fc60c');
  assert.equal(s.spanId, 'eee19b7ec3c1b174');
  assert.equal(s.parentSpanId, 'eee19b7ec3c1b173');
  assert.equal(s.kind, 'server');
  assert.equal(s.scope, 'my.library');
  assert.equal(s.service, 'my.service');
  assert.equal(s.startMs, 1544712660000);
  assert.equal(s.endMs, 1544712661000);
  assert.deepEqual(s.attributes, { 'my.span.attr': 'some value' });
});

test('the shared Jaeger UI sample parses: short ids, duplicates, outside references and FOLLOWS_FROM', async () => {
  const spans = await readTraceFile(join(FIXTURES, 'jaeger-ui-trace.json'));
  assert.equal(spans.length, 5);
  assert.deepEqual(
    spans.map((s) => s.spanId),
    ['2', '2', '3', '4', '5'],
  );
  assert.equal(spans[0].traceId, '0000000000000001');
  assert.equal(spans[0].service, 'service-x');
  assert.equal(spans[1].status, 'error', 'the error=true tag marks the span as an error');
  assert.equal(spans[1].attributes['peer.ipv4'], 23456);
  assert.equal(spans[1].attributes.error, undefined, 'status tags are not attributes');
  const ref = spans[3];
  assert.equal(ref.parentSpanId, '2', 'the parent is the CHILD_OF within the same trace');
  assert.deepEqual(ref.links, [
    { traceId: '00000000000000ff', spanId: 'ff' },
    { traceId: '0000000000000001', spanId: '2' },
  ]);
  assert.equal(spans[4].parentSpanId, '4');
  assert.equal(spans[4].service, 'service-y');
  assert.ok(Math.abs(spans[0].endMs - spans[0].startMs - 0.005) < 1e-3, 'microsecond durations');
});

test('OTLP/JSON written by the real serialiser keeps scope, kind, typed attributes, status and ns times', async () => {
  const rec = new Recorder();
  const root = rec.root('GET /x', 0, 100);
  rec.exchange(root, {
    protocol: 'redis',
    operation: 'GET',
    caller: 'ioredis',
    host: 'cache',
    port: 6379,
    start: 1.25,
    end: 3.5,
    error: true,
  });
  const spans = parseTraceText(otlpJson(rec.finished()), 'mem');
  const ex = spans.find((s) => s.scope === 'sockscope');
  assert.ok(ex);
  assert.equal(ex.kind, 'client');
  assert.equal(ex.service, 'checkout');
  assert.equal(ex.status, 'error');
  assert.equal(ex.name, 'redis GET');
  assert.equal(ex.attributes['server.port'], 6379);
  assert.equal(ex.attributes['sockscope.covered'], false);
  assert.equal(ex.attributes['sockscope.kind'], 'exchange');
  assert.equal(ex.startMs, T0 + 1.25);
  assert.equal(ex.endMs, T0 + 3.5);
  assert.equal(ex.parentSpanId, root.spanContext().spanId);
  assert.match(ex.traceId, /^[0-9a-f]{32}$/);
});

test('JSONL is read one request per line, one batch per line, skipping blank lines', async () => {
  const a = otlpJson(sampleService().finished());
  const b = otlpJson(sampleService().finished());
  const p = file(`${a}\n\n${b}\n`, 'traces.jsonl');
  const batches: number[] = [];
  for await (const batch of readTraceFileBatches(p)) batches.push(batch.length);
  assert.deepEqual(batches, [7, 7]);
});

test('ids in base64 (older protobuf-JSON writers) are decoded to hex', () => {
  const doc = {
    resourceSpans: [
      {
        scopeSpans: [
          {
            scope: { name: 'x' },
            spans: [
              {
                traceId: Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex').toString('base64'),
                spanId: Buffer.from('a1a2a3a4a5a6a7a8', 'hex').toString('base64'),
                parentSpanId: '',
                name: 's',
                kind: 'SPAN_KIND_CLIENT',
                startTimeUnixNano: 1000000,
                endTimeUnixNano: '3000000',
                status: { code: 'STATUS_CODE_ERROR' },
              },
            ],
          },
        ],
      },
    ],
  };
  const [s] = parseTraceText(JSON.stringify(doc), 'mem');
  assert.equal(s.traceId, '0102030405060708090a0b0c0d0e0f10');
  assert.equal(s.spanId, 'a1a2a3a4a5a6a7a8');
  assert.equal(s.parentSpanId, undefined);
  assert.equal(s.kind, 'client');
  assert.equal(s.status, 'error');
  assert.equal(s.endMs - s.startMs, 2);
});

test('a pretty-printed OTLP/JSON document is read whole', async () => {
  const doc = JSON.stringify(JSON.parse(otlpJson(sampleService().finished())), null, 2);
  const spans = await readTraceFile(file(doc));
  assert.equal(spans.length, 7);
});

test('Zipkin v2 JSON from the real Zipkin exporter is read, with numeric and boolean tags restored', async () => {
  const body = await zipkinJson(sampleService().finished());
  assert.equal(detectFormat(JSON.parse(body)), 'zipkin');
  const spans = await readTraceFile(file(body));
  assert.equal(spans.length, 7);
  const ex = spans.find((s) => s.name === 'redis GET');
  assert.ok(ex);
  assert.equal(ex.kind, 'client');
  assert.equal(ex.scope, undefined, 'the OpenTelemetry Zipkin exporter records no scope');
  assert.equal(ex.service, 'checkout');
  assert.equal(ex.attributes['server.port'], 6379);
  assert.equal(ex.attributes['sockscope.bytes_sent'], 42);
  assert.equal(ex.attributes['sockscope.covered'], false);
  assert.equal(ex.attributes['server.address'], 'cache');
  const root = spans.find((s) => s.name === 'GET /checkout');
  assert.equal(root?.kind, 'server');
});

test('a Zipkin tag carrying otel.scope.name sets the scope, and an error tag sets the status', () => {
  const spans = parseTraceText(
    JSON.stringify([
      {
        traceId: 'ABCDEF0123456789',
        id: '1',
        name: 'x',
        kind: 'PRODUCER',
        timestamp: 1700000000000000,
        duration: 1500,
        tags: { 'otel.scope.name': '@opentelemetry/instrumentation-amqplib', error: 'broker closed' },
      },
    ]),
    'mem',
  );
  assert.equal(spans[0].scope, '@opentelemetry/instrumentation-amqplib');
  assert.equal(spans[0].kind, 'producer');
  assert.equal(spans[0].status, 'error');
  assert.equal(spans[0].traceId, 'abcdef0123456789');
  assert.equal(spans[0].endMs - spans[0].startMs, 1.5);
});

test('a Jaeger /api/traces response ({"data":[...]}) is read, scope from otel.scope.name, kind from span.kind', async () => {
  const rec = sampleService();
  const spans = await readTraceFile(
    file(JSON.stringify({ data: jaegerTraces(rec.finished()), errors: null })),
  );
  assert.equal(spans.length, 7);
  const pg = spans.find((s) => s.scope === '@opentelemetry/instrumentation-pg');
  assert.equal(pg?.kind, 'client');
  assert.equal(pg?.attributes['server.port'], 5432);
  const root = spans.find((s) => s.name === 'GET /checkout');
  assert.equal(root?.parentSpanId, undefined);
});

test('an unreadable file is a TraceInputError naming the file', async () => {
  const p = join(dir, 'missing.jsonl');
  await assert.rejects(readTraceFile(p), (e: unknown) => {
    assert.ok(e instanceof TraceInputError);
    assert.equal(e.message, `${p}: cannot read: no such file`);
    return true;
  });
  const d = join(dir, 'adir');
  mkdirSync(d);
  await assert.rejects(readTraceFile(d), /is a directory/);
});

test('invalid JSON in a document names the file and the line', async () => {
  const p = file('{\n  "resourceSpans": [\n    {,}\n  ]\n}\n');
  await assert.rejects(readTraceFile(p), (e: unknown) => {
    assert.ok(e instanceof TraceInputError);
    assert.equal(e.line, 3);
    assert.match(e.message, new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: invalid JSON`));
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
});

test('JSON that is no known trace format is refused', async () => {
  await assert.rejects(readTraceFile(file('{"hello":"world"}\n')), /unknown trace format/);
  await assert.rejects(readTraceFile(file('{\n"hello": 1\n}')), /unknown trace format/);
});

test('a JSONL file with some bad lines uses the good ones and warns once with the count', async () => {
  const good = otlpJson(sampleService().finished());
  const p = file(
    ['garbage', good, '{"truncated":', good, '{"not":"a trace"}', good].join('\n'),
    'some-bad.jsonl',
  );
  const warnings: string[] = [];
  const spans = await readTraceFile(p, { onWarning: (w) => warnings.push(w) });
  assert.equal(spans.length, 21);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /some-bad\.jsonl: skipped 3 of 6 lines \(first at line 1/);
});

test('an empty file yields no spans', async () => {
  assert.deepEqual(await readTraceFile(file('')), []);
});

test('invalid JSON is located and explained the same way whatever V8 says', async () => {
  const cases: Array<[string, number, string]> = [
    ['{"a": [1, 2,]}', 1, 'unexpected "]"'],
    ['{\n"a": tru\n}', 2, 'unexpected "t"'],
    ['{\n"a": "x\n}', 2, 'unexpected "\\n"'],
    ['[\n1,\n2', 3, 'unexpected end of input'],
    ['{"a" 1}', 1, 'unexpected "1"'],
    ['{"a":"\\q"}', 1, 'unexpected "q"'],
    ['[1] 2', 1, 'unexpected "2"'],
  ];
  for (const [text, line, reason] of cases) {
    const p = file(text.replace(/^\{/, '{ '));
    await assert.rejects(readTraceFile(p), (e: unknown) => {
      assert.ok(e instanceof TraceInputError);
      assert.equal(e.message, `${p}:${line}: invalid JSON: ${reason}`, text);
      return true;
    });
  }
});
