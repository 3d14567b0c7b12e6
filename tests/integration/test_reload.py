"""SIGHUP re-reads the configuration: new endpoints and secrets apply; a bad file is refused and the old one serves."""

from __future__ import annotations

import json
import signal
import threading

import requests

from conftest import free_port, read_topic, sign, wait_for

OLD, NEW = "it-reload-old-secret", "it-reload-new-secret"


def reload_with(bridge, endpoints: list[dict], outcome: str) -> dict:
    """Rewrites the bridge's config file with these endpoints, sends SIGHUP, waits for the log line of outcome."""
    before = len([line for line in bridge.log_lines() if line.get("msg") == outcome])
    config = dict(bridge.config, endpoints=endpoints)
    bridge.config_path.write_text(json.dumps(config, indent=2) + "\n")
    bridge.proc.send_signal(signal.SIGHUP)
    lines = wait_for(lambda: [line for line in bridge.log_lines() if line.get("msg") == outcome][before:], 20,
                     f"the log line {outcome!r}")
    return lines[0]


def post(bridge, endpoint: str, body: bytes, secret: str | None) -> requests.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Sig"] = sign(secret, body)
    return requests.post(bridge.url(endpoint), data=body, headers=headers, timeout=30)


def test_sighup_applies_new_endpoints_and_secrets_and_refuses_a_bad_file(start_bridge, kafka_bootstrap):
    port = free_port()
    bridge = start_bridge([{"id": "a", "verify": {"headerName": "X-Sig", "secret": OLD}}],
                          admin={"listen": f"127.0.0.1:{port}"})
    first = post(bridge, "a", b'{"n":1}', OLD)
    assert first.status_code == 200, first.text
    assert post(bridge, "b", b'{"n":1}', OLD).status_code == 404

    # a request in flight across the reload: sent while the reload happens, answered and published all the same
    results = {}

    def hammer():
        results["codes"] = [post(bridge, "a", b'{"during":%d}' % i, OLD).status_code for i in range(40)]

    thread = threading.Thread(target=hammer)
    thread.start()
    reload_with(bridge, [{"id": "a", "verify": {"headerName": "X-Sig", "secret": NEW}},
                         {"id": "b", "verify": {"headerName": "X-Sig", "secret": NEW}}], "reloaded")
    thread.join(60)
    # each request was answered under one configuration or the other: 200 before the swap, 401 after
    codes = results["codes"]
    assert set(codes) <= {200, 401} and codes == sorted(codes), codes

    assert post(bridge, "a", b'{"n":2}', OLD).status_code == 401
    second = post(bridge, "a", b'{"n":3}', NEW)
    assert second.status_code == 200, second.text
    on_b = post(bridge, "b", b'{"n":4}', NEW)
    assert on_b.status_code == 200, on_b.text
    ids_a = [first.json()["id"], second.json()["id"]]
    published_a = [r.envelope["id"] for r in read_topic(kafka_bootstrap, bridge.topic("a"), 2 + codes.count(200))]
    assert ids_a[0] in published_a and ids_a[1] in published_a and len(published_a) == 2 + codes.count(200)
    assert [r.envelope["id"] for r in read_topic(kafka_bootstrap, bridge.topic("b"), 1)] == [on_b.json()["id"]]
    listed = [ep["id"] for ep in requests.get(f"http://127.0.0.1:{port}/api/endpoints", timeout=10).json()["endpoints"]]
    assert listed == ["a", "b"]

    # a file that does not validate is refused, with its errors, and the running configuration stays
    refused = reload_with(bridge, [{"id": "a", "verify": {"headerName": "X-Sig", "secret": OLD}, "bogus": 1}],
                          "reload refused; the running configuration stays")
    assert "unknown key \"bogus\"" in refused["detail"], refused
    assert post(bridge, "a", b'{"n":5}', OLD).status_code == 401
    assert post(bridge, "b", b'{"n":6}', NEW).status_code == 200
    assert bridge.proc.poll() is None


def test_watch_reloads_when_the_file_or_a_secret_file_changes(start_bridge, kafka_bootstrap, tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(OLD + "\n")
    bridge = start_bridge([{"id": "w", "verify": {"headerName": "X-Sig", "secretFile": str(secret_file)}}])
    # watch is off by default: a changed secret file does nothing without SIGHUP
    secret_file.write_text(NEW + "\n")
    assert post(bridge, "w", b'{"n":0}', OLD).status_code == 200
    reload_with(bridge, bridge.config["endpoints"], "reloaded")
    assert post(bridge, "w", b'{"n":1}', NEW).status_code == 200

    # with watch: true in the file, a Kubernetes-style swap of the mounted secret is picked up on its own
    config = dict(bridge.config, watch=True)
    bridge.config_path.write_text(json.dumps(config))
    bridge.proc.send_signal(signal.SIGHUP)
    wait_for(lambda: len([line for line in bridge.log_lines() if line.get("msg") == "reloaded"]) >= 2, 20, "reload")
    replacement = tmp_path / "secret.new"
    replacement.write_text("third-secret\n")
    replacement.replace(secret_file)  # an atomic rename, as the kubelet's symlink swap
    wait_for(lambda: post(bridge, "w", b'{"n":2}', "third-secret").status_code == 200, 20,
             "the new secret to be accepted without a signal")
    assert post(bridge, "w", b'{"n":3}', NEW).status_code == 401
    # a broken file is refused once and does not stop the watching
    bridge.config_path.write_text("{not yaml: [")
    wait_for(lambda: any(line.get("msg") == "reload refused; the running configuration stays"
                         for line in bridge.log_lines()), 20, "the refusal")
    assert post(bridge, "w", b'{"n":4}', "third-secret").status_code == 200
    bridge.config_path.write_text(json.dumps(config))  # fixed again: loads (same content as what serves)
    causes = lambda: [line for line in bridge.log_lines() if line.get("cause") == "a watched file changed"]
    wait_for(lambda: len(causes()) >= 3, 20, "the third watched change")
    assert bridge.proc.poll() is None
