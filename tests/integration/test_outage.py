"""Broker outages under a counted stream (issue 8 §2): every request answered 2xx must be in Kafka.

Each test sends a bounded stream of uniquely numbered signed webhooks (stream.run_stream), stops something in the
middle, then reads the whole topic and prints `sent / acknowledged / found / duplicates`. The same with
`durability: spool` is in test_spool.py.
"""

from __future__ import annotations

import time

from conftest import wait_for
from stream import create_topic, run_stream

SECRET = "it-outage-secret"
VERIFY = {"headerName": "X-Sig", "secret": SECRET, "algorithm": "sha256", "headerEncoding": "hex"}
DELIVERY_TIMEOUT_S = 5
OUTAGE_S = 10
N = 600
RATE = 30  # per second: 10 s of stream before the outage, 10 s after it


def test_broker_stopped_mid_stream_without_spool_loses_no_acknowledged_event(start_bridge, private_broker,
                                                                            topic_template, report_line):
    topic = topic_template.replace("{id}", "out")
    create_topic(private_broker.bootstrap, topic, partitions=1)  # one partition: the log's order is the topic's
    bridge = start_bridge([{"id": "out", "verify": VERIFY}],
                          kafka={"brokers": private_broker.bootstrap, "deliveryTimeout": f"{DELIVERY_TIMEOUT_S}s"})
    wait_for(lambda: bridge.post("out", b'{"warm":true}').status_code == 200, 60, "a first event through the bridge")

    down: dict[str, float] = {}

    def outage() -> None:
        private_broker.stop()
        down["from"] = time.monotonic()  # the broker process has exited: nothing can acknowledge a record now
        time.sleep(OUTAGE_S)
        down["until"] = time.monotonic()
        private_broker.start()  # returns once the broker serves again (10-20 s of KRaft start-up)

    stream = run_stream(lambda: bridge.url("out"), lambda body: bridge.signature_headers("out", body),
                        n=N, rate=RATE, during=outage, timeout=3 * DELIVERY_TIMEOUT_S)
    tally = stream.tally(private_broker.bootstrap, topic)
    phases = {p: stream.statuses(stream.in_phase(p)) for p in ("before", "during", "after")}
    report_line(f"broker stopped {OUTAGE_S}s, no spool: {tally.line()}; by phase {phases}")

    assert stream.during_error is None, f"stopping or restarting the broker failed: {stream.during_error}"
    # the sender's view: 200 or 503, never anything else, never no answer (every request has a timeout > 5 s)
    odd = [(a.seq, a.status, a.error) for a in stream.answers if a.status not in (200, 503)]
    assert not odd, f"answers other than 200/503: {odd[:10]}"
    assert all(a.event_id for a in stream.answers if a.status == 200)
    # while the broker was gone nothing could acknowledge a record: no 200 was answered then, and 503s were
    impossible = [a.seq for a in stream.answers if a.status == 200 and down["from"] < a.answered_at < down["until"]]
    assert not impossible, f"answered 200 while the broker was stopped: seqs {impossible}"
    assert phases["during"].get("503", 0) > 0, phases
    # the stream before the outage went through, and after the restart 2xx came back for good
    assert phases["before"].get("200", 0) > 0, phases
    after = stream.in_phase("after")
    settled = after[len(after) * 3 // 4:]
    assert settled and all(a.status == 200 for a in settled), \
        f"the last {len(settled)} requests after the restart: {stream.statuses(settled)}"
    # the guarantee: every 2xx is in Kafka
    assert tally.found == tally.acknowledged and not tally.missing, \
        f"answered 2xx but not in Kafka: seqs {tally.missing[:20]} ({len(tally.missing)})"


def test_bridge_killed_mid_stream_and_restarted_loses_no_acknowledged_event(start_bridge, kafka_bootstrap,
                                                                             topic_template, report_line):
    """SIGKILL: no drain, no flush. Without a spool a 2xx is only ever sent after Kafka's report, so whatever was
    in flight is lost to the sender (no answer: it retries), never an acknowledged event."""
    topic = topic_template.replace("{id}", "out")
    create_topic(kafka_bootstrap, topic, partitions=1)
    endpoints = [{"id": "out", "verify": VERIFY}]
    kafka = {"deliveryTimeout": f"{DELIVERY_TIMEOUT_S}s"}
    live = [start_bridge(endpoints, kafka=kafka)]
    wait_for(lambda: live[0].post("out", b'{"warm":true}').status_code == 200, 60, "a first event through the bridge")
    killed: dict[str, float] = {}

    def kill_and_restart() -> None:
        live[0].proc.kill()
        live[0].proc.wait()
        killed["at"] = time.monotonic()
        live.append(start_bridge(endpoints, kafka=kafka))  # a new process, on a new port
        live[0] = live.pop()

    stream = run_stream(lambda: live[0].url("out"), lambda body: live[0].signature_headers("out", body),
                        n=400, rate=RATE, during=kill_and_restart, timeout=3 * DELIVERY_TIMEOUT_S)
    tally = stream.tally(kafka_bootstrap, topic)
    phases = {p: stream.statuses(stream.in_phase(p)) for p in ("before", "during", "after")}
    report_line(f"bridge SIGKILLed and restarted, no spool: {tally.line()}; by phase {phases}")

    assert stream.during_error is None, f"killing or restarting the bridge failed: {stream.during_error}"
    assert all(a.status in (200, 503, None) for a in stream.answers), stream.statuses()
    # no answer only for what was in flight at the kill or sent while no bridge listened
    early = [a.seq for a in stream.answers if a.status is None and a.answered_at < killed["at"] - 0.5]
    assert not early, f"no answer long before the kill: seqs {early}"
    after = stream.in_phase("after")
    assert after and all(a.status == 200 for a in after[len(after) // 2:]), phases
    assert tally.found == tally.acknowledged and not tally.missing, \
        f"answered 2xx but not in Kafka: seqs {tally.missing[:20]} ({len(tally.missing)})"
