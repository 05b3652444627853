/**
 * Where `sockscope top` reads from: one process's Prometheus endpoint (`--metrics URL`, the text
 * exposition format) or a Prometheus server (`--prometheus URL`, PromQL, summed over instances).
 * Both give the cumulative series that `top-model.ts` turns into rates.
 */
import type { MetricSample } from '../analysis/top-model';
import { PROM_NAMES } from '../analysis/fleet-gaps';
import { MAX_BODY_BYTES, PrometheusError, queryPrometheus, selectorOf } from './prometheus-source';

const FAMILIES: Array<[MetricSample['family'], RegExp]> = [
  ['exchanges', new RegExp(`^${PROM_NAMES.exchanges}$`)],
  ['time', new RegExp(`^${PROM_NAMES.time}$`)],
  ['bytes', new RegExp(`^${PROM_NAMES.io}$`)],
  ['open', new RegExp(`^${PROM_NAMES.open}$`)],
  ['bucket', new RegExp(`^${PROM_NAMES.durationBucket}$`)],
];

function familyOf(name: string): MetricSample['family'] | undefined {
  if (!name.startsWith('sockscope_')) return undefined;
  for (const [f, re] of FAMILIES) if (re.test(name)) return f;
  return undefined;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** sockscope's series from a Prometheus text exposition (other metrics are skipped). */
export function parseExposition(text: string): MetricSample[] {
  const out: MetricSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (m === null) continue;
    const family = familyOf(m[1]!);
    if (family === undefined) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[3] ?? '').matchAll(LABEL))
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    out.push({ family, labels, value: Number(m[4]) });
  }
  return out;
}

export interface TopSource {
  describe: string;
  read(): Promise<MetricSample[]>;
}

/** `--metrics URL`: one process's endpoint, e.g. http://localhost:9464/metrics. */
export function endpointSource(url: string, timeoutMs: number): TopSource {
  return {
    describe: url,
    async read() {
      let res: Response;
      try {
        res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        const e = err as Error & { cause?: { code?: string } };
        if (e.name === 'TimeoutError')
          throw new PrometheusError(`${url}: no answer within ${Math.round(timeoutMs / 1000)} s`);
        throw new PrometheusError(`${url}: cannot connect (${e.cause?.code ?? e.message})`);
      }
      if (!res.ok) throw new PrometheusError(`${url}: answered HTTP ${res.status}`);
      const text = await res.text();
      if (text.length > MAX_BODY_BYTES)
        throw new PrometheusError(`${url}: the answer is larger than ${MAX_BODY_BYTES} bytes`);
      return parseExposition(text);
    },
  };
}

/** `--prometheus URL`: the fleet, each family summed by the row labels over instances. */
export function prometheusSource(url: string, service: string | undefined, timeoutMs: number): TopSource {
  const sel = selectorOf(service, []);
  const by = 'server_address, server_port, network_protocol_name, network_transport';
  const q = (name: string, extra: string) =>
    `sum by (${by}${extra}) ({__name__=~"${name}"${sel !== '' ? `, ${sel}` : ''}})`;
  const queries: Array<[MetricSample['family'], string]> = [
    ['exchanges', q(PROM_NAMES.exchanges, ', sockscope_covered')],
    ['time', q(PROM_NAMES.time, '')],
    ['bytes', q(PROM_NAMES.io, ', network_io_direction')],
    ['open', q(PROM_NAMES.open, '')],
    ['bucket', q(PROM_NAMES.durationBucket, ', le')],
  ];
  return {
    describe: `Prometheus at ${url}${service !== undefined ? ` (service ${service})` : ''}`,
    async read() {
      const results = await Promise.all(queries.map(([, query]) => queryPrometheus(url, query, timeoutMs)));
      return results.flatMap((samples, i) =>
        samples.map((s) => ({ family: queries[i]![0], labels: s.labels, value: s.value })),
      );
    },
  };
}
