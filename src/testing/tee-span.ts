import type {
  Attributes,
  AttributeValue,
  Exception,
  Link,
  Span,
  SpanContext,
  SpanStatus,
  TimeInput,
} from '@opentelemetry/api';

type WithLinks = Span & { addLink?(link: Link): Span; addLinks?(links: Link[]): Span };

/**
 * One span seen by two tracers: the app's (`primary`, whose ids the trace uses) and a capture's
 * private one. Every change goes to both, so each records the same span.
 */
export class TeeSpan implements Span {
  constructor(
    private readonly primary: Span,
    private readonly secondary: Span,
  ) {}

  spanContext(): SpanContext {
    return this.primary.isRecording() ? this.primary.spanContext() : this.secondary.spanContext();
  }

  setAttribute(key: string, value: AttributeValue): this {
    this.primary.setAttribute(key, value);
    this.secondary.setAttribute(key, value);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    this.primary.setAttributes(attributes);
    this.secondary.setAttributes(attributes);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    this.primary.addEvent(name, attributesOrStartTime, startTime);
    this.secondary.addEvent(name, attributesOrStartTime, startTime);
    return this;
  }

  addLink(link: Link): this {
    (this.primary as WithLinks).addLink?.(link);
    (this.secondary as WithLinks).addLink?.(link);
    return this;
  }

  addLinks(links: Link[]): this {
    (this.primary as WithLinks).addLinks?.(links);
    (this.secondary as WithLinks).addLinks?.(links);
    return this;
  }

  setStatus(status: SpanStatus): this {
    this.primary.setStatus(status);
    this.secondary.setStatus(status);
    return this;
  }

  updateName(name: string): this {
    this.primary.updateName(name);
    this.secondary.updateName(name);
    return this;
  }

  end(endTime?: TimeInput): void {
    this.primary.end(endTime);
    this.secondary.end(endTime);
  }

  isRecording(): boolean {
    return this.primary.isRecording() || this.secondary.isRecording();
  }

  recordException(exception: Exception, time?: TimeInput): void {
    this.primary.recordException(exception, time);
    this.secondary.recordException(exception, time);
  }
}
