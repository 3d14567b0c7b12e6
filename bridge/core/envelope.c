#include "envelope.h"

#include <stdio.h>
#include <string.h>

#include "body.h"
#include "json.h"

/* A msgpack str must be UTF-8: what a sender put in a path, query or header that is not gets U+FFFD, as decode and
   the consumers' decoders would print it anyway (the body, a bin, stays byte-exact). */
static void hb_pack_strn(msgpack_packer *pk, const char *s, size_t len)
{
    if (hb_utf8_valid(s, len)) {
        msgpack_pack_str(pk, len);
        msgpack_pack_str_body(pk, s, len);
        return;
    }
    hb_buf_t fixed;
    hb_buf_init(&fixed);
    hb_utf8_append_fixed(&fixed, s, len);
    msgpack_pack_str(pk, fixed.len);
    msgpack_pack_str_body(pk, fixed.base, fixed.len);
    hb_buf_dispose(&fixed);
}

static void hb_pack_cstr(msgpack_packer *pk, const char *s)
{
    hb_pack_strn(pk, s, strlen(s));
}

typedef struct hb_query_pair {
    hb_buf_t key, value;
} hb_query_pair_t;

/* Packs the query as a map: keys in order of first appearance, the last value winning. */
static void hb_pack_query(msgpack_packer *pk, const char *q, size_t len)
{
    hb_query_pair_t *pairs = NULL;
    size_t n = 0, cap = 0;
    hb_buf_t key, value;
    hb_buf_init(&key);
    hb_buf_init(&value);
    size_t start = 0;
    while (start < len) {
        size_t end = start;
        while (end < len && q[end] != '&')
            end++;
        if (end > start) {
            size_t eq = start;
            while (eq < end && q[eq] != '=')
                eq++;
            hb_form_unescape(&key, q + start, eq - start);
            hb_form_unescape(&value, q + (eq < end ? eq + 1 : end), eq < end ? end - eq - 1 : 0);
            size_t i;
            for (i = 0; i < n; i++)
                if (pairs[i].key.len == key.len && memcmp(pairs[i].key.base, key.base, key.len) == 0)
                    break;
            if (i == n) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 8;
                    pairs = hb_xrealloc(pairs, cap * sizeof(*pairs));
                }
                hb_buf_init(&pairs[n].key);
                hb_buf_init(&pairs[n].value);
                hb_buf_append(&pairs[n].key, key.base, key.len);
                n++;
            }
            pairs[i].value.len = 0;
            hb_buf_append(&pairs[i].value, value.base, value.len);
        }
        start = end + 1;
    }
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < n; i++) {
        hb_pack_strn(pk, pairs[i].key.base, pairs[i].key.len);
        hb_pack_strn(pk, pairs[i].value.base, pairs[i].value.len);
        hb_buf_dispose(&pairs[i].key);
        hb_buf_dispose(&pairs[i].value);
    }
    free(pairs);
    hb_buf_dispose(&key);
    hb_buf_dispose(&value);
}

/* Packs the headers as a map; a name seen again is joined to the first with ", " (as fetch's Headers does). */
static void hb_pack_headers(msgpack_packer *pk, const hb_request_t *req, const char *const *redact, size_t nredact)
{
    size_t unique = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        size_t j;
        for (j = 0; j < i; j++)
            if (req->headers[j].name_len == req->headers[i].name_len &&
                memcmp(req->headers[j].name, req->headers[i].name, req->headers[i].name_len) == 0)
                break;
        unique += j == i;
    }
    msgpack_pack_map(pk, unique);
    hb_buf_t joined;
    hb_buf_init(&joined);
    for (size_t i = 0; i < req->num_headers; i++) {
        const hb_header_t *h = &req->headers[i];
        size_t j;
        for (j = 0; j < i; j++)
            if (req->headers[j].name_len == h->name_len && memcmp(req->headers[j].name, h->name, h->name_len) == 0)
                break;
        if (j != i)
            continue;
        hb_pack_strn(pk, h->name, h->name_len);
        joined.len = 0;
        hb_buf_append(&joined, h->value, h->value_len);
        size_t count = 1;
        for (size_t k = i + 1; k < req->num_headers; k++) {
            if (req->headers[k].name_len == h->name_len && memcmp(req->headers[k].name, h->name, h->name_len) == 0) {
                hb_buf_append(&joined, ", ", 2);
                hb_buf_append(&joined, req->headers[k].value, req->headers[k].value_len);
                count++;
            }
        }
        int redacted = 0; /* a credential (Authorization, Cookie, a shared token) never travels on in the event */
        for (size_t r = 0; r < nredact && !redacted; r++)
            redacted = strlen(redact[r]) == h->name_len && memcmp(redact[r], h->name, h->name_len) == 0;
        if (redacted)
            hb_pack_cstr(pk, HB_REDACTED);
        else
            hb_pack_strn(pk, count == 1 ? h->value : joined.base, count == 1 ? h->value_len : joined.len);
    }
    hb_buf_dispose(&joined);
}

static void hb_pack_triggers(msgpack_sbuffer *out, const char *const *triggers, size_t n)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    hb_pack_cstr(&pk, "triggers");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < n; i++)
        hb_pack_cstr(&pk, triggers[i]);
}

size_t hb_envelope_encode(const hb_envelope_fields_t *ev, msgpack_sbuffer *out)
{
    const hb_request_t *req = ev->req;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    size_t path_len = req->query_at != SIZE_MAX ? req->query_at : req->path_len;
    const hb_header_t *ct = hb_request_header(req, "content-type", 12);

    msgpack_pack_map(&pk, 15 + (ev->json != NULL) + (ev->test != 0));
    hb_pack_cstr(&pk, "v");
    msgpack_pack_int(&pk, HB_ENVELOPE_VERSION);
    hb_pack_cstr(&pk, "id");
    hb_pack_cstr(&pk, ev->id);
    hb_pack_cstr(&pk, "endpoint");
    hb_pack_cstr(&pk, ev->endpoint);
    hb_pack_cstr(&pk, "source");
    hb_pack_cstr(&pk, ev->source);
    hb_pack_cstr(&pk, "receivedAt");
    msgpack_pack_int64(&pk, req->received_at_ms);
    hb_pack_cstr(&pk, "method");
    hb_pack_strn(&pk, req->method, req->method_len);
    hb_pack_cstr(&pk, "path");
    hb_pack_strn(&pk, req->path, path_len);
    hb_pack_cstr(&pk, "url");
    hb_pack_strn(&pk, req->path, req->path_len);
    hb_pack_cstr(&pk, "query");
    if (req->query_at != SIZE_MAX)
        hb_pack_query(&pk, req->path + req->query_at + 1, req->path_len - req->query_at - 1);
    else
        msgpack_pack_map(&pk, 0);
    hb_pack_cstr(&pk, "headers");
    hb_pack_headers(&pk, req, ev->redact, ev->num_redact);
    hb_pack_cstr(&pk, "remoteAddr");
    hb_pack_cstr(&pk, req->remote_addr);
    hb_pack_cstr(&pk, "contentType");
    hb_pack_strn(&pk, ct != NULL ? ct->value : "", ct != NULL ? ct->value_len : 0);
    hb_pack_cstr(&pk, "body");
    msgpack_pack_bin(&pk, req->body_len);
    msgpack_pack_bin_body(&pk, req->body, req->body_len);
    hb_pack_cstr(&pk, "verified");
    hb_pack_cstr(&pk, ev->verified);
    if (ev->json != NULL) {
        hb_pack_cstr(&pk, "json");
        msgpack_sbuffer_write(out, ev->json, ev->json_len); /* already one msgpack value */
    }
    if (ev->test) {
        hb_pack_cstr(&pk, "test");
        msgpack_pack_true(&pk);
    }
    size_t prefix = out->size;
    hb_pack_triggers(out, ev->triggers, ev->num_triggers);
    return prefix;
}

void hb_envelope_retarget(const char *env, size_t prefix_len, const char *const *triggers, size_t num_triggers,
                          msgpack_sbuffer *out)
{
    msgpack_sbuffer_write(out, env, prefix_len);
    hb_pack_triggers(out, triggers, num_triggers);
}

static int hb_key_is(const msgpack_object *k, const char *name)
{
    size_t n = strlen(name);
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

/*
 * 1 when data is one msgpack value of exactly len bytes in which no array, map, str, bin or ext claims more than the
 * bytes left. msgpack-c allocates a container's elements from its header before it reads them, so five bytes of a
 * record that is not ours could otherwise make it ask for gigabytes; every element takes at least one byte.
 */
static int hb_msgpack_sane(const unsigned char *p, size_t len)
{
    static const unsigned char fixed[] = {/* 0xc0..0xdf: bytes after the type byte; 0xff: the size follows */
                                          0, 0xff, 0,  0,    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 4,
                                          8, 1,    2,  4,    8,    1,    2,    4,    8,    2,    3,
                                          5, 9,    17, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    const unsigned char *end = p + len;
    uint64_t pending = 1; /* values still to read */
    while (pending > 0) {
        if (p == end)
            return 0;
        unsigned c = *p++;
        uint64_t items = 0, bytes = 0;
        pending--;
        if (c <= 0x7f || c >= 0xe0) {
            continue;
        } else if (c <= 0x8f) {
            items = 2 * (uint64_t)(c & 0x0f);
        } else if (c <= 0x9f) {
            items = c & 0x0f;
        } else if (c <= 0xbf) {
            bytes = c & 0x1f;
        } else if (fixed[c - 0xc0] != 0xff) {
            bytes = fixed[c - 0xc0];
        } else if (c == 0xc1) {
            return 0; /* never used */
        } else {
            /* bin/ext/str 8, 16, 32 and array/map 16, 32: a big-endian size of 1, 2 or 4 bytes */
            static const unsigned char width[] = {
                [0x04] = 1, [0x05] = 2, [0x06] = 4, [0x07] = 1, [0x08] = 2, [0x09] = 4, [0x19] = 1,
                [0x1a] = 2, [0x1b] = 4, [0x1c] = 2, [0x1d] = 4, [0x1e] = 2, [0x1f] = 4};
            size_t w = width[c - 0xc0];
            if ((size_t)(end - p) < w)
                return 0;
            uint64_t n = 0;
            for (size_t i = 0; i < w; i++)
                n = n << 8 | *p++;
            if (c >= 0xdc)
                items = c >= 0xde ? 2 * n : n;
            else
                bytes = n + (c >= 0xc7 && c <= 0xc9); /* an ext's type byte */
        }
        if (bytes > (uint64_t)(end - p))
            return 0;
        p += bytes;
        pending += items;
        if (pending > (uint64_t)(end - p))
            return 0;
    }
    return p == end;
}

int hb_envelope_decode(msgpack_unpacked *up, const char *data, size_t len, hb_envelope_view_t *out, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof(*out));
    size_t off = 0;
    if (!hb_msgpack_sane((const unsigned char *)data, len) ||
        msgpack_unpack_next(up, data, len, &off) != MSGPACK_UNPACK_SUCCESS || off != len) {
        snprintf(err, errlen, "not one msgpack value");
        return -1;
    }
    const msgpack_object *root = &up->data;
    if (root->type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "an envelope is a msgpack map");
        return -1;
    }
    static const char *const str_keys[] = {"id",  "endpoint",   "source",      "method",  "path",
                                           "url", "remoteAddr", "contentType", "verified"};
    msgpack_object_str *str_slots[] = {&out->id,  &out->endpoint,    &out->source,       &out->method,  &out->path,
                                       &out->url, &out->remote_addr, &out->content_type, &out->verified};
    unsigned seen = 0;
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key, *v = &root->via.map.ptr[i].val;
        if (hb_key_is(k, "v") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            out->version = (int64_t)v->via.u64;
            seen |= 1;
        } else if (hb_key_is(k, "receivedAt") && v->type == MSGPACK_OBJECT_POSITIVE_INTEGER) {
            out->received_at = (int64_t)v->via.u64;
        } else if (hb_key_is(k, "body") && v->type == MSGPACK_OBJECT_BIN) {
            out->body = v->via.bin.ptr;
            out->body_len = v->via.bin.size;
            seen |= 2;
        } else if (hb_key_is(k, "query") && v->type == MSGPACK_OBJECT_MAP) {
            out->query = v;
        } else if (hb_key_is(k, "headers") && v->type == MSGPACK_OBJECT_MAP) {
            out->headers = v;
        } else if (v->type == MSGPACK_OBJECT_STR) {
            for (size_t s = 0; s < HB_ARRAY_SIZE(str_keys); s++)
                if (hb_key_is(k, str_keys[s]))
                    *str_slots[s] = v->via.str;
        }
    }
    if (!(seen & 1) || out->version != HB_ENVELOPE_VERSION) {
        snprintf(err, errlen, "not a v%d envelope (field v)", HB_ENVELOPE_VERSION);
        return -1;
    }
    if (!(seen & 2) || out->id.ptr == NULL) {
        snprintf(err, errlen, "the envelope lacks body or id");
        return -1;
    }
    return 0;
}

/* The top-level map as JSON; `body` becomes text where it is UTF-8, else `bodyBase64`. */
static void hb_envelope_map_to_json(const msgpack_object *root, hb_buf_t *out)
{
    hb_buf_putc(out, '{');
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *k = &root->via.map.ptr[i].key, *v = &root->via.map.ptr[i].val;
        if (i)
            hb_buf_putc(out, ',');
        if (hb_key_is(k, "body") && v->type == MSGPACK_OBJECT_BIN && !hb_utf8_valid(v->via.bin.ptr, v->via.bin.size)) {
            char *b64 = hb_xmalloc(hb_base64_encoded_len(v->via.bin.size) + 1);
            size_t n = hb_base64_encode(b64, (const uint8_t *)v->via.bin.ptr, v->via.bin.size, 0);
            hb_buf_puts(out, "\"bodyBase64\":");
            hb_json_str(out, b64, n);
            free(b64);
            continue;
        }
        if (k->type == MSGPACK_OBJECT_STR || k->type == MSGPACK_OBJECT_BIN) /* both written as JSON strings */
            hb_msgpack_to_json(k, out);
        else /* a number, nil...: "" as hb_msgpack_to_json() writes such keys inside, so that it stays JSON */
            hb_buf_puts(out, "\"\"");
        hb_buf_putc(out, ':');
        hb_msgpack_to_json(v, out);
    }
    hb_buf_putc(out, '}');
}

int hb_envelope_to_json(const char *data, size_t len, hb_buf_t *out, char *err, size_t errlen)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    hb_envelope_view_t view;
    int ret = hb_envelope_decode(&up, data, len, &view, err, errlen);
    if (ret == 0)
        hb_envelope_map_to_json(&up.data, out);
    msgpack_unpacked_destroy(&up);
    return ret;
}

void hb_uuid7_format(char out[37], int64_t unix_ms, const uint8_t random[10])
{
    uint8_t b[16];
    uint64_t ms = (uint64_t)unix_ms;
    for (int i = 0; i < 6; i++)
        b[i] = (uint8_t)(ms >> (40 - 8 * i));
    memcpy(b + 6, random, 10);
    b[6] = (uint8_t)(0x70 | (b[6] & 0x0f)); /* version 7 */
    b[8] = (uint8_t)(0x80 | (b[8] & 0x3f)); /* variant 10 */
    static const char digits[] = "0123456789abcdef";
    char *o = out;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            *o++ = '-'; /* 8-4-4-4-12 */
        *o++ = digits[b[i] >> 4];
        *o++ = digits[b[i] & 0x0f];
    }
    *o = '\0';
}
