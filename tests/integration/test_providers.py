"""Every verify.provider preset end to end against the real broker.

The valid signatures come from outside hookbridge: tests/providers/sign.mjs signs each request with the provider's
own SDK from npm (@octokit/webhooks-methods, stripe, standardwebhooks, svix, twilio, tweetnacl, @zoom/rivet for the
Zoom handshake answer) or, where no SDK signs, with node:crypto following the provider's documentation. This file
never computes a signature itself (one exception, marked: the Zoom handshake answer is also recomputed with Python's
hmac as a second, independent check), and never lets `hookbridge sign` produce the inputs of a verification test
(test_hookbridge_sign_output_is_accepted tests `sign` itself, against the bridge).

Every claim that something was NOT published is checked with a sentinel: one more valid request per endpoint at the
end, then the topic read to its end; exactly the accepted requests (the sentinel last) may be there.

Needs node and `cd tests/providers && npm ci` (./dev test does it); without them the tests fail, never skip.
"""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import hashlib
import hmac
import json
import shutil
import subprocess
import time
import uuid
from typing import Any, Callable, Optional

import pytest
import requests

from conftest import ROOT, Bridge, read_topic, run_hookbridge

PROVIDERS_DIR = ROOT / "tests" / "providers"
SIGN_MJS = PROVIDERS_DIR / "sign.mjs"
NODE = shutil.which("node")
PUBLIC_URL = "https://hooks.example.com"  # server.publicUrl: what Twilio signs (the bridge never calls it)
SKEW_S = 600  # "10 minutes": outside the default 300 s tolerance, in either direction



@pytest.fixture(autouse=True)
def providers_sdks() -> None:
    """The SDKs are the reference: a machine without them fails these tests rather than skipping them."""
    assert NODE is not None and (PROVIDERS_DIR / "node_modules").is_dir(), \
        "needs node and the providers' SDKs: cd tests/providers && npm ci (./dev test does it)"


# ---- sign.mjs ----


def sdk(request: dict[str, Any]) -> dict[str, Any]:
    """One sign.mjs run: the request as JSON on stdin, its JSON answer."""
    proc = subprocess.run([NODE, str(SIGN_MJS)], input=json.dumps(request).encode(), capture_output=True, timeout=60,
                          cwd=PROVIDERS_DIR)
    assert proc.returncode == 0, f"sign.mjs {request}: {proc.stderr.decode()}"
    return json.loads(proc.stdout)


def sdk_many(requests_: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """sign.mjs once per request, several at a time (each run starts node: ~0.1 s)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        return list(pool.map(sdk, requests_))


def whsec(key: bytes) -> str:
    return "whsec_" + base64.b64encode(key).decode()


# ---- the presets, as the table gives them ----


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    sig_header: Optional[str]  # as written in the table: the "Missing header ..." reason names it so
    id_header: Optional[str] = None  # the delivery id that becomes the envelope id
    timestamped: bool = False


PRESETS = [
    Preset("github", "X-Hub-Signature-256", "X-GitHub-Delivery"),
    Preset("stripe", "Stripe-Signature", timestamped=True),
    Preset("slack", "X-Slack-Signature", timestamped=True),
    Preset("shopify", "X-Shopify-Hmac-Sha256", "X-Shopify-Webhook-Id"),
    Preset("standard-webhooks", "Webhook-Signature", "webhook-id", timestamped=True),
    Preset("svix", "Svix-Signature", "svix-id", timestamped=True),
    Preset("twilio", "X-Twilio-Signature", "I-Twilio-Idempotency-Token"),
    Preset("zoom", "X-Zm-Signature", timestamped=True),
    Preset("meta", "X-Hub-Signature-256"),
    Preset("discord", "X-Signature-Ed25519", timestamped=True),
    Preset("sendgrid", "X-Twilio-Email-Event-Webhook-Signature", timestamped=True),
    Preset("linear", "Linear-Signature", "Linear-Delivery"),
    Preset("intercom", "X-Hub-Signature"),
    Preset("paddle", "Paddle-Signature", timestamped=True),
    Preset("gitlab", "X-Gitlab-Token", "Idempotency-Key"),
    Preset("mailgun", None, timestamped=True),  # the signature is inside the body
    Preset("dropbox", "X-Dropbox-Signature"),
]
BY_NAME = {p.name: p for p in PRESETS}
KEY_PAIR = {"discord": "ed25519", "sendgrid": "p256"}  # the others share a secret
HMAC_OR_TOKEN = [p for p in PRESETS if p.name not in KEY_PAIR]

# secrets in each provider's own shape (Stripe's whsec_ is used as it is, Svix's is base64 key bytes)
SECRET = {
    "github": "It's a Secret to Everybody",
    "stripe": "whsec_it_prov_5f2c8e1d0a",
    "slack": "8f742231b10e8888abcd99yyyzzz85a5",
    "shopify": "it-shopify-client-secret-3b1f",
    "standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "svix": whsec(b"it svix key of 24 bytes!"),
    "twilio": "12345abcdeauthtoken67890",
    "zoom": "it_zoom_secret_token_91c",
    "meta": "it-meta-app-secret-07de",
    "linear": "lin_wh_it_secret_4d2a",
    "intercom": "it-intercom-client-secret",
    "paddle": "pdl_ntfset_01it_secret_key",
    "gitlab": "it-gitlab-token-1f0b",
    "mailgun": "key-it-mailgun-signing-key",
    "dropbox": "it-dropbox-app-secret",
}
OTHER_SECRET = {
    name: whsec(b"another key of some length") if secret.startswith("whsec_") and name != "stripe"
    else secret + "-other"
    for name, secret in SECRET.items()
}
META_VERIFY_TOKEN = "it-meta-verify-token-5a"


def keygen_all(*kinds: str) -> list[dict[str, Any]]:
    return sdk_many([{"keygen": kind} for kind in kinds])


@dataclasses.dataclass
class Keys:
    """Key pairs made by sign.mjs (tweetnacl, node:crypto): ours (configured) and others (never configured)."""

    discord: dict[str, Any]
    discord_other: dict[str, Any]
    sendgrid: dict[str, Any]
    sendgrid_other: dict[str, Any]

    @classmethod
    def make(cls) -> "Keys":
        return cls(*keygen_all("ed25519", "ed25519", "p256", "p256"))


def verify_config(name: str, keys: Keys) -> dict[str, Any]:
    if name == "discord":
        return {"provider": name, "publicKey": keys.discord["publicKeyHex"]}
    if name == "sendgrid":
        return {"provider": name, "publicKey": keys.sendgrid["publicKey"]}
    config = {"provider": name, "secret": SECRET[name]}
    if name == "meta":
        config["verifyToken"] = META_VERIFY_TOKEN
    return config


def key_args(name: str, keys: Keys, wrong: bool = False) -> dict[str, Any]:
    """What sign.mjs signs with: the configured secret or private key, or (wrong) another one."""
    if name == "discord":
        return {"privateKey": (keys.discord_other if wrong else keys.discord)["privateKeyHex"]}
    if name == "sendgrid":
        return {"privateKey": (keys.sendgrid_other if wrong else keys.sendgrid)["privateKey"]}
    return {"secret": (OTHER_SECRET if wrong else SECRET)[name]}


def compact(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def body_args(name: str, nonce: str, endpoint: Optional[str] = None) -> dict[str, Any]:
    """A provider-shaped payload for sign.mjs; every one carries "amount":100 (Amount=100), which tampering changes."""
    endpoint = endpoint or name
    if name == "twilio":  # Twilio posts forms; sign.mjs builds the body from the parameters
        return {"url": f"{PUBLIC_URL}/webhooks/{endpoint}?channel=sms",
                "form": {"MessageSid": f"SM{nonce}", "From": "+14158675309", "To": "+18005551212",
                         "Body": "héllo & bye=1", "Amount": "100", "Nonce": nonce}}
    payload: dict[str, Any] = {
        "github": {"action": "opened", "number": 7},
        "stripe": {"id": f"evt_{nonce}", "object": "event", "type": "payment_intent.succeeded"},
        "slack": {"type": "event_callback", "event": {"type": "app_mention", "text": "héllo"}},
        "shopify": {"id": 820982911946154500, "email": "jon@example.com"},
        "standard-webhooks": {"type": "invoice.paid"},
        "svix": {"type": "invoice.paid"},
        "zoom": {"event": "meeting.started", "payload": {"account_id": "abc"}},
        "meta": {"object": "whatsapp_business_account", "entry": []},
        "discord": {"type": 2, "data": {"name": "ping"}},
        "sendgrid": {"event": "delivered", "email": "a@example.com"},
        "linear": {"type": "Issue", "action": "create"},
        "intercom": {"type": "notification_event", "topic": "ping"},
        "paddle": {"event_type": "transaction.completed"},
        "gitlab": {"object_kind": "push", "ref": "refs/heads/main"},
        "mailgun": {"event-data": {"event": "delivered"}},
        "dropbox": {"list_folder": {"accounts": ["dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc"]}},
    }[name]
    return {"body": compact({**payload, "amount": 100, "nonce": nonce})}


# ---- requests ----


@dataclasses.dataclass
class Req:
    """One HTTP request as a sender makes it."""

    endpoint: str
    body: bytes
    headers: dict[str, str]
    suffix: str = ""  # what follows /webhooks/ID (Twilio's query)
    sdk: str = ""

    def header(self, name: str) -> Optional[str]:
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)

    def without_header(self, name: str) -> "Req":
        return dataclasses.replace(self, headers={k: v for k, v in self.headers.items() if k.lower() != name.lower()})

    def with_headers(self, **extra: str) -> "Req":
        return dataclasses.replace(self, headers={**self.headers, **extra})

    def with_body(self, body: bytes) -> "Req":
        return dataclasses.replace(self, body=body)


def request_from(endpoint: str, sign_input: dict[str, Any], out: dict[str, Any]) -> Req:
    """The request sign.mjs's answer describes: its headers, its body (or the one it signed), its URL's query."""
    body = out["body"] if "body" in out else sign_input.get("body", "")
    suffix = ""
    if "url" in out:
        base = f"{PUBLIC_URL}/webhooks/{endpoint}"
        assert out["url"].startswith(base), out["url"]
        suffix = out["url"][len(base):]
    headers = dict(out["headers"])
    # delivery ids sign.mjs does not add (they are not signed): Twilio's and GitLab's, as those providers send them
    if sign_input.get("provider") == "twilio":
        headers["I-Twilio-Idempotency-Token"] = f"idem-{uuid.uuid4()}"
    if sign_input.get("provider") == "gitlab":
        headers["Idempotency-Key"] = str(uuid.uuid4())
    return Req(endpoint, body.encode(), headers, suffix, out.get("sdk", ""))


def send(bridge: Bridge, req: Req) -> requests.Response:
    return requests.post(bridge.url(req.endpoint, req.suffix), data=req.body, headers=req.headers, timeout=30)


def tampered(provider: str, req: Req) -> Req:
    """The request with its signed content changed (and the signature left as it was)."""
    if provider == "mailgun":  # Mailgun signs timestamp + token, inside the body: change the token
        body = json.loads(req.body)
        token = body["signature"]["token"]
        body["signature"]["token"] = token[:-1] + ("0" if token[-1] != "0" else "1")
        return req.with_body(compact(body).encode())
    if provider == "gitlab":  # a shared token signs nothing: change the token
        return req.with_headers(**{"X-Gitlab-Token": SECRET["gitlab"][:-1] + "X"})
    needle = b"Amount=100" if provider == "twilio" else b'"amount":100'
    assert req.body.count(needle) == 1, req.body
    return req.with_body(req.body.replace(needle, needle[:-3] + b"999"))


def without_signature(provider: str, req: Req) -> Req:
    if provider == "mailgun":
        body = json.loads(req.body)
        del body["signature"]
        return req.with_body(compact(body).encode())
    return req.without_header(BY_NAME[provider].sig_header)


class Problems:
    """Collects every mismatch of a matrix of cases, so that one run shows all of them."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def expect(self, ok: bool, what: str) -> bool:
        if not ok:
            self.items.append(what)
        return ok

    def answer(self, label: str, resp: requests.Response, status: int, reason: Optional[str] = None) -> Optional[str]:
        """Checks an answer: 200 {"ok":true,"id":...} (returns the id) or an error with that status and reason."""
        text = f"{label}: got {resp.status_code} {resp.text.strip()!r}"
        if status == 200:
            ok = resp.status_code == 200 and resp.headers.get("content-type") == "application/json"
            answer = resp.json() if ok else {}
            if self.expect(ok and answer.get("ok") is True and isinstance(answer.get("id"), str),
                           f"{text}, expected 200 with an id"):
                return answer["id"]
            return None
        ok = resp.status_code == status and resp.headers.get("content-type") == "application/json"
        if ok:
            answer = resp.json()
            ok = isinstance(answer.get("error"), str) and (reason is None or answer.get("reason") == reason)
        self.expect(ok, f"{text}, expected {status} {reason!r}")
        return None

    def check(self) -> None:
        assert not self.items, f"{len(self.items)} problem(s):\n  " + "\n  ".join(self.items)


def read_topics(bootstrap: str, wanted: dict[str, int]) -> dict[str, list]:
    """read_topic for several topics at once (topic → how many records to wait for)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        futures = {topic: pool.submit(read_topic, bootstrap, topic, count) for topic, count in wanted.items()}
        return {topic: f.result() for topic, f in futures.items()}


@dataclasses.dataclass
class Accepted:
    """A request the bridge accepted: what must be in the endpoint's topic, in order."""

    id: str
    body: bytes
    label: str


def check_topics(problems: Problems, bridge: Bridge, bootstrap: str, accepted: dict[str, list[Accepted]],
                 verified: Callable[[str], str]) -> None:
    """Each endpoint's topic holds exactly its accepted requests (ids and bodies, in order), `verified` naming the
    preset, the record key being the id."""
    topics = read_topics(bootstrap, {bridge.topic(ep): len(items) for ep, items in accepted.items()})
    for ep, items in accepted.items():
        records = topics[bridge.topic(ep)]
        got = [(r.envelope["id"], r.envelope["body"]) for r in records]
        want = [(a.id, a.body) for a in items]
        if not problems.expect(got == want, f"{ep}: topic holds {[g[0] for g in got]}, expected "
                                            f"{[(a.id, a.label) for a in items]}"):
            continue
        for r in records:
            env = r.envelope
            problems.expect(env["verified"] == verified(ep) and env["endpoint"] == ep and r.key == env["id"].encode(),
                            f"{ep}: envelope verified={env['verified']!r} endpoint={env['endpoint']!r} key={r.key!r}")


# ---- 1. the matrix: every preset, valid / tampered / wrong secret / missing header / stale / future ----


def test_every_preset_accepts_its_sdk_signature_and_refuses_the_rest(start_bridge, kafka_bootstrap):
    t0 = time.monotonic()
    keys = Keys.make()
    bridge = start_bridge([{"id": p.name, "verify": verify_config(p.name, keys)} for p in PRESETS],
                          server={"publicUrl": PUBLIC_URL})

    # every request of the matrix, signed up front by sign.mjs (one node run each, in parallel)
    now = int(time.time())
    plan: list[tuple[str, str, dict[str, Any]]] = []  # (provider, case, sign.mjs input)
    for p in PRESETS:
        def add(case: str, wrong: bool = False, payload: Optional[dict[str, Any]] = None, **extra: Any) -> None:
            payload = payload if payload is not None else body_args(p.name, uuid.uuid4().hex)
            plan.append((p.name, case, {"provider": p.name, **key_args(p.name, keys, wrong), **payload, **extra}))
        add("valid")
        add("tampered")
        add("wrong secret", wrong=True)
        add("missing signature")
        if p.timestamped:
            add("stale", timestamp=now - SKEW_S)
            add("future", timestamp=now + SKEW_S)
        if p.name == "twilio":  # a JSON body: Twilio signs the URL with bodySHA256=<hex sha256 of the body>
            json_body = {"body": compact({"MessageSid": "SMjson", "amount": 100}),
                         "url": f"{PUBLIC_URL}/webhooks/twilio?channel=whatsapp"}
            add("json valid", payload=json_body)
            add("json tampered", payload=json_body)
            # a parameter given several times, one value twice: Twilio's SDK signs each name's set of values
            repeated = body_args("twilio", uuid.uuid4().hex)
            repeated["form"]["StatusCallbackEvent"] = ["ringing", "answered", "ringing", "completed"]
            add("form, repeated parameter", payload=repeated)
        if p.name == "mailgun":  # the legacy form-encoded webhooks: timestamp, token and signature as form fields
            add("form (legacy) valid", payload={"form": {"event": "delivered", "recipient": "a@example.com"}})
        if p.name == "gitlab":
            add("body changed, token right")
        add("sentinel")
    outputs = sdk_many([inp for _, _, inp in plan])
    t_signed = time.monotonic()

    problems = Problems()
    accepted: dict[str, list[Accepted]] = {p.name: [] for p in PRESETS}
    sdks: dict[str, set[str]] = {p.name: set() for p in PRESETS}
    for (name, case, inp), out in zip(plan, outputs):
        p = BY_NAME[name]
        req = request_from(name, inp, out)
        sdks[name].add(out.get("sdk", "?"))
        label = f"{name} {case}"
        if case.startswith("json"):
            problems.expect("bodySHA256=" in req.suffix and req.header("content-type") == "application/json",
                            f"{label}: not a JSON request: {req.suffix} {req.headers}")
        if case in ("valid", "json valid", "form, repeated parameter", "form (legacy) valid", "sentinel"):
            event_id = problems.answer(label, send(bridge, req), 200)
            if event_id is None:
                continue
            accepted[name].append(Accepted(event_id, req.body, label))
            if p.id_header is not None:
                delivery_id = req.header(p.id_header)
                problems.expect(event_id == delivery_id, f"{label}: id {event_id!r}, not {p.id_header} {delivery_id!r}")
            if name == "mailgun" and case == "valid":  # the same signed body again: its token was used
                problems.answer(f"{label} (replayed)", send(bridge, req), 401, "Token already used")
        elif case == "tampered":
            reason = "Token mismatch" if name == "gitlab" else "Signature mismatch"
            problems.answer(label, send(bridge, tampered(name, req)), 401, reason)
        elif case == "json tampered":  # the URL (and its bodySHA256) still verify; the body is not the one hashed
            changed = req.with_body(req.body.replace(b'"amount":100', b'"amount":999'))
            problems.answer(label, send(bridge, changed), 401, "Body hash mismatch")
        elif case == "wrong secret":
            reason = "Token mismatch" if name == "gitlab" else "Signature mismatch"
            problems.answer(label, send(bridge, req), 401, reason)
        elif case == "missing signature":
            reason = f"Missing header {p.sig_header}" if p.sig_header is not None else "Missing signature"
            problems.answer(label, send(bridge, without_signature(name, req)), 401, reason)
        elif case in ("stale", "future"):
            problems.answer(label, send(bridge, req), 401, "Timestamp outside tolerance")
        elif case == "body changed, token right":
            # GitLab's token authenticates the sender, not the body (GitLab signs nothing): accepted
            changed = req.with_body(req.body.replace(b'"amount":100', b'"amount":999'))
            event_id = problems.answer(label, send(bridge, changed), 200)
            if event_id is not None:
                accepted[name].append(Accepted(event_id, changed.body, label))
        else:
            raise AssertionError(case)
    t_sent = time.monotonic()

    # exactly the accepted ones (the sentinel last) were published; verified names the preset
    check_topics(problems, bridge, kafka_bootstrap, accepted, verified=lambda ep: ep)
    print(f"\nsigned {len(plan)} requests in {t_signed - t0:.1f}s, sent in {t_sent - t_signed:.1f}s, "
          f"topics read in {time.monotonic() - t_sent:.1f}s; signers:")
    for name, used in sdks.items():
        print(f"  {name}: {' | '.join(sorted(used))}")
    problems.check()


# ---- 2. rotation: secrets [new, old] and publicKeys ----


def test_rotation_accepts_any_configured_secret_or_public_key(start_bridge, kafka_bootstrap):
    new, old, third = "it-rot-new-7c1", "it-rot-old-2b9", "it-rot-never-configured"
    s_new, s_old, s_third = "whsec_it_rot_new_1", "whsec_it_rot_old_2", "whsec_it_rot_third_3"
    w_new, w_old, w_third = whsec(b"rotation key new, 24B..."), whsec(b"rotation key old, 24B..."), whsec(b"x" * 24)
    ours, other, never = keygen_all("ed25519", "ed25519", "ed25519")
    bridge = start_bridge([
        {"id": "github-rot", "verify": {"provider": "github", "secrets": [new, old]}},
        {"id": "stripe-rot", "verify": {"provider": "stripe", "secrets": [s_new, s_old]}},
        {"id": "swh-rot", "verify": {"provider": "standard-webhooks", "secrets": [w_new, w_old]}},
        {"id": "paddle-rot", "verify": {"provider": "paddle", "secrets": [s_new, s_old]}},
        {"id": "swh-v1a", "verify": {"provider": "standard-webhooks", "publicKeys": [other["whpk"], ours["whpk"]]}},
        {"id": "svix-v1a", "verify": {"provider": "svix", "publicKey": ours["whpk"]}},
    ])

    def body() -> str:
        return compact({"type": "rotation", "nonce": uuid.uuid4().hex})

    # (endpoint, label, sign.mjs input, accepted?, reason when refused)
    cases: list[tuple[str, str, dict[str, Any], bool, Optional[str]]] = [
        ("github-rot", "new secret", {"provider": "github", "secret": new}, True, None),
        ("github-rot", "old secret", {"provider": "github", "secret": old}, True, None),
        ("github-rot", "a third secret", {"provider": "github", "secret": third}, False, "No signature matched"),
        ("stripe-rot", "two v1 (new, old)", {"provider": "stripe", "secrets": [s_new, s_old]}, True, None),
        ("stripe-rot", "two v1 (third, old)", {"provider": "stripe", "secrets": [s_third, s_old]}, True, None),
        ("stripe-rot", "one v1 (old)", {"provider": "stripe", "secret": s_old}, True, None),
        ("stripe-rot", "two v1, neither configured", {"provider": "stripe", "secrets": [s_third, s_third + "x"]},
         False, "No signature matched"),
        ("swh-rot", "two v1 (new, old)", {"provider": "standard-webhooks", "secrets": [w_new, w_old]}, True, None),
        ("swh-rot", "one v1 (old)", {"provider": "standard-webhooks", "secret": w_old}, True, None),
        ("swh-rot", "one v1 (third)", {"provider": "standard-webhooks", "secret": w_third}, False,
         "No signature matched"),
        ("paddle-rot", "two h1 (third, old)", {"provider": "paddle", "secrets": [s_third, s_old]}, True, None),
        ("paddle-rot", "one h1 (third)", {"provider": "paddle", "secret": s_third}, False, "No signature matched"),
        ("swh-v1a", "v1a, whsk_ seed+public", {"provider": "standard-webhooks", "privateKey": ours["whsk"]}, True,
         None),
        ("swh-v1a", "v1a, whsk_ seed", {"provider": "standard-webhooks", "privateKey": ours["whskSeed"]}, True, None),
        ("swh-v1a", "v1a, the other listed key", {"provider": "standard-webhooks", "privateKey": other["whsk"]}, True,
         None),
        ("swh-v1a", "v1a, a key not listed", {"provider": "standard-webhooks", "privateKey": never["whsk"]}, False,
         "No signature matched"),
        ("swh-v1a", "v1 only (no public key for it)", {"provider": "standard-webhooks", "secret": w_new}, False,
         "No signature matched"),
        ("svix-v1a", "v1 (unknown secret) next to v1a", {"provider": "svix", "secret": w_third,
                                                          "privateKey": ours["whsk"]}, True, None),
        ("svix-v1a", "v1a, a key not listed", {"provider": "svix", "privateKey": never["whsk"]}, False,
         "Signature mismatch"),
    ]
    sentinels = {
        "github-rot": {"provider": "github", "secret": old},
        "stripe-rot": {"provider": "stripe", "secret": s_new},
        "swh-rot": {"provider": "standard-webhooks", "secret": w_new},
        "paddle-rot": {"provider": "paddle", "secret": s_old},
        "swh-v1a": {"provider": "standard-webhooks", "privateKey": ours["whsk"]},
        "svix-v1a": {"provider": "svix", "privateKey": ours["whsk"]},
    }
    for ep, inp in sentinels.items():
        cases.append((ep, "sentinel", inp, True, None))
    inputs = [{**inp, "body": body()} for _, _, inp, _, _ in cases]
    outputs = sdk_many(inputs)

    problems = Problems()
    accepted: dict[str, list[Accepted]] = {ep: [] for ep in sentinels}
    for (ep, label, inp, ok, reason), sign_input, out in zip(cases, inputs, outputs):
        req = request_from(ep, sign_input, out)
        if label.startswith("two "):  # sign.mjs put one signature per secret into the header
            problems.expect(sum((req.header(h) or "").count(entry) for h, entry in [
                ("Stripe-Signature", "v1="), ("webhook-signature", "v1,"), ("Paddle-Signature", "h1=")]) == 2,
                f"{ep} {label}: {req.headers}")
        event_id = problems.answer(f"{ep} {label}", send(bridge, req), 200 if ok else 401, reason)
        if event_id is not None:
            accepted[ep].append(Accepted(event_id, req.body, f"{ep} {label}"))
            id_header = {"github-rot": "X-GitHub-Delivery", "swh-rot": "webhook-id", "swh-v1a": "webhook-id",
                         "svix-v1a": "svix-id"}.get(ep)
            if id_header is not None:
                problems.expect(event_id == req.header(id_header), f"{ep} {label}: id {event_id!r}")
    check_topics(problems, bridge, kafka_bootstrap, accepted,
                 verified=lambda ep: {"github-rot": "github", "stripe-rot": "stripe", "paddle-rot": "paddle",
                                      "svix-v1a": "svix"}.get(ep, "standard-webhooks"))
    problems.check()


# ---- 3. the set-up handshakes, over real HTTP ----


def test_handshakes_are_answered_and_publish_nothing(start_bridge, kafka_bootstrap):
    keys = Keys.make()
    bridge = start_bridge([{"id": name, "verify": verify_config(name, keys)}
                           for name in ("slack", "zoom", "meta", "dropbox", "discord")])
    slack_challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    slack_body = compact({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "challenge": slack_challenge,
                          "type": "url_verification"})
    plain_token = "qgg8vlvZRS6UYooatFL8Aw"
    # compact JSON: @zoom/rivet verifies over JSON.stringify(JSON.parse(body))
    zoom_body = compact({"payload": {"plainToken": plain_token}, "event_ts": 1654503849680,
                         "event": "endpoint.url_validation"})
    ping_body = compact({"type": 1, "id": "1095164444356816937", "application_id": "1095164443014631476",
                         "token": "aW50ZXJhY3Rpb24", "version": 1})
    inputs = {
        "slack": {"provider": "slack", **key_args("slack", keys), "body": slack_body},
        "slack wrong": {"provider": "slack", **key_args("slack", keys, wrong=True), "body": slack_body},
        "slack stale": {"provider": "slack", **key_args("slack", keys), "body": slack_body,
                        "timestamp": int(time.time()) - SKEW_S},
        "zoom": {"provider": "zoom", **key_args("zoom", keys), "body": zoom_body},
        "zoom wrong": {"provider": "zoom", **key_args("zoom", keys, wrong=True), "body": zoom_body},
        "discord": {"provider": "discord", **key_args("discord", keys), "body": ping_body},
        "discord wrong": {"provider": "discord", **key_args("discord", keys, wrong=True), "body": ping_body},
        "discord future": {"provider": "discord", **key_args("discord", keys), "body": ping_body,
                           "timestamp": int(time.time()) + SKEW_S},
    }
    for name in ("slack", "zoom", "meta", "dropbox", "discord"):
        inputs[f"{name} sentinel"] = {"provider": name, **key_args(name, keys), **body_args(name, uuid.uuid4().hex)}
    signed = dict(zip(inputs, sdk_many(list(inputs.values()))))
    req = {label: request_from(label.split()[0], inputs[label], out) for label, out in signed.items()}

    # Slack url_verification: signed like any event, verified first, the challenge echoed as JSON
    resp = send(bridge, req["slack"])
    assert (resp.status_code, resp.headers["content-type"]) == (200, "application/json"), resp.text
    assert resp.json() == {"challenge": slack_challenge}
    for bad, reason in [(req["slack"].without_header("X-Slack-Signature").without_header("X-Slack-Request-Timestamp"),
                         "Missing header X-Slack-Signature"),
                        (req["slack wrong"], "Signature mismatch"),
                        (req["slack stale"], "Timestamp outside tolerance")]:
        resp = send(bridge, bad)
        assert (resp.status_code, resp.json()["reason"]) == (401, reason), resp.text

    # Zoom endpoint.url_validation: the answer @zoom/rivet gives, and hex HMAC-SHA256(secret, plainToken)
    resp = send(bridge, req["zoom"])
    assert (resp.status_code, resp.headers["content-type"]) == (200, "application/json"), resp.text
    rivet = signed["zoom"]["expectedResponse"]
    assert rivet["status"] == 200 and resp.json() == rivet["body"], (resp.text, rivet)
    # an independent check, in Python: the documented recipe (not a signature of any request)
    expected_token = hmac.new(SECRET["zoom"].encode(), plain_token.encode(), hashlib.sha256).hexdigest()
    assert resp.json() == {"plainToken": plain_token, "encryptedToken": expected_token}
    for bad, reason in [(req["zoom"].without_header("x-zm-signature"), "Missing header X-Zm-Signature"),
                        (req["zoom wrong"], "Signature mismatch")]:
        resp = send(bridge, bad)
        assert (resp.status_code, resp.json()["reason"]) == (401, reason), resp.text

    # Meta: GET hub.mode=subscribe with our verify token → hub.challenge as text/plain; anything else is not answered
    params = {"hub.mode": "subscribe", "hub.verify_token": META_VERIFY_TOKEN, "hub.challenge": "1158201444"}
    resp = requests.get(bridge.url("meta"), params=params, timeout=30)
    assert (resp.status_code, resp.content, resp.headers["content-type"]) == (200, b"1158201444", "text/plain")
    for wrong in [{**params, "hub.verify_token": META_VERIFY_TOKEN + "x"}, {**params, "hub.verify_token": ""},
                  {k: v for k, v in params.items() if k != "hub.verify_token"}, {**params, "hub.mode": "unsubscribe"}]:
        resp = requests.get(bridge.url("meta"), params=wrong, timeout=30)
        assert (resp.status_code, resp.json()["reason"]) == (401, "Missing header X-Hub-Signature-256"), (wrong,
                                                                                                       resp.text)

    # Dropbox: GET ?challenge=X → X as text/plain, nosniff
    resp = requests.get(bridge.url("dropbox"), params={"challenge": "dbx-challenge-4711"}, timeout=30)
    assert (resp.status_code, resp.content) == (200, b"dbx-challenge-4711")
    assert resp.headers["content-type"] == "text/plain"
    assert resp.headers["x-content-type-options"] == "nosniff"
    resp = requests.get(bridge.url("dropbox"), timeout=30)  # no challenge: an unsigned request
    assert (resp.status_code, resp.json()["reason"]) == (401, "Missing header X-Dropbox-Signature"), resp.text

    # Discord PING, signed with tweetnacl → PONG; Discord also probes with bad signatures, which must get 401
    resp = send(bridge, req["discord"])
    assert (resp.status_code, resp.headers["content-type"]) == (200, "application/json"), resp.text
    assert resp.json() == {"type": 1}
    sig = req["discord"].header("X-Signature-Ed25519")
    flipped = sig[:10] + ("0" if sig[10] != "0" else "1") + sig[11:]
    for bad, reason in [(req["discord wrong"], "Signature mismatch"),
                        (req["discord future"], "Timestamp outside tolerance"),
                        (req["discord"].with_headers(**{"X-Signature-Ed25519": flipped}), "Signature mismatch"),
                        (req["discord"].with_body(ping_body.replace('"version":1', '"version":2').encode()),
                         "Signature mismatch"),
                        (req["discord"].without_header("X-Signature-Ed25519"), "Missing header X-Signature-Ed25519")]:
        resp = send(bridge, bad)
        assert (resp.status_code, resp.json()["reason"]) == (401, reason), resp.text

    # no handshake (answered or refused) was published: each topic holds its sentinel alone
    problems = Problems()
    accepted: dict[str, list[Accepted]] = {}
    for name in ("slack", "zoom", "meta", "dropbox", "discord"):
        sentinel = req[f"{name} sentinel"]
        event_id = problems.answer(f"{name} sentinel", send(bridge, sentinel), 200)
        accepted[name] = [Accepted(event_id or "?", sentinel.body, f"{name} sentinel")]
    check_topics(problems, bridge, kafka_bootstrap, accepted, verified=lambda ep: ep)
    problems.check()


# ---- 4. `hookbridge sign`: what it prints is what the bridge accepts ----


def parse_sign_output(text: str) -> tuple[dict[str, str], Optional[dict[str, Any]]]:
    """"Name: value" lines → headers; mailgun's "# mailgun signs inside the body: {...}" → that object."""
    headers: dict[str, str] = {}
    inside: Optional[dict[str, Any]] = None
    for line in text.splitlines():
        if line.startswith("#"):
            _, _, obj = line.partition(": ")
            inside = json.loads(obj)
            continue
        name, sep, value = line.partition(": ")
        assert sep and name and value, f"not a header line: {line!r}"
        headers[name] = value
    return headers, inside


def test_hookbridge_sign_output_is_accepted(start_bridge, kafka_bootstrap, tmp_path):
    keys = Keys.make()
    bridge = start_bridge([{"id": p.name, "verify": verify_config(p.name, keys)} for p in PRESETS],
                          server={"publicUrl": PUBLIC_URL})
    problems = Problems()
    accepted: dict[str, list[Accepted]] = {}
    for p in HMAC_OR_TOKEN:
        if p.name == "twilio":
            body = "MessageSid=SMsign&Body=h%C3%A9llo+%26+bye%3D1&From=%2B14158675309&Amount=100"
            content_type = "application/x-www-form-urlencoded"
        else:
            body = compact({"provider": p.name, "via": "hookbridge sign", "nonce": uuid.uuid4().hex})
            content_type = "application/json"
        body_file = tmp_path / f"{p.name}.body"
        body_file.write_text(body)
        result = run_hookbridge(["sign", "-c", str(bridge.config_path), p.name, "--body", f"@{body_file}"])
        if not problems.expect(result.returncode == 0, f"sign {p.name}: exit {result.returncode} "
                                                       f"{result.stderr.decode().strip()!r}"):
            continue
        headers, inside = parse_sign_output(result.stdout.decode())
        if p.name == "mailgun":  # the signature goes into the body
            problems.expect(headers == {} and inside is not None, f"sign mailgun printed {result.stdout!r}")
            body = compact({**json.loads(body), **(inside or {})})
        elif p.sig_header is not None:
            problems.expect(any(k.lower() == p.sig_header.lower() for k in headers),
                            f"sign {p.name}: no {p.sig_header} in {headers}")
        req = Req(p.name, body.encode(), {"Content-Type": content_type, **headers})
        event_id = problems.answer(f"{p.name} (hookbridge sign)", send(bridge, req), 200)
        if event_id is None:
            continue
        accepted[p.name] = [Accepted(event_id, req.body, "hookbridge sign")]
        if p.id_header is not None and req.header(p.id_header) is not None:  # svix, standard-webhooks print one
            problems.expect(event_id == req.header(p.id_header), f"sign {p.name}: id {event_id!r} vs {req.headers}")

    # a key pair: hookbridge holds only the public key, so it cannot sign; it says so and fails
    for name in KEY_PAIR:
        result = run_hookbridge(["sign", "-c", str(bridge.config_path), name, "--body", "{}"])
        err = result.stderr.decode()
        problems.expect(result.returncode == 1 and result.stdout == b"" and
                        f'endpoint "{name}"' in err and "public key" in err,
                        f"sign {name}: exit {result.returncode}, stdout {result.stdout!r}, stderr {err!r}")

    check_topics(problems, bridge, kafka_bootstrap, accepted, verified=lambda ep: ep)
    problems.check()


# ---- 6. every preset of signers/ (one module each), driven by the table: `hookbridge providers --json` ----


def module_presets() -> list[dict[str, Any]]:
    """What sign.mjs --list says of each module of tests/providers/signers/."""
    proc = subprocess.run([NODE, str(SIGN_MJS), "--list"], capture_output=True, timeout=60, cwd=PROVIDERS_DIR)
    assert proc.returncode == 0, proc.stderr.decode()
    return [json.loads(line) for line in proc.stdout.decode().splitlines() if line.strip()]


def preset_rows() -> dict[str, dict[str, Any]]:
    result = run_hookbridge(["providers", "--json"])
    assert result.returncode == 0, result.stderr.decode()
    return {row["name"]: row for row in json.loads(result.stdout)}


def test_every_preset_is_proven_and_listed():
    """Every preset row is signed by a module of signers/ or by sign.mjs's own 17; each says what proves it."""
    rows, modules = preset_rows(), {m["name"]: m for m in module_presets()}
    assert len(rows) >= 17
    assert sorted(set(modules) - set(rows)) == [], "signers/ modules without a preset row"
    assert sorted(set(rows) - set(modules) - set(BY_NAME)) == [], "preset rows nobody signs"
    for name, m in modules.items():
        assert m["proof"] in ("sdk", "docs-example"), name
        assert m["sdkVerifies"] or m["proof"] == "docs-example", f"{name}: proof sdk without a verify()"
        assert rows[name]["proof"].startswith("sdk: " if m["proof"] == "sdk" else "docs example: "), (name, rows[name])
        assert rows[name]["docs"] == m["docs"], name
        # the row in C is the scheme the module's author found in the provider's documentation
        assert scheme_words(rows[name]) == scheme_words(m["scheme"]), name


SCHEME_DEFAULTS = {"encoding": "hex", "secretForm": "raw", "publicKeyForm": "none", "timestampUnit": "seconds",
                   "timestamped": False, "handshake": "none", "checks": []}
SCHEME_WORDS = ["signatureHeader", "idHeader", "split", "signed", "algorithm", *SCHEME_DEFAULTS, "timestampHeader"]


def scheme_words(scheme: dict[str, Any]) -> dict[str, Any]:
    """A scheme in comparable form: defaults filled in, nulls dropped, header names lower-case."""
    out = {**SCHEME_DEFAULTS, **{k: v for k, v in scheme.items() if k in SCHEME_WORDS and v is not None}}
    for k in ("signatureHeader", "idHeader", "timestampHeader"):
        if k in out:
            out[k] = out[k].lower()
    out["split"] = {"kind": "plain", **{k: v for k, v in out.get("split", {}).items() if v is not None}}
    return out


def module_body(preset: dict[str, Any], nonce: str, endpoint: str) -> dict[str, Any]:
    """A request's content for sign.mjs: a JSON body (or, for form posts, the form) carrying amount 100 once."""
    url = f"{PUBLIC_URL}/webhooks/{endpoint}?channel=x"
    if preset.get("form"):
        return {"url": url, "form": {"Amount": "100", "Nonce": nonce, "Text": "héllo & bye=1"}}
    return {"url": url, "body": compact({"type": "example.event", "amount": 100, "nonce": nonce})}


def test_every_module_preset_accepts_its_sdk_signature_and_refuses_the_rest(start_bridge, kafka_bootstrap):
    rows, presets = preset_rows(), module_presets()
    if not presets:
        return
    pairs = {p["name"]: sdk_many([{"keygen": p["name"]}] * 2) for p in presets if p["key"] != "secret"}
    endpoints = []
    for p in presets:
        row = rows[p["name"]]
        verify = {"provider": p["name"]}
        if p["key"] == "secret":
            verify["secret"] = p["secret"]
        else:
            verify["publicKey"] = pairs[p["name"]][0]["publicKey"]
        if "verifyToken" in row["needs"]:
            verify["verifyToken"] = "it-verify-token"
        endpoints.append({"id": p["name"], "verify": verify})
    bridge = start_bridge(endpoints, server={"publicUrl": PUBLIC_URL})

    now = int(time.time())
    plan: list[tuple[str, str, dict[str, Any]]] = []
    for p in presets:
        row, name = rows[p["name"]], p["name"]
        tolerance = int(row["tolerance"].rstrip("s"))

        def add(case: str, wrong: bool = False, **extra: Any) -> None:
            if p["key"] == "secret":
                key = {"secret": p.get("otherSecret", p["secret"] + "-other") if wrong else p["secret"]}
            else:
                key = {"privateKey": pairs[name][1 if wrong else 0]["privateKey"]}
            plan.append((name, case, {"provider": name, **key, **module_body(p, uuid.uuid4().hex, name), **extra}))
        add("valid")
        add("tampered")
        add("wrong key", wrong=True)
        add("missing signature")
        if row["timestamped"]:
            add("stale", timestamp=now - tolerance - 120)
        add("sentinel")
    outputs = sdk_many([inp for _, _, inp in plan])

    problems = Problems()
    accepted: dict[str, list[Accepted]] = {p["name"]: [] for p in presets}
    for (name, case, inp), out in zip(plan, outputs):
        row = rows[name]
        req = request_from(name, inp, out)
        label = f"{name} {case} ({out.get('sdk')})"
        if case in ("valid", "sentinel"):
            event_id = problems.answer(label, send(bridge, req), 200)
            if event_id is None:
                continue
            accepted[name].append(Accepted(event_id, req.body, label))
            if row.get("idHeader"):
                problems.expect(event_id == req.header(row["idHeader"]),
                                f"{label}: id {event_id!r}, not {row['idHeader']} {req.header(row['idHeader'])!r}")
        elif case == "tampered":
            needle = b"Amount=100" if b"Amount=100" in req.body else b'"amount":100'
            problems.expect(req.body.count(needle) == 1, f"{label}: {needle!r} not once in {req.body!r}")
            changed = req.with_body(req.body.replace(needle, needle[:-3] + b"999"))
            resp = send(bridge, changed)
            problems.expect(resp.status_code == 401 and resp.json().get("reason") in
                            ("Signature mismatch", "No signature matched"), f"{label}: {resp.status_code} {resp.text}")
        elif case == "wrong key":
            resp = send(bridge, req)
            problems.expect(resp.status_code == 401 and resp.json().get("reason") in
                            ("Signature mismatch", "No signature matched"), f"{label}: {resp.status_code} {resp.text}")
        elif case == "missing signature":
            header = row["signatureHeader"]
            problems.answer(label, send(bridge, req.without_header(header)), 401, f"Missing header {header}")
        elif case == "stale":
            problems.answer(label, send(bridge, req), 401, "Timestamp outside tolerance")
    check_topics(problems, bridge, kafka_bootstrap, accepted, verified=lambda ep: ep)
    problems.check()


# ---- 7. a declared scheme answers exactly as its preset ----

INFO_KEYS = ("key", "needs", "tolerance", "docs", "proof")


def test_a_declared_scheme_answers_as_its_preset(start_bridge, kafka_bootstrap):
    """github and stripe written as verify: { scheme: } (their rows, from providers --json): the same SDK-signed
    requests get the same answers from both endpoints, and both publish the same records."""
    rows = preset_rows()
    names = ["github", "stripe"]
    endpoints = []
    for name in names:
        scheme = {k: v for k, v in rows[name].items() if k not in INFO_KEYS}
        endpoints.append({"id": name, "verify": {"provider": name, "secret": SECRET[name]}})
        endpoints.append({"id": f"{name}-declared", "verify": {"secret": SECRET[name], "scheme": scheme}})
    bridge = start_bridge(endpoints)
    now = int(time.time())
    plan: list[tuple[str, str, dict[str, Any]]] = []
    for name in names:
        for case, extra in (("valid", {}), ("tampered", {}), ("wrong secret", {"secret": OTHER_SECRET[name]}),
                            ("missing signature", {}), ("stale", {"timestamp": now - SKEW_S}), ("sentinel", {})):
            plan.append((name, case, {"provider": name, "secret": SECRET[name],
                                      **body_args(name, uuid.uuid4().hex), **extra}))
    outputs = sdk_many([inp for _, _, inp in plan])
    problems = Problems()
    accepted: dict[str, list[Accepted]] = {ep["id"]: [] for ep in endpoints}
    for (name, case, inp), out in zip(plan, outputs):
        answers = []
        for ep in (name, f"{name}-declared"):
            req = request_from(ep, inp, out)
            if case == "tampered":
                req = tampered(name, req)
            elif case == "missing signature":
                req = without_signature(name, req)
            resp = send(bridge, req)
            answers.append((resp.status_code, resp.json().get("reason")))
            if resp.status_code == 200:
                accepted[ep].append(Accepted(resp.json()["id"], req.body, f"{ep} {case}"))
        problems.expect(answers[0] == answers[1], f"{name} {case}: preset {answers[0]}, declared {answers[1]}")
        want = 200 if case in ("valid", "sentinel") or (case == "stale" and not BY_NAME[name].timestamped) else 401
        problems.expect(answers[0][0] == want, f"{name} {case}: {answers[0]}, expected {want}")
    # the declared scheme is named as its preset: the records say verified: github / stripe
    check_topics(problems, bridge, kafka_bootstrap, accepted, verified=lambda ep: ep.removesuffix("-declared"))
    problems.check()


# ---- 8. rotation with expiry: secrets [{value, until}] ----


def test_an_expired_secret_no_longer_verifies(start_bridge, kafka_bootstrap):
    past = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 60))
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    bridge = start_bridge([
        {"id": "expired", "verify": {"provider": "github", "secrets": ["it-new", {"value": "it-old", "until": past}]}},
        {"id": "current", "verify": {"provider": "github", "secrets": ["it-new", {"value": "it-old", "until": future}]}},
    ])
    inputs = {s: {"provider": "github", "secret": s, **body_args("github", uuid.uuid4().hex)} for s in ("it-new", "it-old")}
    signed = dict(zip(inputs, sdk_many(list(inputs.values()))))
    problems = Problems()
    accepted: dict[str, list[Accepted]] = {"expired": [], "current": []}
    for ep, secret, status in (("expired", "it-old", 401), ("expired", "it-new", 200), ("current", "it-old", 200),
                               ("current", "it-new", 200)):
        req = request_from(ep, inputs[secret], signed[secret])
        event_id = problems.answer(f"{ep}, signed with {secret}", send(bridge, req), status,
                                   None if status == 200 else "No signature matched")
        if event_id is not None:
            accepted[ep].append(Accepted(event_id, req.body, ep))
    check_topics(problems, bridge, kafka_bootstrap, accepted, verified=lambda ep: "github")
    problems.check()


# ---- 9. the handshakes of the presets of signers/: x's CRC, nylas's challenge ----


def test_x_crc_and_nylas_challenge_are_answered_and_publish_nothing(start_bridge, kafka_bootstrap):
    presets = {p["name"]: p for p in module_presets()}
    bridge = start_bridge([{"id": name, "verify": {"provider": name, "secret": presets[name]["secret"]}}
                           for name in ("x", "nylas")])
    # X: GET ?crc_token=T → {"response_token": "sha256=" + base64 HMAC-SHA256(consumer secret, T)}; recomputed here
    # with Python's hmac, the recipe of X's documentation (not a signature of any request)
    token = "8M9jFNmHTyyN-8M9jFNmHTyyN_s"
    resp = requests.get(bridge.url("x"), params={"crc_token": token}, timeout=30)
    want = base64.b64encode(hmac.new(presets["x"]["secret"].encode(), token.encode(), hashlib.sha256).digest())
    assert (resp.status_code, resp.headers["content-type"]) == (200, "application/json"), resp.text
    assert resp.json() == {"response_token": "sha256=" + want.decode()}
    resp = requests.get(bridge.url("x"), timeout=30)  # no crc_token: an unsigned request
    assert (resp.status_code, resp.json()["reason"]) == (401, "Missing header x-twitter-webhooks-signature")
    # Nylas: GET ?challenge=V → V, text/plain
    resp = requests.get(bridge.url("nylas"), params={"challenge": "nylas-challenge-4711"}, timeout=30)
    assert (resp.status_code, resp.content, resp.headers["content-type"]) == (200, b"nylas-challenge-4711", "text/plain")
    resp = requests.post(bridge.url("nylas"), params={"challenge": "x"}, data=b"{}", timeout=30)  # a POST is not one
    assert (resp.status_code, resp.json()["reason"]) == (401, "Missing header x-nylas-signature"), resp.text
    # nothing of the handshakes was published: a signed sentinel is each topic's only record
    inputs = {name: {"provider": name, "secret": presets[name]["secret"], **module_body(presets[name], "s", name)}
              for name in ("x", "nylas")}
    problems = Problems()
    accepted: dict[str, list[Accepted]] = {}
    for (name, inp), out in zip(inputs.items(), sdk_many(list(inputs.values()))):
        req = request_from(name, inp, out)
        event_id = problems.answer(f"{name} sentinel", send(bridge, req), 200)
        accepted[name] = [Accepted(event_id, req.body, "sentinel")] if event_id else []
    check_topics(problems, bridge, kafka_bootstrap, accepted, verified=lambda ep: ep)
    problems.check()
