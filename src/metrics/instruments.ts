/**
 * The readers' side: sockscope's instruments on the instrumentation's `Meter`, fed from the cells at
 * collection time. Counts go out through observable instruments (the SDK asks for them when it
 * collects: the hot path never hashes an attribute set). The two histograms are synchronous
 * instruments, since the API has no observable histogram: the durations a cell kept since the last
 * collection are handed to them in the batch callback, which the SDK runs before it reads its
 * synchronous storages, so they land in the same collection.
 */
import {
  ValueType,
  createNoopMeter,
  type BatchObservableCallback,
  type Histogram,
  type Meter,
  type Observable,
  type ObservableCounter,
  type ObservableResult,
  type ObservableUpDownCounter,
} from '@opentelemetry/api';
import { FailureLog } from '../spans/failure-log';
import { MetricCells, type ConnectionCell, type PendingDurations, type SocketGroup } from './cells';
import * as n from './names';

const NOOP_METER_PROTOTYPE: unknown = Object.getPrototypeOf(createNoopMeter());

const failures = new FailureLog('a metric collection failed');

/** What counting reads from an ended exchange (`Exchange` in src/tap has it). */
export interface CountedExchange {
  request: { operation?: string; phase?: string } | undefined;
  bytesSent: number;
  bytesReceived: number;
  startMs: number;
  endMs(): number;
  /** The coverage rules ran on it. */
  judged: boolean;
}

interface Bound {
  meter: Meter;
  exchanges: ObservableCounter;
  time: ObservableCounter;
  io: ObservableCounter;
  open: ObservableUpDownCounter;
  failures: ObservableCounter;
  exchangeDuration: Histogram;
  connectionDuration: Histogram;
  callback: BatchObservableCallback;
}

/**
 * sockscope's metrics for one instrumentation. `recording` is what the hot path tests: false when
 * `metrics: false` or while the meter is the API's no-op one (no MeterProvider), so that an app
 * without metrics pays one property read per exchange.
 */
export class SocketMetrics {
  recording = false;
  readonly cells = new MetricCells();
  private bound: Bound | undefined = undefined;

  /** Binds the instruments to a (new) meter, from `_updateMetricInstruments` and `setConfig`. */
  update(meter: Meter | undefined, wanted: boolean): void {
    const target =
      wanted && meter !== undefined && Object.getPrototypeOf(meter) !== NOOP_METER_PROTOTYPE
        ? meter
        : undefined;
    if (target !== this.bound?.meter) {
      this.unbind();
      if (target !== undefined) this.bind(target);
    }
    this.recording = this.bound !== undefined;
  }

  private bind(meter: Meter): void {
    const int = { valueType: ValueType.INT };
    const exchanges = meter.createObservableCounter(n.METRIC_EXCHANGES.name, {
      ...spec(n.METRIC_EXCHANGES),
      ...int,
    });
    const time = meter.createObservableCounter(n.METRIC_EXCHANGE_TIME.name, spec(n.METRIC_EXCHANGE_TIME));
    const io = meter.createObservableCounter(n.METRIC_IO.name, { ...spec(n.METRIC_IO), ...int });
    const open = meter.createObservableUpDownCounter(n.METRIC_OPEN_CONNECTIONS.name, {
      ...spec(n.METRIC_OPEN_CONNECTIONS),
      ...int,
    });
    const fails = meter.createObservableCounter(n.METRIC_CONNECT_FAILURES.name, {
      ...spec(n.METRIC_CONNECT_FAILURES),
      ...int,
    });
    const exchangeDuration = meter.createHistogram(n.METRIC_EXCHANGE_DURATION.name, {
      ...spec(n.METRIC_EXCHANGE_DURATION),
      advice: { explicitBucketBoundaries: [...n.DURATION_BUCKETS_S] },
    });
    const connectionDuration = meter.createHistogram(n.METRIC_CONNECTION_DURATION.name, {
      ...spec(n.METRIC_CONNECTION_DURATION),
      advice: { explicitBucketBoundaries: [...n.CONNECTION_BUCKETS_S] },
    });
    const bound: Bound = {
      meter,
      exchanges,
      time,
      io,
      open,
      failures: fails,
      exchangeDuration,
      connectionDuration,
      callback: (result) => this.collect(result),
    };
    meter.addBatchObservableCallback(bound.callback, [exchanges, time, io, open, fails] as Observable[]);
    this.bound = bound;
  }

  private unbind(): void {
    const b = this.bound;
    if (b === undefined) return;
    this.bound = undefined;
    try {
      this.drainAll(b);
      b.meter.removeBatchObservableCallback(b.callback, [b.exchanges, b.time, b.io, b.open, b.failures]);
    } catch (e) {
      failures.report(e);
    }
  }

  private collect(result: ObservableResult | Parameters<BatchObservableCallback>[0]): void {
    const b = this.bound;
    if (b === undefined) return;
    try {
      const r = result as Parameters<BatchObservableCallback>[0];
      for (const c of this.cells.exchangeCells) {
        if (c.count === 0) continue;
        r.observe(b.exchanges, c.count, c.attributes);
        r.observe(b.time, c.seconds, c.attributes);
        r.observe(b.io, c.bytesSent, c.transmit);
        r.observe(b.io, c.bytesReceived, c.receive);
      }
      for (const c of this.cells.connectionCells) {
        r.observe(b.open, c.open, c.attributes);
        for (const f of c.failures.values()) r.observe(b.failures, f.count, f.attributes);
      }
      this.drainAll(b);
    } catch (e) {
      failures.report(e);
    }
  }

  private drainAll(b: Bound): void {
    for (const c of this.cells.exchangeCells) drain(c.durations, b.exchangeDuration, c.attributes);
    for (const c of this.cells.connectionCells) drain(c.durations, b.connectionDuration, c.attributes);
  }

  /**
   * Counts an ended exchange in its cell: plain numbers, no attribute hashing. `coveredBy` is the
   * covering scope; `siblingRule` says whether the sibling rule could run (a coverage processor is
   * registered): without it, "not covered" is not a verdict.
   */
  countExchange(
    group: SocketGroup,
    ex: CountedExchange,
    coveredBy: string | undefined,
    siblingRule: boolean,
  ): void {
    const covered: n.CoveredValue =
      coveredBy !== undefined ? 'true' : ex.judged && siblingRule ? 'false' : 'unknown';
    const req = ex.request;
    const cell = group.cell(req?.operation, req?.phase ?? 'operation', covered, coveredBy);
    cell.count++;
    cell.bytesSent += ex.bytesSent;
    cell.bytesReceived += ex.bytesReceived;
    const seconds = Math.max(0, ex.endMs() - ex.startMs) / 1000;
    cell.seconds += seconds;
    cell.durations.add(seconds);
  }

  connectionClosed(c: ConnectionCell, seconds: number): void {
    c.open--;
    c.durations.add(seconds);
  }
}

function spec(s: n.InstrumentSpec): { unit: string; description: string } {
  return { unit: s.unit, description: s.description };
}

function drain(d: PendingDurations, h: Histogram, attributes: Parameters<Histogram['record']>[1]): void {
  const len = d.length;
  if (len === 0) return;
  const v = d.values;
  d.clear();
  for (let i = 0; i < len; i++) h.record(v[i], attributes);
}
