import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiagLogLevel, diag, type DiagLogger } from '@opentelemetry/api';
import { test } from 'node:test';
import { DEFAULT_CONFIG, resolveConfig } from '../../src/tap/config';
import { SocketInstrumentation } from '../../src/tap/instrumentation';
import type { SocketInstrumentationConfig } from '../../src/types';

/** Collects diag warnings while `fn` runs. */
function warningsDuring(fn: () => void): string[] {
  const seen: string[] = [];
  const log = (m: string) => seen.push(m);
  const logger: DiagLogger = { error: log, warn: log, info: () => {}, debug: () => {}, verbose: () => {} };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  try {
    fn();
  } finally {
    diag.disable();
  }
  return seen.filter((m) => m.startsWith('sockscope: '));
}

test('the documented @default of every option is the default the instrumentation uses', () => {
  const types = readFileSync(join(__dirname, '../../src/types.ts'), 'utf8');
  const body = types.slice(types.indexOf('export interface SocketInstrumentationConfig'));
  const documented: Record<string, unknown> = {};
  for (const m of body.matchAll(/@default (.+)\n\s*\*\/\n\s*(\w+)\?:/g)) {
    documented[m[2]] = JSON.parse(m[1].replace(/'/g, '"'));
  }
  assert.deepEqual(documented, DEFAULT_CONFIG);
});

test('a bad exchangeIdleMs or ignore is replaced by the default with a warning naming the field and value', () => {
  const bad = { exchangeIdleMs: -5, ignore: 'localhost' } as unknown as SocketInstrumentationConfig;
  const { config, warnings } = resolveConfig(bad);
  assert.equal(config.exchangeIdleMs, 1000);
  assert.deepEqual(config.ignore, []);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /exchangeIdleMs .*-5/);
  assert.match(warnings[1], /ignore .*"localhost"/);
  const entries = resolveConfig({ ignore: ['db:5432', 42, null] } as unknown as SocketInstrumentationConfig);
  assert.deepEqual(entries.config.ignore, ['db:5432'], 'the good entries are kept');
  assert.match(entries.warnings[0], /ignore entries .*42, null/);
  assert.deepEqual(resolveConfig({ exchangeIdleMs: 250, ignore: [/x/] }).warnings, []);
});

test('the instrumentation warns once per bad field through the diag logger, not at every setConfig', () => {
  const warnings = warningsDuring(() => {
    const inst = new SocketInstrumentation({
      enabled: false,
      exchangeIdleMs: Number.NaN,
      ignore: 'db' as never,
    });
    inst.enable();
    inst.setConfig({ exchangeIdleMs: Number.NaN, ignore: 'db' as never });
    inst.setConfig({ exchangeIdleMs: Number.NaN, ignore: 'db' as never });
    inst.disable();
  });
  assert.equal(warnings.filter((w) => w.includes('exchangeIdleMs') && w.includes('NaN')).length, 1);
  assert.equal(warnings.filter((w) => w.includes('ignore') && w.includes('"db"')).length, 1);
});
