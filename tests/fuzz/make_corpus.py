#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets, tests/fuzz/corpus/<target>/, from the project's own test inputs.

Run it again after changing those inputs (it replaces the corpus directories); tests/fuzz/run.sh only reads them.
"""
import hashlib
import json
import os
import re
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "corpus")
MAX_SEED = 4096  # bytes: seeds above this are skipped (the corpus stays small)


def read(path, mode="r"):
    with open(os.path.join(ROOT, path), mode) as f:
        return f.read()


def c_strings(text):
    """Tokens of C source: ('s', bytes) for a string literal (adjacent ones joined), ('i', name), ('p', char)."""
    tokens = []
    i = 0
    while i < len(text):
        c = text[i]
        if text.startswith("/*", i):
            i = text.index("*/", i) + 2
        elif text.startswith("//", i):
            i = text.index("\n", i)
        elif c == '"':
            j, buf = i + 1, bytearray()
            while text[j] != '"':
                if text[j] == "\\":
                    e = text[j + 1]
                    if e == "x":
                        m = re.match(r"[0-9a-fA-F]+", text[j + 2 :])
                        buf.append(int(m.group(0), 16) & 0xFF)
                        j += 2 + len(m.group(0))
                        continue
                    if e in "01234567":
                        m = re.match(r"[0-7]{1,3}", text[j + 1 :])
                        buf.append(int(m.group(0), 8))
                        j += 1 + len(m.group(0))
                        continue
                    buf += {"n": b"\n", "r": b"\r", "t": b"\t", "\\": b"\\", '"': b'"', "'": b"'", "0": b"\0"}[e]
                    j += 2
                else:
                    buf += text[j].encode()
                    j += 1
            if tokens and tokens[-1][0] == "s":
                tokens[-1] = ("s", tokens[-1][1] + bytes(buf))
            else:
                tokens.append(("s", bytes(buf)))
            i = j + 1
        elif c.isalnum() or c == "_":
            m = re.match(r"\w+", text[i:])
            tokens.append(("i", m.group(0)))
            i += len(m.group(0))
        elif c in "{},":
            tokens.append(("p", c))
            i += 1
        else:
            i += 1
    return tokens


def config_rows():
    """The YAML of test_config.c's error_rows (the macro EP expanded) and its full_yaml."""
    src = read("tests/unit/test_config.c")
    ep = b"endpoints:\n  - id: a\n    verify: none\n"
    body = src[src.index("} error_rows[] = {") + 18 : src.index("\n};", src.index("} error_rows[] = {"))]
    rows, depth, field, cur = [], 0, 0, []
    for kind, val in c_strings(body):
        if kind == "p" and val == "{":
            depth += 1
            if depth == 1:
                field, cur = 0, []
        elif kind == "p" and val == "}":
            depth -= 1
        elif kind == "p" and val == "," and depth == 1:
            field += 1
        elif depth == 1 and field == 1:
            cur.append(val if kind == "s" else ep if val == "EP" else b"")
            if len(rows) == 0 or rows[-1] is not cur:
                rows.append(cur)
    yamls = [b"".join(r) for r in rows]
    full = src[src.index("static const char full_yaml[] =") :]
    full = full[: full.index(";")]
    yamls.append(c_strings(full)[-1][1])
    return yamls


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def spool_frame(ts, *fields):
    """One record as bridge/kafka/spool.c frames it: magic, length, CRC-32C, then the timestamp and the eight fields."""
    import struct
    payload = struct.pack("<q", ts) + b"".join(
        struct.pack("<I", len(f)) + f for f in (x if isinstance(x, bytes) else x.encode() for x in fields))
    return b"HBS1" + struct.pack("<II", len(payload), crc32c(payload)) + payload


class Corpus:
    def __init__(self, target):
        self.dir = os.path.join(OUT, target)
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir)
        self.n = 0

    def add(self, data):
        if isinstance(data, str):
            data = data.encode()
        if len(data) > MAX_SEED:
            return
        name = hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(self.dir, name), "wb") as f:
            f.write(data)
        self.n += 1


def main():
    providers = json.loads(read("tests/unit/data/provider-examples.json"))
    eventfilters = json.loads(read("tests/unit/data/eventfilter-triggerdev.json"))
    vectors = sorted(f for f in os.listdir(os.path.join(ROOT, "schemas/vectors")) if f.endswith(".msgpack"))
    vector_json = [json.loads(read("schemas/vectors/" + f[:-8] + ".json")) for f in vectors]
    compact = lambda o: json.dumps(o, separators=(",", ":"), ensure_ascii=False)

    c = Corpus("fuzz_config")
    c.add(read("examples/hookbridge.yaml"))
    c.add(read("deploy/kubernetes/base/hookbridge.yaml"))
    for y in config_rows():
        c.add(y)
    print("fuzz_config", c.n)

    c = Corpus("fuzz_filter")
    for case in eventfilters:
        f = compact(case["filter"])
        c.add(f if case["payload"] == "__undefined__" else f + "\0" + compact(case["payload"]))
    reqs = [
        ({"method": ["GET"], "query": {"hub.mode": ["subscribe"], "hub.verify_token": ["t"]}},
         None, "GET /webhooks/a?hub.mode=subscribe&hub.verify_token=t&hub.challenge=1"),
        ({"headers": {"x-github-event": ["push", {"$startsWith": "pull"}]}, "body": {"action": ["opened"]}},
         {"action": "opened"}, "POST /webhooks/gh\nX-GitHub-Event: pull_request\nX-Other: 1"),
        ({"header": {"content-type": [{"$ignoreCaseEquals": "APPLICATION/JSON"}]}, "query": {"a": [{"$endsWith": "z"}]}},
         {}, "POST /x?a=xyz&a=b%20z\ncontent-type: application/json\ncontent-type: text/plain"),
    ]
    for f, body, req in reqs:
        c.add(compact(f) + "\0" + (compact(body) if body is not None else "") + "\0" + req)
    print("fuzz_filter", c.n)

    c = Corpus("fuzz_body")
    depth = bytes([31])  # the first byte is the depth limit (mod 80); 31 is the server's
    bodies = [e["body"] for e in providers] + [v["body"] for v in vector_json if "body" in v]
    bodies += [compact(case["payload"]) for case in eventfilters if case["payload"] != "__undefined__"][:20]
    bodies += ['{"a":1,"a":2}', "[1e400,-0,0.1,9007199254740993,18446744073709551616,-9223372036854775809]",
               '"\\ud800\\udc00\\ud800x\\u0000"', "\ufeff[]", "a=1&a=2&b&%zz=%E2%82%AC+x&&=c"]
    for b in bodies:
        c.add(depth + b.encode())
    print("fuzz_body", c.n)

    c = Corpus("fuzz_signatures")
    for e in providers:
        h = {k.lower(): v for k, v in e.get("headers", {}).items()}
        sig = next((v for k, v in h.items() if "signature" in k or "hmac" in k or k == "x-gitlab-token"), "")
        ts = next((v for k, v in h.items() if "timestamp" in k), str(e.get("timestamp", "")))
        mid = next((v for k, v in h.items() if k.endswith("-id")), "")
        path = "/webhooks/x" + (e["url"][e["url"].index("?"):] if "?" in e.get("url", "") else "")
        line = e.get("method", "POST") + " " + path
        c.add(b"\x0f" + "\n".join([sig, ts, mid, h.get("content-type", ""), line, e["body"]]).encode())
    for sig in ["t=1700000000,v1=00,v1=zz,v0=11", "ts=1700000000;h1=00;h1=", "v1,AAAA v1a,AAAA v2,x", "v0=00",
                "sha256=00", "sha1=AA=="]:
        c.add(b"\x0f" + f"{sig}\n1700000000\nmsg_1\napplication/json\nPOST /webhooks/x\n{{}}".encode())
    c.add(b"\x08\n\n\napplication/json\nPOST /webhooks/x\n"
          b'{"signature":{"timestamp":"1700000000","token":"t","signature":"00"}}')
    c.add(b"\x08\n\n\napplication/x-www-form-urlencoded\nPOST /webhooks/x\ntimestamp=1700000000&token=t&signature=00")
    c.add(b"\x00\n\n\n\nGET /webhooks/x?hub.mode=subscribe&hub.verify_token=fuzz-token&hub.challenge=c&challenge=d\n")
    print("fuzz_signatures", c.n)

    c = Corpus("fuzz_template")
    for t in ["{{query.hub.challenge}}", '{"challenge": {{json body.challenge}}}', "{{ header.X-Rep }}/{{headers.x-one}}",
              "{{body.a.b.5.c}} {{json body.a}} {{body}} {{ json  query.enc }}", "{{unknown}} {{body.u}}{{body.big}}",
              "text only", "{{", "}}{{body.s}}", "{{json header.x-bin}}"]:
        c.add(t)
    c.add("{{body.x.0}}\0{\"x\":[\"first\"]}")
    print("fuzz_template", c.n)

    c = Corpus("fuzz_envelope")
    for f in vectors:
        c.add(read("schemas/vectors/" + f, "rb"))
    print("fuzz_envelope", c.n)

    c = Corpus("fuzz_spool")
    records = [spool_frame(1764000000123 + i, "webhooks." + e, "key", "application/vnd.hookbridge.event.v1+msgpack",
                           e, f"evt_{i}", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" if i % 2 else "",
                           "", read("schemas/vectors/" + f, "rb"))
               for i, (e, f) in enumerate(zip(["github", "stripe", "slack", "x"] * 4, vectors))]
    for r in records:
        c.add(r)
        c.add(r + r[: len(r) // 2])  # a torn tail after a whole record
    c.add(b"".join(records[:3]))
    print("fuzz_spool", c.n)


if __name__ == "__main__":
    sys.exit(main())
