/* bridge/core/body.c: JSON and form bodies → msgpack in one pass (see body.h for the exact semantics). */
#include "body.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "util.h"

#define HB_LIKELY(x) __builtin_expect(!!(x), 1)
#define HB_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Containers get a 5-byte header slot (array32/map32) because their count is known only at the close; there the
 * smallest header is written and the content moved left. Above this size the move is skipped: 4 bytes saved do
 * not pay for copying the content again once per nesting level.
 */
#define HB_COMPACT_MAX 4096

/* Bytes that end a run of plain string content: '"', '\\', controls, and non-ASCII (checked as UTF-8 then). */
/* clang-format off */
static const unsigned char hb_str_special[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};
/* clang-format on */

/* The first byte at or after p that hb_str_special marks, or end. */
static inline const unsigned char *hb_scan_ascii(const unsigned char *p, const unsigned char *end)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'), space = _mm_set1_epi8(0x20);
    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* signed compare: bytes >= 0x80 are negative, so "< 0x20" flags controls and non-ASCII at once */
        __m128i m =
            _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)), _mm_cmplt_epi8(v, space));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask != 0)
            return p + __builtin_ctz(mask);
        p += 16;
    }
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
    while (end - p >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        uint64_t q = v ^ (ones * '"'), b = v ^ (ones * '\\');
        /* the lowest flagged byte is exact: borrows only run upwards from a byte that is itself flagged */
        uint64_t m = (((q - ones) & ~q) | ((b - ones) & ~b) | (v - ones * 0x20) | v) & highs;
        if (m != 0)
            return p + (__builtin_ctzll(m) >> 3);
        p += 8;
    }
#endif
    while (p < end && !hb_str_special[*p])
        p++;
    return p;
}

/*
 * At a byte >= 0x80: the length of the valid UTF-8 sequence that starts at p, or minus the length of its maximal
 * subpart (the bytes TextDecoder replaces by one U+FFFD, WHATWG Encoding §4.1 "UTF-8 decoder"). Never reads at end.
 */
static inline long hb_utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0], lo = 0x80, hi = 0xbf;
    long need;
    if (c >= 0xc2 && c <= 0xdf) {
        need = 1;
    } else if (c >= 0xe0 && c <= 0xef) {
        need = 2;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* overlong */
        hi = c == 0xed ? 0x9f : 0xbf; /* surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        need = 3;
        lo = c == 0xf0 ? 0x90 : 0x80; /* overlong */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* above U+10FFFF */
    } else {
        return -1;
    }
    for (long i = 1; i <= need; i++) {
        if (i >= end - p || p[i] < lo || p[i] > hi)
            return -i;
        lo = 0x80;
        hi = 0xbf;
    }
    return need + 1;
}

/* The first byte at or after p that ends plain string content ('"', '\\', a control, invalid UTF-8), or end. */
static inline const unsigned char *hb_scan_str(const unsigned char *p, const unsigned char *end)
{
    for (;;) {
        p = hb_scan_ascii(p, end);
        if (p == end || *p < 0x80)
            return p;
        long k = hb_utf8_seq(p, end);
        if (k < 0)
            return p;
        p += k;
    }
}

static inline void hb_be16(char *o, uint32_t v)
{
    o[0] = (char)(v >> 8);
    o[1] = (char)v;
}

static inline void hb_be32(char *o, uint32_t v)
{
    o[0] = (char)(v >> 24);
    o[1] = (char)(v >> 16);
    o[2] = (char)(v >> 8);
    o[3] = (char)v;
}

static inline void hb_be64(char *o, uint64_t v)
{
    hb_be32(o, (uint32_t)(v >> 32));
    hb_be32(o + 4, (uint32_t)v);
}

/* Writes the smallest str header for n (< 2^32) bytes at o; returns the position after it (at most 5 bytes). */
static inline char *hb_str_header(char *o, size_t n)
{
    if (n < 32) {
        *o++ = (char)(0xa0 | n);
    } else if (n < 256) {
        *o++ = (char)0xd9;
        *o++ = (char)n;
    } else if (n < 65536) {
        *o++ = (char)0xda;
        hb_be16(o, (uint32_t)n);
        o += 2;
    } else {
        *o++ = (char)0xdb;
        hb_be32(o, (uint32_t)n);
        o += 4;
    }
    return o;
}

/* A non-negative integer in its smallest msgpack form (at most 9 bytes). */
static inline char *hb_put_uint(char *o, uint64_t v)
{
    if (v < 128) {
        *o++ = (char)v;
    } else if (v < 256) {
        *o++ = (char)0xcc;
        *o++ = (char)v;
    } else if (v < 65536) {
        *o++ = (char)0xcd;
        hb_be16(o, (uint32_t)v);
        o += 2;
    } else if (v <= UINT32_MAX) {
        *o++ = (char)0xce;
        hb_be32(o, (uint32_t)v);
        o += 4;
    } else {
        *o++ = (char)0xcf;
        hb_be64(o, v);
        o += 8;
    }
    return o;
}

/* A negative integer in its smallest msgpack form, as msgpack_pack_int64 writes it (at most 9 bytes). */
static inline char *hb_put_neg(char *o, int64_t v)
{
    if (v >= -32) {
        *o++ = (char)(uint8_t)v;
    } else if (v >= INT8_MIN) {
        *o++ = (char)0xd0;
        *o++ = (char)(uint8_t)v;
    } else if (v >= INT16_MIN) {
        *o++ = (char)0xd1;
        hb_be16(o, (uint32_t)(uint16_t)v);
        o += 2;
    } else if (v >= INT32_MIN) {
        *o++ = (char)0xd2;
        hb_be32(o, (uint32_t)v);
        o += 4;
    } else {
        *o++ = (char)0xd3;
        hb_be64(o, (uint64_t)v);
        o += 8;
    }
    return o;
}

static inline char *hb_put_double(char *o, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof(u));
    *o++ = (char)0xcb;
    hb_be64(o, u);
    return o + 8;
}

/* cp <= 0x10FFFF, not a surrogate; at most 4 bytes. */
static inline char *hb_put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xc0 | cp >> 6);
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xe0 | cp >> 12);
        *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    } else {
        *o++ = (char)(0xf0 | cp >> 18);
        *o++ = (char)(0x80 | (cp >> 12 & 0x3f));
        *o++ = (char)(0x80 | (cp >> 6 & 0x3f));
        *o++ = (char)(0x80 | (cp & 0x3f));
    }
    return o;
}

/* The 4 hex digits at p as a number, or -1 when fewer than 4 bytes remain or one is not a hex digit. */
static inline long hb_hex4(const unsigned char *p, const unsigned char *end)
{
    if (end - p < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        if (c >= '0' && c <= '9')
            v = v << 4 | (long)(c - '0');
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            v = v << 4 | (long)((c | 0x20) - 'a' + 10);
        else
            return -1;
    }
    return v;
}

/* Makes room for need more bytes after used; returns the new write position. Allocation failure aborts. */
static __attribute__((noinline)) char *hb_out_grow(msgpack_sbuffer *out, size_t used, size_t need)
{
    size_t cap = out->alloc > 256 ? out->alloc : 256;
    while (cap - used < need)
        cap *= 2;
    out->data = hb_xrealloc(out->data, cap);
    out->alloc = cap;
    return out->data + used;
}

static const double hb_pow10[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

/*
 * The correctly rounded double of a number token, from its digits (int digits, then fraction digits, without the
 * '.') and its decimal exponent. Written as "[-]DIGITSeEXP" so strtod never meets the locale's decimal point.
 */
static double hb_strtod_digits(int neg, const unsigned char *ip, size_t ilen, const unsigned char *fp, size_t flen,
                               long long exp10)
{
    char stack[128], *buf = stack;
    size_t size = ilen + flen + 32;
    if (size > sizeof(stack))
        buf = hb_xmalloc(size);
    char *w = buf;
    if (neg)
        *w++ = '-';
    memcpy(w, ip, ilen);
    w += ilen;
    if (flen > 0)
        memcpy(w, fp, flen);
    w += flen;
    snprintf(w, 24, "e%lld", exp10);
    /* cppcheck loses track of the writes through w (memcpy, snprintf) and calls buf uninitialised */
    // cppcheck-suppress uninitvar
    double d = strtod(buf, NULL);
    if (buf != stack)
        free(buf);
    return d;
}

typedef struct hb_frame {
    size_t at;    /* offset in out->data of the 5-byte header slot */
    size_t count; /* elements (pairs for a map) seen so far */
    int is_map;
} hb_frame_t;

/* Why a parse failed: the reason, the byte it points at, and whether the message shows that byte. */
typedef struct hb_jp_error {
    const char *why;
    const unsigned char *at;
    int show_char, too_deep;
} hb_jp_error_t;

/*
 * One JSON parse. It lives on hb_json_to_msgpack()'s stack and its address reaches only the static inline scanners
 * below, never a call that stays a call, so the compiler keeps the fields in registers as it would plain locals.
 */
typedef struct hb_jp {
    const unsigned char *end;
    msgpack_sbuffer *out;
    char *o, *oend;             /* write position in out->data, and the end of its allocation */
    hb_frame_t *frames, *stack; /* the open containers: stack (the caller's array) until it overflows */
    size_t frames_cap;
    int depth, max_depth;
    hb_jp_error_t *err; /* apart from the struct: hb_jp_fail() takes it out of line without taking the struct along */
} hb_jp_t;

/* Makes room for need bytes at jp->o. Allocation failure aborts. */
static inline void hb_jp_need(hb_jp_t *jp, size_t need)
{
    if (HB_UNLIKELY((size_t)(jp->oend - jp->o) < need)) {
        jp->o = hb_out_grow(jp->out, (size_t)(jp->o - jp->out->data), need);
        jp->oend = jp->out->data + jp->out->alloc;
    }
}

/* Records in e why the parse fails at p; returns NULL, so that a scanner can return it. Cold: no parse returns here. */
static __attribute__((cold, noinline)) const unsigned char *hb_jp_fail(hb_jp_error_t *e, const unsigned char *p,
                                                                       const char *why, int show_char)
{
    e->why = why;
    e->at = p;
    e->show_char = show_char;
    return NULL;
}

/* The first byte at or after p that is not RFC 8259 whitespace, or end. */
static inline const unsigned char *hb_jp_ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && *p <= 0x20 && (*p == 0x20 || *p == 0x0a || *p == 0x0d || *p == 0x09))
        p++;
    return p;
}

/* The first byte after whitespace at p, or NULL at the end of the input. */
static inline const unsigned char *hb_jp_next(hb_jp_t *jp, const unsigned char *p)
{
    p = hb_jp_ws(p, jp->end);
    if (p == jp->end)
        return hb_jp_fail(jp->err, p, "unexpected end of input", 0);
    return p;
}

/* The position after the byte c that follows whitespace at p; NULL at the end, or (why) at any other byte. */
static inline const unsigned char *hb_jp_expect(hb_jp_t *jp, const unsigned char *p, unsigned char c, const char *why)
{
    if ((p = hb_jp_next(jp, p)) == NULL)
        return NULL;
    if (*p != c)
        return hb_jp_fail(jp->err, p, why, 1);
    return p + 1;
}

/* At 't', 'f' or 'n': the position after word (n bytes), written as the msgpack byte tag; NULL if word is not there. */
static inline const unsigned char *hb_jp_literal(hb_jp_t *jp, const unsigned char *p, const char *word, size_t n,
                                                 unsigned char tag)
{
    if ((size_t)(jp->end - p) < n || memcmp(p, word, n) != 0)
        return hb_jp_fail(jp->err, p, "invalid literal", 0);
    hb_jp_need(jp, 1);
    *jp->o++ = (char)tag;
    return p + n;
}

/* At "\u": the position after the escape (after both of a surrogate pair), written as UTF-8; NULL if not 4 hex. */
static inline const unsigned char *hb_jp_unicode(hb_jp_t *jp, const unsigned char *p)
{
    const unsigned char *end = jp->end;
    long cp = hb_hex4(p + 2, end), lo;
    if (cp < 0)
        return hb_jp_fail(jp->err, p, "invalid \\u escape", 0);
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (end - p >= 12 && p[6] == '\\' && p[7] == 'u' && (lo = hb_hex4(p + 8, end)) >= 0xdc00 && lo <= 0xdfff) {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            p += 6;
        } else {
            cp = 0xfffd; /* a lone high surrogate; JS keeps it, UTF-8 cannot */
        }
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        cp = 0xfffd; /* a lone low surrogate */
    }
    jp->o = hb_put_utf8(jp->o, (uint32_t)cp);
    return p + 6;
}

/* At a backslash, with room for 4 bytes made: the position after the escape, its bytes written; NULL if invalid. */
static inline const unsigned char *hb_jp_escape(hb_jp_t *jp, const unsigned char *p)
{
    if (jp->end - p < 2)
        return hb_jp_fail(jp->err, jp->end, "unexpected end of input", 0);
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
        *jp->o++ = (char)p[1];
        break;
    case 'b':
        *jp->o++ = '\b';
        break;
    case 'f':
        *jp->o++ = '\f';
        break;
    case 'n':
        *jp->o++ = '\n';
        break;
    case 'r':
        *jp->o++ = '\r';
        break;
    case 't':
        *jp->o++ = '\t';
        break;
    case 'u':
        return hb_jp_unicode(jp, p);
    default:
        return hb_jp_fail(jp->err, p + 1, "invalid escape", 1);
    }
    return p + 2;
}

/*
 * A string that holds escapes or invalid UTF-8, s just after its quote and q at the first byte that is not plain:
 * the position after the closing quote, or NULL. Decodes into a str32 slot, then writes the smallest header and
 * moves the bytes left.
 */
static inline const unsigned char *hb_jp_string_slow(hb_jp_t *jp, const unsigned char *s, const unsigned char *q)
{
    const unsigned char *p = s, *end = jp->end;
    size_t run = (size_t)(q - s);
    hb_jp_need(jp, run + 5);
    size_t at = (size_t)(jp->o - jp->out->data);
    jp->o += 5;
    memcpy(jp->o, s, run);
    jp->o += run;
    p = q;
    for (;;) {
        if (p == end)
            return hb_jp_fail(jp->err, p, "unterminated string", 0);
        if (*p == '"')
            break;
        hb_jp_need(jp, 4);
        if (*p == '\\') {
            if ((p = hb_jp_escape(jp, p)) == NULL)
                return NULL;
        } else if (*p < 0x20) {
            return hb_jp_fail(jp->err, p, "control character in string", 0);
        } else {
            /* hb_scan_str() stops on a non-ASCII byte only when it starts no valid UTF-8 sequence */
            long k = hb_utf8_seq(p, end);
            p += k < 0 ? -k : k;
            memcpy(jp->o, "\xef\xbf\xbd", 3);
            jp->o += 3;
        }
        q = hb_scan_str(p, end);
        run = (size_t)(q - p);
        hb_jp_need(jp, run);
        memcpy(jp->o, p, run);
        jp->o += run;
        p = q;
    }
    p++;
    char *base = jp->out->data + at;
    size_t n = (size_t)(jp->o - base) - 5;
    if (HB_UNLIKELY(n > UINT32_MAX))
        return hb_jp_fail(jp->err, p, "string longer than 4 GiB", 0);
    size_t hl = (size_t)(hb_str_header(base, n) - base);
    if (hl < 5) {
        memmove(base + hl, base + 5, n);
        jp->o -= 5 - hl;
    }
    return p;
}

/* Just after a string's opening quote: the position after its closing quote, the str written; NULL on error. */
static inline const unsigned char *hb_jp_string(hb_jp_t *jp, const unsigned char *p)
{
    const unsigned char *q = hb_scan_str(p, jp->end);
    if (HB_UNLIKELY(q == jp->end || *q != '"'))
        return hb_jp_string_slow(jp, p, q);
    /* no escapes, no invalid UTF-8: the length is known before writing */
    size_t n = (size_t)(q - p);
    if (HB_UNLIKELY(n > UINT32_MAX))
        return hb_jp_fail(jp->err, p, "string longer than 4 GiB", 0);
    hb_jp_need(jp, n + 5);
    jp->o = hb_str_header(jp->o, n);
    memcpy(jp->o, p, n);
    jp->o += n;
    return q + 1;
}

/*
 * An integer token (ilen digits at ip, the first 19 of them in m) at o in its smallest msgpack form, or as a float64
 * where JSON.parse gives one (-0, beyond int64/uint64); returns the position after it (at most 9 bytes).
 */
static inline char *hb_put_int_token(char *o, int neg, const unsigned char *ip, size_t ilen, uint64_t m)
{
    int fits = ilen <= 19;
    if (ilen == 20) {
        /* 10^19 <= value < 10^20: fits in uint64 unless above 18446744073709551615 */
        unsigned last = (unsigned)(ip[19] - '0');
        if (m < 1844674407370955161u || (m == 1844674407370955161u && last <= 5)) {
            m = m * 10 + last;
            fits = 1;
        }
    }
    if (HB_LIKELY(fits && !neg))
        return hb_put_uint(o, m);
    if (fits && m != 0 && m <= (uint64_t)INT64_MAX + 1)
        return hb_put_neg(o, m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m);
    if (fits && m == 0)
        return hb_put_double(o, -0.0); /* JSON.parse("-0") is -0 */
    /* beyond int64/uint64: a float, as in JavaScript */
    return hb_put_double(o, hb_strtod_digits(neg, ip, ilen, NULL, 0, 0));
}

/* Just after a number's 'e' or 'E': the position after the exponent, its value in *e; NULL when it has no digit. */
static inline const unsigned char *hb_jp_exponent(hb_jp_t *jp, const unsigned char *p, long long *e)
{
    const unsigned char *end = jp->end;
    int eneg = 0;
    if (p < end && (*p == '+' || *p == '-')) {
        eneg = *p == '-';
        p++;
    }
    if (p == end || *p < '0' || *p > '9')
        return hb_jp_fail(jp->err, p, p == end ? "unexpected end of input" : "expected a digit in the exponent",
                          p < end);
    long long v = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        if (v < 1000000000) /* saturate: the result is 0 or Infinity long before */
            v = v * 10 + (*p - '0');
        p++;
    }
    *e = eneg ? -v : v;
    return p;
}

/*
 * At the '.', 'e' or 'E' after a number's int digits (ilen at ip; nd significant ones, the first 19 in m): the
 * position after the fraction and exponent, the float64 written; NULL when a digit is missing.
 */
static inline const unsigned char *hb_jp_float(hb_jp_t *jp, const unsigned char *p, int neg, const unsigned char *ip,
                                               size_t ilen, uint64_t m, size_t nd)
{
    const unsigned char *end = jp->end, *fp = p, *fend = p;
    int exact = nd <= 19;
    long long fdigits = 0, e = 0;
    if (*p == '.') {
        p++;
        fp = p;
        if (p == end || *p < '0' || *p > '9')
            return hb_jp_fail(jp->err, p, p == end ? "unexpected end of input" : "expected a digit after '.'", p < end);
        while (p < end && *p >= '0' && *p <= '9') {
            if (nd < 19) {
                m = m * 10 + (uint64_t)(*p - '0');
                fdigits++;
            } else {
                exact = 0;
            }
            nd++;
            p++;
        }
        fend = p;
    }
    if (p < end && (*p == 'e' || *p == 'E') && (p = hb_jp_exponent(jp, p + 1, &e)) == NULL)
        return NULL;
    double d;
    long long e10 = e - fdigits;
    if (exact && m <= (1ull << 53) && e10 >= -22 && e10 <= 22) {
        /* Clinger's fast path: both operands are exact doubles, so one IEEE operation rounds correctly */
        d = e10 >= 0 ? (double)m * hb_pow10[e10] : (double)m / hb_pow10[-e10];
        if (neg)
            d = -d;
    } else {
        d = hb_strtod_digits(neg, ip, ilen, fp, (size_t)(fend - fp), e - (long long)(fend - fp));
    }
    hb_jp_need(jp, 9);
    jp->o = hb_put_double(jp->o, d);
    return p;
}

/* At '-' or a digit: the position after the number, written as JSON.parse reads it (see body.h); NULL if invalid. */
static inline const unsigned char *hb_jp_number(hb_jp_t *jp, const unsigned char *p)
{
    const unsigned char *end = jp->end;
    int neg = *p == '-';
    p += neg;
    if (p == end)
        return hb_jp_fail(jp->err, p, "unexpected end of input", 0);
    const unsigned char *ip = p;
    uint64_t m = 0;
    size_t nd = 0; /* digits in m: int digits, then fraction digits while they fit */
    if (*p == '0') {
        p++;
        if (p < end && *p >= '0' && *p <= '9')
            return hb_jp_fail(jp->err, p, "leading zero in a number", 0);
    } else if (*p >= '1' && *p <= '9') {
        while (p < end && *p >= '0' && *p <= '9') {
            if (nd < 19)
                m = m * 10 + (uint64_t)(*p - '0');
            nd++;
            p++;
        }
    } else {
        return hb_jp_fail(jp->err, p, "expected a digit", 1);
    }
    size_t ilen = (size_t)(p - ip);
    if (HB_UNLIKELY(p < end && (*p == '.' || *p == 'e' || *p == 'E')))
        return hb_jp_float(jp, p, neg, ip, ilen, m, nd);
    hb_jp_need(jp, 9);
    jp->o = hb_put_int_token(jp->o, neg, ip, ilen, m);
    return p;
}

/* After '[' or '{' and its whitespace, the container not empty: opens a frame and its 5-byte header slot. */
static inline void hb_jp_push(hb_jp_t *jp, int is_map)
{
    if ((size_t)jp->depth == jp->frames_cap) {
        jp->frames_cap *= 2;
        if (jp->frames == jp->stack) {
            jp->frames = hb_xmalloc(jp->frames_cap * sizeof(*jp->frames));
            memcpy(jp->frames, jp->stack, (size_t)jp->depth * sizeof(*jp->frames));
        } else {
            jp->frames = hb_xrealloc(jp->frames, jp->frames_cap * sizeof(*jp->frames));
        }
    }
    hb_jp_need(jp, 5);
    hb_frame_t *f = &jp->frames[jp->depth++];
    f->at = (size_t)(jp->o - jp->out->data);
    f->count = 0;
    f->is_map = is_map;
    jp->o += 5;
}

/*
 * At the byte after the last element of the innermost container f: the position after its ']' or '}', the
 * smallest header written into the slot (content moved left) and the frame closed; NULL when that byte is no close.
 */
static inline const unsigned char *hb_jp_close(hb_jp_t *jp, const unsigned char *p, const hb_frame_t *f)
{
    if (*p != (f->is_map ? '}' : ']'))
        return hb_jp_fail(jp->err, p, f->is_map ? "expected ',' or '}'" : "expected ',' or ']'", 1);
    p++;
    if (f->count > UINT32_MAX)
        return hb_jp_fail(jp->err, p, "more than 4294967295 elements", 0);
    char *base = jp->out->data + f->at;
    size_t body = (size_t)(jp->o - base) - 5, n = f->count;
    if (body <= HB_COMPACT_MAX && n < 16) {
        base[0] = (char)((f->is_map ? 0x80 : 0x90) | n);
        memmove(base + 1, base + 5, body);
        jp->o -= 4;
    } else if (body <= HB_COMPACT_MAX && n < 65536) {
        base[0] = (char)(f->is_map ? 0xde : 0xdc);
        hb_be16(base + 1, (uint32_t)n);
        memmove(base + 3, base + 5, body);
        jp->o -= 2;
    } else {
        base[0] = (char)(f->is_map ? 0xdf : 0xdd);
        hb_be32(base + 1, (uint32_t)n);
    }
    jp->depth--;
    return p;
}

/* Writes e into err (errlen > 0): the reason, the byte offset, and the byte found or the depth limit where that helps.
 */
static void hb_jp_error_format(hb_jp_error_t e, const unsigned char *start, const unsigned char *end, int max_depth,
                               char *err, size_t errlen)
{
    size_t at = (size_t)(e.at - start);
    const char *why = e.why != NULL ? e.why : "invalid JSON";
    if (e.show_char && e.at < end && *e.at >= 0x20 && *e.at < 0x7f)
        snprintf(err, errlen, "%s, found '%c' at byte %zu", why, *e.at, at);
    else if (e.show_char && e.at < end)
        snprintf(err, errlen, "%s, found byte 0x%02X at byte %zu", why, *e.at, at);
    else if (e.too_deep)
        snprintf(err, errlen, "%s of %d at byte %zu", why, max_depth, at);
    else
        snprintf(err, errlen, "%s at byte %zu", why, at);
}

int hb_json_to_msgpack(const char *text, size_t len, int max_depth, msgpack_sbuffer *out, char *err, size_t errlen)
{
    const unsigned char *const start = (const unsigned char *)text, *const end = start + len;
    const unsigned char *p = start;
    const size_t size0 = out->size;
    hb_frame_t stack[HB_BODY_MAX_DEPTH], *f;
    hb_jp_error_t failure = {0};
    hb_jp_t jp = {
        .end = end, .out = out, .frames = stack, .stack = stack, .frames_cap = HB_BODY_MAX_DEPTH, .err = &failure};
    int is_map, in_key = 0;

    jp.max_depth = max_depth < 0 ? 0 : max_depth;
    /* a JSON body packs to about its own size; one reservation usually serves the whole parse */
    if (out->data == NULL || out->alloc - out->size < len + 64)
        jp.o = hb_out_grow(out, out->size, len + 64);
    else
        jp.o = out->data + out->size;
    jp.oend = out->data + out->alloc;

    /* TextDecoder drops a leading BOM before JSON.parse sees the text */
    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
        p += 3;

Value:
    if ((p = hb_jp_next(&jp, p)) == NULL)
        goto Fail;
    switch (*p) {
    case '{':
    case '[':
        if (jp.depth >= jp.max_depth) {
            failure.too_deep = 1;
            hb_jp_fail(&failure, p, "nesting deeper than the limit", 0);
            goto Fail;
        }
        is_map = *p == '{';
        p = hb_jp_ws(p + 1, end);
        if (p < end && *p == (is_map ? '}' : ']')) {
            p++;
            hb_jp_need(&jp, 1);
            *jp.o++ = (char)(is_map ? 0x80 : 0x90);
            goto After;
        }
        hb_jp_push(&jp, is_map);
        if (is_map)
            goto Key;
        goto Value;
    case '"':
        p++;
        goto String;
    case 't':
        p = hb_jp_literal(&jp, p, "true", 4, 0xc3);
        break;
    case 'f':
        p = hb_jp_literal(&jp, p, "false", 5, 0xc2);
        break;
    case 'n':
        p = hb_jp_literal(&jp, p, "null", 4, 0xc0);
        break;
    case '-':
    case '0' ... '9': /* a GNU C case range (gcc and clang) */
        p = hb_jp_number(&jp, p);
        break;
    default:
        p = hb_jp_fail(&failure, p, "unexpected character", 1);
    }
    if (p == NULL)
        goto Fail;

After:
    if (jp.depth == 0)
        goto Done;
    if ((p = hb_jp_next(&jp, p)) == NULL)
        goto Fail;
    f = &jp.frames[jp.depth - 1];
    f->count++;
    if (*p == ',') {
        p++;
        if (f->is_map)
            goto Key;
        goto Value;
    }
    if ((p = hb_jp_close(&jp, p, f)) == NULL)
        goto Fail;
    goto After;

Key:
    if ((p = hb_jp_expect(&jp, p, '"', "expected a string key")) == NULL)
        goto Fail;
    in_key = 1;

String:
    /* keys and values share one inlined copy of the scanner */
    if ((p = hb_jp_string(&jp, p)) == NULL)
        goto Fail;
    if (!in_key)
        goto After;
    in_key = 0;
    if ((p = hb_jp_expect(&jp, p, ':', "expected ':'")) == NULL)
        goto Fail;
    goto Value;

Done:
    p = hb_jp_ws(p, end);
    if (p != end) {
        hb_jp_fail(&failure, p, "unexpected data after the JSON value", 1);
        goto Fail;
    }
    out->size = (size_t)(jp.o - out->data);
    if (jp.frames != stack)
        free(jp.frames);
    return 0;

Fail:
    out->size = size0;
    if (jp.frames != stack)
        free(jp.frames);
    if (err != NULL && errlen > 0)
        hb_jp_error_format(failure, start, end, jp.max_depth, err, errlen);
    return -1;
}

/* ---- application/x-www-form-urlencoded ---- */

void hb_utf8_append_fixed(hb_buf_t *buf, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    hb_buf_reserve(buf, len);
    while (p < end) {
        const unsigned char *q = hb_scan_str(p, end);
        /* hb_scan_str also stops at '"', '\\' and controls: those are plain here */
        while (q < end && *q < 0x80)
            q = hb_scan_str(q + 1, end);
        hb_buf_append(buf, p, (size_t)(q - p));
        p = q;
        if (p < end) {
            long k = hb_utf8_seq(p, end);
            p += -k;
            hb_buf_append(buf, "\xef\xbf\xbd", 3);
        }
    }
}

typedef struct hb_form_pair {
    const char *name;
    size_t name_len;
    size_t value_at, value_len; /* offsets into the decoded buffer */
    size_t index;               /* position among the pairs */
    size_t last;                /* for the first pair of a name: the index of the last pair with that name */
    int first;
} hb_form_pair_t;

static int hb_form_pair_cmp(const void *a, const void *b)
{
    const hb_form_pair_t *x = *(const hb_form_pair_t *const *)a, *y = *(const hb_form_pair_t *const *)b;
    size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
    int c = n > 0 ? memcmp(x->name, y->name, n) : 0;
    if (c != 0)
        return c;
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

void hb_form_to_msgpack(const char *text, size_t len, msgpack_sbuffer *out)
{
    hb_buf_t dec, tmp, whole;
    hb_buf_init(&dec);
    hb_buf_init(&tmp);
    hb_buf_init(&whole);
    hb_form_pair_t *pairs = NULL;
    size_t n = 0, cap = 0;
    size_t *name_at = NULL;

    /* the text URLSearchParams gets is the body already decoded (request.text()): BOM dropped, bad bytes U+FFFD */
    if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
        text += 3;
        len -= 3;
    }
    if (!hb_utf8_valid(text, len)) {
        hb_utf8_append_fixed(&whole, text, len);
        text = whole.base;
        len = whole.len;
    }

    for (size_t start = 0; start < len;) {
        const char *s = text + start, *amp = memchr(s, '&', len - start);
        size_t plen = amp != NULL ? (size_t)(amp - s) : len - start;
        start += plen + 1;
        if (plen == 0)
            continue;
        const char *eq = memchr(s, '=', plen);
        size_t nlen = eq != NULL ? (size_t)(eq - s) : plen;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            pairs = hb_xrealloc(pairs, cap * sizeof(*pairs));
            name_at = hb_xrealloc(name_at, cap * sizeof(*name_at));
        }
        hb_form_pair_t *pr = &pairs[n];
        hb_form_unescape(&tmp, s, nlen);
        name_at[n] = dec.len;
        hb_utf8_append_fixed(&dec, tmp.base, tmp.len);
        pr->name_len = dec.len - name_at[n];
        if (eq != NULL)
            hb_form_unescape(&tmp, eq + 1, plen - nlen - 1);
        else
            tmp.len = 0;
        pr->value_at = dec.len;
        hb_utf8_append_fixed(&dec, tmp.base, tmp.len);
        pr->value_len = dec.len - pr->value_at;
        pr->index = n;
        pr->first = 0;
        n++;
    }

    /* group equal names by sorting (O(n log n) whatever the names), then keep the first position, last value */
    hb_form_pair_t **sorted = hb_xmalloc((n ? n : 1) * sizeof(*sorted));
    for (size_t i = 0; i < n; i++) {
        pairs[i].name = dec.base + name_at[i];
        sorted[i] = &pairs[i];
    }
    qsort(sorted, n, sizeof(*sorted), hb_form_pair_cmp);
    size_t unique = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && sorted[j]->name_len == sorted[i]->name_len &&
               (sorted[i]->name_len == 0 || memcmp(sorted[j]->name, sorted[i]->name, sorted[i]->name_len) == 0))
            j++;
        sorted[i]->first = 1;
        sorted[i]->last = sorted[j - 1]->index;
        unique++;
        i = j;
    }

    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, unique);
    for (size_t i = 0; i < n; i++) {
        if (!pairs[i].first)
            continue;
        const hb_form_pair_t *v = &pairs[pairs[i].last];
        msgpack_pack_str(&pk, pairs[i].name_len);
        msgpack_pack_str_body(&pk, pairs[i].name, pairs[i].name_len);
        msgpack_pack_str(&pk, v->value_len);
        msgpack_pack_str_body(&pk, dec.base + v->value_at, v->value_len);
    }
    free(sorted);
    free(pairs);
    free(name_at);
    hb_buf_dispose(&dec);
    hb_buf_dispose(&tmp);
    hb_buf_dispose(&whole);
}
