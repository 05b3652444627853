/* global describe, it, before, after, require */
const assert = require('node:assert/strict');
const { expectNetwork, captureNetwork, assertNetworkBudget, makeCart } = require('../shared.cjs');

describe('cart page', () => {
  const { redis, cartPage } = makeCart();
  before(() => redis.connect());
  after(() => redis.disconnect());

  it('stays within its recorded network budget', async () => {
    await expectNetwork('cart page', cartPage);
  });

  it('reads Redis once', async () => {
    const { network } = await captureNetwork(cartPage);
    assert.ok(network.counts.length > 0);
    assertNetworkBudget(network, { perOperation: { 'redis GET': 1 } });
  });
});
