"""Request log lines and W3C trace context, against the real broker."""

from __future__ import annotations

import requests

from conftest import read_topic, sign

SECRET = "it-logs-secret-never-logged-5d2"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
TRACESTATE = "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"


def request_lines(bridge) -> list[dict]:
    return [line for line in bridge.log_lines() if line.get("msg") == "request"]


def test_request_lines_carry_outcome_latency_and_trace(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "logged", "verify": {"headerName": "X-Sig", "secret": SECRET}, "maxBodySize": "1KiB"}])
    body = b'{"traced":true}'
    ok = requests.post(bridge.url("logged"), data=body, timeout=30,
                       headers={"X-Sig": sign(SECRET, body), "traceparent": TRACEPARENT, "tracestate": TRACESTATE})
    assert ok.status_code == 200, ok.text
    event_id = ok.json()["id"]
    assert requests.post(bridge.url("logged"), data=body, headers={"X-Sig": "00"}, timeout=30).status_code == 401
    assert requests.post(bridge.url("logged"), data=b"x" * 2000, timeout=30).status_code == 413
    assert requests.post(bridge.base_url + "/webhooks/nope", data=body, timeout=30).status_code == 404

    # the trace goes on in the Kafka record's headers and, as received, in the envelope
    [record] = read_topic(kafka_bootstrap, bridge.topic("logged"), 1)
    assert record.envelope["id"] == event_id
    assert record.headers["traceparent"] == TRACEPARENT.encode()
    assert record.headers["tracestate"] == TRACESTATE.encode()
    assert record.envelope["headers"]["traceparent"] == TRACEPARENT

    lines = request_lines(bridge)
    by_status = {line["status"]: line for line in lines}
    # non-2xx answers are always logged, whatever the sample rate (here the default, 1 %)
    assert by_status["401"]["outcome"] == "rejected" and by_status["401"]["reason"] == "Signature mismatch"
    assert by_status["401"]["endpoint"] == "logged"
    assert by_status["413"]["outcome"] == "too_large"
    assert by_status["404"]["outcome"] == "not_found" and "endpoint" not in by_status["404"]
    for line in lines:
        assert {"ts", "level", "msg", "outcome", "status", "latency_ms"} <= set(line), line
        assert float(line["latency_ms"]) >= 0
    # never a secret or a body in the log
    text = bridge.stderr_text()
    assert SECRET not in text and "traced" not in text


def test_every_2xx_is_logged_at_sample_rate_1_and_none_at_0(start_bridge, kafka_bootstrap):
    verify = {"headerName": "X-Sig", "secret": SECRET}
    for rate, expected in (("1", 3), ("0", 0)):
        bridge = start_bridge([{"id": f"rate{rate}", "verify": verify}], log={"sampleRate": rate})
        ids = []
        for n in range(3):
            body = b'{"n":%d}' % n
            resp = requests.post(bridge.url(f"rate{rate}"), data=body, timeout=30,
                                 headers={"X-Sig": sign(SECRET, body), "traceparent": TRACEPARENT})
            assert resp.status_code == 200, resp.text
            ids.append(resp.json()["id"])
        assert requests.post(bridge.url(f"rate{rate}"), data=b"{}", timeout=30).status_code == 401
        read_topic(kafka_bootstrap, bridge.topic(f"rate{rate}"), 3)
        published = [line for line in request_lines(bridge) if line["outcome"] == "published"]
        assert len(published) == expected, bridge.stderr_text()
        assert sorted(line["event_id"] for line in published) == (sorted(ids) if expected else [])
        assert all(line["trace_id"] == TRACE_ID and line["status"] == "200" for line in published)
        assert [line["status"] for line in request_lines(bridge) if line["outcome"] == "rejected"] == ["401"]
