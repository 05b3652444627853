import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, cli, lines } from './helpers';

test('--version prints the package version and exits 0', async () => {
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const r = await cli(['--version']);
  assert.equal(r.code, 0);
  assert.equal(r.stdout.trim(), version);
});

test('--help lists the commands and the exit codes and exits 0', async () => {
  const r = await cli(['--help']);
  assert.equal(r.code, 0);
  for (const word of ['gaps', 'report', 'demo', 'Exit codes']) assert.match(r.stdout, new RegExp(word));
});

test('no command, or an unknown one, is bad usage: one line on stderr and exit 2', async () => {
  for (const args of [[], ['frobnicate']]) {
    const r = await cli(args);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, '');
    assert.equal(lines(r.stderr).length, 1, r.stderr);
    assert.match(r.stderr, /^sockscope: /);
  }
});

test('the main module starts with a node shebang so it can be the package bin', () => {
  const src = readFileSync(join(ROOT, 'src', 'cli', 'main.ts'), 'utf8');
  assert.ok(src.startsWith('#!/usr/bin/env node\n'));
});
