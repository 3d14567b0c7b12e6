"""A counted stream of webhooks through a fault: what was sent, what was acknowledged, what Kafka has.

    stream = run_stream(lambda: bridge.url("out"), lambda body: bridge.signature_headers("out", body),
                        n=600, rate=30, during=outage)
    tally = stream.tally(bootstrap, bridge.topic("out"))
    assert not tally.missing, tally.line()

run_stream() sends uniquely numbered signed bodies ({"run": RUN, "seq": N, ...}) from several sender threads, paced
at `rate` per second: n/2 before `during` is called, as many as the rate and the senders allow while it runs (on a
thread of its own), and n/2 after it returned. Each answer is recorded with its send and answer times, so a test can
look at each phase. tally() then reads the topic to its end (watermark offsets) and counts, for this run:
sent / acknowledged (2xx) / found (acknowledged ones in Kafka) / duplicates (records beyond the first per seq), the
statuses, the records found that were not acknowledged, and how often the log contradicts what a sender saw
(out of order: a record written after one that was SENT after its own 2xx came back).

Stream().post(url, headers) sends one numbered request at a time instead, for tests that inject one fault per
request; tally() counts those the same way.

The fault is the caller's: stop a broker, kill and restart the bridge (url is called per request, so it may point
to a new port), or nothing. The harness asserts nothing; the tests do.
"""

from __future__ import annotations

import dataclasses
import json
import os
import queue
import subprocess
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Optional

import requests
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

ROOT = Path(__file__).resolve().parents[2]
BROKER_SH = ROOT / "tests" / "kafka" / "broker.sh"


@dataclasses.dataclass
class Answer:
    seq: int
    sent_at: float  # time.monotonic() when the request went out
    answered_at: float = 0.0
    status: Optional[int] = None  # None: no HTTP answer (connection refused or reset, timeout)
    event_id: Optional[str] = None
    retry_after: Optional[str] = None
    error: str = ""

    @property
    def acknowledged(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclasses.dataclass
class Tally:
    sent: int
    acknowledged: int
    found: int
    duplicates: int
    out_of_order: int
    missing: list[int]  # seqs answered 2xx and not in Kafka: the losses
    unacknowledged_found: int  # in Kafka although the sender did not get 2xx (it would retry: a duplicate later)
    statuses: dict[str, int]
    records: int  # this run's records in the topic, duplicates included

    def line(self) -> str:
        return (f"sent {self.sent} / acknowledged {self.acknowledged} / found {self.found} / "
                f"duplicates {self.duplicates} (lost {len(self.missing)}; out of order {self.out_of_order}; "
                f"in Kafka without 2xx {self.unacknowledged_found}; answers {self.statuses})")


@dataclasses.dataclass
class Stream:
    run: str = dataclasses.field(default_factory=lambda: uuid.uuid4().hex)
    answers: list[Answer] = dataclasses.field(default_factory=list)
    during_started: float = 0.0
    during_ended: float = 0.0
    during_error: Optional[BaseException] = None
    _next_seq: int = 0
    _lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    def phase(self, answer: Answer) -> str:
        """before, during or after the `during` callable, by when the request was sent."""
        if not self.during_started or answer.sent_at < self.during_started:
            return "before"
        return "during" if answer.sent_at < self.during_ended else "after"

    def in_phase(self, phase: str) -> list[Answer]:
        return [a for a in self.answers if self.phase(a) == phase]

    def post(self, url: str, headers: Callable[[bytes], dict[str, str]], timeout: float = 15.0,
             session: Optional[requests.Session] = None, pad: str = "") -> Answer:
        """Sends the next numbered request of this run now, on this thread; records and returns its answer."""
        with self._lock:
            seq = self._next_seq
            self._next_seq += 1
        answer = _send(session or requests, url, headers, self.run, seq, timeout, pad)
        with self._lock:
            self.answers.append(answer)
        return answer

    def statuses(self, answers: Optional[list[Answer]] = None) -> dict[str, int]:
        counts = Counter("none" if a.status is None else str(a.status) for a in (self.answers if answers is None
                                                                                  else answers))
        return dict(sorted(counts.items()))

    def tally(self, bootstrap: str, topic: str, timeout: float = 60.0) -> Tally:
        """Reads the topic to its end and counts this run's records against the answers."""
        by_seq = {a.seq: a for a in self.answers}
        seen: Counter[int] = Counter()
        order: list[int] = []  # the seqs in log order (partition by partition), first occurrences only
        for value in read_to_end(bootstrap, topic, timeout):
            seq = _seq_of(value, self.run)
            if seq is None:
                continue
            if seen[seq] == 0:
                order.append(seq)
            seen[seq] += 1
        acked = {a.seq for a in self.answers if a.acknowledged}
        # a record is out of order when one before it in the log was sent only after this one's 2xx came back
        out_of_order, latest_sent = 0, 0.0
        for seq in order:
            a = by_seq.get(seq)
            if a is None:
                continue
            if a.acknowledged and latest_sent > a.answered_at:
                out_of_order += 1
            latest_sent = max(latest_sent, a.sent_at)
        return Tally(
            sent=len(self.answers),
            acknowledged=len(acked),
            found=len(acked & set(seen)),
            duplicates=sum(count - 1 for count in seen.values()),
            out_of_order=out_of_order,
            missing=sorted(acked - set(seen)),
            unacknowledged_found=len(set(seen) - acked),
            statuses=self.statuses(),
            records=sum(seen.values()),
        )


def _seq_of(envelope_bytes: bytes, run: str) -> Optional[int]:
    import msgpack

    try:
        body = json.loads(msgpack.unpackb(envelope_bytes, raw=False)["body"])
    except (ValueError, KeyError, TypeError):
        return None
    return body.get("seq") if isinstance(body, dict) and body.get("run") == run else None


def _send(client: Any, url: str, headers: Callable[[bytes], dict[str, str]], run: str, seq: int, timeout: float,
          pad: str) -> Answer:
    """One numbered, signed request with requests (or a requests.Session): its Answer, errors included."""
    body = json.dumps({"run": run, "seq": seq, "pad": pad}).encode()
    answer = Answer(seq=seq, sent_at=time.monotonic())
    try:
        resp = client.post(url, data=body, timeout=timeout, headers={"Content-Type": "application/json",
                                                                     **headers(body)})
        answer.status = resp.status_code
        answer.retry_after = resp.headers.get("Retry-After")
        if answer.acknowledged:
            answer.event_id = resp.json().get("id")
    except (requests.RequestException, ValueError) as exc:
        answer.error = f"{type(exc).__name__}: {exc}"
    answer.answered_at = time.monotonic()
    return answer


def run_stream(url: Callable[[], str], headers: Callable[[bytes], dict[str, str]], n: int, rate: float,
               during: Optional[Callable[[], Any]] = None, senders: int = 16, timeout: float = 15.0,
               pad: int = 200) -> Stream:
    """
    Sends the stream (see the module's doc) and returns every answer. url() is called for each request; headers(body)
    gives the signature header(s). timeout: per request, and must exceed the bridge's kafka.deliveryTimeout so that
    a 503 is seen rather than a client-side timeout. Blocks until every request was answered (or failed) and
    `during` returned; an exception of `during` is kept in Stream.during_error.
    """
    stream = Stream()
    lock = threading.Lock()
    work: queue.Queue[Optional[int]] = queue.Queue(maxsize=senders)  # backpressure: no backlog piles up
    filler = "x" * pad

    def sender() -> None:
        session = requests.Session()
        while (seq := work.get()) is not None:
            answer = _send(session, url(), headers, stream.run, seq, timeout, filler)
            if answer.error:  # a fresh connection for the next one
                session.close()
                session = requests.Session()
            with lock:
                stream.answers.append(answer)
        session.close()

    def run_during() -> None:
        stream.during_started = time.monotonic()
        try:
            during()
        except BaseException as exc:  # noqa: BLE001 -- handed to the test
            stream.during_error = exc
        stream.during_ended = time.monotonic()

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for t in threads:
        t.start()
    start, seq = time.monotonic(), 0

    def dispatch() -> None:
        nonlocal seq
        delay = start + seq / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        work.put(seq)
        seq += 1

    for _ in range(n // 2):
        dispatch()
    if during is not None:
        fault = threading.Thread(target=run_during, daemon=True)
        fault.start()
        while fault.is_alive():
            dispatch()
        fault.join()
        start = time.monotonic() - seq / rate  # the rest keeps the pace from now, without a burst of catching up
    for _ in range(n - n // 2):
        dispatch()
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
    stream.answers.sort(key=lambda a: a.seq)
    return stream


def read_to_end(bootstrap: str, topic: str, timeout: float = 60.0) -> list[bytes]:
    """Every record value of the topic, each partition read from its low to its high watermark as of the call."""
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"it-{uuid.uuid4().hex}",
                         "enable.auto.commit": False, "enable.partition.eof": True, "auto.offset.reset": "earliest"})
    deadline = time.monotonic() + timeout
    values: list[bytes] = []
    try:
        md = consumer.list_topics(topic, timeout=timeout)
        partitions = sorted(md.topics[topic].partitions)
        ends = {}
        for p in partitions:
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=timeout)
            if high > low:
                ends[p] = high
        consumer.assign([TopicPartition(topic, p, consumer.get_watermark_offsets(TopicPartition(topic, p))[0])
                         for p in ends])
        while ends:
            if time.monotonic() > deadline:
                raise AssertionError(f"reading {topic}: partitions {sorted(ends)} not read to their end in {timeout}s")
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise AssertionError(f"reading {topic}: {msg.error()}")
            values.append(msg.value())
            if msg.offset() + 1 >= ends.get(msg.partition(), 0):
                ends.pop(msg.partition(), None)
    finally:
        consumer.close()
    return values


def create_topic(bootstrap: str, topic: str, partitions: int = 1) -> None:
    """Creates the topic (so that its partition count is the test's, not the broker's default) and waits for it."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)]).values():
        future.result(timeout=60)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        t = admin.list_topics(topic, timeout=10).topics.get(topic)
        if t is not None and t.error is None and len(t.partitions) == partitions and all(
                p.leader >= 0 for p in t.partitions.values()):
            return
        time.sleep(0.2)
    raise AssertionError(f"topic {topic} has no leader for its {partitions} partitions after 60 s")


def wait_idempotent_ready(bootstrap: str, timeout: float = 120.0) -> bool:
    """True once an idempotent producer gets a record acknowledged: a freshly formatted broker loads its transaction
    coordinator some seconds after it starts answering, and before that the bridge's first records would fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        results: list = []
        producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True,
                             "message.timeout.ms": 20000, "log_level": 0})
        producer.produce("it.warmup", b"warm-up", on_delivery=lambda err, msg: results.append(err))
        producer.flush(30)
        if results and results[-1] is None:
            return True
        time.sleep(1)
    return False


class PrivateBroker:
    """A Kafka broker of a test's own (tests/kafka/broker.sh with its own ports and data dir): a test may stop it."""

    def __init__(self, data_dir: Path, port: int, controller_port: int):
        self.env = {**os.environ, "KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(controller_port),
                    "KAFKA_DATA": str(data_dir)}
        self.bootstrap = f"127.0.0.1:{port}"

    def _run(self, command: str, timeout: float = 240) -> str:
        result = subprocess.run(["bash", str(BROKER_SH), command], env=self.env, capture_output=True, text=True,
                                timeout=timeout)
        if result.returncode != 0:
            raise AssertionError(f"broker.sh {command} exited {result.returncode}:\n{result.stderr}")
        return result.stdout

    def start(self) -> str:
        last = self._run("start").strip().splitlines()[-1]
        assert last == self.bootstrap, f"broker.sh start printed {last!r}, expected {self.bootstrap}"
        return last

    def stop(self) -> None:
        self._run("stop")

    def reset(self) -> None:
        self._run("reset")


class Steady:
    """A well-behaved HTTP/1.1 sender in a thread while something else goes on: a signed POST to the endpoint every
    100 ms until stopped; the statuses and event ids it got, and its slowest answer."""

    def __init__(self, bridge: Any, endpoint_id: str) -> None:
        self.bridge, self.endpoint = bridge, endpoint_id
        self.statuses: list[int] = []
        self.ids: list[str] = []
        self.slowest = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        n = 0
        while not self._stop.is_set():
            body = b'{"steady":%d}' % n
            n += 1
            t0 = time.monotonic()
            try:
                resp = requests.post(self.bridge.url(self.endpoint), data=body, timeout=10,
                                     headers={"Content-Type": "application/json",
                                              **self.bridge.signature_headers(self.endpoint, body)})
                self.statuses.append(resp.status_code)
                if resp.status_code == 200:
                    self.ids.append(resp.json()["id"])
            except requests.RequestException:
                self.statuses.append(0)
            self.slowest = max(self.slowest, time.monotonic() - t0)
            self._stop.wait(0.1)

    def __enter__(self) -> "Steady":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join(30)
