import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMetricsEnv } from '../../src/startup/metrics';

function parse(env: Record<string, string>) {
  const warnings: string[] = [];
  return { settings: parseMetricsEnv(env, warnings), warnings };
}

test('register starts no metrics unless OTEL_METRICS_EXPORTER asks, and then the ones it names', () => {
  assert.deepEqual(parse({}).settings, {
    metricsExporters: [],
    sockscopeMetrics: true,
    otlpMetricsProtocol: 'http/protobuf',
  });
  assert.deepEqual(parse({ OTEL_METRICS_EXPORTER: 'none' }).settings.metricsExporters, []);
  const { settings, warnings } = parse({ OTEL_METRICS_EXPORTER: 'prometheus, otlp,prometheus' });
  assert.deepEqual(settings.metricsExporters, ['prometheus', 'otlp']);
  assert.deepEqual(warnings, []);
});

test('a bad metrics variable is named in one warning and the default is used', () => {
  const { settings, warnings } = parse({
    OTEL_METRICS_EXPORTER: 'prometheus,statsd',
    SOCKSCOPE_METRICS: 'yes',
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'udp',
    OTEL_METRIC_EXPORT_INTERVAL: '-5',
  });
  assert.deepEqual(settings.metricsExporters, ['prometheus']);
  assert.equal(settings.sockscopeMetrics, true);
  assert.equal(settings.otlpMetricsProtocol, 'http/protobuf');
  assert.equal(warnings.length, 4);
  assert.match(warnings[0]!, /OTEL_METRICS_EXPORTER="prometheus,statsd".*only prometheus/);
  assert.match(warnings[1]!, /SOCKSCOPE_METRICS="yes"/);
});

test('SOCKSCOPE_METRICS=false keeps sockscope out of the meter provider; the OTLP protocol falls back to the general one', () => {
  const { settings, warnings } = parse({
    SOCKSCOPE_METRICS: 'false',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
  });
  assert.deepEqual(warnings, []);
  assert.equal(settings.sockscopeMetrics, false);
  assert.equal(settings.otlpMetricsProtocol, 'grpc');
  assert.equal(settings.exportIntervalMs, 1000);
});
