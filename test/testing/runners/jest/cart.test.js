/* global test, expect, beforeAll, afterAll, require */
const { expectNetwork, captureNetwork, assertNetworkBudget, makeCart } = require('../shared.cjs');

const { redis, cartPage } = makeCart();
beforeAll(() => redis.connect());
afterAll(() => redis.disconnect());

test('the cart page stays within its recorded network budget', async () => {
  await expectNetwork('cart page', cartPage);
});

test('the cart page reads Redis once', async () => {
  const { network } = await captureNetwork(cartPage);
  expect(network.counts.length).toBeGreaterThan(0);
  assertNetworkBudget(network, { perOperation: { 'redis GET': 1 } });
});
