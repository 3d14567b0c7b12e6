// The decoder against hookbridge's golden envelopes: every schemas/vectors/NAME.msgpack decodes to NAME.json (what
// `hookbridge decode` prints), field by field.  Run: node --test

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { decode, encode } from '@msgpack/msgpack';

import { decodeEnvelope, EnvelopeError, EnvelopeVersionError } from './envelope.js';

const VECTORS =
  process.env.HOOKBRIDGE_VECTORS ?? fileURLToPath(new URL('../../../schemas/vectors/', import.meta.url));
/** Two more envelopes the bridge made (../testdata/README.md). */
const TESTDATA = fileURLToPath(new URL('../testdata/', import.meta.url));
const envelopes = (dir) => readdirSync(dir)
  .filter((f) => f.endsWith('.msgpack'))
  .map((f) => join(dir, f.slice(0, -'.msgpack'.length)))
  .sort();
const CASES = [...envelopes(VECTORS), ...envelopes(TESTDATA)];

/** The JSON form's keys (what the Envelope exposes; body or bodyBase64 is `body`). */
const KNOWN = new Set(['v', 'id', 'endpoint', 'source', 'triggers', 'receivedAt', 'method', 'path', 'url', 'query',
  'headers', 'remoteAddr', 'contentType', 'body', 'bodyBase64', 'verified', 'json', 'test']);

/** NAME.msgpack and NAME.json; a bare name is a golden vector. */
function load(base) {
  if (!base.includes('/')) base = join(VECTORS, base);
  return {
    data: readFileSync(`${base}.msgpack`),
    want: JSON.parse(readFileSync(`${base}.json`, 'utf8')),
  };
}

test('there are golden vectors', () => {
  assert.ok(envelopes(VECTORS).length >= 6, `golden vectors missing in ${VECTORS}`);
  assert.ok(envelopes(TESTDATA).length >= 2, `test envelopes missing in ${TESTDATA}`);
});

for (const base of CASES) {
  test(`golden vector ${base.split('/').slice(-2).join('/')}`, () => {
    const { data, want } = load(base);
    const unknown = Object.keys(want).filter((k) => !KNOWN.has(k));
    assert.deepEqual(unknown, [], 'the vector has fields the Envelope does not expose');
    const event = decodeEnvelope(data);

    for (const key of ['v', 'id', 'endpoint', 'source', 'receivedAt', 'method', 'path', 'url', 'remoteAddr',
      'contentType', 'verified', 'triggers', 'query', 'headers']) {
      assert.deepStrictEqual(event[key], want[key], key); // strict: types count (false is not 0)
    }

    assert.ok(event.body instanceof Uint8Array, 'body is bytes');
    const body = 'body' in want ? Buffer.from(want.body, 'utf8') : Buffer.from(want.bodyBase64, 'base64');
    assert.ok(Buffer.from(event.body).equals(body), `body: ${Buffer.from(event.body).toString('hex')} != ${body.toString('hex')}`);

    if ('json' in want) {
      assert.ok('json' in event, 'json is missing');
      assert.deepStrictEqual(event.json, want.json, 'json');
    } else {
      assert.ok(!('json' in event), 'json should be absent');
    }

    assert.equal(event.test, want.test ?? false, 'test');
  });
}

/** A vector decoded generically, changed by `changes` (undefined deletes a key), encoded again. */
function repack(name, changes) {
  const m = decode(load(name).data);
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) delete m[key];
    else m[key] = value;
  }
  return encode(m);
}

test('unknown fields are ignored', () => {
  const plain = decodeEnvelope(new Uint8Array(load('json-body').data));
  const more = decodeEnvelope(repack('json-body', { aNewField: { nested: [1, 'two', new Uint8Array([3])] }, zz: null }));
  assert.deepStrictEqual(more, plain);
});

test('other versions are refused', () => {
  for (const v of [2, 0, -1, '1', null, true, undefined]) {
    assert.throws(() => decodeEnvelope(repack('json-body', { v })), EnvelopeVersionError, `v = ${v}`);
  }
  // a v2 whose other fields changed type is refused for its version, not for a type
  assert.throws(() => decodeEnvelope(repack('json-body', { v: 2, body: 7, triggers: 'x' })),
    (e) => e instanceof EnvelopeVersionError && /v is 2/.test(e.message));
});

test('malformed envelopes are refused', () => {
  const good = load('json-body').data;
  const cases = {
    'not a map': encode([1, 2, 3]),
    empty: new Uint8Array(0),
    'trailing bytes': Buffer.concat([good, Buffer.from([0xc0])]),
    truncated: good.subarray(0, good.length - 3),
    'no body': repack('json-body', { body: undefined }),
    'no id': repack('json-body', { id: undefined }),
    'body not bytes': repack('json-body', { body: 7 }), // a str body would pass: rawStrings makes it bytes too
    'headers not a map': repack('json-body', { headers: 'host: x' }),
    'receivedAt not an int': repack('json-body', { receivedAt: 'soon' }),
    'triggers not an array': repack('json-body', { triggers: 5 }),
    'test not a bool': repack('json-body', { test: 1 }),
  };
  for (const [what, data] of Object.entries(cases)) {
    assert.throws(() => decodeEnvelope(data), EnvelopeError, what);
  }
});

test('a __proto__ key (e.g. ?__proto__=1 in the query) is refused by @msgpack/msgpack, as an EnvelopeError', () => {
  // spliced in by hand: encode() writes no own "__proto__" key
  const good = load('json-body').data;
  const emptyQuery = Buffer.from('\xa5query\x80', 'latin1');
  const at = good.indexOf(emptyQuery);
  assert.ok(at > 0);
  const data = Buffer.concat([good.subarray(0, at), Buffer.from('\xa5query\x81\xa9__proto__\xa11', 'latin1'),
    good.subarray(at + emptyQuery.length)]);
  assert.throws(() => decodeEnvelope(data), (e) => e instanceof EnvelopeError && /__proto__/.test(e.message));
});

test('strings that are not UTF-8 get U+FFFD, as hookbridge decode prints them', () => {
  const event = decodeEnvelope(load(join(TESTDATA, 'invalid-utf8')).data);
  assert.equal(event.query.q, '\ufffd');
  assert.equal(event.headers['x-odd'], 'caf\ufffd');
  assert.equal(event.url, '/webhooks/odd?q=%FF&ok=1');
  assert.ok(Buffer.from(event.body).equals(Buffer.from('caf\xe9 latin-1 body', 'latin1')));
});
