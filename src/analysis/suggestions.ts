/**
 * The one place that knows which official OpenTelemetry instrumentation covers which client
 * package. Names come from `@opentelemetry/auto-instrumentations-node` (its build/src/utils.js
 * `InstrumentationMap`); test/analysis/suggestions.test.ts fails when this map and the installed
 * metapackage disagree, so it cannot silently go stale.
 */

/**
 * npm package (as `sockscope.caller.package` reports it: the package whose code opened the
 * socket) → the official instrumentation that describes its calls.
 */
export const OFFICIAL_INSTRUMENTATIONS: Readonly<Record<string, string>> = {
  pg: '@opentelemetry/instrumentation-pg',
  'pg-pool': '@opentelemetry/instrumentation-pg',
  'pg-cursor': '@opentelemetry/instrumentation-pg',
  mysql2: '@opentelemetry/instrumentation-mysql2',
  mysql: '@opentelemetry/instrumentation-mysql',
  ioredis: '@opentelemetry/instrumentation-ioredis',
  redis: '@opentelemetry/instrumentation-redis',
  '@redis/client': '@opentelemetry/instrumentation-redis',
  amqplib: '@opentelemetry/instrumentation-amqplib',
  undici: '@opentelemetry/instrumentation-undici',
  mongodb: '@opentelemetry/instrumentation-mongodb',
  kafkajs: '@opentelemetry/instrumentation-kafkajs',
  memcached: '@opentelemetry/instrumentation-memcached',
  tedious: '@opentelemetry/instrumentation-tedious',
  'cassandra-driver': '@opentelemetry/instrumentation-cassandra-driver',
  '@grpc/grpc-js': '@opentelemetry/instrumentation-grpc',
  oracledb: '@opentelemetry/instrumentation-oracledb',
  'aws-sdk': '@opentelemetry/instrumentation-aws-sdk',
  '@smithy/node-http-handler': '@opentelemetry/instrumentation-aws-sdk',
  openai: '@opentelemetry/instrumentation-openai',
  // Packages that send through Node's core `http`/`https`, which instrumentation-http wraps.
  '(app)': '@opentelemetry/instrumentation-http',
  // With instrumentation-http on, its `http.get` wrapper is the innermost non-Node frame at connect.
  '@opentelemetry/instrumentation-http': '@opentelemetry/instrumentation-http',
  axios: '@opentelemetry/instrumentation-http',
  'node-fetch': '@opentelemetry/instrumentation-http',
  got: '@opentelemetry/instrumentation-http',
  superagent: '@opentelemetry/instrumentation-http',
  'follow-redirects': '@opentelemetry/instrumentation-http',
  needle: '@opentelemetry/instrumentation-http',
  request: '@opentelemetry/instrumentation-http',
  agentkeepalive: '@opentelemetry/instrumentation-http',
};

/** Instrumentations that only cover HTTP traffic: a caller mapped to one of these is covered only for `http`. */
const HTTP_ONLY = new Set(['@opentelemetry/instrumentation-http']);

/** Popular clients with no official OpenTelemetry instrumentation. */
export const NO_OFFICIAL_INSTRUMENTATION: readonly string[] = [
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
  'amqp-connection-manager',
  'stompit',
  'ftp',
  'smtp-server',
  'node-rdkafka',
];

const NO_OFFICIAL = new Set(NO_OFFICIAL_INSTRUMENTATION);

export const SUGGEST_COVERED = 'covered';
export const SUGGEST_NONE = "no official instrumentation: sockscope's spans are your visibility";

/**
 * The official instrumentation that would describe calls from `callerPackage` over `protocol`,
 * or undefined when none exists.
 */
export function officialInstrumentationFor(callerPackage: string, protocol: string): string | undefined {
  if (NO_OFFICIAL.has(callerPackage)) return undefined;
  // AWS SDK v3 clients are scoped packages; their calls go through @smithy/node-http-handler.
  const mapped = callerPackage.startsWith('@aws-sdk/')
    ? '@opentelemetry/instrumentation-aws-sdk'
    : OFFICIAL_INSTRUMENTATIONS[callerPackage];
  if (mapped !== undefined) {
    if (HTTP_ONLY.has(mapped) && protocol !== 'http') return undefined;
    return mapped;
  }
  // The node:http2 client has no official instrumentation (opentelemetry-js#2667); any other
  // package speaking HTTP/1 goes through core http (undici reports itself as `undici`).
  if (protocol === 'http') return '@opentelemetry/instrumentation-http';
  return undefined;
}

/** What a gap row tells the user to do. */
export function suggestionFor(row: {
  callerPackage: string;
  protocol: string;
  uncovered: number;
  coveredBy: readonly string[];
}): string {
  if (row.uncovered === 0) return SUGGEST_COVERED;
  const official = officialInstrumentationFor(row.callerPackage, row.protocol);
  if (official === undefined) return SUGGEST_NONE;
  // It is already on and describes most calls: the rest are calls it does not make a span for
  // (a pool's connection setup, pg's Terminate, Redis QUIT) or that lost their context.
  if (row.coveredBy.includes(official)) {
    return `partly covered by \`${official}\`: ${row.uncovered} exchange${row.uncovered === 1 ? '' : 's'} outside its spans (connection setup/teardown or lost context)`;
  }
  return `enable \`${official}\``;
}
