/**
 * Hostile sizes: every case ends with one stderr line naming the input (and line) and what is
 * wrong, exit 2, never a stack trace, with memory bounded by the stated caps. Large inputs are
 * sparse files or streamed, so nothing big is written to disk.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTraceFile } from '../../src/analysis/read';
import { cli, lines, serve, type CliResult } from './helpers';

let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sockscope-huge-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const TRACE = 'ab'.repeat(16);
const SPAN = 'cd'.repeat(8);

function otlpLine(span: Record<string, unknown>): string {
  return JSON.stringify({
    resourceSpans: [
      {
        scopeSpans: [
          {
            scope: { name: 'sockscope' },
            spans: [{ traceId: TRACE, spanId: SPAN, name: 'x', kind: 3, ...span }],
          },
        ],
      },
    ],
  });
}

/** Exit 2 and one stderr line matching `message`, with no stack trace. */
function assertOneLineError(r: CliResult, message: RegExp): void {
  assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
  const l = lines(r.stderr);
  assert.equal(l.length, 1, r.stderr);
  assert.match(l[0], message);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack trace');
}

test('a 2 GB line (sparse file) stops at the per-line cap with file and line named, exit 2', async () => {
  const file = join(dir, 's.jsonl');
  writeFileSync(
    file,
    `${otlpLine({ startTimeUnixNano: '1', endTimeUnixNano: '2' })}\n{"resourceSpans":[]}\n`,
  );
  truncateSync(file, 2 * 1024 ** 3);
  for (const command of ['gaps', 'report']) {
    assertOneLineError(await cli([command, file]), /s\.jsonl:3: a line longer than 256 MiB/);
  }
});

test('a line over a smaller cap given to the reader is refused before it is held whole', async () => {
  const file = join(dir, 'line.jsonl');
  writeFileSync(file, `{"resourceSpans":[]}\n${' '.repeat(5000)}{"resourceSpans":[]}\n`);
  await assert.rejects(
    readTraceFile(file, { maxLineBytes: 4096 }),
    /line\.jsonl:2: a line longer than 4096 bytes/,
  );
  assert.deepEqual(await readTraceFile(file, { maxLineBytes: 8192 }), []);
});

test('a pretty-printed document over the document cap is refused naming the file', async () => {
  const file = join(dir, 'pretty.json');
  const spans = Array.from({ length: 3000 }, (_, i) => ({
    traceId: TRACE,
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: 'x',
    startTimeUnixNano: '1',
    endTimeUnixNano: '2',
  }));
  writeFileSync(file, JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }, null, 2));
  await assert.rejects(
    readTraceFile(file, { maxDocumentBytes: 64 * 1024 }),
    /pretty\.json: a single JSON document over 65536 bytes; write traces as JSONL/,
  );
  assert.equal((await readTraceFile(file)).length, 3000);
});

test('a 400-digit timestamp is refused naming the file, line and field (OTLP, Jaeger, Zipkin)', async () => {
  const huge = '9'.repeat(400);
  const otlp = join(dir, 'time.jsonl');
  writeFileSync(
    otlp,
    `${otlpLine({ startTimeUnixNano: '1', endTimeUnixNano: '2' })}\n${otlpLine({ startTimeUnixNano: huge, endTimeUnixNano: huge })}\n`,
  );
  assertOneLineError(
    await cli(['report', otlp]),
    /time\.jsonl:2: span cdcdcdcdcdcdcdcd: startTimeUnixNano 9{40}\.\.\. \(400 characters\) is not a time/,
  );
  const jaeger = join(dir, 'time-jaeger.json');
  const jaegerDoc = {
    data: [
      {
        traceID: TRACE,
        spans: [{ traceID: TRACE, spanID: SPAN, operationName: 'x', startTime: 0, duration: 1, tags: [] }],
        processes: {},
      },
    ],
  };
  // A 400-digit JSON number, as written (JSON.stringify would turn it into null).
  writeFileSync(jaeger, JSON.stringify(jaegerDoc).replace('"startTime":0', `"startTime":${huge}`));
  assertOneLineError(
    await cli(['gaps', jaeger]),
    /time-jaeger\.json:1: span cdcdcdcdcdcdcdcd: startTime .* is not a time/,
  );
  const zipkin = join(dir, 'time-zipkin.json');
  writeFileSync(
    zipkin,
    JSON.stringify([{ traceId: TRACE, id: SPAN, name: 'x', timestamp: 1, duration: huge }]),
  );
  assertOneLineError(
    await cli(['report', zipkin]),
    /time-zipkin\.json:1: span cdcdcdcdcdcdcdcd: duration .* is not a time/,
  );
});

test('attribute values nested 50 000 deep neither overflow the stack nor pass silently', async () => {
  let array = '{"stringValue":"x"}';
  let kvlist = array;
  for (let i = 0; i < 50_000; i++) {
    array = `{"arrayValue":{"values":[${array}]}}`;
    kvlist = `{"kvlistValue":{"values":[{"key":"k","value":${kvlist}}]}}`;
  }
  // Spliced as text: JSON.stringify itself cannot walk 50 000 levels.
  const line = (value: string): string =>
    otlpLine({
      startTimeUnixNano: '1',
      endTimeUnixNano: '2',
      attributes: [{ key: 'k', value: 'VALUE' }],
    }).replace('"VALUE"', value);
  const arrays = join(dir, 'deep-array.jsonl');
  writeFileSync(arrays, `${line(array)}\n`);
  const spans = await readTraceFile(arrays);
  assert.deepEqual(spans[0].attributes.k, [null], 'a nested array is a null element in the flat model');
  const lists = join(dir, 'deep-kvlist.jsonl');
  writeFileSync(lists, `${line(kvlist)}\n`);
  assertOneLineError(
    await cli(['gaps', lists]),
    /deep-kvlist\.jsonl:1: an attribute value \(kvlistValue\) is nested too deep/,
  );
});

test('an endless --jaeger answer stops at the per-response cap with one line, exit 2', async () => {
  const chunk = Buffer.alloc(1024 * 1024, 0x20);
  let sent = 0;
  const s = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.write('{"data":[');
    const pump = (): void => {
      while (!res.destroyed && res.write(chunk)) sent += chunk.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => res.removeAllListeners('drain'));
    pump();
  });
  try {
    const r = await cli(['gaps', '--jaeger', s.url, '--service', 'svc']);
    assertOneLineError(
      r,
      /Jaeger at http:\/\/127\.0\.0\.1:\d+\/api\/traces: the answer is larger than 256 MiB/,
    );
    // The client hung up soon after the cap (what was in flight in socket buffers aside).
    assert.ok(sent < 512 * 1024 * 1024, `${sent} bytes sent`);
  } finally {
    await s.close();
  }
});
