"""The decoder against hookbridge's golden envelopes: every schemas/vectors/NAME.msgpack decodes to NAME.json (what
`hookbridge decode` prints), field by field."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import msgpack
import pytest

from hookbridge_envelope import Envelope, EnvelopeError, EnvelopeVersionError, decode

HERE = Path(__file__).resolve().parent
# hookbridge's golden vectors, and two more envelopes the bridge made (../testdata/README.md)
VECTORS = Path(os.environ.get("HOOKBRIDGE_VECTORS", HERE.parents[2] / "schemas" / "vectors"))
TESTDATA = HERE.parent / "testdata"
CASES = [VECTORS / p.stem for p in sorted(VECTORS.glob("*.msgpack"))] + \
        [TESTDATA / p.stem for p in sorted(TESTDATA.glob("*.msgpack"))]

# the JSON form's keys and the Envelope field each one is
JSON_TO_FIELD = {
    "v": "v", "id": "id", "endpoint": "endpoint", "source": "source", "triggers": "triggers",
    "receivedAt": "received_at", "method": "method", "path": "path", "url": "url", "query": "query",
    "headers": "headers", "remoteAddr": "remote_addr", "contentType": "content_type", "body": "body",
    "bodyBase64": "body", "verified": "verified", "json": "json", "test": "test",
}


def typed(value):
    """The value as canonical JSON text: types count (False is not 0, 1 is not 1.0), key order does not."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def load(case: Path) -> tuple[bytes, dict]:
    return case.with_suffix(".msgpack").read_bytes(), json.loads(case.with_suffix(".json").read_text("utf-8"))


def test_there_are_vectors():
    assert len(list(VECTORS.glob("*.msgpack"))) >= 6, f"golden vectors missing in {VECTORS}"
    assert len(list(TESTDATA.glob("*.msgpack"))) >= 2, f"test envelopes missing in {TESTDATA}"


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.parent.name}/{c.name}")
def test_golden_vector(case: Path):
    data, want = load(case)
    assert set(want) <= set(JSON_TO_FIELD), f"the vector has fields Envelope does not expose: {set(want) - set(JSON_TO_FIELD)}"
    event = decode(data)
    assert isinstance(event, Envelope)

    for key in ("v", "id", "endpoint", "source", "receivedAt", "method", "path", "url", "remoteAddr", "contentType",
                "verified", "triggers", "query", "headers"):
        assert typed(getattr(event, JSON_TO_FIELD[key])) == typed(want[key]), key

    expected_body = want["body"].encode() if "body" in want else base64.b64decode(want["bodyBase64"], validate=True)
    assert isinstance(event.body, bytes)
    assert event.body == expected_body

    if "json" in want:
        assert event.json is not None
        assert typed(event.json) == typed(want["json"])
    else:
        assert event.json is None

    assert event.test is want.get("test", False)


def repack(name: str, **changes) -> bytes:
    m = msgpack.unpackb(load(VECTORS / name)[0], raw=False)
    for key, value in changes.items():
        if value is KeyError:
            del m[key]
        else:
            m[key] = value
    return msgpack.packb(m, use_bin_type=True)


def test_unknown_fields_are_ignored():
    plain = decode(load(VECTORS / "json-body")[0])
    assert decode(repack("json-body", aNewField={"nested": [1, "two", b"\x03"]}, zz=None)) == plain


@pytest.mark.parametrize("v", [2, 0, -1, "1", None, True, KeyError])
def test_other_versions_are_refused(v):
    with pytest.raises(EnvelopeVersionError, match="not a hookbridge event envelope v1"):
        decode(repack("json-body", v=v))


def test_a_v2_with_other_field_types_is_refused_for_its_version():
    with pytest.raises(EnvelopeVersionError, match="v is 2"):
        decode(repack("json-body", v=2, body=7, triggers="x"))


@pytest.mark.parametrize(
    "data",
    [
        msgpack.packb([1, 2, 3]),
        b"",
        load(VECTORS / "json-body")[0] + b"\xc0",
        load(VECTORS / "json-body")[0][:-3],
        repack("json-body", body=KeyError),
        repack("json-body", id=KeyError),
        repack("json-body", body="a str, not bin"),
        repack("json-body", headers="host: x"),
        repack("json-body", receivedAt="soon"),
        repack("json-body", triggers=5),
        repack("json-body", test=1),
    ],
    ids=["not a map", "empty", "trailing bytes", "truncated", "no body", "no id", "body as str", "headers not a map",
         "receivedAt not an int", "triggers not an array", "test not a bool"],
)
def test_malformed_envelopes_are_refused(data: bytes):
    with pytest.raises(EnvelopeError):
        decode(data)


def test_strings_that_are_not_utf8_get_replacement_characters():
    event = decode((TESTDATA / "invalid-utf8.msgpack").read_bytes())
    assert event.query["q"] == "\ufffd" and event.headers["x-odd"] == "caf\ufffd"
    assert event.url == "/webhooks/odd?q=%FF&ok=1" and event.body == b"caf\xe9 latin-1 body"
