"""respondWith and triggers end to end: immediate answers, request filters, routing to topics, against real Kafka.

Every claim that something was NOT published is checked with a sentinel: a publishable request sent afterwards to
the same topic, then the topic read to its end; only the expected records (the sentinel last) may be there.
"""

from __future__ import annotations

import http.client
import json
import socket
from typing import Any, Optional, Sequence

import requests

from conftest import Bridge, assert_nothing_published, raw_exchange, read_topic, run_tail, sign, topic_exists

SECRET = "it-routing-secret-4e1a"


def hmac_verify(header: str = "X-Sig") -> dict[str, str]:
    return {"headerName": header, "secret": SECRET, "algorithm": "sha256", "headerEncoding": "hex"}


def assert_ok_answer(resp: requests.Response) -> str:
    """A 200 {"ok": true, "id": ...} answer (published); returns the id."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    answer = resp.json()
    assert answer == {"ok": True, "id": answer.get("id")} and isinstance(answer["id"], str) and answer["id"], answer
    return answer["id"]


def assert_filtered_out_answer(resp: requests.Response) -> None:
    """The 200 a verified request gets when no trigger matches: nothing was published."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"ok": True, "published": False}


def assert_error_response(resp: requests.Response, status: int, reason: str = "") -> None:
    assert resp.status_code == status, resp.text
    assert resp.headers.get("content-type") == "application/json", resp.headers
    answer = resp.json()
    assert isinstance(answer.get("error"), str) and answer["error"], answer
    assert isinstance(answer.get("reason"), str) and answer["reason"], answer
    if reason:
        assert answer["reason"] == reason, answer


def routed(bootstrap: str, topic: str, count: int) -> list[tuple[str, Optional[list[str]]]]:
    """(event id, triggers) of every record of the topic, read to its end once count are there."""
    return [(r.envelope["id"], r.envelope.get("triggers")) for r in read_topic(bootstrap, topic, count)]


def header_values(headers: list[tuple[str, str]], name: str) -> list[str]:
    return [value for key, value in headers if key == name]


def raw_get(bridge: Bridge, target: str, headers: Sequence[tuple[str, str]] = ()) -> tuple[int, list, bytes]:
    """A GET on a raw connection, so that every response header line is seen as sent (duplicates included)."""
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in headers)]
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=30) as sock:
        answer = raw_exchange(sock, ("\r\n".join(lines) + "\r\n\r\n").encode())
    assert answer is not None, "the bridge closed the connection instead of answering"
    return answer


def without(envelope: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in envelope.items() if k != key}


# ---- 1. respondWith with skipTriggeringRuns: the WhatsApp verification handshake ----

WHATSAPP_RESPOND = {
    "filter": {"method": ["GET"], "query": {"hub.mode": ["subscribe"]}},
    "skipTriggeringRuns": True,
    "response": {"status": 200, "headers": {"content-type": "text/plain"}, "body": "{{query.hub.challenge}}"},
}


def test_whatsapp_handshake_is_answered_unsigned_and_publishes_nothing(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "wa", "verify": hmac_verify("X-Hub-Signature-256"),
                            "respondWith": WHATSAPP_RESPOND}])
    status, headers, body = raw_get(bridge, "/webhooks/wa?hub.mode=subscribe&hub.challenge=1158201444"
                                            "&hub.verify_token=x")
    assert (status, body) == (200, b"1158201444")
    assert header_values(headers, "content-type") == ["text/plain"], headers
    assert header_values(headers, "content-length") == ["10"], headers

    params = {"hub.mode": "subscribe", "hub.challenge": "987", "hub.verify_token": "x"}
    resp = requests.get(bridge.url("wa"), params=params, timeout=30)
    assert (resp.status_code, resp.content, resp.headers["content-type"]) == (200, b"987", "text/plain")
    # a signature, even a wrong one, changes nothing: the handshake is answered before verification
    resp = requests.get(bridge.url("wa"), params=params, headers={"X-Hub-Signature-256": "sha256=00"}, timeout=30)
    assert (resp.status_code, resp.content) == (200, b"987")
    # a repeated parameter: the last one is the one the filter and the template see
    resp = requests.get(bridge.url("wa", "?hub.mode=unsubscribe&hub.mode=subscribe&hub.challenge=1&hub.challenge=2"),
                        timeout=30)
    assert (resp.status_code, resp.content) == (200, b"2")

    # anything else falls through to verification: unsigned, so 401
    for suffix in ["", "?hub.challenge=1158201444", "?hub.mode=unsubscribe&hub.challenge=1",
                   "?hub.mode=Subscribe&hub.challenge=1", "?hub.mode=subscribe&hub.mode=x&hub.challenge=1",
                   "/sub/path?hub.mode=subscribe2&hub.challenge=1"]:
        assert_error_response(requests.get(bridge.url("wa", suffix), timeout=30), 401,
                              "Missing header X-Hub-Signature-256")
    # the method is part of the filter
    unsigned_post = bridge.post("wa", b"{}", signed=False, suffix="?hub.mode=subscribe&hub.challenge=1")
    assert_error_response(unsigned_post, 401, "Missing header X-Hub-Signature-256")

    assert_nothing_published(bridge, kafka_bootstrap, "wa")


# ---- 2, 3. triggers → topics ----


def test_two_triggers_route_one_request_to_two_topics(start_bridge, kafka_bootstrap, topic_template):
    opened_topic = topic_template.replace("{id}", "opened")
    pr_topic = topic_template.replace("{id}", "pull-request")
    bridge = start_bridge([{"id": "gh", "verify": hmac_verify("X-Hub-Signature-256"), "triggers": [
        {"name": "opened", "filter": {"body": {"action": ["opened"]}}, "topic": opened_topic},
        {"name": "pull-request", "filter": {"headers": {"X-GitHub-Event": ["pull_request"]}}, "topic": pr_topic},
    ]}])

    def send(action: str, event: str, header_name: str = "X-GitHub-Event") -> requests.Response:
        return bridge.post("gh", json.dumps({"action": action, "number": 7}).encode(), headers={header_name: event})

    assert_filtered_out_answer(send("closed", "issues"))
    assert_filtered_out_answer(send("opened ", "pull_request "))  # values are compared exactly
    both = assert_ok_answer(send("opened", "pull_request", "x-github-event"))
    only_opened = assert_ok_answer(send("opened", "issues"))
    only_pr = assert_ok_answer(send("closed", "pull_request", "X-GITHUB-EVENT"))

    opened_records = read_topic(kafka_bootstrap, opened_topic, 2)
    pr_records = read_topic(kafka_bootstrap, pr_topic, 2)
    assert [(r.envelope["id"], r.envelope["triggers"]) for r in opened_records] == [
        (both, ["opened"]), (only_opened, ["opened"])]
    assert [(r.envelope["id"], r.envelope["triggers"]) for r in pr_records] == [
        (both, ["pull-request"]), (only_pr, ["pull-request"])]

    # the request routed to both topics is one event: the same envelope (triggers aside), key and headers
    in_opened, in_pr = opened_records[0], pr_records[0]
    assert without(in_opened.envelope, "triggers") == without(in_pr.envelope, "triggers")
    assert in_opened.envelope["json"] == {"action": "opened", "number": 7}
    assert in_opened.envelope["headers"]["x-github-event"] == "pull_request"
    assert in_opened.envelope["endpoint"] == "gh" and in_opened.envelope["verified"] == "hmac-sha256"
    assert in_opened.key == in_pr.key == both.encode()
    assert in_opened.headers == in_pr.headers and in_opened.headers["hookbridge-event-id"] == both.encode()

    # with triggers listed, the endpoint's own topic gets nothing
    endpoint_topic = bridge.topic("gh")
    assert not topic_exists(kafka_bootstrap, endpoint_topic) or read_topic(kafka_bootstrap, endpoint_topic, 0) == []

    # tail reads where the endpoint publishes: both triggers' topics (the event routed to both, twice)
    tailed = run_tail(bridge, kafka_bootstrap, "gh", 4)
    assert sorted((line["id"], tuple(line["triggers"])) for line in tailed) == sorted(
        [(both, ("opened",)), (only_opened, ("opened",)), (both, ("pull-request",)), (only_pr, ("pull-request",))])


def test_two_triggers_on_one_topic_publish_once_with_both_names(start_bridge, kafka_bootstrap, topic_template):
    endpoint_topic = topic_template.replace("{id}", "deploys")
    bridge = start_bridge([{"id": "deploys", "verify": hmac_verify(), "triggers": [
        {"name": "by-body", "filter": {"body": {"kind": ["deploy"]}}},  # no topic: the endpoint's
        {"name": "by-header", "filter": {"header": {"x-kind": ["deploy"]}}, "topic": endpoint_topic},  # the same
    ]}])
    assert bridge.topic("deploys") == endpoint_topic

    none = bridge.post("deploys", b'{"kind":"build"}', headers={"X-Kind": "build"})
    assert_filtered_out_answer(none)
    both = assert_ok_answer(bridge.post("deploys", b'{"kind":"deploy"}', headers={"X-Kind": "deploy"}))
    by_body = assert_ok_answer(bridge.post("deploys", b'{"kind":"deploy"}'))
    by_header = assert_ok_answer(bridge.post("deploys", b'{"kind":"build"}', headers={"X-Kind": "deploy"}))

    assert routed(kafka_bootstrap, endpoint_topic, 3) == [
        (both, ["by-body", "by-header"]), (by_body, ["by-body"]), (by_header, ["by-header"])]


def test_trigger_filters_on_query_parameters(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "q", "verify": hmac_verify(), "triggers": [
        {"name": "push", "filter": {"query": {"event": ["push"]}}},
        {"name": "deploy", "filter": {"query": {"stage": [{"$startsWith": "prod"}],
                                                "kind": [{"$ignoreCaseEquals": "deploy"}]}}},
    ]}])
    body = b'{"n":1}'

    def send(suffix: str) -> requests.Response:
        return bridge.post("q", body, suffix=suffix)

    push = assert_ok_answer(send("?event=push"))
    assert_filtered_out_answer(send("?event=PUSH"))
    last_push = assert_ok_answer(send("?event=issues&event=push"))  # the last value wins
    assert_filtered_out_answer(send("?event=push&event=issues"))
    deploy = assert_ok_answer(send("?stage=production&kind=DePloY"))
    assert_filtered_out_answer(send("?stage=staging&kind=deploy"))
    assert_filtered_out_answer(send("?stage=production&kind=deploys"))
    assert_filtered_out_answer(send(""))
    assert_filtered_out_answer(bridge.post("q", b'{"event":"push"}'))  # the body is not the query
    both = assert_ok_answer(send("?kind=deploy&stage=prod-eu&event=push"))

    records = read_topic(kafka_bootstrap, bridge.topic("q"), 4)
    assert [(r.envelope["id"], r.envelope["triggers"]) for r in records] == [
        (push, ["push"]), (last_push, ["push"]), (deploy, ["deploy"]), (both, ["push", "deploy"])]
    assert records[1].envelope["query"] == {"event": "push"}
    assert records[1].envelope["url"] == "/webhooks/q?event=issues&event=push"


# ---- 5, 6. bodies: form-encoded, and not parseable ----

FORM = "application/x-www-form-urlencoded"


def test_form_encoded_body_is_filtered_by_a_field(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "form", "verify": hmac_verify(), "triggers": [
        {"name": "paid", "filter": {"body": {"status": ["paid"], "amount": [{"$startsWith": "12."}]}}},
    ]}])
    paid_body = b"status=paid&amount=12.50&note=a+b%21&empty=&status2"
    paid = assert_ok_answer(bridge.post("form", paid_body, headers={"Content-Type": f"{FORM}; charset=UTF-8"}))
    assert_filtered_out_answer(bridge.post("form", b"status=refunded&amount=12.50", headers={"Content-Type": FORM}))
    assert_filtered_out_answer(bridge.post("form", b"status=paid&amount=13.00", headers={"Content-Type": FORM}))
    # the same fields, but not declared as a form: not parsed, so the body filter does not match
    assert_filtered_out_answer(bridge.post("form", b"status=paid&amount=12.50", headers={"Content-Type": "text/plain"}))
    last_wins = assert_ok_answer(bridge.post("form", b"status=unpaid&amount=12.00&status=paid",
                                             headers={"Content-Type": FORM}))

    records = read_topic(kafka_bootstrap, bridge.topic("form"), 2)
    assert [(r.envelope["id"], r.envelope["triggers"]) for r in records] == [(paid, ["paid"]), (last_wins, ["paid"])]
    first = records[0].envelope
    assert first["body"] == paid_body and first["contentType"] == f"{FORM}; charset=UTF-8"
    assert first["json"] == {"status": "paid", "amount": "12.50", "note": "a b!", "empty": "", "status2": ""}
    assert records[1].envelope["json"] == {"status": "paid", "amount": "12.00"}


def test_unparseable_body_does_not_match_body_filters_and_is_published_raw_elsewhere(start_bridge, kafka_bootstrap):
    bridge = start_bridge([
        {"id": "strict", "verify": hmac_verify(), "triggers": [{"name": "a-is-1", "filter": {"body": {"a": [1]}}}]},
        {"id": "loose", "verify": hmac_verify()},
    ])
    conn = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=30)
    conn.connect()
    local = conn.sock.getsockname()

    def post(endpoint_id: str, body: bytes) -> tuple[int, dict]:
        conn.request("POST", f"/webhooks/{endpoint_id}", body=body,
                     headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})
        resp = conn.getresponse()
        raw = resp.read()
        assert not resp.will_close, f"the bridge closes the connection after {body!r}"
        return resp.status, json.loads(raw)

    too_deep = b"[" * 65 + b"1" + b"]" * 65  # past the parser's limit (31)
    for bad in [b'{"a":1', b'{"a":1}}', b'{"a":01}', b"not json", b'{"a":1,}', too_deep]:
        assert post("strict", bad) == (200, {"ok": True, "published": False}), bad
    assert bridge.proc.poll() is None
    status, answer = post("strict", b'{"a":1}')
    assert status == 200 and answer == {"ok": True, "id": answer.get("id")}, answer
    strict_records = read_topic(kafka_bootstrap, bridge.topic("strict"), 1)
    assert [(r.envelope["id"], r.envelope["json"]) for r in strict_records] == [(answer["id"], {"a": 1})]

    # an endpoint without body filters publishes what does not parse: the raw body, and no `json`
    loose = []
    for body in [b'{"a":1,', too_deep, b'{"a":2}']:
        status, answer = post("loose", body)
        assert status == 200 and answer == {"ok": True, "id": answer.get("id")}, answer
        loose.append(answer["id"])
    assert conn.sock is not None and conn.sock.getsockname() == local, "a new connection was opened"
    conn.close()
    records = read_topic(kafka_bootstrap, bridge.topic("loose"), 3)
    assert [(r.envelope["id"], r.envelope["body"], "json" in r.envelope) for r in records] == [
        (loose[0], b'{"a":1,', False), (loose[1], too_deep, False), (loose[2], b'{"a":2}', True)]
    assert records[2].envelope["json"] == {"a": 2}
    assert records[0].envelope["triggers"] == []  # no triggers listed: none named


# ---- 7. respondWith without skipTriggeringRuns ----

SLACK_RESPOND = {
    "filter": {"method": ["POST"], "body": {"type": ["url_verification"]}},
    "response": {"status": 200, "headers": {"content-type": "application/json"},
                 "body": '{"challenge":{{json body.challenge}}}'},
}
DENY_RESPOND = {
    "filter": {"headers": {"x-blocked": ["yes"]}},
    "response": {"status": 403, "body": "blocked: {{header.x-reason}}"},
}


def test_respond_with_200_still_verifies_and_publishes(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "slack", "eventIdHeader": "X-Delivery", "verify": hmac_verify(),
                            "respondWith": SLACK_RESPOND}])
    challenge = 'c3eZ "quoted" \\ back ✓ </script>'
    body = json.dumps({"type": "url_verification", "challenge": challenge, "token": "t"}, ensure_ascii=False).encode()

    forged = bridge.post("slack", body, headers={"X-Sig": sign("not-the-secret", body), "X-Delivery": "forged"},
                         signed=False)
    assert_error_response(forged, 401, "Signature mismatch")
    assert_error_response(bridge.post("slack", body, headers={"X-Delivery": "unsigned"}, signed=False), 401,
                          "Missing header X-Sig")

    resp = bridge.post("slack", body, headers={"X-Delivery": "challenge-1"})
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    assert resp.json() == {"challenge": challenge}

    event_body = b'{"type":"event_callback","event":{"type":"message"}}'
    assert assert_ok_answer(bridge.post("slack", event_body, headers={"X-Delivery": "event-2"})) == "event-2"

    records = read_topic(kafka_bootstrap, bridge.topic("slack"), 2)
    assert [(r.envelope["id"], r.envelope["body"], r.envelope["verified"]) for r in records] == [
        ("challenge-1", body, "hmac-sha256"), ("event-2", event_body, "hmac-sha256")]
    assert records[0].envelope["json"]["challenge"] == challenge


ACK_RESPOND = {
    "filter": {"method": ["POST"], "headers": {"x-ack": ["now"]}},
    "response": {"status": 204, "body": "a 204 has no body: {{header.x-ack}}"},
}


def test_respond_with_non_200_answers_and_publishes_nothing(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "deny", "verify": hmac_verify(), "respondWith": DENY_RESPOND},
                           {"id": "ack", "verify": hmac_verify(), "respondWith": ACK_RESPOND}])
    body = b'{"event":"x"}'
    for signed in (True, False):  # answered before verification, signed or not
        resp = bridge.post("deny", body, headers={"X-Blocked": "yes", "X-Reason": "too many"}, signed=signed)
        assert (resp.status_code, resp.reason) == (403, "Forbidden"), resp.text
        assert resp.content == b"blocked: too many"
        assert resp.headers["content-type"] == "text/plain; charset=utf-8"
    # not matching: the usual pipeline (the unsigned one refused, the signed one is the sentinel)
    assert_error_response(bridge.post("deny", body, headers={"X-Blocked": "no"}, signed=False), 401)
    assert_nothing_published(bridge, kafka_bootstrap, "deny", body=b'{"sentinel":true}')

    # a 204 goes out without a body (a body would be read as the start of the next answer on the connection), and
    # the connection goes on: the next request on it is answered as usual
    def raw_post(body: bytes, *headers: str) -> bytes:
        return "\r\n".join(["POST /webhooks/ack HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
                             f"Content-Length: {len(body)}", *headers, "", ""]).encode() + body

    with socket.create_connection(("127.0.0.1", bridge.port), timeout=30) as sock:
        for _ in range(2):
            sock.sendall(raw_post(body, "X-Ack: now"))
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = sock.recv(1)
                assert chunk, "the bridge closed the connection after a 204"
                head += chunk
            lines = head.decode("latin-1").split("\r\n")
            assert lines[0] == "HTTP/1.1 204 No Content", head
            names = [line.split(":", 1)[0].strip().lower() for line in lines[1:] if line]
            assert "content-length" not in names and "transfer-encoding" not in names, head
        sentinel = b'{"ack":"sentinel"}'
        answer = raw_exchange(sock, raw_post(sentinel, f"X-Sig: {sign(SECRET, sentinel)}"))
    assert answer is not None and answer[0] == 200, answer
    event_id = json.loads(answer[2])["id"]
    assert [(r.envelope["id"], r.envelope["body"]) for r in read_topic(kafka_bootstrap, bridge.topic("ack"), 1)] == [
        (event_id, sentinel)]


# ---- 8. templates ----

TEMPLATE = ("h=[{{header.X-Token}}] hs=[{{ headers.x-token }}] rep=[{{header.x-rep}}] u=[{{unknown.x}}] "
            "env=[{{env.HOME}}] q=[{{query.missing}}] b=[{{body.a}}] j=[{{json header.x-quote}}] "
            "jm=[{{json header.missing}}] qs=[{{query.q}}]")


def test_template_renders_headers_and_unknown_variables_render_empty(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "tpl", "verify": hmac_verify(), "respondWith": {
        "filter": {"method": ["GET"]}, "skipTriggeringRuns": True,
        "response": {"status": 200, "headers": {"Content-Type": "text/x-template", "X-Handshake": "yes"},
                     "body": TEMPLATE}}}])

    status, headers, body = raw_get(bridge, "/webhooks/tpl?q=a+b%26c", [
        ("X-TOKEN", "abc"), ("x-quote", 'he said "hi"'), ("X-Rep", "one"), ("X-Rep", "two")])
    assert status == 200
    assert body == (b'h=[abc] hs=[abc] rep=[one, two] u=[] env=[] q=[] b=[] j=["he said \\"hi\\""] jm=[] '
                    b"qs=[a b&c]")
    assert header_values(headers, "content-type") == ["text/x-template"], headers
    assert header_values(headers, "x-handshake") == ["yes"], headers
    assert header_values(headers, "content-length") == [str(len(body))], headers
    assert header_values(headers, "connection") == ["keep-alive"], headers

    status, headers, body = raw_get(bridge, "/webhooks/tpl")
    assert (status, body) == (200, b"h=[] hs=[] rep=[] u=[] env=[] q=[] b=[] j=[] jm=[] qs=[]")

    assert_nothing_published(bridge, kafka_bootstrap, "tpl")
