/*
 * tests/fuzz/fuzz_template.c: respondWith templates. Input: TEMPLATE ['\0' BODY]. The template (a C string, as the
 * configuration hands it over) is compiled and rendered with a fixed request and a parsed JSON body: BODY when it is
 * given and is JSON, else a fixed one.
 */
#include "fuzz.h"
#include "respond.h"

static const char fz_body[] = "{\"a\":{\"b\":[1,2.5,\"x\",null,true,{\"c\":\"\\u00e9\"}]},\"s\":\"text\",\"n\":-0,"
                              "\"big\":1e400,\"a\":{\"dup\":1},\"e\":\"\",\"arr\":[[[]]],\"u\":18446744073709551615}";

static const hb_header_t fz_headers[] = {
    {"content-type", 12, "application/json", 16},
    {"x-one", 5, "1", 1},
    {"x-rep", 5, "first", 5},
    {"x-rep", 5, "second", 6},
    {"x-bin", 5, "\xff\x00\"\\", 4},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_span_t parts[2];
    size_t n = fz_split(data, size, '\0', parts, 2);
    /* the template as a C string of exactly its size */
    char *text = malloc(parts[0].n + 1);
    memcpy(text, parts[0].p, parts[0].n);
    text[parts[0].n] = '\0';

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    const msgpack_object *body = n > 1 ? fz_json(&up, &sb, parts[1].p, parts[1].n) : NULL;
    if (body == NULL) {
        sb.size = 0;
        body = fz_json(&up, &sb, fz_body, sizeof(fz_body) - 1);
        FZ_CHECK(body != NULL, "the fixed body parses");
    }

    static const char path[] = "/webhooks/fuzz?hub.challenge=abc&x=1&x=2&e=&enc=%E2%82%AC+%ZZ&a.b=dot";
    hb_request_t req = {.method = "POST",
                        .method_len = 4,
                        .path = path,
                        .path_len = sizeof(path) - 1,
                        .query_at = 14,
                        .headers = fz_headers,
                        .num_headers = HB_ARRAY_SIZE(fz_headers),
                        .remote_addr = "192.0.2.1",
                        .received_at_ms = 1700000000000};

    char err[256] = "";
    hb_template_t *t = hb_template_compile(text, err, sizeof(err));
    if (t == NULL) {
        FZ_CHECK(err[0] != '\0', "a refused template says why");
        FZ_CHECK(strstr(text, "{{") != NULL, "only an unclosed {{ is refused");
    } else {
        hb_buf_t out;
        hb_buf_init(&out);
        hb_template_render(t, &req, body, &out);
        size_t with_body = out.len;
        FZ_CHECK(strstr(text, "{{") != NULL ||
                     (with_body == parts[0].n && (with_body == 0 || memcmp(out.base, text, with_body) == 0)),
                 "a template without {{ renders as itself");
        out.len = 0;
        hb_template_render(t, &req, NULL, &out);
        FZ_CHECK(hb_template_needs_body(t) || out.len == with_body, "no body part: the body changes nothing");
        hb_buf_dispose(&out);
        hb_template_free(t);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    free(text);
    fz_free_parts(parts, n);
    return 0;
}
