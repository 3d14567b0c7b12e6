"""The request pipeline end to end: HTTP in, verify, envelope, Kafka out; and the check/tail/decode subcommands."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import socket
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import (
    ENVELOPE_CONTENT_TYPE,
    hookbridge_path,
    Bridge,
    assert_nothing_published,
    now_ms,
    parse_log_lines,
    raw_exchange,
    read_topic,
    run_hookbridge,
    run_tail,
    sign,
    topic_exists,
)

SECRET = "it-secret-9f2c"


def hmac_verify(header: str = "X-Sig", algorithm: str = "sha256", encoding: str = "hex") -> dict[str, str]:
    return {"headerName": header, "secret": SECRET, "algorithm": algorithm, "headerEncoding": encoding}


def uuid7_ms(event_id: str) -> int:
    """The unix-ms timestamp in a UUIDv7's first 48 bits."""
    return int(event_id.replace("-", "")[:12], 16)


def assert_ok_answer(resp: requests.Response) -> str:
    """A 200 {"ok": true, "id": ...} answer; returns the id."""
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"] == "application/json"
    answer = resp.json()
    assert answer == {"ok": True, "id": answer.get("id")} and isinstance(answer["id"], str) and answer["id"]
    return answer["id"]


def assert_json_error(status: int, content_type: str, raw: bytes, expected_status: int, reason: str = "") -> dict:
    """An error answer: the status, application/json, an object with non-empty "error" and "reason" strings."""
    assert status == expected_status, raw
    assert content_type == "application/json", raw
    answer = json.loads(raw)
    assert isinstance(answer.get("error"), str) and answer["error"], answer
    assert isinstance(answer.get("reason"), str) and answer["reason"], answer
    if reason:
        assert answer["reason"] == reason
    return answer


def assert_error_response(resp: requests.Response, expected_status: int, reason: str = "") -> dict:
    return assert_json_error(resp.status_code, resp.headers.get("content-type", ""), resp.content, expected_status,
                             reason)


# ---- 1. the envelope ----


def test_signed_post_is_published_with_every_envelope_field(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "cal.com", "source": "cal.com-source",
                            "verify": hmac_verify("X-Cal-Signature-256")}])
    body = json.dumps({"triggerEvent": "BOOKING_CANCELLED", "payload": {"uid": "bFJeNb2uX8", "note": "é ✓"}},
                      ensure_ascii=False).encode()
    signature = sign(SECRET, body)
    sent_headers = [
        ("Content-Type", "application/json"),
        ("X-Cal-Signature-256", signature),
        ("User-Agent", "hookbridge-it/1"),
        ("X-Custom-Header", "Hello, World"),
        ("X-Repeat", "one"),
        ("X-Repeat", "two"),
        ("X-MiXeD-Case", "Value Case Kept"),
        ("Content-Length", str(len(body))),
    ]
    conn = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=30)
    conn.putrequest("POST", "/webhooks/cal.com?a=1&b=x+y&a=2", skip_accept_encoding=True)
    for name, value in sent_headers:
        conn.putheader(name, value)
    before = now_ms()
    conn.endheaders(body)
    resp = conn.getresponse()
    raw = resp.read()
    after = now_ms()
    conn.close()
    assert resp.status == 200, raw
    assert resp.getheader("content-type") == "application/json"
    answer = json.loads(raw)
    event_id = answer["id"]
    assert answer == {"ok": True, "id": event_id}

    parsed = uuid.UUID(event_id)
    assert str(parsed) == event_id and parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert before - 2000 <= uuid7_ms(event_id) <= after + 2000

    records = read_topic(kafka_bootstrap, bridge.topic("cal.com"), 1)
    assert len(records) == 1
    record = records[0]
    env = record.envelope
    received_at = env["receivedAt"]
    assert isinstance(received_at, int) and before - 2000 <= received_at <= after + 2000
    expected_fields = {
        "v": 1,
        "id": event_id,
        "endpoint": "cal.com",
        "source": "cal.com-source",
        "receivedAt": received_at,
        "method": "POST",
        "path": "/webhooks/cal.com",
        "url": "/webhooks/cal.com?a=1&b=x+y&a=2",
        "query": {"a": "2", "b": "x y"},
        "headers": {
            "host": f"127.0.0.1:{bridge.port}",
            "content-type": "application/json",
            "x-cal-signature-256": signature,
            "user-agent": "hookbridge-it/1",
            "x-custom-header": "Hello, World",
            "x-repeat": "one, two",
            "x-mixed-case": "Value Case Kept",
        },
        "remoteAddr": "127.0.0.1",
        "contentType": "application/json",
        "body": body,
        "verified": "hmac-sha256",
    }
    assert {k: v for k, v in env.items() if k in expected_fields} == expected_fields
    assert isinstance(env["body"], bytes)
    # DESIGN §4: any other key is one of the additive ones, with its documented meaning
    assert set(env) - set(expected_fields) <= {"json", "triggers", "test"}
    if "json" in env:
        assert env["json"] == json.loads(body)
    if "triggers" in env:
        assert isinstance(env["triggers"], list) and all(isinstance(t, str) for t in env["triggers"])
    assert "test" not in env

    assert record.key == event_id.encode()
    assert record.headers["content-type"] == ENVELOPE_CONTENT_TYPE.encode()
    assert record.headers["hookbridge-endpoint"] == b"cal.com"
    assert record.headers["hookbridge-event-id"] == event_id.encode()
    assert record.timestamp == received_at


def test_binary_body_is_byte_exact(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "bin", "verify": hmac_verify()}])
    body = b"\xff\xfe\x00\x80" + bytes(range(256)) + b"\r\n\x00"
    event_id = assert_ok_answer(bridge.post("bin", body, headers={"Content-Type": "application/octet-stream"}))
    records = read_topic(kafka_bootstrap, bridge.topic("bin"), 1)
    assert [r.envelope["id"] for r in records] == [event_id]
    assert records[0].envelope["body"] == body
    assert records[0].envelope["contentType"] == "application/octet-stream"


CHUNKED = (b"POST /webhooks/raw HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\nX-Custom: 1\r\n"
           b"Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n3\r\nyou\r\n0\r\n\r\n")
HTTP10_NO_HOST = b"POST /webhooks/raw HTTP/1.0\r\nContent-Type: text/plain\r\nX-Custom: 1\r\nContent-Length: 5\r\n\r\nhiyou"


@pytest.mark.parametrize("raw, not_sent", [(CHUNKED, "content-length"), (HTTP10_NO_HOST, "host")],
                         ids=["chunked", "http10-without-host"])
def test_envelope_headers_are_only_those_received(start_bridge, kafka_bootstrap, raw, not_sent):
    """The envelope has the headers as received, none made up for the sender, and never the framing headers
    (docs/architecture.md: h2o consumes them and does not say which one a sender used)."""
    bridge = start_bridge([{"id": "raw", "verify": "none"}])
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=30) as sock:
        answer = raw_exchange(sock, raw)
    assert answer is not None and answer[0] == 200, answer
    event_id = json.loads(answer[2])["id"]
    records = read_topic(kafka_bootstrap, bridge.topic("raw"), 1)
    assert [r.envelope["id"] for r in records] == [event_id]
    env = records[0].envelope
    assert env["body"] == b"hiyou"
    assert env["headers"]["x-custom"] == "1" and env["headers"]["content-type"] == "text/plain"
    assert not_sent not in env["headers"], f"{not_sent!r} was not sent, yet the envelope has {env['headers']}"
    assert "transfer-encoding" not in env["headers"] and "content-length" not in env["headers"], env["headers"]


def test_tls_listener_serves_https(start_bridge, kafka_bootstrap, tmp_path):
    """server.tls: the same endpoint over HTTPS, checked by a client that trusts only this certificate."""
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    bridge = start_bridge([{"id": "tls", "verify": hmac_verify()}],
                          server={"tls": {"certFile": str(cert), "keyFile": str(key)}})
    body = b'{"over":"tls"}'
    resp = requests.post(f"https://127.0.0.1:{bridge.port}/webhooks/tls", data=body, timeout=30, verify=str(cert),
                         headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})
    event_id = assert_ok_answer(resp)
    records = read_topic(kafka_bootstrap, bridge.topic("tls"), 1)
    assert [(r.envelope["id"], r.envelope["body"]) for r in records] == [(event_id, body)]
    # plain HTTP on the TLS port is not served as a webhook
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(f"http://127.0.0.1:{bridge.port}/webhooks/tls", data=body, timeout=10,
                      headers={"X-Sig": sign(SECRET, body)})
    # a client that does not trust the certificate refuses it
    with pytest.raises(requests.exceptions.SSLError):
        requests.post(f"https://127.0.0.1:{bridge.port}/webhooks/tls", data=body, timeout=10)


# ---- 3. algorithms and encodings ----

COMBOS = [("sha1", "hex", ""), ("sha256", "base64", "+/"), ("sha512", "base64url", "-_")]


def body_exercising(algorithm: str, encoding: str, chars: str) -> bytes:
    """A body whose signature uses the characters that set this encoding apart (base64's +/, base64url's -_)."""
    for n in range(10_000):
        body = json.dumps({"algorithm": algorithm, "encoding": encoding, "n": n}).encode()
        if not chars or any(c in sign(SECRET, body, algorithm, encoding) for c in chars):
            return body
    raise AssertionError("no such body")


@pytest.mark.parametrize("prefix", [False, True], ids=["bare", "alg-prefix"])
def test_each_algorithm_and_encoding_verifies(start_bridge, kafka_bootstrap, prefix):
    bridge = start_bridge([{"id": f"{alg}-{enc}", "verify": hmac_verify("X-Sig", alg, enc)} for alg, enc, _ in COMBOS])
    for algorithm, encoding, chars in COMBOS:
        endpoint_id = f"{algorithm}-{encoding}"
        body = body_exercising(algorithm, encoding, chars)
        signature = sign(SECRET, body, algorithm, encoding, prefix=prefix)
        assert signature.startswith(f"{algorithm}=") == prefix
        # the same signature under another algorithm's endpoint is refused: the algorithm is really checked
        other = next(f"{a}-{e}" for a, e, _ in COMBOS if a != algorithm)
        assert_error_response(bridge.post(other, body, headers={"X-Sig": signature}, signed=False), 401)

        event_id = assert_ok_answer(bridge.post(endpoint_id, body, headers={"X-Sig": signature}, signed=False))
        records = read_topic(kafka_bootstrap, bridge.topic(endpoint_id), 1)
        assert [(r.envelope["id"], r.envelope["body"], r.envelope["verified"]) for r in records] == [
            (event_id, body, f"hmac-{algorithm}")
        ]


# ---- 4. refusals ----


def test_bad_signatures_get_401_and_publish_nothing(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "main", "verify": hmac_verify("X-Hub-Signature")}])
    body = b'{"event":"push"}'
    forged = bridge.post("main", body, headers={"X-Hub-Signature": sign("not-the-secret", body)}, signed=False)
    assert_error_response(forged, 401, "Signature mismatch")
    tampered = bridge.post("main", body + b" ", headers={"X-Hub-Signature": sign(SECRET, body)}, signed=False)
    assert_error_response(tampered, 401, "Signature mismatch")
    garbage = bridge.post("main", body, headers={"X-Hub-Signature": "zz-not-hex"}, signed=False)
    assert_error_response(garbage, 401, "Signature mismatch")
    missing = bridge.post("main", body, signed=False)
    assert_error_response(missing, 401, "Missing header X-Hub-Signature")
    assert_nothing_published(bridge, kafka_bootstrap, "main")


def test_unknown_endpoint_gets_404_and_publishes_nothing(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "known", "verify": hmac_verify()}])
    body = b'{"event":"x"}'
    headers = {"Content-Type": "application/json", **bridge.signature_headers("known", body)}
    assert_error_response(requests.post(bridge.url("unknown"), data=body, headers=headers, timeout=30), 404)
    assert_error_response(requests.post(bridge.base_url + "/elsewhere", data=body, headers=headers, timeout=30), 404)
    assert_error_response(requests.post(bridge.url("known-not"), data=body, headers=headers, timeout=30), 404)
    assert not topic_exists(kafka_bootstrap, bridge.topic("unknown"))
    assert not topic_exists(kafka_bootstrap, bridge.topic("known-not"))
    assert_nothing_published(bridge, kafka_bootstrap, "known")


def json_of_size(size: int) -> bytes:
    """A JSON document (one string) of exactly size bytes."""
    return b'"' + b"j" * (size - 2) + b'"'


def test_body_over_max_body_size_gets_413_and_publishes_nothing(start_bridge, kafka_bootstrap):
    bridge = start_bridge(
        [{"id": "small", "maxBodySize": "1KiB", "verify": hmac_verify()}, {"id": "main", "verify": hmac_verify()}],
        server={"maxBodySize": "2KiB"},
    )
    plain = {"Content-Type": "text/plain"}
    # the endpoint's own limit, below the server's
    assert_error_response(bridge.post("small", b"s" * 1025, headers=plain), 413)
    assert_error_response(bridge.post("small", b"s" * 1500, headers=plain), 413)
    # above every limit (h2o refuses it before the body is read)
    assert_error_response(bridge.post("small", b"s" * 4096, headers=plain), 413)
    # the server-level limit applies to an endpoint without its own
    assert_error_response(bridge.post("main", b"m" * 2049, headers=plain), 413)
    assert_error_response(bridge.post("main", b"m" * 100_000, headers=plain), 413)
    # bodies exactly at the limits pass, and are the only records
    assert_nothing_published(bridge, kafka_bootstrap, "small", body=json_of_size(1024))
    assert_nothing_published(bridge, kafka_bootstrap, "main", body=json_of_size(2048))


def test_connection_stays_usable_after_refusals(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "main", "verify": hmac_verify()},
                           {"id": "small", "maxBodySize": "16", "verify": hmac_verify()}])
    body = b'{"event":"x"}'
    conn = http.client.HTTPConnection("127.0.0.1", bridge.port, timeout=30)
    conn.connect()
    local = conn.sock.getsockname()
    refusals = [
        ("/webhooks/main", body, {"X-Sig": sign("wrong", body)}, 401),
        ("/webhooks/main", body, {}, 401),
        ("/webhooks/nope", body, {}, 404),
        ("/webhooks/small", b"x" * 17, {"X-Sig": sign(SECRET, b"x" * 17)}, 413),
    ]
    for path, data, headers, status in refusals:
        conn.request("POST", path, body=data, headers={"Content-Type": "application/json", **headers})
        resp = conn.getresponse()
        assert_json_error(resp.status, resp.getheader("content-type", ""), resp.read(), status)
        assert not resp.will_close, f"{path}: the server asked to close the connection after {status}"
    conn.request("POST", "/webhooks/main", body=body,
                 headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})
    resp = conn.getresponse()
    answer = json.loads(resp.read())
    assert resp.status == 200, answer
    assert conn.sock is not None and conn.sock.getsockname() == local, "a new connection was opened"
    conn.close()
    records = read_topic(kafka_bootstrap, bridge.topic("main"), 1)
    assert [r.envelope["id"] for r in records] == [answer["id"]]


# ---- 5. the sender's delivery id ----


def test_event_id_header_gives_the_event_id(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "gh", "eventIdHeader": "X-Delivery", "verify": hmac_verify()}])
    delivery = f"delivery-{uuid.uuid4()}"
    body = b'{"action":"opened"}'
    first = assert_ok_answer(bridge.post("gh", body, headers={"x-delivery": delivery}))
    assert first == delivery
    # the sender's retry keeps the id: answered 2xx, and (deduplicate is on by default for it) not published again
    retry = bridge.post("gh", body, headers={"X-DELIVERY": delivery})
    assert retry.status_code == 200 and retry.json() == {"ok": True, "id": delivery, "duplicate": True}
    # without the header the bridge makes an id of its own
    generated = assert_ok_answer(bridge.post("gh", body))
    assert uuid.UUID(generated).version == 7

    records = read_topic(kafka_bootstrap, bridge.topic("gh"), 2)
    assert [(r.key, r.envelope["id"], r.headers["hookbridge-event-id"]) for r in records] == [
        (delivery.encode(), delivery, delivery.encode()),
        (generated.encode(), generated, generated.encode()),
    ]


# ---- 6. verify: none ----


def test_verify_none_accepts_unsigned_requests_and_warns(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "open", "verify": "none"}, {"id": "closed", "verify": hmac_verify()}])
    warnings = [line for line in bridge.log_lines() if line.get("level") == "warn" and line.get("endpoint") == "open"]
    assert len(warnings) == 1 and "verify: none" in warnings[0]["msg"], bridge.stderr_text()
    assert not [line for line in bridge.log_lines() if line.get("level") == "warn" and line.get("endpoint") == "closed"]

    body = b"unsigned=yes"
    event_id = assert_ok_answer(bridge.post("open", body, headers={"Content-Type": "application/x-www-form-urlencoded"},
                                            signed=False))
    records = read_topic(kafka_bootstrap, bridge.topic("open"), 1)
    assert [(r.envelope["id"], r.envelope["body"], r.envelope["verified"]) for r in records] == [
        (event_id, body, "none")
    ]
    # and the signed endpoint next to it still refuses unsigned requests
    assert_error_response(bridge.post("closed", body, signed=False), 401, "Missing header X-Sig")


# ---- 7. hookbridge check ----

BAD_CONFIG = """\
server:
  listen: ["127.0.0.1:0"]
  maxBodySize: lots
kafka:
  brokers: 127.0.0.1:9
  topik: "webhooks.{id}"
endpoints:
  - id: signed
    verify:
      headerName: X-Sig
      secret: s3cret
  - id: unsigned
    source: example.com
"""

# (the text the error points at, the start of its message)
BAD_CONFIG_ERRORS = [
    ("lots", 'server.maxBodySize must be a size such as 1MiB, 512KiB or 65536, not "lots"'),
    ("topik", 'unknown key "topik" in kafka'),
    ("id: unsigned", 'endpoint "unsigned" has no verify: it is compulsory'),
]


def expected_error_prefixes(path: Path, text: str) -> list[str]:
    """FILE:LINE:COL: message, the place found by looking for each error's text in the config."""
    prefixes = []
    lines = text.splitlines()
    for needle, message in BAD_CONFIG_ERRORS:
        (lineno,) = [i + 1 for i, line in enumerate(lines) if needle in line]
        col = lines[lineno - 1].index(needle) + 1
        prefixes.append(f"{path}:{lineno}:{col}: {message}")
    return prefixes


def error_lines(stderr: bytes, path: Path) -> list[str]:
    return [line for line in stderr.decode().splitlines() if re.match(rf"{re.escape(str(path))}:\d+:\d+: ", line)]


def test_check_reports_every_error_with_its_place(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG)
    result = run_hookbridge(["check", "-c", str(path)])
    assert result.returncode == 2, result
    found = error_lines(result.stderr, path)
    assert len(found) == 3, result.stderr.decode()
    for prefix, line in zip(expected_error_prefixes(path, BAD_CONFIG), found):
        assert line.startswith(prefix), f"expected {prefix!r}, got {line!r}"


def test_check_accepts_a_good_config(tmp_path):
    path = tmp_path / "good.yaml"
    path.write_text(BAD_CONFIG.replace("maxBodySize: lots", "maxBodySize: 1MiB").replace("topik", "topic")
                    .replace("    source: example.com", "    verify: none"))
    result = run_hookbridge(["check", "-c", str(path)])
    assert result.returncode == 0, result.stderr.decode()
    assert f"{path}: ok, 2 endpoints" in result.stdout.decode()
    assert "/webhooks/signed -> webhooks.signed" in result.stdout.decode()


def test_serve_refuses_a_bad_config_without_listening(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BAD_CONFIG)
    result = run_hookbridge(["serve", "-c", str(path)], timeout=30)
    assert result.returncode == 2, result
    assert len(error_lines(result.stderr, path)) == 3, result.stderr.decode()
    messages = [line.get("msg") for line in parse_log_lines(result.stderr.decode())]
    assert "listening" not in messages and "hookbridge ready" not in messages


# ---- 8. tail and decode ----


def expected_json(envelope: dict[str, Any]) -> dict[str, Any]:
    """What tail/decode print for an envelope: body as text when it is UTF-8, else bodyBase64."""
    out = {k: v for k, v in envelope.items() if k != "body"}
    try:
        out["body"] = envelope["body"].decode("utf-8")
    except UnicodeDecodeError:
        out["bodyBase64"] = base64.b64encode(envelope["body"]).decode()
    return out


def test_tail_prints_published_events_as_json_lines(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "text", "verify": hmac_verify()}, {"id": "binary", "verify": hmac_verify()}])
    text_body = json.dumps({"hello": "wörld", "n": 1}, ensure_ascii=False).encode()
    binary_body = b"\xff\xfe\x00\x80binary"
    text_id = assert_ok_answer(bridge.post("text", text_body))
    binary_id = assert_ok_answer(bridge.post("binary", binary_body, headers={"Content-Type": "image/png"}))

    text_records = read_topic(kafka_bootstrap, bridge.topic("text"), 1)
    binary_records = read_topic(kafka_bootstrap, bridge.topic("binary"), 1)
    assert [r.envelope["id"] for r in text_records] == [text_id]
    assert [r.envelope["id"] for r in binary_records] == [binary_id]

    text_lines = run_tail(bridge, kafka_bootstrap, "text")
    assert text_lines == [expected_json(text_records[0].envelope)]
    assert text_lines[0]["body"] == text_body.decode() and "bodyBase64" not in text_lines[0]

    binary_lines = run_tail(bridge, kafka_bootstrap, "binary")
    assert binary_lines == [expected_json(binary_records[0].envelope)]
    assert base64.b64decode(binary_lines[0]["bodyBase64"]) == binary_body and "body" not in binary_lines[0]


def test_decode_prints_a_record_value_as_json(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "dec", "verify": hmac_verify()}])
    body = b'{"decode":"me"}'
    event_id = assert_ok_answer(bridge.post("dec", body))
    records = read_topic(kafka_bootstrap, bridge.topic("dec"), 1)
    assert [r.envelope["id"] for r in records] == [event_id]

    result = run_hookbridge(["decode"], stdin=records[0].value)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.stdout) == expected_json(records[0].envelope)

    not_an_envelope = run_hookbridge(["decode"], stdin=b"\x93\x01\x02\x03")
    assert not_an_envelope.returncode != 0 and b"hookbridge decode:" in not_an_envelope.stderr


def test_sign_prints_the_header_a_sender_would_send(tmp_path):
    path = tmp_path / "sign.yaml"
    path.write_text(json.dumps({"endpoints": [
        {"id": "s", "verify": hmac_verify("X-Signature", "sha512", "base64")}]}))
    body = b'{"to":"sign"}\n\xff'
    result = run_hookbridge(["sign", "-c", str(path), "s"], stdin=body)
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode() == f"X-Signature: {sign(SECRET, body, 'sha512', 'base64')}\n"


def test_environment_overrides_the_file(tmp_path):
    """HOOKBRIDGE_* variables win over the file's keys, and their errors name them."""
    path = tmp_path / "env.yaml"
    path.write_text(json.dumps({"kafka": {"brokers": "127.0.0.1:9", "topic": "file.{id}"},
                                "endpoints": [{"id": "e", "verify": "none"}]}))
    env = {**os.environ, "HOOKBRIDGE_KAFKA_TOPIC": "from-env.{id}"}
    result = subprocess.run([hookbridge_path(), "check", "-c", str(path)], capture_output=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr.decode()
    assert "/webhooks/e -> from-env.e" in result.stdout.decode()
    env["HOOKBRIDGE_SERVER_MAX_BODY_SIZE"] = "lots"
    result = subprocess.run([hookbridge_path(), "check", "-c", str(path)], capture_output=True, env=env, timeout=60)
    assert result.returncode == 2
    assert f"{path}: $HOOKBRIDGE_SERVER_MAX_BODY_SIZE: server.maxBodySize" in result.stderr.decode()
    help_text = subprocess.run([hookbridge_path(), "--help"], capture_output=True, timeout=60).stdout.decode()
    assert "HOOKBRIDGE_KAFKA_BROKERS" in help_text and "HOOKBRIDGE_ADMIN_LISTEN" in help_text
