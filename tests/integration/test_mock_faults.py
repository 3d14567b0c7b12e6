"""Kafka faults injected with librdkafka's mock cluster (issue 8 §2): produce errors, a slow broker, a broker down.

The bridge runs against build/mockkafka (tests/tools/mockkafka.c: the mock cluster in a process of its own, driven
over stdin), never instead of the real broker in the end-to-end tests. DESIGN §1: all ok → 2xx, any failure or
timeout → 503 + Retry-After; never a 2xx without a delivery report. Each test reads the mock's topic to its end
afterwards: every request answered 2xx is there, and records refused by the broker are not.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Optional

import pytest

from conftest import hookbridge_path, wait_for
from stream import Answer, Stream, run_stream

SECRET = "it-mock-faults-secret"
VERIFY = {"headerName": "X-Sig", "secret": SECRET, "algorithm": "sha256", "headerEncoding": "hex"}
DELIVERY_TIMEOUT_S = 3
# the bridge's own backstop answers 503 one second after kafka.deliveryTimeout; a little for the loaded machine
ANSWER_BOUND_S = DELIVERY_TIMEOUT_S + 1 + 1.5


class MockKafka:
    """tests/tools/mockkafka: a mock cluster with one topic; cmd() sends one command and expects "ok"."""

    def __init__(self, topic: str, brokers: int = 1):
        binary = Path(hookbridge_path()).with_name("mockkafka")
        if not binary.is_file():
            pytest.fail(f"{binary} is missing: it is built with the tests (ninja -C build mockkafka)")
        self.proc = subprocess.Popen([str(binary), "--brokers", str(brokers), "--topic", f"{topic}:1"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.bootstrap = self._line()
        self.topic = topic

    def _line(self) -> str:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            raise AssertionError(f"mockkafka exited ({self.proc.wait(timeout=10)})")
        return line.strip()

    def cmd(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        answer = self._line()
        assert answer == "ok", f"mockkafka {command!r}: {answer}"

    def close(self) -> Optional[int]:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def mock(topic_template):
    cluster = MockKafka(topic_template.replace("{id}", "mf"))
    yield cluster
    assert cluster.close() == 0


@pytest.fixture
def bridge(start_bridge, mock):
    b = start_bridge([{"id": "mf", "verify": VERIFY}],
                     kafka={"brokers": mock.bootstrap, "deliveryTimeout": f"{DELIVERY_TIMEOUT_S}s"})
    # the idempotent producer has its producer id and the topic's leader before any fault
    wait_for(lambda: b.post("mf", b'{"warm":true}').status_code == 200, 30, "a first event through the mock")
    return b


def post(stream: Stream, bridge) -> Answer:
    return stream.post(bridge.url("mf"), lambda body: bridge.signature_headers("mf", body),
                       timeout=3 * DELIVERY_TIMEOUT_S)


def assert_503_in_time(answer: Answer, what: str) -> None:
    assert answer.status == 503, f"{what}: {answer}"
    assert answer.retry_after is not None and answer.retry_after.isdigit(), f"{what}: Retry-After {answer}"
    took = answer.answered_at - answer.sent_at
    assert took <= ANSWER_BOUND_S, f"{what}: 503 after {took:.1f}s (deliveryTimeout {DELIVERY_TIMEOUT_S}s)"


def assert_every_2xx_found(stream: Stream, mock: MockKafka, report_line, what: str):
    tally = stream.tally(mock.bootstrap, mock.topic)
    report_line(f"mock {what}: {tally.line()}")
    assert not tally.missing, f"answered 2xx but not in the mock's topic: seqs {tally.missing}"
    return tally


@pytest.mark.parametrize("error", ["MSG_SIZE_TOO_LARGE", "TOPIC_AUTHORIZATION_FAILED", "INVALID_RECORD"])
def test_a_permanent_produce_error_gets_503_and_the_bridge_recovers(bridge, mock, error, report_line):
    stream = Stream()
    assert post(stream, bridge).status == 200
    mock.cmd(f"produce-errors 1 {error}")
    refused = post(stream, bridge)
    assert_503_in_time(refused, error)
    reasons = [line.get("reason") for line in bridge.log_lines() if line.get("status") == "503"]
    assert reasons and reasons[-1] == error, f"the request log's reason for the 503: {reasons}"
    # the producer is not wedged by a permanent error: requests are published again soon (after an authorization
    # error librdkafka fails the topic's records at once until it has fetched the topic's metadata again)
    recovered = time.monotonic()
    wait_for(lambda: post(stream, bridge).status == 200, 30, f"200 again after {error}", interval=0.2)
    recovered = time.monotonic() - recovered
    after = [post(stream, bridge) for _ in range(3)]
    assert [a.status for a in after] == [200, 200, 200], after
    tally = assert_every_2xx_found(stream, mock, report_line, f"1 × {error} (200 again after {recovered:.1f}s)")
    assert tally.unacknowledged_found == 0, "the broker refused the record, yet it is in the topic"
    assert tally.duplicates == 0


@pytest.mark.parametrize("error", ["NOT_LEADER_FOR_PARTITION", "REQUEST_TIMED_OUT", "NOT_ENOUGH_REPLICAS",
                                   "_TRANSPORT"])
def test_retriable_produce_errors_are_retried_and_answered_200_once(bridge, mock, error, report_line):
    stream = Stream()
    mock.cmd(f"produce-errors 3 {error}")
    answer = post(stream, bridge)
    assert answer.status == 200, f"3 × {error}, then success: {answer}"
    assert answer.answered_at - answer.sent_at <= ANSWER_BOUND_S
    assert post(stream, bridge).status == 200
    tally = assert_every_2xx_found(stream, mock, report_line, f"3 × {error}")
    assert tally.duplicates == 0, "librdkafka's retries of an idempotent producer wrote a record twice"


def test_a_broker_slower_than_delivery_timeout_gets_503_in_time(bridge, mock, report_line):
    stream = Stream()
    assert post(stream, bridge).status == 200
    mock.cmd(f"rtt 1 {(DELIVERY_TIMEOUT_S + 4) * 1000}")
    slow = [post(stream, bridge) for _ in range(2)]
    for answer in slow:
        assert_503_in_time(answer, "a broker answering 7 s late")
    mock.cmd("rtt 1 0")
    wait_for(lambda: post(stream, bridge).status == 200, 60, "200 again once the broker answers in time")
    tally = assert_every_2xx_found(stream, mock, report_line, f"rtt {DELIVERY_TIMEOUT_S + 4}s")
    # the broker may have written what it answered too late: the sender got 503 and will retry (a duplicate)
    assert tally.unacknowledged_found <= len(slow)


def test_broker_down_gets_503_and_up_gets_200_again(bridge, mock, report_line):
    def outage() -> None:
        mock.cmd("down 1")
        time.sleep(2 * DELIVERY_TIMEOUT_S + 2)
        mock.cmd("up 1")

    stream = run_stream(lambda: bridge.url("mf"), lambda body: bridge.signature_headers("mf", body), n=200,
                        rate=20, during=outage, senders=8, timeout=3 * DELIVERY_TIMEOUT_S)
    phases = {p: stream.statuses(stream.in_phase(p)) for p in ("before", "during", "after")}
    tally = assert_every_2xx_found(stream, mock, report_line, f"broker down {2 * DELIVERY_TIMEOUT_S + 2}s")
    report_line(f"mock broker down: by phase {phases}")
    assert stream.during_error is None
    assert all(a.status in (200, 503) for a in stream.answers), stream.statuses()
    assert phases["during"].get("503", 0) > 0, phases
    assert all(a.retry_after for a in stream.answers if a.status == 503)
    after = stream.in_phase("after")
    assert all(a.status == 200 for a in after[len(after) // 2:]), f"after the broker came back: {phases['after']}"
    assert tally.found == tally.acknowledged


def test_leadership_moving_between_brokers_mid_stream_is_retried(start_bridge, topic_template, report_line):
    topic = topic_template.replace("{id}", "mf")
    cluster = MockKafka(topic, brokers=3)
    try:
        b = start_bridge([{"id": "mf", "verify": VERIFY}],
                         kafka={"brokers": cluster.bootstrap, "deliveryTimeout": f"{DELIVERY_TIMEOUT_S}s"})
        wait_for(lambda: b.post("mf", b'{"warm":true}').status_code == 200, 30, "a first event through the mock")

        def move() -> None:
            for broker in (2, 3, 1):  # the old leader answers NOT_LEADER_FOR_PARTITION until the client has looked
                cluster.cmd(f"leader {topic} 0 {broker}")
                time.sleep(1.5)

        stream = run_stream(lambda: b.url("mf"), lambda body: b.signature_headers("mf", body), n=100, rate=20,
                            during=move, senders=8, timeout=3 * DELIVERY_TIMEOUT_S)
        tally = assert_every_2xx_found(stream, cluster, report_line, "leader moved 1 → 2 → 3 → 1")
        assert stream.during_error is None
        assert stream.statuses() == {"200": len(stream.answers)}, "a leader change is retried, not answered 503"
        assert tally.duplicates == 0
    finally:
        assert cluster.close() == 0
