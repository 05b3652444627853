/**
 * The one place that knows which official OpenTelemetry instrumentation covers which client
 * package. Names come from `@opentelemetry/auto-instrumentations-node` (its build/src/utils.js
 * `InstrumentationMap`); test/analysis/suggestions.test.ts fails when this map and the installed
 * metapackage disagree, and when a mapped package is neither a module its instrumentation patches
 * (`getModuleDefinitions()`) nor one that calls through such a module, so it cannot silently go
 * stale. (aws-sdk v2 is not mapped: instrumentation-aws-sdk patches v3's middleware stack only; v2
 * sends through core `https`, which instrumentation-http covers.)
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

/**
 * Popular clients with no official OpenTelemetry instrumentation for their own protocol (none is
 * mapped above). An HTTP/1 request one of them makes (ws's upgrade) still goes through core http.
 */
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

export const SUGGEST_COVERED = 'covered';
export const SUGGEST_NONE = "no official instrumentation: sockscope's spans are your visibility";
/** HTTP/2 from `node:http2`: instrumentation-http wraps `http`/`https` only (opentelemetry-js#2667). */
export const SUGGEST_NONE_HTTP2 =
  "no official instrumentation covers `node:http2` clients (opentelemetry-js#2667): sockscope's spans are your visibility";
/** WebSocket frames after the upgrade; the upgrade request itself is an `http` exchange. */
export const SUGGEST_NONE_WEBSOCKET =
  "no official instrumentation for WebSocket messages (the upgrade is HTTP, covered by instrumentation-http): sockscope's spans are your visibility";

/**
 * The official instrumentation that would describe calls from `callerPackage` over `protocol`,
 * or undefined when none exists. `protocol` is the gap row's (`http` is HTTP/1.x, `http2` is
 * HTTP/2): a package mapped to instrumentation-http is covered only for `http`.
 */
export function officialInstrumentationFor(callerPackage: string, protocol: string): string | undefined {
  // AWS SDK v3 clients are scoped packages; their calls go through @smithy/node-http-handler.
  const mapped = callerPackage.startsWith('@aws-sdk/')
    ? '@opentelemetry/instrumentation-aws-sdk'
    : OFFICIAL_INSTRUMENTATIONS[callerPackage];
  if (mapped !== undefined) {
    if (HTTP_ONLY.has(mapped) && protocol !== 'http') return undefined;
    return mapped;
  }
  // An HTTP/1 request from any other package (ws's upgrade, an SDK on core http) goes through
  // core http, which instrumentation-http wraps (undici reports itself as `undici`). The node:http2
  // client has no official instrumentation (opentelemetry-js#2667), nor have WebSocket messages.
  if (protocol === 'http') return '@opentelemetry/instrumentation-http';
  return undefined;
}

/** What nobody else will trace, said for the row's protocol. */
function noOfficial(protocol: string): string {
  if (protocol === 'http2') return SUGGEST_NONE_HTTP2;
  if (protocol === 'websocket') return SUGGEST_NONE_WEBSOCKET;
  return SUGGEST_NONE;
}

/** `1 exchange`, `3 exchanges`: the suggestions' and the gap summary's counts. */
export const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** `setup`, `setup/teardown`, ...: the chatter phases that have uncovered exchanges. */
function chatterKinds(phases: SuggestionInput['phases']): string {
  if (phases === undefined) return 'setup/teardown';
  const kinds = (['setup', 'teardown', 'heartbeat'] as const).filter((p) => phases[p].uncovered > 0);
  return kinds.length === 0 ? 'setup/teardown' : kinds.join('/');
}

/** What a row tells about itself to `suggestionFor`. */
export interface SuggestionInput {
  callerPackage: string;
  /** The row's protocol (`http2` for HTTP/2). */
  protocol: string;
  /** Uncovered exchanges, all phases. */
  uncovered: number;
  coveredBy: readonly string[];
  /** Operations (phase `operation`); without the operation counts, every exchange is one. */
  operations?: number;
  operationsUncovered?: number;
  /** Listed in the suggestion, most frequent first. */
  uncoveredOperationNames?: readonly string[];
  /** Per-phase counts, to name the chatter (`setup/teardown`). */
  phases?: Readonly<Record<'setup' | 'teardown' | 'heartbeat', { uncovered: number }>>;
  /**
   * When the suggested instrumentation is installed but would not patch the caller's installed
   * version, the sentence that says so (e.g. "installed ioredis@7.0.0 is outside
   * @opentelemetry/instrumentation-ioredis's supported >=2 <7; upgrade the instrumentation or pin
   * ioredis"). Given, it is the suggestion for a row with uncovered operations; the version
   * ranges are decided by the caller.
   */
  versionNote?: string;
}

/**
 * What a gap row tells the user to do, about its operations: connection chatter (setup, teardown,
 * heartbeat) with no span is normal and named as such.
 */
export function suggestionFor(row: SuggestionInput): string {
  if (row.uncovered === 0) return SUGGEST_COVERED;
  const opsUncovered = row.operationsUncovered ?? row.uncovered;
  const chatter = row.uncovered - opsUncovered;
  if (opsUncovered === 0) {
    const what = `${plural(chatter, `${chatterKinds(row.phases)} exchange`)} ${chatter === 1 ? 'has' : 'have'} no span (normal)`;
    return row.operations === 0 ? `no operations; ${what}` : `covered; ${what}`;
  }
  const official = officialInstrumentationFor(row.callerPackage, row.protocol);
  if (official === undefined) return noOfficial(row.protocol);
  if (row.versionNote !== undefined) return row.versionNote;
  // It is on and describes some operations: the rest lost their context or are calls it makes no
  // span for (amqplib's basic.get, queue.declare).
  if (row.coveredBy.includes(official)) {
    const ops = row.operations ?? opsUncovered;
    const names = row.uncoveredOperationNames ?? [];
    const listed = names.length === 0 ? '' : ` (${names.map((n) => `\`${n}\``).join(', ')})`;
    return `partly covered by \`${official}\`: ${opsUncovered} of ${plural(ops, 'operation')}${listed} ${opsUncovered === 1 ? 'has' : 'have'} no span`;
  }
  return `enable \`${official}\``;
}
