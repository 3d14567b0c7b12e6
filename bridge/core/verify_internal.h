/*
 * bridge/core/verify_internal.h: what verify.c and handshake.c share: the verifier, spans of a request, the signed
 * message, and the helpers both read a request with. Private to bridge/core/verify.c and handshake.c.
 */
#ifndef HB_VERIFY_INTERNAL_H
#define HB_VERIFY_INTERNAL_H

#include <msgpack.h>
#include <openssl/evp.h>
#include <pthread.h>

#include "plugin.h"
#include "verify.h"

#define HB_MAX_CANDIDATES 8
#define HB_MAX_SIG ((size_t)80) /* decoded bytes: an Ed25519 signature is 64, a DER ECDSA P-256 one at most 72 */
#define HB_SEEN_TOKENS 4096

typedef struct hb_seen {
    uint64_t hash;
    int64_t until_ms;
} hb_seen_t;

struct hb_verifier {
    hb_scheme_t s;                               /* the row: a preset's, or the generic one built from the config */
    hb_scheme_part_t parts[HB_SCHEME_MAX_PARTS]; /* s.signed_content, parsed */
    size_t num_parts;
    char *part_header[HB_SCHEME_MAX_PARTS]; /* {header:NAME} parts: NAME lower-cased (the part's text points here) */
    int uses_id;                            /* {id} is signed: the id header is compulsory */
    int none;
    int missing_secret;
    char scheme[64];
    char generic_prefix[16]; /* the generic row's "<algorithm>=" */
    char *generic_header;    /* the generic row's signature header, copied from the config */
    char *sig_lc;            /* the signature header's name, lower-case as h2o hands headers to us */
    size_t sig_lc_len, ts_header_len, id_header_len;
    char *missing_header_reason;
    EVP_MAC *mac;
    EVP_MAC_CTX **hmacs; /* one keyed context per secret, duplicated per request */
    int64_t *hmac_until; /* each one's expiry (hb_secret_t.until_ms), 0: none */
    size_t num_hmacs;
    hb_secret_t *tokens; /* token split: the shared tokens */
    size_t num_tokens;
    EVP_PKEY **pkeys; /* public keys: Ed25519 (discord, v1a) or EC P-256 (sendgrid) */
    size_t num_pkeys;
    int64_t tolerance_ms;
    char *public_url;
    size_t public_url_len; /* without trailing '/' */
    char *verify_token;
    hb_plugin_t *plugin;
    pthread_mutex_t seen_lock; /* tokenReplay: tokens already used, a ring */
    hb_seen_t *seen;
    size_t seen_next;
};

typedef struct hb_span {
    const char *p;
    size_t n;
} hb_span_t;

/* The signed message: the template's parts, each a span or ({url}) two. */
typedef struct hb_message {
    hb_span_t part[2 * HB_SCHEME_MAX_PARTS];
    size_t n;
} hb_message_t;

/** The bytes at p without leading and trailing spaces and tabs. */
hb_span_t hb_trim(const char *p, size_t n);
/** 1 when s is the C string lit. */
int hb_span_is(hb_span_t s, const char *lit);
/** Appends a span to the message (aborts past its capacity: a programming error). */
void hb_msg_add(hb_message_t *m, const void *p, size_t n);
/** A string value of a msgpack map by key (the last one wins, as JSON.parse): 1 and *out, or 0. */
int hb_map_str(const msgpack_object *o, const char *key, hb_span_t *out);
/** A value of a msgpack map by key (the last one wins), or NULL. */
const msgpack_object *hb_map_get(const msgpack_object *o, const char *key);
/** The HMAC of the message's spans with a duplicate of the keyed context: 1, or 0 when OpenSSL fails. */
int hb_hmac_parts(EVP_MAC_CTX *keyed, const hb_message_t *m, uint8_t *out, size_t *outlen);
/** The first keyed context whose secret has not expired at now_ms, or NULL: what signs (sign, handshakes). */
EVP_MAC_CTX *hb_signing_hmac(const hb_verifier_t *v, int64_t now_ms);

#endif
