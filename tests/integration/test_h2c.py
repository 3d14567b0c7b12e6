"""server.h2c: HTTP/2 in cleartext, opt-in (issue 7): prior knowledge and Upgrade, off by default, never on TLS,
many streams on one connection, a GOAWAY on drain."""

from __future__ import annotations

import json
import signal
import socket
import ssl
import subprocess
import time
from typing import Optional

import h2.config
import h2.connection
import h2.events
from hyperframe.frame import SettingsFrame

from conftest import read_topic, sign

SECRET = "it-h2c-secret"
VERIFY = {"headerName": "X-Sig", "secret": SECRET}
ENDPOINTS = [{"id": "h2", "verify": VERIFY}, {"id": "steady", "verify": VERIFY}]
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"


def curl(args: list[str], body: bytes) -> tuple[str, int, bytes]:
    """curl (Debian's, built with nghttp2) posting body; (HTTP version, status, response body)."""
    result = subprocess.run(["curl", "-sS", "-o", "-", "-w", "\n%{http_version} %{http_code}", "--data-binary", "@-",
                             "-H", "Content-Type: application/json", *args], input=body, capture_output=True,
                            timeout=30)
    out, _, tail = result.stdout.rpartition(b"\n")
    version, code = tail.decode().split()
    return version, int(code), out


class H2Client:
    """A plain HTTP/2 client on one connection (python-h2 over a socket): send requests, then collect answers."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.answers: dict[int, dict] = {}

    def post(self, path: str, body: bytes, headers: Optional[dict[str, str]] = None) -> int:
        sid = self.conn.get_next_available_stream_id()
        self.conn.send_headers(sid, [(":method", "POST"), (":scheme", "http"), (":path", path),
                                     (":authority", "127.0.0.1"), ("content-type", "application/json"),
                                     *(headers or {}).items()])
        self.conn.send_data(sid, body, end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        self.answers[sid] = {"status": None, "body": b"", "done": False}
        return sid

    def wait(self, sids: list[int], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not all(self.answers[s]["done"] for s in sids):
            assert time.monotonic() < deadline, "HTTP/2 answers did not all come"
            self.sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = self.sock.recv(65536)
            assert data, "the bridge closed the HTTP/2 connection"
            for event in self.conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived):
                    self.answers[event.stream_id]["status"] = int(dict(event.headers)[":status"])
                elif isinstance(event, h2.events.DataReceived):
                    self.answers[event.stream_id]["body"] += event.data
                    self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
                elif isinstance(event, (h2.events.StreamEnded, h2.events.StreamReset)):
                    self.answers[event.stream_id]["done"] = True
            self.sock.sendall(self.conn.data_to_send())

    def close(self) -> None:
        self.sock.close()


def signed(body: bytes) -> dict[str, str]:
    return {"X-Sig": sign(SECRET, body)}


def ids_and_bodies(kafka_bootstrap: str, bridge, endpoint: str, count: int) -> list[tuple[str, bytes]]:
    return sorted((r.envelope["id"], r.envelope["body"])
                  for r in read_topic(kafka_bootstrap, bridge.topic(endpoint), count))


# ---- on and off ----


def test_h2c_prior_knowledge_and_upgrade_are_published(start_bridge, kafka_bootstrap):
    bridge = start_bridge(ENDPOINTS, server={"h2c": True})
    assert any(line.get("msg") == "listening" and line.get("protocols") == "http/1.1, h2c" for line in bridge.log_lines())
    prior, upgrade = b'{"via":"prior knowledge"}', b'{"via":"upgrade","n":[1,2]}'
    version, status, answer = curl(["--http2-prior-knowledge", "-H", f"X-Sig: {sign(SECRET, prior)}",
                                    bridge.url("h2")], prior)
    assert (version, status) == ("2", 200), answer
    prior_id = json.loads(answer)["id"]
    version, status, answer = curl(["--http2", "-H", f"X-Sig: {sign(SECRET, upgrade)}", bridge.url("h2")], upgrade)
    assert (version, status) == ("2", 200), answer
    upgrade_id = json.loads(answer)["id"]
    # a bad signature over HTTP/2: 401 with its reason, nothing published
    version, status, answer = curl(["--http2-prior-knowledge", "-H", "X-Sig: 00", bridge.url("h2")], b'{"bad":1}')
    assert (version, status) == ("2", 401) and b"Signature mismatch" in answer, answer
    records = read_topic(kafka_bootstrap, bridge.topic("h2"), 2)
    assert sorted((r.envelope["id"], r.envelope["body"]) for r in records) == sorted(
        [(prior_id, prior), (upgrade_id, upgrade)])
    # the envelope is the one HTTP/1.1 makes: no framing headers, the authority as host, nothing of the upgrade
    for r in records:
        headers = r.envelope["headers"]
        assert not {"content-length", "connection", "http2-settings", "upgrade"} & set(headers), headers
        assert headers["host"].startswith("127.0.0.1") and headers["x-sig"] == sign(SECRET, r.envelope["body"])
        assert r.envelope["method"] == "POST" and r.envelope["path"] == "/webhooks/h2"


def test_without_h2c_http2_is_refused(start_bridge, kafka_bootstrap):
    """Off by default: the HTTP/2 preface gets an HTTP/1.1 400, an Upgrade: h2c is ignored (answered in HTTP/1.1)."""
    bridge = start_bridge(ENDPOINTS)
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=10) as sock:
        sock.sendall(PREFACE + SettingsFrame(0).serialize())
        data = b""
        while len(data) < 12:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.startswith(b"HTTP/1.1 400"), data[:100]
    result = subprocess.run(["curl", "-sS", "--http2-prior-knowledge", "-d", "{}", bridge.url("h2")],
                            capture_output=True, timeout=30)
    assert result.returncode != 0, result.stdout  # curl gets no HTTP/2 from it
    body = b'{"upgrade":"ignored"}'
    version, status, answer = curl(["--http2", "-H", f"X-Sig: {sign(SECRET, body)}", bridge.url("h2")], body)
    assert (version, status) == ("1.1", 200), answer
    event_id = json.loads(answer)["id"]
    assert ids_and_bodies(kafka_bootstrap, bridge, "h2", 1) == [(event_id, body)]


def test_tls_listeners_stay_http1(start_bridge, kafka_bootstrap, tmp_path):
    """No ALPN h2 on a TLS listener, and the HTTP/2 preface inside TLS is refused as well."""
    cert, key = tmp_path / "tls.crt", tmp_path / "tls.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    bridge = start_bridge(ENDPOINTS, server={"tls": {"certFile": str(cert), "keyFile": str(key)}})
    context = ssl.create_default_context(cafile=str(cert))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.selected_alpn_protocol() in (None, "http/1.1")
            tls.sendall(PREFACE + SettingsFrame(0).serialize())
            assert tls.recv(65536).startswith(b"HTTP/1.1 400")


# ---- many streams ----


def test_100_concurrent_streams_on_one_connection_are_all_published(start_bridge, kafka_bootstrap):
    bridge = start_bridge(ENDPOINTS, server={"h2c": True})
    client = H2Client(bridge.port)
    try:
        bodies = {}
        for n in range(100):  # every request sent before the first answer is read
            body = b'{"stream":%d}' % n
            bodies[client.post("/webhooks/h2", body, signed(body))] = body
        client.wait(list(bodies))
        statuses = [client.answers[s]["status"] for s in bodies]
        assert statuses == [200] * 100, statuses
        expected = sorted((json.loads(client.answers[s]["body"])["id"], b)
                          for s, b in bodies.items())
        assert ids_and_bodies(kafka_bootstrap, bridge, "h2", 100) == expected
        # and the connection goes on serving
        body = b'{"after":"100"}'
        sid = client.post("/webhooks/h2", body, signed(body))
        client.wait([sid])
        assert client.answers[sid]["status"] == 200
    finally:
        client.close()


def test_drain_sends_goaway_on_http2_connections(start_bridge, kafka_bootstrap):
    """SIGTERM: an HTTP/2 client is told with a GOAWAY to take its next requests elsewhere; the bridge exits 0."""
    bridge = start_bridge(ENDPOINTS, server={"h2c": True})
    client = H2Client(bridge.port)
    try:
        body = b'{"before":"drain"}'
        sid = client.post("/webhooks/h2", body, signed(body))
        client.wait([sid])
        assert client.answers[sid]["status"] == 200
        bridge.proc.send_signal(signal.SIGTERM)
        goaway, deadline = None, time.monotonic() + 10
        while goaway is None and time.monotonic() < deadline:
            client.sock.settimeout(max(0.1, deadline - time.monotonic()))
            data = client.sock.recv(65536)
            if not data:
                break
            goaway = next((e for e in client.conn.receive_data(data)
                           if isinstance(e, h2.events.ConnectionTerminated)), None)
        assert goaway is not None and goaway.error_code == 0, goaway
        assert bridge.proc.wait(20) == 0
    finally:
        client.close()
