"""Reads hookbridge events from Kafka with a consumer group, decodes each envelope and prints one line per event;
a record's offset is committed only after it was handled.

    python consumer.py --brokers 127.0.0.1:9092 --group billing --topic '^webhooks\\..*'
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

from confluent_kafka import Consumer, KafkaException, Message

from hookbridge_envelope import EnvelopeError, decode


def handle(msg: Message) -> None:
    """Where an application does its work with the event. A record that is not a v1 envelope is reported and skipped
    (its offset is committed like any other); a real consumer might send it to a dead-letter topic instead."""
    try:
        event = decode(msg.value())
    except EnvelopeError as e:
        print(f"skipping {msg.topic()}[{msg.partition()}]@{msg.offset()}: {e}", file=sys.stderr, flush=True)
        return
    print(
        f"id={event.id} endpoint={event.endpoint} triggers={','.join(event.triggers)} body_bytes={len(event.body)}"
        f" test={str(event.test).lower()} topic={msg.topic()} partition={msg.partition()} offset={msg.offset()}",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", default=os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"))
    parser.add_argument("--group", default="hookbridge-example-python", help="consumer group")
    parser.add_argument("--topic", action="append", dest="topics",
                        help=r"topic, or a regex starting with ^ such as '^webhooks\..*' (repeatable)")
    parser.add_argument("--from-beginning", action="store_true",
                        help="a group without committed offsets starts at the oldest record (default: the newest)")
    parser.add_argument("--max-events", type=int, default=0, help="stop after this many events (0: no limit)")
    parser.add_argument("--timeout", type=float, default=0, help="stop after this many seconds (0: no limit)")
    args = parser.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.brokers,
        "group.id": args.group,
        "enable.auto.commit": False,  # commit ourselves, after handling
        "auto.offset.reset": "earliest" if args.from_beginning else "latest",
        "topic.metadata.refresh.interval.ms": 10000,  # a regex subscription sees new topics within 10 s
    })
    consumer.subscribe(args.topics or [r"^webhooks\..*"])  # confluent-kafka: a name starting with ^ is a regex

    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    deadline = time.monotonic() + args.timeout if args.timeout else None
    handled = 0
    try:
        while not stopping and (not args.max_events or handled < args.max_events):
            if deadline is not None and time.monotonic() >= deadline:
                break
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                if msg.error().fatal():
                    raise KafkaException(msg.error())
                print(f"kafka: {msg.error()}", file=sys.stderr, flush=True)
                continue
            handle(msg)
            consumer.commit(message=msg, asynchronous=False)  # commits msg.offset() + 1
            handled += 1
    finally:
        consumer.close()  # leaves the group
    return 0


if __name__ == "__main__":
    sys.exit(main())
