"""Bad input and abuse: a clear answer, the process unharmed, other clients served (issue 8, part 3)."""

from __future__ import annotations

import json
import os
import socket
import subprocess

import pytest
import requests

from conftest import hookbridge_path, raw_exchange, read_topic, run_hookbridge, sign

SECRET = "it-abuse-secret"
VERIFY = {"headerName": "X-Sig", "secret": SECRET}


def exchange(bridge, raw: bytes, timeout: float = 15):
    """One raw request on a fresh connection: (status, headers, body), or None when the bridge closed it."""
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=timeout) as sock:
        return raw_exchange(sock, raw)


def still_serving(bridge, kafka_bootstrap) -> None:
    body = b'{"still":"here"}'
    resp = requests.post(bridge.url("abuse"), data=body, timeout=30,
                         headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})
    assert resp.status_code == 200, resp.text
    assert bridge.proc.poll() is None


def test_malformed_requests_get_an_answer_or_a_close_and_nothing_breaks(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "abuse", "verify": VERIFY, "maxBodySize": "64KiB"}],
                          server={"maxBodySize": "64KiB"})
    cases = {
        "garbage request line": b"HELLO\r\n\r\n",
        "no HTTP version": b"POST /webhooks/abuse\r\n\r\n",
        "bad header line": b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        "bad content-length": b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "unknown transfer-encoding": b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "bad chunk size": b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    }
    for name, raw in cases.items():
        answer = exchange(bridge, raw)
        assert answer is None or 400 <= answer[0] < 500, (name, answer)
        still_serving(bridge, kafka_bootstrap)


def test_oversized_headers_and_bodies(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "abuse", "verify": VERIFY, "maxBodySize": "64KiB"}],
                          server={"maxBodySize": "64KiB"})
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(1000))
    answer = exchange(bridge, b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\n" + many + b"Content-Length: 0\r\n\r\n")
    assert answer is None or answer[0] in (400, 401, 431), answer  # refused or unsigned: never published
    huge = b"X-Big: " + b"a" * (1 << 20) + b"\r\n"
    answer = exchange(bridge, b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\n" + huge + b"Content-Length: 0\r\n\r\n")
    assert answer is None or 400 <= answer[0] < 500, answer
    # a chunked body past the limit: 413 before it is all read (the rest is never sent here)
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=15) as sock:
        sock.sendall(b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (32768, b"x" * 32768)
        for _ in range(3):  # 96 KiB > 64 KiB, and no terminating chunk
            sock.sendall(chunk)
        data = b""
        while b"\r\n\r\n" not in data:
            got = sock.recv(65536)
            if not got:
                break
            data += got
        assert data.startswith(b"HTTP/1.1 413"), data[:100]
    still_serving(bridge, kafka_bootstrap)


def test_hostile_bodies_and_paths(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "abuse", "verify": VERIFY,
                            "triggers": [{"name": "k", "filter": {"body": {"k": ["v"]}}}]}])

    def post(body: bytes, path: str = "/webhooks/abuse") -> requests.Response:
        return requests.post(f"{bridge.base_url}{path}", data=body, timeout=30,
                             headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})

    # bodies that do not parse (or too deep) make body filters not match: 200, not published, the bridge fine
    for body in (b"\xff\xfe{\"k\":\"v\"}", b"[" * 10000 + b"]" * 10000):
        resp = post(body)
        assert resp.status_code == 200 and resp.json() == {"ok": True, "published": False}, (body[:20], resp.text)
    # 1e400 is Infinity, as JSON.parse reads it: the body parses and is published
    infinite = post(b'{"k":"v","n":1e400}').json()["id"]
    # duplicate keys: the last one wins, as JSON.parse
    assert post(b'{"k":"x","k":"v"}').json()["ok"] is True and "id" in post(b'{"k":"v","k":"v"}').json()
    # a path that tries to climb out is normalised: no endpoint "..", no file served
    for path in ("/webhooks/../etc/passwd", "/webhooks/%2e%2e/abuse", "/../webhooks/abuse/../../x"):
        resp = post(b'{"k":"v"}', path)
        assert resp.status_code in (200, 404), (path, resp.status_code)
        assert b"root:" not in resp.content
    records = read_topic(kafka_bootstrap, bridge.topic("abuse"), 3)
    assert all(r.envelope["json"]["k"] == "v" for r in records)
    assert [r.envelope["json"]["n"] for r in records if r.envelope["id"] == infinite] == [float("inf")]
    still_serving(bridge, kafka_bootstrap)


# ---- a configuration that tries to inject librdkafka properties (issue 8 §3, last bullet) ----
#
# Ids and topic names never reach librdkafka as property text (rd_kafka_conf_set() takes one name and one value;
# topics are handles), but a name with "=" "," a newline or a space would at least be a topic nobody can consume:
# they are refused, also when they come from ${VAR} or a HOOKBRIDGE_* variable. kafka.producer refuses the
# properties that carry the delivery guarantee, in every spelling librdkafka takes.


def check_config(tmp_path, config: dict, env: dict[str, str] | None = None) -> tuple[int, str]:
    path = tmp_path / "inject.yaml"
    path.write_text(json.dumps(config) + "\n")
    result = subprocess.run([hookbridge_path(), "check", "-c", str(path)], capture_output=True, text=True,
                            timeout=60, env={**os.environ, **(env or {})})
    return result.returncode, result.stderr


def inject_config(endpoint_id: str = "a", topic: str = "hooks.{id}", producer: dict | None = None,
                  trigger_topic: str | None = None) -> dict:
    endpoint: dict = {"id": endpoint_id, "verify": "none"}
    if trigger_topic is not None:
        endpoint["triggers"] = [{"name": "t", "topic": trigger_topic}]
    return {"kafka": {"brokers": "127.0.0.1:9", "topic": topic, "producer": producer or {}}, "endpoints": [endpoint]}


INJECTIONS = [
    # (label, config, environment, what the error says)
    ("id with =", inject_config("a=b"), {}, 'endpoint id "a=b" may only use'),
    ("id with a property list", inject_config("a,bootstrap.servers=evil:9092"), {},
     'endpoint id "a,bootstrap.servers=evil:9092" may only use'),
    ("id with a newline", inject_config("a\nacks=0"), {}, 'endpoint id "a\nacks=0" may only use'),
    ("id with a space", inject_config("a acks=0"), {}, 'endpoint id "a acks=0" may only use'),
    ("id from ${VAR}", inject_config("${HB_INJECT}"), {"HB_INJECT": "x,acks=0"}, 'endpoint id "x,acks=0" may only'),
    ("topic template with ,", inject_config(topic="hooks.{id},acks=0"), {},
     'kafka.topic gives "hooks.a,acks=0" for endpoint "a", which is not a valid Kafka topic name'),
    ("topic template with a newline", inject_config(topic="hooks.{id}\nenable.idempotence=false"), {},
     'kafka.topic gives "hooks.a\nenable.idempotence=false"'),
    ("topic template from ${VAR}", inject_config(topic="${HB_INJECT}.{id}"), {"HB_INJECT": "x=y"},
     'kafka.topic gives "x=y.a"'),
    ("topic from HOOKBRIDGE_KAFKA_TOPIC", inject_config(), {"HOOKBRIDGE_KAFKA_TOPIC": "t.{id} acks=0"},
     'kafka.topic gives "t.a acks=0"'),
    ("trigger topic with =", inject_config(trigger_topic="t=1"), {}, 'trigger topic "t=1" is not a valid Kafka topic'),
    ("trigger topic with a space", inject_config(trigger_topic="{id} acks=0"), {},
     'trigger topic "a acks=0" is not a valid Kafka topic'),
    *[(f"kafka.producer {key}", inject_config(producer={key: value}), {}, f'kafka.producer: "{key}" is set by hookbridge')
      for key, value in [("enable.idempotence", "false"), ("acks", "0"), ("request.required.acks", "1"),
                         ("message.timeout.ms", "600000"), ("delivery.timeout.ms", "600000"),
                         ("bootstrap.servers", "evil:9092"), ("metadata.broker.list", "evil:9092"),
                         # librdkafka hands an unknown global name to the topic configuration, minus "topic."
                         ("topic.acks", "0"), ("topic.request.required.acks", "1"),
                         ("topic.message.timeout.ms", "600000"), ("topic.delivery.timeout.ms", "600000"),
                         ("transactional.id", "hookbridge")]],
    ("kafka.producer Acks", inject_config(producer={"Acks": "0"}), {}, 'No such configuration property: "Acks"'),
    ("kafka.producer 'acks '", inject_config(producer={"acks ": "0"}), {}, 'No such configuration property: "acks "'),
]


@pytest.mark.parametrize("label, config, env, message", INJECTIONS, ids=[case[0] for case in INJECTIONS])
def test_config_injection_is_refused_by_check(tmp_path, label, config, env, message):
    code, stderr = check_config(tmp_path, config, env)
    assert code == 2, f"{label}: check exited {code}:\n{stderr}"
    assert message in stderr, f"{label}: expected {message!r} in:\n{stderr}"
    assert stderr.startswith(f"{tmp_path / 'inject.yaml'}:"), f"{label}: the error names the file:\n{stderr}"


def test_a_global_property_named_topic_dot_is_still_allowed(tmp_path):
    """Refusing "topic.acks" must not refuse librdkafka's global properties whose names begin with "topic."."""
    code, stderr = check_config(tmp_path, inject_config(producer={"topic.metadata.refresh.interval.ms": "60000",
                                                                  "client.id": "x,acks=0"}))
    assert code == 0, stderr


@pytest.mark.parametrize("key, value", [("retries", "0"), ("message.send.max.retries", "0"),
                                        ("queuing.strategy", "lifo"), ("topic.queuing.strategy", "lifo"),
                                        ("max.in.flight.requests.per.connection", "6")])
def test_producer_settings_that_break_idempotence_never_serve(tmp_path, key, value):
    """librdkafka itself refuses these next to enable.idempotence, when the producer is created: `check` passes
    them, `serve` stops before it listens, with librdkafka's reason. Never a producer without idempotence."""
    path = tmp_path / "idem.yaml"
    path.write_text(json.dumps(inject_config(producer={key: value})) + "\n")
    result = run_hookbridge(["serve", "-c", str(path)], timeout=30)
    stderr = result.stderr.decode()
    assert result.returncode != 0, stderr
    assert "cannot start the Kafka producer" in stderr and "enable.idempotence" in stderr, stderr
    assert '"msg":"listening"' not in stderr, stderr
