/* bridge/json.h: writing JSON text into an hb_buf_t. Pure. */
#ifndef HB_JSON_H
#define HB_JSON_H

#include "util.h"

/** Appends s (len bytes) as a quoted JSON string; control characters and invalid UTF-8 are escaped as \uXXXX. */
void hb_json_str(hb_buf_t *buf, const char *s, size_t len);
/** hb_json_str() of a C string; NULL is written as null. */
void hb_json_cstr(hb_buf_t *buf, const char *s);

#endif
