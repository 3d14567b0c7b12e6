"""The consumer examples (examples/consumers/) against the real broker: a signed webhook goes through the bridge, the
example reads it with a consumer group, prints its line and commits the offset.

Python runs the example with this interpreter (confluent-kafka and msgpack are in tests/requirements.txt); Go builds
examples/consumers/go once per session (`go build`, cached by Go; skipped when there is no Go toolchain).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Callable

import pytest
from confluent_kafka import Consumer, TopicPartition

from conftest import ROOT, read_topic

SECRET = "it-consumers-5d1e"
CONSUMERS = ROOT / "examples" / "consumers"
RUN_TIMEOUT_S = 90  # the consumer's own --timeout is 60 s


def hmac_verify() -> dict[str, str]:
    return {"headerName": "X-Sig", "secret": SECRET, "algorithm": "sha256", "headerEncoding": "hex"}


def go_tool() -> str | None:
    found = shutil.which("go")
    if found:
        return found
    return "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None


@pytest.fixture(scope="session")
def go_consumer(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    go = go_tool()
    if go is None:
        pytest.skip("no Go toolchain for examples/consumers/go")
    binary = tmp_path_factory.mktemp("go-consumer") / "consumer"
    result = subprocess.run([go, "build", "-o", str(binary), "."], cwd=CONSUMERS / "go", capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, f"go build failed:\n{result.stderr}"
    return [str(binary)]


@pytest.fixture(params=["python", "go"])
def consumer_command(request: pytest.FixtureRequest) -> list[str]:
    """The command line that runs one language's example (before its options)."""
    if request.param == "python":
        return [sys.executable, str(CONSUMERS / "python" / "consumer.py")]
    return request.getfixturevalue("go_consumer")


def run_consumer(command: list[str], bootstrap: str, group: str, topics: list[str], max_events: int) -> list[dict]:
    """Runs the example until it handled max_events; its printed lines as {key: value}."""
    args = [*command, "--brokers", bootstrap, "--group", group, "--from-beginning", "--max-events", str(max_events),
            "--timeout", "60"]
    for topic in topics:
        args += ["--topic", topic]
    result = subprocess.run(args, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, cwd=ROOT)
    assert result.returncode == 0, f"{args} exited {result.returncode}:\n{result.stderr}"
    lines = [dict(field.split("=", 1) for field in line.split()) for line in result.stdout.splitlines()]
    assert len(lines) == max_events, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    return lines


def committed(bootstrap: str, group: str, topic: str) -> list[int]:
    """The group's committed offset of each partition of the topic."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        return [tp.offset for tp in consumer.committed([TopicPartition(topic, p) for p in sorted(partitions)],
                                                       timeout=10)]
    finally:
        consumer.close()


def test_consumer_prints_the_signed_event_and_commits(start_bridge: Callable, kafka_bootstrap: str,
                                                      consumer_command: list[str]):
    bridge = start_bridge([{"id": "orders", "source": "shop", "verify": hmac_verify(), "triggers": [
        {"name": "paid", "filter": {"body": {"type": ["order.paid"]}}}]}])
    body = json.dumps({"type": "order.paid", "order": {"id": 1234, "total": 99.5, "note": "Grüße"}}).encode()
    resp = bridge.post("orders", body, suffix="?attempt=1")
    assert resp.status_code == 200, resp.text
    event_id = resp.json()["id"]
    topic = bridge.topic("orders")
    assert len(read_topic(kafka_bootstrap, topic, 1)) == 1  # published before the example starts

    group = f"it-consumer-{uuid.uuid4().hex}"
    [line] = run_consumer(consumer_command, kafka_bootstrap, group, [topic], 1)
    assert line["id"] == event_id
    assert line["endpoint"] == "orders"
    assert line["triggers"] == "paid"
    assert line["body_bytes"] == str(len(body))
    assert line["test"] == "false"
    assert line["topic"] == topic and line["offset"] == "0"
    # committed after handling: the group resumes after the event
    assert committed(kafka_bootstrap, group, topic) == [1]


def test_consumer_follows_a_topic_regex(start_bridge: Callable, kafka_bootstrap: str, topic_template: str,
                                        consumer_command: list[str]):
    bridge = start_bridge([{"id": "alpha", "verify": hmac_verify()}, {"id": "beta", "verify": "none"}])
    sent = {}
    for endpoint, body in (("alpha", b'{"n":1}'), ("beta", b"\x00\xffnot json")):
        resp = bridge.post(endpoint, body, headers={"Content-Type": "application/octet-stream"})
        assert resp.status_code == 200, resp.text
        sent[resp.json()["id"]] = (endpoint, len(body))
        assert len(read_topic(kafka_bootstrap, bridge.topic(endpoint), 1)) == 1

    # every endpoint of this bridge; the template has only [A-Za-z0-9._-], of which only "." needs a backslash
    pattern = "^" + topic_template.split("{id}")[0].replace(".", "\\.") + ".*"
    lines = run_consumer(consumer_command, kafka_bootstrap, f"it-consumer-{uuid.uuid4().hex}", [pattern], 2)
    assert {line["id"]: (line["endpoint"], int(line["body_bytes"])) for line in lines} == sent
