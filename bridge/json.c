#include "json.h"

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
