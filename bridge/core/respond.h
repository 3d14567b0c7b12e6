/* bridge/core/respond.h: respondWith responses: status, headers and body templates rendered from a request. Pure. */
#ifndef HB_RESPOND_H
#define HB_RESPOND_H

#include <msgpack.h>

#include "request.h"
#include "util.h"

typedef struct hb_template hb_template_t;

/**
 * Compiles a template: text with {{query.NAME}}, {{header.NAME}}, {{body.a.b}} and {{json body.a.b}} (the value as
 * JSON, strings quoted and escaped). A variable of another kind renders empty. NULL on a syntax error (an
 * unclosed "{{"), reason in err. Setup thread.
 */
hb_template_t *hb_template_compile(const char *text, char *err, size_t errlen);
/** Accepts NULL. */
void hb_template_free(hb_template_t *t);
/** 1 when the template refers to the body (so the body must be parsed to render it). */
int hb_template_needs_body(const hb_template_t *t);
/**
 * Appends the rendered text to out. body is the parsed body or NULL. A missing value renders empty; a string as
 * its text; a number as JavaScript prints it; an object or array as JSON. Any thread.
 */
void hb_template_render(const hb_template_t *t, const hb_request_t *req, const msgpack_object *body, hb_buf_t *out);

#endif
