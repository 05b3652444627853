/**
 * A small book-shop HTTP service backed by PostgreSQL and Redis, in two variants:
 *  - `slow`: the page handler reads the same cache key twice (duplicate), runs two independent
 *    lookups one after the other (serial) and loads each book with its own query (N+1);
 *  - `fixed`: one cache read, the independent lookups in parallel, the books in one query.
 * `pg_sleep(0.005)` in each query stands in for a realistically busy database, so that the time
 * the waste costs is visible above loopback noise.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import type { Redis } from 'ioredis';
import { traced } from '../../src/traced';

export type Variant = 'slow' | 'fixed';

export interface Backends {
  pool: Pool;
  redis: Redis;
}

export const SCHEMA = 'sockscope_example';
export const AUTHOR_ID = 1;
export const BOOKS = 8;

/** Creates and seeds the example's tables (idempotent). */
export async function seed({ pool, redis }: Backends): Promise<void> {
  await seedBooks(pool);
  await redis.set('example:page-config', JSON.stringify({ currency: 'EUR' }));
}

/** The PostgreSQL part of `seed`. */
export async function seedBooks(pool: Pool): Promise<void> {
  await pool.query(`CREATE SCHEMA IF NOT EXISTS ${SCHEMA}`);
  await pool.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA}.authors (id int PRIMARY KEY, name text)`);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${SCHEMA}.books (id int PRIMARY KEY, author_id int, title text)`,
  );
  await pool.query(`CREATE TABLE IF NOT EXISTS ${SCHEMA}.reviews (book_id int, stars int)`);
  await pool.query(`INSERT INTO ${SCHEMA}.authors VALUES ($1, 'Ursula') ON CONFLICT DO NOTHING`, [AUTHOR_ID]);
  for (let i = 1; i <= BOOKS; i++) {
    await pool.query(`INSERT INTO ${SCHEMA}.books VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`, [
      i,
      AUTHOR_ID,
      `Book ${i}`,
    ]);
  }
}

const slowPage = traced('authorPage', async ({ pool, redis }: Backends, authorId: number) => {
  const config = await redis.get('example:page-config');
  const again = await redis.get('example:page-config'); // duplicate: the same read twice
  const author = await pool.query(`SELECT name, pg_sleep(0.005) FROM ${SCHEMA}.authors WHERE id = $1`, [
    authorId,
  ]);
  // serial: this does not depend on the author row, yet waits for it
  const stars = await pool.query(
    `SELECT avg(stars), pg_sleep(0.005) FROM ${SCHEMA}.reviews r JOIN ${SCHEMA}.books b ON b.id = r.book_id WHERE b.author_id = $1`,
    [authorId],
  );
  const ids = await pool.query(
    `SELECT id, pg_sleep(0.005) FROM ${SCHEMA}.books WHERE author_id = $1 ORDER BY id`,
    [authorId],
  );
  const titles: string[] = [];
  for (const row of ids.rows) {
    // n+1: one query per book
    const b = await pool.query(`SELECT title, pg_sleep(0.005) FROM ${SCHEMA}.books WHERE id = $1`, [row.id]);
    titles.push(b.rows[0].title);
  }
  return { config: config ?? again, author: author.rows[0]?.name, stars: stars.rows[0]?.avg, titles };
});

const fixedPage = traced('authorPage', async ({ pool, redis }: Backends, authorId: number) => {
  const [config, author, stars, books] = await Promise.all([
    redis.get('example:page-config'),
    pool.query(`SELECT name, pg_sleep(0.005) FROM ${SCHEMA}.authors WHERE id = $1`, [authorId]),
    pool.query(
      `SELECT avg(stars), pg_sleep(0.005) FROM ${SCHEMA}.reviews r JOIN ${SCHEMA}.books b ON b.id = r.book_id WHERE b.author_id = $1`,
      [authorId],
    ),
    pool.query(`SELECT title, pg_sleep(0.005) FROM ${SCHEMA}.books WHERE author_id = $1 ORDER BY id`, [
      authorId,
    ]),
  ]);
  return {
    config,
    author: author.rows[0]?.name,
    stars: stars.rows[0]?.avg,
    titles: books.rows.map((r: { title: string }) => r.title),
  };
});

/** Starts the HTTP service on a loopback port; GET /authors/1 renders the page as JSON. */
export async function startService(
  variant: Variant,
  backends: Backends,
): Promise<{ url: string; close(): Promise<void> }> {
  const page = variant === 'slow' ? slowPage : fixedPage;
  const server = http.createServer((req, res) => {
    const m = /^\/authors\/(\d+)$/.exec(req.url ?? '');
    if (!m) return void res.writeHead(404).end();
    page(backends, Number(m[1])).then(
      (body) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
      () => res.writeHead(500).end(),
    );
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/authors/${AUTHOR_ID}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
