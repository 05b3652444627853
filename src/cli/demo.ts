/**
 * `sockscope demo [--embedded]`: runs a sample service under sockscope against real backends
 * (PostgreSQL, an MQTT broker, an HTTP API), writes `sockscope-traces.jsonl`, then shows exactly
 * what `sockscope gaps` and `sockscope report` say about it and writes `sockscope-report.html`.
 */
import * as path from 'node:path';
import { context } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { parseArgs } from 'node:util';
import {
  localPostgres,
  localPostgresAnswers,
  startHttpApi,
  startMqttBroker,
  startPglite,
  untraced,
  type Listening,
  type PostgresTarget,
} from '../demo/backends';
import { missingDemoPackages } from '../demo/modules';
import { connectClients, createShop, seed, type Clients } from '../demo/service';
import { startTracing, type DemoTracing } from '../demo/tracing';
import { runGaps } from './gaps';
import { reading, topRows, type Reading } from '../analysis/top-model';
import { runReport } from './report';
import { renderTop } from './top';
import { endpointSource } from './top-sources';

export const TRACES_FILE = 'sockscope-traces.jsonl';
export const HTML_FILE = 'sockscope-report.html';

export const DEMO_USAGE = `usage: sockscope demo [--embedded]

Runs a sample service under sockscope against real backends started in this process: PostgreSQL
(the machine's at 127.0.0.1:5432, user postgres, database test, when it answers; else PGlite
served over the wire protocol), an aedes MQTT broker and a local HTTP API. Then prints the gap
table and the report, and writes ${TRACES_FILE} and ${HTML_FILE} in the working folder.
With OTEL_EXPORTER_OTLP_ENDPOINT set, the spans also go there (OTLP/HTTP), e.g. to Jaeger.

  --embedded   use PGlite even when a local PostgreSQL answers
`;

const out = (line = ''): void => void process.stdout.write(`${line}\n`);

function parse(argv: string[]): { embedded: boolean } | 'help' {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: { embedded: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  });
  return values.help ? 'help' : { embedded: values.embedded === true };
}

/** Closes everything started so far, last started first; a failing close does not stop the rest. */
class Resources {
  private readonly closers: Array<() => Promise<unknown>> = [];

  add(close: () => Promise<unknown>): void {
    this.closers.push(close);
  }

  async closeAll(): Promise<void> {
    while (this.closers.length > 0) {
      const close = this.closers.pop() as () => Promise<unknown>;
      await close().catch(() => {});
    }
  }
}

/** Runs the sample service; spans go to the tracing set up before. */
async function runService(embedded: boolean, res: Resources): Promise<void> {
  let pgTarget: PostgresTarget;
  if (!embedded && (await localPostgresAnswers())) {
    pgTarget = localPostgres();
  } else {
    out(
      embedded
        ? 'Starting PGlite (--embedded)...'
        : 'No PostgreSQL answers at 127.0.0.1:5432 (user postgres, database test): starting PGlite...',
    );
    pgTarget = await startPglite(out);
  }
  res.add(() => pgTarget.close());
  const broker: Listening = await startMqttBroker();
  res.add(() => broker.close());
  const api: Listening = await startHttpApi();
  res.add(() => api.close());

  out(`  PostgreSQL  ${pgTarget.description}`);
  out(`  MQTT        embedded aedes broker at 127.0.0.1:${broker.port}`);
  out(`  HTTP API    node:http server at 127.0.0.1:${api.port}, called with fetch`);
  out();

  const clients: Clients = await connectClients({
    postgres: pgTarget,
    mqttUrl: `mqtt://127.0.0.1:${broker.port}`,
    apiBase: `http://127.0.0.1:${api.port}`,
  });
  // Disconnect messages (pg Terminate, MQTT DISCONNECT) are plumbing, not the service's calls.
  res.add(() => untraced(() => clients.db.end()));
  res.add(() => untraced(() => clients.mqtt.endAsync()));
  // Test data is plumbing too: loaded untraced so the report is about the service alone.
  await untraced(() => seed(clients.db));

  const shop = createShop(clients);
  const started = Date.now();
  await shop.renderOrderPage(1);
  await shop.renderOrderPage(2);
  await shop.checkout(1);
  out(
    `Ran the sample service: renderOrderPage(1), renderOrderPage(2), checkout(1) in ${Date.now() - started} ms`,
  );
}

/** Run `sockscope demo`; resolves to the exit code (0 done, 1 the demo failed, 2 bad usage). */
export async function runDemo(argv: string[]): Promise<number> {
  let args: { embedded: boolean } | 'help';
  try {
    args = parse(argv);
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    process.stderr.write(`sockscope demo: ${first} (see sockscope demo --help)\n`);
    return 2;
  }
  if (args === 'help') {
    process.stdout.write(DEMO_USAGE);
    return 0;
  }
  const missing = missingDemoPackages();
  if (missing.length > 0) {
    process.stderr.write(
      `sockscope demo: needs packages that are sockscope devDependencies (present in a clone after npm ci); install them with: npm install --save-dev ${missing.join(' ')}\n`,
    );
    return 2;
  }

  const startedAt = Date.now();
  out('sockscope demo: a sample shop service traced by sockscope, against real backends');
  let tracing: DemoTracing;
  try {
    tracing = await startTracing(path.resolve(TRACES_FILE), 'sockscope-demo');
  } catch (err) {
    process.stderr.write(`sockscope demo: cannot start tracing: ${(err as Error).message}\n`);
    return 1;
  }
  const res = new Resources();
  let failure: unknown;
  const endpoint = tracing.metricsUrl !== undefined ? endpointSource(tracing.metricsUrl, 5000) : undefined;
  // Reading our own endpoint is not the service's traffic: not traced, not counted.
  const metrics =
    endpoint === undefined
      ? undefined
      : {
          describe: endpoint.describe,
          read: () => context.with(suppressTracing(context.active()), () => endpoint.read()),
        };
  let before: Reading | undefined;
  let top: string | undefined;
  try {
    if (metrics !== undefined) before = reading(await metrics.read(), Date.now());
    await runService(args.embedded, res);
    // What `sockscope top` showed over the run: rates between a reading before and one after.
    if (metrics !== undefined) {
      const after = reading(await metrics.read(), Date.now());
      top = renderTop(topRows(before, after), {
        width: 120,
        height: 40,
        color: false,
        source: `${metrics.describe} (the demo's own metrics endpoint, over the run)`,
        at: new Date(),
      });
    }
  } catch (err) {
    failure = err;
  } finally {
    await res.closeAll();
  }
  // After the clients closed: their connection spans end at close, and shutdown ends any left open.
  const otlpOutcome = await tracing.shutdown();
  if (failure !== undefined) {
    process.stderr.write(
      `sockscope demo: the sample service failed: ${(failure as Error).message ?? failure}\n`,
    );
    return 1;
  }
  out(`Wrote ${TRACES_FILE}${otlpOutcome !== undefined ? `; OTLP: ${otlpOutcome}` : ''}`);

  out();
  out(`$ sockscope gaps ${TRACES_FILE}`);
  let gapsCode: number;
  try {
    gapsCode = await runGaps([TRACES_FILE]);
  } catch (err) {
    // runGaps leaves its one-line input errors to main; the demo reports them the same way.
    process.stderr.write(`sockscope demo: ${(err as Error).message.split('\n')[0]}\n`);
    gapsCode = 1;
  }
  if (top !== undefined) {
    out();
    out(`$ sockscope top --metrics ${tracing.metricsUrl}`);
    process.stdout.write(top);
  }
  out();
  out(`$ sockscope report ${TRACES_FILE} --html ${HTML_FILE}`);
  const reportCode = await runReport([TRACES_FILE, '--html', HTML_FILE]);
  if (gapsCode !== 0 || reportCode !== 0) return 1;

  out();
  out(`Done in ${((Date.now() - startedAt) / 1000).toFixed(1)} s. Next:`);
  out(`  1. npx sockscope gaps ${TRACES_FILE} --json   the gap rows as JSON, for scripts and CI`);
  out(`  2. open ${HTML_FILE}                           waterfalls with the findings marked`);
  out('  3. trace your app: node --import sockscope/register app.mjs (or add SocketInstrumentation to');
  out('     your SDK setup) and see it in Jaeger: docker compose -f docker-compose.jaeger.yml up -d');
  return 0;
}
