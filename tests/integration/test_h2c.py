"""server.h2c: HTTP/2 in cleartext, opt-in (issue 7), and what it must withstand (issue 8, part 3): many streams on
one connection, stream-reset floods, slow frames. h2o 2.2.5 predates the HTTP/2 Rapid Reset fix; docs/security.md
says what the bridge adds and what is left."""

from __future__ import annotations

import json
import os
import signal
import select
import socket
import ssl
import subprocess
import threading
import time
from typing import Optional

import h2.config
import h2.connection
import h2.events
from hpack import Encoder, NeverIndexedHeaderTuple
from hyperframe.frame import DataFrame, HeadersFrame, PingFrame, RstStreamFrame, SettingsFrame

from conftest import read_topic, sign
from stream import Steady

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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process (every thread), from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def closed_now(sock: socket.socket, wait: float) -> bool:
    """True when the peer closed (EOF or reset) within wait seconds; bytes it sends meanwhile are read and dropped."""
    deadline = time.monotonic() + wait
    while True:
        readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            return False
        try:
            if sock.recv(65536) == b"":
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True


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


def check_steady(steady: Steady, kafka_bootstrap: str) -> None:
    """The steady sender got 200 every time, never waited 3 s, and each of its events is in Kafka."""
    assert steady.statuses and set(steady.statuses) == {200}, steady.statuses
    assert steady.slowest < 3.0, steady.slowest
    got = [i for i, _ in ids_and_bodies(kafka_bootstrap, steady.bridge, "steady", len(steady.ids))]
    assert got == sorted(steady.ids)


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


# ---- stream-reset floods ----


def reset_flood(port: int, pairs: int, path: str, end_stream: bool, headers: Optional[list] = None) -> dict:
    """
    One connection: the preface, then `pairs` HEADERS, each followed at once by a RST_STREAM for its stream, written
    as fast as the socket takes them (built beforehand, so Python is not the bottleneck), then one plain GET as a
    sentinel. Answers are read (and dropped) all along, so the bridge is never held up by a full socket. Returns
    whether the sentinel was answered, and whether and when the bridge closed the connection.
    """
    encoder = Encoder()
    fields = [NeverIndexedHeaderTuple(k, v) for k, v in
              [(":method", "POST"), (":scheme", "http"), (":path", path), (":authority", "127.0.0.1"),
               ("content-type", "application/json"), *(headers or [])]]
    block = encoder.encode(fields)  # literal, never indexed: the same bytes fit every stream
    parts = [PREFACE, SettingsFrame(0).serialize()]
    for i in range(pairs):
        sid = 2 * i + 1
        frame = HeadersFrame(sid, data=block, flags=["END_HEADERS", *(["END_STREAM"] if end_stream else [])])
        parts += [frame.serialize(), RstStreamFrame(sid, error_code=8).serialize()]  # CANCEL
    sentinel = 2 * pairs + 1
    get = encoder.encode([NeverIndexedHeaderTuple(k, v) for k, v in
                          [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "127.0.0.1")]])
    parts.append(HeadersFrame(sentinel, data=get, flags=["END_HEADERS", "END_STREAM"]).serialize())
    blob = b"".join(parts)

    result = {"sentinel": False, "closed": False}
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    done = threading.Event()

    def reader() -> None:
        buf = b""
        while True:
            try:
                data = sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                result["closed"] = True
                break
            buf += data
            while len(buf) >= 9:  # frame by frame: the sentinel's HEADERS is its answer
                length = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + length:
                    break
                if buf[3] == 1 and int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF == sentinel:
                    result["sentinel"] = True
                    done.set()
                buf = buf[9 + length:]
        done.set()

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    t0 = time.monotonic()
    try:
        sock.sendall(blob)
    except OSError:
        pass  # closed by the bridge mid-flood
    done.wait(30)
    result["seconds"] = time.monotonic() - t0
    sock.close()
    thread.join(5)
    return result


def test_stream_reset_floods_leave_the_bridge_serving_with_bounded_cpu(start_bridge, kafka_bootstrap):
    bridge = start_bridge(ENDPOINTS, server={"h2c": True})
    pid = bridge.proc.pid
    pairs = 20_000
    with Steady(bridge, "steady") as steady:
        time.sleep(0.3)
        cpu0 = cpu_seconds(pid)
        # streams that would carry a body, reset before it: they never reach the handler
        bodiless = reset_flood(bridge.port, pairs, "/webhooks/h2", end_stream=False)
        cpu1 = cpu_seconds(pid)
        # complete requests (no body, unsigned), reset at once: each is answered 401 before its reset is read
        unsigned = reset_flood(bridge.port, pairs, "/webhooks/h2", end_stream=True)
        cpu2 = cpu_seconds(pid)
        time.sleep(0.5)
    print(f"\nreset flood, {pairs} HEADERS+RST_STREAM pairs per connection: "
          f"streams awaiting a body: bridge CPU {cpu1 - cpu0:.2f}s, sent and answered in {bodiless['seconds']:.2f}s; "
          f"complete unsigned requests: bridge CPU {cpu2 - cpu1:.2f}s, {unsigned['seconds']:.2f}s")
    # h2o keeps such a connection open (2.2.5 counts no resets) and answers the request that follows the flood
    assert bodiless["sentinel"] and unsigned["sentinel"], (bodiless, unsigned)
    assert cpu2 - cpu0 < 10.0  # generous: about 0.1 s here; the bound is that it is proportional, not a timing
    assert bridge.proc.poll() is None
    check_steady(steady, kafka_bootstrap)
    assert read_topic(kafka_bootstrap, bridge.topic("h2"), 0, timeout=5) == []


def test_requests_reset_while_in_flight_close_the_connection(start_bridge, kafka_bootstrap):
    """The Rapid Reset pattern that costs us something: complete, signed requests (an empty body signed once and
    replayed), each reset right after it was sent. Its record is produced all the same, and the stream no longer
    counts against the client's 100 concurrent streams; past 100 such resets the bridge closes the connection and
    answers nothing more on it."""
    bridge = start_bridge(ENDPOINTS, server={"h2c": True})
    pid = bridge.proc.pid
    with Steady(bridge, "steady") as steady:
        cpu0 = cpu_seconds(pid)
        flood = reset_flood(bridge.port, 20_000, "/webhooks/h2", end_stream=True,
                            headers=[("x-sig", sign(SECRET, b""))])
        cpu1 = cpu_seconds(pid)
        time.sleep(0.5)
    print(f"\nreset flood of signed requests: connection closed={flood['closed']} after {flood['seconds']:.2f}s, "
          f"bridge CPU {cpu1 - cpu0:.2f}s")
    assert flood["closed"] and not flood["sentinel"]
    assert any(line.get("msg") == "closing an HTTP/2 connection" and "reset more than 100" in line.get("reason", "")
               for line in bridge.log_lines())
    published = read_topic(kafka_bootstrap, bridge.topic("h2"), 1, timeout=10)
    print(f"records published from the flood's 20000 requests: {len(published)}")
    # 101 when every reset is read in the same batch as its request; a report handled in between makes a request
    # answered rather than abandoned, so allow some slack, far below the 20,000 without the limit
    assert 1 <= len(published) <= 200
    assert cpu1 - cpu0 < 10.0
    check_steady(steady, kafka_bootstrap)


# ---- slow HTTP/2 clients ----


def h2_headers_bytes(body: bytes, end_stream: bool) -> bytes:
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    conn.data_to_send()
    conn.send_headers(1, [(":method", "POST"), (":scheme", "http"), (":path", "/webhooks/h2"),
                          (":authority", "127.0.0.1"), ("content-type", "application/json"),
                          ("x-sig", sign(SECRET, body)), ("content-length", str(len(body))),
                          ("x-padding", "p" * 100)], end_stream=end_stream)
    return conn.data_to_send()


def held_open(port: int, first: bytes, drip: list[bytes], interval: float, limit: float) -> float:
    """Sends first, then each of drip every interval; the seconds until the bridge closed the connection."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(first)
        for piece in drip:
            try:
                sock.sendall(piece)
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - start
            if closed_now(sock, interval):
                return time.monotonic() - start
            assert time.monotonic() - start < limit, "the slow HTTP/2 connection is still open"
    raise AssertionError("ran out of bytes to drip with the connection still open")


def test_slow_http2_requests_are_cut_off_after_the_request_timeout(start_bridge, kafka_bootstrap):
    """h2o 2.2.5 restarts its HTTP/2 idle timer on every read; server.requestTimeout (2 s here) still applies."""
    bridge = start_bridge(ENDPOINTS, server={"h2c": True, "requestTimeout": "2s"})
    start = PREFACE + SettingsFrame(0).serialize()
    body = b'{"slow":"' + b"x" * 60 + b'"}'
    with Steady(bridge, "steady") as steady:
        # a HEADERS frame a byte at a time
        headers = h2_headers_bytes(body, end_stream=False)
        took_headers = held_open(bridge.port, start, [headers[i:i + 1] for i in range(len(headers))], 0.3, 15)
        # complete headers, then the body a byte per DATA frame
        drip = [DataFrame(1, data=body[i:i + 1]).serialize() for i in range(len(body))]
        took_body = held_open(bridge.port, start + headers, drip, 0.5, 15)
        # no request at all, only PINGs
        pings = [PingFrame(0, opaque_data=b"%08d" % i).serialize() for i in range(60)]
        took_pings = held_open(bridge.port, start, pings, 0.3, 15)
    print(f"\nslow HTTP/2, requestTimeout 2s: trickled HEADERS closed after {took_headers:.2f}s, trickled body "
          f"after {took_body:.2f}s, PINGs only after {took_pings:.2f}s")
    for took in (took_headers, took_body, took_pings):
        assert 1.5 <= took < 8.0
    check_steady(steady, kafka_bootstrap)
    assert read_topic(kafka_bootstrap, bridge.topic("h2"), 0, timeout=5) == []


def test_an_http2_connection_that_keeps_sending_requests_stays_open(start_bridge, kafka_bootstrap):
    bridge = start_bridge(ENDPOINTS, server={"h2c": True, "requestTimeout": "2s"})
    client = H2Client(bridge.port)
    try:
        sids = []
        for n in range(6):  # 6 s, three times the request timeout, one connection
            body = b'{"keepalive":%d}' % n
            sids.append(client.post("/webhooks/h2", body, signed(body)))
            client.wait(sids[-1:])
            answered = time.monotonic()
            time.sleep(1.0)
        assert [client.answers[s]["status"] for s in sids] == [200] * 6
        # idle from the last answer: h2o's idle timer (requestTimeout) closes it, with a GOAWAY
        events, t0 = [], answered
        client.sock.settimeout(8.0)
        while True:
            data = client.sock.recv(65536)
            if not data:
                break
            events += client.conn.receive_data(data)
        assert 1.5 <= time.monotonic() - t0 < 8.0
        assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events), events
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
