"""hookbridge consume, the job runner, against the real broker: commit after success, retries, dead letters, crashes."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid

import requests

from conftest import hookbridge_path, read_topic, sign, wait_for

SECRET = "it-consume-secret"
VERIFY = {"headerName": "X-Sig", "secret": SECRET}


def publish(bridge, endpoint: str, n: int, key: str = "k") -> str:
    body = json.dumps({"n": n, "key": key}).encode()
    resp = requests.post(bridge.url(endpoint), data=body, timeout=30,
                         headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})
    assert resp.status_code == 200, resp.text
    return resp.json()["id"]


def consume(bridge, kafka_bootstrap: str, group: str, command: str, *extra: str) -> subprocess.Popen:
    return subprocess.Popen([hookbridge_path(), "consume", "-c", str(bridge.config_path), "--brokers", kafka_bootstrap,
                             "--group", group, "--exec", command, *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def lines(path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_each_event_runs_once_in_order_and_is_committed(start_bridge, kafka_bootstrap, tmp_path):
    bridge = start_bridge([{"id": "jobs", "verify": VERIFY, "partitionKey": "body.key",
                            "triggers": [{"name": "job"}]}])
    ids = [publish(bridge, "jobs", n) for n in range(5)]
    log = tmp_path / "log"
    group = f"it-{uuid.uuid4().hex}"
    command = (f'cat > "{tmp_path}/$HOOKBRIDGE_EVENT_ID.json" && '
               f'echo "$HOOKBRIDGE_EVENT_ID $HOOKBRIDGE_ENDPOINT $HOOKBRIDGE_TRIGGERS $HOOKBRIDGE_ATTEMPT" >> "{log}"')
    proc = consume(bridge, kafka_bootstrap, group, command, "jobs", "-n", "5")
    assert proc.wait(60) == 0, proc.stderr.read().decode()
    # in order (one key), once each, with the event as JSON on stdin and its names in the environment
    assert lines(log) == [f"{i} jobs job 1" for i in ids]
    event = json.loads((tmp_path / f"{ids[2]}.json").read_text())
    assert event["id"] == ids[2] and event["json"] == {"n": 2, "key": "k"} and event["body"] == '{"n": 2, "key": "k"}'

    # committed: the same group sees only what came after
    later = publish(bridge, "jobs", 5)
    proc = consume(bridge, kafka_bootstrap, group, command, "jobs", "-n", "1")
    assert proc.wait(60) == 0, proc.stderr.read().decode()
    assert lines(log)[5:] == [f"{later} jobs job 1"]


def test_a_failing_command_is_retried_then_dead_lettered(start_bridge, kafka_bootstrap, tmp_path):
    bridge = start_bridge([{"id": "flaky", "verify": VERIFY}])
    bad, good = publish(bridge, "flaky", 1), publish(bridge, "flaky", 2)
    log = tmp_path / "log"
    # fails for the first event every time, succeeds for the second
    command = (f'echo "$HOOKBRIDGE_EVENT_ID $HOOKBRIDGE_ATTEMPT" >> "{log}"; '
               f'test "$HOOKBRIDGE_EVENT_ID" != "{bad}" || exit 3')
    group = f"it-{uuid.uuid4().hex}"
    proc = consume(bridge, kafka_bootstrap, group, command, "--max-attempts", "3", "--backoff", "100ms", "-n", "2")
    assert proc.wait(60) == 0, proc.stderr.read().decode()
    assert lines(log) == [f"{bad} 1", f"{bad} 2", f"{bad} 3", f"{good} 1"]  # the partition waits: order is kept
    [dead] = read_topic(kafka_bootstrap, bridge.topic("flaky") + ".dlq", 1)
    assert dead.envelope["id"] == bad
    assert dead.headers["hookbridge-dlq-reason"] == b"exit status 3"
    assert dead.headers["hookbridge-dlq-attempts"] == b"3"
    assert dead.headers["hookbridge-dlq-topic"] == bridge.topic("flaky").encode()
    assert dead.headers["hookbridge-event-id"] == bad.encode()  # the original headers stay
    # both committed: a new run of the group has nothing to do
    proc = consume(bridge, kafka_bootstrap, group, command, "--max-attempts", "3", "-n", "1")
    time.sleep(5)
    assert proc.poll() is None and len(lines(log)) == 4
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0


def test_a_crash_runs_the_uncommitted_event_again_and_sigterm_lets_it_finish(start_bridge, kafka_bootstrap,
                                                                             tmp_path):
    bridge = start_bridge([{"id": "slow", "verify": VERIFY}])
    event = publish(bridge, "slow", 1)
    started = tmp_path / "started"
    command = f'echo "$HOOKBRIDGE_EVENT_ID" >> "{started}"; sleep 2'
    group = f"it-{uuid.uuid4().hex}"
    proc = consume(bridge, kafka_bootstrap, group, command)
    wait_for(lambda: lines(started) == [event], 30, "the command to start")
    proc.kill()  # SIGKILL while the command runs: nothing was committed
    proc.wait(30)
    proc = consume(bridge, kafka_bootstrap, group, command, "--grace", "10s")
    wait_for(lambda: lines(started) == [event, event], 60, "the event to run again (at least once)")
    proc.send_signal(signal.SIGTERM)  # the running command may finish within the grace period, and is committed
    assert proc.wait(30) == 0
    assert b"stopped consuming" in proc.stderr.read()
    proc = consume(bridge, kafka_bootstrap, group, command, "-n", "1")
    time.sleep(5)
    assert lines(started) == [event, event], "a finished command's event ran a third time"
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
