/* global require */
// Preloaded ahead of sockscope/register by modules.ts: times every require (inclusive of what it
// requires in turn) and, at exit, writes the require tree, the JS files loaded and the number of
// Node built-in modules to LOAD_TIMER_OUT as JSON. Not part of the package.
const Module = require('node:module');
const fs = require('node:fs');
const { performance } = require('node:perf_hooks');

const originalLoad = Module._load;
const roots = [];
const stack = [];
Module._load = function (request) {
  const node = { request, ms: 0, children: [] };
  (stack.length > 0 ? stack[stack.length - 1].children : roots).push(node);
  stack.push(node);
  const t0 = performance.now();
  try {
    return originalLoad.apply(this, arguments);
  } finally {
    node.ms = performance.now() - t0;
    stack.pop();
  }
};

process.on('exit', () => {
  const builtins = process.moduleLoadList.filter((m) => m.startsWith('NativeModule ')).length;
  fs.writeFileSync(
    process.env.LOAD_TIMER_OUT,
    JSON.stringify({ files: Object.keys(require.cache), builtins, roots }),
  );
});
