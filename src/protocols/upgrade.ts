/**
 * An HTTP/1.1 connection that may switch protocols. The HTTP parser says when the server accepted
 * a switch (`101 Switching Protocols`, or a successful CONNECT) and where the new protocol's bytes
 * begin; this wrapper then hands the connection to the successor: the WebSocket parser after
 * `Upgrade: websocket`, nothing after any other switch (the connection's later exchanges are then
 * plain `tcp exchange`s, not misparsed HTTP).
 *
 * The switch shows one call late on purpose: the call that carries the 101 still reports the
 * response as HTTP and framed, so sockscope ends the upgrade exchange at that response as an `http`
 * exchange; from the next chunk on, `protocol`, `version` and `framed` are the successor's.
 */
import type { ProtocolName, ProtocolParser, RequestInfo, ResponseInfo } from './types';
import { NO_REQUESTS } from './base-parser';
import { websocket } from './websocket';

/** What the wrapper needs from the HTTP/1 parser. */
export interface SwitchingParser extends ProtocolParser {
  readonly switchTo: 'websocket' | 'other' | undefined;
  readonly switchAt: number;
}

const enum State {
  Http,
  /** The switch was accepted in the last server chunk; the next call completes it. */
  Accepted,
  Switched,
}

export class UpgradableParser implements ProtocolParser {
  private state = State.Http;
  private successor: ProtocolParser | undefined = undefined;

  constructor(private readonly http: SwitchingParser) {}

  get protocol(): ProtocolName | undefined {
    return this.state === State.Switched ? this.successor?.protocol : this.http.protocol;
  }

  get version(): string | undefined {
    return this.state === State.Switched ? this.successor?.version : this.http.version;
  }

  get framed(): boolean {
    if (this.state === State.Http) return this.http.framed;
    // Accepted: the 101 just reported must still end its exchange.
    return this.state === State.Accepted || (this.successor?.framed ?? false);
  }

  onClientBytes(chunk: Buffer): RequestInfo[] {
    if (this.state === State.Accepted) this.state = State.Switched;
    if (this.state === State.Switched) return this.successor?.onClientBytes(chunk) ?? NO_REQUESTS;
    return this.http.onClientBytes(chunk);
  }

  onServerBytes(chunk: Buffer): ResponseInfo[] {
    if (this.state === State.Accepted) this.state = State.Switched;
    if (this.state === State.Switched) return this.successor?.onServerBytes(chunk) ?? [];
    const out = this.http.onServerBytes(chunk);
    const to = this.http.switchTo;
    if (to !== undefined) {
      this.state = State.Accepted;
      if (to === 'websocket') {
        const next = websocket.createParser({
          client: chunk.subarray(0, 0),
          server: chunk.subarray(0, 0),
          port: 0,
        });
        this.successor = next;
        // Frames sent right behind the 101 belong to the new protocol; none is a response.
        if (this.http.switchAt < chunk.length) next.onServerBytes(chunk.subarray(this.http.switchAt));
      }
    }
    return out;
  }
}
