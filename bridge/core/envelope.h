/* bridge/core/envelope.h: the v1 event envelope (DESIGN §4), msgpack encode and decode. Pure. */
#ifndef HB_ENVELOPE_H
#define HB_ENVELOPE_H

#include <msgpack.h>

#include "request.h"
#include "util.h"

#define HB_ENVELOPE_VERSION 1
#define HB_ENVELOPE_CONTENT_TYPE "application/vnd.hookbridge.event.v1+msgpack"
/** kafka.format: json: the same envelope as `hookbridge decode` prints it (body as text, or bodyBase64). */
#define HB_ENVELOPE_JSON_CONTENT_TYPE "application/vnd.hookbridge.event.v1+json"

/** What goes into one envelope besides the request itself. Borrowed. */
/** What a redacted header's value becomes in the envelope. */
#define HB_REDACTED "[redacted]"

/** The request header that marks a (verified) request as a test run from an example. */
#define HB_TEST_HEADER "x-hookbridge-test"

typedef struct hb_envelope_fields {
    const char *id;
    const char *endpoint;
    const char *source;
    const char *verified;
    const hb_request_t *req;
    const char *json; /* the parsed body as one msgpack value, or NULL when it did not parse */
    size_t json_len;
    const char *const *triggers; /* names of the triggers that route the event to this topic */
    size_t num_triggers;
    int test;                  /* a test run sent from an example: `test: true` (absent otherwise) */
    const char *const *redact; /* lower-case header names whose values become HB_REDACTED (credentials) */
    size_t num_redact;
} hb_envelope_fields_t;

/**
 * Appends the envelope to out (a msgpack_sbuffer the caller owns; its data is malloc'd). `triggers` is the last
 * field: the returned offset is where it starts, so that hb_envelope_retarget() can make the envelope of another
 * topic without encoding the rest again.
 */
size_t hb_envelope_encode(const hb_envelope_fields_t *ev, msgpack_sbuffer *out);
/** Appends to out the first prefix_len bytes of env (from hb_envelope_encode) followed by other triggers. */
void hb_envelope_retarget(const char *env, size_t prefix_len, const char *const *triggers, size_t num_triggers,
                          msgpack_sbuffer *out);

/** A decoded envelope; strings are not NUL-terminated and point into the unpacked object. */
typedef struct hb_envelope_view {
    int64_t version;
    msgpack_object_str id, endpoint, source, method, path, url, remote_addr, content_type, verified;
    int64_t received_at;
    const char *body;
    size_t body_len;
    const msgpack_object *query;   /* map str → str */
    const msgpack_object *headers; /* map str → str */
} hb_envelope_view_t;

/**
 * Unpacks data into up (msgpack_unpacked_init()ed by the caller, who destroys it) and fills out.
 * 0 on success; -1 with the reason in err when it is not a v1 envelope.
 */
int hb_envelope_decode(msgpack_unpacked *up, const char *data, size_t len, hb_envelope_view_t *out, char *err,
                       size_t errlen);
/**
 * Appends the envelope as one line of JSON: every field as it is, except `body`, which becomes a string where it is
 * valid UTF-8 and `bodyBase64` otherwise. 0 on success; -1 with the reason in err.
 */
int hb_envelope_to_json(const char *data, size_t len, hb_buf_t *out, char *err, size_t errlen);

/** Formats a UUIDv7 (RFC 9562) from unix milliseconds and 10 random bytes into out (37 bytes, NUL-terminated). */
void hb_uuid7_format(char out[37], int64_t unix_ms, const uint8_t random[10]);

#endif
