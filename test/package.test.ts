import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import * as api from '../src/index';
import { VERSION } from '../src/version';
import { SCOPE_NAME } from '../src/spans/semconv';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8'));

test('the instrumentation version matches package.json and the scope name is "sockscope"', () => {
  assert.equal(VERSION, pkg.version);
  assert.equal(SCOPE_NAME, 'sockscope');
  assert.equal(new api.SocketInstrumentation({ enabled: false }).instrumentationName, 'sockscope');
});

test('the package entry point exports what the contract names', () => {
  for (const name of [
    'SocketInstrumentation',
    'SocketCoverageProcessor',
    'traced',
    'JsonlFileSpanExporter',
    'analyzeGaps',
  ]) {
    assert.equal(typeof (api as Record<string, unknown>)[name], 'function', name);
  }
});

test('package.json declares the contract entry points, engines and the OpenTelemetry API as a peer', () => {
  assert.equal(pkg.name, 'sockscope');
  assert.equal(pkg.engines.node, '^18.19.0 || >=20.6.0');
  assert.ok(pkg.exports['.']);
  assert.ok(pkg.exports['./register']);
  assert.equal(pkg.bin.sockscope, 'dist/cli/main.js');
  assert.ok(pkg.peerDependencies['@opentelemetry/api']);
  assert.equal(pkg.dependencies['@opentelemetry/api'], undefined, 'never a bundled copy of the API');
});
