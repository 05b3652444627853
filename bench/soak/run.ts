/**
 * `npm run soak [-- --seconds N]`: sockscope under load for a few minutes, not part of `npm test`.
 *
 * The same app (bench/soak/app.js: pg and ioredis against the local PostgreSQL and Redis at a steady
 * rate, with connections churning) runs plain and under `--require sockscope/register`, side by
 * side. Under register, spans go by OTLP to a local collector that is down half of the time (it
 * stops listening for 10 s, then listens for 10 s). Prints both memory and event-loop curves, and
 * fails (exit 1) when the traced app's heap keeps growing over the second half of the run, or when
 * its app-visible errors differ from the plain run's.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';

const REPO = resolve(__dirname, '..', '..');

interface Sample {
  t: number;
  heapMB: number;
  rssMB: number;
  loopDelayP99Ms: number;
  ops: number;
  errors: Record<string, number>;
}

/** A collector that accepts OTLP for 10 s, then refuses connections for 10 s, and so on. */
async function flakyCollector(): Promise<{ url: string; close(): void; exports: () => number }> {
  let exports = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      exports++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  let up = true;
  const toggle = setInterval(() => {
    if (up) {
      server.close();
      server.closeAllConnections();
    } else server.listen(port, '127.0.0.1');
    up = !up;
  }, 10_000);
  return {
    url: `http://127.0.0.1:${port}`,
    exports: () => exports,
    close: () => {
      clearInterval(toggle);
      server.close();
      server.closeAllConnections();
    },
  };
}

function runApp(
  label: string,
  args: string[],
  env: Record<string, string>,
  seconds: number,
): Promise<Sample[]> {
  return new Promise((done, fail) => {
    const clean: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!/^(OTEL_|SOCKSCOPE_)/.test(k)) clean[k] = v;
    const child = spawn(process.execPath, ['--expose-gc', ...args, join(__dirname, 'app.js')], {
      cwd: REPO,
      env: { ...clean, ...env, SOAK_SECONDS: String(seconds) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const samples: Sample[] = [];
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        const s = JSON.parse(line);
        if (s.done === true) samples.push({ ...samples[samples.length - 1]!, ops: s.ops, errors: s.errors });
        else samples.push(s);
      }
    });
    child.on('exit', (code) => (code === 0 ? done(samples) : fail(new Error(`${label} exited ${code}`))));
  });
}

/** Least-squares slope of y over t, per minute. */
function slopePerMinute(points: { t: number; y: number }[]): number {
  const n = points.length;
  const mt = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.y, 0) / n;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.t - mt) * (p.y - my);
    den += (p.t - mt) ** 2;
  }
  return den === 0 ? 0 : (num / den) * 60;
}

async function main(): Promise<void> {
  const i = process.argv.indexOf('--seconds');
  const seconds = i > 0 ? Number(process.argv[i + 1]) : 120;
  if (!Number.isInteger(seconds) || seconds < 20)
    throw new Error('--seconds needs a whole number of at least 20');
  const collector = await flakyCollector();
  const [plain, traced] = await Promise.all([
    runApp('plain', [], {}, seconds),
    runApp(
      'register',
      ['--require', 'sockscope/register'],
      { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_BSP_SCHEDULE_DELAY: '1000', OTEL_LOG_LEVEL: 'none' },
      seconds,
    ),
  ]);
  collector.close();

  console.log(
    `soak: ${seconds} s, plain and under sockscope/register side by side; collector down half of the time`,
  );
  console.log('');
  console.log(
    '| t (s) | plain heap MB | plain RSS MB | plain loop p99 ms | sockscope heap MB | sockscope RSS MB | sockscope loop p99 ms |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (let k = 0; k < Math.min(plain.length, traced.length) - 1; k++) {
    const p = plain[k]!;
    const s = traced[k]!;
    console.log(
      `| ${s.t} | ${p.heapMB} | ${p.rssMB} | ${p.loopDelayP99Ms} | ${s.heapMB} | ${s.rssMB} | ${s.loopDelayP99Ms} |`,
    );
  }
  const lastP = plain[plain.length - 1]!;
  const lastS = traced[traced.length - 1]!;
  const secondHalf = (xs: Sample[]) =>
    xs
      .slice(0, -1)
      .filter((s) => s.t > seconds / 2)
      .map((s) => ({ t: s.t, y: s.heapMB }));
  const slope = slopePerMinute(secondHalf(traced));
  const plainSlope = slopePerMinute(secondHalf(plain));
  console.log('');
  console.log(
    `operations: plain ${lastP.ops}, sockscope ${lastS.ops}; OTLP requests the collector answered: ${collector.exports()}`,
  );
  console.log(
    `heap slope over the second half: plain ${plainSlope.toFixed(2)} MB/min, sockscope ${slope.toFixed(2)} MB/min`,
  );
  console.log(
    `app-visible errors: plain ${JSON.stringify(lastP.errors)}, sockscope ${JSON.stringify(lastS.errors)}`,
  );
  const problems: string[] = [];
  // Bounded: the traced heap may not trend up by more than 2 MB/min beyond the plain app's trend.
  if (slope - plainSlope > 2)
    problems.push(`the traced heap grows ${slope.toFixed(2)} MB/min over the second half`);
  if (JSON.stringify(Object.keys(lastP.errors).sort()) !== JSON.stringify(Object.keys(lastS.errors).sort()))
    problems.push('the app saw different kinds of errors under sockscope');
  if (problems.length > 0) {
    console.log(`\nFAIL: ${problems.join('; ')}`);
    process.exitCode = 1;
  } else console.log('\nOK: memory bounded, same app-visible errors');
}

main().catch((e) => {
  console.error(`soak: ${(e as Error).message}`);
  process.exitCode = 2;
});
