"""Record layout for pipelines, against the real broker: partitionKey and kafka.format: json."""

from __future__ import annotations

import base64
import json

import requests
from confluent_kafka.admin import AdminClient, NewTopic

from conftest import read_topic, sign

SECRET = "it-layout-secret"


def post(bridge, endpoint: str, body: bytes, **headers: str) -> str:
    resp = requests.post(bridge.url(endpoint), data=body, timeout=30,
                         headers={"Content-Type": "application/json", "X-Sig": sign(SECRET, body), **headers})
    assert resp.status_code == 200, resp.text
    return resp.json()["id"]


VERIFY = {"headerName": "X-Sig", "secret": SECRET}


def test_partition_key_from_body_header_or_query_falls_back_to_the_id(start_bridge, kafka_bootstrap, topic_template):
    by_shop = topic_template.replace("{id}", "by-shop")
    # several partitions (made before the bridge asks for the topic), so that "one key, one partition" means something
    admin = AdminClient({"bootstrap.servers": kafka_bootstrap})
    repo_topic = topic_template.replace("{id}", "repo")
    for future in admin.create_topics([NewTopic(repo_topic, num_partitions=8, replication_factor=1)]).values():
        future.result(30)
    bridge = start_bridge([
        {"id": "repo", "verify": VERIFY, "partitionKey": "body.repository.id"},
        {"id": "shop", "verify": VERIFY, "partitionKey": "query.shop",
         "triggers": [{"name": "all"}, {"name": "by-header", "topic": by_shop, "partitionKey": "header.X-Shop-Domain"}]}])
    ids = [post(bridge, "repo", b'{"repository":{"id":42},"n":1}'),
           post(bridge, "repo", b'{"repository":{"id":"abc"},"n":2}'),
           post(bridge, "repo", b'{"repository":{},"n":3}'),  # no value: the event id
           post(bridge, "repo", b'{"repository":{"id":42},"n":4}')]
    records = read_topic(kafka_bootstrap, bridge.topic("repo"), 4)
    assert sorted((r.envelope["id"], r.key) for r in records) == sorted([
        (ids[0], b"42"), (ids[1], b"abc"), (ids[2], ids[2].encode()), (ids[3], b"42")])
    # one key, one partition, in the order sent: the events of a key keep their order
    same_key = [r for r in records if r.key == b"42"]
    assert len({r.partition for r in same_key}) == 1
    assert [r.envelope["id"] for r in sorted(same_key, key=lambda r: r.offset)] == [ids[0], ids[3]]

    shop_id = requests.post(bridge.url("shop", "?shop=s1.example"), data=b"{}", timeout=30, headers={
        "Content-Type": "application/json", "X-Sig": sign(SECRET, b"{}"), "X-Shop-Domain": "h1.example"}).json()["id"]
    [own] = read_topic(kafka_bootstrap, bridge.topic("shop"), 1)
    [other] = read_topic(kafka_bootstrap, by_shop, 1)
    assert (own.envelope["id"], own.key) == (shop_id, b"s1.example")  # the endpoint's key: the query
    assert (other.envelope["id"], other.key) == (shop_id, b"h1.example")  # the trigger's own key: the header


def test_json_format_is_the_same_envelope_as_json(start_bridge, kafka_bootstrap):
    bridge = start_bridge([{"id": "plain", "verify": VERIFY}], kafka={"format": "json"})
    text_body = json.dumps({"hello": "wörld"}, ensure_ascii=False).encode()
    binary_body = b"\xff\xfe\x00binary"
    ids = [post(bridge, "plain", text_body), post(bridge, "plain", binary_body, **{"Content-Type": "image/png"})]
    records = read_topic(kafka_bootstrap, bridge.topic("plain"), 2)
    assert [r.headers["content-type"] for r in records] == [b"application/vnd.hookbridge.event.v1+json"] * 2
    text, binary = (json.loads(r.value) for r in records)  # plain JSON: what ksqlDB or Connect's JsonConverter read
    assert [text["id"], binary["id"]] == ids and [r.key for r in records] == [i.encode() for i in ids]
    assert text["body"] == text_body.decode() and "bodyBase64" not in text
    assert text["json"] == {"hello": "wörld"} and text["v"] == 1 and text["endpoint"] == "plain"
    assert base64.b64decode(binary["bodyBase64"]) == binary_body and "body" not in binary
    assert binary["contentType"] == "image/png"


def test_a_retry_of_a_published_delivery_is_answered_and_not_published_again(start_bridge, kafka_bootstrap):
    from conftest import free_port
    port = free_port()
    bridge = start_bridge([
        {"id": "dedup", "verify": VERIFY, "eventIdHeader": "X-Delivery"},  # a sender's id: on by default
        {"id": "every", "verify": VERIFY, "eventIdHeader": "X-Delivery", "deduplicate": False},
        {"id": "small", "verify": VERIFY, "eventIdHeader": "X-Delivery", "deduplicate": {"size": 2, "maxAge": "1h"}}],
        admin={"listen": f"127.0.0.1:{port}"})

    def send(endpoint: str, delivery: str, body: bytes = b'{"n":1}', secret: str = SECRET) -> requests.Response:
        return requests.post(bridge.url(endpoint), data=body, timeout=30, headers={
            "Content-Type": "application/json", "X-Sig": sign(secret, body), "X-Delivery": delivery})

    assert send("dedup", "d-1", secret="wrong").status_code == 401  # refused: not remembered
    first = send("dedup", "d-1")
    assert first.json() == {"ok": True, "id": "d-1"}, first.text
    again = send("dedup", "d-1", body=b'{"n":2}')  # a retry (its body may differ: the id decides)
    assert again.status_code == 200 and again.json() == {"ok": True, "id": "d-1", "duplicate": True}, again.text
    assert send("dedup", "d-2").json() == {"ok": True, "id": "d-2"}
    assert [(r.envelope["id"], r.envelope["body"]) for r in read_topic(kafka_bootstrap, bridge.topic("dedup"), 2)] == [
        ("d-1", b'{"n":1}'), ("d-2", b'{"n":1}')]

    # deduplicate: false publishes every delivery, repeated or not
    assert [send("every", "e-1").json()["id"] for _ in range(2)] == ["e-1", "e-1"]
    assert [r.envelope["id"] for r in read_topic(kafka_bootstrap, bridge.topic("every"), 2)] == ["e-1", "e-1"]

    # a window of 2: the third id pushes the first out, so its retry is published again
    for delivery in ("s-1", "s-2", "s-3", "s-1"):
        assert "duplicate" not in send("small", delivery).json()
    assert send("small", "s-3").json()["duplicate"] is True
    assert [r.envelope["id"] for r in read_topic(kafka_bootstrap, bridge.topic("small"), 4)] == [
        "s-1", "s-2", "s-3", "s-1"]

    metrics = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    assert 'hookbridge_requests_total{endpoint="dedup",outcome="duplicate"} 1' in metrics
    assert 'hookbridge_requests_total{endpoint="small",outcome="duplicate"} 1' in metrics
    assert 'hookbridge_requests_total{endpoint="every",outcome="duplicate"} 0' in metrics


def test_credentials_in_headers_are_redacted_in_the_envelope(start_bridge, kafka_bootstrap, tmp_path):
    bridge = start_bridge([{"id": "creds", "verify": VERIFY},
                           {"id": "gl", "verify": {"provider": "gitlab", "secret": "the-shared-token"}}])
    body = b'{"n":1}'
    resp = requests.post(bridge.url("creds"), data=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Sig": sign(SECRET, body), "Authorization": "Bearer abc",
        "Cookie": "session=s3cr3t", "Proxy-Authorization": "Basic eHg6eXk=", "X-Other": "kept"})
    assert resp.status_code == 200, resp.text
    [record] = read_topic(kafka_bootstrap, bridge.topic("creds"), 1)
    headers = record.envelope["headers"]
    assert headers["authorization"] == headers["cookie"] == headers["proxy-authorization"] == "[redacted]"
    assert headers["x-other"] == "kept" and headers["x-sig"] == sign(SECRET, body)  # a signature is not a secret
    # gitlab's header carries the shared secret itself: redacted too
    resp = requests.post(bridge.url("gl"), data=body, timeout=30,
                         headers={"Content-Type": "application/json", "X-Gitlab-Token": "the-shared-token"})
    assert resp.status_code == 200, resp.text
    [record] = read_topic(kafka_bootstrap, bridge.topic("gl"), 1)
    assert record.envelope["headers"]["x-gitlab-token"] == "[redacted]" and b"the-shared-token" not in record.value


def test_redact_headers_is_configurable(start_bridge, kafka_bootstrap):
    for n, (redact, expected) in enumerate((([], ("Bearer abc", "k1")), (["X-Api-Key"], ("Bearer abc", "[redacted]")))):
        bridge = start_bridge([{"id": f"r{n}", "verify": "none"}], top={"redactHeaders": redact})
        resp = requests.post(bridge.url(f"r{n}"), data=b"{}", timeout=30,
                             headers={"Authorization": "Bearer abc", "X-API-Key": "k1"})
        assert resp.status_code == 200, resp.text
        [record] = read_topic(kafka_bootstrap, bridge.topic(f"r{n}"), 1)
        headers = record.envelope["headers"]
        assert (headers["authorization"], headers["x-api-key"]) == expected, redact
