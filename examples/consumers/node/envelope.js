// hookbridge's event envelope v1: the msgpack map that is the value of every Kafka record hookbridge publishes.
//
//   import { decodeEnvelope } from './envelope.js';
//   const event = decodeEnvelope(message.value); // an Envelope, or throws EnvelopeError
//
// A v1 envelope only ever gains fields: decodeEnvelope ignores keys it does not know, and refuses any other version.

import { Decoder } from '@msgpack/msgpack';

export const VERSION = 1;
/** The content-type header of a record whose value is a v1 envelope. */
export const CONTENT_TYPE = 'application/vnd.hookbridge.event.v1+msgpack';

/**
 * One verified webhook delivery as hookbridge published it.
 * @typedef {object} Envelope
 * @property {1} v
 * @property {string} id the sender's delivery id, else a UUIDv7; kept across retries of one delivery
 * @property {string} endpoint the endpoint's id in the config
 * @property {string} source the provider, e.g. "github"
 * @property {string[]} triggers the triggers that matched and route to this topic (may be empty)
 * @property {number} receivedAt unix time in milliseconds
 * @property {string} method
 * @property {string} path
 * @property {string} url path + query, as received
 * @property {Record<string, string>} query the last value of a repeated parameter wins
 * @property {Record<string, string>} headers lower-case names; repeated headers joined with ", "
 * @property {string} remoteAddr peer address (or the trusted forwarded-for)
 * @property {string} contentType "" when the request had none
 * @property {Uint8Array} body the raw body, byte for byte; a Buffer (sharing its memory) when `data` was a Buffer,
 *   as kafkajs gives: `body.toString()` or `new TextDecoder().decode(body)` for text
 * @property {string} verified the scheme that verified it: "hmac-sha256", "github", "none", ...
 * @property {unknown} [json] the parsed body (JSON or form), present only when the body parsed
 * @property {boolean} test true for a test run sent from an endpoint's examples, else false
 */

/** The bytes are not a hookbridge event envelope v1. */
export class EnvelopeError extends Error {
  name = 'EnvelopeError';
}

/** An envelope of another version (v missing or not 1). */
export class EnvelopeVersionError extends EnvelopeError {
  name = 'EnvelopeVersionError';
}

// Strings come out of @msgpack/msgpack as bytes (rawStrings) and are decoded here with TextDecoder: a string that is
// not UTF-8 (a query with %FF, a Latin-1 header value) then gets U+FFFD for each bad sequence, as `hookbridge decode`
// prints it (@msgpack/msgpack's own decoder garbles such a string when it is short). Map keys it still decodes itself.
const msgpack = new Decoder({ rawStrings: true });
const utf8 = new TextDecoder();

const isBytes = (x) => x instanceof Uint8Array;
const isInteger = (x) => Number.isSafeInteger(x);
const isMap = (x) => x !== null && typeof x === 'object' && !Array.isArray(x) && !isBytes(x);

/** A msgpack value with its strings (bytes, from rawStrings) decoded. The parsed body holds no msgpack bin. */
function text(x) {
  if (isBytes(x)) return utf8.decode(x);
  if (Array.isArray(x)) return x.map(text);
  if (isMap(x)) return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, text(v)]));
  return x;
}

// The keys every v1 envelope has, with their type checks (a string arrives as bytes); `json` and `test` are optional.
// `body` is msgpack bin; with rawStrings, a str would pass too.
const string = (x) => isBytes(x);
const REQUIRED = {
  v: isInteger,
  id: string,
  endpoint: string,
  source: string,
  triggers: (x) => Array.isArray(x) && x.every(isBytes),
  receivedAt: isInteger,
  method: string,
  path: string,
  url: string,
  query: (x) => isMap(x) && Object.values(x).every(isBytes),
  headers: (x) => isMap(x) && Object.values(x).every(isBytes),
  remoteAddr: string,
  contentType: string,
  body: isBytes,
  verified: string,
};

/**
 * Decodes one record value. Unknown keys are ignored; a missing field, a field of the wrong type or a version other
 * than 1 throws EnvelopeError.
 * @param {Uint8Array} data the record value (a Buffer is a Uint8Array)
 * @returns {Envelope}
 */
export function decodeEnvelope(data) {
  let m;
  try {
    m = msgpack.decode(data); // str and bin -> Uint8Array, map -> plain object (string keys)
  } catch (e) {
    // @msgpack/msgpack also refuses a map key "__proto__" anywhere in the value (its guard against prototype pollution)
    throw new EnvelopeError(`not one msgpack value: ${e.message}`, { cause: e });
  }
  if (!isMap(m)) {
    throw new EnvelopeError('an envelope is a msgpack map');
  }
  if (!Object.hasOwn(m, 'v')) {
    throw new EnvelopeVersionError('not a hookbridge event envelope v1: field v is missing');
  }
  if (m.v !== VERSION) {
    throw new EnvelopeVersionError(`not a hookbridge event envelope v1: v is ${JSON.stringify(text(m.v))}`);
  }
  /** @type {Record<string, unknown>} */
  const event = {};
  for (const [key, ok] of Object.entries(REQUIRED)) {
    if (!Object.hasOwn(m, key)) throw new EnvelopeError(`the envelope lacks field ${key}`);
    if (!ok(m[key])) throw new EnvelopeError(`envelope field ${key} has the wrong type`);
    event[key] = key === 'body' ? m.body : text(m[key]);
  }
  if (Object.hasOwn(m, 'json')) event.json = text(m.json);
  if (Object.hasOwn(m, 'test') && typeof m.test !== 'boolean') {
    throw new EnvelopeError('envelope field test has the wrong type');
  }
  event.test = m.test === true;
  return /** @type {Envelope} */ (event);
}
