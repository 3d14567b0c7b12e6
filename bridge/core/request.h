/* bridge/core/request.h: a read-only view of one HTTP request, shared by the pure modules. */
#ifndef HB_REQUEST_H
#define HB_REQUEST_H

#include <stddef.h>
#include <stdint.h>

/**
 * Request-time outcome; each value is the HTTP status it is answered with (a respondWith answer carries its configured
 * status the same way). The two values below 100 are not answers: the server's pipeline steps return them to let the
 * request go on, or to say that a ticket answers it later.
 */
typedef enum hb_status {
    HB_STATUS_NEXT = 0,
    HB_STATUS_PENDING = 1,
    HB_STATUS_OK = 200,
    HB_STATUS_BAD_REQUEST = 400,
    HB_STATUS_UNAUTHORIZED = 401,
    HB_STATUS_NOT_FOUND = 404,
    HB_STATUS_TOO_LARGE = 413,
    HB_STATUS_UNAVAILABLE = 503,
} hb_status_t;

typedef struct hb_header {
    const char *name; /* lower-case */
    size_t name_len;
    const char *value;
    size_t value_len;
} hb_header_t;

/** Borrowed pointers, valid while the request lives (the server builds it from the h2o request's pool). */
typedef struct hb_request {
    const char *method;
    size_t method_len;
    const char *path; /* as received, query included */
    size_t path_len;
    size_t query_at; /* offset of '?' in path, or SIZE_MAX */
    const hb_header_t *headers;
    size_t num_headers;
    const uint8_t *body;
    size_t body_len;
    const char *remote_addr;
    int64_t received_at_ms; /* unix time */
} hb_request_t;

/** The first header with this lower-case name, or NULL. */
static inline const hb_header_t *hb_request_header(const hb_request_t *req, const char *name, size_t name_len)
{
    for (size_t i = 0; i < req->num_headers; i++) {
        const hb_header_t *h = &req->headers[i];
        if (h->name_len == name_len && __builtin_memcmp(h->name, name, name_len) == 0)
            return h;
    }
    return (const hb_header_t *)0;
}

#endif
