/* global performance */
// The "last line of user code" for the exit measurement: it prints the wall clock, then nothing
// is left to do, so the process should exit at once.
console.log(`last-line ${performance.timeOrigin + performance.now()}`);
