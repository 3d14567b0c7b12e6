/*
 * examples/plugins/apikey.c: a hookbridge verification plugin that accepts a request carrying one of the shared API
 * keys in a header. Several keys may be configured so that a key can be rotated without downtime: any one matches.
 *
 *     verify:
 *       plugin: plugins/libhookbridge-apikey.so
 *       symbol: hookbridge_apikey
 *       config: { header: x-api-key, keys: [k1, k2] }
 *
 * hookbridge passes the config as compact JSON, {"header":"x-api-key","keys":["k1","k2"]}; "header" may be left out
 * (it defaults to x-api-key), "keys" is required. The plugin only needs bridge/hookbridge_plugin.h and libc:
 *
 *     cc -std=c11 -O2 -Wall -Wextra -fPIC -shared -fvisibility=hidden -I bridge -o libhookbridge-apikey.so apikey.c
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hookbridge_plugin.h"

#define APIKEY_DEFAULT_HEADER "x-api-key"
#define APIKEY_MAX_KEYS 64
#define APIKEY_MAX_LEN 4096 /* of the header name and of each key */

typedef struct apikey_str {
    char *s; /* NUL-terminated, may not contain NUL itself (refused) */
    size_t len;
} apikey_str_t;

typedef struct apikey_state {
    apikey_str_t header;  /* lower-cased, for lookup */
    char *missing_reason; /* "Missing header <name as configured>" */
    apikey_str_t *keys;
    size_t num_keys;
} apikey_state_t;

/* ---- constant-time comparison ---- */

/*
 * 1 when the n bytes at a and b are equal. Reads every byte whatever the data, so the time taken tells nothing about
 * where the first difference is; volatile keeps the compiler from turning the loop into an early-exit memcmp.
 */
static int apikey_ct_equal(const unsigned char *a, const unsigned char *b, size_t n)
{
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}

/*
 * 1 when value equals one of the keys. Every key is compared, so the time does not tell which one matched; only
 * the keys' lengths can be learnt from timing, which a key of random bytes does not mind.
 */
static int apikey_match(const apikey_state_t *st, const char *value, size_t len)
{
    int matched = 0;
    for (size_t i = 0; i < st->num_keys; i++)
        if (st->keys[i].len == len)
            matched |= apikey_ct_equal((const unsigned char *)st->keys[i].s, (const unsigned char *)value, len);
    return matched;
}

/* ---- a JSON parser for exactly {"header": STRING, "keys": [STRING, ...]} ---- */

typedef struct apikey_parser {
    const char *json;
    const char *p;
    char *err;
    size_t errlen;
} apikey_parser_t;

__attribute__((format(printf, 2, 3))) static int apikey_fail(apikey_parser_t *ps, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(ps->err, ps->errlen, "config at offset %zu: %s", (size_t)(ps->p - ps->json), msg);
    return -1;
}

static void apikey_skip_ws(apikey_parser_t *ps)
{
    while (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r')
        ps->p++;
}

/* Skips whitespace and consumes c; -1 with an error naming what was expected otherwise. */
static int apikey_expect(apikey_parser_t *ps, char c, const char *what)
{
    apikey_skip_ws(ps);
    if (*ps->p != c)
        return apikey_fail(ps, "expected %s", what);
    ps->p++;
    return 0;
}

static int apikey_hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            return -1;
        v = v << 4 | (unsigned)d;
    }
    *out = v;
    return 0;
}

/*
 * Parses a JSON string (after whitespace) into out, malloc'd and NUL-terminated, escapes decoded to UTF-8. Refuses
 * raw control characters, unknown escapes, lone surrogates, \u0000 (it would cut the C string short) and strings
 * longer than APIKEY_MAX_LEN.
 */
static int apikey_parse_string(apikey_parser_t *ps, apikey_str_t *out, const char *what)
{
    apikey_skip_ws(ps);
    if (*ps->p != '"')
        return apikey_fail(ps, "expected a string for %s", what);
    ps->p++;
    /* the decoded form is never longer than the encoded one */
    const char *end = ps->p;
    while (*end != '"' && *end != '\0')
        end += end[0] == '\\' && end[1] != '\0' ? 2 : 1;
    if (*end != '"')
        return apikey_fail(ps, "unterminated string for %s", what);
    char *buf = malloc((size_t)(end - ps->p) + 1);
    if (buf == NULL)
        return apikey_fail(ps, "out of memory");
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p;
        if (c < 0x20) {
            free(buf);
            return apikey_fail(ps, "control character in the string for %s", what);
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            ps->p++;
            continue;
        }
        static const char escaped[] = "\"\\/bfnrt", unescaped[] = "\"\\/\b\f\n\r\t";
        char e = ps->p[1];
        const char *simple = e != '\0' ? strchr(escaped, e) : NULL;
        if (simple != NULL) {
            buf[n++] = unescaped[simple - escaped];
            ps->p += 2;
            continue;
        }
        unsigned cp;
        if (e != 'u' || apikey_hex4(ps->p + 2, &cp) != 0) {
            free(buf);
            return apikey_fail(ps, "bad escape in the string for %s", what);
        }
        ps->p += 6;
        if (cp >= 0xd800 && cp <= 0xdbff) {
            unsigned lo;
            if (ps->p[0] != '\\' || ps->p[1] != 'u' || apikey_hex4(ps->p + 2, &lo) != 0 || lo < 0xdc00 || lo > 0xdfff) {
                free(buf);
                return apikey_fail(ps, "lone surrogate in the string for %s", what);
            }
            ps->p += 6;
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if ((cp >= 0xdc00 && cp <= 0xdfff) || cp == 0) {
            free(buf);
            return apikey_fail(ps, "%s in the string for %s", cp == 0 ? "\\u0000" : "lone surrogate", what);
        }
        /* 6 or 12 escape bytes always have room for the at most 4 bytes of UTF-8 */
        if (cp < 0x80) {
            buf[n++] = (char)cp;
        } else if (cp < 0x800) {
            buf[n++] = (char)(0xc0 | cp >> 6);
            buf[n++] = (char)(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            buf[n++] = (char)(0xe0 | cp >> 12);
            buf[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
            buf[n++] = (char)(0x80 | (cp & 0x3f));
        } else {
            buf[n++] = (char)(0xf0 | cp >> 18);
            buf[n++] = (char)(0x80 | (cp >> 12 & 0x3f));
            buf[n++] = (char)(0x80 | (cp >> 6 & 0x3f));
            buf[n++] = (char)(0x80 | (cp & 0x3f));
        }
    }
    ps->p++;
    buf[n] = '\0';
    if (n > APIKEY_MAX_LEN) {
        free(buf);
        return apikey_fail(ps, "%s is longer than %d bytes", what, APIKEY_MAX_LEN);
    }
    out->s = buf;
    out->len = n;
    return 0;
}

/* 1 for the characters RFC 9110 allows in a header name (tchar). */
static int apikey_is_tchar(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int apikey_parse_keys(apikey_parser_t *ps, apikey_state_t *st)
{
    if (apikey_expect(ps, '[', "an array of strings for \"keys\"") != 0)
        return -1;
    apikey_skip_ws(ps);
    if (*ps->p == ']')
        return apikey_fail(ps, "\"keys\" is empty: at least one key is required");
    for (;;) {
        if (st->num_keys == APIKEY_MAX_KEYS)
            return apikey_fail(ps, "more than %d keys", APIKEY_MAX_KEYS);
        apikey_str_t *k = &st->keys[st->num_keys];
        if (apikey_parse_string(ps, k, "a key") != 0)
            return -1;
        st->num_keys++;
        if (k->len == 0)
            return apikey_fail(ps, "key %zu is empty", st->num_keys);
        apikey_skip_ws(ps);
        if (*ps->p == ']') {
            ps->p++;
            return 0;
        }
        if (apikey_expect(ps, ',', "',' or ']' in \"keys\"") != 0)
            return -1;
    }
}

static int apikey_parse(apikey_parser_t *ps, apikey_state_t *st)
{
    int have_keys = 0;
    if (apikey_expect(ps, '{', "a JSON object") != 0)
        return -1;
    apikey_skip_ws(ps);
    if (*ps->p != '}') {
        int have_header = 0;
        for (;;) {
            apikey_str_t member;
            const char *at = ps->p;
            if (apikey_parse_string(ps, &member, "a member name") != 0)
                return -1;
            int is_header = strcmp(member.s, "header") == 0, is_keys = strcmp(member.s, "keys") == 0;
            free(member.s);
            if (!is_header && !is_keys) {
                ps->p = at;
                return apikey_fail(ps, "unknown member (only \"header\" and \"keys\" are known)");
            }
            if ((is_header && have_header) || (is_keys && have_keys)) {
                ps->p = at;
                return apikey_fail(ps, "\"%s\" given twice", is_header ? "header" : "keys");
            }
            if (apikey_expect(ps, ':', "':'") != 0)
                return -1;
            if (is_header) {
                have_header = 1;
                if (apikey_parse_string(ps, &st->header, "\"header\"") != 0)
                    return -1;
            } else {
                have_keys = 1;
                if (apikey_parse_keys(ps, st) != 0)
                    return -1;
            }
            apikey_skip_ws(ps);
            if (*ps->p == '}')
                break;
            if (apikey_expect(ps, ',', "',' or '}'") != 0)
                return -1;
        }
    }
    ps->p++;
    apikey_skip_ws(ps);
    if (*ps->p != '\0')
        return apikey_fail(ps, "unexpected text after the object");
    if (!have_keys)
        return apikey_fail(ps, "\"keys\" is required");
    return 0;
}

/* ---- the plugin ---- */

/* Zeroes a key before it is freed, so the secret does not linger in the heap; volatile so the store is not dropped. */
static void apikey_wipe(char *s, size_t len)
{
    volatile char *v = s;
    for (size_t i = 0; i < len; i++)
        v[i] = 0;
}

static void apikey_destroy(void *state)
{
    apikey_state_t *st = state;
    if (st == NULL)
        return;
    for (size_t i = 0; i < st->num_keys; i++) {
        apikey_wipe(st->keys[i].s, st->keys[i].len);
        free(st->keys[i].s);
    }
    free(st->keys);
    free(st->header.s);
    free(st->missing_reason);
    free(st);
}

static void *apikey_create(const char *config_json, char *err, size_t errlen)
{
    apikey_state_t *st = calloc(1, sizeof(*st));
    if (st == NULL || (st->keys = calloc(APIKEY_MAX_KEYS, sizeof(*st->keys))) == NULL) {
        snprintf(err, errlen, "out of memory");
        apikey_destroy(st);
        return NULL;
    }
    apikey_parser_t ps = {config_json, config_json, err, errlen};
    if (apikey_parse(&ps, st) != 0)
        goto Error;
    if (st->header.s == NULL) {
        st->header.len = sizeof(APIKEY_DEFAULT_HEADER) - 1;
        if ((st->header.s = malloc(sizeof(APIKEY_DEFAULT_HEADER))) == NULL) {
            snprintf(err, errlen, "out of memory");
            goto Error;
        }
        memcpy(st->header.s, APIKEY_DEFAULT_HEADER, sizeof(APIKEY_DEFAULT_HEADER));
    }
    if (st->header.len == 0) {
        snprintf(err, errlen, "config: \"header\" is empty");
        goto Error;
    }
    for (size_t i = 0; i < st->header.len; i++) {
        if (!apikey_is_tchar((unsigned char)st->header.s[i])) {
            snprintf(err, errlen, "config: \"header\" is not a valid header name");
            goto Error;
        }
    }
    size_t rlen = sizeof("Missing header ") + st->header.len;
    if ((st->missing_reason = malloc(rlen)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto Error;
    }
    snprintf(st->missing_reason, rlen, "Missing header %s", st->header.s);
    /* hookbridge hands header names lower-cased */
    for (size_t i = 0; i < st->header.len; i++)
        if (st->header.s[i] >= 'A' && st->header.s[i] <= 'Z')
            st->header.s[i] = (char)(st->header.s[i] - 'A' + 'a');
    return st;

Error:
    apikey_destroy(st);
    return NULL;
}

static int apikey_verify(void *state, const hookbridge_request_t *req, const char **reason)
{
    const apikey_state_t *st = state;
    const hookbridge_header_t *h = NULL;
    for (size_t i = 0; i < req->num_headers && h == NULL; i++)
        if (req->headers[i].name_len == st->header.len &&
            memcmp(req->headers[i].name, st->header.s, st->header.len) == 0)
            h = &req->headers[i];
    if (h == NULL) {
        *reason = st->missing_reason;
        return 1;
    }
    if (!apikey_match(st, h->value, h->value_len)) {
        *reason = "No key matched";
        return 1;
    }
    return 0;
}

HOOKBRIDGE_PLUGIN_EXPORT const hookbridge_verifier_t hookbridge_apikey = {
    .abi = HOOKBRIDGE_PLUGIN_ABI,
    .name = "apikey",
    .create = apikey_create,
    .verify = apikey_verify,
    .destroy = apikey_destroy,
};
