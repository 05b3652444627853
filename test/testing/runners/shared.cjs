/* global __dirname, module, require */
// The code under test in every runner fixture: a cart page reading Redis, with an optional change
// (CART_CHANGE=duplicate adds a second GET of the same key). sockscope/testing comes from the
// built package (npm run build), as an app would get it from node_modules.
const path = require('node:path');
const Redis = require('ioredis');

const testing = require(path.join(__dirname, '..', '..', '..', 'dist', 'testing'));

function makeCart() {
  const redis = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  async function cartPage() {
    await redis.get('sockscope:runner:cart');
    if (process.env.CART_CHANGE === 'duplicate') await redis.get('sockscope:runner:cart');
    await redis.set('sockscope:runner:cart', 'x');
  }
  return { redis, cartPage };
}

module.exports = { ...testing, makeCart };
