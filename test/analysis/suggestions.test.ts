import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { InstrumentationBase } from '@opentelemetry/instrumentation';
import {
  NO_OFFICIAL_INSTRUMENTATION,
  OFFICIAL_INSTRUMENTATIONS,
  SUGGEST_NONE,
  SUGGEST_NONE_HTTP2,
  SUGGEST_NONE_WEBSOCKET,
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
    for (const protocol of ['tcp', 'http2', 'websocket', 'postgresql', 'mqtt'])
      assert.equal(officialInstrumentationFor(p, protocol), undefined, `${p} over ${protocol}`);
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
  // ws's upgrade request goes through core http, which instrumentation-http wraps.
  assert.equal(officialInstrumentationFor('ws', 'http'), '@opentelemetry/instrumentation-http');
});

/** Every bundled instrumentation, disabled at once (the metapackage leaves out any passed disabled). */
function bundledInstances(): InstrumentationBase[] {
  const meta = require('@opentelemetry/auto-instrumentations-node') as {
    getNodeAutoInstrumentations(): InstrumentationBase[];
  };
  const list = meta.getNodeAutoInstrumentations();
  for (const i of list) i.disable();
  return list;
}

// Caller packages whose sockets an instrumentation describes although it patches another module:
// the module (or channel) that the package's calls go through.
const CALLS_THROUGH: Record<string, string> = {
  '(app)': 'http',
  '@opentelemetry/instrumentation-http': 'http',
  axios: 'http',
  'node-fetch': 'http',
  got: 'http',
  superagent: 'http',
  'follow-redirects': 'http',
  needle: 'http',
  request: 'http',
  agentkeepalive: 'http',
  'pg-cursor': 'pg',
  '@smithy/node-http-handler': '@smithy/middleware-stack',
};

test('each mapped caller package is a module its instrumentation patches, or calls through one', () => {
  const patched = new Map<string, Set<string>>();
  for (const i of bundledInstances()) {
    patched.set(i.instrumentationName, new Set(i.getModuleDefinitions().map((d) => d.name)));
  }
  const wrong: string[] = [];
  for (const [pkg, inst] of Object.entries(OFFICIAL_INSTRUMENTATIONS)) {
    const modules = patched.get(inst);
    assert.ok(modules, `${inst} is bundled`);
    // instrumentation-undici patches no module: it subscribes to undici's diagnostics channels.
    if (inst === '@opentelemetry/instrumentation-undici') {
      assert.equal(modules.size, 0, 'instrumentation-undici still uses diagnostics channels only');
      continue;
    }
    const via = CALLS_THROUGH[pkg] ?? pkg;
    if (!modules.has(via)) wrong.push(`${pkg} -> ${inst} patches ${[...modules].join(', ')}`);
  }
  assert.deepEqual(wrong, [], 'mapped, but the instrumentation patches no module these calls go through');
  // And none of the clients said to have no official instrumentation is patched by one.
  const patchedAnywhere = new Set([...patched.values()].flatMap((m) => [...m]));
  assert.deepEqual(
    NO_OFFICIAL_INSTRUMENTATION.filter((p) => patchedAnywhere.has(p)),
    [],
    'an instrumentation now patches a client listed as having none',
  );
  // instrumentation-http patches http and https only: HTTP/2 is not among them.
  assert.deepEqual([...patched.get('@opentelemetry/instrumentation-http')!].sort(), ['http', 'https']);
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

test('suggestions are about operations: chatter with no span is normal, uncovered operations are named', () => {
  const pg = {
    callerPackage: 'pg',
    protocol: 'postgresql',
    coveredBy: ['@opentelemetry/instrumentation-pg'],
  };
  const phases = (setup: number, teardown: number, heartbeat = 0) => ({
    setup: { uncovered: setup },
    teardown: { uncovered: teardown },
    heartbeat: { uncovered: heartbeat },
  });
  assert.equal(
    suggestionFor({ ...pg, uncovered: 2, operations: 40, operationsUncovered: 0, phases: phases(1, 1) }),
    'covered; 2 setup/teardown exchanges have no span (normal)',
  );
  assert.equal(
    suggestionFor({ ...pg, uncovered: 1, operations: 40, operationsUncovered: 0, phases: phases(0, 0, 1) }),
    'covered; 1 heartbeat exchange has no span (normal)',
  );
  assert.equal(
    suggestionFor({ ...pg, uncovered: 1, operations: 0, operationsUncovered: 0, phases: phases(0, 1) }),
    'no operations; 1 teardown exchange has no span (normal)',
  );
  const amqp = {
    callerPackage: 'amqplib',
    protocol: 'amqp',
    coveredBy: ['@opentelemetry/instrumentation-amqplib'],
  };
  assert.equal(
    suggestionFor({
      ...amqp,
      uncovered: 9,
      operations: 40,
      operationsUncovered: 3,
      uncoveredOperationNames: ['basic.get', 'queue.declare'],
    }),
    'partly covered by `@opentelemetry/instrumentation-amqplib`: 3 of 40 operations (`basic.get`, `queue.declare`) have no span',
  );
  assert.equal(
    suggestionFor({ ...amqp, uncovered: 1, operations: 1, operationsUncovered: 1 }),
    'partly covered by `@opentelemetry/instrumentation-amqplib`: 1 of 1 operation has no span',
  );
  assert.equal(
    suggestionFor({ ...amqp, coveredBy: [], uncovered: 5, operations: 5, operationsUncovered: 5 }),
    'enable `@opentelemetry/instrumentation-amqplib`',
  );
});

test('suggestions are decided per protocol: HTTP/2 and WebSocket rows are told no official instrumentation exists', () => {
  const row = (callerPackage: string, protocol: string) =>
    suggestionFor({
      callerPackage,
      protocol,
      uncovered: 3,
      coveredBy: [],
      operations: 3,
      operationsUncovered: 3,
    });
  // Callers mapped to instrumentation-http get it for HTTP/1.x only.
  for (const caller of ['(app)', '@opentelemetry/instrumentation-http', 'axios']) {
    assert.equal(row(caller, 'http'), 'enable `@opentelemetry/instrumentation-http`', caller);
    assert.equal(row(caller, 'http2'), SUGGEST_NONE_HTTP2, caller);
    assert.equal(row(caller, 'websocket'), SUGGEST_NONE_WEBSOCKET, caller);
  }
  assert.equal(row('ws', 'websocket'), SUGGEST_NONE_WEBSOCKET);
  assert.equal(row('ws', 'http'), 'enable `@opentelemetry/instrumentation-http`', 'the upgrade request');
  assert.equal(row('(app)', 'tcp'), SUGGEST_NONE);
  assert.match(SUGGEST_NONE_HTTP2, /no official instrumentation covers `node:http2` clients/);
  // gRPC runs on HTTP/2 and has its own instrumentation.
  assert.equal(row('@grpc/grpc-js', 'http2'), 'enable `@opentelemetry/instrumentation-grpc`');
});

test('a version note, when given, is the suggestion for a row with uncovered operations', () => {
  const note =
    "installed ioredis@7.0.0 is outside @opentelemetry/instrumentation-ioredis's supported >=2 <7; upgrade the instrumentation or pin ioredis";
  const base = { callerPackage: 'ioredis', protocol: 'redis', coveredBy: [], versionNote: note };
  assert.equal(suggestionFor({ ...base, uncovered: 4, operations: 4, operationsUncovered: 4 }), note);
  assert.equal(suggestionFor({ ...base, uncovered: 0 }), 'covered');
  assert.equal(
    suggestionFor({ ...base, uncovered: 1, operations: 4, operationsUncovered: 0 }),
    'covered; 1 setup/teardown exchange has no span (normal)',
  );
});
