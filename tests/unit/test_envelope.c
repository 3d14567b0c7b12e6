/* tests/unit/test_envelope.c: the v1 envelope, encoded from a hand-built request and read back two ways. */
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "envelope.h"
#include "tap.h"

#define B(s) s, sizeof(s) - 1
#define H(name, value)                                                                                                 \
    {                                                                                                                  \
        name, sizeof(name) - 1, value, sizeof(value) - 1                                                               \
    }

typedef struct {
    const char *key, *value;
    size_t value_len;
} pair_t;

/* ---- the request of the main test ---- */

static const char main_path[] = "/webhooks/stripe?a=1&b=x+y&a=2&c=%41%zz&d";
static const uint8_t main_body[] = {0xff, 0xfe, 0x00, 0x80, 0x41}; /* not UTF-8, with a NUL */
static const hb_header_t main_headers[] = {
    H("content-type", "application/octet-stream"),
    H("x-dup", "v1"),
    H("user-agent", "Stripe/1.0"),
    H("x-dup", "v2"),
};
static const pair_t main_query[] = {{"a", B("2")}, {"b", B("x y")}, {"c", B("A%zz")}, {"d", B("")}};
static const pair_t main_headers_map[] = {
    {"content-type", B("application/octet-stream")},
    {"x-dup", B("v1, v2")},
    {"user-agent", B("Stripe/1.0")},
};
static const char main_json[] =
    "{\"v\":1,\"id\":\"018bcfe5-687b-7001-8203-040506070809\",\"endpoint\":\"stripe\",\"source\":\"stripe.com\","
    "\"receivedAt\":1700000000123,\"method\":\"POST\",\"path\":\"/webhooks/stripe\","
    "\"url\":\"/webhooks/stripe?a=1&b=x+y&a=2&c=%41%zz&d\",\"query\":{\"a\":\"2\",\"b\":\"x "
    "y\",\"c\":\"A%zz\",\"d\":\"\"},"
    "\"headers\":{\"content-type\":\"application/octet-stream\",\"x-dup\":\"v1, v2\",\"user-agent\":\"Stripe/1.0\"},"
    "\"remoteAddr\":\"203.0.113.7\",\"contentType\":\"application/octet-stream\",\"bodyBase64\":\"//4AgEE=\","
    "\"verified\":\"hmac-sha256\",\"triggers\":[]}";

/* The exact key set of a v1 envelope, and the msgpack type of each value. */
static const struct {
    const char *key;
    msgpack_object_type type;
} envelope_keys[] = {
    {"v", MSGPACK_OBJECT_POSITIVE_INTEGER},
    {"id", MSGPACK_OBJECT_STR},
    {"endpoint", MSGPACK_OBJECT_STR},
    {"source", MSGPACK_OBJECT_STR},
    {"receivedAt", MSGPACK_OBJECT_POSITIVE_INTEGER},
    {"method", MSGPACK_OBJECT_STR},
    {"path", MSGPACK_OBJECT_STR},
    {"url", MSGPACK_OBJECT_STR},
    {"query", MSGPACK_OBJECT_MAP},
    {"headers", MSGPACK_OBJECT_MAP},
    {"remoteAddr", MSGPACK_OBJECT_STR},
    {"contentType", MSGPACK_OBJECT_STR},
    {"body", MSGPACK_OBJECT_BIN},
    {"verified", MSGPACK_OBJECT_STR},
    {"triggers", MSGPACK_OBJECT_ARRAY},
};

/* ---- query strings: the query map, keys in order of first appearance, last value winning ---- */

static const struct {
    const char *query; /* NULL: no '?' at all */
    pair_t pairs[5];
    size_t n;
} query_rows[] = {
    {NULL, {{0}}, 0},
    {"", {{0}}, 0},
    {"a=1", {{"a", B("1")}}, 1},
    {"&&a=1&", {{"a", B("1")}}, 1},
    {"a=1&a=2&a=3", {{"a", B("3")}}, 1},
    {"b=1&a=2&b=3", {{"b", B("3")}, {"a", B("2")}}, 2},
    {"=v", {{"", B("v")}}, 1},
    {"x=a=b", {{"x", B("a=b")}}, 1},
    {"k%20y=%2", {{"k y", B("%2")}}, 1},
    {"x=%4", {{"x", B("%4")}}, 1},
    {"x=%", {{"x", B("%")}}, 1},
    {"x=%41", {{"x", B("A")}}, 1},
    {"x=%4a%4A", {{"x", B("JJ")}}, 1},
    {"%61=1&a=2", {{"a", B("2")}}, 1},
    {"x=%e2%82%ac", {{"x", B("\xe2\x82\xac")}}, 1},
    {"x=%00", {{"x", B("\0")}}, 1},
    {"x=1+%2B+1", {{"x", B("1 + 1")}}, 1},
    {"flag", {{"flag", B("")}}, 1},
};

/* ---- headers: a name seen again is joined to the first with ", " ---- */

static const hb_header_t dup3_headers[] = {H("a", "1"), H("b", "x"), H("a", "2"), H("a", "3")};
static const hb_header_t single_headers[] = {H("x-only", "v")};
static const hb_header_t empty_dup_headers[] = {H("e", ""), H("e", "")};
static const struct {
    const hb_header_t *headers;
    size_t num_headers;
    pair_t pairs[3];
    size_t n;
    const char *content_type;
} header_rows[] = {
    {NULL, 0, {{0}}, 0, ""},
    {single_headers, 1, {{"x-only", B("v")}}, 1, ""},
    {dup3_headers, 4, {{"a", B("1, 2, 3")}, {"b", B("x")}}, 2, ""},
    {empty_dup_headers, 2, {{"e", B(", ")}}, 1, ""},
    {main_headers,
     4,
     {{"content-type", B("application/octet-stream")}, {"x-dup", B("v1, v2")}, {"user-agent", B("Stripe/1.0")}},
     3,
     "application/octet-stream"},
};

/* ---- hb_envelope_to_json: how the body is written ---- */

static const struct {
    const char *body;
    size_t len;
    const char *want;     /* must appear */
    const char *not_want; /* must not appear */
} json_body_rows[] = {
    {B("{\"ok\":true}"), ",\"body\":\"{\\\"ok\\\":true}\",", "bodyBase64"},
    {B("line1\nline2\t\xc3\xa9"), ",\"body\":\"line1\\nline2\\t\xc3\xa9\",", "bodyBase64"},
    {B(""), ",\"body\":\"\",", "bodyBase64"},
    {B("\xff\xfe\x00\x80\x41"), ",\"bodyBase64\":\"//4AgEE=\",", "\"body\""},
    {B("caf\xc3"), ",\"bodyBase64\":\"Y2Fmww==\",", "\"body\""},
    {B("\xed\xa0\x80"), ",\"bodyBase64\":\"7aCA\",", "\"body\""},
};

/* ---- inputs that are not v1 envelopes; msgpack written byte by byte ---- */

static const struct {
    const char *what;
    const char *data;
    size_t len;
} bad_rows[] = {
    {"empty input", B("")},
    {"a never-used msgpack byte", B("\xc1")},
    {"text", B("not msgpack")},
    {"an array", B("\x91\x01")},
    {"a string", B("\xa1v")},
    {"a map without v", B("\x82\xa2id\xa1x\xa4"
                          "body\xc4\x01z")},
    {"a map with v=2", B("\x83\xa1v\x02\xa2id\xa1x\xa4"
                         "body\xc4\x01z")},
    {"a map with v=0", B("\x83\xa1v\x00\xa2id\xa1x\xa4"
                         "body\xc4\x01z")},
    {"a map with v=\"1\"", B("\x83\xa1v\xa1"
                             "1\xa2id\xa1x\xa4"
                             "body\xc4\x01z")},
    {"a map with v=-1", B("\x83\xa1v\xff\xa2id\xa1x\xa4"
                          "body\xc4\x01z")},
    {"v=1 without body", B("\x82\xa1v\x01\xa2id\xa1x")},
    {"v=1 with a string body", B("\x83\xa1v\x01\xa2id\xa1x\xa4"
                                 "body\xa1z")},
    {"v=1 without id", B("\x82\xa1v\x01\xa4"
                         "body\xc4\x01z")},
    {"a truncated map", B("\x83\xa1v\x01\xa2id\xa1x\xa4"
                          "body\xc4\x05z")},
    {"two values", B("\x83\xa1v\x01\xa2id\xa1x\xa4"
                     "body\xc4\x01z\xc0")},
    /* fuzz_envelope: a container header claiming billions of elements made msgpack-c allocate them all first */
    {"a map32 claiming 4 billion pairs", B("\xdf\xff\xff\xff\xff\xa1v\x01")},
    {"an array32 claiming 4 billion items", B("\xdd\xff\xff\xff\xff\x01")},
    {"a map claiming more pairs than bytes", B("\x83\xa1v\x01\xa2id\xa1x\xa4"
                                               "body\xc4\x01z\x8a\xff\xff\xdf\xff\xff\xff")},
    {"a str32 longer than the input", B("\x81\xa1v\xdb\xff\xff\xff\xf0z")},
    {"an ext8 without its type byte", B("\x81\xa1v\xc7\x00")},
};
static const char minimal_ok[] = "\x83\xa1v\x01\xa2id\xa1x\xa4"
                                 "body\xc4\x01z"; /* the smallest accepted envelope */

/* ---- UUIDv7 ---- */

static const struct {
    int64_t ms;
    uint8_t random[10];
    const char *uuid;
} uuid_rows[] = {
    /* RFC 9562 appendix A.6 */
    {0x017F22E279B0,
     {0x0c, 0xc3, 0x18, 0xc4, 0xdc, 0x0c, 0x0c, 0x07, 0x39, 0x8f},
     "017f22e2-79b0-7cc3-98c4-dc0c0c07398f"},
    {0, {0}, "00000000-0000-7000-8000-000000000000"},
    {0xFFFFFFFFFFFF,
     {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
     "ffffffff-ffff-7fff-bfff-ffffffffffff"},
    {1700000000123, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, "018bcfe5-687b-7001-8203-040506070809"},
    {1, {0xa5, 0x5a, 0x40, 0x7f, 0, 0, 0, 0, 0, 0x10}, "00000000-0001-755a-807f-000000000010"},
};

/* ---- helpers ---- */

static int str_is(msgpack_object_str s, const char *want, size_t len)
{
    return s.size == len && (len == 0 || memcmp(s.ptr, want, len) == 0);
}

#define is_mpstr(s, want, ...) is_mem((s).ptr, (s).size, want, strlen(want), __VA_ARGS__)

/* Compares a msgpack map of str → str with pairs, in order. */
static void is_map(const msgpack_object *map, const pair_t *pairs, size_t n, const char *what)
{
    if (!ok(map != NULL && map->type == MSGPACK_OBJECT_MAP, "%s is a map", what))
        return;
    if (!is_int(map->via.map.size, n, "%s has %zu keys", what, n))
        return;
    for (size_t i = 0; i < n; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key, *v = &map->via.map.ptr[i].val;
        ok(k->type == MSGPACK_OBJECT_STR && str_is(k->via.str, pairs[i].key, strlen(pairs[i].key)),
           "%s key %zu is \"%s\"", what, i, pairs[i].key);
        ok(v->type == MSGPACK_OBJECT_STR, "%s[%s] is a string", what, pairs[i].key);
        is_mem(v->via.str.ptr, v->via.str.size, pairs[i].value, pairs[i].value_len, "%s[%s]", what, pairs[i].key);
    }
}

static hb_request_t make_request(const char *path, const hb_header_t *headers, size_t num_headers, const void *body,
                                 size_t body_len)
{
    const char *q = strchr(path, '?');
    hb_request_t req = {
        .method = "POST",
        .method_len = 4,
        .path = path,
        .path_len = strlen(path),
        .query_at = q != NULL ? (size_t)(q - path) : SIZE_MAX,
        .headers = headers,
        .num_headers = num_headers,
        .body = body,
        .body_len = body_len,
        .remote_addr = "203.0.113.7",
        .received_at_ms = 1700000000123,
    };
    return req;
}

static void encode(const hb_request_t *req, msgpack_sbuffer *sb)
{
    hb_envelope_fields_t ev = {
        .id = "018bcfe5-687b-7001-8203-040506070809",
        .endpoint = "stripe",
        .source = "stripe.com",
        .verified = "hmac-sha256",
        .req = req,
    };
    msgpack_sbuffer_init(sb);
    hb_envelope_encode(&ev, sb);
}

/* ---- tests ---- */

static void test_decode(void)
{
    hb_request_t req = make_request(main_path, main_headers, 4, main_body, sizeof(main_body));
    msgpack_sbuffer sb;
    encode(&req, &sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    hb_envelope_view_t view;
    char err[256] = "";
    int ret = hb_envelope_decode(&up, sb.data, sb.size, &view, err, sizeof(err));
    if (is_int(ret, 0, "the envelope decodes (%s)", err)) {
        is_int(view.version, 1, "v");
        is_mpstr(view.id, "018bcfe5-687b-7001-8203-040506070809", "id");
        is_mpstr(view.endpoint, "stripe", "endpoint");
        is_mpstr(view.source, "stripe.com", "source");
        is_int(view.received_at, 1700000000123, "receivedAt");
        is_mpstr(view.method, "POST", "method");
        is_mpstr(view.path, "/webhooks/stripe", "path without the query");
        is_mpstr(view.url, main_path, "url with the query");
        is_map(view.query, main_query, HB_ARRAY_SIZE(main_query), "query");
        is_map(view.headers, main_headers_map, HB_ARRAY_SIZE(main_headers_map), "headers");
        is_mpstr(view.remote_addr, "203.0.113.7", "remoteAddr");
        is_mpstr(view.content_type, "application/octet-stream", "contentType");
        is_mem(view.body, view.body_len, main_body, sizeof(main_body), "body byte-exact, NUL included");
        is_mpstr(view.verified, "hmac-sha256", "verified");
    }
    msgpack_unpacked_destroy(&up);

    /* the same bytes read without hb_envelope_decode */
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int r = msgpack_unpack_next(&up, sb.data, sb.size, &off);
    ok(r == MSGPACK_UNPACK_SUCCESS && off == sb.size, "one msgpack value, all bytes used");
    const msgpack_object *root = &up.data;
    if (ok(r == MSGPACK_UNPACK_SUCCESS && root->type == MSGPACK_OBJECT_MAP, "the root is a map") &&
        is_int(root->via.map.size, HB_ARRAY_SIZE(envelope_keys), "the map has exactly the v1 keys")) {
        for (size_t k = 0; k < HB_ARRAY_SIZE(envelope_keys); k++) {
            size_t found = 0;
            const msgpack_object *val = NULL;
            for (uint32_t i = 0; i < root->via.map.size; i++) {
                const msgpack_object *key = &root->via.map.ptr[i].key;
                if (key->type == MSGPACK_OBJECT_STR &&
                    str_is(key->via.str, envelope_keys[k].key, strlen(envelope_keys[k].key))) {
                    found++;
                    val = &root->via.map.ptr[i].val;
                }
            }
            if (is_int(found, 1, "key \"%s\" appears once", envelope_keys[k].key))
                is_int(val->type, envelope_keys[k].type, "key \"%s\" has msgpack type %d", envelope_keys[k].key,
                       envelope_keys[k].type);
            if (found == 1 && strcmp(envelope_keys[k].key, "v") == 0)
                is_int(val->via.u64, 1, "v is 1");
            if (found == 1 && strcmp(envelope_keys[k].key, "body") == 0)
                is_mem(val->via.bin.ptr, val->via.bin.size, main_body, sizeof(main_body), "body is BIN, byte-exact");
        }
    }
    msgpack_unpacked_destroy(&up);

    /* and as JSON */
    hb_buf_t json;
    hb_buf_init(&json);
    ret = hb_envelope_to_json(sb.data, sb.size, &json, err, sizeof(err));
    is_int(ret, 0, "to_json of the envelope (%s)", err);
    is_str(json.base, main_json, "to_json: every field, the non-UTF-8 body as bodyBase64");
    hb_buf_dispose(&json);
    msgpack_sbuffer_destroy(&sb);
}

static void test_query(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(query_rows); i++) {
        char path[256];
        if (query_rows[i].query != NULL)
            snprintf(path, sizeof(path), "/p?%s", query_rows[i].query);
        else
            snprintf(path, sizeof(path), "/p");
        hb_request_t req = make_request(path, NULL, 0, "", 0);
        msgpack_sbuffer sb;
        encode(&req, &sb);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        hb_envelope_view_t view;
        char err[256] = "", what[300];
        snprintf(what, sizeof(what), "query \"%s\"", query_rows[i].query != NULL ? query_rows[i].query : "(none)");
        if (is_int(hb_envelope_decode(&up, sb.data, sb.size, &view, err, sizeof(err)), 0, "%s decodes", what)) {
            is_mpstr(view.path, "/p", "%s: path", what);
            is_mpstr(view.url, path, "%s: url", what);
            is_map(view.query, query_rows[i].pairs, query_rows[i].n, what);
        }
        msgpack_unpacked_destroy(&up);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_headers(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(header_rows); i++) {
        hb_request_t req = make_request("/h", header_rows[i].headers, header_rows[i].num_headers, "", 0);
        msgpack_sbuffer sb;
        encode(&req, &sb);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        hb_envelope_view_t view;
        char err[256] = "", what[64];
        snprintf(what, sizeof(what), "header row %zu", i);
        if (is_int(hb_envelope_decode(&up, sb.data, sb.size, &view, err, sizeof(err)), 0, "%s decodes", what)) {
            is_map(view.headers, header_rows[i].pairs, header_rows[i].n, what);
            is_mpstr(view.content_type, header_rows[i].content_type, "%s: contentType", what);
        }
        msgpack_unpacked_destroy(&up);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_json_body(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(json_body_rows); i++) {
        hb_request_t req = make_request("/j", NULL, 0, json_body_rows[i].body, json_body_rows[i].len);
        msgpack_sbuffer sb;
        encode(&req, &sb);
        hb_buf_t json;
        hb_buf_init(&json);
        char err[256] = "";
        int ret = hb_envelope_to_json(sb.data, sb.size, &json, err, sizeof(err));
        const char *out = json.base != NULL ? json.base : "";
        is_int(ret, 0, "json body row %zu converts (%s)", i, err);
        ok(strstr(out, json_body_rows[i].want) != NULL, "json body row %zu has %s", i, json_body_rows[i].want);
        ok(strstr(out, json_body_rows[i].not_want) == NULL, "json body row %zu has no %s", i,
           json_body_rows[i].not_want);
        ok(strchr(out, '\n') == NULL && json.len == strlen(out), "json body row %zu is one line of text", i);
        ok(json.len > 0 && out[0] == '{' && out[json.len - 1] == '}', "json body row %zu is one object", i);
        hb_buf_dispose(&json);
        msgpack_sbuffer_destroy(&sb);
    }
}

static void test_bad(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(bad_rows); i++) {
        hb_buf_t json;
        hb_buf_init(&json);
        char err[256] = "";
        is_int(hb_envelope_to_json(bad_rows[i].data, bad_rows[i].len, &json, err, sizeof(err)), -1, "to_json of %s",
               bad_rows[i].what);
        ok(err[0] != '\0', "%s: a reason is given (%s)", bad_rows[i].what, err);
        hb_buf_dispose(&json);

        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        hb_envelope_view_t view;
        is_int(hb_envelope_decode(&up, bad_rows[i].data, bad_rows[i].len, &view, err, sizeof(err)), -1, "decode of %s",
               bad_rows[i].what);
        msgpack_unpacked_destroy(&up);
    }
    /* the rows above are only wrong where they say: the same bytes with v=1, id and a bin body are accepted */
    hb_buf_t json;
    hb_buf_init(&json);
    char err[256] = "";
    is_int(hb_envelope_to_json(minimal_ok, sizeof(minimal_ok) - 1, &json, err, sizeof(err)), 0,
           "a minimal v1 envelope converts (%s)", err);
    is_str(json.base, "{\"v\":1,\"id\":\"x\",\"body\":\"z\"}", "a minimal v1 envelope as JSON");
    /* fuzz_envelope: keys that are not strings were printed as they are ({...,1:2}), which is not JSON */
    static const char int_keys[] = "\x85\xa1v\x01\xa2id\xa1x\xa4"
                                   "body\xc4\x01z\x01\x02\xc4\x01k\xc0";
    json.len = 0;
    is_int(hb_envelope_to_json(int_keys, sizeof(int_keys) - 1, &json, err, sizeof(err)), 0,
           "an envelope with an int and a bin key converts (%s)", err);
    is_str(json.base, "{\"v\":1,\"id\":\"x\",\"body\":\"z\",\"\":2,\"k\":null}",
           "the int key is written \"\", the bin one as a string");
    hb_buf_dispose(&json);
}

/* fuzz_body: a body nested as deep as the server parses must decode in its envelope too (msgpack-c stops at 32). */
static void test_deep_json(void)
{
    hb_buf_t body;
    hb_buf_init(&body);
    for (int i = 0; i < HB_BODY_MAX_DEPTH; i++)
        hb_buf_puts(&body, "{\"a\":");
    hb_buf_puts(&body, "1");
    for (int i = 0; i < HB_BODY_MAX_DEPTH; i++)
        hb_buf_putc(&body, '}');
    msgpack_sbuffer parsed;
    msgpack_sbuffer_init(&parsed);
    char err[256] = "";
    is_int(hb_json_to_msgpack(body.base, body.len, HB_BODY_MAX_DEPTH, &parsed, err, sizeof(err)), 0,
           "a body nested %d deep parses (%s)", HB_BODY_MAX_DEPTH, err);
    hb_request_t req = make_request("/j", NULL, 0, body.base, body.len);
    hb_envelope_fields_t ev = {.id = "x",
                               .endpoint = "e",
                               .source = "s",
                               .verified = "none",
                               .req = &req,
                               .json = parsed.data,
                               .json_len = parsed.size};
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    hb_envelope_encode(&ev, &sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    hb_envelope_view_t view;
    is_int(hb_envelope_decode(&up, sb.data, sb.size, &view, err, sizeof(err)), 0,
           "its envelope decodes with msgpack-c (%s)", err);
    hb_buf_t json;
    hb_buf_init(&json);
    is_int(hb_envelope_to_json(sb.data, sb.size, &json, err, sizeof(err)), 0, "and converts to JSON (%s)", err);
    msgpack_sbuffer again;
    msgpack_sbuffer_init(&again);
    is_int(hb_json_to_msgpack(json.base, json.len, HB_BODY_MAX_DEPTH + 1, &again, err, sizeof(err)), 0,
           "which consume parses back one level deeper (%s)", err);
    msgpack_sbuffer_destroy(&again);
    hb_buf_dispose(&json);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&parsed);
    hb_buf_dispose(&body);
}

static void test_uuid7(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(uuid_rows); i++) {
        char out[37];
        memset(out, 'X', sizeof(out));
        hb_uuid7_format(out, uuid_rows[i].ms, uuid_rows[i].random);
        is_mem(out, sizeof(out), uuid_rows[i].uuid, 37, "uuid7 row %zu, NUL-terminated", i);
        ok(out[14] == '7', "uuid7 row %zu: version nibble 7", i);
        ok(strchr("89ab", out[19]) != NULL && out[19] != '\0', "uuid7 row %zu: variant bits 10", i);
    }
}

/* the `json` field carries the parsed body as it is; `triggers` is last, so another topic's envelope reuses the rest */
static void test_json_and_triggers(void)
{
    hb_request_t req = make_request("/w", NULL, 0, "{\"a\":1}", 7);
    msgpack_sbuffer parsed, sb, other;
    msgpack_sbuffer_init(&parsed);
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_init(&other);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &parsed, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str(&pk, 1);
    msgpack_pack_str_body(&pk, "a", 1);
    msgpack_pack_int(&pk, 1);
    static const char *const both[] = {"t1", "t2"}, *const third[] = {"t3"};
    hb_envelope_fields_t ev = {.id = "id-1",
                               .endpoint = "e",
                               .source = "s",
                               .verified = "none",
                               .req = &req,
                               .json = parsed.data,
                               .json_len = parsed.size,
                               .triggers = both,
                               .num_triggers = 2};
    size_t prefix = hb_envelope_encode(&ev, &sb);
    ok(prefix > 0 && prefix < sb.size, "the triggers field starts at %zu of %zu", prefix, sb.size);
    hb_envelope_retarget(sb.data, prefix, third, 1, &other);

    char err[256];
    hb_buf_t json;
    hb_buf_init(&json);
    is_int(hb_envelope_to_json(sb.data, sb.size, &json, err, sizeof(err)), 0, "decodes (%s)", err);
    ok(strstr(json.base, ",\"json\":{\"a\":1},\"triggers\":[\"t1\",\"t2\"]}") != NULL, "json and triggers: %s",
       json.base);
    json.len = 0;
    is_int(hb_envelope_to_json(other.data, other.size, &json, err, sizeof(err)), 0, "the retargeted one decodes (%s)",
           err);
    ok(strstr(json.base, ",\"json\":{\"a\":1},\"triggers\":[\"t3\"]}") != NULL, "retargeted: %s", json.base);
    is_mem(other.data, prefix, sb.data, prefix, "everything before triggers is byte-identical");
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_next(&up, other.data, other.size, &off);
    is_int(up.data.via.map.size, HB_ARRAY_SIZE(envelope_keys) + 1, "with json: one key more");
    msgpack_unpacked_destroy(&up);

    /* a test run: `test: true` before triggers, still retargetable; absent otherwise (checked above) */
    ok(strstr(json.base, "\"test\"") == NULL, "not a test run: no test key");
    ev.test = 1;
    msgpack_sbuffer tsb, tother;
    msgpack_sbuffer_init(&tsb);
    msgpack_sbuffer_init(&tother);
    size_t tprefix = hb_envelope_encode(&ev, &tsb);
    hb_envelope_retarget(tsb.data, tprefix, third, 1, &tother);
    json.len = 0;
    is_int(hb_envelope_to_json(tother.data, tother.size, &json, err, sizeof(err)), 0, "a test run decodes (%s)", err);
    ok(strstr(json.base, ",\"json\":{\"a\":1},\"test\":true,\"triggers\":[\"t3\"]}") != NULL, "test run: %s",
       json.base);
    msgpack_unpacked_init(&up);
    off = 0;
    msgpack_unpack_next(&up, tother.data, tother.size, &off);
    is_int(up.data.via.map.size, HB_ARRAY_SIZE(envelope_keys) + 2, "with json and test: two keys more");
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&tsb);
    msgpack_sbuffer_destroy(&tother);
    hb_buf_dispose(&json);
    msgpack_sbuffer_destroy(&parsed);
    msgpack_sbuffer_destroy(&sb);
    msgpack_sbuffer_destroy(&other);
}

int main(void)
{
    test_json_and_triggers();
    test_decode();
    test_query();
    test_headers();
    test_json_body();
    test_bad();
    test_deep_json();
    test_uuid7();
    return done_testing();
}
