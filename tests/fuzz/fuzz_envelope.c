/*
 * tests/fuzz/fuzz_envelope.c: hb_envelope_decode() and hb_envelope_to_json() on arbitrary bytes (what `hookbridge
 * decode`, tail and consume read from Kafka). A decoded view points into the input; the JSON is one line of valid JSON.
 */
#include "envelope.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_span_t in;
    fz_split(data, size, '\0', &in, 1); /* an exact-size copy */

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    hb_envelope_view_t view;
    char err[256] = "";
    int ret = hb_envelope_decode(&up, in.p, in.n, &view, err, sizeof(err));
    if (ret != 0) {
        FZ_CHECK(err[0] != '\0', "a refused envelope says why");
    } else {
        FZ_CHECK(view.version == HB_ENVELOPE_VERSION, "a decoded envelope is v1");
        FZ_CHECK(view.id.ptr != NULL, "a decoded envelope has an id");
        FZ_CHECK(view.body_len == 0 || view.body != NULL, "a decoded body has bytes");
        /* touch every byte the view hands out, so that ASan sees a bad pointer */
        volatile unsigned sum = 0;
        for (size_t i = 0; i < view.body_len; i++)
            sum += (unsigned char)view.body[i];
        for (size_t i = 0; i < view.id.size; i++)
            sum += (unsigned char)view.id.ptr[i];
        (void)sum;
        FZ_CHECK(view.query == NULL || view.query->type == MSGPACK_OBJECT_MAP, "query is a map");
        FZ_CHECK(view.headers == NULL || view.headers->type == MSGPACK_OBJECT_MAP, "headers is a map");
    }

    hb_buf_t json;
    hb_buf_init(&json);
    char err2[256] = "";
    int ret2 = hb_envelope_to_json(in.p, in.n, &json, err2, sizeof(err2));
    FZ_CHECK(ret2 == ret, "to_json and decode agree (%d, %d)", ret2, ret);
    if (ret2 == 0) {
        FZ_CHECK(memchr(json.base, '\n', json.len) == NULL, "one line");
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        char jerr[256] = "";
        FZ_CHECK(hb_json_to_msgpack(json.base, json.len, 1000, &sb, jerr, sizeof(jerr)) == 0, "valid JSON (%s): %s",
                 jerr, json.base);
        msgpack_sbuffer_destroy(&sb);
    }
    hb_buf_dispose(&json);
    msgpack_unpacked_destroy(&up);
    fz_free_parts(&in, 1);
    return 0;
}
