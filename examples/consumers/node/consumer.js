// Reads hookbridge events from Kafka with a consumer group, decodes each envelope and prints one line per event; a
// record's offset is committed only after it was handled.
//
//   node consumer.js --brokers 127.0.0.1:9092 --group billing --topic '^webhooks\..*'

import { parseArgs } from 'node:util';

import { Kafka, logLevel } from 'kafkajs';

import { decodeEnvelope, EnvelopeError } from './envelope.js';

const { values: args } = parseArgs({
  options: {
    brokers: { type: 'string', default: process.env.KAFKA_BOOTSTRAP ?? '127.0.0.1:9092' },
    group: { type: 'string', default: 'hookbridge-example-node' },
    // a topic, or a regex starting with ^ such as '^webhooks\..*' (repeatable); kafkajs matches a regex against the
    // topics that exist when it subscribes
    topic: { type: 'string', multiple: true, default: ['^webhooks\\..*'] },
    'from-beginning': { type: 'boolean', default: false }, // a group without offsets starts at the oldest record
    'max-events': { type: 'string', default: '0' }, // stop after this many events (0: no limit)
    timeout: { type: 'string', default: '0' }, // stop after this many seconds (0: no limit)
  },
});
const maxEvents = Number(args['max-events']);

/**
 * Where an application does its work with the event. A record that is not a v1 envelope is reported and skipped (its
 * offset is committed like any other); a real consumer might send it to a dead-letter topic instead.
 * @param {{ topic: string, partition: number, message: import('kafkajs').KafkaMessage }} record
 */
function handle({ topic, partition, message }) {
  let event;
  try {
    event = decodeEnvelope(message.value);
  } catch (e) {
    if (!(e instanceof EnvelopeError)) throw e;
    console.error(`skipping ${topic}[${partition}]@${message.offset}: ${e.message}`);
    return;
  }
  console.log(`id=${event.id} endpoint=${event.endpoint} triggers=${event.triggers.join(',')} ` +
    `body_bytes=${event.body.length} test=${event.test} topic=${topic} partition=${partition} offset=${message.offset}`);
}

const kafka = new Kafka({
  clientId: 'hookbridge-example-node',
  brokers: args.brokers.split(','),
  logLevel: logLevel.WARN, // kafkajs logs to the console; WARN and ERROR go to stderr
});
const consumer = kafka.consumer({ groupId: args.group });

let stop;
const stopped = new Promise((resolve) => { stop = resolve; });
process.once('SIGINT', () => stop());
process.once('SIGTERM', () => stop());
if (Number(args.timeout) > 0) setTimeout(() => stop(), Number(args.timeout) * 1000).unref();
consumer.on(consumer.events.CRASH, ({ payload }) => {
  if (!payload.restart) { process.exitCode = 1; stop(); } // kafkajs gave up
});

let handled = 0;
await consumer.connect();
try {
  await consumer.subscribe({
    topics: args.topic.map((t) => (t.startsWith('^') ? new RegExp(t) : t)),
    fromBeginning: args['from-beginning'],
  });
  await consumer.run({
    autoCommit: false, // commit ourselves, after handling
    eachMessage: async (record) => {
      if (maxEvents > 0 && handled >= maxEvents) return; // stopping: leave the rest uncommitted
      handle(record);
      await consumer.commitOffsets([{
        topic: record.topic,
        partition: record.partition,
        offset: (BigInt(record.message.offset) + 1n).toString(), // the next offset to read
      }]);
      handled++;
      if (maxEvents > 0 && handled >= maxEvents) stop();
    },
  });
  await stopped;
} finally {
  await consumer.disconnect(); // leaves the group
}
