/* bridge/core/verify.h: signature verification of a request, built once from a hb_verify_config_t. Pure. */
#ifndef HB_VERIFY_H
#define HB_VERIFY_H

#include <msgpack.h>

#include "config.h"
#include "request.h"
#include "scheme.h"

typedef struct hb_verifier hb_verifier_t;

/**
 * Builds a verifier: digests and MACs fetched, keys decoded and set up, plugin loaded, once. NULL on error, reason in
 * err (never a secret). Setup thread.
 */
hb_verifier_t *hb_verifier_new(const hb_verify_config_t *cfg, char *err, size_t errlen);
/** Accepts NULL. */
void hb_verifier_free(hb_verifier_t *v);
/**
 * Checks the request (raw body, headers, timestamps against req->received_at_ms). HB_STATUS_OK, or
 * HB_STATUS_UNAUTHORIZED with *reason set to a static or verifier-owned text ("Missing header X-...", "Signature
 * mismatch", "No signature matched", "Timestamp outside tolerance", "Missing secret", ...). Any thread.
 */
hb_status_t hb_verifier_check(const hb_verifier_t *v, const hb_request_t *req, const char **reason);
/** The lower-case header that carries the secret itself (gitlab's shared token), or NULL: it is redacted. */
const char *hb_verifier_secret_header(const hb_verifier_t *v);
/** The scheme recorded in the envelope's `verified` field: "hmac-sha256", "github", "plugin:NAME", "none". */
const char *hb_verifier_scheme(const hb_verifier_t *v);

/** A provider's set-up handshake answer. */
typedef struct hb_handshake {
    int status;
    const char *content_type;
    const char *header_name, *header_value; /* one more header, or NULL */
    hb_buf_t body;                          /* initialised by the caller; appended to */
} hb_handshake_t;

/**
 * Before verification: 1 when req is the provider's unsigned set-up request (Meta's GET with the verify token,
 * Dropbox's GET challenge), with the answer in hs; the request is answered with it and ends. Any thread.
 */
int hb_verifier_handshake_unsigned(const hb_verifier_t *v, const hb_request_t *req, hb_handshake_t *hs);
/** 1 when the provider has a signed handshake, so hb_verifier_handshake_signed() wants the parsed body. */
int hb_verifier_has_signed_handshake(const hb_verifier_t *v);
/**
 * After verification: 1 when the verified request is the provider's set-up or ping (Slack url_verification, Zoom
 * endpoint.url_validation, Discord PING), answer in hs; it is not published. body: the parsed body or NULL.
 */
int hb_verifier_handshake_signed(const hb_verifier_t *v, const hb_request_t *req, const msgpack_object *body,
                                 hb_handshake_t *hs);

/**
 * Appends to out the header lines ("Name: value\n") a sender would send now for req's body (req->path,
 * req->received_at_ms and a content-type header are used by the schemes that sign them), signed with the first
 * secret. Returns 0, or -1 with the reason in out when the scheme signs with a key we do not hold.
 */
int hb_verifier_sign_headers(const hb_verifier_t *v, const hb_request_t *req, hb_buf_t *out);
/** The same for the request a sender would make now: POST /webhooks/{endpoint_id} with body of content_type. */
int hb_verifier_sign_body(const hb_verifier_t *v, const char *endpoint_id, const char *body, size_t len,
                          const char *content_type, hb_buf_t *out);

#endif
