/**
 * A MeterProvider with a reader the test collects from on demand, and the collected points
 * flattened to { name, attributes, value } rows.
 */
import type { Attributes } from '@opentelemetry/api';
import * as net from 'node:net';
import { MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics';

class OnDemandReader extends MetricReader {
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

export interface Point {
  name: string;
  attributes: Attributes;
  /** The counter's value, or the histogram's count. */
  value: number;
  /** Histograms: the sum. */
  sum?: number;
}

export function meterProvider(): { provider: MeterProvider; collect(): Promise<Point[]> } {
  const reader = new OnDemandReader();
  const provider = new MeterProvider({ readers: [reader] });
  return {
    provider,
    async collect() {
      const { resourceMetrics, errors } = await reader.collect();
      if (errors.length > 0) throw errors[0];
      const out: Point[] = [];
      for (const sm of resourceMetrics.scopeMetrics) {
        for (const m of sm.metrics) {
          for (const p of m.dataPoints as DataPoint<number | Histogram>[]) {
            const v = p.value;
            out.push(
              typeof v === 'number'
                ? { name: m.descriptor.name, attributes: p.attributes, value: v }
                : { name: m.descriptor.name, attributes: p.attributes, value: v.count, sum: v.sum },
            );
          }
        }
      }
      return out;
    },
  };
}

/** The sum of the points of one metric whose attributes include `match`. */
export function total(points: Point[], name: string, match: Attributes = {}): number {
  return points
    .filter((p) => p.name === name && Object.entries(match).every(([k, v]) => p.attributes[k] === v))
    .reduce((a, p) => a + p.value, 0);
}

/** A loopback port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}
