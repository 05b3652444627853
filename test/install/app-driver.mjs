/* global sdk */
// Appended after the README's "Use it in your app" code (which defines `sdk`): the app's work,
// then a shutdown that flushes the spans to the OTLP receiver.
import { checkout } from './calls.mjs';

await checkout();
await sdk.shutdown();
console.log('ok');
