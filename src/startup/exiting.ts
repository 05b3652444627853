/**
 * Whether the process is in its `exit` event: from there on nothing asynchronous will run, so work
 * that only starts something asynchronous (a network export) is skipped. Set by exit.ts.
 */
let exiting = false;

export function isExiting(): boolean {
  return exiting;
}

export function markExiting(): void {
  exiting = true;
}
