/**
 * A realistic small service for report tests: a few requests to a shop, with an N+1 loop, a
 * duplicated cache read, two independent lookups made one after the other, a fixed endpoint, and
 * a span whose name is an HTML injection attempt.
 */
import { TraceRecorder } from '../helpers/spans';

export const HOSTILE_NAME = '<script>alert(1)</script>';

const PG = '@opentelemetry/instrumentation-pg';
const DB = 'orders-db:5432';
const CACHE = 'cache:6379';

export function shopTraces(rec = new TraceRecorder('shop')): TraceRecorder {
  for (let n = 0; n < 3; n++) {
    const slow = n * 0.4; // vary times a little between requests
    const req = rec.request('GET /orders/:id', { start: 0, end: 62 + n });
    const fn = rec.fn('OrderService.load', req, { start: 1, end: 60 + n });
    const conn = rec.connection(fn, DB, { start: 1, end: 70 });
    // The order itself, through instrumentation-pg (its span is a sibling of the exchange).
    rec.upstream(fn, PG, 'pg.query:SELECT shop', { server: DB, start: 1.5, end: 6 });
    rec.exchange(fn, {
      protocol: 'postgresql',
      operation: 'SELECT',
      server: DB,
      hash: `o${n}`,
      connection: conn,
      start: 2,
      end: 5.6,
    });
    // N+1: one query per line item.
    for (let i = 0; i < 6; i++) {
      const s = 7 + i * 4.2;
      rec.exchange(fn, {
        protocol: 'postgresql',
        operation: 'SELECT',
        server: DB,
        hash: `i${n}.${i}`,
        connection: conn,
        start: s,
        end: s + 3.4 + slow,
      });
    }
    // The same cache read twice.
    const user = { protocol: 'redis', operation: 'GET', server: CACHE, hash: `user${n}` };
    rec.exchange(fn, { ...user, start: 33, end: 35.2 });
    // Two independent lookups, one after the other.
    rec.exchange(fn, {
      protocol: 'redis',
      operation: 'HGETALL',
      server: CACHE,
      hash: `p${n}`,
      start: 36,
      end: 41,
    });
    rec.exchange(fn, {
      protocol: 'http',
      operation: 'GET',
      server: 'pricing:8080',
      hash: `r${n}`,
      start: 41.3,
      end: 52,
    });
    rec.exchange(fn, { ...user, start: 53, end: 55.5 });
  }
  // The fixed endpoint: one batched query, reads in parallel.
  const req = rec.request('GET /orders/:id/fast', { start: 0, end: 14 });
  const fn = rec.fn('OrderService.loadFast', req, { start: 1, end: 13 });
  rec.exchange(fn, { protocol: 'postgresql', operation: 'SELECT', server: DB, hash: 'b1', start: 2, end: 9 });
  rec.exchange(fn, { protocol: 'redis', operation: 'GET', server: CACHE, hash: 'b2', start: 2.2, end: 4 });
  rec.exchange(fn, {
    protocol: 'http',
    operation: 'GET',
    server: 'pricing:8080',
    hash: 'b3',
    start: 2.4,
    end: 12,
  });
  // A job whose name is hostile: it must show as text.
  const job = rec.internal(HOSTILE_NAME, undefined, { start: 0, end: 12 });
  rec.exchange(job, {
    protocol: 'redis',
    operation: 'GET',
    server: CACHE,
    hash: 'j1',
    start: 1,
    end: 3,
    name: `redis ${HOSTILE_NAME}`,
  });
  rec.exchange(job, { protocol: 'redis', operation: 'GET', server: CACHE, hash: 'j1', start: 4, end: 6.5 });
  return rec;
}
