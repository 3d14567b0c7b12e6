"""Slow clients (issue 8, part 3): headers or a body trickled in are cut off after server.requestTimeout, while
other clients keep being served, also next to a few hundred idle or slow connections."""

from __future__ import annotations

import select
import socket
import time

import requests

from conftest import read_topic, sign
from stream import Steady

SECRET = "it-slowloris-secret"
VERIFY = {"headerName": "X-Sig", "secret": SECRET}
TIMEOUT_S = 2.0  # server.requestTimeout in these tests
CLOSED_BY_S = 8.0  # generous: the timer fires after TIMEOUT_S; a loaded 2-core machine may be late


def closed_now(sock: socket.socket, wait: float) -> bool:
    """True when the peer closed (EOF or reset) within wait seconds; any bytes it sends are read and dropped."""
    readable, _, _ = select.select([sock], [], [], wait)
    if not readable:
        return False
    try:
        return sock.recv(65536) == b""
    except (ConnectionResetError, BrokenPipeError):
        return True


def trickle(port: int, head: bytes, slow: bytes, interval: float = 0.5, limit: float = 30.0) -> float:
    """Connects, sends head at once, then slow one byte per interval; the seconds from connecting until the bridge
    closed the connection. Fails when it is still open after limit seconds or when slow runs out first."""
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        if head:
            sock.sendall(head)
        for i in range(len(slow)):
            try:
                sock.sendall(slow[i:i + 1])
            except (ConnectionResetError, BrokenPipeError):
                return time.monotonic() - start
            if closed_now(sock, interval):
                return time.monotonic() - start
            assert time.monotonic() - start < limit, "the slow connection is still open"
    raise AssertionError(f"sent all {len(slow)} slow bytes and the connection is still open")


def start(start_bridge):
    return start_bridge([{"id": "slow", "verify": VERIFY}], server={"requestTimeout": f"{TIMEOUT_S:g}s"})


REQUEST_HEAD = (b"POST /webhooks/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"X-Padding: " + b"p" * 200 + b"\r\n")


def test_slow_headers_are_cut_off_and_others_are_served(start_bridge, kafka_bootstrap):
    bridge = start(start_bridge)
    with Steady(bridge, "slow") as steady:
        took = trickle(bridge.port, b"", REQUEST_HEAD)
    print(f"slow headers: closed after {took:.2f}s (requestTimeout {TIMEOUT_S}s)")
    assert TIMEOUT_S - 0.5 <= took < CLOSED_BY_S
    assert steady.statuses and set(steady.statuses) == {200}, steady.statuses
    assert steady.slowest < 2.0
    records = read_topic(kafka_bootstrap, bridge.topic("slow"), len(steady.ids))
    assert sorted(r.envelope["id"] for r in records) == sorted(steady.ids)  # and nothing of the slow one


def test_a_slow_body_after_complete_headers_is_cut_off(start_bridge, kafka_bootstrap):
    bridge = start(start_bridge)
    body = b'{"slow":"' + b"x" * 100 + b'"}'
    head = REQUEST_HEAD + b"X-Sig: " + sign(SECRET, body).encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body)
    with Steady(bridge, "slow") as steady:
        took = trickle(bridge.port, head, body)
    print(f"slow body: closed after {took:.2f}s (requestTimeout {TIMEOUT_S}s)")
    assert TIMEOUT_S - 0.5 <= took < CLOSED_BY_S
    # and a chunked body trickled one chunk at a time
    chunked_head = REQUEST_HEAD + b"X-Sig: " + sign(SECRET, body).encode() + b"\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunks = b"".join(b"1\r\n%s\r\n" % body[i:i + 1] for i in range(len(body)))
    with Steady(bridge, "slow") as steady2:
        took = trickle(bridge.port, chunked_head, chunks, interval=0.1)
    print(f"slow chunked body: closed after {took:.2f}s")
    assert TIMEOUT_S - 0.5 <= took < CLOSED_BY_S
    statuses = steady.statuses + steady2.statuses
    assert statuses and set(statuses) == {200}, statuses
    records = read_topic(kafka_bootstrap, bridge.topic("slow"), len(steady.ids) + len(steady2.ids))
    assert sorted(r.envelope["id"] for r in records) == sorted(steady.ids + steady2.ids)


def test_a_request_in_time_is_not_cut_off(start_bridge, kafka_bootstrap):
    """The bound is on the whole request, not on silence: bytes a little slower than usual but done in time pass,
    and a keep-alive connection serves a second request after its first."""
    bridge = start(start_bridge)
    body = b'{"in":"time"}'
    raw = (b"POST /webhooks/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Sig: "
           + sign(SECRET, body).encode() + b"\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    with socket.create_connection(("127.0.0.1", bridge.port), timeout=10) as sock:
        for round_ in range(2):
            for i in range(0, len(raw), len(raw) // 5 + 1):  # in five pieces over ~1 s
                sock.sendall(raw[i:i + len(raw) // 5 + 1])
                time.sleep(0.2)
            data = b""
            while b"\r\n\r\n" not in data or not data.endswith(b"}\n"):
                chunk = sock.recv(65536)
                assert chunk, f"closed during round {round_}"
                data += chunk
            assert data.startswith(b"HTTP/1.1 200"), data[:200]
        # and an idle keep-alive connection is closed after the timeout
        t0 = time.monotonic()
        assert closed_now(sock, CLOSED_BY_S)
        assert time.monotonic() - t0 >= TIMEOUT_S - 0.5


def test_hundreds_of_idle_and_slow_connections_do_not_stop_a_normal_client(start_bridge, kafka_bootstrap):
    bridge = start(start_bridge)
    conns: list[socket.socket] = []
    try:
        opened = time.monotonic()
        for i in range(200):
            sock = socket.create_connection(("127.0.0.1", bridge.port), timeout=10)
            if i % 2:
                sock.sendall(REQUEST_HEAD[:20])  # a request begun, never finished
            conns.append(sock)
        # the slow half keeps trickling while a normal client posts
        ids = []
        for n in range(10):
            for sock in conns[1::2]:
                try:
                    sock.sendall(b"x")
                except OSError:
                    pass
            body = b'{"normal":%d}' % n
            t0 = time.monotonic()
            resp = requests.post(bridge.url("slow"), data=body, timeout=10,
                                 headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body)})
            assert resp.status_code == 200, resp.text
            assert time.monotonic() - t0 < 2.0
            ids.append(resp.json()["id"])
            time.sleep(0.1)
        # every one of the 200 is closed by the bridge in time
        deadline = opened + CLOSED_BY_S + 2
        still_open = list(conns)
        while still_open and time.monotonic() < deadline:
            still_open = [s for s in still_open if not closed_now(s, 0.0)]
            time.sleep(0.1)
        assert still_open == [], f"{len(still_open)} of 200 connections still open"
        records = read_topic(kafka_bootstrap, bridge.topic("slow"), len(ids))
        assert sorted(r.envelope["id"] for r in records) == sorted(ids)
        assert bridge.proc.poll() is None
    finally:
        for sock in conns:
            sock.close()
