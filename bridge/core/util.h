/* bridge/core/util.h: allocation that aborts on failure, a growable byte buffer, hex and base64. Pure. */
#ifndef HB_UTIL_H
#define HB_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define HB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/** malloc that aborts the process when memory is exhausted; never returns NULL. */
void *hb_xmalloc(size_t size);
/** calloc that aborts on exhaustion. */
void *hb_xcalloc(size_t n, size_t size);
/** realloc that aborts on exhaustion. */
void *hb_xrealloc(void *p, size_t size);
/** strdup that aborts on exhaustion; NULL in, NULL out. Caller frees. */
char *hb_xstrdup(const char *s);
/** Copies len bytes and NUL-terminates. Caller frees. */
char *hb_xstrndup(const char *s, size_t len);

/** A growable byte buffer, always NUL-terminated after len (so text can be used as a C string). */
typedef struct hb_buf {
    char *base;
    size_t len;
    size_t cap;
} hb_buf_t;

/** Initializes an empty buffer (no allocation). */
void hb_buf_init(hb_buf_t *buf);
/** Frees the storage; the buffer is empty and reusable afterwards. */
void hb_buf_dispose(hb_buf_t *buf);
/** Makes room for extra more bytes. */
void hb_buf_reserve(hb_buf_t *buf, size_t extra);
/** Appends len bytes. */
void hb_buf_append(hb_buf_t *buf, const void *data, size_t len);
/** Appends a C string. */
void hb_buf_puts(hb_buf_t *buf, const char *s);
/** Appends one byte. */
void hb_buf_putc(hb_buf_t *buf, char c);
/** Appends printf-formatted text. */
void hb_buf_printf(hb_buf_t *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/** Hands the storage to the caller (free() it) and leaves the buffer empty. Never NULL. */
char *hb_buf_release(hb_buf_t *buf);

/** Writes 2*len lowercase hex digits and a NUL to out (size >= 2*len+1). */
void hb_hex_encode(char *out, const uint8_t *in, size_t len);
/** Decodes hex (either case) into out (size >= len/2). Returns bytes written, or -1 if not hex or odd length. */
long hb_hex_decode(uint8_t *out, const char *in, size_t len);

/** Size of the base64 text (without NUL) for len bytes, with padding. */
size_t hb_base64_encoded_len(size_t len);
/** Encodes standard (url=0) or URL-safe (url=1) base64 with padding; NUL-terminates. Returns the text length. */
size_t hb_base64_encode(char *out, const uint8_t *in, size_t len, int url);
/**
 * Decodes base64, accepting both alphabets, with or without padding. out needs len*3/4+3 bytes.
 * Returns bytes written, or -1 on a character outside the alphabet or a bad length.
 */
long hb_base64_decode(uint8_t *out, const char *in, size_t len);

/**
 * Reads an RFC 3339 date-time ("2026-12-08T10:00:00Z", with a fraction of a second and a "+01:00" offset too) into
 * ms since the epoch. 0, or -1 when the len bytes at s are not one.
 */
int hb_rfc3339_parse(const char *s, size_t len, int64_t *out_ms);
/** Writes ms since the epoch as RFC 3339 in UTC with milliseconds ("2026-12-08T10:00:00.123Z"); out needs 25 bytes. */
void hb_rfc3339_format(int64_t ms, char *out);

/** 1 when the len bytes at s are valid UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
int hb_utf8_valid(const char *s, size_t len);

/**
 * Replaces buf's content with s decoded as application/x-www-form-urlencoded, as URLSearchParams does:
 * '+' is a space, %XX is a byte, a malformed escape stays as it is.
 */
void hb_form_unescape(hb_buf_t *buf, const char *s, size_t len);

/**
 * 1 when the n bytes at a and b are equal. Unlike memcmp() it takes NULL when n is 0: msgpack-c hands an empty string
 * as (NULL, 0), and memcmp(NULL, p, 0) is undefined behaviour.
 */
static inline int hb_mem_eq(const void *a, const void *b, size_t n)
{
    return n == 0 || __builtin_memcmp(a, b, n) == 0;
}

/** Case-insensitive ASCII comparison of two byte strings of the given lengths; 1 when equal. */
int hb_strcase_eq(const char *a, size_t alen, const char *b, size_t blen);

/**
 * The CPUs a cgroup CPU quota allows: the quota over the period, rounded up ("150000 100000" is 2, "50000 100000"
 * is 1), at most 4096. text is cgroup v2's cpu.max as read ("max 100000" or "QUOTA PERIOD", a newline after), or
 * cgroup v1's cpu.cfs_quota_us and cpu.cfs_period_us joined by a space ("-1 100000"). Returns 0 when there is no
 * limit ("max", "-1"), -1 when text is neither form.
 */
int hb_cpu_quota_count(const char *text, size_t len);

/**
 * The process's cgroup path ("/kubepods/burstable/pod1/c1") in the text of /proc/self/cgroup: with controller NULL
 * the cgroup v2 one (the line "0::PATH"), else that of the cgroup v1 hierarchy whose controller list has controller
 * ("4:cpu,cpuacct:PATH" for "cpu"). NULL when there is none. Caller frees.
 */
char *hb_cgroup_path(const char *text, size_t len, const char *controller);

#endif
