#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void hb_oom(size_t size)
{
    fprintf(stderr, "{\"level\":\"fatal\",\"msg\":\"out of memory\",\"size\":%zu}\n", size);
    abort();
}

void *hb_xmalloc(size_t size)
{
    void *p = malloc(size != 0 ? size : 1);
    if (p == NULL)
        hb_oom(size);
    return p;
}

void *hb_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n != 0 ? n : 1, size != 0 ? size : 1);
    if (p == NULL)
        hb_oom(n * size);
    return p;
}

void *hb_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size != 0 ? size : 1);
    if (q == NULL)
        hb_oom(size);
    return q;
}

char *hb_xstrdup(const char *s)
{
    return s == NULL ? NULL : hb_xstrndup(s, strlen(s));
}

char *hb_xstrndup(const char *s, size_t len)
{
    char *p = hb_xmalloc(len + 1);
    if (len != 0) /* s may be NULL then: msgpack-c's empty strings are */
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

void hb_buf_init(hb_buf_t *buf)
{
    buf->base = NULL;
    buf->len = 0;
    buf->cap = 0;
}

void hb_buf_dispose(hb_buf_t *buf)
{
    free(buf->base);
    hb_buf_init(buf);
}

void hb_buf_reserve(hb_buf_t *buf, size_t extra)
{
    if (buf->len + extra + 1 <= buf->cap)
        return;
    size_t cap = buf->cap < 64 ? 64 : buf->cap;
    while (cap < buf->len + extra + 1)
        cap *= 2;
    buf->base = hb_xrealloc(buf->base, cap);
    buf->cap = cap;
}

void hb_buf_append(hb_buf_t *buf, const void *data, size_t len)
{
    hb_buf_reserve(buf, len);
    if (len != 0)
        memcpy(buf->base + buf->len, data, len);
    buf->len += len;
    buf->base[buf->len] = '\0';
}

void hb_buf_puts(hb_buf_t *buf, const char *s)
{
    hb_buf_append(buf, s, strlen(s));
}

void hb_buf_putc(hb_buf_t *buf, char c)
{
    hb_buf_append(buf, &c, 1);
}

void hb_buf_printf(hb_buf_t *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    hb_buf_reserve(buf, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(buf->base + buf->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    buf->len += (size_t)n;
}

char *hb_buf_release(hb_buf_t *buf)
{
    char *p = buf->base;
    if (p == NULL)
        p = hb_xstrdup("");
    hb_buf_init(buf);
    return p;
}

void hb_hex_encode(char *out, const uint8_t *in, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

static int hb_hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

long hb_hex_decode(uint8_t *out, const char *in, size_t len)
{
    if (len % 2 != 0)
        return -1;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hb_hex_value(in[i]), lo = hb_hex_value(in[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (uint8_t)(hi << 4 | lo);
    }
    return (long)(len / 2);
}

size_t hb_base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

size_t hb_base64_encode(char *out, const uint8_t *in, size_t len, int url)
{
    const char *alphabet = url ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                               : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        out[o++] = alphabet[(v >> 6) & 63];
        out[o++] = alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = alphabet[v >> 18];
        out[o++] = alphabet[(v >> 12) & 63];
        if (i + 1 < len)
            out[o++] = alphabet[(v >> 6) & 63];
        else
            out[o++] = '=';
        out[o++] = '=';
    }
    out[o] = '\0';
    return o;
}

static int hb_base64_value(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

long hb_base64_decode(uint8_t *out, const char *in, size_t len)
{
    while (len > 0 && in[len - 1] == '=')
        len--;
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = hb_base64_value(in[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return (long)o;
}

int hb_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < len) {
        unsigned c = s[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (len - i <= n)
            return 0;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += n + 1;
    }
    return 1;
}

int hb_strcase_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    if (alen != blen)
        return 0;
    for (size_t i = 0; i < alen; i++) {
        char x = a[i], y = b[i];
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (y >= 'A' && y <= 'Z')
            y = (char)(y - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return 1;
}

void hb_form_unescape(hb_buf_t *buf, const char *s, size_t len)
{
    buf->len = 0;
    hb_buf_reserve(buf, len);
    for (size_t i = 0; i < len; i++) {
        int hi, lo;
        if (s[i] == '+') {
            buf->base[buf->len++] = ' ';
        } else if (s[i] == '%' && i + 2 < len && (hi = hb_hex_value(s[i + 1])) >= 0 &&
                   (lo = hb_hex_value(s[i + 2])) >= 0) {
            buf->base[buf->len++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            buf->base[buf->len++] = s[i];
        }
    }
    buf->base[buf->len] = '\0';
}

/* A decimal number of at most 18 digits at *p (advanced past it); -1 when there is none. */
static int64_t hb_quota_number(const char **p, const char *end)
{
    int64_t n = 0;
    int digits = 0;
    while (*p < end && **p >= '0' && **p <= '9' && digits < 19) {
        n = n * 10 + (**p - '0');
        (*p)++;
        digits++;
    }
    return digits == 0 || digits > 18 ? -1 : n;
}

int hb_cpu_quota_count(const char *text, size_t len)
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == ' ' || text[len - 1] == '\t' || text[len - 1] == '\r'))
        len--;
    const char *p = text, *end = text + len;
    int unlimited = 0;
    int64_t quota = 0;
    if (len >= 3 && memcmp(text, "max", 3) == 0) {
        unlimited = 1;
        p += 3;
    } else if (len >= 2 && memcmp(text, "-1", 2) == 0) {
        unlimited = 1;
        p += 2;
    } else if ((quota = hb_quota_number(&p, end)) <= 0) {
        return -1;
    }
    if (p == end || *p != ' ')
        return -1;
    p++;
    int64_t period = hb_quota_number(&p, end);
    if (period <= 0 || p != end)
        return -1;
    if (unlimited)
        return 0;
    int64_t n = quota / period + (quota % period != 0);
    return n > 4096 ? 4096 : (int)n;
}

char *hb_cgroup_path(const char *text, size_t len, const char *controller)
{
    const char *p = text, *end = text + len;
    size_t clen = controller != NULL ? strlen(controller) : 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        /* ID:CONTROLLERS:PATH; cgroup v2 is ID 0 with no controllers */
        const char *c1 = memchr(p, ':', (size_t)(eol - p));
        const char *c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(eol - c1 - 1)) : NULL;
        if (c2 != NULL && c2 + 1 < eol && c2[1] == '/') {
            int match = 0;
            if (controller == NULL) {
                match = c1 - p == 1 && *p == '0' && c2 == c1 + 1;
            } else {
                for (const char *q = c1 + 1; q < c2 && !match;) {
                    const char *comma = memchr(q, ',', (size_t)(c2 - q));
                    const char *next = comma != NULL ? comma : c2;
                    match = (size_t)(next - q) == clen && memcmp(q, controller, clen) == 0;
                    q = next + 1;
                }
            }
            if (match)
                return hb_xstrndup(c2 + 1, (size_t)(eol - c2 - 1));
        }
        p = eol + 1;
    }
    return NULL;
}

/* The n digits at s as a number, or -1 when one is not a digit. */
static int hb_rfc3339_digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int hb_rfc3339_parse(const char *s, size_t len, int64_t *out_ms)
{
    if (len < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') || s[13] != ':' ||
        s[16] != ':')
        return -1;
    struct tm tm = {.tm_year = hb_rfc3339_digits(s, 4) - 1900,
                    .tm_mon = hb_rfc3339_digits(s + 5, 2) - 1,
                    .tm_mday = hb_rfc3339_digits(s + 8, 2),
                    .tm_hour = hb_rfc3339_digits(s + 11, 2),
                    .tm_min = hb_rfc3339_digits(s + 14, 2),
                    .tm_sec = hb_rfc3339_digits(s + 17, 2)};
    if (tm.tm_year < -1900 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour < 0 ||
        tm.tm_hour > 23 || tm.tm_min < 0 || tm.tm_min > 59 || tm.tm_sec < 0 || tm.tm_sec > 60)
        return -1;
    size_t i = 19;
    int64_t ms = 0;
    if (s[i] == '.') {
        int scale = 100;
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++, scale /= 10)
            ms += (int64_t)(s[i] - '0') * scale;
        if (i == 20)
            return -1;
    }
    int64_t offset_s = 0;
    if (i + 1 == len && (s[i] == 'Z' || s[i] == 'z')) {
        offset_s = 0;
    } else if (i + 6 == len && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
        int h = hb_rfc3339_digits(s + i + 1, 2), m = hb_rfc3339_digits(s + i + 4, 2);
        if (h < 0 || h > 23 || m < 0 || m > 59)
            return -1;
        offset_s = (s[i] == '+' ? 1 : -1) * ((int64_t)h * 3600 + (int64_t)m * 60);
    } else {
        return -1;
    }
    *out_ms = ((int64_t)timegm(&tm) - offset_s) * 1000 + ms;
    return 0;
}

void hb_rfc3339_format(int64_t ms, char *out)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(out, 21, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 25 - n, ".%03dZ", (int)(ms % 1000));
}
