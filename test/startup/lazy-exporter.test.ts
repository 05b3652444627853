import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LazyExporter } from '../../src/startup/exporters';

test('at exit a network exporter is neither built nor called: its request could not leave the process', () => {
  let built = 0;
  const exporter = new LazyExporter(
    () => {
      built++;
      throw new Error('must not be built at exit');
    },
    () => true,
  );
  let result: { code: number } | undefined;
  exporter.export([], (r) => (result = r));
  assert.equal(built, 0);
  assert.equal(result?.code, 1);
});

test('before exit the exporter is built at the first export and gets the spans', () => {
  const seen: number[] = [];
  const exporter = new LazyExporter(
    () => ({
      export: (spans, done) => {
        seen.push(spans.length);
        done({ code: 0 });
      },
      shutdown: () => Promise.resolve(),
    }),
    () => false,
  );
  let result: { code: number } | undefined;
  exporter.export([], (r) => (result = r));
  assert.deepEqual(seen, [0]);
  assert.equal(result?.code, 0);
});
