/* bridge/verify.h: signature verification of a request, compiled once from a hb_verify_config_t. Pure. */
#ifndef HB_VERIFY_H
#define HB_VERIFY_H

#include "config.h"
#include "request.h"

typedef struct hb_verifier hb_verifier_t;

/** Builds a verifier (digests fetched and keys set up once). NULL on error, reason in err. Setup thread. */
hb_verifier_t *hb_verifier_new(const hb_verify_config_t *cfg, char *err, size_t errlen);
/** Accepts NULL. */
void hb_verifier_free(hb_verifier_t *v);
/**
 * Checks the request's signature over the raw body. HB_STATUS_OK, or HB_STATUS_UNAUTHORIZED with *reason set to a
 * static or verifier-owned text ("Missing header X-...", "Signature mismatch", "Missing secret"). Any thread.
 */
hb_status_t hb_verifier_check(const hb_verifier_t *v, const hb_request_t *req, const char **reason);
/** The scheme name recorded in the envelope's `verified` field: "hmac-sha256", "none", ... Borrowed. */
const char *hb_verifier_scheme(const hb_verifier_t *v);
/**
 * Computes the signature header value a sender would send for body: the encoded HMAC (no prefix), NUL-terminated,
 * into out of outlen bytes. Returns its length, or -1 when out is too small or verification is off. Any thread.
 */
long hb_verifier_sign(const hb_verifier_t *v, const uint8_t *body, size_t len, char *out, size_t outlen);

#endif
