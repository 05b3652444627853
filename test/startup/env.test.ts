import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DiagLogLevel } from '@opentelemetry/api';
import { parseRegisterEnv } from '../../src/startup/env';

test('with no variables set, every setting has its documented default and nothing is reported', () => {
  const { settings, warnings } = parseRegisterEnv({});
  assert.deepEqual(warnings, []);
  assert.deepEqual(settings, {
    exchanges: 'all',
    autoInstrumentations: true,
    tracesExporters: ['otlp'],
    otlpProtocol: 'http/protobuf',
    shutdownTimeoutMs: 5000,
    flushBeforeExit: false,
    resourceDetectors: ['env', 'host', 'os', 'process', 'serviceinstance'],
  });
});

test('OTEL_NODE_RESOURCE_DETECTORS keeps the synchronous detectors it names and reports the others once', () => {
  assert.deepEqual(parseRegisterEnv({ OTEL_NODE_RESOURCE_DETECTORS: 'none' }).settings.resourceDetectors, []);
  assert.deepEqual(
    parseRegisterEnv({ OTEL_NODE_RESOURCE_DETECTORS: 'env,process' }).settings.resourceDetectors,
    ['env', 'process'],
  );
  const { settings, warnings } = parseRegisterEnv({ OTEL_NODE_RESOURCE_DETECTORS: 'env, aws ,gcp' });
  assert.deepEqual(settings.resourceDetectors, ['env']);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /OTEL_NODE_RESOURCE_DETECTORS names aws, gcp/);
});

test('SOCKSCOPE_FLUSH_BEFORE_EXIT is off unless set to true, and a bad value is reported', () => {
  assert.equal(parseRegisterEnv({ SOCKSCOPE_FLUSH_BEFORE_EXIT: 'TRUE' }).settings.flushBeforeExit, true);
  const { settings, warnings } = parseRegisterEnv({ SOCKSCOPE_FLUSH_BEFORE_EXIT: 'yes' });
  assert.equal(settings.flushBeforeExit, false);
  assert.match(warnings[0]!, /SOCKSCOPE_FLUSH_BEFORE_EXIT="yes"/);
});

test('SOCKSCOPE_EXCHANGES accepts all, uncovered and none, in any case', () => {
  for (const v of ['all', 'uncovered', 'none']) {
    assert.equal(parseRegisterEnv({ SOCKSCOPE_EXCHANGES: v }).settings.exchanges, v);
    assert.equal(parseRegisterEnv({ SOCKSCOPE_EXCHANGES: ` ${v.toUpperCase()} ` }).settings.exchanges, v);
  }
});

test('an invalid SOCKSCOPE_EXCHANGES gives one warning naming the variable and the accepted values, and the default is used', () => {
  const { settings, warnings } = parseRegisterEnv({ SOCKSCOPE_EXCHANGES: 'sometimes' });
  assert.equal(settings.exchanges, 'all');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /SOCKSCOPE_EXCHANGES="sometimes"/);
  assert.match(warnings[0]!, /all, uncovered, none/);
  assert.match(warnings[0]!, /default "all"/);
});

test('an empty variable counts as unset, as the OpenTelemetry configuration spec says', () => {
  const { settings, warnings } = parseRegisterEnv({
    SOCKSCOPE_EXCHANGES: '',
    OTEL_TRACES_EXPORTER: ' ',
    SOCKSCOPE_FILE: '',
  });
  assert.deepEqual(warnings, []);
  assert.equal(settings.exchanges, 'all');
  assert.deepEqual(settings.tracesExporters, ['otlp']);
  assert.equal(settings.file, undefined);
});

test('SOCKSCOPE_AUTO_INSTRUMENTATIONS is true or false; anything else warns and keeps true', () => {
  assert.equal(
    parseRegisterEnv({ SOCKSCOPE_AUTO_INSTRUMENTATIONS: 'false' }).settings.autoInstrumentations,
    false,
  );
  assert.equal(
    parseRegisterEnv({ SOCKSCOPE_AUTO_INSTRUMENTATIONS: 'TRUE' }).settings.autoInstrumentations,
    true,
  );
  const r = parseRegisterEnv({ SOCKSCOPE_AUTO_INSTRUMENTATIONS: 'no' });
  assert.equal(r.settings.autoInstrumentations, true);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /SOCKSCOPE_AUTO_INSTRUMENTATIONS="no".*true, false/);
});

test('OTEL_TRACES_EXPORTER takes a comma list, deduplicated, and none alone means no exporter', () => {
  assert.deepEqual(
    parseRegisterEnv({ OTEL_TRACES_EXPORTER: 'zipkin, otlp,zipkin' }).settings.tracesExporters,
    ['zipkin', 'otlp'],
  );
  assert.deepEqual(parseRegisterEnv({ OTEL_TRACES_EXPORTER: 'none' }).settings.tracesExporters, []);
  assert.deepEqual(parseRegisterEnv({ OTEL_TRACES_EXPORTER: 'console,none' }).settings.tracesExporters, [
    'console',
  ]);
});

test('unknown OTEL_TRACES_EXPORTER names are reported once and skipped, falling back to otlp when nothing valid is left', () => {
  const onlyBad = parseRegisterEnv({ OTEL_TRACES_EXPORTER: 'jaeger' });
  assert.deepEqual(onlyBad.settings.tracesExporters, ['otlp']);
  assert.equal(onlyBad.warnings.length, 1);
  assert.match(onlyBad.warnings[0]!, /OTEL_TRACES_EXPORTER="jaeger".*otlp, zipkin, console, none/);
  const mixed = parseRegisterEnv({ OTEL_TRACES_EXPORTER: 'jaeger,zipkin,foo' });
  assert.deepEqual(mixed.settings.tracesExporters, ['zipkin']);
  assert.equal(mixed.warnings.length, 1);
});

test('the traces-specific OTLP protocol variable wins over the general one', () => {
  assert.equal(parseRegisterEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).settings.otlpProtocol, 'grpc');
  assert.equal(
    parseRegisterEnv({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' })
      .settings.otlpProtocol,
    'http/json',
  );
});

test('an invalid OTLP protocol warns naming the variable that was set and uses http/protobuf', () => {
  const r = parseRegisterEnv({ OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http' });
  assert.equal(r.settings.otlpProtocol, 'http/protobuf');
  assert.equal(r.warnings.length, 1);
  assert.match(
    r.warnings[0]!,
    /^sockscope: OTEL_EXPORTER_OTLP_TRACES_PROTOCOL="http".*http\/protobuf, http\/json, grpc/,
  );
});

test('SOCKSCOPE_FILE, SOCKSCOPE_FILE_MAX_BYTES and SOCKSCOPE_SHUTDOWN_TIMEOUT_MS are read, bad numbers warn', () => {
  const ok = parseRegisterEnv({
    SOCKSCOPE_FILE: 'spans.jsonl',
    SOCKSCOPE_FILE_MAX_BYTES: '1048576',
    SOCKSCOPE_SHUTDOWN_TIMEOUT_MS: '250',
  });
  assert.equal(ok.settings.file, 'spans.jsonl');
  assert.equal(ok.settings.fileMaxBytes, 1048576);
  assert.equal(ok.settings.shutdownTimeoutMs, 250);
  const bad = parseRegisterEnv({ SOCKSCOPE_FILE_MAX_BYTES: '10MB', SOCKSCOPE_SHUTDOWN_TIMEOUT_MS: '-1' });
  assert.equal(bad.settings.fileMaxBytes, undefined);
  assert.equal(bad.settings.shutdownTimeoutMs, 5000);
  assert.equal(bad.warnings.length, 2);
});

test('OTEL_LOG_LEVEL is honoured; an unknown level warns and uses warn', () => {
  assert.equal(parseRegisterEnv({ OTEL_LOG_LEVEL: 'debug' }).settings.logLevel, DiagLogLevel.DEBUG);
  const r = parseRegisterEnv({ OTEL_LOG_LEVEL: 'loud' });
  assert.equal(r.settings.logLevel, DiagLogLevel.WARN);
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /OTEL_LOG_LEVEL="loud"/);
});

test('several invalid variables give one warning each', () => {
  const r = parseRegisterEnv({
    SOCKSCOPE_EXCHANGES: 'x',
    SOCKSCOPE_AUTO_INSTRUMENTATIONS: 'y',
    OTEL_TRACES_EXPORTER: 'z',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'w',
  });
  assert.equal(r.warnings.length, 4);
});

test('OTEL_BSP_* are passed on as batch processor options, and a bad one is reported and left at its default', () => {
  assert.deepEqual(
    parseRegisterEnv({ OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '1', OTEL_BSP_SCHEDULE_DELAY: '200' }).settings.batch,
    { maxExportBatchSize: 1, scheduledDelayMillis: 200 },
  );
  const { settings, warnings } = parseRegisterEnv({
    OTEL_BSP_MAX_QUEUE_SIZE: 'lots',
    OTEL_BSP_EXPORT_TIMEOUT: '100',
  });
  assert.deepEqual(settings.batch, { exportTimeoutMillis: 100 });
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /OTEL_BSP_MAX_QUEUE_SIZE="lots" is not valid/);
});
