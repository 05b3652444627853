/**
 * The metric instruments sockscope records, and their attributes: defined once here (README and
 * docs/metrics.md list them). Semantic conventions have no protocol-neutral client metric for a
 * socket round trip (`db.client.operation.duration` and `http.client.request.duration` each cover
 * one family, measured by the client library), so the instruments live under `sockscope.`; their
 * attributes use the conventional names wherever one exists.
 */
export {
  ATTR_ERROR_TYPE,
  ATTR_NETWORK_PROTOCOL_NAME,
  ATTR_NETWORK_TRANSPORT,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SOCKSCOPE_CALLER_PACKAGE,
  ATTR_SOCKSCOPE_COVERED,
  ATTR_SOCKSCOPE_COVERED_BY,
  ATTR_SOCKSCOPE_OPERATION,
  ATTR_SOCKSCOPE_PHASE,
} from '../spans/semconv';

/** Incubating semantic convention (`transmit` / `receive`), not exported by the stable entry point. */
export const ATTR_NETWORK_IO_DIRECTION = 'network.io.direction';
/** The specification's attribute for measurements folded into the overflow series. */
export const ATTR_OTEL_METRIC_OVERFLOW = 'otel.metric.overflow';

export interface InstrumentSpec {
  name: string;
  unit: string;
  description: string;
}

export const METRIC_EXCHANGES: InstrumentSpec = {
  name: 'sockscope.exchanges',
  unit: '{exchange}',
  description: 'Request/response exchanges on client sockets, sampled or not',
};
export const METRIC_EXCHANGE_DURATION: InstrumentSpec = {
  name: 'sockscope.exchange.duration',
  unit: 's',
  description:
    "Time from an exchange's first write to its last received byte (a uniform sample of at most 1024 per series per collection)",
};
export const METRIC_EXCHANGE_TIME: InstrumentSpec = {
  name: 'sockscope.exchange.time',
  unit: 's',
  description: 'Time spent in exchanges (sum of their durations, exact)',
};
export const METRIC_IO: InstrumentSpec = {
  name: 'sockscope.io',
  unit: 'By',
  description: 'Bytes sent and received in exchanges, by network.io.direction',
};
export const METRIC_OPEN_CONNECTIONS: InstrumentSpec = {
  name: 'sockscope.connection.count',
  unit: '{connection}',
  description: 'Client sockets open now',
};
export const METRIC_CONNECTION_DURATION: InstrumentSpec = {
  name: 'sockscope.connection.duration',
  unit: 's',
  description: 'Lifetime of client sockets, from connect() to close',
};
export const METRIC_CONNECT_FAILURES: InstrumentSpec = {
  name: 'sockscope.connection.failures',
  unit: '{failure}',
  description: 'Client sockets that failed to connect, by error.type',
};

/**
 * Bucket boundaries (seconds) of the duration histograms, given to the SDK as advice: the semantic
 * conventions' boundaries for client durations, with finer steps below 5 ms where socket round
 * trips to a local cache or database live.
 */
export const DURATION_BUCKETS_S: readonly number[] = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5,
  7.5, 10,
];
export const CONNECTION_BUCKETS_S: readonly number[] = [
  0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 600, 1800, 3600, 14400, 86400,
];

/** `sockscope.covered`: decided by the coverage rules, or `unknown` where they could not run. */
export type CoveredValue = 'true' | 'false' | 'unknown';

/** The value any bounded attribute takes past its bound (semantic conventions' word for "other"). */
export const OVERFLOW_VALUE = '_OTHER';
