/**
 * An author's book titles, twice: `slowBookTitles` loads the ids, then each book with its own
 * query (the N+1 loop); `fixedBookTitles` loads them in one query. `books.test.ts` holds the
 * network budget that catches the loop.
 */
import type { Pool } from 'pg';
import { traced } from '../../src/traced';
import { SCHEMA } from './service';

export const slowBookTitles = traced('bookTitles', async (pool: Pool, authorId: number) => {
  const client = await pool.connect();
  try {
    const ids = await client.query(`SELECT id FROM ${SCHEMA}.books WHERE author_id = $1 ORDER BY id`, [
      authorId,
    ]);
    const titles: string[] = [];
    for (const row of ids.rows) {
      const book = await client.query(`SELECT title FROM ${SCHEMA}.books WHERE id = $1`, [row.id]);
      titles.push(book.rows[0].title);
    }
    return titles;
  } finally {
    client.release();
  }
});

export const fixedBookTitles = traced('bookTitles', async (pool: Pool, authorId: number) => {
  const books = await pool.query(`SELECT title FROM ${SCHEMA}.books WHERE author_id = $1 ORDER BY id`, [
    authorId,
  ]);
  return books.rows.map((r: { title: string }) => r.title);
});
