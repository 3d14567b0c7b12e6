/* bridge/core/json.h: writing JSON text into an hb_buf_t. Pure. */
#ifndef HB_JSON_H
#define HB_JSON_H

#include <msgpack.h>

#include "util.h"

/** Appends s (len bytes) as a quoted JSON string; control characters and invalid UTF-8 are escaped as \uXXXX. */
void hb_json_str(hb_buf_t *buf, const char *s, size_t len);
/** hb_json_str() of a C string; NULL is written as null. */
void hb_json_cstr(hb_buf_t *buf, const char *s);

/** Appends d as JavaScript's String(d) prints it for the usual cases (integers without ".0", else shortest). */
void hb_js_number(double d, hb_buf_t *out);
/** Appends o as JSON text, numbers as JavaScript prints them, non-finite floats as null (as JSON.stringify). */
void hb_msgpack_to_json(const msgpack_object *o, hb_buf_t *out);

#endif
