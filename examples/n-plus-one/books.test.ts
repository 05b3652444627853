/**
 * The network budget of `bookTitles`: at most 2 PostgreSQL queries, and no N+1 loop.
 *   node --import tsx --test examples/n-plus-one/books.test.ts                   (the loop: fails)
 *   EXAMPLE_FIXED=1 node --import tsx --test examples/n-plus-one/books.test.ts   (fixed: passes)
 * Needs PostgreSQL on 127.0.0.1:5432 (user postgres, database test).
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Pool } from 'pg';
import { assertNetworkBudget, captureNetwork } from '../../src/testing/index';
import { fixedBookTitles, slowBookTitles } from './books';
import { BOOKS, seedBooks } from './service';

const bookTitles = process.env.EXAMPLE_FIXED === '1' ? fixedBookTitles : slowBookTitles;
const pool = new Pool({ host: '127.0.0.1', user: 'postgres', database: 'test' });
after(() => pool.end());

test('the book titles of an author take at most 2 queries and no N+1 loop', async () => {
  await seedBooks(pool);
  const { result, network } = await captureNetwork(() => bookTitles(pool, 1));
  assert.equal(result.length, BOOKS);
  assertNetworkBudget(network, { perOperation: { 'postgresql SELECT': 2 }, noNPlusOne: true });
});
