import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sqlShape } from '../../src/protocols/sql';

const shape = (sql: string) => sqlShape(Buffer.from(sql), 0, Buffer.byteLength(sql));

test('a statement shape drops literals, numbers and parameters, so one statement has one shape', () => {
  assert.equal(
    shape("SELECT * FROM users WHERE id = 42 AND name = 'bob'"),
    'select * from users where id = ? and name = ?',
  );
  assert.equal(shape('SELECT * FROM users WHERE id = 43'), shape('select *  from users\nwhere id = $1'));
  assert.equal(shape('SELECT * FROM t WHERE id IN (1, 2, 3)'), shape('SELECT * FROM t WHERE id IN (4)'));
});

test('different statements sharing an operation have different shapes', () => {
  assert.notEqual(
    shape('SELECT name FROM authors WHERE id = $1'),
    shape('SELECT title FROM books WHERE id = $1'),
  );
});

test('identifiers with digits are kept, escaped quotes and comments never leak into the shape', () => {
  assert.equal(shape('SELECT c1 FROM t2 -- secret\nWHERE x = 1'), 'select c1 from t2 where x = ?');
  assert.equal(shape("SELECT 'it''s a secret', \"quoted\" /* hidden */ FROM t"), 'select ? from t');
  assert.equal(shape("SELECT 'esc\\'aped secret' FROM t"), 'select ? from t');
});

test('a shape is bounded in length and empty text has none', () => {
  assert.ok((shape(`SELECT ${'a, '.repeat(500)}b FROM t`) ?? '').length <= 240);
  assert.equal(shape('   '), undefined);
});
