import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Sweeper, type Sweepable } from '../../src/tap/sweeper';

/** A member that stays until `rounds` sweeps have passed. */
function member(rounds: number): Sweepable & { swept: number } {
  return {
    swept: 0,
    sweep() {
      return ++this.swept < rounds;
    },
  };
}

test('the sweeper sweeps members until they are done, then stops its timer after a few idle ticks', async () => {
  const sweeper = new Sweeper(5, () => performance.now());
  const m = member(3);
  sweeper.add(m);
  assert.equal(sweeper.running, true);
  await sleep(40);
  assert.equal(m.swept, 3, 'swept until it reported nothing open');
  assert.equal(sweeper.size, 0);
  // Connection churn: sockets come and go between ticks, so the timer is not restarted for each.
  const again = member(1);
  sweeper.add(again);
  sweeper.delete(again);
  assert.equal(sweeper.running, true, 'still running a little after the last member left');
  await sleep(120);
  assert.equal(sweeper.running, false, 'stopped once idle');
  sweeper.add(member(1));
  assert.equal(sweeper.running, true, 'restarted by the next member');
  sweeper.stop();
  assert.equal(sweeper.running, false);
});
