"""server.threads: auto follows the CPUs the process may use: its cgroup's CPU quota (rounded up), and the CPUs it
may run on; the start log says which. (No Kafka needed: the embedded broker.)"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from typing import Callable, Iterator, Optional

import pytest

from conftest import Bridge, hookbridge_path


@pytest.fixture
def run_bridge(tmp_path: Path) -> Iterator[Callable[..., Bridge]]:
    """Factory: run_bridge(server={...}, env={...}, preexec=fn) starts `hookbridge serve` on the embedded broker."""
    started: list[Bridge] = []

    def run(server: Optional[dict] = None, env: Optional[dict] = None,
            preexec: Optional[Callable[[], None]] = None) -> Bridge:
        config = {"server": {"listen": ["127.0.0.1:0"], "drainDelay": "0s", **(server or {})},
                  "kafka": {"brokers": "embedded"}, "endpoints": [{"id": "a", "verify": "none"}]}
        path = tmp_path / f"threads{len(started)}.yaml"
        path.write_text(json.dumps(config))
        stderr = tmp_path / f"threads{len(started)}.stderr"
        with open(stderr, "wb") as err:
            proc = subprocess.Popen([hookbridge_path(), "serve", "-c", str(path)], stdin=subprocess.DEVNULL,
                                    stdout=err, stderr=err, env={**os.environ, **(env or {})}, preexec_fn=preexec)
        bridge = Bridge(proc=proc, config=config, config_path=path, stderr_path=stderr)
        started.append(bridge)
        bridge.wait_ready()
        return bridge

    yield run
    for bridge in started:
        bridge.stop()


def threads_line(bridge: Bridge) -> tuple[int, Optional[str]]:
    lines = bridge.log_lines()
    ready = next(line for line in lines if line.get("msg") == "hookbridge ready")
    auto = next((line for line in lines if line.get("msg") == "server.threads: auto"), None)
    if auto is not None:
        assert auto["threads"] == ready["threads"]
    return int(ready["threads"]), auto["from"] if auto is not None else None


def test_auto_counts_the_cpus_it_may_run_on(run_bridge):
    bridge = run_bridge(preexec=lambda: os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]}))
    threads, source = threads_line(bridge)
    assert threads == 1 and source, source  # one CPU to run on, whatever quota its cgroup has
    bridge = run_bridge()
    threads, source = threads_line(bridge)
    assert 1 <= threads <= len(os.sched_getaffinity(0)) and source


def test_an_explicit_number_and_the_variable_win(run_bridge):
    bridge = run_bridge(server={"threads": 3})
    assert threads_line(bridge) == (3, None)
    bridge = run_bridge(server={"threads": "auto"}, env={"HOOKBRIDGE_SERVER_THREADS": "2"})
    assert threads_line(bridge) == (2, None)


def make_cpu_cgroup(quota_us: int, period_us: int) -> tuple[Path, Callable[[], None]]:
    """A cgroup of its own with a CPU quota (cgroup v2 if it has the cpu controller, else v1's cpu hierarchy), and a
    function that moves the calling process into it. Skips the test where this machine does not let us."""
    name = f"hookbridge-test-{uuid.uuid4().hex[:8]}"
    v2 = Path("/sys/fs/cgroup")
    if (v2 / "cgroup.controllers").is_file() and "cpu" in (v2 / "cgroup.controllers").read_text().split():
        group, files = v2 / name, {"cpu.max": f"{quota_us} {period_us}"}
    elif Path("/sys/fs/cgroup/cpu/cpu.cfs_quota_us").is_file():
        group = Path("/sys/fs/cgroup/cpu") / name
        files = {"cpu.cfs_period_us": str(period_us), "cpu.cfs_quota_us": str(quota_us)}
    else:
        pytest.skip("no cgroup CPU controller here")
    try:
        group.mkdir()
        for file, value in files.items():
            (group / file).write_text(value)
    except OSError as e:
        if group.exists():
            group.rmdir()
        pytest.skip(f"cannot make a cgroup with a CPU quota here: {e}")
    procs = str(group / "cgroup.procs")

    def enter() -> None:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))

    return group, enter


def test_auto_follows_the_cgroup_cpu_quota(run_bridge):
    """Half a CPU (a Kubernetes limits.cpu of 500m) is one worker, whatever the machine has; the log names the file."""
    group, enter = make_cpu_cgroup(50_000, 100_000)
    bridge = None
    try:
        bridge = run_bridge(preexec=enter)
        threads, source = threads_line(bridge)
        assert threads == 1
        assert source.startswith("cgroup ") and str(group) in source and "50000 100000" in source, source
    finally:
        if bridge is not None:
            bridge.stop()  # out of the cgroup, so that it can go
        group.rmdir()
