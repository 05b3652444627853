import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

// In child processes: require-in-the-middle patches a core module once, on its first require after
// the hooks are set up, exactly as in an app; the order the instrumentations are constructed in varies.
for (const order of ['net-first', 'sockscope-first']) {
  test(`sockscope and @opentelemetry/instrumentation-net both keep their hooks (${order})`, () => {
    const app = join(__dirname, '../fixtures/apps/with-instrumentation-net.ts');
    const r = spawnSync(process.execPath, ['--import', 'tsx', app, order], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const { both, afterNetDisabled } = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    assert.equal(both['sockscope:connection'], 1);
    assert.equal(both['sockscope:exchange'], 1, 'the write made while connecting is not lost');
    assert.equal(both['@opentelemetry/instrumentation-net:tcp.connect'], 1);
    assert.equal(
      afterNetDisabled['sockscope:connection'],
      1,
      'disabling instrumentation-net leaves sockscope on',
    );
    assert.equal(afterNetDisabled['sockscope:exchange'], 1);
    assert.equal(afterNetDisabled['@opentelemetry/instrumentation-net:tcp.connect'], undefined);
  });
}
