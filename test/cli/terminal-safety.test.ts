import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Recorder, otlpJson } from '../analysis/helpers';
import { cli, lines, serve } from './helpers';

const ESC = '\u001b';
const BEL = '\u0007';
// A window title, a clear screen, an OSC-8 link, a carriage return that overwrites the line, and
// a bidi override that reverses what follows.
const TITLE = `${ESC}]0;pwned${BEL}`;
const CLEAR = `${ESC}[2J`;
const LINK = `${ESC}]8;;https://evil.example/${ESC}\\click${ESC}]8;;${ESC}\\`;
const CR = 'fake\rreal';
const BIDI = '\u202egnp.exe';

/** No byte that could drive a terminal or reorder text: C0 (but newline), DEL, C1, bidi controls. */
function assertInert(text: string, what: string): void {
  // eslint-disable-next-line no-control-regex
  const bad = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/.exec(text);
  assert.equal(bad, null, `${what} holds U+${bad?.[0].charCodeAt(0).toString(16)}: ${JSON.stringify(text)}`);
}

let dir: string;
let hostile: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'sockscope-tty-'));
  const rec = new Recorder();
  const root = rec.root('job');
  rec.exchange(root, {
    protocol: 'redis',
    caller: `${TITLE}pkg${CLEAR}`,
    host: `${LINK}host`,
    port: 6379,
    start: 0,
    end: 5,
  });
  rec.exchange(root, { protocol: 'redis', caller: CR, host: BIDI, port: 6380, start: 6, end: 9 });
  hostile = join(dir, 'hostile.jsonl');
  writeFileSync(hostile, `${otlpJson(rec.finished())}\n`);
});

after(() => rmSync(dir, { recursive: true, force: true }));

test('sockscope gaps prints no escape sequence, carriage return or bidi control taken from the trace', async () => {
  for (const color of [{ NO_COLOR: '1' }, { NO_COLOR: '' }]) {
    const r = await cli(['gaps', hostile], color);
    assert.equal(r.code, 0, r.stderr);
    assertInert(r.stdout, 'gaps output');
    // The rest of the text is still there, shown inert.
    assert.match(r.stdout, /\uFFFD\]0;pwned\uFFFDpkg\uFFFD\[2J/);
    assert.match(r.stdout, /fake\uFFFDreal/);
    assert.match(r.stdout, /\uFFFDgnp\.exe:6380/);
  }
  // --json is data for programs: the values stay exact, JSON-escaped.
  const json = await cli(['gaps', hostile, '--json']);
  assertInert(json.stdout, 'gaps --json output');
  const rows = (JSON.parse(json.stdout) as { rows: Array<{ callerPackage: string }> }).rows;
  assert.ok(rows.some((row) => row.callerPackage === CR));
});

test('sockscope report prints no escape sequence or bidi control taken from the trace', async () => {
  const r = await cli(['report', hostile]);
  assert.equal(r.code, 0, r.stderr);
  assertInert(r.stdout, 'report output');
});

test('an error body from --jaeger with escape sequences is printed inert on one line, exit 2', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(500, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ msg: `${TITLE}${CLEAR}boom${CR}${LINK}${BIDI}` }] }));
  });
  try {
    const r = await cli(['gaps', '--jaeger', s.url, '--service', 'svc']);
    assert.equal(r.code, 2);
    assertInert(r.stderr, 'stderr');
    const l = lines(r.stderr);
    assert.equal(l.length, 1, r.stderr);
    assert.match(l[0], /answered HTTP 500.*\uFFFD\]0;pwned\uFFFD\uFFFD\[2Jboom/);
  } finally {
    await s.close();
  }
});

test('a plain-text --jaeger error body with escape sequences is printed inert too', async () => {
  const s = await serve((_req, res) => {
    res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`bad gateway ${TITLE}${CLEAR}\r\n${LINK}`);
  });
  try {
    const r = await cli(['report', '--jaeger', s.url, '--service', 'svc']);
    assert.equal(r.code, 2);
    assertInert(r.stderr, 'stderr');
    assert.equal(lines(r.stderr).length, 1, r.stderr);
  } finally {
    await s.close();
  }
});
