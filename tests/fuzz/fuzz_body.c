/*
 * tests/fuzz/fuzz_body.c: request bodies as JSON (hb_json_to_msgpack, with a depth limit taken from the input) and as
 * a form (hb_form_to_msgpack). Input: one byte of depth limit, then the body.
 *
 * Checked: the output is appended after what the buffer held and, on an error, the buffer is back to its size; it is
 * ONE msgpack object that msgpack-c reads, with nothing after it; every string in it is valid UTF-8, every map key a
 * string, the nesting within the limit; a form is a map of str to str. A JSON value printed with
 * hb_msgpack_to_json() parses again (same limit) and prints the same.
 */
#include "fuzz.h"
#include "json.h"

static const char fz_prefix[3] = {(char)0xc0, (char)0xc3, (char)0xc2}; /* nil, true, false: must stay untouched */

/* Walks a parsed value: strings valid UTF-8, keys strings; returns the nesting depth (a scalar is 0). */
static int fz_walk(const msgpack_object *o, int form)
{
    int depth = 0;
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        FZ_CHECK(hb_utf8_valid(o->via.str.ptr, o->via.str.size), "a string is valid UTF-8");
        break;
    case MSGPACK_OBJECT_ARRAY:
        FZ_CHECK(!form, "a form is a map of strings");
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            int d = fz_walk(&o->via.array.ptr[i], form);
            depth = d > depth ? d : depth;
        }
        return depth + 1;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            FZ_CHECK(o->via.map.ptr[i].key.type == MSGPACK_OBJECT_STR, "a map key is a string");
            fz_walk(&o->via.map.ptr[i].key, form);
            FZ_CHECK(!form || o->via.map.ptr[i].val.type == MSGPACK_OBJECT_STR, "a form's values are strings");
            int d = fz_walk(&o->via.map.ptr[i].val, form);
            depth = d > depth ? d : depth;
        }
        return depth + 1;
    case MSGPACK_OBJECT_NIL:
    case MSGPACK_OBJECT_BOOLEAN:
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
    case MSGPACK_OBJECT_FLOAT64:
        FZ_CHECK(!form, "a form is a map of strings");
        break;
    default:
        FZ_CHECK(0, "a body never holds msgpack type %d", (int)o->type);
    }
    return depth;
}

/* Unpacks what was appended after the prefix: exactly one object, nothing after it. */
static void fz_unpack_one(msgpack_unpacked *up, const msgpack_sbuffer *sb)
{
    FZ_CHECK(sb->size >= sizeof(fz_prefix) && memcmp(sb->data, fz_prefix, sizeof(fz_prefix)) == 0,
             "what the buffer held stays");
    size_t off = sizeof(fz_prefix);
    int ret = msgpack_unpack_next(up, sb->data, sb->size, &off);
    FZ_CHECK(ret == MSGPACK_UNPACK_SUCCESS, "msgpack-c reads the value (%d)", ret);
    FZ_CHECK(off == sb->size, "one value, then nothing (%zu of %zu bytes read)", off, sb->size);
}

/* Parses JSON text after the prefix; 0 and the value in up, or -1 (the buffer back to the prefix). */
static int fz_parse(const char *text, size_t len, int max_depth, msgpack_sbuffer *sb, msgpack_unpacked *up)
{
    char err[256] = "";
    sb->size = 0;
    msgpack_sbuffer_write(sb, fz_prefix, sizeof(fz_prefix));
    if (hb_json_to_msgpack(text, len, max_depth, sb, err, sizeof(err)) != 0) {
        FZ_CHECK(sb->size == sizeof(fz_prefix) && memcmp(sb->data, fz_prefix, sizeof(fz_prefix)) == 0,
                 "an error leaves the buffer as it was");
        FZ_CHECK(err[0] != '\0', "an error says why");
        return -1;
    }
    fz_unpack_one(up, sb);
    int depth = fz_walk(&up->data, 0);
    FZ_CHECK(depth <= (max_depth > 0 ? max_depth : 0), "nesting %d within the limit %d", depth, max_depth);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int max_depth = data[0] % 80; /* 0 (scalars only) to past HB_BODY_MAX_DEPTH */
    fz_span_t body;
    fz_split(data + 1, size - 1, '\0', &body, 1); /* an exact-size copy: reads past it are caught */

    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (fz_parse(body.p, body.n, max_depth, &sb, &up) == 0) {
        hb_buf_t json1, json2;
        hb_buf_init(&json1);
        hb_buf_init(&json2);
        hb_msgpack_to_json(&up.data, &json1);
        msgpack_sbuffer sb2;
        msgpack_sbuffer_init(&sb2);
        msgpack_unpacked up2;
        msgpack_unpacked_init(&up2);
        FZ_CHECK(fz_parse(json1.base, json1.len, max_depth, &sb2, &up2) == 0, "its JSON parses again: %s", json1.base);
        hb_msgpack_to_json(&up2.data, &json2);
        FZ_CHECK(json1.len == json2.len && memcmp(json1.base, json2.base, json1.len) == 0,
                 "and prints the same:\n  %s\n  %s", json1.base, json2.base);
        msgpack_unpacked_destroy(&up2);
        msgpack_sbuffer_destroy(&sb2);
        hb_buf_dispose(&json1);
        hb_buf_dispose(&json2);
    }

    sb.size = 0;
    msgpack_sbuffer_write(&sb, fz_prefix, sizeof(fz_prefix));
    hb_form_to_msgpack(body.p, body.n, &sb);
    fz_unpack_one(&up, &sb);
    FZ_CHECK(up.data.type == MSGPACK_OBJECT_MAP, "a form is a map");
    fz_walk(&up.data, 1);

    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    fz_free_parts(&body, 1);
    return 0;
}
