"""hookbridge's event envelope v1: the msgpack map that is the value of every Kafka record hookbridge publishes.

    from hookbridge_envelope import decode
    event = decode(record_value)      # an Envelope, or EnvelopeError
    event.id, event.endpoint, event.body, event.json, ...

A v1 envelope only ever gains fields: decode() ignores keys it does not know, and refuses any other version.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import msgpack

VERSION = 1
CONTENT_TYPE = "application/vnd.hookbridge.event.v1+msgpack"  # the content-type header of such a record


class EnvelopeError(ValueError):
    """The bytes are not a hookbridge event envelope v1."""


class EnvelopeVersionError(EnvelopeError):
    """An envelope of another version (v missing or not 1)."""


@dataclasses.dataclass(frozen=True)
class Envelope:
    v: int
    id: str  # the sender's delivery id, else a UUIDv7; kept across retries of one delivery
    endpoint: str  # the endpoint's id in the config
    source: str  # the provider, e.g. "github"
    triggers: list[str]  # the triggers that matched and route to this topic (may be empty)
    received_at: int  # receivedAt: unix time in milliseconds
    method: str
    path: str
    url: str  # path + query, as received
    query: dict[str, str]  # the last value of a repeated parameter wins
    headers: dict[str, str]  # lower-case names; repeated headers joined with ", "
    remote_addr: str  # remoteAddr: peer address (or the trusted forwarded-for)
    content_type: str  # contentType: "" when the request had none
    body: bytes  # the raw body, byte for byte
    verified: str  # the scheme that verified it: "hmac-sha256", "github", "none", ...
    json: Any = None  # the parsed body (JSON or form) when it parsed, else None (as for a body that was JSON null)
    test: bool = False  # True for a test run sent from an endpoint's examples


def _is_str(x: Any) -> bool:
    return isinstance(x, str)


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _is_str_map(x: Any) -> bool:
    return isinstance(x, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in x.items())


def _is_str_list(x: Any) -> bool:
    return isinstance(x, list) and all(isinstance(s, str) for s in x)


# envelope key -> (Envelope field, type check); "json" and "test" are optional
_REQUIRED = {
    "v": ("v", _is_int),
    "id": ("id", _is_str),
    "endpoint": ("endpoint", _is_str),
    "source": ("source", _is_str),
    "triggers": ("triggers", _is_str_list),
    "receivedAt": ("received_at", _is_int),
    "method": ("method", _is_str),
    "path": ("path", _is_str),
    "url": ("url", _is_str),
    "query": ("query", _is_str_map),
    "headers": ("headers", _is_str_map),
    "remoteAddr": ("remote_addr", _is_str),
    "contentType": ("content_type", _is_str),
    "body": ("body", lambda x: isinstance(x, bytes)),
    "verified": ("verified", _is_str),
}


def decode(data: bytes) -> Envelope:
    """Decodes one record value. Unknown keys are ignored; a missing field, a field of the wrong type or a version
    other than 1 raises EnvelopeError."""
    try:
        # msgpack str -> str, bin -> bytes. A str that is not UTF-8 (a query with %FF, a Latin-1 header value) gets
        # U+FFFD for each bad sequence, as `hookbridge decode` prints it; the raw bytes are still in url and body.
        m = msgpack.unpackb(data, raw=False, unicode_errors="replace")
    except (ValueError, TypeError, msgpack.UnpackException) as e:
        raise EnvelopeError(f"not one msgpack value: {e}") from e
    if not isinstance(m, dict):
        raise EnvelopeError(f"an envelope is a msgpack map, not {type(m).__name__}")
    if "v" not in m:
        raise EnvelopeVersionError("not a hookbridge event envelope v1: field v is missing")
    if not _is_int(m["v"]) or m["v"] != VERSION:
        raise EnvelopeVersionError(f"not a hookbridge event envelope v1: v is {m['v']!r}")
    fields: dict[str, Any] = {}
    for key, (name, ok) in _REQUIRED.items():
        if key not in m:
            raise EnvelopeError(f"the envelope lacks field {key}")
        if not ok(m[key]):
            raise EnvelopeError(f"envelope field {key} has the wrong type: {type(m[key]).__name__}")
        fields[name] = m[key]
    if "json" in m:
        fields["json"] = m["json"]
    if "test" in m:
        if not isinstance(m["test"], bool):
            raise EnvelopeError(f"envelope field test has the wrong type: {type(m['test']).__name__}")
        fields["test"] = m["test"]
    return Envelope(**fields)
