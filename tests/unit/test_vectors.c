/* tests/unit/test_vectors.c: the golden envelopes of schemas/vectors/ (NAME.msgpack + NAME.json), made again from the
   encoder and compared byte for byte. They are what every consumer, in every language, decodes in its tests.
     HB_WRITE_VECTORS=1 ./test_vectors    writes them instead (after an intended change of the envelope) */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "envelope.h"
#include "tap.h"

#define VECTORS "../../schemas/vectors/"

typedef struct vector {
    const char *name, *what;
    const char *method, *path; /* path with its query */
    hb_header_t headers[6];
    size_t num_headers;
    const char *body;
    size_t body_len;
    int body_kind; /* 0: not parsed, 1: JSON, 2: form */
    const char *const *triggers;
    size_t num_triggers;
    const char *verified;
    int test;
} vector_t;

#define H(n, v)                                                                                                        \
    {                                                                                                                  \
        n, sizeof(n) - 1, v, sizeof(v) - 1                                                                             \
    }
#define B(s) s, sizeof(s) - 1

static const char *const opened[] = {"pull-request-opened"};

static const vector_t vectors[] = {
    {"json-body",
     "a JSON body, parsed into json, routed by a trigger",
     "POST",
     "/webhooks/github",
     {H("host", "hooks.example.com"), H("content-type", "application/json"), H("x-github-event", "pull_request"),
      H("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")},
     4,
     B("{\"action\":\"opened\",\"number\":1347,\"pull_request\":{\"draft\":false,\"title\":\"Caf\xc3\xa9\"}}"),
     1,
     opened,
     1,
     "github",
     0},
    {"form-body",
     "an application/x-www-form-urlencoded body (json is a map of strings), with a query",
     "POST",
     "/webhooks/twilio?account=AC1&a=1&a=2",
     {H("host", "hooks.example.com"), H("content-type", "application/x-www-form-urlencoded"),
      H("x-twilio-signature", "RSOYDt4T1cUTdK1PDd93/VVr8B8=")},
     3,
     B("From=%2B14158675310&Body=Hello+world%21&NumMedia=0"),
     2,
     NULL,
     0,
     "twilio",
     0},
    {"binary-body",
     "a body that is not UTF-8: bytes as they came (bin), no json",
     "POST",
     "/webhooks/files/upload",
     {H("host", "hooks.example.com"), H("content-type", "application/octet-stream")},
     2,
     B("\x89PNG\r\n\x1a\n\x00\xff\xfe\x80"),
     0,
     NULL,
     0,
     "hmac-sha256",
     0},
    {"empty-body",
     "a GET with no body at all",
     "GET",
     "/webhooks/status?ping=1",
     {H("host", "hooks.example.com")},
     1,
     "",
     0,
     0,
     NULL,
     0,
     "none",
     0},
    {"repeated-headers",
     "a header sent twice (joined with \", \") and a mixed-case name (lower-cased)",
     "POST",
     "/webhooks/cal.com",
     {H("host", "hooks.example.com"), H("content-type", "application/json"), H("x-forwarded-for", "203.0.113.7"),
      H("x-forwarded-for", "10.0.0.2"), H("x-cal-signature-256", "5a1f0e9c")},
     5,
     B("{\"triggerEvent\":\"BOOKING_CANCELLED\"}"),
     1,
     NULL,
     0,
     "hmac-sha256",
     0},
    {"json-types",
     "every JSON type in json: floats, null, arrays, negative and 64-bit numbers, nesting",
     "POST",
     "/webhooks/shop",
     {H("host", "hooks.example.com"), H("content-type", "application/json; charset=utf-8")},
     2,
     B("{\"price\":19.99,\"ratio\":-0.5,\"count\":-42,\"big\":9007199254740993,\"max\":18446744073709551615,"
       "\"exp\":1e300,\"none\":null,\"ok\":true,\"tags\":[\"a\",1,false,null,{\"k\":[]}],\"empty\":{},"
       "\"text\":\"\\u00e9\\ud83d\\ude00\\n\\\"\"}"),
     1,
     NULL,
     0,
     "shopify",
     0},
    {"non-utf8-strings",
     "a query and a header with bytes that are not UTF-8: U+FFFD in the strings, the body exact",
     "POST",
     "/webhooks/legacy?q=%FF%FEok&name=caf%E9",
     {H("host", "hooks.example.com"), H("content-type", "text/plain; charset=latin1"), H("x-name", "caf\xe9")},
     3,
     B("caf\xe9"),
     0,
     NULL,
     0,
     "none",
     0},
    {"test-run",
     "an example sent as a test run from the admin port",
     "POST",
     "/webhooks/github",
     {H("host", "127.0.0.1:8080"), H("content-type", "application/json"), H("x-hookbridge-test", "1"),
      H("x-hub-signature-256", "sha256=0f9e")},
     4,
     B("{\"ref\":\"refs/heads/main\"}"),
     1,
     NULL,
     0,
     "github",
     1},
};

static int write_file(const char *path, const char *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL)
        return -1;
    int ok = fwrite(data, 1, len, fp) == len;
    return fclose(fp) == 0 && ok ? 0 : -1;
}

int main(void)
{
    int writing = getenv("HB_WRITE_VECTORS") != NULL;
    for (size_t i = 0; i < HB_ARRAY_SIZE(vectors); i++) {
        const vector_t *v = &vectors[i];
        const char *q = strchr(v->path, '?');
        hb_request_t req = {.method = v->method,
                            .method_len = strlen(v->method),
                            .path = v->path,
                            .path_len = strlen(v->path),
                            .query_at = q != NULL ? (size_t)(q - v->path) : SIZE_MAX,
                            .headers = v->headers,
                            .num_headers = v->num_headers,
                            .body = (const uint8_t *)v->body,
                            .body_len = v->body_len,
                            .remote_addr = "203.0.113.7",
                            .received_at_ms = 1764374400123 + (int64_t)i};
        msgpack_sbuffer parsed, sb;
        msgpack_sbuffer_init(&parsed);
        msgpack_sbuffer_init(&sb);
        if (v->body_kind == 1)
            hb_json_to_msgpack(v->body, v->body_len, HB_BODY_MAX_DEPTH, &parsed, NULL, 0);
        else if (v->body_kind == 2)
            hb_form_to_msgpack(v->body, v->body_len, &parsed);
        char id[64];
        snprintf(id, sizeof(id), "01936d3c-5f%02zu-7a4e-9b1c-2f3e4d5c6b7a", i);
        const char *endpoint = v->path + strlen("/webhooks/");
        char ep[32];
        snprintf(ep, sizeof(ep), "%.*s", (int)strcspn(endpoint, "/?"), endpoint);
        hb_envelope_fields_t f = {.id = id,
                                  .endpoint = ep,
                                  .source = strcmp(ep, "shop") == 0 ? "myshop.myshopify.com" : ep,
                                  .verified = v->verified,
                                  .req = &req,
                                  .json = parsed.size > 0 ? parsed.data : NULL,
                                  .json_len = parsed.size,
                                  .triggers = v->triggers,
                                  .num_triggers = v->num_triggers,
                                  .test = v->test};
        hb_envelope_encode(&f, &sb);
        hb_buf_t json;
        hb_buf_init(&json);
        char err[256] = "";
        is_int(hb_envelope_to_json(sb.data, sb.size, &json, err, sizeof(err)), 0, "%s: decodes (%s)", v->name, err);
        hb_buf_putc(&json, '\n');
        char mp_path[256], json_path[256];
        snprintf(mp_path, sizeof(mp_path), VECTORS "%s.msgpack", v->name);
        snprintf(json_path, sizeof(json_path), VECTORS "%s.json", v->name);
        if (writing) {
            ok(write_file(mp_path, sb.data, sb.size) == 0 && write_file(json_path, json.base, json.len) == 0,
               "%s: written (%s)", v->name, strerror(errno));
        } else {
            size_t mlen = 0, jlen = 0;
            char *mp = tap_read_file(mp_path, &mlen), *js = tap_read_file(json_path, &jlen);
            if (ok(mp != NULL && js != NULL, "%s: %s and its .json are there", v->name, mp_path)) {
                is_mem(mp, mlen, sb.data, sb.size, "%s (%s): the encoder makes the same bytes", v->name, v->what);
                is_mem(js, jlen, json.base, json.len, "%s: its JSON is what decode prints", v->name);
            }
            free(mp);
            free(js);
        }
        hb_buf_dispose(&json);
        msgpack_sbuffer_destroy(&sb);
        msgpack_sbuffer_destroy(&parsed);
    }
    return done_testing();
}
