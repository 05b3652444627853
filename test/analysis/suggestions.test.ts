import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  NO_OFFICIAL_INSTRUMENTATION,
  OFFICIAL_INSTRUMENTATIONS,
  officialInstrumentationFor,
  suggestionFor,
} from '../../src/analysis/suggestions';

/** The instrumentation names the installed metapackage bundles (its `InstrumentationMap`). */
function bundledInstrumentations(): Set<string> {
  // The package exports no package.json: find its utils module beside its main entry
  // (build/src/utils.js on the 2.x line, dist/utils.cjs on the 3.x line).
  const main = require.resolve('@opentelemetry/auto-instrumentations-node');
  const file = ['utils.js', 'utils.cjs'].map((f) => join(dirname(main), f)).find((f) => existsSync(f));
  assert.ok(file, `auto-instrumentations-node has a utils module beside ${main}`);
  const src = readFileSync(file, 'utf8');
  const start = src.indexOf('InstrumentationMap = {');
  assert.ok(start >= 0, 'its utils module still has an InstrumentationMap');
  const body = src.slice(start, src.indexOf('};', start));
  return new Set(
    [...body.matchAll(/['"](@opentelemetry\/instrumentation-[^'"]+)['"]\s*:/g)].map((m) => m[1]!),
  );
}

// Bundled instrumentations that describe no outgoing client call (servers, frameworks, loggers,
// local work) or only a socket's setup: no caller package maps to them.
const NOT_CLIENTS = new Set(
  [
    'aws-lambda',
    'bunyan',
    'connect',
    'cucumber',
    'dataloader',
    'dns',
    'express',
    'fs',
    'generic-pool',
    'graphql',
    'hapi',
    'host-metrics',
    'knex',
    'koa',
    'lru-memoizer',
    'mongoose',
    'nestjs-core',
    'net',
    'pino',
    'restify',
    'router',
    'runtime-node',
    'socket.io',
    'winston',
  ].map((n) => `@opentelemetry/instrumentation-${n}`),
);

test('every instrumentation the map names is bundled in the installed auto-instrumentations-node', () => {
  const bundled = bundledInstrumentations();
  assert.ok(bundled.size > 30, `found ${bundled.size} instrumentations`);
  const missing = [...new Set(Object.values(OFFICIAL_INSTRUMENTATIONS))].filter((i) => !bundled.has(i));
  assert.deepEqual(missing, [], 'mapped but not in @opentelemetry/auto-instrumentations-node');
});

test('every client instrumentation bundled in auto-instrumentations-node has a caller package mapped to it', () => {
  const mapped = new Set(Object.values(OFFICIAL_INSTRUMENTATIONS));
  const unmapped = [...bundledInstrumentations()].filter((i) => !mapped.has(i) && !NOT_CLIENTS.has(i));
  assert.deepEqual(
    unmapped,
    [],
    'new in the metapackage: map its client package in src/analysis/suggestions.ts',
  );
});

test('the clients with no official instrumentation are not also mapped to one', () => {
  for (const p of NO_OFFICIAL_INSTRUMENTATION) {
    assert.equal(OFFICIAL_INSTRUMENTATIONS[p], undefined, p);
    assert.equal(officialInstrumentationFor(p, 'http'), undefined, p);
  }
  for (const p of [
    'postgres',
    'mariadb',
    'nats',
    'mqtt',
    'ws',
    'memjs',
    'rhea',
    'ssh2',
    'basic-ftp',
    'nodemailer',
    'ldapjs',
    'http2',
  ])
    assert.ok(NO_OFFICIAL_INSTRUMENTATION.includes(p), p);
});

test('the popular clients map to their official instrumentation', () => {
  const cases: Array<[string, string, string]> = [
    ['pg', 'postgresql', 'pg'],
    ['pg-pool', 'postgresql', 'pg'],
    ['mysql2', 'mysql', 'mysql2'],
    ['mysql', 'mysql', 'mysql'],
    ['ioredis', 'redis', 'ioredis'],
    ['redis', 'redis', 'redis'],
    ['@redis/client', 'redis', 'redis'],
    ['amqplib', 'amqp', 'amqplib'],
    ['undici', 'http', 'undici'],
    ['(app)', 'http', 'http'],
    ['mongodb', 'mongodb', 'mongodb'],
    ['kafkajs', 'kafka', 'kafkajs'],
    ['memcached', 'memcached', 'memcached'],
    ['tedious', 'tcp', 'tedious'],
    ['cassandra-driver', 'tcp', 'cassandra-driver'],
    ['@grpc/grpc-js', 'http2', 'grpc'],
    ['@aws-sdk/client-s3', 'http', 'aws-sdk'],
  ];
  for (const [pkg, protocol, inst] of cases) {
    assert.equal(officialInstrumentationFor(pkg, protocol), `@opentelemetry/instrumentation-${inst}`, pkg);
  }
  assert.equal(officialInstrumentationFor('(app)', 'redis'), undefined, 'raw sockets from app code');
  assert.equal(officialInstrumentationFor('(app)', 'http2'), undefined, 'the node:http2 client');
});

test('suggestions read as the contract says', () => {
  const base = { callerPackage: 'mysql2', protocol: 'mysql', coveredBy: [] as string[] };
  assert.equal(suggestionFor({ ...base, uncovered: 3 }), 'enable `@opentelemetry/instrumentation-mysql2`');
  assert.equal(suggestionFor({ ...base, uncovered: 0 }), 'covered');
  assert.equal(
    suggestionFor({ callerPackage: 'nats', protocol: 'nats', uncovered: 1, coveredBy: [] }),
    "no official instrumentation: sockscope's spans are your visibility",
  );
});
