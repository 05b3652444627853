import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Sweeper, type Sweepable } from '../../src/tap/sweeper';

/** A member that stays until `rounds` sweeps have passed, recording the clock it was swept at. */
function member(rounds: number): Sweepable & { swept: number[] } {
  return {
    swept: [],
    sweep(now: number) {
      this.swept.push(now);
      return this.swept.length < rounds;
    },
  };
}

test('the sweeper sweeps members until they are done, then stops its timer after a few idle ticks', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  let clock = 1000;
  const tick = (ms: number) => {
    clock += ms;
    t.mock.timers.tick(ms);
  };
  const sweeper = new Sweeper(5, () => clock);
  const m = member(3);
  sweeper.add(m);
  assert.equal(sweeper.running, true);
  tick(5);
  tick(5);
  assert.deepEqual(m.swept, [1005, 1010], 'one sweep per interval, at the clock it was given');
  tick(5);
  assert.deepEqual(m.swept, [1005, 1010, 1015], 'swept until it reported nothing open');
  assert.equal(sweeper.size, 0);
  tick(50);
  assert.equal(m.swept.length, 3, 'a member that is done is not swept again');
  // Connection churn: sockets come and go between ticks, so the timer is not restarted for each.
  const again = member(1);
  sweeper.add(again);
  sweeper.delete(again);
  assert.equal(sweeper.running, true, 'still running a little after the last member left');
  for (let i = 0; i < 7; i++) tick(5);
  assert.equal(sweeper.running, true, 'seven idle ticks: still running');
  tick(5);
  assert.equal(sweeper.running, false, 'stopped after the eighth idle tick');
  sweeper.add(member(1));
  assert.equal(sweeper.running, true, 'restarted by the next member');
  sweeper.stop();
  assert.equal(sweeper.running, false);
});

test('a member that throws is dropped and the others are still swept', (t) => {
  t.mock.timers.enable({ apis: ['setInterval'] });
  const sweeper = new Sweeper(10, () => 0);
  const bad: Sweepable = {
    sweep() {
      throw new Error('boom');
    },
  };
  const good = member(2);
  sweeper.add(bad);
  sweeper.add(good);
  t.mock.timers.tick(10);
  assert.equal(sweeper.size, 1);
  assert.equal(good.swept.length, 1);
  sweeper.stop();
});
