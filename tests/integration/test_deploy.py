"""
deploy/ as a reviewer checks it, without docker or a cluster: the Kustomize base and every overlay rendered (by
tests/deploy, the kustomize Go API pinned in its go.mod, built on first use into build/kustomize-json), the
Deployment's probes, resources, securityContext and grace period, the ConfigMap's config accepted by
`hookbridge check` with the environment the Deployment gives it, the Strimzi overlay's topics and client
settings, the Dockerfile (its build stage run on this Debian 12 machine, its runtime stage's packages against the
libraries the binary loads), and the Grafana dashboard's queries against the metric names a running bridge exposes
(that one needs the broker).

Environment, besides conftest's: KUSTOMIZE_JSON, a prebuilt renderer (default: build/kustomize-json, built with
`go build` from tests/deploy when missing or older than its sources).
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from conftest import ROOT, free_port, hookbridge_path, run_hookbridge, wait_for

DEPLOY = ROOT / "deploy"
KUSTOMIZATIONS = {
    "base": DEPLOY / "kubernetes" / "base",
    "dev": DEPLOY / "kubernetes" / "overlays" / "dev",
    "strimzi": DEPLOY / "kubernetes" / "overlays" / "strimzi",
    "spool": DEPLOY / "kubernetes" / "overlays" / "spool",
}
RENDERER_SRC = ROOT / "tests" / "deploy"
CONFIG_DIR = "/etc/hookbridge"
CONFIG_KEY = "hookbridge.yaml"
HTTP_PORT, ADMIN_PORT = 8080, 9090
# server.drainDelay and server.shutdownTimeout when the config does not set them (README)
DEFAULT_DRAIN_DELAY_S, DEFAULT_SHUTDOWN_TIMEOUT_S = 5.0, 15.0
# what the kubelet's SIGKILL must leave on top of the drain: process exit, librdkafka's teardown
GRACE_MARGIN_S = 5.0


# ---- the renderer ----


def renderer() -> str:
    """build/kustomize-json (or $KUSTOMIZE_JSON), built with `go build` when missing or older than its sources."""
    if os.environ.get("KUSTOMIZE_JSON"):
        return os.environ["KUSTOMIZE_JSON"]
    out = Path(hookbridge_path()).parent / "kustomize-json"
    sources = [RENDERER_SRC / name for name in ("main.go", "go.mod", "go.sum")]
    if not out.is_file() or out.stat().st_mtime < max(p.stat().st_mtime for p in sources):
        go = shutil.which("go")
        if go is None:
            pytest.fail("the kustomize renderer needs Go: install it, or set KUSTOMIZE_JSON to a built renderer")
        result = subprocess.run([go, "build", "-trimpath", "-buildvcs=false", "-o", str(out), "."], cwd=RENDERER_SRC,
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, f"go build in tests/deploy failed:\n{result.stderr}"
    return str(out)


def yaml_to_data(text: str) -> Any:
    result = subprocess.run([renderer(), "yaml2json"], input=text, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[dict[str, Any]]]:
    """Every kustomization rendered: {name: [resource, ...]}."""
    out = {}
    for name, path in KUSTOMIZATIONS.items():
        result = subprocess.run([renderer(), "build", str(path)], capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"kustomize build {path.relative_to(ROOT)}:\n{result.stderr}"
        out[name] = json.loads(result.stdout)
    return out


def of_kind(resources: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in resources if r["kind"] == kind]


def one(resources: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = of_kind(resources, kind)
    assert len(found) == 1, f"expected one {kind}, got {[r['metadata']['name'] for r in found]}"
    return found[0]


def named(resources: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [r for r in of_kind(resources, kind) if r["metadata"]["name"] == name]
    assert found, f"no {kind} {name} in the rendered resources"
    return found[0]


def workload(resources: list[dict[str, Any]]) -> dict[str, Any]:
    """The one Deployment, or (the spool overlay) the one StatefulSet, that runs hookbridge."""
    found = of_kind(resources, "Deployment") + of_kind(resources, "StatefulSet")
    assert len(found) == 1, f"expected one Deployment or StatefulSet, got {[r['kind'] for r in found]}"
    return found[0]


def container(deployment: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "hookbridge")


def config_text(resources: list[dict[str, Any]]) -> str:
    """The config file the Deployment mounts at /etc/hookbridge, from the rendered ConfigMap."""
    deployment = workload(resources)
    pod = deployment["spec"]["template"]["spec"]
    mount = next(m for m in container(deployment)["volumeMounts"] if m["mountPath"] == CONFIG_DIR)
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    configmap = named(resources, "ConfigMap", volume["configMap"]["name"])
    assert CONFIG_KEY in configmap["data"], f"the ConfigMap {configmap['metadata']['name']} has no {CONFIG_KEY}"
    return configmap["data"][CONFIG_KEY]


def quantity(value: Any) -> float:
    """A Kubernetes resource quantity (cpu in cores, memory in bytes)."""
    text = str(value)
    units = {"m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}
    match = re.fullmatch(r"([0-9.]+)([a-zA-Z]*)", text)
    assert match and match.group(2) in ("", *units), f"not a quantity I know: {text}"
    return float(match.group(1)) * units.get(match.group(2), 1)


def seconds(duration: str) -> float:
    """A hookbridge duration ("5s", "500ms", "1m")."""
    match = re.fullmatch(r"([0-9]+)(ms|s|m|h)", duration.strip())
    assert match, f"not a duration: {duration}"
    return int(match.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[match.group(2)]


def env_for_check(resources: list[dict[str, Any]]) -> dict[str, str]:
    """The environment the Deployment gives hookbridge, secrets replaced by dummy values, and nothing else."""
    deployment = workload(resources)
    c = container(deployment)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    for var in c.get("env", []):
        source = var.get("valueFrom")
        if source is None:
            env[var["name"]] = var.get("value", "")
        elif "secretKeyRef" in source:
            env[var["name"]] = f"dummy-{var['name'].lower()}"
        elif "resourceFieldRef" in source:
            ref = source["resourceFieldRef"]
            kind, _, what = ref["resource"].partition(".")
            amount = quantity(c["resources"][kind][what]) / quantity(ref.get("divisor", "1"))
            env[var["name"]] = str(math.ceil(amount))
        elif "configMapKeyRef" in source:
            ref = source["configMapKeyRef"]
            env[var["name"]] = named(resources, "ConfigMap", ref["name"])["data"][ref["key"]]
        else:
            env[var["name"]] = "dummy"
    assert not c.get("envFrom"), "envFrom hides which variables the config gets: name each one"
    return env


def effective(config: dict[str, Any], env: dict[str, str], section: str, key: str, variable: str) -> Any:
    """A config key's value as hookbridge sees it: its HOOKBRIDGE_* environment variable wins over the file."""
    return env[variable] if variable in env else config.get(section, {}).get(key)


def check_config(text: str, env: dict[str, str], tmp_path: Path, name: str) -> subprocess.CompletedProcess:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return subprocess.run([hookbridge_path(), "check", "-c", str(path)], env=env, capture_output=True, text=True,
                          timeout=60)


def routes(check_stdout: str) -> list[str]:
    """`hookbridge check`'s listing of routes and topics, without its first line (the file's name)."""
    return check_stdout.splitlines()[1:]


def topics(check_stdout: str) -> set[str]:
    """The topics `hookbridge check` lists: `/webhooks/ID -> TOPIC (verify: ...)` and `trigger NAME -> TOPIC`."""
    out = set()
    for line in routes(check_stdout):
        _, arrow, rest = line.partition(" -> ")
        if arrow and not rest.startswith("triggers ("):
            out.add(rest.split()[0])
    assert out, f"no topic in the check output:\n{check_stdout}"
    return out


def container_port(c: dict[str, Any], port: Any) -> int:
    """A probe's port (a number or a container port's name) as a number."""
    if isinstance(port, int):
        return port
    return next(p["containerPort"] for p in c["ports"] if p.get("name") == port)


# ---- the Kubernetes manifests ----


def test_every_kustomization_renders_what_it_should(rendered):
    base = rendered["base"]
    assert sorted(r["kind"] for r in base) == sorted(
        ["ServiceAccount", "Deployment", "Service", "ConfigMap", "PodDisruptionBudget", "HorizontalPodAutoscaler",
         "NetworkPolicy", "ServiceMonitor"])
    versions = {r["kind"]: r["apiVersion"] for r in base}
    assert versions["HorizontalPodAutoscaler"] == "autoscaling/v2"
    assert versions["PodDisruptionBudget"] == "policy/v1"
    assert versions["ServiceMonitor"] == "monitoring.coreos.com/v1"
    assert versions["NetworkPolicy"] == "networking.k8s.io/v1"
    for name, resources in rendered.items():
        workload(resources)
        # the ConfigMap is generated (a hash suffix: a changed config rolls the pods)
        assert re.fullmatch(r"hookbridge-config-[a-z0-9]{10}", one(resources, "ConfigMap")["metadata"]["name"]), name


@pytest.mark.parametrize("name", list(KUSTOMIZATIONS))
def test_deployment_passes_review(rendered, name):
    resources = rendered[name]
    deployment = workload(resources)
    pod = deployment["spec"]["template"]["spec"]
    c = container(deployment)

    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"http": HTTP_PORT, "admin": ADMIN_PORT}
    # probes: on the admin port, never the public one
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = c[probe]["httpGet"]
        assert get["path"] == path and container_port(c, get["port"]) == ADMIN_PORT, (probe, get)

    # resources: requests and limits for both, requests within limits
    for what in ("cpu", "memory"):
        request, limit = c["resources"]["requests"][what], c["resources"]["limits"][what]
        assert 0 < quantity(request) <= quantity(limit), (what, request, limit)

    # non-root, numeric user (the Dockerfile's USER), read-only root filesystem, nothing to escalate to
    uid = dockerfile_uid()
    for context in (pod["securityContext"], c["securityContext"]):
        assert context["runAsNonRoot"] is True
        assert isinstance(context["runAsUser"], int) and context["runAsUser"] == uid > 0
    sc = c["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc.get("privileged", False) is False
    assert "ALL" in sc["capabilities"]["drop"] and not sc["capabilities"].get("add")
    assert (sc.get("seccompProfile") or pod["securityContext"].get("seccompProfile")) == {"type": "RuntimeDefault"}
    assert not pod.get("hostNetwork") and not pod.get("hostPID") and not pod.get("hostIPC")
    assert not any("hostPath" in v for v in pod["volumes"])
    assert pod.get("automountServiceAccountToken") is False
    # no HOOKBRIDGE_PORT=tcp://... from the Service "hookbridge" next to hookbridge's HOOKBRIDGE_* overrides
    assert pod.get("enableServiceLinks") is False
    # every writable path is a volume (the root filesystem is read-only): scratch space, or a claim of the
    # StatefulSet's own
    claims = {t["metadata"]["name"] for t in deployment["spec"].get("volumeClaimTemplates", [])}
    for mount in c["volumeMounts"]:
        if mount["name"] in claims:
            continue
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert mount.get("readOnly") or "emptyDir" in volume, mount

    image = c["image"]
    assert ":" in image.rsplit("/", 1)[-1] and not image.endswith(":latest"), image
    # the image's CMD, or the same arguments
    assert c.get("args", dockerfile_cmd()) == ["serve", "-c", f"{CONFIG_DIR}/{CONFIG_KEY}"]

    # the grace period covers hookbridge's whole drain, as the rendered config (or the environment, which
    # overrides it) sets it, and any preStop hook
    config, env = yaml_to_data(config_text(resources)), env_for_check(resources)
    drain = effective(config, env, "server", "drainDelay", "HOOKBRIDGE_SERVER_DRAIN_DELAY")
    drain = seconds(drain) if drain is not None else DEFAULT_DRAIN_DELAY_S
    shutdown = effective(config, env, "server", "shutdownTimeout", "HOOKBRIDGE_SERVER_SHUTDOWN_TIMEOUT")
    shutdown = seconds(shutdown) if shutdown is not None else DEFAULT_SHUTDOWN_TIMEOUT_S
    pre_stop = c.get("lifecycle", {}).get("preStop")
    pre_stop_s = 0.0
    if pre_stop is not None:
        if "sleep" in pre_stop:
            pre_stop_s = float(pre_stop["sleep"]["seconds"])
        else:
            command = pre_stop["exec"]["command"]
            assert command[0] in ("sleep", "/bin/sleep") and len(command) == 2, command
            pre_stop_s = float(command[1])
    grace = pod.get("terminationGracePeriodSeconds", 30)
    assert grace >= pre_stop_s + drain + shutdown + GRACE_MARGIN_S, (grace, pre_stop_s, drain, shutdown)
    # the pod keeps serving for the endpoints controller: hookbridge's own drainDelay, or a preStop sleep
    assert drain + pre_stop_s >= DEFAULT_DRAIN_DELAY_S, (drain, pre_stop_s)


@pytest.mark.parametrize("name", list(KUSTOMIZATIONS))
def test_the_configmap_is_the_example_config_and_hookbridge_check_accepts_it(rendered, name, tmp_path):
    resources = rendered[name]
    text = config_text(resources)
    env = env_for_check(resources)
    result = check_config(text, env, tmp_path, name)
    assert result.returncode == 0, f"hookbridge check of {name}'s ConfigMap, env {sorted(env)}:\n{result.stderr}"
    # without the variables the Deployment sets, the config does not load: nothing runs on a default secret
    for var in sorted(set(env) - {"PATH"}):
        if f"${{{var}}}" in text:
            missing = check_config(text, {k: v for k, v in env.items() if k != var}, tmp_path, f"{name}-no-{var}")
            assert missing.returncode == 2 and var in missing.stderr, (var, missing.stderr)

    # the example's endpoints, triggers and topics, unchanged
    example = run_hookbridge(["check", "-c", str(ROOT / "examples" / "hookbridge.yaml")])
    assert example.returncode == 0, example.stderr.decode()
    assert routes(result.stdout) == routes(example.stdout.decode())

    # it listens where the container's ports and the probes are
    config = yaml_to_data(text)
    listen = effective(config, env, "server", "listen", "HOOKBRIDGE_SERVER_LISTEN")
    assert (listen.split(",") if isinstance(listen, str) else listen) == [f"0.0.0.0:{HTTP_PORT}"]
    assert effective(config, env, "admin", "listen", "HOOKBRIDGE_ADMIN_LISTEN") == f"0.0.0.0:{ADMIN_PORT}"
    assert config["kafka"]["brokers"] == "${KAFKA_BROKERS}"
    # no secret in the ConfigMap: every verify secret comes from the environment, which a Secret fills
    secret_vars = set()
    for endpoint in config["endpoints"]:
        value = endpoint["verify"]["secret"]
        assert re.fullmatch(r"\$\{[A-Z0-9_]+\}", value), value
        secret_vars.add(value[2:-1])
    from_secrets = {v["name"] for v in container(workload(resources))["env"]
                    if "secretKeyRef" in v.get("valueFrom", {})}
    assert secret_vars <= from_secrets


def test_the_base_policies(rendered):
    base = rendered["base"]
    deployment = one(base, "Deployment")
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]

    def selects(selector: dict[str, str]) -> bool:
        return bool(selector) and all(pod_labels.get(k) == v for k, v in selector.items())

    # the autoscaler owns the replica count: none in the Deployment, which `kubectl apply` would reset
    assert "replicas" not in deployment["spec"]
    hpa = one(base, "HorizontalPodAutoscaler")["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment",
                                     "name": deployment["metadata"]["name"]}
    assert hpa["minReplicas"] >= 2 and hpa["maxReplicas"] > hpa["minReplicas"]
    assert [m["resource"]["name"] for m in hpa["metrics"] if m["type"] == "Resource"] == ["cpu"]

    pdb = one(base, "PodDisruptionBudget")["spec"]
    assert pdb["minAvailable"] == 1 and selects(pdb["selector"]["matchLabels"])

    service = one(base, "Service")
    assert selects(service["spec"]["selector"])
    assert {(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]} == {
        ("http", HTTP_PORT, "http"), ("admin", ADMIN_PORT, "admin")}

    monitor = one(base, "ServiceMonitor")["spec"]
    assert all(service["metadata"]["labels"].get(k) == v for k, v in monitor["selector"]["matchLabels"].items())
    assert [(e["port"], e["path"]) for e in monitor["endpoints"]] == [("admin", "/metrics")]
    # the operator's endpoint="admin" target label would push hookbridge's endpoint label aside, as
    # exported_endpoint, where the dashboard does not look: it is put back
    relabel = monitor["endpoints"][0].get("metricRelabelings", [])
    assert any(r.get("sourceLabels") == ["exported_endpoint"] and r.get("targetLabel") == "endpoint" for r in relabel)

    policy = one(base, "NetworkPolicy")["spec"]
    assert selects(policy["podSelector"]["matchLabels"])
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    http_rules = [r for r in policy["ingress"] if any(p["port"] == HTTP_PORT for p in r["ports"])]
    assert http_rules and not http_rules[0].get("from"), "the webhooks port is open to everyone"
    admin_rules = [r for r in policy["ingress"] if any(p["port"] in (ADMIN_PORT, "admin") for p in r["ports"])]
    assert admin_rules
    for rule in admin_rules:  # only Prometheus pods of the monitoring namespace, in the same peer (AND)
        assert rule.get("from"), "the admin port must not be open to everyone"
        for peer in rule["from"]:
            assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "monitoring"}
            assert peer["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    egress_ports = {(p["port"], p.get("protocol", "TCP")) for r in policy["egress"] for p in r["ports"]}
    assert egress_ports == {(9092, "TCP"), (9093, "TCP"), (53, "UDP"), (53, "TCP")}


def test_the_dev_overlay(rendered):
    dev, base = rendered["dev"], rendered["base"]
    deployment = one(dev, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert not of_kind(dev, "HorizontalPodAutoscaler") and not of_kind(dev, "PodDisruptionBudget")
    c = container(deployment)
    assert env_for_check(dev)["KAFKA_BROKERS"] == "embedded"
    for what in ("requests", "limits"):
        for resource in ("cpu", "memory"):
            assert quantity(c["resources"][what][resource]) < quantity(
                container(one(base, "Deployment"))["resources"][what][resource]), (what, resource)
    # the secrets come from the overlay's generated Secret, which has every key referenced
    for var in c["env"]:
        ref = var.get("valueFrom", {}).get("secretKeyRef")
        if ref:
            assert ref["key"] in named(dev, "Secret", ref["name"])["data"], ref
    namespaces = {r["metadata"].get("namespace") for r in dev if r["kind"] != "Namespace"}
    assert namespaces == {one(dev, "Namespace")["metadata"]["name"]}


def test_the_strimzi_overlay_has_a_topic_for_every_topic_and_the_tls_scram_client(rendered, tmp_path):
    strimzi = rendered["strimzi"]
    deployment = one(strimzi, "Deployment")
    pod = deployment["spec"]["template"]["spec"]
    c = container(deployment)
    text = config_text(strimzi)
    result = check_config(text, env_for_check(strimzi), tmp_path, "strimzi")
    assert result.returncode == 0, result.stderr

    # a KafkaTopic for every topic hookbridge publishes to, all of one Kafka cluster
    kafka_topics = of_kind(strimzi, "KafkaTopic")
    assert {t["apiVersion"] for t in kafka_topics} == {"kafka.strimzi.io/v1beta2"}
    clusters = {t["metadata"]["labels"]["strimzi.io/cluster"] for t in kafka_topics}
    assert len(clusters) == 1
    cluster = clusters.pop()
    declared = {t["spec"].get("topicName", t["metadata"]["name"]) for t in kafka_topics}
    assert topics(result.stdout) <= declared, f"missing KafkaTopics: {topics(result.stdout) - declared}"
    for t in kafka_topics:  # acks=all means something only with more than one in-sync replica
        assert t["spec"]["replicas"] >= 3 and int(t["spec"]["config"]["min.insync.replicas"]) >= 2

    # the KafkaUser: SCRAM-SHA-512, allowed to write each topic
    user = one(strimzi, "KafkaUser")
    assert user["apiVersion"] == "kafka.strimzi.io/v1beta2"
    assert user["metadata"]["labels"]["strimzi.io/cluster"] == cluster
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    writable = {acl["resource"]["name"] for acl in user["spec"]["authorization"]["acls"]
                if acl["resource"]["type"] == "topic" and acl["resource"].get("patternType", "literal") == "literal"
                and "Write" in acl["operations"]}
    assert declared <= writable

    # the client settings: SASL_SSL + SCRAM-SHA-512 with the KafkaUser's credentials, the cluster CA mounted
    config = yaml_to_data(text)
    producer = config["kafka"]["producer"]
    assert producer["security.protocol"] == "SASL_SSL" and producer["sasl.mechanism"] == "SCRAM-SHA-512"
    env = {v["name"]: v for v in c["env"]}
    username_var = re.fullmatch(r"\$\{([A-Z0-9_]+)\}", producer["sasl.username"]).group(1)
    assert env[username_var]["value"] == user["metadata"]["name"]
    password_var = re.fullmatch(r"\$\{([A-Z0-9_]+)\}", producer["sasl.password"]).group(1)
    assert env[password_var]["valueFrom"]["secretKeyRef"] == {"name": user["metadata"]["name"], "key": "password"}
    ca = Path(producer["ssl.ca.location"])
    mount = next(m for m in c["volumeMounts"] if Path(m["mountPath"]) == ca.parent)
    assert mount["readOnly"] is True
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == f"{cluster}-cluster-ca-cert"
    assert {"key": "ca.crt", "path": ca.name} in volume["secret"]["items"]
    assert env_for_check(strimzi)["KAFKA_BROKERS"].endswith(":9093")
    assert f"{cluster}-kafka-bootstrap" in env_for_check(strimzi)["KAFKA_BROKERS"]
    # everything where the Topic and User Operators and the Secrets are
    assert len({r["metadata"].get("namespace") for r in strimzi}) == 1

    # the same config as the base's, but for those client settings
    base_config = yaml_to_data(config_text(rendered["base"]))
    for key in ("security.protocol", "sasl.mechanism", "sasl.username", "sasl.password", "ssl.ca.location"):
        del producer[key]
    assert config == base_config

    # egress: only the cluster's brokers on the TLS listener, and DNS
    egress = one(strimzi, "NetworkPolicy")["spec"]["egress"]
    kafka_rules = [r for r in egress if any(p["port"] != 53 for p in r["ports"])]
    assert [p["port"] for r in kafka_rules for p in r["ports"]] == [9093]
    assert all(peer["podSelector"]["matchLabels"]["strimzi.io/cluster"] == cluster
               for r in kafka_rules for peer in r["to"])


def test_the_strimzi_client_settings_start_a_producer(rendered, tmp_path):
    """librdkafka takes the SASL_SSL/SCRAM settings and loads the CA file (what `check` does not get to):
    `serve` starts with a CA at ssl.ca.location, against a broker address where nothing listens."""
    if shutil.which("openssl") is None:
        pytest.fail("the openssl command (Debian's openssl, in ./dev's packages) makes the test CA")
    ca = tmp_path / "ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "ca.key"), "-out", str(ca), "-days", "1", "-subj", "/CN=test-ca"],
                   check=True, capture_output=True, timeout=60)
    text = config_text(rendered["strimzi"])
    config = yaml_to_data(text)
    admin = free_port()
    text = (text.replace(config["kafka"]["producer"]["ssl.ca.location"], str(ca))
            .replace(f"0.0.0.0:{HTTP_PORT}", "127.0.0.1:0").replace(f"0.0.0.0:{ADMIN_PORT}", f"127.0.0.1:{admin}"))
    path = tmp_path / "strimzi.yaml"
    path.write_text(text)
    env = env_for_check(rendered["strimzi"]) | {"KAFKA_BROKERS": f"127.0.0.1:{free_port()}"}
    with open(tmp_path / "stderr", "wb") as err:
        proc = subprocess.Popen([hookbridge_path(), "serve", "-c", str(path)], env=env, stdout=err, stderr=err)
    try:
        def healthy() -> bool:
            assert proc.poll() is None, (tmp_path / "stderr").read_text()
            try:
                return requests.get(f"http://127.0.0.1:{admin}/healthz", timeout=2).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(healthy, 20, "the bridge on the Strimzi settings to answer /healthz")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:  # a second signal, once the first is taken, cuts the drain delay short
            wait_for(lambda: '"draining"' in (tmp_path / "stderr").read_text() or proc.poll() is not None, 10,
                     "the draining log line")
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    assert proc.returncode == 0, (tmp_path / "stderr").read_text()


# ---- the Dockerfile ----


def dockerfile_stages() -> list[dict[str, Any]]:
    """deploy/Dockerfile as stages: {"from", "name", "instructions": [(KEYWORD, text)]} (continuations joined,
    comments dropped)."""
    lines, current = [], ""
    for raw in (DEPLOY / "Dockerfile").read_text().splitlines():
        if raw.strip().startswith("#"):
            continue
        if raw.rstrip().endswith("\\"):
            current += raw.rstrip()[:-1] + " "
            continue
        current += raw
        if current.strip():
            lines.append(current.strip())
        current = ""
    stages: list[dict[str, Any]] = []
    for line in lines:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            stages.append({"from": words[0], "name": name, "instructions": []})
        else:
            assert stages or keyword == "ARG", f"{keyword} before FROM"
            if stages:
                stages[-1]["instructions"].append((keyword, rest.strip()))
    return stages


def instructions(stage: dict[str, Any], keyword: str) -> list[str]:
    return [text for kw, text in stage["instructions"] if kw == keyword]


def apt_installs(run: str) -> list[str]:
    """The packages of the `apt-get install` commands in a RUN."""
    packages = []
    for command in re.split(r"&&|;", run):
        words = shlex.split(command)
        if "apt-get" in words and "install" in words:
            packages += [w for w in words[words.index("install") + 1:] if not w.startswith("-")]
    return packages


def dockerfile_uid() -> int:
    user = instructions(dockerfile_stages()[-1], "USER")[-1]
    return int(user.split(":")[0])


def dockerfile_cmd() -> list[str]:
    return json.loads(instructions(dockerfile_stages()[-1], "CMD")[-1])


def dev_c_packages() -> set[str]:
    """./dev's BUILD_PACKAGES that build the C code: the toolchain and the -dev libraries."""
    text = (ROOT / "dev").read_text()
    packages = re.search(r"^BUILD_PACKAGES=\(([^)]*)\)", text, re.M).group(1).split()
    return {p for p in packages if p in ("build-essential", "cmake", "ninja-build", "pkg-config")
            or (p.startswith("lib") and p.endswith("-dev"))}


def installed_packages() -> dict[str, dict[str, Any]]:
    """This machine's installed Debian packages: {name: {"essential": bool, "depends": [first alternatives]}}."""
    out = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\t${db:Status-Abbrev}\t${Essential}\t"
                          "${Pre-Depends}\t${Depends}\n"], capture_output=True, text=True, check=True).stdout
    packages = {}
    for line in out.splitlines():
        name, status, essential, pre, deps = line.split("\t")
        if not status.startswith("ii"):
            continue
        first = [alt.split("|")[0].split("(")[0].strip().split(":")[0] for alt in f"{pre},{deps}".split(",")]
        packages[name] = {"essential": essential == "yes", "depends": [d for d in first if d]}
    return packages


def closure(roots: set[str], packages: dict[str, dict[str, Any]]) -> set[str]:
    seen, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += packages.get(name, {"depends": []})["depends"]
    return seen


# files that a package's maintainer script writes, which dpkg -S does not know
GENERATED_FILES = {"/etc/ssl/certs/ca-certificates.crt": "ca-certificates"}


def owning_package(path: str) -> str:
    """The Debian package that ships a library (dpkg -S), through symlinks and /lib -> /usr/lib."""
    real = os.path.realpath(path)
    candidates = [real, path]
    for p in (real, path):
        candidates.append(p[4:] if p.startswith("/usr/") else "/usr" + p)
    for candidate in candidates:
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":")[0]
    raise AssertionError(f"no Debian package ships {path}")


def shared_libraries(binary: Path) -> tuple[list[str], dict[str, str]]:
    """(DT_NEEDED names, {soname: resolved path} of everything ldd loads)."""
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dynamic)
    ldd = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    assert "not found" not in ldd, ldd
    loaded = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd, re.M))
    return needed, loaded


@pytest.fixture(scope="module")
def image_build(tmp_path_factory) -> Path:
    """The Dockerfile's build stage run here (this machine is the same Debian 12 with the same packages): its
    COPYs into a scratch tree, its non-apt RUNs there with /out moved into the scratch tree. Returns that /out."""
    build = next(stage for stage in dockerfile_stages() if stage["name"] == "build")
    scratch = tmp_path_factory.mktemp("image-build")
    out = scratch / "out"
    root = scratch / "root"
    workdir = Path("/")
    for keyword, text in build["instructions"]:
        if keyword == "WORKDIR":
            workdir = workdir / text
            (root / workdir.relative_to("/")).mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY":
            words = text.split()
            stage = words.pop(0)[len("--from="):] if words[0].startswith("--from=") else None
            *sources, dest = words
            target = root / (workdir / dest).relative_to("/")
            for source in sources:
                if stage is None:
                    src = ROOT / source
                    assert src.exists(), f"COPY {source}: not in the repository"
                else:
                    # another stage's /src/X is the repository's X after that stage's commands: the ui stage's
                    # `npm ci` of ui/package-lock.json is the one ./dev runs for the status page test
                    assert source.startswith("/src/"), f"COPY --from={stage} {source}: not under /src"
                    src = ROOT / source[len("/src/"):]
                    if not src.exists():
                        continue  # not installed here (no npm ci in ui/): the build goes on without it
                if src.is_dir():  # a directory's contents go into dest
                    shutil.copytree(src, target, dirs_exist_ok=True)
                elif dest.endswith("/") or dest == ".":  # a file into the directory dest
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, target / src.name)
                else:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    shutil.copy2(src, target)
        elif keyword == "RUN" and "apt-get" not in text:
            command = re.sub(r"(?<![\w./-])/out\b", str(out), text)
            result = subprocess.run(["bash", "-ec", command], cwd=root / workdir.relative_to("/"),
                                    capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, f"RUN {text}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return out


def test_dockerfile_builds_a_small_non_root_image(image_build):
    stages = dockerfile_stages()
    assert {s["from"] for s in stages} == {"debian:bookworm-slim"}
    build = next(stage for stage in stages if stage["name"] == "build")
    runtime = stages[-1]
    assert runtime is not build
    text = (DEPLOY / "Dockerfile").read_text()
    assert not re.search(r"^\s*ADD\s", text, re.M | re.I), "COPY, never ADD (ADD fetches URLs and unpacks)"
    for stage in stages:
        for run in instructions(stage, "RUN"):
            if "apt-get install" in run:
                assert "--no-install-recommends" in run and "rm -rf /var/lib/apt/lists/*" in run, run
                assert re.search(r"apt-get update\s*&&", run), "update and install in the same layer"
            if re.search(r"\bnpm\s+(install|i)\b", run):
                raise AssertionError(f"npm ci, from the lockfile, not npm install: {run}")
        if any("npm ci" in run for run in instructions(stage, "RUN")):
            assert any("package-lock.json" in copy for copy in instructions(stage, "COPY")), stage["name"]

    # the build stage: ./dev's C packages, a Release build without the tests
    build_packages = {p for run in instructions(build, "RUN") for p in apt_installs(run)}
    assert dev_c_packages() <= build_packages, dev_c_packages() - build_packages
    cmake = next(run for run in instructions(build, "RUN") if "cmake -S" in run)
    assert "-DBUILD_TESTING=OFF" in cmake and "-DCMAKE_BUILD_TYPE=Release" in cmake

    # the runtime stage: no toolchain, no headers; non-root numeric user; the image's interface
    runtime_packages = {p for run in instructions(runtime, "RUN") for p in apt_installs(run)}
    assert runtime_packages and not {p for p in runtime_packages if p.endswith("-dev")}
    assert not runtime_packages & {"build-essential", "gcc", "cmake", "pkg-config", "ninja-build"}
    user = instructions(runtime, "USER")[-1]
    assert re.fullmatch(r"[1-9][0-9]*(:[1-9][0-9]*)?", user), f"USER {user}: numeric and not root"
    assert [kw for kw, _ in runtime["instructions"]].index("USER") > max(
        i for i, (kw, _) in enumerate(runtime["instructions"]) if kw == "RUN"), "nothing runs as root after USER"
    assert json.loads(instructions(runtime, "ENTRYPOINT")[-1]) == ["hookbridge"]
    assert dockerfile_cmd() == ["serve", "-c", f"{CONFIG_DIR}/{CONFIG_KEY}"]
    assert sorted(int(p) for e in instructions(runtime, "EXPOSE") for p in e.split()) == [HTTP_PORT, ADMIN_PORT]
    assert not instructions(runtime, "VOLUME"), "the manifests decide the volumes"

    # what the runtime stage copies from the build stage is there after the build stage's commands
    packages = installed_packages()
    for copy in instructions(runtime, "COPY"):
        words = copy.split()
        assert words[0] == "--from=build", f"COPY {copy}: only from the build stage"
        for source in words[1:-1]:
            if source.startswith("/out/"):
                assert (image_build / source[len("/out/"):]).exists(), f"COPY {source}: the build makes no such file"
            else:  # a file of a package the build stage installs
                package = GENERATED_FILES.get(source) or owning_package(source)
                assert package in closure(build_packages, packages), source
    # OpenSSL's default CA file (librdkafka's without ssl.ca.location), if set, is one the image has
    for env in instructions(runtime, "ENV"):
        match = re.fullmatch(r"SSL_CERT_FILE[= ](\S+)", env)
        if match:
            assert any(copy.split()[-1] == match.group(1) for copy in instructions(runtime, "COPY")), env
    binary = image_build / "usr" / "bin" / "hookbridge"
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.startswith("hookbridge "), version

    # every library the binary and the plugin load comes with the runtime stage's packages; the ones they name
    # (DT_NEEDED) are installed by name, not by luck; libc6 is in every Debian image (essential packages need it)
    base_image = closure({name for name, p in packages.items() if p["essential"]}, packages)
    with_runtime = closure(runtime_packages, packages) | base_image
    plugins = list((image_build / "usr" / "lib" / "hookbridge").glob("*.so"))
    assert plugins, "the example plugin is in the image"
    for path in (binary, *plugins, Path(hookbridge_path())):
        needed, loaded = shared_libraries(path)
        if any(soname.startswith("libasan") for soname in loaded):
            continue  # build/hookbridge built with HB_SANITIZE: not what the image has
        for soname, resolved in loaded.items():
            package = owning_package(resolved)
            assert package in with_runtime, f"{path.name}: {soname} is in {package}, which the image lacks"
            if soname in needed:
                assert package in runtime_packages or package in base_image, (
                    f"{path.name} links {soname} ({package}): install {package} in the runtime stage")


# ---- the Grafana dashboard ----

PROMQL_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
                   "offset", "inf", "nan", "Inf", "NaN"}
# labels that Prometheus adds to every target, besides those hookbridge exposes
TARGET_LABELS = {"job", "instance"}


def promql_names(expr: str) -> tuple[list[str], set[str]]:
    """(the metric names an expression selects, the label names it matches or groups by). Enough PromQL for
    dashboards: selectors, functions, aggregations with by/without, ranges, Grafana's $variables and
    label_values(selector, label)."""
    labels: set[str] = set()
    match = re.fullmatch(r"\s*label_values\((.*),\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*", expr)
    if match:
        expr = match.group(1)
        labels.add(match.group(2))
    s = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    for selector in re.findall(r"\{([^}]*)\}", s):
        labels |= set(re.findall(r"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)", selector))
    s = re.sub(r"\{[^}]*\}", " ", s)
    grouping = r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)"
    for group in re.findall(grouping, s):
        labels |= {label.strip() for label in group.split(",") if label.strip()}
    s = re.sub(grouping, " ", s)
    s = re.sub(r"\[[^\]]*\]", " ", s)
    s = re.sub(r"\$\{?\w+\}?", " ", s)
    names = []
    for m in re.finditer(r"(?<![\w.])[A-Za-z_:][A-Za-z0-9_:]*", s):
        if s[m.end():].lstrip().startswith("(") or m.group(0) in PROMQL_KEYWORDS:
            continue
        names.append(m.group(0))
    return names, labels


def dashboard_queries(dashboard: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""

    def panels(items: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
        for panel in items:
            yield panel
            yield from panels(panel.get("panels", []))

    for panel in panels(dashboard["panels"]):
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]
            yield f"variable {variable['name']}", query["query"] if isinstance(query, dict) else query


def test_the_grafana_dashboard_queries_only_what_the_bridge_exposes(start_bridge):
    dashboard = json.loads((DEPLOY / "grafana" / "hookbridge.json").read_text())
    assert dashboard["schemaVersion"] >= 36
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    datasource = [v for v in variables.values() if v["type"] == "datasource"]
    assert len(datasource) == 1 and datasource[0]["query"] == "prometheus"
    assert variables["endpoint"]["type"] == "query"

    # a live bridge's /metrics: every family it exposes, and their labels (a rejection, for the reason label;
    # statistics every 200 ms, for the broker RTT gauge that appears with librdkafka's first statistics)
    admin = free_port()
    bridge = start_bridge([{"id": "dash", "verify": {"headerName": "X-Sig", "secret": "dash-secret"}}],
                          kafka={"producer": {"statistics.interval.ms": 200}},
                          admin={"listen": f"127.0.0.1:{admin}"})
    assert requests.post(bridge.url("dash"), data=b"{}", timeout=30).status_code == 401

    def scrape() -> Optional[str]:
        text = requests.get(f"http://127.0.0.1:{admin}/metrics", timeout=10).text
        return text if "hookbridge_broker_rtt_seconds" in text else None

    text = wait_for(scrape, 20, "the broker RTT in /metrics", interval=0.2)
    exposed, exposed_labels = set(), set(TARGET_LABELS)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            exposed.add(sample.name)  # histograms: NAME_bucket, NAME_sum, NAME_count
            exposed_labels |= set(sample.labels)

    used: set[str] = set()
    for where, expr in dashboard_queries(dashboard):
        names, labels = promql_names(expr)
        assert names, f"{where}: no metric in {expr}"
        assert set(names) <= exposed, f"{where}: {set(names) - exposed} not in /metrics ({expr})"
        assert labels <= exposed_labels, f"{where}: labels {labels - exposed_labels} not in /metrics ({expr})"
        # every selector is scoped to the job variable: process_* metrics are every exporter's
        if where.startswith("panel"):
            scoped = re.findall(r'[A-Za-z_:][A-Za-z0-9_:]*\{[^}]*job=~"\$job"[^}]*\}', expr)
            assert len(scoped) == len(names), f"{where}: a selector without job=~\"$job\": {expr}"
        used |= set(names)

    # what the dashboard is for: requests by outcome, rejections by reason, latency quantiles, the producer,
    # readiness, CPU and memory
    assert {"hookbridge_requests_total", "hookbridge_publish_latency_seconds_bucket", "hookbridge_inflight_requests",
            "hookbridge_producer_queue_messages", "hookbridge_broker_rtt_seconds", "hookbridge_ready",
            "process_cpu_seconds_total", "process_resident_memory_bytes"} <= used
    exprs = [expr for _, expr in dashboard_queries(dashboard)]
    assert any("by (outcome)" in e for e in exprs)
    assert any('outcome="rejected"' in e and "reason" in e for e in exprs)
    for q in ("0.5", "0.99"):
        assert any(f"histogram_quantile({q}," in e and "_bucket" in e for e in exprs), q


def test_the_spool_overlay(rendered, tmp_path):
    """A StatefulSet with a claim per pod for the spool, the base's pod otherwise, every endpoint spooling."""
    spool, base = rendered["spool"], rendered["base"]
    assert not of_kind(spool, "Deployment") and not of_kind(spool, "HorizontalPodAutoscaler")
    sts = one(spool, "StatefulSet")
    spec = sts["spec"]
    assert spec["replicas"] >= 2
    assert spec["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    headless = named(spool, "Service", spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert one(spool, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"].items() <= \
        spec["template"]["metadata"]["labels"].items()
    # the spool directory lives on the pod's claim
    env = env_for_check(spool)
    assert env["HOOKBRIDGE_DURABILITY"] == "spool"
    c = container(sts)
    (claim,) = spec["volumeClaimTemplates"]
    mount = next(m for m in c["volumeMounts"] if m["name"] == claim["metadata"]["name"])
    assert env["HOOKBRIDGE_SPOOL_PATH"].startswith(mount["mountPath"].rstrip("/") + "/")
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert quantity(env["HOOKBRIDGE_SPOOL_MAX_BYTES"].replace("GiB", "Gi")) < \
        quantity(claim["spec"]["resources"]["requests"]["storage"])
    # the pod is the base's but for the spool: same image, probes, resources, security, volumes
    base_pod = workload(base)["spec"]["template"]
    pod = json.loads(json.dumps(spec["template"]))
    pc = container({"spec": {"template": pod}})
    pc["env"] = [v for v in pc["env"] if not v["name"].startswith("HOOKBRIDGE_SPOOL") and
                 v["name"] != "HOOKBRIDGE_DURABILITY"]
    pc["volumeMounts"] = [m for m in pc["volumeMounts"] if m["name"] != claim["metadata"]["name"]]
    assert pod == base_pod, "the StatefulSet's pod drifted from base/deployment.yaml"
    # and hookbridge takes that environment: every endpoint of the example config spools
    result = check_config(config_text(spool), env, tmp_path, "spool")
    assert result.returncode == 0, result.stderr
