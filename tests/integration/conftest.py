"""Fixtures and helpers for hookbridge's integration tests: the built binary against a real Kafka broker.

Environment:
  HOOKBRIDGE_BIN         the binary under test [build/hookbridge]
  KAFKA_BOOTSTRAP        the real broker started by tests/kafka/broker.sh [127.0.0.1:9092]
  HOOKBRIDGE_WRAPPER     a command line put before `hookbridge serve` (e.g. valgrind and its options, as
                         tests/valgrind.sh does); when it exits with HOOKBRIDGE_WRAPPER_ERROR_CODE [97] the test fails
  HOOKBRIDGE_TIME_SCALE  multiplies the harness's waits (ready, stop, wait_for, Bridge.post) [5 with a wrapper, else 1]

Every test gets its own topic template ("it.<test>.<random>.{id}"), so tests never see each other's events.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Iterator, Optional, Tuple

import msgpack
import pytest
import requests
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from stream import PrivateBroker, wait_idempotent_ready

ROOT = Path(__file__).resolve().parents[2]
# A wrapper (valgrind) runs the bridge some ten times slower: every wait of the harness grows with TIME_SCALE.
WRAPPER = shlex.split(os.environ.get("HOOKBRIDGE_WRAPPER", ""))
WRAPPER_ERROR_CODE = int(os.environ.get("HOOKBRIDGE_WRAPPER_ERROR_CODE", "97"))
TIME_SCALE = float(os.environ.get("HOOKBRIDGE_TIME_SCALE") or (5 if WRAPPER else 1))
READY_TIMEOUT_S = 20.0 * TIME_SCALE
STOP_TIMEOUT_S = 20.0 * TIME_SCALE
ENVELOPE_CONTENT_TYPE = "application/vnd.hookbridge.event.v1+msgpack"


# ---- small utilities ----


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now (the kernel's pick for port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> Any:
    """Polls predicate until it returns something truthy (returned) or the deadline passes (AssertionError). The
    deadline is timeout * TIME_SCALE: it bounds how long a test waits for something, never how fast it must be."""
    timeout *= TIME_SCALE
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.1f}s waiting for {what}")
        time.sleep(interval)


def parse_log_lines(text: str) -> list[dict[str, Any]]:
    """The bridge's JSON log lines (anything that is not a JSON object is skipped)."""
    lines = []
    for raw in text.splitlines():
        try:
            obj = json.loads(raw)
        except ValueError:
            continue
        if isinstance(obj, dict):
            lines.append(obj)
    return lines


def sign(secret: str, body: bytes, algorithm: str = "sha256", encoding: str = "hex", prefix: bool = False) -> str:
    """The signature header value a sender computes, done here in Python (never with `hookbridge sign`)."""
    digest = hmac.new(secret.encode(), body, getattr(hashlib, algorithm)).digest()
    if encoding == "hex":
        value = digest.hex()
    elif encoding == "base64":
        value = base64.b64encode(digest).decode()
    elif encoding == "base64url":
        value = base64.urlsafe_b64encode(digest).decode()
    else:
        raise ValueError(f"unknown encoding {encoding}")
    return f"{algorithm}={value}" if prefix else value


def run_hookbridge(args: list[str], stdin: bytes = b"", timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Runs a hookbridge subcommand to completion; stdout and stderr as bytes."""
    return subprocess.run([hookbridge_path(), *args], input=stdin, capture_output=True, timeout=timeout)


def hookbridge_path() -> str:
    path = Path(os.environ.get("HOOKBRIDGE_BIN", "build/hookbridge"))
    if not path.is_absolute():
        path = (Path.cwd() / path) if (Path.cwd() / path).exists() else ROOT / path
    if not path.is_file():
        pytest.exit(f"hookbridge binary not found at {path}: run ./dev build or set HOOKBRIDGE_BIN", returncode=2)
    return str(path)


def run_tail(bridge: "Bridge", kafka_bootstrap: str, endpoint_id: str, count: int = 1) -> list[dict[str, Any]]:
    """`hookbridge tail` on the bridge's config, reading count events of one endpoint from the beginning."""
    result = run_hookbridge(["tail", "-c", str(bridge.config_path), endpoint_id, "--brokers", kafka_bootstrap,
                             "--from-beginning", "-n", str(count), "--timeout", "30s"], timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


# ---- raw HTTP ----


RawResponse = Tuple[int, list[Tuple[str, str]], bytes]


def raw_exchange(sock: socket.socket, request: bytes) -> Optional[RawResponse]:
    """One request and its response on a raw HTTP/1.1 connection: (status, [(name, value)], body), or None when the
    server closed the connection instead of answering. Raw, so that every header line is seen as sent."""
    try:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = [(name.strip().lower(), value.strip()) for name, value in (line.split(":", 1) for line in lines[1:])]
        length = int(next(value for name, value in headers if name == "content-length"))
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk, "the connection closed in the middle of a body"
            body += chunk
        return int(lines[0].split()[1]), headers, body[:length]
    except (ConnectionResetError, BrokenPipeError):
        return None


# ---- Kafka ----


@dataclasses.dataclass
class Record:
    topic: str
    partition: int
    offset: int
    key: Optional[bytes]
    value: bytes  # the raw record value: the msgpack envelope
    headers: dict[str, bytes]
    timestamp_type: int
    timestamp: int  # ms

    @property
    def envelope(self) -> dict[str, Any]:
        """The value decoded with the msgpack package; `body` comes back as bytes."""
        return msgpack.unpackb(self.value, raw=False)


def _topic_partitions(consumer: Consumer, topic: str, deadline: float) -> list[int]:
    """The topic's partition ids once the broker knows the topic; [] if it does not exist by the deadline."""
    while True:
        md = consumer.list_topics(topic, timeout=max(0.5, min(5.0, deadline - time.monotonic())))
        t = md.topics.get(topic)
        if t is not None and t.error is None and t.partitions:
            return sorted(t.partitions)
        if time.monotonic() >= deadline:
            return []
        time.sleep(0.1)


def read_topic(bootstrap: str, topic: str, count: int, timeout: float = 30.0) -> list[Record]:
    """
    Every record of the topic, from the beginning to its end, once at least `count` are there (or when the deadline
    passes: the caller asserts on what came back). Reading to the end, not just to `count`, is what lets a caller
    see records that should not be there.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"it-{uuid.uuid4().hex}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "allow.auto.create.topics": False,
        }
    )
    deadline = time.monotonic() + timeout
    records: list[Record] = []
    try:
        partitions = _topic_partitions(consumer, topic, deadline)
        if not partitions:
            return records
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        at_end: set[int] = set()
        while time.monotonic() < deadline:
            if len(records) >= count and at_end == set(partitions):
                break
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(msg.partition())
                    continue
                raise AssertionError(f"consuming {topic}: {msg.error()}")
            at_end.discard(msg.partition())
            ts_type, ts = msg.timestamp()
            records.append(
                Record(
                    topic=msg.topic(),
                    partition=msg.partition(),
                    offset=msg.offset(),
                    key=msg.key(),
                    value=msg.value(),
                    headers={k: v for k, v in (msg.headers() or [])},
                    timestamp_type=ts_type,
                    timestamp=ts,
                )
            )
    finally:
        consumer.close()
    return records


def topic_exists(bootstrap: str, topic: str) -> bool:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4().hex}"})
    try:
        return topic in consumer.list_topics(timeout=10).topics
    finally:
        consumer.close()


# ---- the bridge ----


@dataclasses.dataclass
class Bridge:
    """One running `hookbridge serve`."""

    proc: subprocess.Popen
    config: dict[str, Any]
    config_path: Path
    stderr_path: Path
    port: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, endpoint_id: str, suffix: str = "") -> str:
        return f"{self.base_url}/webhooks/{endpoint_id}{suffix}"

    def topic(self, endpoint_id: str) -> str:
        return self.config["kafka"]["topic"].replace("{id}", endpoint_id)

    def endpoint(self, endpoint_id: str) -> dict[str, Any]:
        return next(ep for ep in self.config["endpoints"] if ep["id"] == endpoint_id)

    def signature_headers(self, endpoint_id: str, body: bytes) -> dict[str, str]:
        """The signature header the endpoint's `verify:` expects for body ({} for `verify: none`)."""
        verify = self.endpoint(endpoint_id)["verify"]
        if verify == "none":
            return {}
        value = sign(verify["secret"], body, verify.get("algorithm", "sha256"), verify.get("headerEncoding", "hex"))
        return {verify["headerName"]: value}

    def post(
        self,
        endpoint_id: str,
        body: bytes,
        headers: Optional[dict[str, str]] = None,
        signed: bool = True,
        suffix: str = "",
    ) -> requests.Response:
        """POSTs body to the endpoint (suffix: what follows /webhooks/ID, e.g. "?a=1"), signed unless told not to."""
        all_headers = {"Content-Type": "application/json"}
        if signed:
            all_headers.update(self.signature_headers(endpoint_id, body))
        all_headers.update(headers or {})
        return requests.post(self.url(endpoint_id, suffix), data=body, headers=all_headers, timeout=30 * TIME_SCALE)

    def stderr_text(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def log_lines(self) -> list[dict[str, Any]]:
        return parse_log_lines(self.stderr_text())

    def wait_ready(self) -> None:
        """Waits for the `hookbridge ready` log line and takes the port from the `listening` line."""

        def ready() -> bool:
            lines = self.log_lines()
            if any(line.get("msg") == "hookbridge ready" for line in lines):
                self.port = int(next(line["port"] for line in lines if line.get("msg") == "listening"))
                return True
            if self.proc.poll() is not None:
                raise AssertionError(f"hookbridge exited with {self.proc.returncode}:\n{self.stderr_text()}")
            return False

        wait_for(ready, READY_TIMEOUT_S, "the hookbridge ready log line")

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> Optional[int]:
        """SIGTERM, then SIGKILL after timeout. The exit code (negative: killed by that signal)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


def _topic_safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)[:80]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """The broker, ready for what the bridge does first: an idempotent producer needs the broker's transaction
    coordinator, which a freshly formatted broker loads some seconds after it starts answering."""
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
    if wait_idempotent_ready(bootstrap):
        return bootstrap
    pytest.exit(f"the Kafka broker at {bootstrap} does not take an idempotent producer's records", returncode=2)


@pytest.fixture
def private_broker(tmp_path: Path) -> Iterator[PrivateBroker]:
    """A started broker of the test's own (its own ports and data dir under tmp_path), ready for an idempotent
    producer: the test may stop and restart it; the shared one is never touched. Stopped and wiped at teardown."""
    port = free_port()
    controller_port = free_port()
    while controller_port == port:
        controller_port = free_port()
    broker = PrivateBroker(tmp_path / "kafka", port, controller_port)
    try:
        broker.start()
        if not wait_idempotent_ready(broker.bootstrap):
            pytest.fail(f"the private broker at {broker.bootstrap} does not take an idempotent producer's records")
        yield broker
    finally:
        broker.reset()


_TALLIES: list[str] = []


@pytest.fixture
def report_line(request: pytest.FixtureRequest, record_property: Callable[[str, Any], None]) -> Callable[[str], None]:
    """report_line(text): a result worth reading even when the test passes (a fault test's sent / acknowledged /
    found / duplicates). Printed (pytest -s), kept as a junit property, and repeated in the terminal summary, which
    -q shows too."""

    def report(text: str) -> None:
        print(f"\n{text}")
        record_property("tally", text)
        _TALLIES.append(f"{request.node.nodeid}: {text}")

    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _TALLIES:
        terminalreporter.section("counted streams")
        for line in _TALLIES:
            terminalreporter.write_line(line)


@pytest.fixture(scope="session")
def hookbridge_bin() -> str:
    return hookbridge_path()


@pytest.fixture
def topic_template(request: pytest.FixtureRequest) -> str:
    """A kafka.topic template no other test (or run) uses."""
    return f"it.{_topic_safe(request.node.name)}.{secrets.token_hex(4)}.{{id}}"


@pytest.fixture
def start_bridge(
    request: pytest.FixtureRequest, tmp_path: Path, kafka_bootstrap: str, hookbridge_bin: str, topic_template: str
) -> Iterator[Callable[..., Bridge]]:
    """
    Factory: start_bridge(endpoints, server={...}, kafka={...}, admin={...}, log={...}) writes the config (JSON, which is YAML) into tmp_path,
    starts `hookbridge serve -c FILE` listening on 127.0.0.1 with a port the kernel picks, and waits until it serves.
    Stopped with SIGTERM at teardown; its stderr is printed when the test failed.
    """
    started: list[Bridge] = []

    def start(endpoints: list[dict[str, Any]], server: Optional[dict] = None, kafka: Optional[dict] = None,
              admin: Optional[dict] = None, log: Optional[dict] = None, top: Optional[dict] = None) -> Bridge:
        name = f"hookbridge{len(started)}"
        config = {
            "server": {"listen": ["127.0.0.1:0"], "threads": 2, "drainDelay": "0s", **(server or {})},
            "kafka": {"brokers": kafka_bootstrap, "topic": topic_template, **(kafka or {})},
            "endpoints": endpoints,
        }
        if admin is not None:
            config["admin"] = admin
        if log is not None:
            config["log"] = log
        config.update(top or {})  # any other top-level keys
        config_path = tmp_path / f"{name}.yaml"
        config_path.write_text(json.dumps(config, indent=2) + "\n")
        stderr_path = tmp_path / f"{name}.stderr"
        with open(stderr_path, "wb") as err:
            # HB_TEST_NAME names the process for a wrapper's log (valgrind's --log-file=...%q{HB_TEST_NAME}...)
            env = {**os.environ, "HB_TEST_NAME": f"{_topic_safe(request.node.name)}.{name}"}
            proc = subprocess.Popen(
                [*WRAPPER, hookbridge_bin, "serve", "-c", str(config_path)], stdin=subprocess.DEVNULL, stdout=err,
                stderr=err, env=env
            )
        bridge = Bridge(proc=proc, config=config, config_path=config_path, stderr_path=stderr_path)
        started.append(bridge)
        bridge.wait_ready()
        return bridge

    yield start

    reports = [getattr(request.node, f"report_{when}", None) for when in ("setup", "call")]
    failed = any(report is not None and report.failed for report in reports)
    wrapper_failed = []
    for bridge in started:
        code = bridge.stop()
        if WRAPPER and code == WRAPPER_ERROR_CODE:
            wrapper_failed.append(bridge.config_path.name)
        if failed or bridge.config_path.name in wrapper_failed:
            print(f"\n===== {bridge.config_path.name} (exit {code}) stderr =====\n{bridge.stderr_text()}")
    if wrapper_failed:
        pytest.fail(f"{WRAPPER[0]} reported errors (exit {WRAPPER_ERROR_CODE}) for {', '.join(wrapper_failed)}: "
                    f"see its log for {_topic_safe(request.node.name)}")


def assert_nothing_published(bridge: Bridge, bootstrap: str, endpoint_id: str, body: Optional[bytes] = None) -> None:
    """
    Proves that the requests rejected before did not land in the endpoint's topic: publishes a valid, signed sentinel
    through the bridge and checks that it is the topic's ONLY record (the topic is read to its end).
    """
    if body is None:
        body = json.dumps({"sentinel": uuid.uuid4().hex}).encode()
    resp = bridge.post(endpoint_id, body)
    assert resp.status_code == 200, resp.text
    records = read_topic(bootstrap, bridge.topic(endpoint_id), 1)
    assert [(r.envelope["id"], r.envelope["body"]) for r in records] == [(resp.json()["id"], body)]
