/**
 * The Collector path in the repository: otel-collector.yaml takes OTLP metrics to a Prometheus
 * endpoint with resource attributes as labels, and the compose file's `metrics` profile runs the
 * Collector and a Prometheus that scrapes it.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { parse } from 'yaml';

const root = path.resolve(__dirname, '..', '..');
const read = (f: string): Record<string, any> => parse(fs.readFileSync(path.join(root, f), 'utf8'));

test('otel-collector.yaml exports OTLP metrics on a Prometheus endpoint, with service labels on every series', () => {
  const c = read('otel-collector.yaml');
  assert.deepEqual(c.service.pipelines.metrics.receivers, ['otlp']);
  assert.deepEqual(c.service.pipelines.metrics.exporters, ['prometheus']);
  assert.equal(c.exporters.prometheus.endpoint, '0.0.0.0:8889');
  assert.equal(c.exporters.prometheus.resource_to_telemetry_conversion.enabled, true);
});

test("the compose file's metrics profile runs the Collector with that config and a Prometheus scraping it", () => {
  const compose = read('docker-compose.jaeger.yml');
  const collector = compose.services['otel-collector'];
  const prometheus = compose.services.prometheus;
  assert.deepEqual(collector.profiles, ['metrics']);
  assert.ok(collector.volumes.some((v: string) => v.startsWith('./otel-collector.yaml:')));
  assert.deepEqual(prometheus.profiles, ['metrics']);
  assert.ok(prometheus.ports.includes('9090:9090'));
  const scrape = parse(compose.configs.prometheus.content);
  const targets = scrape.scrape_configs.flatMap((s: any) => s.static_configs.flatMap((x: any) => x.targets));
  assert.ok(targets.includes('otel-collector:8889'));
});
