import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';

const file = path.resolve(__dirname, '..', '..', 'docker-compose.jaeger.yml');
const compose = parse(fs.readFileSync(file, 'utf8')) as {
  services: Record<string, { image: string; ports?: string[]; profiles?: string[] }>;
};

/** Published "host:container" pairs of a service, as strings. */
const ports = (service: string): string[] => (compose.services[service]?.ports ?? []).map(String);

test('docker-compose.jaeger.yml runs the Jaeger v2 all-in-one image with OTLP gRPC, OTLP HTTP and the UI published', () => {
  const jaeger = compose.services.jaeger;
  assert.ok(jaeger, 'a jaeger service');
  assert.match(
    jaeger.image,
    /^jaegertracing\/jaeger(:|$)/,
    'the current jaegertracing/jaeger image, not all-in-one v1',
  );
  assert.deepEqual(ports('jaeger').sort(), ['16686:16686', '4317:4317', '4318:4318']);
  assert.equal(jaeger.profiles, undefined, 'Jaeger starts by default');
});

test('docker-compose.jaeger.yml has a Zipkin service on 9411 behind the zipkin profile', () => {
  const zipkin = compose.services.zipkin;
  assert.ok(zipkin, 'a zipkin service');
  assert.match(zipkin.image, /^openzipkin\/zipkin(:|$)/);
  assert.deepEqual(ports('zipkin'), ['9411:9411']);
  assert.deepEqual(zipkin.profiles, ['zipkin']);
});
