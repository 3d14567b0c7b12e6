"""Bad input and abuse: a clear answer, the process unharmed, other clients served (issue 8, part 3)."""

from __future__ import annotations

import socket

import requests

from conftest import raw_exchange, read_topic, sign

SECRET = "it-abuse-secret"
VERIFY = {"headerName": "X-Sig", "secret": SECRET}


def exchange(bridge, raw: bytes, timeout: float = 15):
    """One raw request on a fresh connection: (status, headers, body), or None when the bridge closed it."""
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=timeout) as sock:
        return raw_exchange(sock, raw)


def still_serving(bridge, kafka_bootstrap) -> None:
    body = b'{"still":"here"}'
    resp = requests.post(bridge.url("abuse"), data=body, timeout=30,
                         headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})
    assert resp.status_code == 200, resp.text
    assert bridge.proc.poll() is None


def test_malformed_requests_get_an_answer_or_a_close_and_nothing_breaks(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "abuse", "verify": VERIFY, "maxBodySize": "64KiB"}],
                          server={"maxBodySize": "64KiB"})
    cases = {
        "garbage request line": b"HELLO\r\n\r\n",
        "no HTTP version": b"POST /webhooks/abuse\r\n\r\n",
        "bad header line": b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        "bad content-length": b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        "unknown transfer-encoding": b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        "bad chunk size": b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    }
    for name, raw in cases.items():
        answer = exchange(bridge, raw)
        assert answer is None or 400 <= answer[0] < 500, (name, answer)
        still_serving(bridge, kafka_bootstrap)


def test_oversized_headers_and_bodies(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "abuse", "verify": VERIFY, "maxBodySize": "64KiB"}],
                          server={"maxBodySize": "64KiB"})
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(1000))
    answer = exchange(bridge, b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\n" + many + b"Content-Length: 0\r\n\r\n")
    assert answer is None or answer[0] in (400, 401, 431), answer  # refused or unsigned: never published
    huge = b"X-Big: " + b"a" * (1 << 20) + b"\r\n"
    answer = exchange(bridge, b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\n" + huge + b"Content-Length: 0\r\n\r\n")
    assert answer is None or 400 <= answer[0] < 500, answer
    # a chunked body past the limit: 413 before it is all read (the rest is never sent here)
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=15) as sock:
        sock.sendall(b"POST /webhooks/abuse HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        chunk = b"%x\r\n%s\r\n" % (32768, b"x" * 32768)
        for _ in range(3):  # 96 KiB > 64 KiB, and no terminating chunk
            sock.sendall(chunk)
        data = b""
        while b"\r\n\r\n" not in data:
            got = sock.recv(65536)
            if not got:
                break
            data += got
        assert data.startswith(b"HTTP/1.1 413"), data[:100]
    still_serving(bridge, kafka_bootstrap)


def test_hostile_bodies_and_paths(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "abuse", "verify": VERIFY,
                            "triggers": [{"name": "k", "filter": {"body": {"k": ["v"]}}}]}])

    def post(body: bytes, path: str = "/webhooks/abuse") -> requests.Response:
        return requests.post(f"{bridge.base_url}{path}", data=body, timeout=30,
                             headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})

    # bodies that do not parse (or too deep) make body filters not match: 200, not published, the bridge fine
    for body in (b"\xff\xfe{\"k\":\"v\"}", b"[" * 10000 + b"]" * 10000):
        resp = post(body)
        assert resp.status_code == 200 and resp.json() == {"ok": True, "published": False}, (body[:20], resp.text)
    # 1e400 is Infinity, as JSON.parse reads it: the body parses and is published
    infinite = post(b'{"k":"v","n":1e400}').json()["id"]
    # duplicate keys: the last one wins, as JSON.parse
    assert post(b'{"k":"x","k":"v"}').json()["ok"] is True and "id" in post(b'{"k":"v","k":"v"}').json()
    # a path that tries to climb out is normalised: no endpoint "..", no file served
    for path in ("/webhooks/../etc/passwd", "/webhooks/%2e%2e/abuse", "/../webhooks/abuse/../../x"):
        resp = post(b'{"k":"v"}', path)
        assert resp.status_code in (200, 404), (path, resp.status_code)
        assert b"root:" not in resp.content
    records = read_topic(kafka_bootstrap, bridge.topic("abuse"), 3)
    assert all(r.envelope["json"]["k"] == "v" for r in records)
    assert [r.envelope["json"]["n"] for r in records if r.envelope["id"] == infinite] == [float("inf")]
    still_serving(bridge, kafka_bootstrap)
