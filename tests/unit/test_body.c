/* tests/unit/test_body.c: JSON and form bodies → msgpack (bridge/core/body.c), checked as JSON.parse would see them. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <msgpack.h>

#include "body.h"
#include "tap.h"
#include "util.h"

/* A byte string with an explicit length, so rows can hold NUL bytes. */
#define B(s) s, sizeof(s) - 1
#define FFFD "\xef\xbf\xbd"

/* ---- inputs end right before an unreadable page, so any read past text+len faults ---- */

#define GUARD_SPACE (4u << 20)
static char *guard_base;
static size_t guard_rw;

static void guard_init(void)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    guard_rw = (GUARD_SPACE + page - 1) / page * page;
    guard_base = mmap(NULL, guard_rw + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (guard_base == MAP_FAILED || mprotect(guard_base + guard_rw, page, PROT_NONE) != 0) {
        perror("mmap/mprotect");
        exit(2);
    }
}

/* Copies the len bytes so that they end exactly where the unreadable page starts. */
static const char *at_page_end(const void *data, size_t len)
{
    if (len > guard_rw) {
        fprintf(stderr, "input of %zu bytes does not fit the guard space\n", len);
        exit(2);
    }
    char *p = guard_base + guard_rw - len;
    memmove(p, data, len);
    return p;
}

/* ---- msgpack → a JSON-like notation: numbers as JavaScript prints them, floats marked with ".0" when they would
   read as integers, strings with JSON escapes for controls and raw UTF-8 otherwise ---- */

static void print_double(hb_buf_t *b, double d)
{
    if (isnan(d)) {
        hb_buf_puts(b, "NaN");
        return;
    }
    if (isinf(d)) {
        hb_buf_puts(b, d > 0 ? "Infinity" : "-Infinity");
        return;
    }
    if (d == 0) {
        hb_buf_puts(b, signbit(d) ? "-0.0" : "0.0");
        return;
    }
    /* the shortest digits that read back as d, then ECMAScript's Number::toString layout */
    char tmp[40], digits[24];
    for (int prec = 0; prec <= 16; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*e", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    const char *s = tmp;
    if (*s == '-') {
        hb_buf_putc(b, '-');
        s++;
    }
    int k = 0;
    for (; *s != 'e'; s++)
        if (*s != '.')
            digits[k++] = *s;
    while (k > 1 && digits[k - 1] == '0')
        k--;
    int n = (int)strtol(s + 1, NULL, 10) + 1; /* d = 0.DIGITS × 10^n */
    if (k <= n && n <= 21) {
        hb_buf_append(b, digits, (size_t)k);
        for (int i = k; i < n; i++)
            hb_buf_putc(b, '0');
        hb_buf_puts(b, ".0");
    } else if (0 < n && n <= 21) {
        hb_buf_append(b, digits, (size_t)n);
        hb_buf_putc(b, '.');
        hb_buf_append(b, digits + n, (size_t)(k - n));
    } else if (-6 < n && n <= 0) {
        hb_buf_puts(b, "0.");
        for (int i = n; i < 0; i++)
            hb_buf_putc(b, '0');
        hb_buf_append(b, digits, (size_t)k);
    } else {
        hb_buf_putc(b, digits[0]);
        if (k > 1) {
            hb_buf_putc(b, '.');
            hb_buf_append(b, digits + 1, (size_t)(k - 1));
        }
        hb_buf_printf(b, "e%c%d", n - 1 >= 0 ? '+' : '-', abs(n - 1));
    }
}

static void print_str(hb_buf_t *b, const char *s, size_t len)
{
    hb_buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"':
            hb_buf_puts(b, "\\\"");
            break;
        case '\\':
            hb_buf_puts(b, "\\\\");
            break;
        case '\b':
            hb_buf_puts(b, "\\b");
            break;
        case '\f':
            hb_buf_puts(b, "\\f");
            break;
        case '\n':
            hb_buf_puts(b, "\\n");
            break;
        case '\r':
            hb_buf_puts(b, "\\r");
            break;
        case '\t':
            hb_buf_puts(b, "\\t");
            break;
        default:
            if (c < 0x20)
                hb_buf_printf(b, "\\u%04x", c);
            else
                hb_buf_putc(b, (char)c);
        }
    }
    hb_buf_putc(b, '"');
}

/* A msgpack_object (from msgpack-c's unpacker) in notation. */
static void print_obj(hb_buf_t *b, const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        hb_buf_puts(b, "null");
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        hb_buf_puts(b, o->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        hb_buf_printf(b, "%llu", (unsigned long long)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        hb_buf_printf(b, "%lld", (long long)o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        print_double(b, o->via.f64);
        break;
    case MSGPACK_OBJECT_STR:
        print_str(b, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        hb_buf_putc(b, '[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                hb_buf_putc(b, ',');
            print_obj(b, &o->via.array.ptr[i]);
        }
        hb_buf_putc(b, ']');
        break;
    case MSGPACK_OBJECT_MAP:
        hb_buf_putc(b, '{');
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                hb_buf_putc(b, ',');
            print_obj(b, &o->via.map.ptr[i].key);
            hb_buf_putc(b, ':');
            print_obj(b, &o->via.map.ptr[i].val);
        }
        hb_buf_putc(b, '}');
        break;
    default:
        hb_buf_puts(b, "<bin/ext>");
    }
}

static uint64_t be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

/*
 * Our own reader for the msgpack forms the parser writes (msgpack-c's unpacker stops at 32 levels). Prints one
 * value at *pp in notation, advancing *pp; tracks the deepest nesting. -1 on a form the parser never writes, a
 * truncation, or a str that is not valid UTF-8.
 */
static int walk(hb_buf_t *b, const unsigned char **pp, const unsigned char *end, int depth, int *deepest)
{
    const unsigned char *p = *pp;
    if (p >= end)
        return -1;
    unsigned c = *p++;
    uint64_t n = 0;
    int hl = 0, kind; /* 's' str, 'a' array, 'm' map */
    if (depth > *deepest)
        *deepest = depth;
    if (c <= 0x7f) {
        hb_buf_printf(b, "%u", c);
        *pp = p;
        return 0;
    }
    if (c >= 0xe0) {
        hb_buf_printf(b, "%d", (int)(int8_t)c);
        *pp = p;
        return 0;
    }
    if (c >= 0x80 && c <= 0x8f) {
        kind = 'm';
        n = c & 0x0f;
    } else if (c >= 0x90 && c <= 0x9f) {
        kind = 'a';
        n = c & 0x0f;
    } else if (c >= 0xa0 && c <= 0xbf) {
        kind = 's';
        n = c & 0x1f;
    } else {
        static const struct {
            unsigned char tag, kind, width;
        } forms[] = {{0xc0, 'n', 0}, {0xc2, 'f', 0}, {0xc3, 't', 0}, {0xca, '4', 4}, {0xcb, '8', 8},
                     {0xcc, 'u', 1}, {0xcd, 'u', 2}, {0xce, 'u', 4}, {0xcf, 'u', 8}, {0xd0, 'i', 1},
                     {0xd1, 'i', 2}, {0xd2, 'i', 4}, {0xd3, 'i', 8}, {0xd9, 's', 1}, {0xda, 's', 2},
                     {0xdb, 's', 4}, {0xdc, 'a', 2}, {0xdd, 'a', 4}, {0xde, 'm', 2}, {0xdf, 'm', 4}};
        size_t f;
        for (f = 0; f < HB_ARRAY_SIZE(forms) && forms[f].tag != c; f++)
            ;
        if (f == HB_ARRAY_SIZE(forms) || end - p < forms[f].width)
            return -1;
        hl = forms[f].width;
        n = be(p, hl);
        p += hl;
        kind = forms[f].kind;
        switch (kind) {
        case 'n':
            hb_buf_puts(b, "null");
            break;
        case 'f':
            hb_buf_puts(b, "false");
            break;
        case 't':
            hb_buf_puts(b, "true");
            break;
        case '4': {
            uint32_t u = (uint32_t)n;
            float x;
            memcpy(&x, &u, 4);
            print_double(b, x);
            break;
        }
        case '8': {
            double x;
            memcpy(&x, &n, 8);
            print_double(b, x);
            break;
        }
        case 'u':
            hb_buf_printf(b, "%llu", (unsigned long long)n);
            break;
        case 'i':
            hb_buf_printf(b, "%lld",
                          hl == 1   ? (long long)(int8_t)n
                          : hl == 2 ? (long long)(int16_t)n
                          : hl == 4 ? (long long)(int32_t)n
                                    : (long long)(int64_t)n);
            break;
        }
        if (kind != 's' && kind != 'a' && kind != 'm') {
            *pp = p;
            return 0;
        }
    }
    if (kind == 's') {
        if ((uint64_t)(end - p) < n || !hb_utf8_valid((const char *)p, n))
            return -1;
        print_str(b, (const char *)p, n);
        *pp = p + n;
        return 0;
    }
    hb_buf_putc(b, kind == 'm' ? '{' : '[');
    for (uint64_t i = 0; i < n; i++) {
        if (i)
            hb_buf_putc(b, ',');
        if (kind == 'm') {
            if (p >= end || !((*p >= 0xa0 && *p <= 0xbf) || *p == 0xd9 || *p == 0xda || *p == 0xdb))
                return -1; /* keys are always str */
            if (walk(b, &p, end, depth + 1, deepest) != 0)
                return -1;
            hb_buf_putc(b, ':');
        }
        if (walk(b, &p, end, depth + 1, deepest) != 0)
            return -1;
    }
    hb_buf_putc(b, kind == 'm' ? '}' : ']');
    *pp = p;
    return 0;
}

static int cross_checked; /* values whose notation msgpack-c's unpacker confirmed */

/*
 * Prints the msgpack in data as notation into b; -1 unless it is exactly one value in the forms we write, with
 * valid UTF-8 strings. Where msgpack-c can unpack it (up to 32 levels), its reading must print the same.
 */
static int msgpack_to_notation(const char *data, size_t len, hb_buf_t *b)
{
    const unsigned char *p = (const unsigned char *)data, *end = p + len;
    int deepest = 0;
    b->len = 0;
    int ret = walk(b, &p, end, 0, &deepest) == 0 && p == end ? 0 : -1;
    hb_buf_putc(b, '\0');
    b->len--;
    if (ret == 0 && deepest <= 32) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        hb_buf_t theirs;
        hb_buf_init(&theirs);
        if (msgpack_unpack_next(&up, data, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len) {
            print_obj(&theirs, &up.data);
            if (theirs.len == b->len && memcmp(theirs.base, b->base, b->len) == 0)
                cross_checked++;
            else
                ret = -1;
        } else {
            ret = -1;
        }
        hb_buf_dispose(&theirs);
        msgpack_unpacked_destroy(&up);
    }
    return ret;
}

/*
 * Parses len bytes (placed before the guard page) appended to a buffer that already holds 3 bytes. On success
 * returns 0 with the value in notation in got; on error -1 with the message in err. Either way checks that the 3
 * bytes are untouched and, on error, that the size is back to 3; such failures count as test failures.
 */
static int parse_json(const char *in, size_t len, int max_depth, hb_buf_t *got, char *err, size_t errlen,
                      msgpack_sbuffer *keep)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_sbuffer_write(&sb, "\xc0\xc1\xc2", 3);
    err[0] = '\0';
    int ret = hb_json_to_msgpack(at_page_end(in, len), len, max_depth, &sb, err, errlen);
    got->len = 0;
    if (memcmp(sb.data, "\xc0\xc1\xc2", 3) != 0)
        ok(0, "the bytes already in the buffer are kept");
    if (ret == 0) {
        if (msgpack_to_notation(sb.data + 3, sb.size - 3, got) != 0)
            ok(0, "output is one msgpack value in our forms, UTF-8 strings, as msgpack-c reads it (input %.40s)", in);
        if (keep != NULL) {
            keep->size = 0;
            msgpack_sbuffer_write(keep, sb.data + 3, sb.size - 3);
        }
    } else {
        if (sb.size != 3)
            ok(0, "size restored on error (input %.40s): %zu", in, sb.size);
        if (err[0] == '\0')
            ok(0, "an error has a message (input %.40s)", in);
    }
    msgpack_sbuffer_destroy(&sb);
    return ret;
}

/* ---- JSON rows: want is the value in notation, or NULL for an error whose message contains err (if not NULL) ---- */

typedef struct json_row {
    const char *in;
    size_t len;
    const char *want;
    const char *err;
} json_row_t;

static const json_row_t literal_rows[] = {
    {B("null"), "null", NULL},
    {B("true"), "true", NULL},
    {B("false"), "false", NULL},
    {B(" \t\r\n null \t\r\n"), "null", NULL},
    {B("\n[\r\n\ttrue\n,\r false ]\n"), "[true,false]", NULL},
    {B(""), NULL, "unexpected end of input at byte 0"},
    {B(" \t\r\n"), NULL, "unexpected end of input at byte 4"},
    {B("nul"), NULL, "invalid literal at byte 0"},
    {B("tru"), NULL, "at byte 0"},
    {B("fals"), NULL, "at byte 0"},
    {B("nulll"), NULL, "after the JSON value, found 'l' at byte 4"},
    {B("True"), NULL, "unexpected character, found 'T' at byte 0"},
    {B("NULL"), NULL, NULL},
    {B("nil"), NULL, NULL},
    {B("undefined"), NULL, NULL},
    {B("\f1"), NULL, "at byte 0"}, /* form feed is not JSON whitespace */
    {B("\v1"), NULL, "at byte 0"}, /* nor vertical tab */
    {B("\xc2\xa0"
       "1"),
     NULL, "byte 0xC2 at byte 0"}, /* nor NO-BREAK SPACE */
    {B("1\f"), NULL, "at byte 1"},
    {B("1 2"), NULL, "found '2' at byte 2"},
    {B("[] []"), NULL, "at byte 3"},
    {B("{}x"), NULL, "at byte 2"},
    {B("\x00"), NULL, "byte 0x00 at byte 0"},
    {B("1\x00"), NULL, "byte 0x00 at byte 1"},
    {B("\xef\xbb\xbf{}"), "{}", NULL}, /* TextDecoder drops a leading BOM */
    {B("\xef\xbb\xbf 1"), "1", NULL},
    {B("\xef\xbb\xbf"), NULL, "unexpected end of input at byte 3"},
    {B("\xef\xbb"
       "1"),
     NULL, "at byte 0"},
    {B(" \xef\xbb\xbf"
       "1"),
     NULL, "at byte 1"}, /* only a leading BOM */
    {B("\xef\xbb\xbf\xef\xbb\xbf"
       "1"),
     NULL, "at byte 3"},
};

static const json_row_t number_rows[] = {
    {B("0"), "0", NULL},
    {B("-0"), "-0.0", NULL}, /* JSON.parse("-0") is -0 */
    {B("1"), "1", NULL},
    {B("-1"), "-1", NULL},
    {B("42"), "42", NULL},
    {B("9223372036854775807"), "9223372036854775807", NULL},
    {B("9223372036854775808"), "9223372036854775808", NULL},
    {B("18446744073709551615"), "18446744073709551615", NULL},
    {B("18446744073709551616"), "18446744073709552000.0", NULL},
    {B("99999999999999999999"), "100000000000000000000.0", NULL},
    {B("100000000000000000000"), "100000000000000000000.0", NULL},
    {B("-9223372036854775808"), "-9223372036854775808", NULL},
    {B("-9223372036854775809"), "-9223372036854776000.0", NULL},
    {B("-18446744073709551616"), "-18446744073709552000.0", NULL},
    {B("9007199254740993"), "9007199254740993", NULL}, /* exact as an int (JS would round to ...992) */
    {B("123456789012345678901234567890"), "1.2345678901234568e+29", NULL},
    {B("1.5"), "1.5", NULL},
    {B("-1.5"), "-1.5", NULL},
    {B("1e2"), "100.0", NULL},
    {B("1E2"), "100.0", NULL},
    {B("1e+2"), "100.0", NULL},
    {B("1E-2"), "0.01", NULL},
    {B("1.0"), "1.0", NULL},
    {B("0.0"), "0.0", NULL},
    {B("-0.0"), "-0.0", NULL},
    {B("0e0"), "0.0", NULL},
    {B("-0e5"), "-0.0", NULL},
    {B("0.1"), "0.1", NULL},
    {B("0.30000000000000004"), "0.30000000000000004", NULL},
    {B("3.141592653589793"), "3.141592653589793", NULL},
    {B("1e400"), "Infinity", NULL},
    {B("-1e400"), "-Infinity", NULL},
    {B("1e-400"), "0.0", NULL},
    {B("-1e-400"), "-0.0", NULL},
    {B("1.7976931348623157e308"), "1.7976931348623157e+308", NULL},
    {B("1.7976931348623159e308"), "Infinity", NULL},
    {B("4.9e-324"), "5e-324", NULL},
    {B("2.2250738585072011e-308"), "2.225073858507201e-308", NULL},
    {B("2.2250738585072012e-308"), "2.2250738585072014e-308", NULL},
    {B("9007199254740993.0"), "9007199254740992.0", NULL}, /* halfway: ties to even */
    {B("9007199254740995e0"), "9007199254740996.0", NULL},
    {B("1.00000000000000000001"), "1.0", NULL},
    {B("0.000000000000000000000000000001"), "1e-30", NULL},
    {B("123456789012345678901234567890e-29"), "1.2345678901234567", NULL},
    {B("1e0000000000000000000001"), "10.0", NULL},
    {B("1e99999999999999999999"), "Infinity", NULL},
    {B("1e-99999999999999999999"), "0.0", NULL},
    {B("0e99999999999999999999"), "0.0", NULL},
    {B("1e21"), "1e+21", NULL},
    {B("1e20"), "100000000000000000000.0", NULL},
    {B("1e-7"), "1e-7", NULL},
    {B("1.5e-6"), "0.0000015", NULL},
    {B("1e22"), "1e+22", NULL},
    {B("1e23"), "1e+23", NULL},
    {B("8.98846567431158e307"), "8.98846567431158e+307", NULL},
    {B("[-1,0,1.5e3,-2E-3]"), "[-1,0,1500.0,-0.002]", NULL},
    {B("01"), NULL, "leading zero in a number at byte 1"},
    {B("-01"), NULL, "leading zero"},
    {B("00"), NULL, "leading zero"},
    {B("0.0.0"), NULL, "at byte 3"},
    {B("+1"), NULL, "unexpected character, found '+' at byte 0"},
    {B(".5"), NULL, "found '.' at byte 0"},
    {B("1."), NULL, "unexpected end of input at byte 2"},
    {B("1.e1"), NULL, "expected a digit after '.', found 'e' at byte 2"},
    {B("1e"), NULL, "unexpected end of input at byte 2"},
    {B("1e+"), NULL, "unexpected end of input at byte 3"},
    {B("1e-x"), NULL, "expected a digit in the exponent, found 'x' at byte 3"},
    {B("1E+-1"), NULL, NULL},
    {B("-"), NULL, "unexpected end of input at byte 1"},
    {B("--1"), NULL, "expected a digit, found '-' at byte 1"},
    {B("- 1"), NULL, "at byte 1"},
    {B("-a"), NULL, NULL},
    {B("0x10"), NULL, "found 'x' at byte 1"},
    {B("1_000"), NULL, NULL},
    {B("1,000"), NULL, NULL},
    {B("NaN"), NULL, NULL},
    {B("Infinity"), NULL, NULL},
    {B("-Infinity"), NULL, NULL},
    {B("1e5e5"), NULL, NULL},
    {B("[01]"), NULL, "leading zero"},
    {B("[1.]"), NULL, "found ']' at byte 3"},
    {B("{\"a\":-}"), NULL, "found '}' at byte 6"},
};

static const json_row_t string_rows[] = {
    {B("\"\""), "\"\"", NULL},
    {B("\"abc\""), "\"abc\"", NULL},
    {B("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\""), "\"\\\" \\\\ / \\b \\f \\n \\r \\t\"", NULL},
    {B("\"\\u0041\\u0062\""), "\"Ab\"", NULL},
    {B("\"\\u00e9\\u00E9\""), "\"\xc3\xa9\xc3\xa9\"", NULL},
    {B("\"\\u20AC\""), "\"\xe2\x82\xac\"", NULL},
    {B("\"\\uFFFF\""), "\"\xef\xbf\xbf\"", NULL},
    {B("\"\\u0000\""), "\"\\u0000\"", NULL},
    {B("\"a\\u0000b\""), "\"a\\u0000b\"", NULL},
    {B("\"\\u001f\\u007f\""), "\"\\u001f\x7f\"", NULL},
    {B("\"\\uD83D\\uDE00\""), "\"\xf0\x9f\x98\x80\"", NULL}, /* a surrogate pair is one code point */
    {B("\"\\ud83d\\ude00\""), "\"\xf0\x9f\x98\x80\"", NULL},
    {B("\"\\uD800\\uDC00\""), "\"\xf0\x90\x80\x80\"", NULL},
    {B("\"\\uDBFF\\uDFFF\""), "\"\xf4\x8f\xbf\xbf\"", NULL},
    {B("\"\\uD800\""), "\"" FFFD "\"", NULL}, /* a lone surrogate becomes U+FFFD */
    {B("\"\\uDC00\""), "\"" FFFD "\"", NULL},
    {B("\"\\uDE00\\uD83D\""), "\"" FFFD FFFD "\"", NULL}, /* pair in the wrong order */
    {B("\"\\uD800\\uD800\\uDC00\""), "\"" FFFD "\xf0\x90\x80\x80\"", NULL},
    {B("\"\\uD800x\""), "\"" FFFD "x\"", NULL},
    {B("\"\\uD800\\n\""), "\"" FFFD "\\n\"", NULL},
    {B("\"\\uD800\\u0041\""), "\"" FFFD "A\"", NULL},
    {B("\"x\\uD83D\""), "\"x" FFFD "\"", NULL},
    {B("\"\x7f\""), "\"\x7f\"", NULL}, /* DEL is not a control character for JSON */
    {B("\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""), "\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"",
     NULL},
    {B("\"\xef\xbb\xbf\""), "\"\xef\xbb\xbf\"", NULL}, /* a BOM inside a string stays */
    /* invalid UTF-8: one U+FFFD per maximal subpart, as TextDecoder */
    {B("\"\xff\""), "\"" FFFD "\"", NULL},
    {B("\"\x80\""), "\"" FFFD "\"", NULL},
    {B("\"\xc3\""), "\"" FFFD "\"", NULL},
    {B("\"\xc3(\""), "\"" FFFD "(\"", NULL},
    {B("\"\xe2\x82\""), "\"" FFFD "\"", NULL},
    {B("\"\xe2\x82"
       "A\""),
     "\"" FFFD "A\"", NULL},
    {B("\"\xf0\x9f\x98\""), "\"" FFFD "\"", NULL},
    {B("\"\xf0\x9f\x98\x80\xf0\x9f\""), "\"\xf0\x9f\x98\x80" FFFD "\"", NULL},
    {B("\"\xed\xa0\x80\""), "\"" FFFD FFFD FFFD "\"", NULL}, /* an encoded surrogate */
    {B("\"\xc0\xaf\""), "\"" FFFD FFFD "\"", NULL},          /* overlong */
    {B("\"\xc1\xbf\""), "\"" FFFD FFFD "\"", NULL},
    {B("\"\xe0\x80\xaf\""), "\"" FFFD FFFD FFFD "\"", NULL},
    {B("\"\xe0\xa0\x80\""), "\"\xe0\xa0\x80\"", NULL}, /* smallest 3-byte */
    {B("\"\xf0\x8f\xbf\xbf\""), "\"" FFFD FFFD FFFD FFFD "\"", NULL},
    {B("\"\xf4\x8f\xbf\xbf\""), "\"\xf4\x8f\xbf\xbf\"", NULL}, /* U+10FFFF */
    {B("\"\xf4\x90\x80\x80\""), "\"" FFFD FFFD FFFD FFFD "\"", NULL},
    {B("\"\xf5\x80\""), "\"" FFFD FFFD "\"", NULL},
    {B("\"\xfe\xff\""), "\"" FFFD FFFD "\"", NULL},
    {B("\"a\xff"
       "b\\n\xff\""),
     "\"a" FFFD "b\\n" FFFD "\"", NULL},
    {B("\"\xc3\xa9\\u00e9\xff\""), "\"\xc3\xa9\xc3\xa9" FFFD "\"", NULL},
    {B("{\"k\xff\":\"\xff\"}"), "{\"k" FFFD "\":\"" FFFD "\"}", NULL},
    /* errors */
    {B("\"abc"), NULL, "unterminated string at byte 4"},
    {B("\""), NULL, "unterminated string at byte 1"},
    {B("\"\\"), NULL, "unexpected end of input"},
    {B("\"\\u"), NULL, "invalid \\u escape at byte 1"},
    {B("\"\\u12"), NULL, "invalid \\u escape"},
    {B("\"\\u12\""), NULL, "invalid \\u escape"},
    {B("\"\\u123\""), NULL, "invalid \\u escape"},
    {B("\"\\uZZZZ\""), NULL, "invalid \\u escape"},
    {B("\"\\u-123\""), NULL, NULL},
    {B("\"\\uD800\\u\""), NULL, "invalid \\u escape at byte 7"},
    {B("\"\\uD800\\uZZZZ\""), NULL, "invalid \\u escape at byte 7"},
    {B("\"\\uD800\\"), NULL, NULL},
    {B("\"\\x41\""), NULL, "invalid escape, found 'x' at byte 2"},
    {B("\"\\a\""), NULL, "invalid escape"},
    {B("\"\\U0041\""), NULL, "invalid escape"},
    {B("\"\\'\""), NULL, "invalid escape"},
    {B("\"\\0\""), NULL, "invalid escape"},
    {B("\"\\\xc3\xa9\""), NULL, "invalid escape, found byte 0xC3 at byte 2"},
    {B("'a'"), NULL, "found ''' at byte 0"},
    {B("\"a\nb\""), NULL, "control character in string at byte 2"},
    {B("\"\t\""), NULL, "control character in string at byte 1"},
    {B("\"\x1f\""), NULL, "control character"},
    {B("\"\x00\""), NULL, "control character"},
    {B("\"\\n\x01\""), NULL, "control character in string at byte 3"},
    {B("\"\xf0\x9f\x98"), NULL, "unterminated string at byte 4"},
    {B("\xc3\xa9"), NULL, "byte 0xC3 at byte 0"}, /* non-ASCII outside a string */
    {B("[1,\xff]"), NULL, "byte 0xFF at byte 3"},
    {B("\"a\"\"b\""), NULL, "at byte 3"},
};

static const json_row_t structure_rows[] = {
    {B("{}"), "{}", NULL},
    {B("[]"), "[]", NULL},
    {B("{ }"), "{}", NULL},
    {B("[\n]"), "[]", NULL},
    {B("[[]]"), "[[]]", NULL},
    {B("[{},[],{}]"), "[{},[],{}]", NULL},
    {B("{\"a\":1}"), "{\"a\":1}", NULL},
    {B(" { \"a\" : [ 1 , 2 ] , \"b\" : { \"c\" : null } } "), "{\"a\":[1,2],\"b\":{\"c\":null}}", NULL},
    {B("{\"\":\"\"}"), "{\"\":\"\"}", NULL},
    {B("{\"b\":1,\"a\":2,\"2\":3,\"1\":4}"), "{\"b\":1,\"a\":2,\"2\":3,\"1\":4}", NULL}, /* input order */
    {B("{\"a\":1,\"a\":2}"), "{\"a\":1,\"a\":2}", NULL}, /* every pair; readers take the last */
    {B("{\"a\":1,\"b\":2,\"a\":{\"a\":3,\"a\":4}}"), "{\"a\":1,\"b\":2,\"a\":{\"a\":3,\"a\":4}}", NULL},
    {B("{\"a\\u0000b\":1}"), "{\"a\\u0000b\":1}", NULL},
    {B("[\"a\",1,true,false,null,1.5,{\"x\":[]}]"), "[\"a\",1,true,false,null,1.5,{\"x\":[]}]", NULL},
    {B("[1,]"), NULL, "unexpected character, found ']' at byte 3"},
    {B("[,1]"), NULL, "found ',' at byte 1"},
    {B("[1 2]"), NULL, "expected ',' or ']', found '2' at byte 3"},
    {B("[1;2]"), NULL, "found ';' at byte 2"},
    {B("{\"a\":1,}"), NULL, "expected a string key, found '}' at byte 7"},
    {B("{,}"), NULL, "expected a string key"},
    {B("{\"a\"}"), NULL, "expected ':', found '}' at byte 4"},
    {B("{\"a\" 1}"), NULL, "expected ':'"},
    {B("{\"a\"=1}"), NULL, "expected ':'"},
    {B("{\"a\":}"), NULL, "found '}' at byte 5"},
    {B("{\"a\":1 \"b\":2}"), NULL, "expected ',' or '}', found '\"' at byte 7"},
    {B("{a:1}"), NULL, "expected a string key, found 'a' at byte 1"},
    {B("{'a':1}"), NULL, "expected a string key"},
    {B("{1:1}"), NULL, "expected a string key"},
    {B("{null:1}"), NULL, "expected a string key"},
    {B("{[]:1}"), NULL, "expected a string key"},
    {B("[1]]"), NULL, "after the JSON value, found ']' at byte 3"},
    {B("{\"a\":1}}"), NULL, "after the JSON value"},
    {B("{\"a\":1]"), NULL, "expected ',' or '}', found ']' at byte 6"},
    {B("[1}"), NULL, "expected ',' or ']', found '}' at byte 2"},
    {B("]"), NULL, "found ']' at byte 0"},
    {B("}"), NULL, "found '}' at byte 0"},
    {B(":"), NULL, NULL},
    {B(","), NULL, NULL},
    {B("[// c\n1]"), NULL, "found '/' at byte 1"}, /* no comments */
    {B("/* c */1"), NULL, "found '/' at byte 0"},
    {B("1 // c"), NULL, "found '/' at byte 2"},
    {B("{\"a\":1 /* c */}"), NULL, "found '/' at byte 7"},
    {B("# c\n1"), NULL, NULL},
    /* truncated inputs: each must fail without reading past its end */
    {B("{"), NULL, "unexpected end of input at byte 1"},
    {B("["), NULL, "unexpected end of input at byte 1"},
    {B("[ "), NULL, "unexpected end of input at byte 2"},
    {B("{\""), NULL, "unterminated string at byte 2"},
    {B("{\"a"), NULL, "unterminated string"},
    {B("{\"a\\"), NULL, "unexpected end of input"},
    {B("{\"a\""), NULL, "unexpected end of input at byte 4"},
    {B("{\"a\":"), NULL, "unexpected end of input at byte 5"},
    {B("{\"a\": "), NULL, "unexpected end of input at byte 6"},
    {B("{\"a\":1"), NULL, "unexpected end of input at byte 6"},
    {B("{\"a\":1,"), NULL, "unexpected end of input at byte 7"},
    {B("{\"a\":1, "), NULL, "unexpected end of input at byte 8"},
    {B("{\"a\":t"), NULL, "invalid literal at byte 5"},
    {B("{\"a\":[1,2"), NULL, "unexpected end of input at byte 9"},
    {B("[1"), NULL, "unexpected end of input at byte 2"},
    {B("[1,"), NULL, "unexpected end of input at byte 3"},
    {B("[\"a"), NULL, "unterminated string"},
    {B("[\"a\\u00"), NULL, "invalid \\u escape"},
    {B("[1.5e"), NULL, "unexpected end of input at byte 5"},
    {B("[-"), NULL, "unexpected end of input at byte 2"},
    {B("[nul"), NULL, "invalid literal at byte 1"},
    {B("[[[[[]]]]"), NULL, "unexpected end of input at byte 9"},
};

static void run_json_rows(const char *group, const json_row_t *rows, size_t n)
{
    hb_buf_t got;
    hb_buf_init(&got);
    char err[256];
    for (size_t i = 0; i < n; i++) {
        const json_row_t *r = &rows[i];
        int ret = parse_json(r->in, r->len, HB_BODY_MAX_DEPTH, &got, err, sizeof(err), NULL);
        if (r->want != NULL) {
            if (!is_int(ret, 0, "%s %zu: parses", group, i))
                printf("#   input: %.*s\n#   error: %s\n", (int)r->len, r->in, err);
            else
                is_str(got.base, r->want, "%s %zu: value", group, i);
        } else {
            if (!is_int(ret, -1, "%s %zu: refused", group, i))
                printf("#   input: %.*s\n#   value: %s\n", (int)r->len, r->in, got.base);
            else if (r->err != NULL && !ok(strstr(err, r->err) != NULL, "%s %zu: error says \"%s\"", group, i, r->err))
                printf("#   got error: %s\n", err);
        }
    }
    hb_buf_dispose(&got);
}

/* ---- exact bytes: the smallest headers, the same integer forms as msgpack-c ---- */

static const struct {
    const char *in;
    const char *hex;
} hex_rows[] = {
    {"0", "00"},
    {"127", "7f"},
    {"128", "cc80"},
    {"255", "ccff"},
    {"256", "cd0100"},
    {"65535", "cdffff"},
    {"65536", "ce00010000"},
    {"4294967295", "ceffffffff"},
    {"4294967296", "cf0000000100000000"},
    {"18446744073709551615", "cfffffffffffffffff"},
    {"-1", "ff"},
    {"-32", "e0"},
    {"-33", "d0df"},
    {"-128", "d080"},
    {"-129", "d1ff7f"},
    {"-32768", "d18000"},
    {"-32769", "d2ffff7fff"},
    {"-2147483648", "d280000000"},
    {"-2147483649", "d3ffffffff7fffffff"},
    {"-9223372036854775808", "d38000000000000000"},
    {"-0", "cb8000000000000000"},
    {"1.5", "cb3ff8000000000000"},
    {"1e400", "cb7ff0000000000000"},
    {"null", "c0"},
    {"false", "c2"},
    {"true", "c3"},
    {"\"\"", "a0"},
    {"\"a\"", "a161"},
    {"\"\\n\"", "a10a"},
    {"[]", "90"},
    {"{}", "80"},
    {"[1,2]", "920102"},
    {"{\"a\":[]}", "81a16190"},
    {"[[[]]]", "919190"},
    {"[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]", "9f0102030405060708090a0b0c0d0e0f"},
    {"[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]", "dc00100102030405060708090a0b0c0d0e0f10"},
    {"{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12,\"m\":13,"
     "\"n\":14,\"o\":15}",
     "8fa16101a16202a16303a16404a16505a16606a16707a16808a16909a16a0aa16b0ba16c0ca16d0da16e0ea16f0f"},
    {"{\"a\":1,\"b\":2,\"c\":3,\"d\":4,\"e\":5,\"f\":6,\"g\":7,\"h\":8,\"i\":9,\"j\":10,\"k\":11,\"l\":12,\"m\":13,"
     "\"n\":14,\"o\":15,\"p\":16}",
     "de0010a16101a16202a16303a16404a16505a16606a16707a16808a16909a16a0aa16b0ba16c0ca16d0da16e0ea16f0fa17010"},
};

static void to_hex(hb_buf_t *b, const char *data, size_t len)
{
    b->len = 0;
    hb_buf_reserve(b, 2 * len + 1);
    hb_hex_encode(b->base, (const uint8_t *)data, len);
    b->len = 2 * len;
}

static void test_hex_rows(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    hb_buf_t hex, got;
    hb_buf_init(&hex);
    hb_buf_init(&got);
    char err[256];
    for (size_t i = 0; i < HB_ARRAY_SIZE(hex_rows); i++) {
        if (!is_int(parse_json(hex_rows[i].in, strlen(hex_rows[i].in), HB_BODY_MAX_DEPTH, &got, err, sizeof(err), &sb),
                    0, "bytes %zu: %s parses", i, hex_rows[i].in))
            continue;
        to_hex(&hex, sb.data, sb.size);
        is_str(hex.base, hex_rows[i].hex, "bytes %zu: %s packs as %s", i, hex_rows[i].in, hex_rows[i].hex);
    }

    /* every integer form agrees with msgpack_pack_int64/uint64 */
    static const int64_t ints[] = {0,
                                   1,
                                   31,
                                   32,
                                   127,
                                   128,
                                   255,
                                   256,
                                   65535,
                                   65536,
                                   4294967295,
                                   4294967296,
                                   INT64_MAX,
                                   -1,
                                   -31,
                                   -32,
                                   -33,
                                   -127,
                                   -128,
                                   -129,
                                   -32767,
                                   -32768,
                                   -32769,
                                   -2147483647,
                                   -2147483648,
                                   -2147483649,
                                   INT64_MIN,
                                   INT64_MIN + 1,
                                   1000,
                                   -1000,
                                   123456789,
                                   -123456789,
                                   (int64_t)1 << 53};
    msgpack_sbuffer ref;
    msgpack_sbuffer_init(&ref);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &ref, msgpack_sbuffer_write);
    for (size_t i = 0; i < HB_ARRAY_SIZE(ints); i++) {
        char text[32];
        snprintf(text, sizeof(text), "%lld", (long long)ints[i]);
        ref.size = 0;
        msgpack_pack_int64(&pk, ints[i]);
        if (parse_json(text, strlen(text), 0, &got, err, sizeof(err), &sb) == 0)
            is_mem(sb.data, sb.size, ref.data, ref.size, "%s packs as msgpack_pack_int64 does", text);
        else
            ok(0, "%s parses", text);
    }
    ref.size = 0;
    msgpack_pack_uint64(&pk, UINT64_MAX);
    if (parse_json(B("18446744073709551615"), 0, &got, err, sizeof(err), &sb) == 0)
        is_mem(sb.data, sb.size, ref.data, ref.size, "UINT64_MAX packs as msgpack_pack_uint64 does");
    msgpack_sbuffer_destroy(&ref);
    msgpack_sbuffer_destroy(&sb);
    hb_buf_dispose(&hex);
    hb_buf_dispose(&got);
}

/* ---- strings of every header size, through the fast path (plain) and the slow one (an escape) ---- */

static void test_string_sizes(void)
{
    static const size_t sizes[] = {0, 1, 31, 32, 33, 255, 256, 257, 65535, 65536, 65537, 1u << 20};
    hb_buf_t in, got, want;
    hb_buf_init(&in);
    hb_buf_init(&got);
    hb_buf_init(&want);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char err[256];
    for (size_t i = 0; i < HB_ARRAY_SIZE(sizes); i++) {
        size_t n = sizes[i];
        for (int escaped = 0; escaped <= 1 && (n > 0 || !escaped); escaped++) {
            /* n content bytes: letters, with the last one written as \u0041 when escaped */
            in.len = 0;
            hb_buf_putc(&in, '"');
            for (size_t k = 0; k + (size_t)escaped < n; k++)
                hb_buf_putc(&in, (char)('a' + k % 26));
            if (escaped)
                hb_buf_puts(&in, "\\u0041");
            hb_buf_putc(&in, '"');
            if (!is_int(parse_json(in.base, in.len, 0, &got, err, sizeof(err), &sb), 0, "string of %zu bytes%s", n,
                        escaped ? " with an escape" : ""))
                continue;
            const unsigned char *h = (const unsigned char *)sb.data;
            size_t hl = n < 32 ? 1 : n < 256 ? 2 : n < 65536 ? 3 : 5;
            unsigned want_tag = n < 32 ? 0xa0 | (unsigned)n : n < 256 ? 0xd9 : n < 65536 ? 0xda : 0xdb;
            is_int(h[0], want_tag, "string of %zu bytes%s: header 0x%02x", n, escaped ? " (escaped)" : "", want_tag);
            is_int(sb.size, hl + n, "string of %zu bytes%s: %zu bytes of msgpack", n, escaped ? " (escaped)" : "",
                   hl + n);
            int same = sb.size == hl + n && memcmp(sb.data + hl, in.base + 1, n - (size_t)escaped) == 0 &&
                       (!escaped || sb.data[hl + n - 1] == 'A');
            ok(same, "string of %zu bytes%s: content", n, escaped ? " (escaped)" : "");
        }
    }
    /* a 1 MiB string of multi-byte UTF-8 with invalid bytes sprinkled in */
    in.len = 0;
    want.len = 0;
    hb_buf_putc(&in, '"');
    while (in.len < (1u << 20)) {
        hb_buf_puts(&in, "h\xc3\xa9llo w\xe2\x82\xacrld \xf0\x9f\x98\x80 \xff|");
        hb_buf_puts(&want, "h\xc3\xa9llo w\xe2\x82\xacrld \xf0\x9f\x98\x80 " FFFD "|");
    }
    hb_buf_putc(&in, '"');
    if (is_int(parse_json(in.base, in.len, 0, &got, err, sizeof(err), &sb), 0, "1 MiB string with invalid UTF-8")) {
        ok(sb.size == want.len + 5 && memcmp(sb.data + 5, want.base, want.len) == 0,
           "1 MiB string: each bad byte replaced, the rest kept");
    }
    hb_buf_dispose(&in);
    hb_buf_dispose(&got);
    hb_buf_dispose(&want);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- containers: counts past the small forms, content past the compaction limit ---- */

static void test_container_sizes(void)
{
    static const size_t counts[] = {15, 16, 17, 65535, 65536, 200000};
    hb_buf_t in, got;
    hb_buf_init(&in);
    hb_buf_init(&got);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char err[256];
    for (size_t i = 0; i < HB_ARRAY_SIZE(counts); i++) {
        for (int is_map = 0; is_map <= 1; is_map++) {
            size_t n = counts[i];
            in.len = 0;
            hb_buf_putc(&in, is_map ? '{' : '[');
            for (size_t k = 0; k < n; k++) {
                if (k)
                    hb_buf_putc(&in, ',');
                if (is_map)
                    hb_buf_printf(&in, "\"%zx\":", k);
                hb_buf_putc(&in, '0');
            }
            hb_buf_putc(&in, is_map ? '}' : ']');
            if (!is_int(parse_json(in.base, in.len, 1, &got, err, sizeof(err), &sb), 0, "%s of %zu",
                        is_map ? "map" : "array", n))
                continue;
            msgpack_unpacked up;
            msgpack_unpacked_init(&up);
            size_t off = 0;
            int unpacked = msgpack_unpack_next(&up, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS;
            ok(unpacked && off == sb.size && up.data.type == (is_map ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY) &&
                   (is_map ? up.data.via.map.size : up.data.via.array.size) == n,
               "%s of %zu unpacks with its count", is_map ? "map" : "array", n);
            if (unpacked && is_map) {
                char key[24];
                int keys_ok = 1;
                for (size_t k = 0; k < n; k++) {
                    int kl = snprintf(key, sizeof(key), "%zx", k);
                    const msgpack_object *o = &up.data.via.map.ptr[k].key;
                    keys_ok &= o->type == MSGPACK_OBJECT_STR && o->via.str.size == (uint32_t)kl &&
                               memcmp(o->via.str.ptr, key, (size_t)kl) == 0;
                }
                ok(keys_ok, "map of %zu: keys in input order", n);
            }
            msgpack_unpacked_destroy(&up);
            /* content above 4 KiB keeps the 32-bit header; below, the smallest one */
            unsigned char tag = (unsigned char)sb.data[0];
            unsigned want_tag = n < 16                             ? (is_map ? 0x80 : 0x90) | (unsigned)n
                                : sb.size - 3 <= 4096 && n < 65536 ? (is_map ? 0xde : 0xdc)
                                                                   : (is_map ? 0xdf : 0xdd);
            is_int(tag, want_tag, "%s of %zu: header 0x%02x", is_map ? "map" : "array", n, want_tag);
        }
    }
    /* few elements, big content: the header stays array32 */
    in.len = 0;
    hb_buf_puts(&in, "[\"");
    for (int k = 0; k < 5000; k++)
        hb_buf_putc(&in, 'x');
    hb_buf_puts(&in, "\",1]");
    if (is_int(parse_json(in.base, in.len, 1, &got, err, sizeof(err), &sb), 0, "array of a 5000-byte string")) {
        to_hex(&got, sb.data, 8);
        is_str(got.base, "dd00000002da1388", "array with content above 4 KiB: array32 header");
    }
    hb_buf_dispose(&in);
    hb_buf_dispose(&got);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- depth ---- */

static void nested(hb_buf_t *b, int depth, int is_map)
{
    b->len = 0;
    for (int i = 0; i < depth; i++)
        hb_buf_puts(b, is_map ? "{\"a\":" : "[");
    hb_buf_puts(b, "1");
    for (int i = 0; i < depth; i++)
        hb_buf_putc(b, is_map ? '}' : ']');
}

static void test_depth(void)
{
    hb_buf_t in, got;
    hb_buf_init(&in);
    hb_buf_init(&got);
    char err[256], want[128];
    const int max = HB_BODY_MAX_DEPTH;
    for (int is_map = 0; is_map <= 1; is_map++) {
        const char *what = is_map ? "objects" : "arrays";
        nested(&in, max, is_map);
        is_int(parse_json(in.base, in.len, HB_BODY_MAX_DEPTH, &got, err, sizeof(err), NULL), 0, "%d nested %s parse",
               max, what);
        is_int(got.len, in.len, "%d nested %s print back", max, what);
        /* fuzz_body: msgpack-c's unpacker stops at 32 levels, so the limit must not let more through */
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        size_t off = 0;
        ok(hb_json_to_msgpack(in.base, in.len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err)) == 0 &&
               msgpack_unpack_next(&up, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS && off == sb.size,
           "%d nested %s: msgpack-c reads the value back", max, what);
        msgpack_unpacked_destroy(&up);
        msgpack_sbuffer_destroy(&sb);
        nested(&in, max + 1, is_map);
        is_int(parse_json(in.base, in.len, HB_BODY_MAX_DEPTH, &got, err, sizeof(err), NULL), -1,
               "%d nested %s are refused", max + 1, what);
        snprintf(want, sizeof(want), "nesting deeper than the limit of %d at byte %d", max, is_map ? 5 * max : max);
        ok(strstr(err, want) != NULL, "%d nested %s: the error says where (%s)", max + 1, what, err);
    }
    /* an empty container counts as a level too */
    in.len = 0;
    for (int i = 0; i < max + 1; i++)
        hb_buf_putc(&in, '[');
    for (int i = 0; i < max + 1; i++)
        hb_buf_putc(&in, ']');
    is_int(parse_json(in.base, in.len, HB_BODY_MAX_DEPTH, &got, err, sizeof(err), NULL), -1,
           "%d levels ending in [] are refused", max + 1);
    is_int(parse_json(in.base + 1, in.len - 2, HB_BODY_MAX_DEPTH, &got, err, sizeof(err), NULL), 0,
           "%d levels ending in [] parse", max);

    /* 10,000 '[' (and 1,000,000): refused at the limit, with no recursion (a stack overflow would crash) */
    snprintf(want, sizeof(want), "nesting deeper than the limit of %d at byte %d", max, max);
    for (size_t n = 10000; n <= 1000000; n *= 100) {
        in.len = 0;
        for (size_t i = 0; i < n; i++)
            hb_buf_putc(&in, '[');
        int ret = parse_json(in.base, in.len, HB_BODY_MAX_DEPTH, &got, err, sizeof(err), NULL);
        is_int(ret, -1, "%zu nested '[' are refused", n);
        is_str(err, want, "%zu nested '[': the error", n);
    }

    /* other limits: 0 allows only scalars; above HB_BODY_MAX_DEPTH the stack grows on the heap */
    is_int(parse_json(B("1"), 0, &got, err, sizeof(err), NULL), 0, "max_depth 0: a scalar parses");
    is_int(parse_json(B("[]"), 0, &got, err, sizeof(err), NULL), -1, "max_depth 0: [] is refused");
    is_int(parse_json(B("[]"), -5, &got, err, sizeof(err), NULL), -1, "max_depth < 0 acts as 0");
    is_int(parse_json(B("[[1]]"), 2, &got, err, sizeof(err), NULL), 0, "max_depth 2: [[1]] parses");
    is_int(parse_json(B("[[[1]]]"), 2, &got, err, sizeof(err), NULL), -1, "max_depth 2: [[[1]]] is refused");
    for (int is_map = 0; is_map <= 1; is_map++) {
        nested(&in, 1000, is_map);
        is_int(parse_json(in.base, in.len, 1000, &got, err, sizeof(err), NULL), 0, "max_depth 1000: 1000 nested %s",
               is_map ? "objects" : "arrays");
        is_int(got.len, in.len, "1000 nested %s print back", is_map ? "objects" : "arrays");
        nested(&in, 1001, is_map);
        is_int(parse_json(in.base, in.len, 1000, &got, err, sizeof(err), NULL), -1,
               "max_depth 1000: 1001 nested %s are refused", is_map ? "objects" : "arrays");
    }
    hb_buf_dispose(&in);
    hb_buf_dispose(&got);
}

/* ---- appending, and the error path after the buffer has grown ---- */

static void test_append(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char err[128];
    is_int(hb_json_to_msgpack("[1]", 3, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err)), 0, "into an empty sbuffer");
    is_int(hb_json_to_msgpack("{\"a\":2}", 7, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err)), 0, "appended");
    is_mem(sb.data, sb.size,
           "\x91\x01\x81\xa1"
           "a\x02",
           6, "two values one after the other");
    /* a long valid prefix makes the buffer grow before the error is found */
    hb_buf_t in;
    hb_buf_init(&in);
    hb_buf_putc(&in, '[');
    for (int i = 0; i < 100000; i++)
        hb_buf_puts(&in, "\"abcdefgh\",");
    hb_buf_putc(&in, ']');
    is_int(hb_json_to_msgpack(in.base, in.len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err)), -1, "a trailing comma");
    is_int(sb.size, 6, "after an error the size is what it was");
    is_mem(sb.data, sb.size,
           "\x91\x01\x81\xa1"
           "a\x02",
           6, "and the bytes too");
    is_int(hb_json_to_msgpack(B("x"), HB_BODY_MAX_DEPTH, &sb, NULL, 0), -1, "err may be NULL");
    is_int(hb_json_to_msgpack(B("x"), HB_BODY_MAX_DEPTH, &sb, err, 1), -1, "errlen 1");
    is_str(err, "", "errlen 1: just the NUL");
    hb_buf_dispose(&in);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- form-urlencoded ---- */

static const struct {
    const char *in;
    size_t len;
    const char *want;
} form_rows[] = {
    {B("a=1&b=2"), "{\"a\":\"1\",\"b\":\"2\"}"},
    {B("a=1&a=2"), "{\"a\":\"2\"}"},                 /* the last value wins */
    {B("a=1&b=2&a=3"), "{\"a\":\"3\",\"b\":\"2\"}"}, /* at the place of the first */
    {B("x=1&y=2&x"), "{\"x\":\"\",\"y\":\"2\"}"},
    {B("b=1&a=2&c=3&a=4&b=5"), "{\"b\":\"5\",\"a\":\"4\",\"c\":\"3\"}"},
    {B("%61=1&a=2"), "{\"a\":\"2\"}"}, /* names compare after decoding */
    {B("a+b=c+d"), "{\"a b\":\"c d\"}"},
    {B("%41=%42"), "{\"A\":\"B\"}"},
    {B("%2b=%2B"), "{\"+\":\"+\"}"},
    {B("a=%26b%3Dc"), "{\"a\":\"&b=c\"}"},
    {B("a=%zz"), "{\"a\":\"%zz\"}"},
    {B("a=%4"), "{\"a\":\"%4\"}"},
    {B("a=%"), "{\"a\":\"%\"}"},
    {B("a=%4g%"), "{\"a\":\"%4g%\"}"},
    {B("a=%%41"), "{\"a\":\"%A\"}"},
    {B("a=100%"), "{\"a\":\"100%\"}"},
    {B("=x"), "{\"\":\"x\"}"},
    {B("="), "{\"\":\"\"}"},
    {B("a"), "{\"a\":\"\"}"},
    {B("a="), "{\"a\":\"\"}"},
    {B("a==b"), "{\"a\":\"=b\"}"},
    {B("&&"), "{}"},
    {B(""), "{}"},
    {B("&a=1&&b=2&"), "{\"a\":\"1\",\"b\":\"2\"}"},
    {B("a=%C3%A9&%E2%82%AC=1"), "{\"a\":\"\xc3\xa9\",\"\xe2\x82\xac\":\"1\"}"},
    {B("a=\xc3\xa9"), "{\"a\":\"\xc3\xa9\"}"},
    {B("a=%FF"), "{\"a\":\"" FFFD "\"}"}, /* invalid UTF-8 becomes U+FFFD */
    {B("%FF=1"), "{\"" FFFD "\":\"1\"}"},
    {B("a=%C3"), "{\"a\":\"" FFFD "\"}"},
    {B("a=%E2%82x"), "{\"a\":\"" FFFD "x\"}"},
    {B("a=\xff"), "{\"a\":\"" FFFD "\"}"},
    {B("a=%EF%BB%BFx"), "{\"a\":\"\xef\xbb\xbfx\"}"}, /* no BOM stripping */
    {B("a=%00b"), "{\"a\":\"\\u0000b\"}"},
    {B("a=\"q\"\\"), "{\"a\":\"\\\"q\\\"\\\\\"}"},
    {B("a=1;b=2"), "{\"a\":\"1;b=2\"}"}, /* ';' is no separator */
    {B("payload=%7B%22type%22%3A%22block_actions%22%7D"), "{\"payload\":\"{\\\"type\\\":\\\"block_actions\\\"}\"}"},
};

static void test_form(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    hb_buf_t got;
    hb_buf_init(&got);
    for (size_t i = 0; i < HB_ARRAY_SIZE(form_rows); i++) {
        sb.size = 0;
        hb_form_to_msgpack(at_page_end(form_rows[i].in, form_rows[i].len), form_rows[i].len, &sb);
        if (is_int(msgpack_to_notation(sb.data, sb.size, &got), 0, "form %zu: one map, UTF-8 strings", i))
            is_str(got.base, form_rows[i].want, "form %zu: %.*s", i, (int)form_rows[i].len, form_rows[i].in);
    }
    /* many names, each repeated: O(n log n) grouping, first place, last value */
    hb_buf_t in, want;
    hb_buf_init(&in);
    hb_buf_init(&want);
    hb_buf_putc(&want, '{');
    for (int round = 0; round < 3; round++)
        for (int k = 0; k < 20000; k++)
            hb_buf_printf(&in, "%sk%d=%d", in.len ? "&" : "", k, round * 100000 + k);
    for (int k = 0; k < 20000; k++)
        hb_buf_printf(&want, "%s\"k%d\":\"%d\"", k ? "," : "", k, 200000 + k);
    hb_buf_putc(&want, '}');
    sb.size = 0;
    hb_form_to_msgpack(at_page_end(in.base, in.len), in.len, &sb);
    if (is_int(msgpack_to_notation(sb.data, sb.size, &got), 0, "form of 60000 pairs unpacks"))
        ok(got.len == want.len && memcmp(got.base, want.base, want.len) == 0,
           "form of 60000 pairs: 20000 names, last values, first places");
    /* appends */
    sb.size = 0;
    msgpack_sbuffer_write(&sb, "\xc0", 1);
    hb_form_to_msgpack("a=1", 3, &sb);
    is_mem(sb.data, sb.size,
           "\xc0\x81\xa1"
           "a\xa1"
           "1",
           6, "form appends to what the buffer holds");
    hb_buf_dispose(&in);
    hb_buf_dispose(&want);
    hb_buf_dispose(&got);
    msgpack_sbuffer_destroy(&sb);
}

/* ---- differential: realistic payloads against a minifier that shares no code with the parser ---- */

/* Re-serialises JSON text token by token in the notation: whitespace dropped, strings re-escaped, floats
   normalised. Knows nothing of structure, so it cannot share a bug with the parser's state machine. */
static void minify(const char *s, size_t len, hb_buf_t *b)
{
    b->len = 0;
    for (size_t i = 0; i < len;) {
        char c = s[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') {
            i++;
        } else if (c == '"') {
            hb_buf_t str;
            hb_buf_init(&str);
            for (i++; s[i] != '"'; i++) {
                if (s[i] != '\\') {
                    hb_buf_putc(&str, s[i]);
                    continue;
                }
                i++;
                const char *simple = strchr("\"\\/bfnrt", s[i]);
                if (simple != NULL && s[i] != 'u') {
                    hb_buf_putc(&str, "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"]);
                    continue;
                }
                unsigned cp = (unsigned)strtoul((char[]){s[i + 1], s[i + 2], s[i + 3], s[i + 4], 0}, NULL, 16);
                i += 4;
                if (cp >= 0xd800 && cp < 0xdc00 && s[i + 1] == '\\' && s[i + 2] == 'u') {
                    unsigned lo = (unsigned)strtoul((char[]){s[i + 3], s[i + 4], s[i + 5], s[i + 6], 0}, NULL, 16);
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    i += 6;
                }
                if (cp < 0x80) {
                    hb_buf_putc(&str, (char)cp);
                } else if (cp < 0x800) {
                    hb_buf_putc(&str, (char)(0xc0 | cp >> 6));
                    hb_buf_putc(&str, (char)(0x80 | (cp & 0x3f)));
                } else if (cp < 0x10000) {
                    hb_buf_putc(&str, (char)(0xe0 | cp >> 12));
                    hb_buf_putc(&str, (char)(0x80 | (cp >> 6 & 0x3f)));
                    hb_buf_putc(&str, (char)(0x80 | (cp & 0x3f)));
                } else {
                    hb_buf_putc(&str, (char)(0xf0 | cp >> 18));
                    hb_buf_putc(&str, (char)(0x80 | (cp >> 12 & 0x3f)));
                    hb_buf_putc(&str, (char)(0x80 | (cp >> 6 & 0x3f)));
                    hb_buf_putc(&str, (char)(0x80 | (cp & 0x3f)));
                }
            }
            i++;
            print_str(b, str.base != NULL ? str.base : "", str.len);
            hb_buf_dispose(&str);
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i;
            int is_float = 0;
            while (j < len && strchr("+-0123456789.eE", s[j]) != NULL)
                is_float |= strchr(".eE", s[j++]) != NULL;
            if (is_float || (j - i == 2 && memcmp(s + i, "-0", 2) == 0)) /* -0 is the float -0.0 */
                print_double(b, strtod(s + i, NULL));
            else
                hb_buf_append(b, s + i, j - i);
            i = j;
        } else {
            hb_buf_putc(b, c);
            i++;
        }
    }
    hb_buf_putc(b, '\0');
    b->len--;
}

static const char github_push[] =
    "{\n"
    "  \"ref\": \"refs/heads/main\",\n"
    "  \"before\": \"6113728f27ae82c7b1a177c8d03f9e96e0adf246\",\n"
    "  \"after\": \"0000000000000000000000000000000000000000\",\n"
    "  \"repository\": {\n"
    "    \"id\": 186853002,\n"
    "    \"node_id\": \"MDEwOlJlcG9zaXRvcnkxODY4NTMwMDI=\",\n"
    "    \"name\": \"hello-w\\u00f6rld\",\n"
    "    \"full_name\": \"octocat/hello-w\xc3\xb6rld\",\n"
    "    \"private\": false,\n"
    "    \"owner\": {\"name\": \"octocat\", \"email\": null, \"login\": \"octocat\", \"id\": 21031067,\n"
    "              \"avatar_url\": \"https://avatars.githubusercontent.com/u/21031067?v=4\", \"site_admin\": false},\n"
    "    \"html_url\": \"https://github.com/octocat/hello-w%C3%B6rld\",\n"
    "    \"description\": \"A \\\"quoted\\\" description \\u2014 with \\ud83d\\ude80 and a\\ttab\",\n"
    "    \"fork\": false,\n"
    "    \"created_at\": 1557933565,\n"
    "    \"pushed_at\": 1557933657,\n"
    "    \"size\": 0,\n"
    "    \"stargazers_count\": 0,\n"
    "    \"topics\": [],\n"
    "    \"license\": null,\n"
    "    \"default_branch\": \"main\"\n"
    "  },\n"
    "  \"pusher\": {\"name\": \"Codertocat\", \"email\": \"21031067+Codertocat@users.noreply.github.com\"},\n"
    "  \"created\": false,\n"
    "  \"deleted\": true,\n"
    "  \"forced\": false,\n"
    "  \"base_ref\": null,\n"
    "  \"compare\": \"https://github.com/Codertocat/Hello-World/compare/6113728f27ae...000000000000\",\n"
    "  \"commits\": [\n"
    "    {\"id\": \"a10867b14bb761a232cd80139fbd4c0d33264240\", \"distinct\": true,\n"
    "     \"message\": \"Fix \\u00e9l\\u00e8ve encoding\\n\\nCo-authored-by: M\xc3\xbcller <m@example.com>\",\n"
    "     \"timestamp\": \"2019-05-15T15:20:30-05:00\", \"added\": [\"docs/\xe6\x97\xa5\xe6\x9c\xac.md\"],\n"
    "     \"removed\": [], \"modified\": [\"README.md\", \"src/a.c\"]}\n"
    "  ],\n"
    "  \"head_commit\": null\n"
    "}\n";

static const char stripe_event[] =
    "{\n"
    "  \"id\": \"evt_1NG8Du2eZvKYlo2CUI79vXWy\",\n"
    "  \"object\": \"event\",\n"
    "  \"api_version\": \"2022-11-15\",\n"
    "  \"created\": 1686089970,\n"
    "  \"data\": {\n"
    "    \"object\": {\n"
    "      \"id\": \"pi_3NG8Du2eZvKYlo2C0YQbKRbm\",\n"
    "      \"object\": \"payment_intent\",\n"
    "      \"amount\": 2000,\n"
    "      \"amount_received\": -0,\n"
    "      \"application_fee_amount\": null,\n"
    "      \"automatic_payment_methods\": {\"enabled\": true},\n"
    "      \"capture_method\": \"automatic\",\n"
    "      \"currency\": \"eur\",\n"
    "      \"exchange_rate\": 1.0835,\n"
    "      \"risk_score\": 2.5e-3,\n"
    "      \"livemode\": false,\n"
    "      \"metadata\": {\"order_id\": \"6735\", \"note\": \"caf\\u00e9 \\u20ac5\"},\n"
    "      \"payment_method_types\": [\"card\", \"sepa_debit\"],\n"
    "      \"statement_descriptor\": null\n"
    "    },\n"
    "    \"previous_attributes\": {}\n"
    "  },\n"
    "  \"livemode\": false,\n"
    "  \"pending_webhooks\": 1,\n"
    "  \"request\": {\"id\": \"req_abc\", \"idempotency_key\": \"8a5f1c2e-11f2-4b6a-9a7c-2f1d6e9b0c3d\"},\n"
    "  \"type\": \"payment_intent.succeeded\"\n"
    "}";

static const char slack_event[] =
    "{\"token\":\"XXYYZZ\",\"team_id\":\"T123ABC456\",\"api_app_id\":\"A123ABC456\",\"event\":{\"type\":\"message\","
    "\"channel\":\"C123ABC456\",\"user\":\"U123ABC456\",\"text\":\"Hello <@U0LAN0Z89> :wave: \\u00bfqu\\u00e9 "
    "tal? \xf0\x9f\x91\x8b\\n> quoted \\/ slash\",\"ts\":\"1355517523.000005\",\"event_ts\":\"1355517523.000005\","
    "\"channel_type\":\"channel\",\"blocks\":[{\"type\":\"rich_text\",\"block_id\":\"b1\",\"elements\":[{\"type\":"
    "\"rich_text_section\",\"elements\":[{\"type\":\"text\",\"text\":\"Hello \"},{\"type\":\"user\",\"user_id\":"
    "\"U0LAN0Z89\"}]}]}]},\"type\":\"event_callback\",\"authed_users\":[\"U061F7AUR\"],\"event_id\":\"Ev9UQ52YNA\","
    "\"event_time\":1234567890,\"is_ext_shared_channel\":false,\"authorizations\":[{\"enterprise_id\":null,"
    "\"team_id\":\"T123\",\"user_id\":\"U123\",\"is_bot\":true,\"is_enterprise_install\":false}],"
    "\"weights\":[0.5,-1.25,1e-7,6.02214076e23,-9007199254740993,18446744073709551615]}";

static void test_payloads(void)
{
    static const struct {
        const char *name;
        const char *text;
    } payloads[] = {{"GitHub push", github_push}, {"Stripe event", stripe_event}, {"Slack event", slack_event}};
    hb_buf_t got, want;
    hb_buf_init(&got);
    hb_buf_init(&want);
    char err[256];
    for (size_t i = 0; i < HB_ARRAY_SIZE(payloads); i++) {
        size_t len = strlen(payloads[i].text);
        minify(payloads[i].text, len, &want);
        if (is_int(parse_json(payloads[i].text, len, HB_BODY_MAX_DEPTH, &got, err, sizeof(err), NULL), 0, "%s parses",
                   payloads[i].name))
            is_str(got.base, want.base, "%s reads back as the minified text", payloads[i].name);
        /* every strict prefix of an object is refused, and never read past */
        int prefixes_refused = 1;
        for (size_t n = 0; n < len; n++) {
            /* the prefix that keeps the whole object and drops only trailing whitespace is still valid */
            int valid_prefix = n >= want.len && strspn(payloads[i].text + n, " \n") == len - n;
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            int ret = hb_json_to_msgpack(at_page_end(payloads[i].text, n), n, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err));
            if (ret != (valid_prefix ? 0 : -1)) {
                prefixes_refused = 0;
                printf("#   prefix of %zu bytes: %d\n", n, ret);
            }
            msgpack_sbuffer_destroy(&sb);
        }
        ok(prefixes_refused, "%s: each of its %zu truncations is refused", payloads[i].name, len);
    }
    hb_buf_dispose(&got);
    hb_buf_dispose(&want);
}

/* ---- generated documents: random values, printed canonically and with random whitespace ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static void ws(hb_buf_t *b)
{
    static const char spaces[] = " \t\n\r";
    while (rnd(3) == 0)
        hb_buf_putc(b, spaces[rnd(4)]);
}

/* Appends a random value to text (the input, with random whitespace) and to canon (its notation). */
static void gen_value(hb_buf_t *text, hb_buf_t *canon, int depth)
{
    uint32_t kind = rnd(depth < 6 ? 10 : 7);
    switch (kind) {
    case 0:
        hb_buf_puts(text, "null");
        hb_buf_puts(canon, "null");
        break;
    case 1: {
        const char *v = rnd(2) ? "true" : "false";
        hb_buf_puts(text, v);
        hb_buf_puts(canon, v);
        break;
    }
    case 2: {
        /* integers of every width */
        int64_t v = (int64_t)(((uint64_t)rnd(UINT32_MAX) << 32) | rnd(UINT32_MAX)) >> rnd(64);
        hb_buf_printf(text, "%lld", (long long)v);
        hb_buf_printf(canon, "%lld", (long long)v);
        break;
    }
    case 3: {
        double d = (double)(int32_t)rnd(UINT32_MAX) / (double)(1u << rnd(31)) * pow(10, (int)rnd(40) - 20);
        hb_buf_printf(text, "%.17g", d);
        /* a float token needs '.', 'e' or 'E': add an exponent when %.17g gave an integer */
        size_t start = text->len;
        while (start > 0 && strchr("+-0123456789.eE", text->base[start - 1]) != NULL)
            start--;
        if (strpbrk(text->base + start, ".eE") == NULL)
            hb_buf_puts(text, rnd(2) ? "e0" : ".0");
        print_double(canon, strtod(text->base + start, NULL));
        break;
    }
    case 4:
    case 5:
    case 6: {
        /* strings mixing plain runs, escapes, multi-byte UTF-8, and invalid bytes */
        hb_buf_t raw;
        hb_buf_init(&raw);
        hb_buf_putc(text, '"');
        uint32_t parts = rnd(8);
        for (uint32_t i = 0; i < parts; i++) {
            switch (rnd(9)) {
            case 0:
                hb_buf_puts(text, "\\n");
                hb_buf_putc(&raw, '\n');
                break;
            case 1:
                hb_buf_puts(text, "\\u00e9");
                hb_buf_puts(&raw, "\xc3\xa9");
                break;
            case 2:
                hb_buf_puts(text, "\\ud83d\\ude00");
                hb_buf_puts(&raw, "\xf0\x9f\x98\x80");
                break;
            case 3:
                hb_buf_puts(text, "\xe2\x82\xac");
                hb_buf_puts(&raw, "\xe2\x82\xac");
                break;
            case 4:
                hb_buf_puts(text, "\xff");
                hb_buf_puts(&raw, FFFD);
                break;
            case 5:
                hb_buf_puts(text, "\\\"\\\\");
                hb_buf_puts(&raw, "\"\\");
                break;
            default: {
                uint32_t n = rnd(4) == 0 ? 100 + rnd(400) : rnd(40);
                for (uint32_t k = 0; k < n; k++) {
                    char c = (char)(' ' + rnd(95));
                    if (c == '"' || c == '\\')
                        c = '_';
                    hb_buf_putc(text, c);
                    hb_buf_putc(&raw, c);
                }
            }
            }
        }
        hb_buf_putc(text, '"');
        print_str(canon, raw.base != NULL ? raw.base : "", raw.len);
        hb_buf_dispose(&raw);
        break;
    }
    case 7:
    case 8:
    case 9: {
        int is_map = kind != 7;
        uint32_t n = rnd(5) == 0 ? rnd(40) : rnd(6);
        hb_buf_putc(text, is_map ? '{' : '[');
        hb_buf_putc(canon, is_map ? '{' : '[');
        for (uint32_t i = 0; i < n; i++) {
            if (i) {
                hb_buf_putc(text, ',');
                hb_buf_putc(canon, ',');
            }
            ws(text);
            if (is_map) {
                /* keys repeat now and then: every pair must come through, in order */
                char key[16];
                snprintf(key, sizeof(key), "\"k%u\"", rnd(50));
                hb_buf_puts(text, key);
                hb_buf_puts(canon, key);
                ws(text);
                hb_buf_putc(text, ':');
                hb_buf_putc(canon, ':');
                ws(text);
            }
            gen_value(text, canon, depth + 1);
            ws(text);
        }
        hb_buf_putc(text, is_map ? '}' : ']');
        hb_buf_putc(canon, is_map ? '}' : ']');
        break;
    }
    }
}

static void test_generated(void)
{
    hb_buf_t text, canon, got;
    hb_buf_init(&text);
    hb_buf_init(&canon);
    hb_buf_init(&got);
    char err[256];
    int same = 0, prefixes_ok = 1, truncated_docs = 0;
    const int docs = 3000;
    for (int i = 0; i < docs; i++) {
        text.len = canon.len = 0;
        ws(&text);
        gen_value(&text, &canon, 0);
        ws(&text);
        hb_buf_putc(&canon, '\0');
        canon.len--;
        if (parse_json(text.base, text.len, HB_BODY_MAX_DEPTH, &got, err, sizeof(err), NULL) == 0 &&
            strcmp(got.base, canon.base) == 0) {
            same++;
        } else if (same == i) {
            printf("#   first difference, document %d:\n#   text:  %.*s\n#   got:   %s\n#   want:  %s\n#   error: %s\n",
                   i, (int)text.len, text.base, got.base, canon.base, err);
        }
        /* every strict prefix of a container document (up to its closing bracket) is refused; small documents only, as
           the cost grows with the square of the length */
        const char *first = text.base + strspn(text.base, " \t\n\r");
        if (i < 300 && text.len <= 2048 && (*first == '[' || *first == '{')) {
            size_t last = text.len;
            truncated_docs++;
            while (strchr(" \t\n\r", text.base[last - 1]) != NULL)
                last--;
            for (size_t n = 0; n < last; n++) {
                msgpack_sbuffer sb;
                msgpack_sbuffer_init(&sb);
                if (hb_json_to_msgpack(at_page_end(text.base, n), n, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err)) != -1)
                    prefixes_ok = 0;
                msgpack_sbuffer_destroy(&sb);
            }
        }
    }
    is_int(same, docs, "%d generated documents read back as their canonical form", docs);
    ok(prefixes_ok && truncated_docs >= 50, "every truncation of %d generated containers is refused", truncated_docs);
    hb_buf_dispose(&text);
    hb_buf_dispose(&canon);
    hb_buf_dispose(&got);
}

int main(void)
{
    guard_init();
    run_json_rows("literal", literal_rows, HB_ARRAY_SIZE(literal_rows));
    run_json_rows("number", number_rows, HB_ARRAY_SIZE(number_rows));
    run_json_rows("string", string_rows, HB_ARRAY_SIZE(string_rows));
    run_json_rows("structure", structure_rows, HB_ARRAY_SIZE(structure_rows));
    test_hex_rows();
    test_string_sizes();
    test_container_sizes();
    test_depth();
    test_append();
    test_form();
    test_payloads();
    test_generated();
    printf("# %d values were also read by msgpack-c's unpacker and printed the same\n", cross_checked);
    return done_testing();
}
