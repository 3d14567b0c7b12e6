#include "verify.h"

#include <ctype.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

struct hb_verifier {
    int none;
    int missing_secret;
    hb_sig_encoding_t encoding;
    const char *alg_name; /* "sha256": also the accepted prefix "sha256=" */
    char scheme[32];
    char *header_lc; /* lower-cased header name, as h2o hands them to us */
    size_t header_len;
    char *missing_header_reason;
    EVP_MAC *mac;
    EVP_MAC_CTX *keyed; /* HMAC with the key already set; duplicated per request */
    size_t mac_len;
};

hb_verifier_t *hb_verifier_new(const hb_verify_config_t *cfg, char *err, size_t errlen)
{
    hb_verifier_t *v = hb_xcalloc(1, sizeof(*v));
    if (cfg->none) {
        v->none = 1;
        snprintf(v->scheme, sizeof(v->scheme), "none");
        return v;
    }
    static const char *const names[] = {
        [HB_HMAC_SHA1] = "sha1", [HB_HMAC_SHA256] = "sha256", [HB_HMAC_SHA512] = "sha512"};
    static const char *const digests[] = {
        [HB_HMAC_SHA1] = "SHA1", [HB_HMAC_SHA256] = "SHA2-256", [HB_HMAC_SHA512] = "SHA2-512"};
    v->encoding = cfg->encoding;
    v->alg_name = names[cfg->algorithm];
    snprintf(v->scheme, sizeof(v->scheme), "hmac-%s", v->alg_name);
    v->header_len = strlen(cfg->header_name);
    v->header_lc = hb_xstrdup(cfg->header_name);
    for (char *p = v->header_lc; *p != '\0'; p++)
        *p = (char)tolower((unsigned char)*p);
    hb_buf_t reason;
    hb_buf_init(&reason);
    hb_buf_printf(&reason, "Missing header %s", cfg->header_name);
    v->missing_header_reason = hb_buf_release(&reason);
    if (cfg->secret == NULL || cfg->secret_len == 0) {
        v->missing_secret = 1;
        return v;
    }
    v->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (v->mac == NULL) {
        snprintf(err, errlen, "OpenSSL has no HMAC");
        goto Error;
    }
    v->keyed = EVP_MAC_CTX_new(v->mac);
    OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)digests[cfg->algorithm], 0),
                           OSSL_PARAM_construct_end()};
    if (v->keyed == NULL || !EVP_MAC_init(v->keyed, (const unsigned char *)cfg->secret, cfg->secret_len, params)) {
        snprintf(err, errlen, "OpenSSL cannot set up HMAC-%s", v->alg_name);
        goto Error;
    }
    v->mac_len = EVP_MAC_CTX_get_mac_size(v->keyed);
    return v;
Error:
    hb_verifier_free(v);
    return NULL;
}

void hb_verifier_free(hb_verifier_t *v)
{
    if (v == NULL)
        return;
    EVP_MAC_CTX_free(v->keyed);
    EVP_MAC_free(v->mac);
    free(v->header_lc);
    free(v->missing_header_reason);
    free(v);
}

const char *hb_verifier_scheme(const hb_verifier_t *v)
{
    return v->scheme;
}

/* HMAC of body into out (EVP_MAX_MD_SIZE bytes). 0 on success. */
static int hb_verifier_mac(const hb_verifier_t *v, const uint8_t *body, size_t len, uint8_t *out)
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(v->keyed);
    size_t outlen = 0;
    int ok = ctx != NULL && EVP_MAC_update(ctx, body, len) && EVP_MAC_final(ctx, out, &outlen, EVP_MAX_MD_SIZE);
    EVP_MAC_CTX_free(ctx);
    return ok && outlen == v->mac_len ? 0 : -1;
}

hb_status_t hb_verifier_check(const hb_verifier_t *v, const hb_request_t *req, const char **reason)
{
    if (v->none)
        return HB_STATUS_OK;
    const hb_header_t *h = hb_request_header(req, v->header_lc, v->header_len);
    if (h == NULL) {
        *reason = v->missing_header_reason;
        return HB_STATUS_UNAUTHORIZED;
    }
    if (v->missing_secret) {
        *reason = "Missing secret";
        return HB_STATUS_UNAUTHORIZED;
    }
    const char *sig = h->value;
    size_t siglen = h->value_len;
    while (siglen > 0 && (*sig == ' ' || *sig == '\t'))
        sig++, siglen--;
    while (siglen > 0 && (sig[siglen - 1] == ' ' || sig[siglen - 1] == '\t'))
        siglen--;
    /* "sha256=<sig>": the prefix may name the algorithm, as GitHub and Cal.com do */
    size_t alglen = strlen(v->alg_name);
    if (siglen > alglen && sig[alglen] == '=' && hb_strcase_eq(sig, alglen, v->alg_name, alglen))
        sig += alglen + 1, siglen -= alglen + 1;

    uint8_t expected[EVP_MAX_MD_SIZE], given[EVP_MAX_MD_SIZE + 4];
    long givenlen = -1;
    if (v->encoding == HB_ENC_HEX) {
        if (siglen == 2 * v->mac_len)
            givenlen = hb_hex_decode(given, sig, siglen);
    } else if (siglen <= hb_base64_encoded_len(v->mac_len)) {
        givenlen = hb_base64_decode(given, sig, siglen);
    }
    if (hb_verifier_mac(v, req->body, req->body_len, expected) != 0) {
        *reason = "Signature check failed";
        return HB_STATUS_UNAUTHORIZED;
    }
    if (givenlen != (long)v->mac_len || CRYPTO_memcmp(expected, given, v->mac_len) != 0) {
        *reason = "Signature mismatch";
        return HB_STATUS_UNAUTHORIZED;
    }
    return HB_STATUS_OK;
}

long hb_verifier_sign(const hb_verifier_t *v, const uint8_t *body, size_t len, char *out, size_t outlen)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    if (v->none || v->missing_secret || hb_verifier_mac(v, body, len, mac) != 0)
        return -1;
    if (v->encoding == HB_ENC_HEX) {
        if (outlen < 2 * v->mac_len + 1)
            return -1;
        hb_hex_encode(out, mac, v->mac_len);
        return (long)(2 * v->mac_len);
    }
    if (outlen < hb_base64_encoded_len(v->mac_len) + 1)
        return -1;
    return (long)hb_base64_encode(out, mac, v->mac_len, v->encoding == HB_ENC_BASE64URL);
}
