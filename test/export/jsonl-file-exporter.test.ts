import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fork } from 'node:child_process';
import {
  context,
  diag,
  DiagLogLevel,
  isSpanContextValid,
  SpanKind,
  trace,
  type DiagLogger,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, isTracingSuppressed, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { JsonlFileSpanExporter } from '../../src/export/jsonl-file-exporter';
import { decodeJsonRequest } from './helpers/otlp-decode';
import { createProvider, emitSampleSpans } from './helpers/sample-spans';
import { assertSampleArrived } from './helpers/assert-sample';

function tmpFile(t: { after(fn: () => void): void }, name = 'spans.jsonl'): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockscope-jsonl-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, name);
}

/** Real spans: the four sample spans, captured in memory first. */
function sampleSpans(): { spans: ReadableSpan[]; ids: ReturnType<typeof emitSampleSpans> } {
  const memory = new InMemorySpanExporter();
  const ids = emitSampleSpans(createProvider([new SimpleSpanProcessor({ exporter: memory })]));
  return { spans: memory.getFinishedSpans(), ids };
}

function manySpans(n: number, attrBytes = 100): ReadableSpan[] {
  const memory = new InMemorySpanExporter();
  const tracer = createProvider([new SimpleSpanProcessor({ exporter: memory })]).getTracer('sockscope');
  for (let i = 0; i < n; i++) {
    tracer
      .startSpan('tcp exchange', { kind: SpanKind.CLIENT, attributes: { i, pad: 'p'.repeat(attrBytes) } })
      .end();
  }
  return memory.getFinishedSpans();
}

function exportSync(exporter: JsonlFileSpanExporter, spans: ReadableSpan[]): ExportResult {
  let result: ExportResult | undefined;
  exporter.export(spans, (r) => (result = r));
  assert.ok(result, 'export() reports its result before returning');
  return result;
}

function lines(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  assert.ok(text === '' || text.endsWith('\n'), 'the file ends with a complete line');
  return text.split('\n').slice(0, -1);
}

function captureDiag(t: { after(fn: () => void): void }): string[] {
  const messages: string[] = [];
  const logger: DiagLogger = {
    error: (m) => messages.push(`error: ${m}`),
    warn: (m) => messages.push(`warn: ${m}`),
    info: () => undefined,
    debug: () => undefined,
    verbose: () => undefined,
  };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  t.after(() => diag.disable());
  return messages;
}

test('each export() appends exactly one line: the OTLP/JSON ExportTraceServiceRequest of the JSON serialiser', (t) => {
  const file = tmpFile(t);
  const { spans, ids } = sampleSpans();
  const exporter = new JsonlFileSpanExporter({ path: file });
  assert.equal(exportSync(exporter, spans).code, ExportResultCode.SUCCESS);
  assert.equal(exportSync(exporter, spans.slice(0, 1)).code, ExportResultCode.SUCCESS);
  const got = lines(file);
  assert.equal(got.length, 2);
  // Byte for byte what the OTLP/HTTP JSON exporter would send.
  assert.equal(got[0], Buffer.from(JsonTraceSerializer.serializeRequest(spans)!).toString('utf8'));
  const request = JSON.parse(got[0]!);
  assert.ok(Array.isArray(request.resourceSpans));
  assertSampleArrived(decodeJsonRequest(got[0]!), ids);
  assert.equal(decodeJsonRequest(got[1]!).length, 1);
});

test('a new exporter appends to an existing file instead of replacing it', async (t) => {
  const file = tmpFile(t);
  const { spans } = sampleSpans();
  const first = new JsonlFileSpanExporter({ path: file });
  exportSync(first, spans);
  await first.shutdown();
  const second = new JsonlFileSpanExporter({ path: file });
  exportSync(second, spans);
  await second.shutdown();
  assert.equal(lines(file).length, 2);
});

test('after shutdown() export writes nothing and still reports success', async (t) => {
  const file = tmpFile(t);
  const { spans } = sampleSpans();
  const exporter = new JsonlFileSpanExporter({ path: file });
  exportSync(exporter, spans);
  await exporter.shutdown();
  assert.equal(exportSync(exporter, spans).code, ExportResultCode.SUCCESS);
  assert.equal(lines(file).length, 1);
  await exporter.forceFlush();
});

test('at maxBytes the file rotates to path.1, lines stay whole, and the rotation is reported once', (t) => {
  const messages = captureDiag(t);
  const file = tmpFile(t);
  const spans = manySpans(40);
  const exporter = new JsonlFileSpanExporter({ path: file, maxBytes: 8 * 1024, maxFiles: 50 });
  for (let i = 0; i < 40; i += 4)
    assert.equal(exportSync(exporter, spans.slice(i, i + 4)).code, ExportResultCode.SUCCESS);
  const files = [file, ...Array.from({ length: 50 }, (_, i) => `${file}.${i + 1}`)].filter((f) =>
    fs.existsSync(f),
  );
  assert.ok(files.length >= 3, `rotated more than once (files: ${files.length})`);
  let spanCount = 0;
  for (const f of files) {
    assert.ok(fs.statSync(f).size <= 8 * 1024, `${path.basename(f)} stays within maxBytes`);
    for (const line of lines(f)) spanCount += decodeJsonRequest(line).length;
  }
  assert.equal(spanCount, 40, 'no span lost across rotations');
  const rotations = messages.filter((m) => m.includes('rotated'));
  assert.equal(rotations.length, 1, `one rotation warning, got ${JSON.stringify(messages)}`);
});

test('rotation keeps at most maxFiles old files, so disk use stays bounded', (t) => {
  captureDiag(t);
  const file = tmpFile(t);
  const spans = manySpans(60);
  const exporter = new JsonlFileSpanExporter({ path: file, maxBytes: 4 * 1024, maxFiles: 2 });
  for (let i = 0; i < 60; i += 2) exportSync(exporter, spans.slice(i, i + 2));
  assert.ok(fs.existsSync(`${file}.1`));
  assert.ok(fs.existsSync(`${file}.2`));
  assert.ok(!fs.existsSync(`${file}.3`));
  const dir = path.dirname(file);
  const total = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
  assert.ok(total <= 3 * 4 * 1024);
});

test('a batch larger than maxBytes is split so that no line exceeds it; a single oversized span is dropped with one warning', (t) => {
  const messages = captureDiag(t);
  const file = tmpFile(t);
  const exporter = new JsonlFileSpanExporter({ path: file, maxBytes: 4 * 1024, maxFiles: 100 });
  assert.equal(exportSync(exporter, manySpans(20)).code, ExportResultCode.SUCCESS);
  let count = 0;
  for (const f of fs.readdirSync(path.dirname(file))) {
    for (const line of lines(path.join(path.dirname(file), f))) {
      assert.ok(Buffer.byteLength(line) + 1 <= 4 * 1024);
      count += decodeJsonRequest(line).length;
    }
  }
  assert.equal(count, 20);
  exportSync(exporter, manySpans(1, 10_000));
  exportSync(exporter, manySpans(1, 10_000));
  assert.equal(messages.filter((m) => m.includes('larger than maxBytes')).length, 1);
});

test('a write failure is reported as a failed export, never thrown into the caller', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sockscope-jsonl-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const exporter = new JsonlFileSpanExporter({ path: path.join(dir, 'missing-folder', 'spans.jsonl') });
  const result = exportSync(exporter, sampleSpans().spans);
  assert.equal(result.code, ExportResultCode.FAILED);
  assert.ok(result.error);
});

test('the path option is required', () => {
  assert.throws(() => new JsonlFileSpanExporter({} as never), /path/);
});

test("the exporter's own file writes run with tracing suppressed, so no instrumentation can trace them", (t) => {
  const manager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(manager);
  t.after(() => {
    context.disable();
  });
  const file = tmpFile(t);
  // The CommonJS module object itself (an `import * as` namespace is read-only).
  const realFs = require('node:fs') as { writeSync: unknown };
  const original = realFs.writeSync;
  const seen: boolean[] = [];
  realFs.writeSync = (...args: unknown[]) => {
    seen.push(isTracingSuppressed(context.active()));
    return (original as (...a: unknown[]) => number)(...args);
  };
  t.after(() => {
    realFs.writeSync = original;
  });
  const tracer = createProvider([]).getTracer('app');
  const span = tracer.startSpan('app work');
  assert.ok(isSpanContextValid(span.spanContext()));
  context.with(trace.setSpan(context.active(), span), () => {
    exportSync(new JsonlFileSpanExporter({ path: file }), sampleSpans().spans);
  });
  span.end();
  assert.deepEqual(seen, [true]);
});

test('a process killed in the middle of exporting leaves only whole lines', async (t) => {
  const file = tmpFile(t);
  const child = fork(path.join(__dirname, 'fixtures', 'jsonl-writer.ts'), [file], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`writer exited early with ${code}`)));
  });
  // Let it write for a while, then kill it without warning, mid-write as likely as not.
  while (!fs.existsSync(file) || fs.statSync(file).size < 4 * 1024 * 1024) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
  const all = lines(file);
  assert.ok(all.length > 10);
  for (const line of all) assert.equal(decodeJsonRequest(line).length, 300);
});
