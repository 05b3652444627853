/**
 * Loopback collectors for tests: an HTTP receiver (OTLP/HTTP and Zipkin) that records raw request
 * bodies and can answer OK, answer an error status, or hold every request unanswered (a slow
 * collector), and an OTLP gRPC receiver implementing TraceService/Export.
 */
import * as http from 'node:http';
import * as net from 'node:net';
import * as zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { ExportTraceServiceResponse } from './otlp-decode';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

export interface HttpReceiverOptions {
  /** Status to answer with. @default 200 */
  status?: number;
  /** Never answer (until close): a collector that accepts and hangs. */
  hold?: boolean;
}

export interface Receiver {
  port: number;
  url: string;
  requests: ReceivedRequest[];
  /** Resolves once `n` requests have been received (bodies complete). */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function makeWaiter(requests: unknown[]): {
  notify(): void;
  waitFor(n: number, timeoutMs?: number): Promise<void>;
} {
  const waiters: { n: number; resolve(): void }[] = [];
  return {
    notify() {
      for (const w of [...waiters]) {
        if (requests.length >= w.n) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
    },
    waitFor(n, timeoutMs = 10_000) {
      if (requests.length >= n) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () =>
            reject(new Error(`receiver: waited ${timeoutMs} ms for ${n} requests, got ${requests.length}`)),
          timeoutMs,
        );
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
  };
}

export async function startHttpReceiver(options: HttpReceiverOptions = {}): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const waiter = makeWaiter(requests);
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = zlib.gunzipSync(body);
      requests.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers, body });
      waiter.notify();
      if (options.hold) return;
      const status = options.status ?? 200;
      const isProto = String(req.headers['content-type']).includes('protobuf');
      const payload =
        status >= 300
          ? Buffer.from('collector says no')
          : isProto
            ? Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create({})).finish())
            : Buffer.from('{}');
      res.writeHead(status, { 'content-type': isProto ? 'application/x-protobuf' : 'application/json' });
      res.end(payload);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    waitFor: waiter.waitFor,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port on which nothing listens: a collector that is down. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startGrpcReceiver(): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const waiter = makeWaiter(requests);
  const server = new grpc.Server();
  // A service definition by hand: raw bytes in, so the test decodes the request itself.
  const definition: grpc.ServiceDefinition = {
    Export: {
      path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  server.addService(definition, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      requests.push({
        method: 'POST',
        path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
        headers: call.metadata.getMap() as http.IncomingHttpHeaders,
        body: call.request,
      });
      waiter.notify();
      callback(
        null,
        Buffer.from(ExportTraceServiceResponse.encode(ExportTraceServiceResponse.create({})).finish()),
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    waitFor: waiter.waitFor,
    close: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 1000).unref();
      }),
  };
}
