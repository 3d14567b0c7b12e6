#include "json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hb_json_str(hb_buf_t *buf, const char *s, size_t len)
{
    hb_buf_reserve(buf, len + 2);
    hb_buf_putc(buf, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            hb_buf_putc(buf, '\\');
            hb_buf_putc(buf, (char)c);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n':
                hb_buf_puts(buf, "\\n");
                break;
            case '\r':
                hb_buf_puts(buf, "\\r");
                break;
            case '\t':
                hb_buf_puts(buf, "\\t");
                break;
            default:
                hb_buf_printf(buf, "\\u%04x", c);
            }
            i++;
        } else if (c < 0x80) {
            hb_buf_putc(buf, (char)c);
            i++;
        } else {
            /* copy one well-formed UTF-8 sequence, or replace a bad byte with U+FFFD */
            size_t n = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
            if (n != 0 && i + n <= len && hb_utf8_valid(s + i, n)) {
                hb_buf_append(buf, s + i, n);
                i += n;
            } else {
                hb_buf_puts(buf, "\\ufffd");
                i++;
            }
        }
    }
    hb_buf_putc(buf, '"');
}

void hb_json_cstr(hb_buf_t *buf, const char *s)
{
    if (s == NULL)
        hb_buf_puts(buf, "null");
    else
        hb_json_str(buf, s, strlen(s));
}

/* JavaScript's Number.prototype.toString for the common cases: integers without ".0", others shortest. */
void hb_js_number(double d, hb_buf_t *out)
{
    if (isnan(d)) {
        hb_buf_puts(out, "NaN");
    } else if (isinf(d)) {
        hb_buf_puts(out, d > 0 ? "Infinity" : "-Infinity");
    } else if (d == floor(d) && fabs(d) < 1e21) {
        hb_buf_printf(out, "%.0f", d);
    } else {
        char tmp[32];
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
            if (strtod(tmp, NULL) == d)
                break;
        }
        hb_buf_puts(out, tmp);
    }
}

void hb_msgpack_to_json(const msgpack_object *o, hb_buf_t *out)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        hb_buf_puts(out, "null");
        break;
    case MSGPACK_OBJECT_BOOLEAN:
        hb_buf_puts(out, o->via.boolean ? "true" : "false");
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        hb_buf_printf(out, "%llu", (unsigned long long)o->via.u64);
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        hb_buf_printf(out, "%lld", (long long)o->via.i64);
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        if (isfinite(o->via.f64))
            hb_js_number(o->via.f64, out);
        else
            hb_buf_puts(out, "null"); /* as JSON.stringify */
        break;
    case MSGPACK_OBJECT_STR:
        hb_json_str(out, o->via.str.ptr, o->via.str.size);
        break;
    case MSGPACK_OBJECT_BIN:
        hb_json_str(out, o->via.bin.ptr, o->via.bin.size);
        break;
    case MSGPACK_OBJECT_ARRAY:
        hb_buf_putc(out, '[');
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            if (i)
                hb_buf_putc(out, ',');
            hb_msgpack_to_json(&o->via.array.ptr[i], out);
        }
        hb_buf_putc(out, ']');
        break;
    case MSGPACK_OBJECT_MAP:
        hb_buf_putc(out, '{');
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (i)
                hb_buf_putc(out, ',');
            const msgpack_object *k = &o->via.map.ptr[i].key;
            if (k->type == MSGPACK_OBJECT_STR)
                hb_json_str(out, k->via.str.ptr, k->via.str.size);
            else
                hb_buf_puts(out, "\"\"");
            hb_buf_putc(out, ':');
            hb_msgpack_to_json(&o->via.map.ptr[i].val, out);
        }
        hb_buf_putc(out, '}');
        break;
    default:
        hb_buf_puts(out, "null");
    }
}
