/**
 * What `sockscope top` shows, from two readings of sockscope's cumulative metrics: per server x
 * protocol, exchanges/s, bytes/s in and out, p50/p99 exchange time over the interval (from the
 * duration histogram's buckets, interpolated as Prometheus's histogram_quantile does), open
 * connections, and the uncovered share of the exchanges whose coverage was decided.
 */
import { displayServer } from '../spans/server-key';
import { LABELS } from './fleet-gaps';

/** One series as read from an exposition or a query: a metric family, labels and value. */
export interface MetricSample {
  /** `exchanges`, `time`, `bytes`, `open` or `bucket`. */
  family: 'exchanges' | 'time' | 'bytes' | 'open' | 'bucket';
  labels: Record<string, string>;
  value: number;
}

/** Cumulative totals of one server x protocol. */
export interface RowTotals {
  server: string;
  protocol: string;
  exchanges: number;
  seconds: number;
  bytesIn: number;
  bytesOut: number;
  open: number;
  covered: number;
  uncovered: number;
  /** Cumulative histogram counts by upper bound (`le`). */
  buckets: Map<number, number>;
}

function emptyRow(server: string, protocol: string): RowTotals {
  const zero = { exchanges: 0, seconds: 0, bytesIn: 0, bytesOut: 0, open: 0, covered: 0, uncovered: 0 };
  return { server, protocol, ...zero, buckets: new Map() };
}

export interface Reading {
  atMs: number;
  rows: Map<string, RowTotals>;
}

export interface TopRow {
  server: string;
  protocol: string;
  exchangesPerS: number;
  bytesInPerS: number;
  bytesOutPerS: number;
  /** Seconds spent in exchanges per second (what the rows are sorted by). */
  timePerS: number;
  p50Ms: number | undefined;
  p99Ms: number | undefined;
  open: number;
  /** Uncovered share of the decided exchanges in the interval (0..1), undefined when none. */
  uncoveredShare: number | undefined;
}

function rowKey(l: Record<string, string>): { key: string; server: string; protocol: string } {
  const transport = l[LABELS.transport];
  const protocol = l[LABELS.protocol] ?? (transport === 'unix' ? 'unix' : (transport ?? 'tcp'));
  const host = l[LABELS.address];
  const server =
    host === undefined ? '(unknown)' : displayServer(host, transport === 'unix' ? undefined : l[LABELS.port]);
  return { key: `${server}\u0000${protocol}`, server, protocol };
}

export function reading(samples: Iterable<MetricSample>, atMs: number): Reading {
  const rows = new Map<string, RowTotals>();
  // Connections are counted from connect(), before their protocol is known: by server only.
  const openByServer = new Map<string, number>();
  for (const s of samples) {
    if (!Number.isFinite(s.value)) continue;
    if (s.family === 'open' && s.labels[LABELS.protocol] === undefined) {
      const server = rowKey(s.labels).server;
      openByServer.set(server, (openByServer.get(server) ?? 0) + s.value);
      continue;
    }
    const k = rowKey(s.labels);
    let r = rows.get(k.key);
    if (r === undefined) {
      r = emptyRow(k.server, k.protocol);
      rows.set(k.key, r);
    }
    switch (s.family) {
      case 'exchanges': {
        r.exchanges += s.value;
        const v = s.labels[LABELS.covered];
        if (v === 'true') r.covered += s.value;
        else if (v === 'false') r.uncovered += s.value;
        break;
      }
      case 'time':
        r.seconds += s.value;
        break;
      case 'bytes':
        if (s.labels.network_io_direction === 'receive') r.bytesIn += s.value;
        else r.bytesOut += s.value;
        break;
      case 'open':
        r.open += s.value;
        break;
      case 'bucket': {
        const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le);
        if (!Number.isNaN(le)) r.buckets.set(le, (r.buckets.get(le) ?? 0) + s.value);
        break;
      }
    }
  }
  // Each server's open connections go to its busiest protocol row (one row per server when none).
  for (const [server, open] of openByServer) {
    let best: RowTotals | undefined;
    for (const r of rows.values())
      if (r.server === server && (best === undefined || r.exchanges > best.exchanges)) best = r;
    if (best === undefined) {
      best = emptyRow(server, '-');
      rows.set(`${server}\u0000-`, best);
    }
    best.open += open;
  }
  return { atMs, rows };
}

/** The q-quantile (seconds) of cumulative bucket counts, interpolated within the bucket. */
export function quantile(q: number, buckets: Map<number, number>): number | undefined {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total =
    buckets.get(Infinity) ?? (bounds.length > 0 ? buckets.get(bounds[bounds.length - 1]!) : 0) ?? 0;
  if (total <= 0) return undefined;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const c = buckets.get(b) ?? 0;
    if (c >= rank) {
      if (b === Infinity) return prevBound;
      return prevBound + ((b - prevBound) * (rank - prevCount)) / Math.max(1e-12, c - prevCount);
    }
    prevBound = b;
    prevCount = c;
  }
  return prevBound;
}

/** Rows between two readings, biggest time spent first. A counter that went down restarted: its new value is the increase. */
export function topRows(prev: Reading | undefined, cur: Reading): TopRow[] {
  const dt = prev !== undefined ? Math.max(0.001, (cur.atMs - prev.atMs) / 1000) : undefined;
  const out: TopRow[] = [];
  for (const [key, r] of cur.rows) {
    const p = prev?.rows.get(key);
    const inc = (a: number, b: number | undefined): number => (b === undefined || a < b ? a : a - b);
    const rate = (a: number, b: number | undefined): number => (dt === undefined ? 0 : inc(a, b) / dt);
    const interval = new Map<number, number>();
    for (const [le, c] of r.buckets) interval.set(le, inc(c, p?.buckets.get(le)));
    const covered = inc(r.covered, p?.covered);
    const uncovered = inc(r.uncovered, p?.uncovered);
    const decided = covered + uncovered;
    const p50 = dt === undefined ? undefined : quantile(0.5, interval);
    const p99 = dt === undefined ? undefined : quantile(0.99, interval);
    out.push({
      server: r.server,
      protocol: r.protocol,
      exchangesPerS: rate(r.exchanges, p?.exchanges),
      bytesInPerS: rate(r.bytesIn, p?.bytesIn),
      bytesOutPerS: rate(r.bytesOut, p?.bytesOut),
      timePerS: rate(r.seconds, p?.seconds),
      p50Ms: p50 === undefined ? undefined : p50 * 1000,
      p99Ms: p99 === undefined ? undefined : p99 * 1000,
      open: r.open,
      uncoveredShare: decided > 0 ? uncovered / decided : undefined,
    });
  }
  out.sort(
    (a, b) =>
      b.timePerS - a.timePerS ||
      b.exchangesPerS - a.exchangesPerS ||
      b.open - a.open ||
      a.server.localeCompare(b.server) ||
      a.protocol.localeCompare(b.protocol),
  );
  return out;
}
