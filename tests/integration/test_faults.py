"""Faults: the broker going away, and the bridge being stopped with requests in flight."""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Optional

import requests

from conftest import ROOT, free_port, raw_exchange, read_topic, sign, wait_for

SECRET = "it-faults-secret"
VERIFY = {"headerName": "X-Sig", "secret": SECRET, "algorithm": "sha256", "headerEncoding": "hex"}
BROKER_SH = ROOT / "tests" / "kafka" / "broker.sh"


def broker_sh(command: str, env: dict[str, str], timeout: float = 240) -> str:
    """Runs tests/kafka/broker.sh COMMAND for the instance env describes; its stdout."""
    result = subprocess.run(["bash", str(BROKER_SH), command], env=env, capture_output=True, text=True,
                            timeout=timeout)
    assert result.returncode == 0, f"broker.sh {command} exited {result.returncode}:\n{result.stderr}"
    return result.stdout


def extra_broker_env(data_dir: Path) -> dict[str, str]:
    """The environment for a second broker instance: its own ports and data dir, so the shared one is never touched."""
    port = free_port()
    controller_port = free_port()
    while controller_port == port:
        controller_port = free_port()
    return {**os.environ, "KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(controller_port),
            "KAFKA_DATA": str(data_dir)}


def test_broker_down_gets_503_within_delivery_timeout(start_bridge, tmp_path):
    env = extra_broker_env(tmp_path / "kafka-down")
    try:
        bootstrap = broker_sh("start", env).strip().splitlines()[-1]
        assert bootstrap == f"127.0.0.1:{env['KAFKA_PORT']}"
        bridge = start_bridge([{"id": "down", "verify": VERIFY}], kafka={"brokers": bootstrap, "deliveryTimeout": "3s"})

        # a freshly formatted broker may still be loading its coordinator: the first event gets a few tries
        first_body = b'{"before":"stop"}'
        first = wait_for(lambda: (r := bridge.post("down", first_body)).status_code == 200 and r, 60,
                         "a first event accepted by the fresh broker")
        records = read_topic(bootstrap, bridge.topic("down"), 1)
        assert first.json()["id"] in [r.envelope["id"] for r in records]

        broker_sh("stop", env)
        body = b'{"after":"stop"}'
        started = time.monotonic()
        resp = bridge.post("down", body)
        elapsed = time.monotonic() - started

        assert resp.status_code == 503, resp.text
        assert elapsed <= 3 + 2, f"answered after {elapsed:.1f}s"
        assert resp.headers.get("Retry-After", "").isdigit(), resp.headers
        assert resp.headers["content-type"] == "application/json"
        answer = resp.json()
        assert isinstance(answer.get("error"), str) and isinstance(answer.get("reason"), str), answer
        not_published = [line for line in bridge.log_lines()
                         if line.get("msg") == "request" and line.get("outcome") == "unavailable"]
        assert [(line.get("endpoint"), line.get("status"), line.get("level")) for line in not_published] == [
            ("down", "503", "warn")], bridge.stderr_text()
        assert not_published[0]["reason"].startswith("_") and float(not_published[0]["latency_ms"]) > 0
    finally:
        broker_sh("reset", env)


@dataclasses.dataclass
class Answer:
    status: Optional[int] = None  # None: the connection failed
    event_id: Optional[str] = None
    error: str = ""


def send_one(port: int, body: bytes, start: threading.Barrier, answers: list[Answer], i: int,
             answered: threading.Semaphore) -> None:
    """One sender: connects, waits for the others, posts the signed body, records what came back."""
    answer = Answer()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.connect()
        start.wait(timeout=30)
        conn.request("POST", "/webhooks/drain", body=body,
                     headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})
        resp = conn.getresponse()
        raw = resp.read()
        answer.status = resp.status
        if resp.status == 200:
            answer.event_id = json.loads(raw)["id"]
    except (OSError, http.client.HTTPException, threading.BrokenBarrierError) as exc:
        answer.error = f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
        answers[i] = answer
        answered.release()


def test_sigterm_with_requests_in_flight_loses_no_acknowledged_event(start_bridge, kafka_bootstrap):
    shutdown_timeout_s = 10
    bridge = start_bridge([{"id": "drain", "verify": VERIFY}], server={"shutdownTimeout": f"{shutdown_timeout_s}s"})
    # the topic exists and the producer has its connection before the storm
    warm = bridge.post("drain", b'{"warm":true}')
    assert warm.status_code == 200, warm.text

    n = 50
    run = uuid.uuid4().hex
    answers: list[Answer] = [Answer(error="never answered")] * n
    start = threading.Barrier(n + 1)
    answered = threading.Semaphore(0)
    threads = [
        threading.Thread(target=send_one, args=(bridge.port, json.dumps({"run": run, "i": i}).encode(), start,
                                                answers, i, answered))
        for i in range(n)
    ]
    for t in threads:
        t.start()
    start.wait(timeout=30)
    # SIGTERM as soon as the first answer is back: the others are in flight
    assert answered.acquire(timeout=30), "no answer at all"
    bridge.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    try:
        code = bridge.proc.wait(timeout=shutdown_timeout_s + 2)
    except subprocess.TimeoutExpired:
        code = None
    exit_s = time.monotonic() - signalled
    for t in threads:
        t.join(timeout=60)
    assert code == 0 and exit_s < shutdown_timeout_s + 1, f"exit code {code} after {exit_s:.1f}s"

    acknowledged = {a.event_id for a in answers if a.status is not None and 200 <= a.status < 300}
    assert all(a.status in (None, 200, 503) for a in answers), [a for a in answers if a.status not in (None, 200, 503)]
    records = read_topic(kafka_bootstrap, bridge.topic("drain"), len(acknowledged) + 1, timeout=30)
    in_kafka = {r.envelope["id"] for r in records if json.loads(r.envelope["body"]).get("run") == run}
    missing = acknowledged - in_kafka
    statuses = {str(s): sum(1 for a in answers if a.status == s) for s in {a.status for a in answers}}
    print(f"\nsent {n} / acknowledged {len(acknowledged)} / found {len(in_kafka & acknowledged)}"
          f" (in Kafka {len(in_kafka)}; answers {statuses}; exit {code} after {exit_s:.2f}s)")
    assert not missing, f"answered 2xx but not in Kafka: {sorted(missing)}"


def test_draining_answers_503_and_closes_the_connection(start_bridge):
    bridge = start_bridge([{"id": "drain", "verify": "none"}], server={"threads": 1})
    request = (b"POST /webhooks/drain HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
               b"Content-Length: 2\r\n\r\n{}")
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=10) as sock:
        answer = raw_exchange(sock, request)
        assert answer is not None and answer[0] == 200, answer
        bridge.proc.send_signal(signal.SIGTERM)
        # request after request on the open keep-alive connection, until the worker has begun to drain
        deadline = time.monotonic() + 10
        while answer is not None and answer[0] == 200 and time.monotonic() < deadline:
            answer = raw_exchange(sock, request)
        assert answer is not None, "the connection was closed without a 503"
        status, headers, body = answer
        assert status == 503, answer
        assert dict(headers)["content-type"] == "application/json"
        assert json.loads(body)["reason"] == "shutting down"
        connection = [value.lower() for name, value in headers if name == "connection"]
        assert connection == ["close"], f"Connection headers of the draining 503: {connection}"
        assert raw_exchange(sock, request) is None, "the server answered again on a connection it said it closes"
    assert bridge.proc.wait(timeout=20) == 0


def test_sigterm_waits_for_a_report_that_comes_seconds_later(start_bridge):
    """A request whose record waits for Kafka when SIGTERM comes is answered (here 503, the broker being
    unreachable) before the bridge exits: drain waits for every in-flight report, up to shutdownTimeout."""
    delivery_timeout_s = 3
    bridge = start_bridge([{"id": "late", "verify": VERIFY}],
                          kafka={"brokers": f"127.0.0.1:{free_port()}", "deliveryTimeout": f"{delivery_timeout_s}s"},
                          server={"shutdownTimeout": "15s"})
    body = b'{"late":true}'
    answer: list = []

    def send() -> None:
        try:
            answer.append(requests.post(bridge.url("late"), data=body, timeout=30,
                                        headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)}))
        except requests.RequestException as exc:
            answer.append(exc)

    sender = threading.Thread(target=send)
    sender.start()
    time.sleep(0.5)  # the record is queued in librdkafka: its report is some 2.5 s away
    bridge.proc.send_signal(signal.SIGTERM)
    signalled = time.monotonic()
    code = bridge.proc.wait(timeout=30)
    exit_s = time.monotonic() - signalled
    sender.join(timeout=30)

    assert answer and isinstance(answer[0], requests.Response), f"no answer before the bridge exited: {answer}"
    assert answer[0].status_code == 503, answer[0].text
    assert code == 0, bridge.stderr_text()
    assert exit_s >= delivery_timeout_s - 0.5 - 0.1, f"exited {exit_s:.2f}s after SIGTERM, before the report"
