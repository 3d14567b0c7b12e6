"""The admin port's status page (GET /) in headless Chromium, against the real broker.

Debian's `chromium` (/usr/bin/chromium, or $CHROMIUM) is driven by playwright-core from ui/node_modules (`npm ci`
in ui/) through ui/test/status-page-driver.mjs, a node process that answers JSON-line commands. The page renders
its endpoints with their embedded icons, makes no request beyond the admin origin, updates its counters and its
table of recent requests in place when a webhook comes in, and its example button publishes a test run.
"""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import ROOT, free_port, read_topic, sign, wait_for

SECRET = "it-status-page-secret-41"
DRIVER = ROOT / "ui" / "test" / "status-page-driver.mjs"
CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Markup in the configuration must come out as text: were it parsed, the img would request /x on the admin
# origin and its onerror would set window.__xss.
TITLE = 'GitHub <b>pushes</b> & "tags"'
EXAMPLE_NAME = "A push <img src=x onerror=window.__xss=1>"


class PageDriver:
    """The node driver of the page: call("cmd", **args) sends one JSON line and returns the answer's JSON."""

    def __init__(self, admin_origin: str, stderr_path: Path):
        self._stderr = open(stderr_path, "w")
        self.stderr_path = stderr_path
        self.proc = subprocess.Popen(
            ["node", str(DRIVER), admin_origin], cwd=ROOT / "ui", stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=self._stderr, text=True, env={**os.environ, "CHROMIUM": CHROMIUM})
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put("")  # EOF

    def call(self, cmd: str, timeout: float = 60.0, **args: Any) -> dict[str, Any]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": cmd, **args}) + "\n")
        self.proc.stdin.flush()
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"the page driver did not answer {cmd} within {timeout:.0f}s:\n{self.stderr()}")
        if not line:
            raise AssertionError(f"the page driver exited ({self.proc.poll()}) on {cmd}:\n{self.stderr()}")
        answer = json.loads(line)
        assert answer.pop("ok"), f"{cmd}: {answer.get('error')}"
        return answer

    def stderr(self) -> str:
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.call("close", timeout=20)
                self.proc.wait(timeout=20)
            except (AssertionError, OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


@pytest.fixture
def page_driver(tmp_path: Path):
    """Factory: page_driver("http://127.0.0.1:PORT") starts the driver (and Chromium); closed at teardown."""
    missing = [what for what, ok in (
        ("node (Debian's nodejs)", shutil.which("node") is not None),
        (f"Chromium at {CHROMIUM} (Debian's chromium)", os.access(CHROMIUM, os.X_OK)),
        ("ui/node_modules/playwright-core (npm ci in ui/)", (ROOT / "ui/node_modules/playwright-core").is_dir()),
    ) if not ok]
    if missing:
        pytest.fail("the status page test needs " + ", ".join(missing) + ": ./dev test installs them")
    drivers: list[PageDriver] = []

    def start(origin: str) -> PageDriver:
        driver = PageDriver(origin, tmp_path / f"driver{len(drivers)}.stderr")
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.close()


def by_id(state: dict[str, Any], endpoint_id: str) -> dict[str, Any]:
    return next(ep for ep in state["endpoints"] if ep["id"] == endpoint_id)


def assert_only_admin_origin(state: dict[str, Any], origin: str, expected_errors: tuple[str, ...] = ()) -> None:
    """Every request the page made went to the admin origin; no console error (a CSP violation would be one) but
    those expected (Chromium logs every non-2xx answer to a fetch as one)."""
    urls = [r["url"] for r in state["requests"]]
    assert urls and all(u == origin or u.startswith(origin + "/") for u in urls), urls
    assert state["errors"] == list(expected_errors), state["errors"]


def test_status_page_renders_updates_in_place_and_sends_examples(start_bridge, kafka_bootstrap, page_driver,
                                                                  tmp_path):
    port = free_port()
    origin = f"http://127.0.0.1:{port}"
    bridge = start_bridge([
        {"id": "gh", "title": TITLE, "icon": "brand-github", "verify": {"provider": "github", "secret": SECRET},
         "examples": [{"id": "push", "name": EXAMPLE_NAME, "payload": {"ref": "refs/heads/main", "n": 1}}]},
        {"id": "keyed", "icon": "no-such-tabler-icon", "verify": {"provider": "discord", "publicKey": "a" * 64},
         "examples": [{"id": "ping", "name": "Ping", "payload": {"type": 1}}]},
        {"id": "gh-too", "title": "Same icon", "icon": "brand-github", "verify": "none"}],
        server={"publicUrl": "https://hooks.example.com/"}, admin={"listen": f"127.0.0.1:{port}"})
    wait_for(lambda: requests.get(f"{origin}/readyz", timeout=10).status_code == 200, 30, "/readyz 200")

    # The document itself: self-contained, so no http(s) URL at all (the endpoints' URLs come from the API, as
    # data); the configured icon that Tabler has is embedded, the unknown one is not.
    doc = requests.get(origin + "/", timeout=10)
    assert doc.status_code == 200 and doc.headers["content-type"] == "text/html; charset=utf-8"
    html = doc.text
    assert not re.search(r"https?://", html, re.I), re.search(r".{60}https?://.{60}", html, re.I | re.S)
    assert not re.search(r"""\b(src|href)\s*=\s*(?!["']?data:)""", html, re.I), "the page loads nothing by URL"
    icons = json.loads(re.search(r'<script id="icons" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert list(icons) == ["brand-github"]  # once, though two endpoints use it
    assert icons["brand-github"].startswith("<svg") and "<path" in icons["brand-github"]
    assert "\\u003csvg" in html and "<svg" not in html  # no markup inside the <script> element

    page = page_driver(origin)
    loaded = page.call("load", width=1280)
    assert loaded["status"] == 200 and "/*ICONS*/" not in loaded["html"]
    gh, keyed = by_id(loaded, "gh"), by_id(loaded, "keyed")
    assert [ep["id"] for ep in loaded["endpoints"]] == ["gh", "keyed", "gh-too"]
    assert by_id(loaded, "gh-too")["icon"] == gh["icon"] and by_id(loaded, "gh-too")["title"] == "Same icon"
    # titles as text (markup shown, not parsed); no title: the id
    assert gh["title"] == TITLE and gh["heading"] == TITLE and gh["labelledBy"] == TITLE
    assert keyed["title"] == "keyed" and keyed["heading"] == "keyed"
    # the embedded GitHub mark rendered as SVG, drawn in the text colour; the unknown icon is a placeholder
    assert gh["icon"]["svg"] and gh["icon"]["namespace"] == "http://www.w3.org/2000/svg", gh["icon"]
    assert gh["icon"]["paths"] >= 1 and gh["icon"]["width"] > 10 and gh["icon"]["height"] > 10, gh["icon"]
    assert gh["icon"]["stroke"] not in ("", "none"), gh["icon"]
    assert keyed["icon"] == {"svg": False, "placeholder": True, "text": ""}, keyed["icon"]
    # what to paste into the provider and how it is verified
    api = {ep["id"]: ep for ep in requests.get(f"{origin}/api/endpoints", timeout=10).json()["endpoints"]}
    assert gh["url"] == "https://hooks.example.com/webhooks/gh" and gh["copyButton"] == "Copy"
    for shown in (gh, keyed):
        want = api[shown["id"]]
        assert (shown["url"], shown["verify"], shown["source"], shown["topics"]) == (
            want["url"], want["verify"], want["source"], want["topics"]), (shown, want)
    assert gh["topics"] == [bridge.topic("gh")] and gh["verify"] == "github"
    assert gh["examples"] == [{"id": "push", "text": f"Send “{EXAMPLE_NAME}”"}]
    assert gh["headers"] == [["Time", "col"], ["Status", "col"], ["Outcome", "col"], ["Reason", "col"],
                             ["Latency (ms)", "col"]]
    assert gh["counters"] == {"published": 0, "responded": 0, "filtered_out": 0, "rejected": 0, "too_large": 0,
                              "unavailable": 0}
    assert gh["rows"] == [] and loaded["marker"] == "loaded-once"
    assert_only_admin_origin(loaded, origin)

    # A webhook and a forged one from outside: the page shows them at its next poll, without reloading.
    body = b'{"ref":"refs/heads/dev"}'
    ok = requests.post(bridge.url("gh"), data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Hub-Signature-256": sign(SECRET, body, prefix=True)})
    assert ok.status_code == 200, ok.text
    forged = requests.post(bridge.url("gh"), data=body, timeout=30, headers={"X-Hub-Signature-256": "sha256=00"})
    assert forged.status_code == 401, forged.text
    moved = page.call("wait_counter", endpoint="gh", counter="rejected", value=1, rows=2)
    gh = by_id(moved, "gh")
    assert gh["counters"]["published"] == 1 and gh["counters"]["rejected"] == 1, gh["counters"]
    assert moved["marker"] == "loaded-once" and moved["navigations"] == 1, "the page reloaded"
    (t1, s1, o1, r1, l1), (t2, s2, o2, r2, l2) = gh["rows"]  # newest first
    assert (s1, o1, r1) == ("401", "rejected", "Signature mismatch"), gh["rows"]
    assert (s2, o2, r2) == ("200", "published", "—"), gh["rows"]
    assert all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", t) for t in (t1, t2)), gh["rows"]
    assert all(re.fullmatch(r"\d+\.\d", lat) for lat in (l1, l2)), gh["rows"]

    # The example button: sent signed to the public listener, the answer shown, the event published as a test run.
    sent = page.call("click_example", endpoint="gh", example="push")
    assert sent["state"] == "sent" and sent["summary"].endswith("HTTP 200"), sent
    assert sent["role"] == "status" and sent["buttonEnabled"], sent
    answer = json.loads(sent["json"])
    assert answer["ok"] is True, answer
    records = read_topic(kafka_bootstrap, bridge.topic("gh"), 2)
    by_event = {r.envelope["id"]: r.envelope for r in records}
    assert set(by_event) == {ok.json()["id"], answer["id"]}, by_event
    assert by_event[answer["id"]]["test"] is True
    assert by_event[answer["id"]]["json"] == {"ref": "refs/heads/main", "n": 1}
    assert "test" not in by_event[ok.json()["id"]]
    after = page.call("wait_counter", endpoint="gh", counter="published", value=2, rows=3)
    assert by_id(after, "gh")["rows"][0][1:4] == ["200", "published", "—"], by_id(after, "gh")["rows"]

    # An endpoint whose key hookbridge does not hold: the page says so and nothing is published.
    refused = page.call("click_example", endpoint="keyed", example="ping")
    assert refused["state"] == "cannot_sign" and "cannot sign" in refused["summary"], refused

    # Still one page load, only the admin origin, no script error, nothing from the example's name ran.
    final = page.call("state")
    assert final["marker"] == "loaded-once" and final["navigations"] == 1
    assert_only_admin_origin(final, origin, expected_errors=(
        "console error: Failed to load resource: the server responded with a status of 409 (Conflict)",))
    posts = [r["url"] for r in final["requests"] if r["method"] == "POST"]
    assert posts == [f"{origin}/api/endpoints/gh/examples/push/send",
                     f"{origin}/api/endpoints/keyed/examples/ping/send"]
    assert not any(r["url"].endswith("/x") for r in final["requests"]) and final["xss"] is None
    assert by_id(final, "keyed")["counters"]["published"] == 0

    # Small screens: the page itself never scrolls sideways (the requests table scrolls in its own box).
    narrow = page.call("resize", width=360)
    assert narrow["scrollWidth"] <= narrow["innerWidth"], narrow
    page.call("screenshot", path=str(tmp_path / "status-page-360.png"))
