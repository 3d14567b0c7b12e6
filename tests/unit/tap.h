/* tests/unit/tap.h: a tiny TAP harness for the unit tests. Header-only; one test program per file. */
#ifndef HB_TAP_H
#define HB_TAP_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static int tap_passed, tap_failed;

/* Prints "ok N - name" or "not ok N - name" and counts it; returns cond so callers can skip dependent checks. */
__attribute__((format(printf, 4, 5))) static inline int tap_result(int cond, const char *file, int line,
                                                                   const char *fmt, ...)
{
    va_list ap;
    printf("%sok %d - ", cond ? "" : "not ", tap_passed + tap_failed + 1);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (cond) {
        tap_passed++;
    } else {
        tap_failed++;
        printf("#   Failed at %s:%d\n", file, line);
    }
    return cond;
}

/* Writes len bytes of s as a quoted C string, escaping what is not printable ASCII. NULL is written as NULL. */
static inline void tap_print_bytes(const char *label, const void *p, size_t len)
{
    const unsigned char *s = p;
    printf("#   %8s: ", label);
    if (s == NULL) {
        printf("NULL\n");
        return;
    }
    printf("\"");
    for (size_t i = 0; i < len && i < 2048; i++) {
        if (s[i] == '"' || s[i] == '\\')
            printf("\\%c", s[i]);
        else if (s[i] == '\n')
            printf("\\n\n#             ");
        else if (s[i] < 0x20 || s[i] >= 0x7f)
            printf("\\x%02x", s[i]);
        else
            putchar(s[i]);
    }
    printf("\"%s (%zu bytes)\n", len > 2048 ? "..." : "", len);
}

#define ok(cond, ...) tap_result(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

/* is_int(got, expected, name_fmt, ...): compares as intmax_t; prints both on failure. */
#define is_int(a, b, ...) tap_is_int((intmax_t)(a), (intmax_t)(b), __FILE__, __LINE__, __VA_ARGS__)
/* is_str(got, expected, name_fmt, ...): NUL-terminated strings; either may be NULL (equal only when both are). */
#define is_str(a, b, ...) tap_is_str((a), (b), __FILE__, __LINE__, __VA_ARGS__)
/* is_mem(got, gotlen, expected, expectedlen, name_fmt, ...): byte strings. */
#define is_mem(a, alen, b, blen, ...) tap_is_mem((a), (alen), (b), (blen), __FILE__, __LINE__, __VA_ARGS__)

#define TAP_NAME(fmt)                                                                                                  \
    char name[512];                                                                                                    \
    va_list ap;                                                                                                        \
    va_start(ap, fmt);                                                                                                 \
    vsnprintf(name, sizeof(name), fmt, ap);                                                                            \
    va_end(ap)

__attribute__((format(printf, 5, 6))) static inline int tap_is_int(intmax_t a, intmax_t b, const char *file, int line,
                                                                   const char *fmt, ...)
{
    TAP_NAME(fmt);
    int cond = tap_result(a == b, file, line, "%s", name);
    if (!cond)
        printf("#        got: %jd\n#   expected: %jd\n", a, b);
    return cond;
}

__attribute__((format(printf, 7, 8))) static inline int
tap_is_mem(const void *a, size_t alen, const void *b, size_t blen, const char *file, int line, const char *fmt, ...)
{
    TAP_NAME(fmt);
    int same =
        (a == NULL && b == NULL) || (a != NULL && b != NULL && alen == blen && (alen == 0 || memcmp(a, b, alen) == 0));
    int cond = tap_result(same, file, line, "%s", name);
    if (!cond) {
        tap_print_bytes("got", a, alen);
        tap_print_bytes("expected", b, blen);
    }
    return cond;
}

__attribute__((format(printf, 5, 6))) static inline int tap_is_str(const char *a, const char *b, const char *file,
                                                                   int line, const char *fmt, ...)
{
    TAP_NAME(fmt);
    return tap_is_mem(a, a != NULL ? strlen(a) : 0, b, b != NULL ? strlen(b) : 0, file, line, "%s", name);
}

/* Prints the plan and "N passed, M failed"; returns the exit code (1 when anything failed). */
/* The whole file at path (NUL-terminated, its length in *len), or NULL; malloc'd. For tests reading their data. */
static inline char *tap_read_file(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    hb_buf_t b;
    hb_buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) != 0)
        hb_buf_append(&b, chunk, n);
    fclose(fp);
    *len = b.len;
    hb_buf_putc(&b, '\0');
    return hb_buf_release(&b);
}

static inline int done_testing(void)
{
    printf("1..%d\n", tap_passed + tap_failed);
    printf("%d passed, %d failed\n", tap_passed, tap_failed);
    fflush(stdout);
    return tap_failed != 0 || tap_passed == 0;
}

#endif
