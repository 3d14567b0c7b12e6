/*
 * bridge/core/verify.c: verification by a scheme (scheme.h): a provider preset's row, or the generic HMAC row built
 * from the config; the split of the signature header and the signed template are walked as data, the handshakes and
 * the named checks stay code. Plugins.
 */
#include "verify.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "body.h"
#include "filter.h"
#include "json.h"
#include "plugin.h"
#include "verify_internal.h"

/* ---- the verifier ---- */

static const char *const hb_hmac_digests[] = {
    [HB_ALG_SHA1] = "SHA1", [HB_ALG_SHA256] = "SHA2-256", [HB_ALG_SHA512] = "SHA2-512"};

static int hb_alg_is_hmac(hb_scheme_alg_t alg)
{
    return alg == HB_ALG_SHA1 || alg == HB_ALG_SHA256 || alg == HB_ALG_SHA512;
}

static int hb_alg_is_asymmetric(hb_scheme_alg_t alg)
{
    return alg == HB_ALG_ED25519 || alg == HB_ALG_ECDSA_P256;
}

/* The secret's key bytes: as written, or what its hex or base64 (after "whsec_" for whsec) writes. -1 when it does
   not decode. */
static long hb_secret_key(hb_secret_form_t form, const hb_secret_t *s, uint8_t **out)
{
    if (form == HB_SECRET_RAW) {
        *out = hb_xmalloc(s->len + 1);
        memcpy(*out, s->data, s->len);
        return (long)s->len;
    }
    const char *text = s->data;
    size_t len = s->len;
    if (form == HB_SECRET_WHSEC && len > 3 && memcmp(text, "v1,", 3) == 0) /* Supabase writes "v1,whsec_..." */
        text += 3, len -= 3;
    if (form == HB_SECRET_WHSEC && len > 6 && memcmp(text, "whsec_", 6) == 0)
        text += 6, len -= 6;
    *out = hb_xmalloc(len * 3 / 4 + 3);
    long n = form == HB_SECRET_HEX ? hb_hex_decode(*out, text, len) : hb_base64_decode(*out, text, len);
    if (n <= 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return n;
}

/* An Ed25519 key from its 32 raw bytes in text (hex, or base64 after an optional prefix); NULL when it is not one. */
static EVP_PKEY *hb_raw_ed25519(hb_pubkey_form_t form, const char *text, size_t len)
{
    uint8_t raw[48];
    long n = -1;
    if (form == HB_PUBKEY_HEX) {
        if (len == 64)
            n = hb_hex_decode(raw, text, len);
    } else {
        if (form == HB_PUBKEY_WHPK && len > 5 && memcmp(text, "whpk_", 5) == 0)
            text += 5, len -= 5;
        if (len <= 48)
            n = hb_base64_decode(raw, text, len);
    }
    return n == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32) : NULL;
}

/* A SubjectPublicKeyInfo: base64 of its DER (spki) or a PEM "PUBLIC KEY" block (pem). */
static EVP_PKEY *hb_spki_key(hb_pubkey_form_t form, const char *text, size_t len)
{
    if (form == HB_PUBKEY_PEM) {
        BIO *bio = BIO_new_mem_buf(text, (int)len);
        EVP_PKEY *k = bio != NULL ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
        BIO_free(bio);
        return k;
    }
    uint8_t der[1024];
    long n = len <= (sizeof(der) - 3) * 4 / 3 ? hb_base64_decode(der, text, len) : -1;
    const unsigned char *q = der;
    return n > 0 ? d2i_PUBKEY(NULL, &q, n) : NULL;
}

/* The public key text in form, of the kind the algorithm checks (EC P-256 for ecdsa-p256, else Ed25519). */
static EVP_PKEY *hb_public_key(hb_pubkey_form_t form, hb_scheme_alg_t alg, const char *text, char *err, size_t errlen)
{
    static const char *const forms[] = {[HB_PUBKEY_HEX] = "64 hex digits",
                                        [HB_PUBKEY_WHPK] = "whpk_ and the base64 of 32 bytes",
                                        [HB_PUBKEY_SPKI] = "the base64 of its DER SubjectPublicKeyInfo",
                                        [HB_PUBKEY_BASE64] = "the base64 of 32 bytes",
                                        [HB_PUBKEY_PEM] = "a PEM PUBLIC KEY block"};
    size_t len = strlen(text);
    int ec = alg == HB_ALG_ECDSA_P256;
    EVP_PKEY *k = form == HB_PUBKEY_SPKI || form == HB_PUBKEY_PEM ? hb_spki_key(form, text, len)
                                                                  : hb_raw_ed25519(form, text, len);
    if (k != NULL && !EVP_PKEY_is_a(k, ec ? "EC" : "ED25519")) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    if (k == NULL)
        snprintf(err, errlen, "verify.publicKey is not an %s public key (%s)", ec ? "EC" : "Ed25519", forms[form]);
    return k;
}

/* 1 when a secret that expires at until_ms (0: never) has expired at now_ms. */
static int hb_expired(int64_t until_ms, int64_t now_ms)
{
    return until_ms != 0 && now_ms >= until_ms;
}

/* The first keyed context whose secret has not expired at now_ms, or NULL: what signs (sign, handshakes). */
EVP_MAC_CTX *hb_signing_hmac(const hb_verifier_t *v, int64_t now_ms)
{
    for (size_t k = 0; k < v->num_hmacs; k++)
        if (!hb_expired(v->hmac_until[k], now_ms))
            return v->hmacs[k];
    return NULL;
}

/* The secrets: keyed HMAC contexts (or, for a token split, the tokens), all set up now, none per request. */
static int hb_verifier_secrets(hb_verifier_t *v, const hb_verify_config_t *cfg, char *err, size_t errlen)
{
    size_t usable = 0;
    for (size_t i = 0; i < cfg->num_secrets; i++)
        usable += cfg->secrets[i].len > 0;
    if (usable == 0 && cfg->num_public_keys == 0)
        v->missing_secret = 1;
    if (usable > 0 && hb_alg_is_hmac(v->s.algorithm)) {
        v->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (v->mac == NULL) {
            snprintf(err, errlen, "OpenSSL has no HMAC");
            return -1;
        }
        v->hmacs = hb_xcalloc(usable, sizeof(*v->hmacs));
        v->hmac_until = hb_xcalloc(usable, sizeof(*v->hmac_until));
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)hb_hmac_digests[v->s.algorithm], 0),
            OSSL_PARAM_construct_end()};
        for (size_t i = 0; i < cfg->num_secrets; i++) {
            if (cfg->secrets[i].len == 0)
                continue;
            uint8_t *key;
            long klen = hb_secret_key(v->s.secret_form, &cfg->secrets[i], &key);
            if (klen < 0) {
                static const char *const forms[] = {[HB_SECRET_WHSEC] = "whsec_ followed by base64",
                                                    [HB_SECRET_HEX] = "hex digits",
                                                    [HB_SECRET_BASE64] = "base64"};
                snprintf(err, errlen, "secret %zu is not %s", i + 1, forms[v->s.secret_form]);
                return -1;
            }
            EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(v->mac);
            int ok = ctx != NULL && EVP_MAC_init(ctx, key, (size_t)klen, params);
            OPENSSL_clear_free(key, (size_t)klen + 1);
            if (!ok) {
                EVP_MAC_CTX_free(ctx);
                snprintf(err, errlen, "OpenSSL cannot set up HMAC-%s",
                         hb_scheme_word(HB_FIELD_ALGORITHM, (int)v->s.algorithm));
                return -1;
            }
            v->hmac_until[v->num_hmacs] = cfg->secrets[i].until_ms;
            v->hmacs[v->num_hmacs++] = ctx;
        }
    }
    if (v->s.split.kind == HB_SPLIT_TOKEN) {
        v->tokens = hb_xcalloc(cfg->num_secrets, sizeof(*v->tokens));
        for (size_t i = 0; i < cfg->num_secrets; i++)
            if (cfg->secrets[i].len > 0)
                v->tokens[v->num_tokens++] = (hb_secret_t){hb_xstrndup(cfg->secrets[i].data, cfg->secrets[i].len),
                                                           cfg->secrets[i].len, cfg->secrets[i].until_ms};
    }
    return 0;
}

static int hb_verifier_public_keys(hb_verifier_t *v, const hb_verify_config_t *cfg, char *err, size_t errlen)
{
    if (cfg->num_public_keys == 0)
        return 0;
    if (v->s.public_key_form == HB_PUBKEY_NONE) {
        snprintf(err, errlen, "verify.publicKey is for discord, sendgrid, standard-webhooks and svix");
        return -1;
    }
    v->pkeys = hb_xcalloc(cfg->num_public_keys, sizeof(*v->pkeys));
    for (size_t i = 0; i < cfg->num_public_keys; i++) {
        if ((v->pkeys[i] = hb_public_key(v->s.public_key_form, v->s.algorithm, cfg->public_keys[i], err, errlen)) ==
            NULL)
            return -1;
        v->num_pkeys++;
    }
    return 0;
}

/* The row of `verify: {headerName, algorithm, headerEncoding}`: a plain HMAC of the body, "<algorithm>=" optional. */
static void hb_generic_scheme(hb_verifier_t *v, const hb_verify_config_t *cfg)
{
    static const hb_scheme_alg_t algs[] = {
        [HB_HMAC_SHA1] = HB_ALG_SHA1, [HB_HMAC_SHA256] = HB_ALG_SHA256, [HB_HMAC_SHA512] = HB_ALG_SHA512};
    static const hb_scheme_enc_t encs[] = {[HB_ENC_HEX] = HB_ENCODING_HEX,
                                           [HB_ENC_BASE64] = HB_ENCODING_BASE64,
                                           [HB_ENC_BASE64URL] = HB_ENCODING_BASE64URL};
    const char *alg = hb_scheme_word(HB_FIELD_ALGORITHM, (int)algs[cfg->algorithm]);
    snprintf(v->scheme, sizeof(v->scheme), "hmac-%s", alg);
    snprintf(v->generic_prefix, sizeof(v->generic_prefix), "%s=", alg);
    v->generic_header = cfg->header_name != NULL ? hb_xstrdup(cfg->header_name) : NULL;
    v->s = (hb_scheme_t){.name = v->scheme,
                         .needs = HB_PRESET_SECRET,
                         .signature_header = v->generic_header,
                         .split = {.kind = HB_SPLIT_PLAIN, .prefix = v->generic_prefix},
                         .signed_content = "{body}",
                         .algorithm = algs[cfg->algorithm],
                         .encoding = encs[cfg->encoding]};
}

/* What every scheme sets up from its row and the config: the template, the headers, the keys. */
static int hb_verifier_setup(hb_verifier_t *v, const hb_verify_config_t *cfg, char *err, size_t errlen)
{
    const hb_scheme_t *s = &v->s;
    if (s->split.kind != HB_SPLIT_TOKEN) {
        int n = hb_scheme_template_parse(s->signed_content, v->parts, HB_ARRAY_SIZE(v->parts), err, errlen);
        if (n < 0)
            return -1;
        v->num_parts = (size_t)n;
    }
    for (size_t i = 0; i < v->num_parts; i++) {
        hb_scheme_part_t *part = &v->parts[i];
        v->uses_id |= part->kind == HB_PART_ID;
        if (part->kind == HB_PART_HEADER) { /* h2o hands header names to us lower-case */
            char *lc = v->part_header[i] = hb_xstrndup(part->text, part->len);
            for (char *c = lc; *c != '\0'; c++)
                *c = (char)tolower((unsigned char)*c);
            part->text = lc;
        }
    }
    if (v->uses_id && s->id_header == NULL) {
        snprintf(err, errlen, "signed content \"%s\" has {id}: the scheme needs idHeader", s->signed_content);
        return -1;
    }
    v->id_header_len = s->id_header != NULL ? strlen(s->id_header) : 0;
    v->ts_header_len = s->timestamp_header != NULL ? strlen(s->timestamp_header) : 0;
    v->tolerance_ms = cfg->tolerance_ms != 0 ? (int64_t)cfg->tolerance_ms
                      : s->tolerance_s != 0  ? (int64_t)s->tolerance_s * 1000
                                             : 300000;
    if (cfg->public_url != NULL) {
        v->public_url = hb_xstrdup(cfg->public_url);
        v->public_url_len = strlen(v->public_url);
        while (v->public_url_len > 0 && v->public_url[v->public_url_len - 1] == '/')
            v->public_url_len--;
    }
    v->verify_token = cfg->verify_token != NULL ? hb_xstrdup(cfg->verify_token) : NULL;

    hb_buf_t reason;
    hb_buf_init(&reason);
    if (s->signature_header != NULL) {
        v->sig_lc = hb_xstrdup(s->signature_header);
        for (char *c = v->sig_lc; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        v->sig_lc_len = strlen(v->sig_lc);
        hb_buf_printf(&reason, "Missing header %s", s->signature_header);
    } else {
        hb_buf_puts(&reason, "Missing signature");
    }
    v->missing_header_reason = hb_buf_release(&reason);
    if (hb_verifier_secrets(v, cfg, err, errlen) != 0 || hb_verifier_public_keys(v, cfg, err, errlen) != 0)
        return -1;
    if (s->checks & HB_CHECK_TOKEN_REPLAY)
        v->seen = hb_xcalloc(HB_SEEN_TOKENS, sizeof(*v->seen));
    return 0;
}

hb_verifier_t *hb_verifier_new(const hb_verify_config_t *cfg, char *err, size_t errlen)
{
    hb_verifier_t *v = hb_xcalloc(1, sizeof(*v));
    pthread_mutex_init(&v->seen_lock, NULL);
    if (cfg->none) {
        v->none = 1;
        snprintf(v->scheme, sizeof(v->scheme), "none");
        return v;
    }
    if (cfg->plugin != NULL) {
        v->plugin = hb_plugin_load(cfg->plugin, cfg->plugin_symbol,
                                   cfg->plugin_config != NULL ? cfg->plugin_config : "{}", err, errlen);
        if (v->plugin == NULL)
            goto Error;
        snprintf(v->scheme, sizeof(v->scheme), "%s", hb_plugin_name(v->plugin));
        return v;
    }
    if (cfg->provider != NULL) {
        const hb_scheme_t *s = hb_scheme_find(cfg->provider);
        if (s == NULL) {
            snprintf(err, errlen, "unknown verify.provider \"%s\"", cfg->provider);
            goto Error;
        }
        v->s = *s;
        snprintf(v->scheme, sizeof(v->scheme), "%s", cfg->provider);
    } else if (cfg->scheme != NULL) {
        v->s = *cfg->scheme;
        snprintf(v->scheme, sizeof(v->scheme), "%s", v->s.name != NULL ? v->s.name : "scheme");
    } else {
        hb_generic_scheme(v, cfg);
    }
    if (hb_verifier_setup(v, cfg, err, errlen) != 0)
        goto Error;
    return v;
Error:
    hb_verifier_free(v);
    return NULL;
}

void hb_verifier_free(hb_verifier_t *v)
{
    if (v == NULL)
        return;
    for (size_t i = 0; i < v->num_hmacs; i++)
        EVP_MAC_CTX_free(v->hmacs[i]);
    free(v->hmacs);
    free(v->hmac_until);
    EVP_MAC_free(v->mac);
    for (size_t i = 0; i < v->num_tokens; i++)
        OPENSSL_clear_free(v->tokens[i].data, v->tokens[i].len);
    free(v->tokens);
    for (size_t i = 0; i < v->num_pkeys; i++)
        EVP_PKEY_free(v->pkeys[i]);
    free(v->pkeys);
    for (size_t i = 0; i < v->num_parts; i++)
        free(v->part_header[i]);
    free(v->generic_header);
    free(v->sig_lc);
    free(v->missing_header_reason);
    free(v->public_url);
    free(v->verify_token);
    free(v->seen);
    hb_plugin_free(v->plugin);
    pthread_mutex_destroy(&v->seen_lock);
    free(v);
}

const char *hb_verifier_secret_header(const hb_verifier_t *v)
{
    return !v->none && v->plugin == NULL && v->s.split.kind == HB_SPLIT_TOKEN ? v->sig_lc : NULL;
}

const char *hb_verifier_scheme(const hb_verifier_t *v)
{
    return v->scheme;
}

/* ---- reading a request ---- */

hb_span_t hb_trim(const char *p, size_t n)
{
    while (n > 0 && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return (hb_span_t){p, n};
}

int hb_span_is(hb_span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* A signature candidate, decoded. */
typedef struct hb_candidate {
    uint8_t sig[HB_MAX_SIG];
    size_t len;
    int asymmetric; /* checked with a public key (discord, sendgrid, svix's v1a) */
} hb_candidate_t;

/* The signature header taken apart, and what the signed template reads from the request. */
typedef struct hb_parsed_sig {
    hb_candidate_t c[HB_MAX_CANDIDATES];
    size_t n;
    int given; /* how many signatures the header held, decodable or not */
    hb_span_t ts;
    hb_span_t id;
    hb_span_t token;  /* body split */
    hb_buf_t scratch; /* body split: the timestamp and token, copied */
} hb_parsed_sig_t;

static void hb_add_candidate(hb_parsed_sig_t *ps, hb_scheme_enc_t enc, hb_span_t s, int asymmetric)
{
    ps->given++;
    if (ps->n == HB_MAX_CANDIDATES || s.n == 0 || s.n > 2 * HB_MAX_SIG)
        return;
    hb_candidate_t *c = &ps->c[ps->n];
    long n;
    if (enc == HB_ENCODING_HEX) {
        n = hb_hex_decode(c->sig, s.p, s.n);
    } else {
        uint8_t tmp[2 * HB_MAX_SIG];
        n = hb_base64_decode(tmp, s.p, s.n);
        if (n > 0 && (size_t)n <= HB_MAX_SIG)
            memcpy(c->sig, tmp, (size_t)n);
        else
            n = -1;
    }
    if (n <= 0)
        return;
    c->len = (size_t)n;
    c->asymmetric = asymmetric;
    ps->n++;
}

/* plain: the value after the required prefix (without it: a signature that cannot match), the optional one cut. */
static void hb_split_plain(const hb_scheme_t *s, hb_parsed_sig_t *ps, hb_span_t h)
{
    const hb_split_t *sp = &s->split;
    if (sp->required_prefix != NULL) {
        size_t n = strlen(sp->required_prefix);
        if (h.n <= n || memcmp(h.p, sp->required_prefix, n) != 0) {
            ps->given++;
            return;
        }
        h.p += n, h.n -= n;
    }
    if (sp->prefix != NULL) { /* "sha256=<sig>", as GitHub and Cal.com send it; any case */
        size_t n = strlen(sp->prefix);
        if (h.n >= n && hb_strcase_eq(h.p, n, sp->prefix, n))
            h.p += n, h.n -= n;
    }
    hb_add_candidate(ps, s->encoding, h, hb_alg_is_asymmetric(s->algorithm));
}

/* pairs: "k=v<sep>k=v…", items trimmed: each "timestamp_key=" is the timestamp, each "signature_key=" a candidate. */
static void hb_split_pairs(const hb_scheme_t *s, hb_parsed_sig_t *ps, hb_span_t h)
{
    const hb_split_t *sp = &s->split;
    size_t tk = strlen(sp->timestamp_key), sk = strlen(sp->signature_key);
    for (size_t i = 0; i < h.n;) {
        const char *end = memchr(h.p + i, sp->separator, h.n - i);
        size_t len = end != NULL ? (size_t)(end - (h.p + i)) : h.n - i;
        hb_span_t item = hb_trim(h.p + i, len);
        if (item.n > tk && memcmp(item.p, sp->timestamp_key, tk) == 0 && item.p[tk] == '=')
            ps->ts = (hb_span_t){item.p + tk + 1, item.n - tk - 1};
        else if (item.n > sk && memcmp(item.p, sp->signature_key, sk) == 0 && item.p[sk] == '=')
            hb_add_candidate(ps, s->encoding, (hb_span_t){item.p + sk + 1, item.n - sk - 1}, 0);
        i += len + 1;
    }
}

/* 1 when item is "key,<sig>" with a signature after the comma, which is then *sig. */
static int hb_list_entry(hb_span_t item, const char *key, hb_span_t *sig)
{
    size_t k = key != NULL ? strlen(key) : 0;
    if (key == NULL || item.n <= k + 1 || memcmp(item.p, key, k) != 0 || item.p[k] != ',')
        return 0;
    *sig = (hb_span_t){item.p + k + 1, item.n - k - 1};
    return 1;
}

/* list: "v1,<sig> v1a,<sig> …": signature_key entries are HMACs, ed25519_key ones Ed25519 signatures. */
static void hb_split_list(const hb_scheme_t *s, hb_parsed_sig_t *ps, hb_span_t h)
{
    const hb_split_t *sp = &s->split;
    for (size_t i = 0; i < h.n;) {
        const char *end = memchr(h.p + i, sp->separator, h.n - i);
        size_t len = end != NULL ? (size_t)(end - (h.p + i)) : h.n - i;
        hb_span_t item = {h.p + i, len}, sig;
        if (hb_list_entry(item, sp->signature_key, &sig))
            hb_add_candidate(ps, s->encoding, sig, 0);
        else if (hb_list_entry(item, sp->ed25519_key, &sig))
            hb_add_candidate(ps, s->encoding, sig, 1);
        i += len + 1;
    }
}

/* A string value of a msgpack map, by key. */
int hb_map_str(const msgpack_object *o, const char *key, hb_span_t *out)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
        return 0;
    size_t klen = strlen(key);
    int found = 0;
    for (uint32_t i = 0; i < o->via.map.size; i++) { /* the last one wins, as JSON.parse */
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen &&
            memcmp(kv->key.via.str.ptr, key, klen) == 0) {
            found = kv->val.type == MSGPACK_OBJECT_STR;
            if (found)
                *out = (hb_span_t){kv->val.via.str.ptr, kv->val.via.str.size};
        }
    }
    return found;
}

const msgpack_object *hb_map_get(const msgpack_object *o, const char *key)
{
    if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
        return NULL;
    size_t klen = strlen(key);
    const msgpack_object *found = NULL;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object_kv *kv = &o->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == klen &&
            memcmp(kv->key.via.str.ptr, key, klen) == 0)
            found = &kv->val;
    }
    return found;
}

static int hb_is_form(const hb_request_t *req)
{
    const hb_header_t *ct = hb_request_header(req, "content-type", 12);
    return ct != NULL && ct->value_len >= 33 && hb_strcase_eq(ct->value, 33, "application/x-www-form-urlencoded", 33);
}

/*
 * body: Mailgun signs inside the body: JSON {"signature": {"timestamp", "token", "signature"}} (webhooks) or the
 * form fields timestamp, token and signature (legacy). The timestamp and token are copied into ps->scratch.
 */
static void hb_split_body(const hb_scheme_t *s, hb_parsed_sig_t *ps, const hb_request_t *req)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    int parsed;
    if (hb_is_form(req)) {
        hb_form_to_msgpack((const char *)req->body, req->body_len, &sb);
        parsed = 1;
    } else {
        parsed = hb_json_to_msgpack((const char *)req->body, req->body_len, HB_BODY_MAX_DEPTH, &sb, NULL, 0) == 0;
    }
    size_t off = 0;
    hb_span_t ts, token, sig;
    if (parsed && msgpack_unpack_next(&up, sb.data, sb.size, &off) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *root = &up.data, *inner = hb_map_get(root, "signature");
        const msgpack_object *holder = inner != NULL && inner->type == MSGPACK_OBJECT_MAP ? inner : root;
        if (hb_map_str(holder, "timestamp", &ts) && hb_map_str(holder, "token", &token) &&
            hb_map_str(holder, "signature", &sig)) {
            hb_buf_append(&ps->scratch, ts.p, ts.n);
            hb_buf_append(&ps->scratch, token.p, token.n);
            ps->ts = (hb_span_t){ps->scratch.base, ts.n};
            ps->token = (hb_span_t){ps->scratch.base + ts.n, token.n};
            hb_add_candidate(ps, s->encoding, sig, 0);
        }
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

/* Takes the signature header (h: its trimmed value) or the body apart into ps; a token split has nothing to take. */
static void hb_split(const hb_scheme_t *s, hb_parsed_sig_t *ps, hb_span_t h, const hb_request_t *req)
{
    switch (s->split.kind) {
    case HB_SPLIT_PLAIN:
        hb_split_plain(s, ps, h);
        break;
    case HB_SPLIT_PAIRS:
        hb_split_pairs(s, ps, h);
        break;
    case HB_SPLIT_LIST:
        hb_split_list(s, ps, h);
        break;
    case HB_SPLIT_BODY:
        hb_split_body(s, ps, req);
        break;
    case HB_SPLIT_TOKEN:
        break;
    }
}

void hb_msg_add(hb_message_t *m, const void *p, size_t n)
{
    if (m->n == HB_ARRAY_SIZE(m->part))
        abort(); /* more spans than parts allow: a programming error */
    m->part[m->n++] = (hb_span_t){p, n};
}

typedef struct hb_form_pair {
    hb_span_t name, value;
} hb_form_pair_t;

static int hb_pair_cmp(const void *a, const void *b)
{
    const hb_form_pair_t *x = a, *y = b;
    size_t n = x->name.n < y->name.n ? x->name.n : y->name.n;
    int c = memcmp(x->name.p, y->name.p, n);
    if (c != 0 || x->name.n != y->name.n)
        return c != 0 ? c : (x->name.n < y->name.n ? -1 : 1);
    n = x->value.n < y->value.n ? x->value.n : y->value.n;
    c = memcmp(x->value.p, y->value.p, n);
    return c != 0 ? c : (x->value.n < y->value.n ? -1 : x->value.n > y->value.n);
}

/* {form:sorted}: each distinct form parameter (sorted) as name followed by value; nothing unless a form is posted. */
static void hb_form_sorted(const hb_request_t *req, hb_buf_t *out)
{
    if (!hb_is_form(req))
        return;
    /* decode every name and value once into one buffer, then sort spans into it */
    hb_buf_t dec, tmp;
    hb_buf_init(&dec);
    hb_buf_init(&tmp);
    size_t cap = 8, n = 0;
    hb_form_pair_t *pairs = hb_xmalloc(cap * sizeof(*pairs));
    size_t *offs = hb_xmalloc(cap * 4 * sizeof(size_t));
    const char *b = (const char *)req->body;
    for (size_t i = 0; i < req->body_len;) {
        const char *amp = memchr(b + i, '&', req->body_len - i);
        size_t len = amp != NULL ? (size_t)(amp - (b + i)) : req->body_len - i;
        if (len > 0) {
            const char *eq = memchr(b + i, '=', len);
            size_t nlen = eq != NULL ? (size_t)(eq - (b + i)) : len;
            if (n == cap) {
                cap *= 2;
                pairs = hb_xrealloc(pairs, cap * sizeof(*pairs));
                offs = hb_xrealloc(offs, cap * 4 * sizeof(size_t));
            }
            offs[4 * n] = dec.len;
            hb_form_unescape(&tmp, b + i, nlen);
            hb_buf_append(&dec, tmp.base, tmp.len);
            offs[4 * n + 1] = tmp.len;
            offs[4 * n + 2] = dec.len;
            hb_form_unescape(&tmp, eq != NULL ? eq + 1 : b + i + len, eq != NULL ? len - nlen - 1 : 0);
            hb_buf_append(&dec, tmp.base, tmp.len);
            offs[4 * n + 3] = tmp.len;
            n++;
        }
        i += len + 1;
    }
    for (size_t i = 0; i < n; i++) /* dec no longer moves */
        pairs[i] =
            (hb_form_pair_t){{dec.base + offs[4 * i], offs[4 * i + 1]}, {dec.base + offs[4 * i + 2], offs[4 * i + 3]}};
    qsort(pairs, n, sizeof(*pairs), hb_pair_cmp);
    for (size_t i = 0; i < n; i++) {
        /* a value repeated under one name is signed once: Twilio's SDKs sign each name's set of values */
        if (i > 0 && hb_pair_cmp(&pairs[i - 1], &pairs[i]) == 0)
            continue;
        hb_buf_append(out, pairs[i].name.p, pairs[i].name.n);
        hb_buf_append(out, pairs[i].value.p, pairs[i].value.n);
    }
    free(pairs);
    free(offs);
    hb_buf_dispose(&dec);
    hb_buf_dispose(&tmp);
}

/* bodySHA256: Twilio's JSON requests carry it in the signed query: it must be the SHA-256 of the body. */
static int hb_body_sha256_ok(const hb_request_t *req)
{
    if (hb_is_form(req))
        return 1;
    hb_buf_t want;
    hb_buf_init(&want);
    int ok = 1;
    if (hb_query_get(req, "bodySHA256", 10, &want)) {
        uint8_t md[32];
        char hex[65];
        unsigned int mdlen = 0;
        ok = EVP_Digest(req->body, req->body_len, md, &mdlen, EVP_sha256(), NULL) && mdlen == 32;
        hb_hex_encode(hex, md, 32);
        ok = ok && want.len == 64 && CRYPTO_memcmp(hex, want.base, 64) == 0;
    }
    hb_buf_dispose(&want);
    return ok;
}

/*
 * The signed message for req: the template's parts in order, taking the timestamp, id and token from ps; the
 * {form:sorted} part is built into scratch (the template has it at most once, so scratch does not move under it).
 * The parts point into their sources.
 */
static void hb_signed_message(const hb_verifier_t *v, const hb_request_t *req, const hb_parsed_sig_t *ps,
                              hb_buf_t *scratch, hb_message_t *m)
{
    for (size_t i = 0; i < v->num_parts; i++) {
        const hb_scheme_part_t *part = &v->parts[i];
        switch (part->kind) {
        case HB_PART_LITERAL:
            hb_msg_add(m, part->text, part->len);
            break;
        case HB_PART_BODY:
            hb_msg_add(m, req->body, req->body_len);
            break;
        case HB_PART_TIMESTAMP:
            hb_msg_add(m, ps->ts.p, ps->ts.n);
            break;
        case HB_PART_ID:
            hb_msg_add(m, ps->id.p, ps->id.n);
            break;
        case HB_PART_TOKEN:
            hb_msg_add(m, ps->token.p, ps->token.n);
            break;
        case HB_PART_URL:
            hb_msg_add(m, v->public_url != NULL ? v->public_url : "", v->public_url_len);
            hb_msg_add(m, req->path, req->path_len);
            break;
        case HB_PART_FORM_SORTED:
            hb_form_sorted(req, scratch);
            hb_msg_add(m, scratch->base, scratch->len);
            break;
        case HB_PART_METHOD:
            hb_msg_add(m, req->method, req->method_len);
            break;
        case HB_PART_PATH:
            hb_msg_add(m, req->path, req->path_len);
            break;
        case HB_PART_HEADER: {
            const hb_header_t *h = hb_request_header(req, part->text, part->len);
            if (h != NULL)
                hb_msg_add(m, h->value, h->value_len);
            break;
        }
        }
    }
}

int hb_hmac_parts(EVP_MAC_CTX *keyed, const hb_message_t *m, uint8_t *out, size_t *outlen)
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(keyed);
    int ok = ctx != NULL;
    for (size_t i = 0; ok && i < m->n; i++)
        ok = EVP_MAC_update(ctx, (const unsigned char *)m->part[i].p, m->part[i].n);
    ok = ok && EVP_MAC_final(ctx, out, outlen, EVP_MAX_MD_SIZE);
    EVP_MAC_CTX_free(ctx);
    return ok;
}

static int hb_pkey_verify(EVP_PKEY *key, int ed25519, const hb_message_t *m, const hb_candidate_t *c)
{
    hb_buf_t whole;
    hb_buf_init(&whole);
    for (size_t i = 0; i < m->n; i++)
        hb_buf_append(&whole, m->part[i].p, m->part[i].n);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, ed25519 ? NULL : EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, c->sig, c->len, (const unsigned char *)whole.base, whole.len) == 1;
    EVP_MD_CTX_free(ctx);
    hb_buf_dispose(&whole);
    return ok;
}

/* Parses a decimal unix time in seconds (up to 12 digits) or milliseconds (up to 15), or an RFC 3339 date-time,
   into ms; 0 on success. */
static int hb_parse_time(hb_span_t s, hb_ts_unit_t unit, int64_t *out_ms)
{
    if (unit == HB_TS_RFC3339)
        return hb_rfc3339_parse(s.p, s.n, out_ms);
    if (s.n == 0 || s.n > (unit == HB_TS_SECONDS ? 12u : 15u))
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (s.p[i] - '0');
    }
    *out_ms = unit == HB_TS_SECONDS ? v * 1000 : v;
    return 0;
}

static uint64_t hb_fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211u;
    return h;
}

/* tokenReplay: 1 when the token was not seen within the tolerance, and remembers it. */
static int hb_token_fresh(hb_verifier_t *v, hb_span_t token, int64_t now_ms)
{
    uint64_t h = hb_fnv1a(token.p, token.n);
    int fresh = 1;
    pthread_mutex_lock(&v->seen_lock);
    for (size_t i = 0; i < HB_SEEN_TOKENS && fresh; i++)
        if (v->seen[i].hash == h && v->seen[i].until_ms >= now_ms)
            fresh = 0;
    if (fresh) {
        v->seen[v->seen_next] = (hb_seen_t){h, now_ms + v->tolerance_ms};
        v->seen_next = (v->seen_next + 1) % HB_SEEN_TOKENS;
    }
    pthread_mutex_unlock(&v->seen_lock);
    return fresh;
}

static hb_status_t hb_fail(const char **reason, const char *why)
{
    *reason = why;
    return HB_STATUS_UNAUTHORIZED;
}

/* The timestamp (from its header when the row names one) and the id, as the template needs them; NULL or why not. */
static const char *hb_read_times(const hb_verifier_t *v, const hb_request_t *req, hb_parsed_sig_t *ps)
{
    const hb_scheme_t *s = &v->s;
    if (s->timestamp_header != NULL) {
        const hb_header_t *th = hb_request_header(req, s->timestamp_header, v->ts_header_len);
        if (th == NULL)
            return "Missing timestamp";
        ps->ts = hb_trim(th->value, th->value_len);
    }
    if (s->timestamped) {
        int64_t ts_ms;
        if (ps->ts.p == NULL)
            return "Missing timestamp";
        if (hb_parse_time(ps->ts, s->timestamp_unit, &ts_ms) != 0)
            return "Invalid timestamp";
        int64_t diff = req->received_at_ms - ts_ms;
        if (diff > v->tolerance_ms || -diff > v->tolerance_ms)
            return "Timestamp outside tolerance";
    }
    if (v->uses_id) {
        const hb_header_t *ih = hb_request_header(req, s->id_header, v->id_header_len);
        if (ih == NULL)
            return "Missing message id";
        ps->id = (hb_span_t){ih->value, ih->value_len};
    }
    return NULL;
}

/* 1 when a candidate is the HMAC of m under one of the unexpired secrets, or verifies under one of the public keys. */
static int hb_match(const hb_verifier_t *v, const hb_parsed_sig_t *ps, const hb_message_t *m, int64_t now_ms)
{
    int matched = 0;
    for (size_t k = 0; k < v->num_hmacs && !matched; k++) {
        uint8_t mac[EVP_MAX_MD_SIZE];
        size_t maclen = 0;
        if (hb_expired(v->hmac_until[k], now_ms) || !hb_hmac_parts(v->hmacs[k], m, mac, &maclen))
            continue;
        for (size_t c = 0; c < ps->n && !matched; c++)
            matched = !ps->c[c].asymmetric && ps->c[c].len == maclen && CRYPTO_memcmp(ps->c[c].sig, mac, maclen) == 0;
    }
    for (size_t k = 0; k < v->num_pkeys && !matched; k++)
        for (size_t c = 0; c < ps->n && !matched; c++)
            if (ps->c[c].asymmetric)
                matched = hb_pkey_verify(v->pkeys[k], v->s.algorithm != HB_ALG_ECDSA_P256, m, &ps->c[c]);
    return matched;
}

static hb_status_t hb_check_scheme(const hb_verifier_t *v, const hb_request_t *req, hb_parsed_sig_t *ps,
                                   const char **reason)
{
    const hb_scheme_t *s = &v->s;
    const hb_header_t *h = NULL;
    if (v->sig_lc != NULL) {
        h = hb_request_header(req, v->sig_lc, v->sig_lc_len);
        if (h == NULL)
            return hb_fail(reason, v->missing_header_reason);
    }
    if (v->missing_secret)
        return hb_fail(reason, "Missing secret");
    hb_span_t hv = h != NULL ? hb_trim(h->value, h->value_len) : (hb_span_t){NULL, 0};

    if (s->split.kind == HB_SPLIT_TOKEN) {
        for (size_t i = 0; i < v->num_tokens; i++)
            if (hv.n == v->tokens[i].len && CRYPTO_memcmp(hv.p, v->tokens[i].data, hv.n) == 0 &&
                !hb_expired(v->tokens[i].until_ms, req->received_at_ms))
                return HB_STATUS_OK;
        return hb_fail(reason, v->num_tokens > 1 ? "No token matched" : "Token mismatch");
    }
    hb_split(s, ps, hv, req);
    if (ps->given == 0)
        return hb_fail(reason, s->split.kind == HB_SPLIT_BODY ? "Missing signature" : "No signature in the header");
    const char *why = hb_read_times(v, req, ps);
    if (why != NULL)
        return hb_fail(reason, why);

    hb_message_t m;
    m.n = 0;
    hb_buf_t scratch;
    hb_buf_init(&scratch);
    hb_signed_message(v, req, ps, &scratch, &m);
    int matched = hb_match(v, ps, &m, req->received_at_ms);
    hb_buf_dispose(&scratch);
    if (!matched)
        return hb_fail(reason, ps->given > 1 || v->num_hmacs + v->num_pkeys > 1 ? "No signature matched"
                                                                                : "Signature mismatch");
    if ((s->checks & HB_CHECK_BODY_SHA256) && !hb_body_sha256_ok(req))
        return hb_fail(reason, "Body hash mismatch");
    if ((s->checks & HB_CHECK_TOKEN_REPLAY) && !hb_token_fresh((hb_verifier_t *)v, ps->token, req->received_at_ms))
        return hb_fail(reason, "Token already used");
    return HB_STATUS_OK;
}

hb_status_t hb_verifier_check(const hb_verifier_t *v, const hb_request_t *req, const char **reason)
{
    if (v->none)
        return HB_STATUS_OK;
    if (v->plugin != NULL) {
        hookbridge_request_t pr;
        hb_plugin_request_init(&pr, req);
        return hb_plugin_verify(v->plugin, &pr, reason) == 0 ? HB_STATUS_OK : HB_STATUS_UNAUTHORIZED;
    }
    hb_parsed_sig_t ps = {.n = 0};
    hb_buf_init(&ps.scratch);
    hb_status_t st = hb_check_scheme(v, req, &ps, reason);
    hb_buf_dispose(&ps.scratch);
    return st;
}

/* ---- signing, for `hookbridge sign` ---- */

static void hb_encode_sig(hb_buf_t *out, const uint8_t *mac, size_t len, hb_scheme_enc_t enc)
{
    char text[2 * EVP_MAX_MD_SIZE + 8];
    if (enc == HB_ENCODING_HEX)
        hb_hex_encode(text, mac, len);
    else
        hb_base64_encode(text, mac, len, enc == HB_ENCODING_BASE64URL);
    hb_buf_puts(out, text);
}

/* The lines a sender writes: the id and timestamp headers the row names, then the signature as its split reads. */
static void hb_sign_lines(const hb_verifier_t *v, const hb_parsed_sig_t *ps, const uint8_t *mac, size_t maclen,
                          hb_buf_t *out)
{
    const hb_scheme_t *s = &v->s;
    const hb_split_t *sp = &s->split;
    if (v->uses_id)
        hb_buf_printf(out, "%s: %.*s\n", s->id_header, (int)ps->id.n, ps->id.p);
    if (s->timestamp_header != NULL)
        hb_buf_printf(out, "%s: %.*s\n", s->timestamp_header, (int)ps->ts.n, ps->ts.p);
    switch (sp->kind) {
    case HB_SPLIT_PLAIN: {
        const char *prefix = sp->required_prefix != NULL             ? sp->required_prefix
                             : sp->sign_prefix && sp->prefix != NULL ? sp->prefix
                                                                     : "";
        hb_buf_printf(out, "%s: %s", s->signature_header, prefix);
        break;
    }
    case HB_SPLIT_PAIRS:
        hb_buf_printf(out, "%s: %s=%.*s%c%s=", s->signature_header, sp->timestamp_key, (int)ps->ts.n, ps->ts.p,
                      sp->separator, sp->signature_key);
        break;
    case HB_SPLIT_LIST:
        hb_buf_printf(out, "%s: %s,", s->signature_header, sp->signature_key);
        break;
    case HB_SPLIT_BODY:
        hb_buf_printf(out,
                      "# %s signs inside the body: {\"signature\": {\"timestamp\": \"%.*s\", \"token\": \"%.*s\", "
                      "\"signature\": \"",
                      s->name, (int)ps->ts.n, ps->ts.p, (int)ps->token.n, ps->token.p);
        hb_encode_sig(out, mac, maclen, s->encoding);
        hb_buf_puts(out, "\"}}\n");
        return;
    case HB_SPLIT_TOKEN:
        return;
    }
    hb_encode_sig(out, mac, maclen, s->encoding);
    hb_buf_putc(out, '\n');
}

int hb_verifier_sign_headers(const hb_verifier_t *v, const hb_request_t *req, hb_buf_t *out)
{
    const hb_scheme_t *s = &v->s;
    if (v->none) {
        hb_buf_puts(out, "verify: none: no signature is needed");
        return -1;
    }
    if (v->plugin != NULL || hb_alg_is_asymmetric(s->algorithm) || (v->num_hmacs == 0 && v->num_tokens == 0)) {
        hb_buf_puts(out, "this endpoint verifies with a key hookbridge does not hold (a public key, a plugin, or no "
                         "secret)");
        return -1;
    }
    if (s->split.kind == HB_SPLIT_TOKEN) {
        hb_buf_printf(out, "%s: ", s->signature_header);
        hb_buf_append(out, v->tokens[0].data, v->tokens[0].len);
        hb_buf_putc(out, '\n');
        return 0;
    }
    /* what a sender would send now: the timestamp, a delivery id and (body split) a token of this moment */
    char ts[32], id[48], token[24];
    int64_t at = req->received_at_ms;
    if (s->timestamp_unit == HB_TS_RFC3339)
        hb_rfc3339_format(at, ts);
    else
        snprintf(ts, sizeof(ts), "%" PRId64, s->timestamp_unit == HB_TS_SECONDS ? at / 1000 : at);
    snprintf(id, sizeof(id), "msg_hookbridge_sign_%" PRId64, at);
    snprintf(token, sizeof(token), "%" PRId64, at);
    hb_parsed_sig_t ps = {.ts = {ts, strlen(ts)}, .id = {id, strlen(id)}, .token = {token, strlen(token)}};
    /* a header the template signs and the request lacks: one a sender would make up now (a nonce), written out */
    hb_header_t headers[HB_SCHEME_MAX_PARTS + 16];
    hb_request_t with = *req;
    if (req->num_headers <= 16) {
        if (req->num_headers > 0) /* memcpy takes no NULL, even for 0 bytes */
            memcpy(headers, req->headers, req->num_headers * sizeof(*headers));
        with.headers = headers;
        for (size_t i = 0; i < v->num_parts; i++) {
            const hb_scheme_part_t *part = &v->parts[i];
            if (part->kind != HB_PART_HEADER || hb_request_header(&with, part->text, part->len) != NULL)
                continue;
            headers[with.num_headers++] = (hb_header_t){part->text, part->len, token, strlen(token)};
            hb_buf_printf(out, "%.*s: %s\n", (int)part->len, part->text, token);
        }
    }
    hb_message_t m;
    m.n = 0;
    hb_buf_t scratch;
    hb_buf_init(&scratch);
    hb_signed_message(v, &with, &ps, &scratch, &m);
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    EVP_MAC_CTX *key = hb_signing_hmac(v, req->received_at_ms);
    int ok = key != NULL && hb_hmac_parts(key, &m, mac, &maclen);
    if (ok)
        hb_sign_lines(v, &ps, mac, maclen, out);
    hb_buf_dispose(&scratch);
    return ok ? 0 : -1;
}

int hb_verifier_sign_body(const hb_verifier_t *v, const char *endpoint_id, const char *body, size_t len,
                          const char *content_type, hb_buf_t *out)
{
    hb_buf_t path;
    hb_buf_init(&path);
    hb_buf_printf(&path, "/webhooks/%s", endpoint_id);
    hb_header_t ctype = {"content-type", 12, content_type, strlen(content_type)};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    hb_request_t req = {.method = "POST",
                        .method_len = 4,
                        .path = path.base,
                        .path_len = path.len,
                        .query_at = SIZE_MAX,
                        .headers = &ctype,
                        .num_headers = 1,
                        .body = (const uint8_t *)body,
                        .body_len = len,
                        .received_at_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000};
    int ret = hb_verifier_sign_headers(v, &req, out);
    hb_buf_dispose(&path);
    return ret;
}
