"""The admin listener against the real broker: probes, Prometheus metrics (parsed by prometheus_client), drain delay."""

from __future__ import annotations

import json
import signal
import time

import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import free_port, read_topic, sign, wait_for

SECRET = "it-admin-secret-77"


def admin_url(port: int, path: str) -> str:
    return f"http://127.0.0.1:{port}{path}"


def metrics(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics as {(name, sorted labels): value}, read by Prometheus' own Python parser."""
    resp = requests.get(admin_url(port, "/metrics"), timeout=10)
    assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/plain; version=0.0.4")
    out = {}
    for family in text_string_to_metric_families(resp.text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def requests_total(m, endpoint: str, outcome: str, reason: str | None = None) -> float:
    labels = {"endpoint": endpoint, "outcome": outcome}
    if reason is not None:
        labels["reason"] = reason
    return m.get(("hookbridge_requests_total", tuple(sorted(labels.items()))), 0.0)


def test_probes_and_metrics_follow_the_requests(start_bridge, kafka_bootstrap):
    port = free_port()
    verify = {"headerName": "X-Sig", "secret": SECRET}
    bridge = start_bridge([{"id": "adm", "verify": verify, "maxBodySize": "1KiB",
                            "triggers": [{"name": "only-a", "filter": {"body": {"kind": ["a"]}}}]}],
                          kafka={"readinessWindow": "30s"}, admin={"listen": f"127.0.0.1:{port}"})
    assert requests.get(admin_url(port, "/healthz"), timeout=10).json() == {"status": "ok"}
    wait_for(lambda: requests.get(admin_url(port, "/readyz"), timeout=10).status_code == 200, 30,
             "/readyz to turn 200 once the topics' metadata is in")
    before = metrics(port)
    assert requests_total(before, "adm", "published") == 0

    body = b'{"kind":"a"}'
    ok = requests.post(bridge.url("adm"), data=body, headers={"X-Sig": sign(SECRET, body)}, timeout=30)
    assert ok.status_code == 200, ok.text
    filtered = b'{"kind":"b"}'
    assert requests.post(bridge.url("adm"), data=filtered, headers={"X-Sig": sign(SECRET, filtered)},
                         timeout=30).json() == {"ok": True, "published": False}
    for _ in range(2):
        assert requests.post(bridge.url("adm"), data=body, headers={"X-Sig": "00"}, timeout=30).status_code == 401
    assert requests.post(bridge.url("adm"), data=body, timeout=30).status_code == 401
    assert requests.post(bridge.url("adm"), data=b"x" * 2000, headers={"X-Sig": "00"}, timeout=30).status_code == 413
    assert [r.envelope["id"] for r in read_topic(kafka_bootstrap, bridge.topic("adm"), 1)] == [ok.json()["id"]]

    m = metrics(port)
    assert requests_total(m, "adm", "published") == 1
    assert requests_total(m, "adm", "filtered_out") == 1
    assert requests_total(m, "adm", "rejected", "Signature mismatch") == 2
    assert requests_total(m, "adm", "rejected", "Missing header X-Sig") == 1
    assert requests_total(m, "adm", "too_large") == 1
    assert requests_total(m, "adm", "unavailable") == 0
    # the published event's latency went into the histogram: count 1, and in the +Inf bucket
    assert m[("hookbridge_publish_latency_seconds_count", (("endpoint", "adm"),))] == 1
    assert m[("hookbridge_publish_latency_seconds_bucket", (("endpoint", "adm"), ("le", "+Inf")))] == 1
    assert 0 < m[("hookbridge_publish_latency_seconds_sum", (("endpoint", "adm"),))] < 30
    assert m[("hookbridge_inflight_requests", ())] == 0
    assert m[("hookbridge_ready", ())] == 1
    assert m[("process_resident_memory_bytes", ())] > 1_000_000
    assert m[("process_cpu_seconds_total", ())] > 0

    other = requests.get(admin_url(port, "/webhooks/adm"), timeout=10)
    assert other.status_code == 404 and other.json()["error"] == "not_found"
    # the admin paths are not on the public port
    assert requests.get(bridge.base_url + "/metrics", timeout=10).status_code == 404


def test_readyz_says_why_without_a_broker(start_bridge):
    port = free_port()
    dead = f"127.0.0.1:{free_port()}"  # nothing listens there
    start_bridge([{"id": "nobroker", "verify": "none"}], kafka={"brokers": dead}, admin={"listen": f"127.0.0.1:{port}"})
    resp = requests.get(admin_url(port, "/readyz"), timeout=20)
    assert resp.status_code == 503, resp.text
    assert resp.json()["error"] == "not_ready" and "Kafka metadata" in resp.json()["reason"], resp.text
    assert requests.get(admin_url(port, "/healthz"), timeout=10).status_code == 200  # alive, just not ready
    assert metrics(port)[("hookbridge_ready", ())] == 0


def test_sigterm_turns_readyz_503_and_serves_on_for_the_drain_delay(start_bridge, kafka_bootstrap):
    port = free_port()
    bridge = start_bridge([{"id": "drainy", "verify": "none"}], server={"drainDelay": "3s"},
                          admin={"listen": f"127.0.0.1:{port}"})
    wait_for(lambda: requests.get(admin_url(port, "/readyz"), timeout=10).status_code == 200, 30, "ready")
    bridge.proc.send_signal(signal.SIGTERM)
    sent_at = time.monotonic()
    wait_for(lambda: requests.get(admin_url(port, "/readyz"), timeout=10).status_code == 503, 5, "/readyz 503")
    assert requests.get(admin_url(port, "/readyz"), timeout=10).json()["reason"] == "draining"
    # within the delay, webhooks are still served and published
    ids = []
    while time.monotonic() - sent_at < 2.0:
        resp = requests.post(bridge.url("drainy"), data=b'{"late":true}', timeout=10)
        assert resp.status_code == 200, resp.text
        ids.append(resp.json()["id"])
        time.sleep(0.2)
    assert len(ids) >= 3
    assert bridge.proc.wait(timeout=30) == 0
    assert time.monotonic() - sent_at >= 3.0, "the process left before its drain delay"
    assert sorted(r.envelope["id"] for r in read_topic(kafka_bootstrap, bridge.topic("drainy"), len(ids))) == \
        sorted(ids)


def test_api_endpoints_lists_what_a_status_page_needs(start_bridge, kafka_bootstrap):
    port = free_port()
    verify = {"headerName": "X-Sig", "secret": SECRET}
    bridge = start_bridge([
        {"id": "listed", "title": "Listed", "icon": "brand-github", "verify": verify,
         "triggers": [{"name": "one", "filter": {"body": {"k": ["a"]}}}],
         "examples": [{"id": "ex", "name": "An example", "payload": {"k": "a", "n": 1}}]},
        {"id": "plain", "verify": "none"}], server={"publicUrl": "https://hooks.example.com/"},
        admin={"listen": f"127.0.0.1:{port}"})
    body = b'{"k":"a"}'
    ok = requests.post(bridge.url("listed"), data=body, headers={"X-Sig": sign(SECRET, body),
                                                                 "Content-Type": "application/json"}, timeout=30)
    assert ok.status_code == 200, ok.text
    assert requests.post(bridge.url("listed"), data=body, headers={"X-Sig": "00"}, timeout=30).status_code == 401
    api = requests.get(admin_url(port, "/api/endpoints"), timeout=10)
    assert api.status_code == 200 and api.headers["content-type"] == "application/json"
    listed, plain = api.json()["endpoints"]
    assert {k: listed[k] for k in ("id", "source", "title", "icon", "url", "verify", "topics", "triggers")} == {
        "id": "listed", "source": "listed", "title": "Listed", "icon": "brand-github",
        "url": "https://hooks.example.com/webhooks/listed", "verify": "hmac-sha256",
        "topics": [bridge.topic("listed")], "triggers": [{"name": "one", "topic": bridge.topic("listed")}]}
    assert listed["examples"] == [{"id": "ex", "name": "An example", "payload": {"k": "a", "n": 1}}]
    assert listed["counters"]["published"] == 1 and listed["counters"]["rejected"] == 1
    # the last requests, newest first: time, status, outcome, reason, latency; never a body or a secret
    recent = listed["recent"]
    assert [(r["status"], r["outcome"], r["reason"]) for r in recent] == [
        (401, "rejected", "Signature mismatch"), (200, "published", None)]
    assert all(r["latency_ms"] >= 0 and r["at"] > 1_600_000_000_000 for r in recent)
    assert SECRET not in api.text and '\\"k\\"' not in api.text
    assert plain["icon"] is None and plain["title"] is None and plain["recent"] == [] and plain["verify"] == "none"


def test_an_example_is_sent_as_a_signed_test_run(start_bridge, kafka_bootstrap):
    port = free_port()
    bridge = start_bridge([
        {"id": "gh", "verify": {"provider": "github", "secret": SECRET},
         "examples": [{"id": "push", "name": "Push", "payload": {"ref": "refs/heads/main", "n": 1}}]},
        {"id": "keyed", "verify": {"provider": "discord", "publicKey": "a" * 64},
         "examples": [{"id": "ping", "name": "Ping", "payload": {"type": 1}}]}],
        admin={"listen": f"127.0.0.1:{port}"})
    sent = requests.post(admin_url(port, "/api/endpoints/gh/examples/push/send"), timeout=30)
    assert sent.status_code == 200, sent.text
    assert sent.json()["status"] == 200 and sent.json()["answer"]["ok"] is True, sent.text
    event_id = sent.json()["answer"]["id"]
    [record] = read_topic(kafka_bootstrap, bridge.topic("gh"), 1)
    env = record.envelope
    assert env["id"] == event_id and env["test"] is True and env["verified"] == "github"
    assert env["json"] == {"ref": "refs/heads/main", "n": 1}
    # an ordinary delivery is not a test run
    body = b'{"real":true}'
    real = requests.post(bridge.url("gh"), data=body, timeout=30,
                         headers={"X-Hub-Signature-256": sign(SECRET, body, prefix=True)})
    assert real.status_code == 200, real.text
    records = read_topic(kafka_bootstrap, bridge.topic("gh"), 2)
    assert "test" not in records[1].envelope
    # where hookbridge holds no key it cannot sign; unknown names are 404; GET is refused
    cannot = requests.post(admin_url(port, "/api/endpoints/keyed/examples/ping/send"), timeout=30)
    assert cannot.status_code == 409 and cannot.json()["error"] == "cannot_sign", cannot.text
    assert requests.post(admin_url(port, "/api/endpoints/gh/examples/nope/send"), timeout=30).status_code == 404
    assert requests.post(admin_url(port, "/api/endpoints/nope/examples/push/send"), timeout=30).status_code == 404
    assert requests.get(admin_url(port, "/api/endpoints/gh/examples/push/send"), timeout=30).status_code == 405


def test_send_example_posts_a_signed_test_run(start_bridge, kafka_bootstrap):
    from conftest import run_hookbridge
    bridge = start_bridge([
        {"id": "stripe", "verify": {"provider": "stripe", "secret": "whsec_" + SECRET},
         "examples": [{"id": "paid", "name": "Paid", "payload": {"type": "invoice.paid"}},
                      {"id": "failed", "name": "Failed", "payload": {"type": "invoice.payment_failed"}}]},
        {"id": "keyed", "verify": {"provider": "discord", "publicKey": "b" * 64},
         "examples": [{"id": "ping", "name": "Ping", "payload": {"type": 1}}]}])
    url = f"http://127.0.0.1:{bridge.port}"
    sent = run_hookbridge(["send-example", "-c", str(bridge.config_path), "stripe", "failed", "--url", url])
    assert sent.returncode == 0, sent.stderr.decode()
    status, _, answer = sent.stdout.decode().partition(" ")
    assert status == "200" and json.loads(answer)["ok"] is True
    first = run_hookbridge(["send-example", "-c", str(bridge.config_path), "stripe", "--url", url])  # the first
    assert first.returncode == 0, first.stderr.decode()
    records = read_topic(kafka_bootstrap, bridge.topic("stripe"), 2)
    assert [(r.envelope["json"]["type"], r.envelope["test"], r.envelope["verified"]) for r in records] == [
        ("invoice.payment_failed", True, "stripe"), ("invoice.paid", True, "stripe")]
    cannot = run_hookbridge(["send-example", "-c", str(bridge.config_path), "keyed", "--url", url])
    assert cannot.returncode == 1 and b"key hookbridge does not hold" in cannot.stderr, cannot.stderr
    unknown = run_hookbridge(["send-example", "-c", str(bridge.config_path), "stripe", "nope", "--url", url])
    assert unknown.returncode == 2 and b"no such example" in unknown.stderr
    https = run_hookbridge(["send-example", "-c", str(bridge.config_path), "stripe", "--url", "https://x"])
    assert https.returncode == 2 and b"hookbridge sign" in https.stderr
