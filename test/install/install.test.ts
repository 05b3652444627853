/**
 * The packed tarball installs into a fresh app of each OpenTelemetry line with a plain
 * `npm install`, adds no second copy of any OpenTelemetry package, and works both ways the README
 * shows: its "Use it in your app" code, verbatim, and `node --import sockscope/register`.
 *
 * The line follows the Node.js running the test: Node >= 22.15 gets the 3.x line (what a new app
 * installs today), older Node the 2.x line. Needs the npm registry, PostgreSQL and Redis.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { decodeProtobufRequest, type NormalSpan } from '../export/helpers/otlp-decode';
import { startHttpReceiver } from '../export/helpers/receivers';
import { requireService } from '../helpers/services';

const REPO = path.resolve(__dirname, '..', '..');
const [major, minor] = process.versions.node.split('.').map(Number) as [number, number];
const LINE = major > 22 || (major === 22 && minor >= 15) ? '3.x' : '2.x';
const DEV = JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')).devDependencies;
/** What a new app of each line installs: that line's current SDK and auto-instrumentations. */
const APP_DEPENDENCIES: Record<string, Record<string, string>> = {
  '2.x': {
    '@opentelemetry/api': '~1.9.0',
    '@opentelemetry/sdk-node': '^0.223.0',
    '@opentelemetry/auto-instrumentations-node': '^0.81.0',
  },
  // auto-instrumentations-node 0.82 depends on sdk-node ^0.300.0: an app that also asks for
  // sdk-node 0.301 gets two copies of sdk-node and of instrumentation, with or without sockscope.
  '3.x': {
    '@opentelemetry/api': '^1.10.0',
    '@opentelemetry/sdk-node': '~0.300.0',
    '@opentelemetry/auto-instrumentations-node': '^0.82.0',
  },
};

function npm(cwd: string, args: string[]): { status: number; output: string } {
  const r = spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=warn'], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, npm_config_update_notifier: 'false' },
  });
  return { status: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}

/** Every installed copy of every @opentelemetry/* package, as `name@version` → count. */
function otelCopies(app: string): Map<string, number> {
  const copies = new Map<string, number>();
  const walk = (nodeModules: string): void => {
    if (!fs.existsSync(nodeModules)) return;
    for (const entry of fs.readdirSync(nodeModules)) {
      const dirs = entry.startsWith('@')
        ? fs.readdirSync(path.join(nodeModules, entry)).map((n) => path.join(nodeModules, entry, n))
        : [path.join(nodeModules, entry)];
      for (const dir of dirs) {
        const manifest = path.join(dir, 'package.json');
        if (!fs.existsSync(manifest)) continue;
        const { name, version } = JSON.parse(fs.readFileSync(manifest, 'utf8'));
        if (typeof name === 'string' && name.startsWith('@opentelemetry/')) {
          const key = `${name}@${version}`;
          copies.set(key, (copies.get(key) ?? 0) + 1);
        }
        walk(path.join(dir, 'node_modules'));
      }
    }
  };
  walk(path.join(app, 'node_modules'));
  return copies;
}

/** Runs node in the app without blocking this process (the OTLP receiver lives here). */
function runNode(
  cwd: string,
  args: string[],
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The README's "Use it in your app" code block, verbatim. */
function readmeSetup(): string {
  const readme = fs.readFileSync(path.join(REPO, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Use it in your app'));
  const block = /```js\n([\s\S]*?)```/.exec(section);
  assert.ok(block, 'the README has a js block under "Use it in your app"');
  return block[1]!;
}

/** NormalSpans back into one OTLP/JSON request line, the trace-file format `sockscope gaps` reads. */
function toOtlpJsonLine(spans: NormalSpan[]): string {
  const value = (v: unknown): Record<string, unknown> =>
    typeof v === 'boolean'
      ? { boolValue: v }
      : typeof v === 'number'
        ? Number.isInteger(v)
          ? { intValue: String(v) }
          : { doubleValue: v }
        : { stringValue: String(v) };
  const byScope = new Map<string, NormalSpan[]>();
  for (const s of spans) byScope.set(s.scope, [...(byScope.get(s.scope) ?? []), s]);
  return JSON.stringify({
    resourceSpans: [
      {
        resource: { attributes: [] },
        scopeSpans: [...byScope].map(([scope, list]) => ({
          scope: { name: scope },
          spans: list.map((s) => ({
            traceId: s.traceId,
            spanId: s.spanId,
            parentSpanId: s.parentSpanId,
            name: s.name,
            kind: s.kind,
            startTimeUnixNano: String(s.startNs),
            endTimeUnixNano: String(s.endNs),
            attributes: Object.entries(s.attributes)
              .filter(([, v]) => v !== null && !Array.isArray(v))
              .map(([key, v]) => ({ key, value: value(v) })),
            status: s.status,
          })),
        })),
      },
    ],
  });
}

function gapsJson(
  app: string,
  file: string,
): { rows: { callerPackage: string; protocol: string; exchanges: number }[] } {
  const out = execFileSync(path.join(app, 'node_modules', '.bin', 'sockscope'), ['gaps', file, '--json'], {
    cwd: app,
    encoding: 'utf8',
  });
  return JSON.parse(out);
}

function assertTraced(spans: { name: string; attributes: Record<string, unknown> }[], what: string): void {
  const names = spans.map((s) => s.name);
  const kinds = (k: string) => spans.filter((s) => s.attributes['sockscope.kind'] === k);
  assert.ok(
    kinds('connection').length >= 2,
    `${what}: connection spans for pg and redis; got ${names.join(', ')}`,
  );
  assert.ok(
    names.includes('postgresql SELECT'),
    `${what}: a postgresql SELECT exchange; got ${names.join(', ')}`,
  );
  assert.ok(names.includes('redis GET'), `${what}: a redis GET exchange; got ${names.join(', ')}`);
}

function assertGapRows(report: ReturnType<typeof gapsJson>, what: string): void {
  for (const [caller, protocol] of [
    ['pg', 'postgresql'],
    ['ioredis', 'redis'],
  ]) {
    assert.ok(
      report.rows.some((r) => r.callerPackage === caller && r.protocol === protocol && r.exchanges > 0),
      `${what}: a gaps row for ${caller} × ${protocol}; rows: ${JSON.stringify(report.rows)}`,
    );
  }
}

test(
  `the packed package installs cleanly into a fresh ${LINE} app and works as the README says`,
  { timeout: 600_000 },
  async (t) => {
    if (!(await requireService(t, 'PostgreSQL', '127.0.0.1', 5432))) return;
    if (!(await requireService(t, 'Redis', '127.0.0.1', 6379))) return;
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'sockscope-install-'));
    t.after(() => fs.rmSync(work, { recursive: true, force: true }));

    // dist/ is fresh (npm test builds first), so pack without running prepack again.
    const packed = execFileSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
      cwd: REPO,
      encoding: 'utf8',
    });
    const tarball = path.join(work, JSON.parse(packed)[0].filename as string);

    const app = path.join(work, 'app');
    fs.mkdirSync(app);
    fs.writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({
        name: 'install-test-app',
        version: '1.0.0',
        private: true,
        type: 'module',
        dependencies: { ...APP_DEPENDENCIES[LINE], pg: DEV.pg, ioredis: DEV.ioredis },
      }),
    );
    const base = npm(app, ['install']);
    if (
      base.status !== 0 &&
      process.env.CI !== 'true' &&
      /ENOTFOUND|EAI_AGAIN|ECONNREFUSED/.test(base.output)
    ) {
      t.skip('the npm registry is not reachable; run with a registry to test the install');
      return;
    }
    assert.equal(base.status, 0, base.output);
    const before = otelCopies(app);

    const added = npm(app, ['install', tarball]);
    assert.equal(added.status, 0, added.output);
    assert.doesNotMatch(added.output, /ERESOLVE/);
    assert.doesNotMatch(added.output, /peer/i, 'npm printed no peer-dependency warning');
    assert.doesNotMatch(added.output, /install-scripts.*sockscope/, 'sockscope runs no install script');
    const ls = npm(app, ['ls', '--all']);
    assert.equal(ls.status, 0, ls.output);
    assert.deepEqual(
      [...otelCopies(app)].sort(),
      [...before].sort(),
      'installing sockscope added or duplicated no OpenTelemetry package',
    );
    for (const name of Object.keys(APP_DEPENDENCIES[LINE]!)) {
      const copies = [...otelCopies(app)].filter(([k]) => k.startsWith(`${name}@`));
      assert.equal(
        copies.reduce((n, [, c]) => n + c, 0),
        1,
        `exactly one copy of ${name}`,
      );
    }
    assert.ok(
      !fs.existsSync(path.join(app, 'node_modules', 'sockscope', 'node_modules')),
      'sockscope nests nothing',
    );
    const shipped = fs.readdirSync(path.join(app, 'node_modules', 'sockscope', 'dist'));
    assert.ok(shipped.includes('index.js') && shipped.includes('register.mjs'), 'dist/ ships built');

    fs.copyFileSync(path.join(__dirname, 'calls.mjs'), path.join(app, 'calls.mjs'));

    // 1. The README's SDK setup, verbatim, with spans going to a local OTLP receiver.
    const receiver = await startHttpReceiver();
    try {
      fs.writeFileSync(
        path.join(app, 'sdk-app.mjs'),
        `${readmeSetup()}\n${fs.readFileSync(path.join(__dirname, 'app-driver.mjs'), 'utf8')}`,
      );
      const run = await runNode(app, ['sdk-app.mjs'], {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
        OTEL_SERVICE_NAME: 'install-sdk',
      });
      assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
      // NodeSDK also sends metrics (and logs) to the same endpoint: only the traces are spans.
      const spans = receiver.requests
        .filter((r) => r.path === '/v1/traces')
        .flatMap((r) => decodeProtobufRequest(r.body));
      assertTraced(spans, 'README setup');
      const file = path.join(work, 'sdk-traces.jsonl');
      fs.writeFileSync(file, `${toOtlpJsonLine(spans)}\n`);
      assertGapRows(gapsJson(app, file), 'README setup');
    } finally {
      await receiver.close();
    }

    // 2. Zero code: node --import sockscope/register, spans to a JSONL file.
    fs.copyFileSync(path.join(__dirname, 'register-app.mjs'), path.join(app, 'register-app.mjs'));
    const file = path.join(work, 'register-traces.jsonl');
    const run = await runNode(app, ['--import', 'sockscope/register', 'register-app.mjs'], {
      SOCKSCOPE_FILE: file,
      OTEL_TRACES_EXPORTER: 'none',
      OTEL_SERVICE_NAME: 'install-register',
    });
    assert.equal(run.status, 0, `${run.stdout}${run.stderr}`);
    assert.doesNotMatch(run.stderr, /sockscope/, `register printed nothing: ${run.stderr}`);
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    const spans = lines
      .flatMap((l) =>
        JSON.parse(l).resourceSpans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans)),
      )
      .map((s: any) => ({
        name: s.name as string,
        attributes: Object.fromEntries(
          (s.attributes ?? []).map((a: any) => [a.key, Object.values(a.value)[0]]),
        ),
      }));
    assertTraced(spans, '--import sockscope/register');
    assertGapRows(gapsJson(app, file), '--import sockscope/register');
  },
);
