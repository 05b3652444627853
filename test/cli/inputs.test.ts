import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UsageError, parseCommandArgs, parseDuration } from '../../src/cli/args';
import { INPUT_OPTIONS, apiUrl, traceInputsFromArgs } from '../../src/cli/inputs';

const parse = (argv: string[]) => traceInputsFromArgs('gaps', parseCommandArgs('gaps', argv, INPUT_OPTIONS));

test('files, Jaeger and Zipkin sources are read from the command line with their defaults', () => {
  assert.deepEqual(parse(['a.jsonl', 'b.json']), { files: ['a.jsonl', 'b.json'] });
  assert.deepEqual(
    parse(['--jaeger', 'http://j:16686', '--service', 'checkout', '--lookback', '2h', '--limit', '5']),
    {
      files: [],
      jaeger: { url: 'http://j:16686', service: 'checkout', lookbackMs: 7_200_000, limit: 5 },
    },
  );
  assert.deepEqual(parse(['--zipkin', 'http://z:9411', '--service', 's']).zipkin, {
    url: 'http://z:9411',
    service: 's',
    lookbackMs: 3_600_000,
    limit: 100,
  });
});

test('inconsistent input options are usage errors', () => {
  assert.throws(() => parse([]), UsageError);
  assert.throws(() => parse(['--service', 'x', 'a.jsonl']), /go with --jaeger URL or --zipkin URL/);
  assert.throws(() => parse(['--zipkin', 'http://z']), /--zipkin needs --service NAME/);
});

test('durations accept the units Jaeger lookbacks use', () => {
  assert.equal(parseDuration('--lookback', '500ms'), 500);
  assert.equal(parseDuration('--lookback', '30m'), 1_800_000);
  assert.equal(parseDuration('--lookback', '1d'), 86_400_000);
  assert.throws(() => parseDuration('--lookback', '1 fortnight'), UsageError);
});

test('the API path is appended once, keeping a base path', () => {
  assert.equal(
    apiUrl('http://j:16686', '/api/traces', { service: 'a b' }).href,
    'http://j:16686/api/traces?service=a+b',
  );
  assert.equal(apiUrl('http://h/jaeger/', '/api/traces', {}).href, 'http://h/jaeger/api/traces');
  assert.equal(apiUrl('http://h/api/traces', '/api/traces', {}).href, 'http://h/api/traces');
});
