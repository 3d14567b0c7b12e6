"""verify.plugin end to end: the example API-key plugin (examples/plugins/apikey.c) loaded by `hookbridge serve`."""

from __future__ import annotations

import json
from pathlib import Path

import requests

from conftest import hookbridge_path, read_topic, run_hookbridge


def plugin_path() -> str:
    """The example plugin, built next to the binary under test (build/examples/plugins/)."""
    path = Path(hookbridge_path()).parent / "examples" / "plugins" / "libhookbridge-apikey.so"
    assert path.is_file(), f"the example plugin was not built: {path}"
    return str(path)


def test_plugin_verifies_and_names_itself_in_the_envelope(start_bridge, kafka_bootstrap):
    verify = {"plugin": plugin_path(), "symbol": "hookbridge_apikey",
              "config": {"header": "X-API-Key", "keys": ["new-key-1", "old-key-0"]}}
    bridge = start_bridge([{"id": "keyed", "verify": verify}])

    def post(body: bytes, key: str | None) -> requests.Response:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["X-API-Key"] = key
        return requests.post(bridge.url("keyed"), data=body, headers=headers, timeout=30)

    refused = [(post(b'{"n":1}', None), "Missing header X-API-Key"), (post(b'{"n":2}', "new-key-2"), "No key matched"),
               (post(b'{"n":3}', "new-key-1 "), "No key matched")]
    for resp, reason in refused:
        assert resp.status_code == 401 and resp.json()["reason"] == reason, resp.text
    ids = [post(b'{"n":4}', "new-key-1").json()["id"], post(b'{"n":5}', "old-key-0").json()["id"]]
    records = read_topic(kafka_bootstrap, bridge.topic("keyed"), 2)
    assert [(r.envelope["id"], r.envelope["body"], r.envelope["verified"]) for r in records] == [
        (ids[0], b'{"n":4}', "plugin:apikey"), (ids[1], b'{"n":5}', "plugin:apikey")]


def test_check_loads_the_plugin_and_reports_its_errors(tmp_path):
    def check(verify: dict) -> tuple[int, str]:
        config = {"kafka": {"brokers": "127.0.0.1:9"}, "endpoints": [{"id": "p", "verify": verify}]}
        path = tmp_path / "plugin.yaml"
        path.write_text(json.dumps(config))
        result = run_hookbridge(["check", "-c", str(path)])
        return result.returncode, (result.stdout + result.stderr).decode()

    code, out = check({"plugin": plugin_path(), "symbol": "hookbridge_apikey", "config": {"keys": ["k"]}})
    assert code == 0 and "(verify: plugin:apikey)" in out, out
    code, out = check({"plugin": plugin_path(), "symbol": "no_such_symbol", "config": {"keys": ["k"]}})
    assert code == 2 and "no exported symbol no_such_symbol" in out, out
    code, out = check({"plugin": plugin_path(), "symbol": "hookbridge_apikey", "config": {"keys": []}})
    assert code == 2 and "plugin" in out and "keys" in out, out
    code, out = check({"plugin": str(tmp_path / "missing.so"), "symbol": "hookbridge_apikey"})
    assert code == 2 and "missing.so" in out, out
    code, out = check({"plugin": plugin_path()})
    assert code == 2 and "verify.plugin needs symbol" in out, out
    code, out = check({"plugin": plugin_path(), "symbol": "hookbridge_apikey", "config": {"keys": ["k"]},
                       "tolerance": "5m"})
    assert code == 2 and "verify.plugin takes only symbol and config" in out, out
    # a relative path is taken from the config file's folder
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "apikey.so").symlink_to(plugin_path())
    code, out = check({"plugin": "plugins/apikey.so", "symbol": "hookbridge_apikey", "config": {"keys": ["k"]}})
    assert code == 0, out
