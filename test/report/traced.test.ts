import { after, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { traced } from '../../src/traced';

const exporter = new InMemorySpanExporter();
const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);
beforeEach(() => exporter.reset());

function finished(name: string) {
  return exporter.getFinishedSpans().filter((s) => s.name === name);
}

describe('traced(name, fn)', () => {
  test('runs each call of a sync function in an INTERNAL span marked with sockscope.function', () => {
    const add = traced('add', (a: number, b: number) => a + b);
    assert.equal(add(2, 3), 5);
    assert.equal(add(4, 5), 9);
    const spans = finished('add');
    assert.equal(spans.length, 2);
    for (const s of spans) {
      assert.equal(s.kind, SpanKind.INTERNAL);
      assert.equal(s.attributes['sockscope.function'], 'add');
      assert.equal(s.instrumentationScope.name, 'sockscope');
      assert.equal(s.status.code, SpanStatusCode.UNSET);
    }
  });

  test('keeps this, the arguments, the name and the length of the wrapped function', () => {
    const counter = {
      base: 10,
      bump: traced('bump', function namedBump(this: { base: number }, by: number, _unused?: string) {
        return this.base + by;
      }),
    };
    assert.equal(counter.bump(5), 15);
    assert.equal(counter.bump.name, 'namedBump');
    assert.equal(counter.bump.length, 2);
  });

  test('an async function ends its span when the promise settles and child spans nest under it', async () => {
    const tracer = trace.getTracer('test');
    const load = traced('load', async (id: number) => {
      await new Promise((r) => setTimeout(r, 5));
      tracer.startSpan('child').end();
      return { id };
    });
    assert.deepEqual(await load(7), { id: 7 });
    const [span] = finished('load');
    const [child] = finished('child');
    assert.equal(child.parentSpanContext?.spanId, span.spanContext().spanId);
    assert.ok(span.ended);
  });

  test('a thrown error passes through unchanged and is recorded with status ERROR', () => {
    const boom = new TypeError('bad input');
    const fail = traced('fail', () => {
      throw boom;
    });
    assert.throws(
      () => fail(),
      (e) => e === boom,
    );
    const [span] = finished('fail');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    // The error's own message may hold secrets: error.type and sockscope's own words only.
    assert.equal(span.status.message, 'function threw');
    assert.equal(span.attributes['error.type'], 'TypeError');
    assert.ok(!JSON.stringify([span.attributes, span.events]).includes('bad input'));
  });

  test('a rejected promise rejects with the same reason and is recorded with status ERROR', async () => {
    const reason = new Error('db down');
    const fail = traced('failAsync', async () => {
      await Promise.resolve();
      throw reason;
    });
    await assert.rejects(fail(), (e) => e === reason);
    const [span] = finished('failAsync');
    assert.equal(span.status.code, SpanStatusCode.ERROR);
    assert.equal(span.attributes['error.type'], 'Error');
    assert.ok(!JSON.stringify([span.status, span.attributes, span.events]).includes('db down'));
  });

  test('a non-promise thenable is returned as is, without being started by the wrapper', () => {
    let thenCalled = false;
    const lazy = { then: () => (thenCalled = true), where: () => lazy };
    const build = traced('build', () => lazy);
    assert.equal(build(), lazy);
    assert.equal(thenCalled, false);
    assert.equal(finished('build').length, 1);
  });

  test('used without parentheses as a decorator, it fails with a message saying how to use it', () => {
    assert.throws(() => (traced as any)(function m() {}, { kind: 'method', name: 'm' }), /@traced\(\)/);
  });
});

// The decorator cases are compiled by the TypeScript compiler itself, once per decorator mode,
// type-checked (so `@traced()` is accepted by both), then run.
const DECORATED_SOURCE = `
import { traced } from ${JSON.stringify(resolve(__dirname, '../../src/traced'))};

export class Repository {
  prefix = 'row';

  @traced()
  async find(id: number): Promise<string> {
    await new Promise((r) => setTimeout(r, 1));
    return this.prefix + ':' + id;
  }

  @traced('repo.count')
  count(a: number, b: number): number {
    return a + b;
  }

  @traced()
  static create(): Repository {
    return new Repository();
  }

  @traced()
  fail(): never {
    throw new RangeError('nope');
  }
}

export class CachedRepository extends Repository {}
`;

const tmpRoot = resolve(__dirname, '../../.tmp'); // git-ignored; inside the repo so imports resolve
mkdirSync(tmpRoot, { recursive: true });
const workDir = mkdtempSync(join(tmpRoot, 'traced-'));
after(() => rmSync(workDir, { recursive: true, force: true }));

function compile(mode: 'standard' | 'experimental'): { Repository: any; CachedRepository: any } {
  const dir = join(workDir, mode);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'decorated.ts');
  writeFileSync(file, DECORATED_SOURCE);
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    strict: true,
    skipLibCheck: true,
    esModuleInterop: true,
    experimentalDecorators: mode === 'experimental',
    types: ['node'],
    typeRoots: [resolve(__dirname, '../../node_modules/@types')],
    outDir: join(dir, 'out'),
    rootDir: resolve(__dirname, '../..'),
  };
  const program = ts.createProgram([file], options);
  const diagnostics = ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file?.fileName === file)
    .map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  assert.deepEqual(diagnostics, [], `${mode} decorators should type-check`);
  let js = '';
  const emitted = program.emit(program.getSourceFile(file), (name, text) => {
    if (name.endsWith('.js')) js = text;
  });
  assert.equal(emitted.emitSkipped, false);
  // Make sure each mode really compiled to its own decorator protocol.
  assert.ok(
    js.includes(mode === 'standard' ? '__esDecorate' : '__decorate('),
    `${mode} decorator helpers emitted`,
  );
  const out = join(dir, 'decorated.js');
  writeFileSync(out, js);
  return require(out);
}

for (const mode of ['standard', 'experimental'] as const) {
  describe(`@traced() with ${mode === 'standard' ? 'TypeScript 5 standard decorators' : 'experimentalDecorators'}`, () => {
    const { Repository, CachedRepository } = compile(mode);

    test('names the span ClassName.method by default and keeps this and the return value', async () => {
      const repo = new Repository();
      assert.equal(await repo.find(3), 'row:3');
      const [span] = finished('Repository.find');
      assert.equal(span.attributes['sockscope.function'], 'Repository.find');
      assert.equal(span.kind, SpanKind.INTERNAL);
    });

    test('uses the given name, and the method keeps its name and length', () => {
      const repo = new Repository();
      assert.equal(repo.count(2, 3), 5);
      assert.equal(finished('repo.count').length, 1);
      assert.equal(Repository.prototype.count.name, 'count');
      assert.equal(Repository.prototype.count.length, 2);
    });

    test('decorates static methods under the class name', () => {
      assert.ok(Repository.create() instanceof Repository);
      assert.equal(finished('Repository.create').length, 1);
    });

    test('an inherited method is named after the class that defines it', async () => {
      await new CachedRepository().find(1);
      assert.equal(finished('Repository.find').length, 1);
    });

    test('a throwing method throws the same error and marks its span ERROR', () => {
      assert.throws(
        () => new Repository().fail(),
        (e) => e instanceof RangeError && e.message === 'nope',
      );
      const [span] = finished('Repository.fail');
      assert.equal(span.status.code, SpanStatusCode.ERROR);
    });
  });
}
