/* tests/unit/test_providers.c: the provider presets against the providers' PUBLISHED examples
   (data/provider-examples.json: each entry names its source), and, for every valid example, the changes that must
   make it fail: a tampered body, another secret, the signature header gone, a stale and a future timestamp. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "tap.h"
#include "verify.h"

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            memcmp(kv->key.via.str.ptr, key, strlen(key)) == 0)
            return &kv->val;
    }
    return NULL;
}

/* A string member as a NUL-terminated copy, or NULL. */
static char *get_str(const msgpack_object *map, const char *key)
{
    const msgpack_object *o = get(map, key);
    return o != NULL && o->type == MSGPACK_OBJECT_STR ? hb_xstrndup(o->via.str.ptr, o->via.str.size) : NULL;
}

/* One example as a request the verifier can check, with what it owns. */
typedef struct example {
    char *provider, *source, *secret, *public_key, *body, *path, *public_url;
    hb_header_t headers[16];
    size_t num_headers;
    char *names[16], *values[16];
    int64_t ts;
    int valid;
} example_t;

static void example_load(example_t *e, const msgpack_object *o)
{
    memset(e, 0, sizeof(*e));
    e->provider = get_str(o, "provider");
    e->source = get_str(o, "source");
    e->secret = get_str(o, "secret");
    e->public_key = get_str(o, "publicKey");
    e->body = get_str(o, "body");
    const msgpack_object *ts = get(o, "timestamp"), *valid = get(o, "valid"), *headers = get(o, "headers");
    e->ts = ts != NULL && ts->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? (int64_t)ts->via.u64 : 0;
    e->valid = valid != NULL && valid->type == MSGPACK_OBJECT_BOOLEAN && valid->via.boolean;
    char *url = get_str(o, "url");
    if (url != NULL) { /* https://host/path?query → publicUrl https://host, path /path?query */
        char *slash = strchr(strstr(url, "://") + 3, '/');
        e->path = hb_xstrdup(slash);
        e->public_url = hb_xstrndup(url, (size_t)(slash - url));
        free(url);
    } else {
        e->path = hb_xstrdup("/webhooks/example");
    }
    for (uint32_t i = 0; headers != NULL && i < headers->via.map.size && i < 16; i++) {
        const msgpack_object_kv *kv = &headers->via.map.ptr[i];
        char *name = hb_xstrndup(kv->key.via.str.ptr, kv->key.via.str.size);
        for (char *c = name; *c != '\0'; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        e->names[i] = name;
        e->values[i] = hb_xstrndup(kv->val.via.str.ptr, kv->val.via.str.size);
        e->headers[i] = (hb_header_t){name, strlen(name), e->values[i], strlen(e->values[i])};
        e->num_headers++;
    }
}

static void example_free(example_t *e)
{
    free(e->provider);
    free(e->source);
    free(e->secret);
    free(e->public_key);
    free(e->body);
    free(e->path);
    free(e->public_url);
    for (size_t i = 0; i < e->num_headers; i++) {
        free(e->names[i]);
        free(e->values[i]);
    }
}

static hb_verifier_t *verifier_for(const example_t *e, const char *secret)
{
    hb_secret_t s = {(char *)secret, secret != NULL ? strlen(secret) : 0, 0};
    char *pk = e->public_key;
    hb_verify_config_t cfg = {.provider = e->provider,
                              .secrets = secret != NULL ? &s : NULL,
                              .num_secrets = secret != NULL,
                              .public_keys = pk != NULL ? &pk : NULL,
                              .num_public_keys = pk != NULL,
                              .public_url = e->public_url};
    char err[256] = "";
    hb_verifier_t *v = hb_verifier_new(&cfg, err, sizeof(err));
    if (v == NULL)
        printf("# %s: %s\n", e->provider, err);
    return v;
}

static hb_status_t check(const hb_verifier_t *v, const example_t *e, const char *body, size_t skip_header,
                         int64_t at_ms, const char **reason)
{
    hb_header_t headers[16];
    size_t n = 0;
    for (size_t i = 0; i < e->num_headers; i++)
        if (i != skip_header)
            headers[n++] = e->headers[i];
    const char *q = strchr(e->path, '?');
    hb_request_t req = {.method = "POST",
                        .method_len = 4,
                        .path = e->path,
                        .path_len = strlen(e->path),
                        .query_at = q != NULL ? (size_t)(q - e->path) : SIZE_MAX,
                        .headers = headers,
                        .num_headers = n,
                        .body = (const uint8_t *)body,
                        .body_len = strlen(body),
                        .received_at_ms = at_ms};
    *reason = "";
    return hb_verifier_check(v, &req, reason);
}

/* The header that carries the signature: the one whose name holds "signature" (or twilio's, or a token). */
static size_t signature_header(const example_t *e)
{
    for (size_t i = 0; i < e->num_headers; i++)
        if (strstr(e->names[i], "signature") != NULL && strstr(e->names[i], "timestamp") == NULL)
            return i;
    return SIZE_MAX;
}

int main(void)
{
    size_t len = 0;
    char *text = tap_read_file("data/provider-examples.json", &len);
    if (!ok(text != NULL, "data/provider-examples.json is readable"))
        return done_testing();
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char err[256];
    is_int(hb_json_to_msgpack(text, len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err)), 0, "the examples are JSON");
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_next(&up, sb.data, sb.size, &off);
    const msgpack_object *all = &up.data;
    ok(all->type == MSGPACK_OBJECT_ARRAY && all->via.array.size >= 10, "at least ten published examples");

    int providers_seen = 0;
    char seen[1024] = "";
    for (uint32_t i = 0; all->type == MSGPACK_OBJECT_ARRAY && i < all->via.array.size; i++) {
        example_t e;
        example_load(&e, &all->via.array.ptr[i]);
        if (strstr(seen, e.provider) == NULL) {
            snprintf(seen + strlen(seen), sizeof(seen) - strlen(seen), "%s,", e.provider);
            providers_seen++;
        }
        hb_verifier_t *v = verifier_for(&e, e.secret);
        if (!ok(v != NULL, "%s example %u builds a verifier", e.provider, i)) {
            example_free(&e);
            continue;
        }
        /* timestamped examples are checked at their own time; the others at any */
        int64_t at = e.ts != 0 ? e.ts * 1000 + 1500 : 1700000000000;
        const char *reason;
        hb_status_t st = check(v, &e, e.body, SIZE_MAX, at, &reason);
        if (!is_int(st, e.valid ? HB_STATUS_OK : HB_STATUS_UNAUTHORIZED, "%s example %u (%s): %s", e.provider, i,
                    e.valid ? "valid" : "invalid", reason))
            printf("#   source: %s\n", e.source);
        if (e.valid) {
            /* a tampered body */
            hb_buf_t tampered;
            hb_buf_init(&tampered);
            hb_buf_puts(&tampered, e.body);
            hb_buf_putc(&tampered, ' ');
            hb_buf_putc(&tampered, '\0');
            is_int(check(v, &e, tampered.base, SIZE_MAX, at, &reason), HB_STATUS_UNAUTHORIZED,
                   "%s example %u: a byte added to the body is refused (%s)", e.provider, i, reason);
            hb_buf_dispose(&tampered);
            /* the signature header gone */
            size_t sh = signature_header(&e);
            if (sh != SIZE_MAX) {
                is_int(check(v, &e, e.body, sh, at, &reason), HB_STATUS_UNAUTHORIZED,
                       "%s example %u: without %s it is refused", e.provider, i, e.names[sh]);
                ok(strncmp(reason, "Missing header ", 15) == 0 &&
                       hb_strcase_eq(reason + 15, strlen(reason + 15), e.names[sh], strlen(e.names[sh])),
                   "%s example %u: the reason names the header (%s)", e.provider, i, reason);
            }
            /* another secret (HMAC schemes) */
            if (e.secret != NULL) {
                const char *other = strncmp(e.secret, "whsec_", 6) == 0 ? "whsec_b3RoZXIgc2VjcmV0IGJ5dGVz" : "x";
                hb_verifier_t *w = verifier_for(&e, other);
                if (w != NULL)
                    is_int(check(w, &e, e.body, SIZE_MAX, at, &reason), HB_STATUS_UNAUTHORIZED,
                           "%s example %u: another secret is refused (%s)", e.provider, i, reason);
                hb_verifier_free(w);
                /* rotation: the right secret second in the list still matches */
                hb_secret_t two[] = {{(char *)other, strlen(other), 0}, {e.secret, strlen(e.secret), 0}};
                hb_verify_config_t cfg = {
                    .provider = e.provider, .secrets = two, .num_secrets = 2, .public_url = e.public_url};
                w = hb_verifier_new(&cfg, err, sizeof(err));
                if (ok(w != NULL, "%s example %u: two secrets build", e.provider, i))
                    is_int(check(w, &e, e.body, SIZE_MAX, at, &reason), HB_STATUS_OK,
                           "%s example %u: the old secret second in `secrets` matches (%s)", e.provider, i, reason);
                hb_verifier_free(w);
            }
            /* timestamps out of the default tolerance (300 s), both ways; inside it, both ways */
            if (e.ts != 0) {
                is_int(check(v, &e, e.body, SIZE_MAX, e.ts * 1000 + 301000, &reason), HB_STATUS_UNAUTHORIZED,
                       "%s example %u: 301 s later it is stale", e.provider, i);
                is_str(reason, "Timestamp outside tolerance", "%s example %u: stale: the reason", e.provider, i);
                is_int(check(v, &e, e.body, SIZE_MAX, e.ts * 1000 - 301000, &reason), HB_STATUS_UNAUTHORIZED,
                       "%s example %u: 301 s earlier it is from the future", e.provider, i);
                is_str(reason, "Timestamp outside tolerance", "%s example %u: future: the reason", e.provider, i);
                is_int(check(v, &e, e.body, SIZE_MAX, e.ts * 1000 + 299000, &reason), HB_STATUS_OK,
                       "%s example %u: 299 s later it is still good", e.provider, i);
                is_int(check(v, &e, e.body, SIZE_MAX, e.ts * 1000 - 299000, &reason), HB_STATUS_OK,
                       "%s example %u: 299 s earlier it is still good", e.provider, i);
            }
        }
        hb_verifier_free(v);
        example_free(&e);
    }
    ok(providers_seen >= 7, "published examples of %d providers (%s)", providers_seen, seen);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    free(text);
    return done_testing();
}
