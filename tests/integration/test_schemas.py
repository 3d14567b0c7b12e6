"""
schemas/ against the code, without Kafka: the two JSON Schemas are valid draft 2020-12 (and their patterns compile as
the JavaScript regular expressions editors use), the shipped configurations validate, config.schema.json and the
configuration parser agree in both directions, and event-v1.schema.json validates every golden envelope
(schemas/vectors/) and describes its msgpack faithfully.

config.schema.json ⇄ parser:
  (a) every property the schema names, and every value of each enum it lists, is in a sample config (SAMPLES,
      ENUM_SAMPLES) that the schema validates and `hookbridge check` accepts; a property without a sample fails;
  (b) every key the parser accepts is in the schema at the same level: the parser's own table of keys, read through
      `hookbridge config-keys --json`, at each level, and the words of each enumerated key, and the filter
      compiler's operator table (bridge/core/filter.c) for the operators; the parser's "unknown key ... (expected
      a, b, c)" and "must be a, b or c" messages, read back for a stray key and a bad word, say the same as the table;
  and a set of invalid configurations is refused by both.

YAML is turned into JSON by test_deploy's renderer (build/kustomize-json yaml2json, sigs.k8s.io/yaml), the same
conversion the deploy tests use. The sample configs are written as JSON, which is YAML.
"""

from __future__ import annotations

import base64
import copy
import functools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Callable, Optional

import msgpack
import pytest
from jsonschema import Draft202012Validator

from conftest import ROOT, hookbridge_path, run_hookbridge
from test_deploy import yaml_to_data

SCHEMAS = ROOT / "schemas"
EVENT_SCHEMA = SCHEMAS / "event-v1.schema.json"
CONFIG_SCHEMA = SCHEMAS / "config.schema.json"
VECTORS = SCHEMAS / "vectors"
CONFIG_FILES = [
    ROOT / "examples" / "hookbridge.yaml",
    ROOT / "deploy" / "kubernetes" / "base" / "hookbridge.yaml",
    ROOT / "deploy" / "kubernetes" / "overlays" / "strimzi" / "hookbridge.yaml",
]
STRAY = "zzStrayKey"
BAD = "zzBadValue"


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def config_validator() -> Draft202012Validator:
    return Draft202012Validator(load(CONFIG_SCHEMA))


@pytest.fixture(scope="module")
def event_validator() -> Draft202012Validator:
    return Draft202012Validator(load(EVENT_SCHEMA))


def errors_of(validator: Draft202012Validator, instance: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:300]}"
            for e in validator.iter_errors(instance)]


def check(config: dict[str, Any], tmp_path: Path, name: str = "config") -> subprocess.CompletedProcess:
    """`hookbridge check` on the config written as JSON (which is YAML)."""
    path = tmp_path / f"{re.sub(r'[^A-Za-z0-9._-]', '_', name)[:100]}.yaml"
    path.write_text(json.dumps(config, indent=2) + "\n")
    return run_hookbridge(["check", "-c", str(path)])


def check_errors(config: dict[str, Any], tmp_path: Path, name: str = "config") -> str:
    result = check(config, tmp_path, name)
    assert result.returncode == 2, f"check accepted {json.dumps(config)}:\n{result.stdout.decode()}"
    return result.stderr.decode()


# ---- the schemas themselves ----


def all_patterns(node: Any) -> list[str]:
    """Every regular expression of a schema: `pattern` values and `patternProperties` names."""
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "pattern" and isinstance(value, str):
                out.append(value)
            elif key == "patternProperties" and isinstance(value, dict):
                out.extend(value)
            if key not in ("examples", "const", "enum", "default"):
                out.extend(all_patterns(value))
    elif isinstance(node, list):
        for item in node:
            out.extend(all_patterns(item))
    return out


@pytest.mark.parametrize("path", [EVENT_SCHEMA, CONFIG_SCHEMA], ids=lambda p: p.name)
def test_the_schema_is_valid_draft_2020_12(path):
    schema = load(path)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)  # the meta-schema, and each pattern as a Python regex
    # editors (VS Code's YAML and JSON language servers) run the patterns as JavaScript RegExps with the u flag,
    # which refuses some escapes Python takes
    patterns = sorted(set(all_patterns(schema)))
    assert patterns
    node = shutil.which("node")
    assert node is not None, "the pattern check needs node (./dev installs it)"
    script = ("const ps = JSON.parse(require('fs').readFileSync(0, 'utf8')); const bad = [];"
              "for (const p of ps) { try { new RegExp(p, 'u'); } catch (e) { bad.push(p + ': ' + e.message); } }"
              "console.log(JSON.stringify(bad));")
    result = subprocess.run([node, "-e", script], input=json.dumps(patterns), capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_every_schema_property_is_described():
    """Each property is there for an editor's hover: it has a description (its own, or its $ref's)."""
    for path in (EVENT_SCHEMA, CONFIG_SCHEMA):
        schema = load(path)
        defs = schema.get("$defs", {})
        missing = []

        def described(node: dict[str, Any]) -> bool:
            if "description" in node:
                return True
            ref = node.get("$ref")
            return ref is not None and "description" in defs[ref.rsplit("/", 1)[-1]]

        def visit(node: Any, where: str) -> None:
            if isinstance(node, dict):
                for name, sub in node.get("properties", {}).items():
                    if not (isinstance(sub, dict) and described(sub)):
                        missing.append(f"{where}.{name}")
                for key, value in node.items():
                    # declarations only: conditions (if/then/else, not, allOf, contains) restate no property
                    if key not in ("examples", "const", "enum", "if", "then", "else", "not", "allOf", "contains"):
                        visit(value, f"{where}/{key}")
            elif isinstance(node, list):
                for item in node:
                    visit(item, where)

        visit(schema, path.name)
        assert "description" in schema
        assert missing == []


# ---- the configuration files of the repository ----


@pytest.mark.parametrize("path", CONFIG_FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_shipped_configurations_validate(path, config_validator):
    data = yaml_to_data(path.read_text())
    assert errors_of(config_validator, data) == []


# ---- config.schema.json ⇄ the parser: (a) every property of the schema is accepted by `hookbridge check` ----


def walk_schema(schema: dict[str, Any]) -> tuple[set[str], dict[str, list[Any]]]:
    """
    The schema's properties as labels (server.tls.certFile; inside a definition $defs.NAME.prop, each definition
    visited once) and the enumerated values (enum, const) found at each label. Follows $ref, properties, items,
    additionalProperties, anyOf/oneOf: the declarations; not if/then/else/not/allOf/propertyNames, which only
    constrain what is declared.
    """
    defs = schema.get("$defs", {})
    props: set[str] = set()
    enums: dict[str, list[Any]] = {}
    seen: set[str] = set()

    def walk(node: Any, label: str) -> None:
        if not isinstance(node, dict):
            return
        if "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                seen.add(name)
                walk(defs[name], "$defs." + name)
        if "enum" in node:
            enums.setdefault(label, []).extend(node["enum"])
        if "const" in node:
            enums.setdefault(label, []).append(node["const"])
        for name, sub in node.get("properties", {}).items():
            child = f"{label}.{name}" if label else name
            props.add(child)
            walk(sub, child)
        for keyword in ("anyOf", "oneOf"):
            for sub in node.get(keyword, []):
                walk(sub, label)
        for sub in node.get("prefixItems", []):
            walk(sub, label + "[]")
        if isinstance(node.get("items"), dict):
            walk(node["items"], label + "[]")
        if isinstance(node.get("additionalProperties"), dict):
            walk(node["additionalProperties"], label + ".*")

    walk(schema, "")
    return props, enums


# keys for the presets that check decodes: an Ed25519 key (hex for discord, whpk_ for svix and standard-webhooks),
# an ECDSA P-256 key in base64 DER (sendgrid's published example), a whsec_ secret
WHPK = "whpk_1SiA4o9hyqTCpIqC5V9HUakiiaeACeqfZTInDBbOir4="
ED25519_HEX = base64.b64decode(WHPK[5:]).hex()
SENDGRID_KEY = ("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHP"
                "TnlvFYPAZFceEu/1FwCM/QmGUhA==")
WHSEC = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
GENERIC = {"headerName": "X-Signature", "secret": "s3cret"}
SCHEME = {"signatureHeader": "X-Signature", "signed": "{body}", "algorithm": "sha256"}  # a declared scheme
ED25519_PEM = ("-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(bytes.fromhex("302a300506032b6570032100") +
                                                                 bytes.fromhex(ED25519_HEX)).decode()
               + "\n-----END PUBLIC KEY-----\n")


def scheme_config(**fields: Any) -> dict[str, Any]:
    """A declared scheme with fields (None removes one), given the key it takes."""
    scheme = {k: v for k, v in {**SCHEME, **fields}.items() if v is not None}
    algorithm, form = scheme.get("algorithm"), scheme.get("publicKeyForm", "none")
    key = {"hex": ED25519_HEX, "whpk": WHPK, "spki": SENDGRID_KEY, "base64": WHPK[5:], "pem": ED25519_PEM}
    if algorithm in ("ed25519", "ecdsa-p256"):
        return config(verify={"publicKey": key[form], "scheme": scheme})
    secret = {"whsec": WHSEC, "hex": "00ff10", "base64": "c2VjcmV0"}.get(scheme.get("secretForm", "raw"), "s3cret")
    token = {"verifyToken": "tok"} if scheme.get("handshake") == "meta" else {}
    return config(verify={"secret": secret, "scheme": scheme, **token})


def scheme_word(field: str, value: str) -> dict[str, Any]:
    """A declared scheme using value for field, with what that word needs."""
    if field == "algorithm" and value == "none":
        return scheme_config(algorithm=None, signed=None, split={"kind": "token"})
    if field == "algorithm" and value in ("ed25519", "ecdsa-p256"):
        return scheme_config(algorithm=value, publicKeyForm="hex" if value == "ed25519" else "spki")
    if field == "publicKeyForm" and value != "none":
        return scheme_config(algorithm="ecdsa-p256" if value == "spki" else "ed25519", publicKeyForm=value)
    if field == "timestampUnit":
        return scheme_config(timestampUnit=value, timestampHeader="X-Timestamp", signed="{timestamp}.{body}")
    return scheme_config(**{field: value})


def split_kind(kind: str) -> dict[str, Any]:
    """A declared scheme whose split is of that kind, with the keys the kind needs."""
    return {"plain": scheme_config(split={"kind": "plain"}),
            "pairs": scheme_config(split={"kind": "pairs", "separator": ",", "timestampKey": "t", "signatureKey": "v1"},
                                   signed="{timestamp}.{body}"),
            "list": scheme_config(split={"kind": "list", "separator": " ", "signatureKey": "v1"}),
            "token": scheme_config(split={"kind": "token"}, signed=None, algorithm=None),
            "body": scheme_config(split={"kind": "body"}, signatureHeader=None, signed="{timestamp}{token}")}[kind]


def plugin_path() -> str:
    return str(Path(hookbridge_path()).parent / "examples" / "plugins" / "libhookbridge-apikey.so")


def config(top: Optional[dict[str, Any]] = None, **endpoint: Any) -> dict[str, Any]:
    """A minimal valid configuration: one endpoint `a` (verify: none unless given) and the top-level keys in top."""
    ep = {"id": "a", "verify": "none", **endpoint}
    return {**(top or {}), "endpoints": [ep]}


def trigger_filter(filter_: dict[str, Any]) -> dict[str, Any]:
    return config(triggers=[{"name": "t", "filter": filter_}])


def body_filter(rule: Any) -> dict[str, Any]:
    return trigger_filter({"body": {"field": rule}})


@functools.lru_cache(maxsize=None)
def preset_rows() -> dict[str, dict[str, Any]]:
    """`hookbridge providers --json`, by name."""
    return {row["name"]: row for row in json.loads(run_hookbridge(["providers", "--json"]).stdout)}


PUBLIC_KEYS = {"hex": ED25519_HEX, "whpk": WHPK, "spki": SENDGRID_KEY, "base64": WHPK[5:], "pem": ED25519_PEM}
SECRETS = {"raw": "s3cret", "whsec": WHSEC, "hex": "00ff10", "base64": "c2VjcmV0"}


def verify_for(provider: str) -> dict[str, Any]:
    """A verify: mapping the preset takes, from what its row says it needs."""
    row = preset_rows()[provider]
    out: dict[str, Any] = {"provider": provider}
    if "publicKey" in row["needs"]:
        out["publicKey"] = PUBLIC_KEYS[row["publicKeyForm"]]
    else:
        out["secret"] = SECRETS[row["secretForm"]]
    if "verifyToken" in row["needs"]:
        out["verifyToken"] = "tok"
    return out


def provider_config(provider: str) -> dict[str, Any]:
    top = {"server": {"publicUrl": "https://hooks.example.com"}} if "publicUrl" in preset_rows()[provider]["needs"] \
        else None
    return config(top, verify=verify_for(provider))


def producer(name: str, value: Any) -> dict[str, Any]:
    return config({"kafka": {"producer": {name: value}}})


# One sample per schema property (label as walk_schema names it): a config that uses it.
SAMPLES: dict[str, Callable[[], dict[str, Any]]] = {
    "server": lambda: config({"server": {}}),
    "server.listen": lambda: config({"server": {"listen": ["127.0.0.1:8080", "[::1]:8081", ":8082", 8083]}}),
    "server.publicUrl": lambda: config({"server": {"publicUrl": "https://hooks.example.com"}}),
    "server.threads": lambda: config({"server": {"threads": 4}}),
    "server.maxBodySize": lambda: config({"server": {"maxBodySize": "2 MiB"}}),
    "server.drainDelay": lambda: config({"server": {"drainDelay": "0s"}}),
    "server.shutdownTimeout": lambda: config({"server": {"shutdownTimeout": "20s"}}),
    "server.requestTimeout": lambda: config({"server": {"requestTimeout": "2500ms"}}),
    "server.h2c": lambda: config({"server": {"h2c": True}}),
    "server.tls": lambda: config({"server": {"tls": {}}}),
    "server.tls.certFile": lambda: config({"server": {"tls": {"certFile": "/tls/tls.crt", "keyFile": "/tls/tls.key"}}}),
    "server.tls.keyFile": lambda: config({"server": {"tls": {"keyFile": "/tls/tls.key", "certFile": "/tls/tls.crt"}}}),
    "admin": lambda: config({"admin": {}}),
    "admin.listen": lambda: config({"admin": {"listen": "127.0.0.1:9090"}}),
    "kafka": lambda: config({"kafka": {}}),
    "kafka.brokers": lambda: config({"kafka": {"brokers": "k1:9092,k2:9092"}}),
    "kafka.topic": lambda: config({"kafka": {"topic": "hooks.{id}.events"}}),
    "kafka.format": lambda: config({"kafka": {"format": "json"}}),
    "kafka.deliveryTimeout": lambda: config({"kafka": {"deliveryTimeout": "7500ms"}}),
    "kafka.readinessWindow": lambda: config({"kafka": {"readinessWindow": "1m"}}),
    "kafka.producer": lambda: producer("request.timeout.ms", 20000),  # one the schema does not name
    "kafka.producer.client.id": lambda: producer("client.id", "hookbridge-eu"),
    "kafka.producer.compression.type": lambda: producer("compression.type", "lz4"),
    "kafka.producer.linger.ms": lambda: producer("linger.ms", 2.5),
    "kafka.producer.batch.size": lambda: producer("batch.size", 65536),
    "kafka.producer.batch.num.messages": lambda: producer("batch.num.messages", 1000),
    "kafka.producer.queue.buffering.max.messages": lambda: producer("queue.buffering.max.messages", 10000),
    "kafka.producer.queue.buffering.max.kbytes": lambda: producer("queue.buffering.max.kbytes", 65536),
    "kafka.producer.message.max.bytes": lambda: producer("message.max.bytes", "2000000"),
    "kafka.producer.max.in.flight.requests.per.connection":
        lambda: producer("max.in.flight.requests.per.connection", 5),
    "kafka.producer.retry.backoff.ms": lambda: producer("retry.backoff.ms", 200),
    "kafka.producer.socket.keepalive.enable": lambda: producer("socket.keepalive.enable", True),
    "kafka.producer.statistics.interval.ms": lambda: producer("statistics.interval.ms", 0),
    "kafka.producer.topic.metadata.refresh.interval.ms": lambda: producer("topic.metadata.refresh.interval.ms", 60000),
    "kafka.producer.partitioner": lambda: producer("partitioner", "murmur2_random"),
    "kafka.producer.security.protocol": lambda: producer("security.protocol", "SASL_SSL"),
    "kafka.producer.sasl.mechanism": lambda: producer("sasl.mechanism", "SCRAM-SHA-512"),
    "kafka.producer.sasl.mechanisms": lambda: producer("sasl.mechanisms", "PLAIN"),
    "kafka.producer.sasl.username": lambda: producer("sasl.username", "hookbridge"),
    "kafka.producer.sasl.password": lambda: producer("sasl.password", "pw"),
    "kafka.producer.ssl.ca.location": lambda: producer("ssl.ca.location", "/etc/kafka-cluster-ca/ca.crt"),
    "kafka.producer.ssl.certificate.location": lambda: producer("ssl.certificate.location", "/tls/client.crt"),
    "kafka.producer.ssl.key.location": lambda: producer("ssl.key.location", "/tls/client.key"),
    "kafka.producer.ssl.key.password": lambda: producer("ssl.key.password", "pw"),
    "kafka.producer.ssl.endpoint.identification.algorithm":
        lambda: producer("ssl.endpoint.identification.algorithm", "none"),
    "kafka.producer.enable.ssl.certificate.verification":
        lambda: producer("enable.ssl.certificate.verification", False),
    "log": lambda: config({"log": {}}),
    "log.level": lambda: config({"log": {"level": "debug"}}),
    "log.sampleRate": lambda: config({"log": {"sampleRate": 0.5}}),
    "watch": lambda: config({"watch": True}),
    "redactHeaders": lambda: config({"redactHeaders": ["Authorization", "X-Api-Key"]}),
    "durability": lambda: config({"durability": "kafka"}),
    "spool": lambda: config({"spool": {}}),
    "spool.path": lambda: config({"durability": "spool", "spool": {"path": "/var/lib/hookbridge/spool"}}),
    "spool.maxBytes": lambda: config({"spool": {"path": "/var/lib/hookbridge/spool", "maxBytes": "256MiB"}}),
    "kafka.spoolAfter": lambda: config({"kafka": {"spoolAfter": "1500ms"}}),
    "$defs.endpoint.durability": lambda: {"spool": {"path": "/s"}, "endpoints": [{"id": "a", "verify": "none",
                                                                                  "durability": "spool"}]},
    "endpoints": lambda: {"endpoints": [{"id": "a", "verify": "none"}, {"id": "b", "verify": GENERIC}]},
    "$defs.endpoint.id": lambda: config(id="Cal.com_bookings-2"),
    "$defs.endpoint.source": lambda: config(source="cal.com"),
    "$defs.endpoint.icon": lambda: config(icon="caldotcom"),
    "$defs.endpoint.title": lambda: config(title="Cal.com bookings"),
    "$defs.endpoint.verify": lambda: config(verify=GENERIC),
    "$defs.endpoint.respondWith": lambda: config(respondWith={"filter": {}, "response": {}}),
    "$defs.endpoint.triggers": lambda: config(triggers=[{"name": "all"}]),
    "$defs.endpoint.eventIdHeader": lambda: config(eventIdHeader="X-Delivery-Id"),
    "$defs.endpoint.partitionKey": lambda: config(partitionKey="body.repository.id"),
    "$defs.endpoint.maxBodySize": lambda: config(maxBodySize=65536),
    "$defs.endpoint.deduplicate": lambda: config(deduplicate=False),
    "$defs.endpoint.deduplicate.size": lambda: config(deduplicate={"size": 500}),
    "$defs.endpoint.deduplicate.maxAge": lambda: config(deduplicate={"maxAge": "10m", "size": "20000"}),
    "$defs.endpoint.examples": lambda: config(examples=[]),
    "$defs.example.id": lambda: config(examples=[{"id": "ping"}]),
    "$defs.example.name": lambda: config(examples=[{"id": "ping", "name": "Ping"}]),
    "$defs.example.icon": lambda: config(examples=[{"id": "ping", "icon": "bell"}]),
    "$defs.example.payload": lambda: config(examples=[{"id": "ping", "payload": {"a": [1, "x", None, True]}}]),
    "$defs.verifyMapping.provider": lambda: config(verify={"provider": "github", "secret": "s3cret"}),
    "$defs.verifyMapping.scheme": lambda: scheme_config(),
    "$defs.scheme.name": lambda: scheme_config(name="acme"),
    "$defs.scheme.signatureHeader": lambda: scheme_config(signatureHeader="Acme-Signature"),
    "$defs.scheme.idHeader": lambda: scheme_config(idHeader="Acme-Delivery", signed="{id}.{body}"),
    "$defs.scheme.split": lambda: scheme_config(split={}),
    "$defs.scheme.signed": lambda: scheme_config(signed="{method}{path}{header:x-nonce}{body}"),
    "$defs.scheme.algorithm": lambda: scheme_config(algorithm="sha512"),
    "$defs.scheme.encoding": lambda: scheme_config(encoding="base64"),
    "$defs.scheme.secretForm": lambda: scheme_config(secretForm="base64"),
    "$defs.scheme.publicKeyForm": lambda: scheme_word("publicKeyForm", "pem"),
    "$defs.scheme.timestampHeader": lambda: scheme_config(timestampHeader="Acme-Timestamp",
                                                          signed="{timestamp}.{body}"),
    "$defs.scheme.timestampUnit": lambda: scheme_word("timestampUnit", "rfc3339"),
    "$defs.scheme.timestamped": lambda: scheme_config(timestamped=True, timestampHeader="Acme-Timestamp"),
    "$defs.scheme.handshake": lambda: scheme_config(handshake="none"),
    "$defs.scheme.checks": lambda: scheme_config(checks=["tokenReplay"]),
    **{f"$defs.schemeSplit.{key}": (lambda key, value: lambda: scheme_config(split={"kind": "plain", key: value}))(
        key, value) for key, value in (("prefix", "sha256="), ("signPrefix", True), ("requiredPrefix", "v0="))},
    "$defs.schemeSplit.kind": lambda: split_kind("pairs"),
    **{f"$defs.schemeSplit.{key}": (lambda key: lambda: scheme_config(
        split={"kind": "list", "separator": " ", "signatureKey": "v1", "ed25519Key": "v1a", key: {
            "separator": ";", "signatureKey": "s1", "ed25519Key": "e1"}[key]}, publicKeyForm="whpk"))(key)
       for key in ("separator", "signatureKey", "ed25519Key")},
    "$defs.schemeSplit.timestampKey": lambda: scheme_config(
        split={"kind": "pairs", "separator": ";", "timestampKey": "ts", "signatureKey": "h1"}, signed="{timestamp}:{body}"),
    "$defs.verifyMapping.headerName": lambda: config(verify={"headerName": "X-Sig", "secret": "s"}),
    "$defs.verifyMapping.secret": lambda: config(verify={"headerName": "X-Sig", "secret": "s"}),
    "$defs.verifyMapping.secrets": lambda: config(verify={"headerName": "X-Sig", "secrets": ["new", "old"]}),
    "$defs.verifyMapping.secrets[].value": lambda: config(verify={"headerName": "X-Sig", "secrets": [{"value": "new"}]}),
    "$defs.verifyMapping.secrets[].until": lambda: config(verify={"headerName": "X-Sig", "secrets": [
        "new", {"value": "old", "until": "2026-12-31T00:00:00Z"}]}),
    "$defs.verifyMapping.secretFile": lambda: config(verify={"headerName": "X-Sig", "secretFile": "SECRET_FILE"}),
    "$defs.verifyMapping.algorithm": lambda: config(verify={**GENERIC, "algorithm": "sha512"}),
    "$defs.verifyMapping.headerEncoding": lambda: config(verify={**GENERIC, "headerEncoding": "base64url"}),
    "$defs.verifyMapping.publicKey": lambda: config(verify={"provider": "discord", "publicKey": ED25519_HEX}),
    "$defs.verifyMapping.publicKeys": lambda: config(verify={"provider": "svix", "publicKeys": [WHPK]}),
    "$defs.verifyMapping.verifyToken": lambda: config(verify={"provider": "meta", "secret": "s", "verifyToken": "t"}),
    "$defs.verifyMapping.tolerance": lambda: config(verify={"provider": "stripe", "secret": "whsec_x",
                                                            "tolerance": "10m"}),
    "$defs.verifyMapping.plugin": lambda: config(verify={"plugin": plugin_path(), "symbol": "hookbridge_apikey",
                                                         "config": {"header": "x-api-key", "keys": ["k1"]}}),
    "$defs.verifyMapping.symbol": lambda: config(verify={"plugin": plugin_path(), "symbol": "hookbridge_apikey",
                                                         "config": {"header": "x-api-key", "keys": ["k1"]}}),
    "$defs.verifyMapping.config": lambda: config(verify={"plugin": plugin_path(), "symbol": "hookbridge_apikey",
                                                         "config": {"header": "x-api-key", "keys": ["k1", "k2"]}}),
    "$defs.respondWith.filter": lambda: config(respondWith={"filter": {"method": ["GET"]}, "response": {}}),
    "$defs.respondWith.skipTriggeringRuns":
        lambda: config(respondWith={"filter": {}, "skipTriggeringRuns": True, "response": {}}),
    "$defs.respondWith.response": lambda: config(respondWith={"filter": {}, "response": {"status": 202}}),
    "$defs.respondWith.response.status": lambda: config(respondWith={"filter": {}, "response": {"status": "204"}}),
    "$defs.respondWith.response.headers":
        lambda: config(respondWith={"filter": {}, "response": {"headers": {"Content-Type": "text/plain",
                                                                           "Retry-After": 5}}}),
    "$defs.respondWith.response.body":
        lambda: config(respondWith={"filter": {}, "response": {"body": "{{query.hub.challenge}} {{json body.a}}"}}),
    "$defs.trigger.name": lambda: config(triggers=[{"name": "opened"}, {"name": "closed"}]),
    "$defs.trigger.filter": lambda: trigger_filter({}),
    "$defs.trigger.topic": lambda: config(triggers=[{"name": "t", "topic": "cal.{id}.cancellations"}]),
    "$defs.trigger.partitionKey": lambda: config(triggers=[{"name": "t", "partitionKey": "header.X-Shop-Domain"}]),
    "$defs.requestFilter.method": lambda: trigger_filter({"method": ["post", "PUT"]}),
    "$defs.requestFilter.headers": lambda: trigger_filter({"headers": {"X-GitHub-Event": ["push", "ping"]}}),
    "$defs.requestFilter.header": lambda: trigger_filter({"header": {"x-github-event": []}}),
    "$defs.requestFilter.query": lambda: trigger_filter({"query": {"hub.mode": ["subscribe"]}}),
    "$defs.requestFilter.body": lambda: trigger_filter({"body": {"action": ["opened"], "pr": {"draft": [False]},
                                                                 "n": [1, 2.5], "x": []}}),
    "$defs.stringRule[].$startsWith": lambda: trigger_filter({"headers": {"user-agent": [{"$startsWith": "GitHub"}]}}),
    "$defs.stringRule[].$endsWith": lambda: trigger_filter({"query": {"shop": [{"$endsWith": ".myshopify.com"}]}}),
    "$defs.stringRule[].$ignoreCaseEquals":
        lambda: trigger_filter({"query": {"mode": [{"$ignoreCaseEquals": "SUBSCRIBE"}]}}),
    "$defs.operator.$startsWith": lambda: body_filter([{"$startsWith": "open"}, {"$endsWith": "ed"}]),
    "$defs.operator.$endsWith": lambda: body_filter([{"$endsWith": "ed"}]),
    "$defs.operator.$ignoreCaseEquals": lambda: body_filter([{"$ignoreCaseEquals": "Ümlaut"}]),
    "$defs.operator.$anythingBut": lambda: trigger_filter({"body": {"a": [{"$anythingBut": None}],
                                                                    "b": [{"$anythingBut": ["x", 1, None, True]}]}}),
    "$defs.operator.$exists": lambda: body_filter([{"$exists": False}]),
    "$defs.operator.$isNull": lambda: body_filter([{"$isNull": True}]),
    "$defs.operator.$gt": lambda: body_filter([{"$gt": 1}]),
    "$defs.operator.$gte": lambda: body_filter([{"$gte": -1.5}]),
    "$defs.operator.$lt": lambda: body_filter([{"$lt": 10}]),
    "$defs.operator.$lte": lambda: body_filter([{"$lte": 10}]),
    "$defs.operator.$between": lambda: body_filter([{"$between": [1, 2.5]}]),
    "$defs.operator.$includes": lambda: body_filter([{"$includes": "label"}]),
    "$defs.operator.$not": lambda: body_filter([{"$not": False}]),
}

# For every label with enumerated values: a config that uses one of them.
ENUM_SAMPLES: dict[str, Callable[[Any], dict[str, Any]]] = {
    "server.threads": lambda v: config({"server": {"threads": v}}),
    "durability": lambda v: config({"durability": v, "spool": {"path": "/s"}}),
    "$defs.endpoint.durability": lambda v: {"spool": {"path": "/s"},
                                            "endpoints": [{"id": "a", "verify": "none", "durability": v}]},
    "kafka.format": lambda v: config({"kafka": {"format": v}}),
    "log.level": lambda v: config({"log": {"level": v}}),
    "$defs.boolean": lambda v: config({"watch": v}),
    "$defs.verify": lambda v: config(verify=v),
    "$defs.verifyMapping.provider": provider_config,
    "$defs.verifyMapping.algorithm": lambda v: config(verify={**GENERIC, "algorithm": v}),
    "$defs.verifyMapping.headerEncoding": lambda v: config(verify={**GENERIC, "headerEncoding": v}),
    **{f"$defs.scheme.{field}": (lambda field: lambda v: scheme_word(field, v))(field)
       for field in ("algorithm", "encoding", "secretForm", "publicKeyForm", "timestampUnit", "handshake")},
    "$defs.scheme.checks[]": lambda v: scheme_config(checks=[v]),
    "$defs.schemeSplit.kind": split_kind,
    **{f"kafka.producer.{name}": (lambda name: lambda v: producer(name, v))(name)
       for name in ("compression.type", "partitioner", "security.protocol", "sasl.mechanism", "sasl.mechanisms",
                    "ssl.endpoint.identification.algorithm", "socket.keepalive.enable",
                    "enable.ssl.certificate.verification")},
}


def test_every_schema_property_and_enum_has_a_sample():
    props, enums = walk_schema(load(CONFIG_SCHEMA))
    assert sorted(props - SAMPLES.keys()) == [], "schema properties without a sample in SAMPLES"
    assert sorted(SAMPLES.keys() - props) == [], "samples for properties the schema does not have"
    assert sorted(enums.keys() - ENUM_SAMPLES.keys()) == [], "enumerations without a sample in ENUM_SAMPLES"
    assert sorted(ENUM_SAMPLES.keys() - enums.keys()) == [], "ENUM_SAMPLES for enumerations the schema does not have"


def materialise(cfg: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    """Makes the files a sample names: SECRET_FILE becomes a real secret file."""
    text = json.dumps(cfg)
    if "SECRET_FILE" in text:
        secret = tmp_path / "secret"
        secret.write_text("s3cret\n")
        text = text.replace('"SECRET_FILE"', json.dumps(str(secret)))
    return json.loads(text)


@pytest.mark.parametrize("label", sorted(SAMPLES))
def test_each_schema_property_is_accepted_by_check(label, tmp_path, config_validator):
    cfg = materialise(SAMPLES[label](), tmp_path)
    assert errors_of(config_validator, cfg) == []
    result = check(cfg, tmp_path, label)
    assert result.returncode == 0, f"{json.dumps(cfg)}\n{result.stderr.decode()}"


def enum_cases() -> list[tuple[str, Any]]:
    _, enums = walk_schema(load(CONFIG_SCHEMA))
    return [(label, value) for label in sorted(enums) for value in enums[label]]


@pytest.mark.parametrize(("label", "value"), enum_cases(), ids=lambda x: str(x))
def test_each_enumerated_value_is_accepted_by_check(label, value, tmp_path, config_validator):
    cfg = materialise(ENUM_SAMPLES[label](value), tmp_path)
    assert errors_of(config_validator, cfg) == []
    result = check(cfg, tmp_path, f"{label}-{value}")
    assert result.returncode == 0, f"{json.dumps(cfg)}\n{result.stderr.decode()}"


# ---- config.schema.json ⇄ the parser: (b) every key the parser accepts is in the schema ----


def put(cfg: dict[str, Any], path: list[Any], key: str, value: Any) -> dict[str, Any]:
    cfg = copy.deepcopy(cfg)
    node: Any = cfg
    for step in path:
        node = node[step]
    node[key] = value
    return cfg


BASE = config(verify={"secret": "s3cret", "scheme": {**SCHEME, "split": {}}}, respondWith={"filter": {}, "response": {}}, triggers=[{"name": "t", "filter": {}}],
              examples=[{"id": "e"}], deduplicate={})
BASE["server"] = {"tls": {}}
BASE["admin"] = {}
BASE["kafka"] = {}
BASE["log"] = {}
BASE["spool"] = {}
EP = ["endpoints", 0]

# level: (where in BASE a stray key goes, the schema object there as a JSON pointer, the level's path in the
# parser's table (None: not a table section, the filter compiler's), keys the parser takes that its list does not name)
LEVELS: dict[str, tuple[list[Any], str, Optional[str], set[str]]] = {
    "top level": ([], "", "", set()),
    "server": (["server"], "/properties/server", "server", set()),
    "server.tls": (["server", "tls"], "/properties/server/properties/tls", "server.tls", set()),
    "admin": (["admin"], "/properties/admin", "admin", set()),
    "kafka": (["kafka"], "/properties/kafka", "kafka", set()),
    "log": (["log"], "/properties/log", "log", set()),
    "spool": (["spool"], "/properties/spool", "spool", set()),
    "endpoint": (EP, "/$defs/endpoint", "endpoints[]", set()),
    "verify": ([*EP, "verify"], "/$defs/verifyMapping", "endpoints[].verify", set()),
    "verify.scheme": ([*EP, "verify", "scheme"], "/$defs/scheme", "endpoints[].verify.scheme", set()),
    "verify.scheme.split": ([*EP, "verify", "scheme", "split"], "/$defs/schemeSplit", "endpoints[].verify.scheme.split",
                            set()),
    "respondWith": ([*EP, "respondWith"], "/$defs/respondWith", "endpoints[].respondWith", set()),
    "respondWith.response": ([*EP, "respondWith", "response"], "/$defs/respondWith/properties/response",
                             "endpoints[].respondWith.response", set()),
    "respondWith.filter": ([*EP, "respondWith", "filter"], "/$defs/requestFilter", None, {"header"}),
    "trigger": ([*EP, "triggers", 0], "/$defs/trigger", "endpoints[].triggers[]", set()),
    "triggers[].filter": ([*EP, "triggers", 0, "filter"], "/$defs/requestFilter", None, {"header"}),
    "example": ([*EP, "examples", 0], "/$defs/example", "endpoints[].examples[]", set()),
    "deduplicate": ([*EP, "deduplicate"], "/$defs/endpoint/properties/deduplicate/anyOf/1",
                    "endpoints[].deduplicate", set()),
}


def config_keys() -> list[dict[str, Any]]:
    """The parser's table of keys (`hookbridge config-keys --json`), in its rows' order."""
    result = run_hookbridge(["config-keys", "--json"])
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def table_keys(keys: list[dict[str, Any]], level: str) -> list[str]:
    """The names of the table's keys directly under level ("" for the top, "endpoints[].verify", ...)."""
    prefix = f"{level}." if level else ""
    return [k["path"][len(prefix):] for k in keys
            if k["path"].startswith(prefix) and "." not in k["path"][len(prefix):]]


def schema_at(schema: dict[str, Any], pointer: str) -> dict[str, Any]:
    node: Any = schema
    for step in [s for s in pointer.split("/") if s]:
        node = node[int(step)] if isinstance(node, list) else node[step]
    return node


def expected_list(stderr: str) -> list[str]:
    m = re.search(rf'unknown key "{STRAY}" in [^\n]*?\(expected ([^)]*)\)', stderr)
    assert m is not None, f"no 'unknown key ... (expected ...)' error for the stray key:\n{stderr}"
    return [k.strip() for k in m.group(1).split(",")]


def test_the_base_of_the_stray_key_probes_is_valid(tmp_path, config_validator):
    assert errors_of(config_validator, BASE) == []
    result = check(BASE, tmp_path)
    assert result.returncode == 0, result.stderr.decode()


@pytest.mark.parametrize("level", sorted(LEVELS))
def test_every_key_the_parser_accepts_is_in_the_schema(level, tmp_path, config_validator):
    path, pointer, table_level, unlisted = LEVELS[level]
    cfg = put(BASE, path, STRAY, ["x"])
    listed = expected_list(check_errors(cfg, tmp_path, level))
    if table_level is None:
        accepted = listed
    else:
        accepted = table_keys(config_keys(), table_level)
        assert len(accepted) >= 1, f"config-keys lists nothing under {table_level!r}"
        assert listed == accepted, f"the unknown-key message at {level} and the table disagree"
    schema_keys = set(schema_at(load(CONFIG_SCHEMA), pointer)["properties"])
    assert sorted(set(accepted) - schema_keys) == [], f"keys {level} accepts that the schema lacks"
    assert sorted(schema_keys - set(accepted) - unlisted) == [], f"schema keys at {level} the parser does not list"
    for key in unlisted:  # the aliases the message leaves out: the parser does take them
        assert key in schema_keys
    assert errors_of(config_validator, cfg) != [], "the schema takes the stray key"


def test_the_table_lists_every_environment_variable_of_help():
    """--help's HOOKBRIDGE_* list and the table's env column are made from the same rows: they agree."""
    env = [k["env"] for k in config_keys() if "env" in k]
    assert "HOOKBRIDGE_KAFKA_BROKERS" in env and "HOOKBRIDGE_SERVER_TLS_CERT_FILE" in env
    help_text = run_hookbridge(["--help"]).stdout.decode()
    assert re.findall(r"HOOKBRIDGE_[A-Z0-9_]+", help_text) == env


def words_of(listing: str) -> list[str]:
    """ "a, b or c" → [a, b, c] """
    return [w.strip() for w in re.split(r",| or ", listing) if w.strip()]


# where a bad enumerated word goes, the message's "must be ..." (or "not one of ...") and the schema's enum label, and
# the key's path in the parser's table (None: its words are not the table's: the presets', verify's own "none")
ENUM_PROBES: dict[str, tuple[Callable[[str], dict[str, Any]], str, str, Optional[str]]] = {
    "log.level": (lambda v: config({"log": {"level": v}}), r"log\.level must be (.*?), not", "log.level", "log.level"),
    "kafka.format": (lambda v: config({"kafka": {"format": v}}), r"kafka\.format must be (.*?), not", "kafka.format",
                     "kafka.format"),
    "durability": (lambda v: config({"durability": v}), r"durability must be (.*?), not", "durability", "durability"),
    "endpoint durability": (lambda v: config(durability=v), r"durability must be (.*?), not",
                            "$defs.endpoint.durability", "endpoints[].durability"),
    "verify.algorithm": (lambda v: config(verify={**GENERIC, "algorithm": v}),
                         r"verify\.algorithm must be (.*?), not", "$defs.verifyMapping.algorithm",
                         "endpoints[].verify.algorithm"),
    "verify.headerEncoding": (lambda v: config(verify={**GENERIC, "headerEncoding": v}),
                              r"verify\.headerEncoding must be (.*?), not", "$defs.verifyMapping.headerEncoding",
                              "endpoints[].verify.headerEncoding"),
    **{f"verify.scheme.{word}": (
        (lambda w: lambda v: config(verify={"secret": "s", "scheme": {**SCHEME, w: v}}))(word),
        rf"verify\.scheme\.{word} must be (.*?), not", f"$defs.scheme.{word}", f"endpoints[].verify.scheme.{word}")
       for word in ("algorithm", "encoding", "secretForm", "publicKeyForm", "timestampUnit", "handshake")},
    "verify.scheme.split.kind": (lambda v: config(verify={"secret": "s", "scheme": {**SCHEME, "split": {"kind": v}}}),
                                 r"verify\.scheme\.split\.kind must be (.*?), not", "$defs.schemeSplit.kind",
                                 "endpoints[].verify.scheme.split.kind"),
    "verify.provider": (lambda v: config(verify={"provider": v, "secret": "s"}),
                        r"is not one of (.*)$", "$defs.verifyMapping.provider", None),
    "verify": (lambda v: config(verify=v), r"or the word (\w+), not", "$defs.verify", None),
}


@pytest.mark.parametrize("name", sorted(ENUM_PROBES))
def test_every_word_the_parser_accepts_is_in_the_schema(name, tmp_path, config_validator):
    make, pattern, label, table_path = ENUM_PROBES[name]
    cfg = make(BAD)
    stderr = check_errors(cfg, tmp_path, name)
    m = re.search(pattern, stderr, re.MULTILINE)
    assert m is not None, stderr
    words = words_of(m.group(1))
    if table_path is not None:
        (row,) = [k for k in config_keys() if k["path"] == table_path]
        assert words == row["words"], f"the message's words for {name} and the table's disagree"
    _, enums = walk_schema(load(CONFIG_SCHEMA))
    assert sorted(words) == sorted(str(v) for v in enums[label])
    assert errors_of(config_validator, cfg) != []


def test_every_filter_operator_is_in_the_schema():
    """The filter compiler's operator table (it lists its operators nowhere in a message) against the schema's."""
    source = (ROOT / "bridge" / "core" / "filter.c").read_text()
    compiled = set(re.findall(r'\[HB_OP_\w+\]\s*=\s*"(\$\w+)"', source))
    assert len(compiled) >= 13
    schema = load(CONFIG_SCHEMA)
    assert set(schema["$defs"]["operator"]["properties"]) == compiled
    # request filters (headers, query) take the string operators only: hookbridge refuses the others there
    string_ops = set(schema["$defs"]["stringRule"]["anyOf"][1]["items"]["properties"])
    assert string_ops == {"$startsWith", "$endsWith", "$ignoreCaseEquals"}
    for op in compiled - string_ops:
        result = run_hookbridge(["match", json.dumps({"a": [{op: 1}]}), "{}"])
        assert b"unknown operator" not in result.stderr, op


# ---- invalid configurations: refused by the schema and by check ----


INVALID: dict[str, dict[str, Any]] = {
    "unknown top-level key": {**config(), "endpoint": []},
    "no endpoints": {"server": {}},
    "endpoints empty": {"endpoints": []},
    "endpoint without verify": {"endpoints": [{"id": "a"}]},
    "endpoint id with a slash": config(id="a/b"),
    "verify a word other than none": config(verify="off"),
    "generic verify without a secret": config(verify={"headerName": "X-Sig"}),
    "generic verify without headerName": config(verify={"secret": "s"}),
    "secret and secretFile": config(verify={"headerName": "X-Sig", "secret": "s", "secretFile": "/x"}),
    "secrets empty": config(verify={"headerName": "X-Sig", "secrets": []}),
    "provider with headerName": config(verify={"provider": "github", "secret": "s", "headerName": "X"}),
    "unknown provider": config(verify={"provider": "gihub", "secret": "s"}),
    "discord with a secret": config(verify={"provider": "discord", "publicKey": ED25519_HEX, "secret": "s"}),
    "github without a secret": config(verify={"provider": "github"}),
    "meta without verifyToken": config(verify={"provider": "meta", "secret": "s"}),
    "twilio without server.publicUrl": config(verify={"provider": "twilio", "secret": "s"}),
    "generic with a public key": config(verify={**GENERIC, "publicKey": ED25519_HEX}),
    "plugin without symbol": config(verify={"plugin": "/x.so"}),
    "symbol without plugin": config(verify={**GENERIC, "symbol": "x"}),
    "bad algorithm": config(verify={**GENERIC, "algorithm": "md5"}),
    "triggers empty": config(triggers=[]),
    "trigger without name": config(triggers=[{"filter": {}}]),
    "trigger topic not a topic name": config(triggers=[{"name": "t", "topic": "a/b"}]),
    "respondWith without filter": config(respondWith={"response": {}}),
    "respondWith without response": config(respondWith={"filter": {}}),
    "status out of range": config(respondWith={"filter": {}, "response": {"status": 700}}),
    "framing response header": config(respondWith={"filter": {}, "response": {"headers": {"Content-Length": "1"}}}),
    "unknown request filter key": trigger_filter({"path": ["/x"]}),
    "header and headers": trigger_filter({"header": {"a": ["1"]}, "headers": {"b": ["2"]}}),
    "method not a list": trigger_filter({"method": "POST"}),
    "two methods in one item": trigger_filter({"method": ["GET POST"]}),
    "query value a number": trigger_filter({"query": {"page": [1]}}),
    "header operator other than a string one": trigger_filter({"headers": {"x-n": [{"$gt": 1}]}}),
    "scalar where a list belongs": body_filter("opened"),
    "list mixing types": body_filter(["1", 1]),
    "null in a list of values": body_filter([None]),
    "unknown operator": body_filter([{"$startWith": "open"}]),
    "two operators in one object": body_filter([{"$gt": 1, "$lt": 5}]),
    "operator list mixed with values": body_filter([{"$gt": 1}, 5]),
    "$between with one number": body_filter([{"$between": [1]}]),
    "$exists not a boolean": body_filter([{"$exists": "yes"}]),
    "$startsWith a number": body_filter([{"$startsWith": 1}]),
    "$not null": body_filter([{"$not": None}]),
    "durability spool without spool.path": config({"durability": "spool"}),
    "an endpoint spooling without spool.path": {"endpoints": [{"id": "a", "verify": "none", "durability": "spool"}]},
    "spool.maxBytes zero": config({"spool": {"path": "/s", "maxBytes": 0}}),
    "watch not a boolean": config({"watch": "yes"}),
    "size with a fraction": config({"server": {"maxBodySize": "1.5MiB"}}),
    "size zero": config(maxBodySize=0),
    "duration without a unit": config({"kafka": {"deliveryTimeout": "8"}}),
    "duration zero": config({"server": {"shutdownTimeout": "0s"}}),
    "requestTimeout zero": config({"server": {"requestTimeout": "0s"}}),
    "h2c with tls": config({"server": {"h2c": "true", "tls": {"certFile": "/c", "keyFile": "/k"}}}),
    "h2c not a boolean": config({"server": {"h2c": "yes"}}),
    "threads zero": config({"server": {"threads": 0}}),
    "listen on no address": config({"server": {"listen": []}}),
    "listen port too large": config({"admin": {"listen": "127.0.0.1:65536"}}),
    "IPv6 without brackets": config({"admin": {"listen": "::1:9090"}}),
    "tls without keyFile": config({"server": {"tls": {"certFile": "/c"}}}),
    "topic template with a slash": config({"kafka": {"topic": "hooks/{id}"}}),
    "owned producer property": config({"kafka": {"producer": {"acks": "1"}}}),
    "sampleRate above 1": config({"log": {"sampleRate": 2}}),
    "log level unknown": config({"log": {"level": "verbose"}}),
    "kafka.format unknown": config({"kafka": {"format": "avro"}}),
    "partitionKey not a path": config(partitionKey="repository.id"),
    "partitionKey with braces": config(partitionKey="body.{a}"),
    "example without id": config(examples=[{"name": "x"}]),
    "deduplicate size zero": config(deduplicate={"size": 0}),
    "deduplicate a word": config(deduplicate="sometimes"),
}


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_configurations_are_refused_by_the_schema_and_by_check(name, tmp_path, config_validator):
    cfg = INVALID[name]
    assert errors_of(config_validator, cfg) != [], "the schema accepts it"
    stderr = check_errors(cfg, tmp_path, name)
    assert len(stderr.strip().splitlines()) == 1, f"more wrong than meant:\n{stderr}"


def test_quoted_numbers_are_taken_as_hookbridge_takes_them(tmp_path, config_validator):
    """hookbridge reads scalars as text: a number written as a string is as good as the number."""
    cfg = config({"server": {"listen": "8080", "threads": "4", "maxBodySize": "65536"},
                  "log": {"sampleRate": "0.25"}, "watch": "true"},
                 deduplicate={"size": "100"}, respondWith={"filter": {}, "response": {"status": "204"}})
    assert errors_of(config_validator, cfg) == []
    result = check(cfg, tmp_path)
    assert result.returncode == 0, result.stderr.decode()


def test_env_references_stand_for_typed_values(tmp_path, config_validator):
    """${VAR} where a number, boolean or patterned string belongs: the schema lets it through, check expands it."""
    cfg = config({"server": {"listen": "127.0.0.1:${HB_TEST_PORT:-8080}", "threads": "${HB_TEST_THREADS:-2}",
                             "maxBodySize": "${HB_TEST_SIZE:-1MiB}"},
                  "kafka": {"deliveryTimeout": "${HB_TEST_TIMEOUT:-5s}", "format": "${HB_TEST_FORMAT:-msgpack}"},
                  "log": {"sampleRate": "${HB_TEST_RATE:-0.1}"}, "watch": "${HB_TEST_WATCH:-false}"},
                 id="${HB_TEST_ID:-a}", verify={"provider": "${HB_TEST_PROVIDER:-github}", "secret": "${X:-s}"})
    assert errors_of(config_validator, cfg) == []
    assert check(cfg, tmp_path).returncode == 0
    # $${ is a literal ${: no reference, so a typed value written that way is refused by both
    literal = config({"watch": "$${HB_TEST_WATCH}"})
    assert errors_of(config_validator, literal) != []
    check_errors(literal, tmp_path, "literal")


# ---- event-v1.schema.json against the envelopes the encoder makes ----


def vector_names() -> list[str]:
    return sorted(p.stem for p in VECTORS.glob("*.json"))


def test_there_are_vectors():
    names = vector_names()
    assert names, "schemas/vectors/ holds no NAME.json"
    for name in names:
        assert (VECTORS / f"{name}.msgpack").is_file(), name


@pytest.mark.parametrize("name", vector_names())
def test_each_golden_vector_validates(name, event_validator):
    assert errors_of(event_validator, load(VECTORS / f"{name}.json")) == []


@pytest.mark.parametrize("name", vector_names())
def test_what_decode_prints_validates(name, event_validator):
    result = run_hookbridge(["decode"], stdin=(VECTORS / f"{name}.msgpack").read_bytes())
    assert result.returncode == 0, result.stderr.decode()
    assert errors_of(event_validator, json.loads(result.stdout)) == []


MSGPACK_TYPES = {"int": int, "int (int64)": int, "str": str, "bin": bytes, "bool": bool, "map str → str": dict,
                 "array of str": list}


def json_form(envelope: dict[str, Any]) -> dict[str, Any]:
    """The JSON form as the schema's description defines it, done by a consumer: body as text when it is UTF-8,
    else bodyBase64; everything else one to one."""
    out = {}
    for key, value in envelope.items():
        if key == "body":
            try:
                out["body"] = value.decode("utf-8")
            except UnicodeDecodeError:
                out["bodyBase64"] = base64.b64encode(value).decode()
        else:
            out[key] = value
    return out


@pytest.mark.parametrize("name", vector_names())
def test_the_schema_describes_the_msgpack(name):
    """Each key's msgpack type is the one the schema gives (x-msgpack), and the JSON form the description defines is
    what decode prints (NAME.json)."""
    schema = load(EVENT_SCHEMA)
    envelope = msgpack.unpackb((VECTORS / f"{name}.msgpack").read_bytes(), raw=False)
    for key in schema["required"]:
        assert key in envelope, key
    assert "body" in envelope and "bodyBase64" not in envelope  # bodyBase64 is the JSON form's only
    for key, value in envelope.items():
        kind = schema["properties"][key]["x-msgpack"]
        if kind == "any":
            continue
        assert isinstance(value, MSGPACK_TYPES[kind]), (key, kind, type(value))
        if kind == "bool" or kind.startswith("int"):
            assert (kind == "bool") == isinstance(value, bool), key
        if kind.startswith("map"):
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()), key
        if kind.startswith("array"):
            assert all(isinstance(v, str) for v in value), key
    assert json_form(envelope) == load(VECTORS / f"{name}.json")


def test_the_schema_names_the_encoders_keys_and_requires_those_it_always_writes():
    """Over the vectors (which cover both body forms and both optional keys): the keys in every envelope are the
    schema's required ones (and body), the others its optional ones; the schema names no key the encoder lacks."""
    schema = load(EVENT_SCHEMA)
    vectors = [load(VECTORS / f"{name}.json") for name in vector_names()]
    for key in ("body", "bodyBase64", "json", "test"):
        assert any(key in v for v in vectors), f"no vector has {key}"
    envelopes = [msgpack.unpackb((VECTORS / f"{name}.msgpack").read_bytes(), raw=False) for name in vector_names()]
    always = set.intersection(*(set(e) for e in envelopes))
    sometimes = set.union(*(set(e) for e in envelopes)) - always
    assert always == set(schema["required"]) | {"body"}
    assert sometimes == {"json", "test"}
    assert set(schema["properties"]) == always | sometimes | {"bodyBase64"}


def test_the_event_schema_refuses_what_v1_is_not(event_validator):
    good = load(VECTORS / f"{vector_names()[0]}.json")
    assert errors_of(event_validator, good) == []
    text_body = good.get("body", "x")
    bad = {
        "v 2": {**good, "v": 2},
        "body and bodyBase64": {**good, "body": text_body, "bodyBase64": "eA=="},
        "neither body nor bodyBase64": {k: v for k, v in good.items() if k not in ("body", "bodyBase64")},
        "bodyBase64 not base64": {**{k: v for k, v in good.items() if k != "body"}, "bodyBase64": "not base64!"},
        "no triggers": {k: v for k, v in good.items() if k != "triggers"},
        "no id": {k: v for k, v in good.items() if k != "id"},
        "test false": {**good, "test": False},
        "receivedAt a string": {**good, "receivedAt": "2026-01-01T00:00:00Z"},
        "header name upper-case": {**good, "headers": {"Content-Type": "application/json"}},
        "query value a number": {**good, "query": {"a": 1}},
        "id with a space": {**good, "id": "a b"},
    }
    for what, instance in bad.items():
        assert errors_of(event_validator, instance) != [], what
    # a key v1 does not name yet is allowed: new keys are additive
    assert errors_of(event_validator, {**good, "partition": 3}) == []


def test_the_readme_provider_table_is_the_binarys():
    """README.md's provider table is `hookbridge providers --markdown` (./dev generate writes it)."""
    readme = (ROOT / "README.md").read_text()
    begin = readme.index("\n", readme.index("<!-- providers:")) + 1
    table = readme[begin:readme.index("<!-- /providers -->")]
    result = run_hookbridge(["providers", "--markdown"])
    assert result.returncode == 0, result.stderr.decode()
    assert table == result.stdout.decode(), "README.md's provider table is stale: run ./dev generate"
    names = [row["name"] for row in json.loads(run_hookbridge(["providers", "--json"]).stdout)]
    assert len(table.splitlines()) == len(names) + 2
