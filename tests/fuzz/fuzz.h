/* tests/fuzz/fuzz.h: what the libFuzzer targets of tests/fuzz/ share: splitting an input, checks that abort. */
#ifndef HB_FUZZ_H
#define HB_FUZZ_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "body.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An input that breaks a promise of the code under test: abort, so that libFuzzer records it as a crash. */
#define FZ_CHECK(cond, ...)                                                                                            \
    do {                                                                                                               \
        if (!(cond)) {                                                                                                 \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);                                   \
            fprintf(stderr, __VA_ARGS__);                                                                              \
            fprintf(stderr, "\n");                                                                                     \
            abort();                                                                                                   \
        }                                                                                                              \
    } while (0)

typedef struct fz_span {
    const char *p;
    size_t n;
} fz_span_t;

/*
 * Splits data at the first max-1 occurrences of sep into parts; returns how many parts there are (at least 1). Each
 * part is copied into its own malloc'd block of exactly its size (free with fz_free_parts), so that ASan catches a
 * read past the end of any of them, not only of the last.
 */
static inline size_t fz_split(const uint8_t *data, size_t size, char sep, fz_span_t *parts, size_t max)
{
    const char *p = size != 0 ? (const char *)data : "", *end = p + size;
    size_t n = 0;
    while (n + 1 < max) {
        const char *s = memchr(p, sep, (size_t)(end - p));
        if (s == NULL)
            break;
        parts[n++] = (fz_span_t){p, (size_t)(s - p)};
        p = s + 1;
    }
    parts[n++] = (fz_span_t){p, (size_t)(end - p)};
    for (size_t i = 0; i < n; i++) {
        char *copy = malloc(parts[i].n != 0 ? parts[i].n : 1);
        if (parts[i].n != 0)
            memcpy(copy, parts[i].p, parts[i].n);
        parts[i].p = copy;
    }
    return n;
}

static inline void fz_free_parts(fz_span_t *parts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)parts[i].p);
}

/*
 * Parses JSON text into sb and unpacks it into up: &up->data, or NULL when the text is not JSON. The parser's
 * output must be exactly one msgpack object, which msgpack-c reads back.
 */
static inline const msgpack_object *fz_json(msgpack_unpacked *up, msgpack_sbuffer *sb, const char *text, size_t len)
{
    if (hb_json_to_msgpack(text, len, HB_BODY_MAX_DEPTH, sb, NULL, 0) != 0)
        return NULL;
    size_t off = 0;
    int ret = msgpack_unpack_next(up, sb->data, sb->size, &off);
    FZ_CHECK(ret == MSGPACK_UNPACK_SUCCESS && off == sb->size, "msgpack-c cannot read the parsed JSON back (%d)", ret);
    return &up->data;
}

#endif
