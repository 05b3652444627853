import type { Meter } from '@opentelemetry/api';
import { InstrumentationBase, InstrumentationNodeModuleDefinition } from '@opentelemetry/instrumentation';
// The module objects themselves (not import namespace copies), so their functions can be wrapped.
import http2 = require('node:http2');
import * as net from 'node:net';
import { SocketMetrics } from '../metrics/instruments';
import { SCOPE_NAME } from '../spans/semconv';
import type { SocketInstrumentationConfig } from '../types';
import { VERSION } from '../version';
import { patchHttp2, unpatchHttp2 } from './http2-patch';
import { patchNet, unpatchNet } from './net-patches';
import { TapRegistry, activeRegistry, setActiveRegistry } from './registry';

const kRegistry = Symbol('sockscope.registry');
const kMetrics = Symbol('sockscope.metrics');

/**
 * SocketInstrumentation: a span for every client socket connection and for every
 * request/response exchange on it, whatever library opened it.
 */
export class SocketInstrumentation extends InstrumentationBase<SocketInstrumentationConfig> {
  constructor(config: SocketInstrumentationConfig = {}) {
    super(SCOPE_NAME, VERSION, config);
  }

  // `net` is a core module: it is patched at enable() whether or not anything requires it again
  // (fetch reaches sockets without requiring `net`). The module definition keeps the standard
  // require-in-the-middle path for the rest.
  protected init() {
    return [
      new InstrumentationNodeModuleDefinition(
        'net',
        ['*'],
        (m: typeof net) => {
          patchNet(m);
          return m;
        },
        (m: typeof net) => unpatchNet(m),
      ),
      new InstrumentationNodeModuleDefinition(
        'http2',
        ['*'],
        (m: typeof http2) => {
          patchHttp2(m);
          return m;
        },
        (m: typeof http2) => unpatchHttp2(m),
      ),
    ];
  }

  override enable(): void {
    super.enable();
    patchNet(net);
    patchHttp2(http2);
    setActiveRegistry(this.registry());
  }

  override disable(): void {
    super.disable();
    if (activeRegistry === this.registry()) {
      unpatchNet(net);
      unpatchHttp2(http2);
      setActiveRegistry(undefined);
    }
    this.registry().closeAll();
  }

  override setConfig(config: SocketInstrumentationConfig = {}): void {
    super.setConfig(config);
    (this as unknown as Record<symbol, TapRegistry | undefined>)[kRegistry]?.reconfigure(this.getConfig());
    // Before InstrumentationBase has a meter (its constructor calls this first), there is nothing to bind.
    const meter = (this as unknown as { _meter?: Meter })._meter;
    if (meter !== undefined) this.metrics().update(meter, this.getConfig().metrics !== false);
  }

  // The MeterProvider was set or replaced (setMeterProvider, registerInstrumentations).
  protected override _updateMetricInstruments(): void {
    this.metrics().update(this.meter, this.getConfig().metrics !== false);
  }

  // Lazily created, like the registry: InstrumentationBase calls the two methods above from its constructor.
  private metrics(): SocketMetrics {
    const self = this as unknown as Record<symbol, SocketMetrics | undefined>;
    return (self[kMetrics] ??= new SocketMetrics());
  }

  // Lazily created: InstrumentationBase calls enable() from its constructor, before subclass fields exist.
  private registry(): TapRegistry {
    const self = this as unknown as Record<symbol, TapRegistry | undefined>;
    return (self[kRegistry] ??= new TapRegistry(this.getConfig(), () => this.tracer, this.metrics()));
  }
}
