/**
 * Runs both variants under sockscope, writes their spans to JSONL files and prints the report of
 * each:  node --import tsx examples/n-plus-one/run.ts
 * Needs PostgreSQL on 127.0.0.1:5432 (user postgres, database test) and Redis on 127.0.0.1:6379.
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { rmSync } from 'node:fs';
import { SocketCoverageProcessor, SocketInstrumentation, JsonlFileSpanExporter } from '../../src/index';
import { reportFromSpans } from '../../src/analysis/report';
import { readTraceFile } from '../../src/analysis/read';

async function main(): Promise<void> {
  for (const variant of ['slow', 'fixed'] as const) {
    const file = `n-plus-one-${variant}.jsonl`;
    rmSync(file, { force: true });
    const exporter = new JsonlFileSpanExporter({ path: file });
    const provider = new TracerProvider({
      spanProcessors: [new SocketCoverageProcessor(), new SimpleSpanProcessor({ exporter })],
    });
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
    const sockscope = new SocketInstrumentation();
    sockscope.setTracerProvider(provider);
    // Client libraries after the instrumentation, as in any OpenTelemetry setup.
    const { Pool } = await import('pg');
    const { default: Redis } = await import('ioredis');
    const { seed, startService } = await import('./service');
    const pool = new Pool({ host: '127.0.0.1', user: 'postgres', database: 'test' });
    const redis = new Redis({ host: '127.0.0.1', port: 6379 });
    await seed({ pool, redis });
    const service = await startService(variant, { pool, redis });
    for (let i = 0; i < 3; i++) await (await fetch(service.url)).json();
    await service.close();
    await pool.end();
    redis.disconnect();
    await provider.forceFlush();
    sockscope.disable();
    await provider.shutdown();
    const { report } = reportFromSpans(await readTraceFile(file), { minSavingsMs: 0 });
    const page = report.functions.find((f) => f.name === 'authorPage');
    console.log(`\n${variant}: ${file}`);
    for (const f of page?.findings ?? []) console.log(`  ${f.type}: ${JSON.stringify(f)}`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
