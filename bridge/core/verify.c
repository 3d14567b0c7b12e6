/* bridge/core/verify.c: generic HMAC verification, the provider presets, their handshakes, and plugins. */
#include "verify.h"

#include <ctype.h>
#include <inttypes.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
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

/* What is signed. */
typedef enum hb_msg {
    HB_MSG_BODY,    /* the body */
    HB_MSG_DOT,     /* "{t}.{body}" (stripe) */
    HB_MSG_V0,      /* "v0:{ts}:{body}" (slack, zoom) */
    HB_MSG_ID_TS,   /* "{id}.{ts}.{body}" (standard-webhooks, svix) */
    HB_MSG_COLON,   /* "{ts}:{body}" (paddle) */
    HB_MSG_TS_BODY, /* "{ts}{body}" (discord, sendgrid) */
    HB_MSG_TWILIO,  /* public URL + path + query, then the sorted form parameters */
    HB_MSG_MAILGUN, /* "{timestamp}{token}" from the body */
} hb_msg_t;

/* How the signature header reads. */
typedef enum hb_sigfmt {
    HB_FMT_PLAIN,  /* the signature, optionally prefixed "<alg>=" */
    HB_FMT_V0,     /* "v0=<hex>" */
    HB_FMT_STRIPE, /* "t=…,v1=…[,v1=…]" */
    HB_FMT_PADDLE, /* "ts=…;h1=…[;h1=…]" */
    HB_FMT_SVIX,   /* "v1,<b64> v1a,<b64> …" */
    HB_FMT_TOKEN,  /* the shared token itself (gitlab) */
    HB_FMT_BODY,   /* inside the body (mailgun) */
} hb_sigfmt_t;

typedef enum hb_keykind { HB_KEY_HMAC, HB_KEY_ED25519, HB_KEY_ECDSA, HB_KEY_TOKEN } hb_keykind_t;
typedef enum hb_hs { HB_HS_NONE, HB_HS_SLACK, HB_HS_ZOOM, HB_HS_META, HB_HS_DISCORD, HB_HS_DROPBOX } hb_hs_t;
typedef enum hb_secret_form { HB_SECRET_RAW, HB_SECRET_WHSEC } hb_secret_form_t;

typedef struct hb_preset {
    hb_preset_info_t info;
    const char *sig_header; /* as providers write it; NULL when the signature is in the body */
    const char *ts_header;  /* lower-case; NULL when the timestamp is in the signature header, or there is none */
    hb_hmac_alg_t alg;
    hb_sig_encoding_t enc;
    hb_msg_t msg;
    hb_sigfmt_t fmt;
    hb_keykind_t key;
    hb_secret_form_t secret_form;
    hb_hs_t handshake;
    int timestamped;
    const char *prefix; /* what senders put before the signature ("sha256="); accepted without it too */
} hb_preset_t;

#define S HB_PRESET_SECRET
#define P HB_PRESET_PUBLIC_KEY
#define E HB_PRESET_KEY_EITHER
/* One preset per line reads as a table: */
/* clang-format off */
static const hb_preset_t hb_presets[] = {
    /* {name, delivery-id header, needs}, signature header, timestamp header, HMAC, encoding, signed, format, key,
       secret form, handshake, timestamped, prefix */
    {{"github", "x-github-delivery", S}, "X-Hub-Signature-256", NULL, HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_BODY, HB_FMT_PLAIN, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_NONE, 0, "sha256="},
    {{"stripe", NULL, S}, "Stripe-Signature", NULL, HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_DOT, HB_FMT_STRIPE, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_NONE, 1, NULL},
    {{"slack", NULL, S}, "X-Slack-Signature", "x-slack-request-timestamp", HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_V0, HB_FMT_V0, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_SLACK, 1, NULL},
    {{"shopify", "x-shopify-webhook-id", S}, "X-Shopify-Hmac-Sha256", NULL, HB_HMAC_SHA256, HB_ENC_BASE64, HB_MSG_BODY, HB_FMT_PLAIN, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_NONE, 0, NULL},
    {{"standard-webhooks", "webhook-id", E}, "Webhook-Signature", "webhook-timestamp", HB_HMAC_SHA256, HB_ENC_BASE64, HB_MSG_ID_TS, HB_FMT_SVIX, HB_KEY_HMAC, HB_SECRET_WHSEC, HB_HS_NONE, 1, NULL},
    {{"svix", "svix-id", E}, "Svix-Signature", "svix-timestamp", HB_HMAC_SHA256, HB_ENC_BASE64, HB_MSG_ID_TS, HB_FMT_SVIX, HB_KEY_HMAC, HB_SECRET_WHSEC, HB_HS_NONE, 1, NULL},
    {{"twilio", "i-twilio-idempotency-token", S | HB_PRESET_PUBLIC_URL}, "X-Twilio-Signature", NULL, HB_HMAC_SHA1, HB_ENC_BASE64, HB_MSG_TWILIO, HB_FMT_PLAIN, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_NONE, 0, NULL},
    {{"zoom", NULL, S}, "X-Zm-Signature", "x-zm-request-timestamp", HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_V0, HB_FMT_V0, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_ZOOM, 1, NULL},
    {{"meta", NULL, S | HB_PRESET_VERIFY_TOKEN}, "X-Hub-Signature-256", NULL, HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_BODY, HB_FMT_PLAIN, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_META, 0, "sha256="},
    {{"discord", NULL, P}, "X-Signature-Ed25519", "x-signature-timestamp", HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_TS_BODY, HB_FMT_PLAIN, HB_KEY_ED25519, HB_SECRET_RAW, HB_HS_DISCORD, 1, NULL},
    {{"sendgrid", NULL, P}, "X-Twilio-Email-Event-Webhook-Signature", "x-twilio-email-event-webhook-timestamp", HB_HMAC_SHA256, HB_ENC_BASE64, HB_MSG_TS_BODY, HB_FMT_PLAIN, HB_KEY_ECDSA, HB_SECRET_RAW, HB_HS_NONE, 1, NULL},
    {{"linear", "linear-delivery", S}, "Linear-Signature", NULL, HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_BODY, HB_FMT_PLAIN, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_NONE, 0, NULL},
    {{"intercom", NULL, S}, "X-Hub-Signature", NULL, HB_HMAC_SHA1, HB_ENC_HEX, HB_MSG_BODY, HB_FMT_PLAIN, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_NONE, 0, "sha1="},
    {{"paddle", NULL, S}, "Paddle-Signature", NULL, HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_COLON, HB_FMT_PADDLE, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_NONE, 1, NULL},
    {{"gitlab", "idempotency-key", S}, "X-Gitlab-Token", NULL, HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_BODY, HB_FMT_TOKEN, HB_KEY_TOKEN, HB_SECRET_RAW, HB_HS_NONE, 0, NULL},
    {{"mailgun", NULL, S}, NULL, NULL, HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_MAILGUN, HB_FMT_BODY, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_NONE, 1, NULL},
    {{"dropbox", NULL, S}, "X-Dropbox-Signature", NULL, HB_HMAC_SHA256, HB_ENC_HEX, HB_MSG_BODY, HB_FMT_PLAIN, HB_KEY_HMAC, HB_SECRET_RAW, HB_HS_DROPBOX, 0, NULL},
};
/* clang-format on */
#undef S
#undef P
#undef E

const hb_preset_info_t *hb_preset_find(const char *name)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(hb_presets); i++)
        if (strcmp(hb_presets[i].info.name, name) == 0)
            return &hb_presets[i].info;
    return NULL;
}

const char *hb_preset_names(void)
{
    return "github, stripe, slack, shopify, standard-webhooks, svix, twilio, zoom, meta, discord, sendgrid, linear, "
           "intercom, paddle, gitlab, mailgun, dropbox";
}

/* ---- the verifier ---- */

#define HB_MAX_CANDIDATES 8
#define HB_MAX_SIG ((size_t)80) /* decoded bytes: an Ed25519 signature is 64, a DER ECDSA P-256 one at most 72 */
#define HB_SEEN_TOKENS 4096

typedef struct hb_seen {
    uint64_t hash;
    int64_t until_ms;
} hb_seen_t;

struct hb_verifier {
    hb_preset_t p; /* the preset, or the generic scheme built from the config */
    int none;
    int missing_secret;
    char scheme[64];
    char *sig_lc; /* the signature header's name, lower-case as h2o hands headers to us */
    char *missing_header_reason;
    EVP_MAC *mac;
    EVP_MAC_CTX **hmacs; /* one keyed context per secret, duplicated per request */
    size_t num_hmacs;
    hb_secret_t *tokens; /* gitlab: the shared tokens; zoom: the secret for the handshake */
    size_t num_tokens;
    EVP_PKEY **pkeys; /* public keys: Ed25519 (discord, v1a) or EC P-256 (sendgrid) */
    size_t num_pkeys;
    size_t mac_len;
    int64_t tolerance_ms;
    char *public_url;
    char *verify_token;
    hb_plugin_t *plugin;
    pthread_mutex_t seen_lock; /* mailgun: tokens already used, a ring */
    hb_seen_t *seen;
    size_t seen_next;
};

static const char *const hb_alg_names[] = {
    [HB_HMAC_SHA1] = "sha1", [HB_HMAC_SHA256] = "sha256", [HB_HMAC_SHA512] = "sha512"};
static const char *const hb_alg_digests[] = {
    [HB_HMAC_SHA1] = "SHA1", [HB_HMAC_SHA256] = "SHA2-256", [HB_HMAC_SHA512] = "SHA2-512"};

/* The secret's key bytes: as written, or for whsec_ secrets the base64 after the prefix. -1 when not base64. */
static long hb_secret_key(const hb_preset_t *p, const hb_secret_t *s, uint8_t **out)
{
    if (p->secret_form == HB_SECRET_RAW) {
        *out = hb_xmalloc(s->len + 1);
        memcpy(*out, s->data, s->len);
        return (long)s->len;
    }
    const char *b64 = s->data;
    size_t len = s->len;
    if (len > 6 && memcmp(b64, "whsec_", 6) == 0)
        b64 += 6, len -= 6;
    *out = hb_xmalloc(len * 3 / 4 + 3);
    long n = hb_base64_decode(*out, b64, len);
    if (n <= 0) {
        free(*out);
        *out = NULL;
        return -1;
    }
    return n;
}

static EVP_PKEY *hb_public_key(const hb_preset_t *p, const char *text, char *err, size_t errlen)
{
    size_t len = strlen(text);
    uint8_t raw[512];
    if (p->key == HB_KEY_ED25519 || p->fmt == HB_FMT_SVIX) {
        long n = -1;
        if (p->fmt == HB_FMT_SVIX) {
            if (len > 5 && memcmp(text, "whpk_", 5) == 0)
                text += 5, len -= 5;
            if (len <= 64)
                n = hb_base64_decode(raw, text, len);
        } else if (len == 64) {
            n = hb_hex_decode(raw, text, len);
        }
        EVP_PKEY *k = n == 32 ? EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32) : NULL;
        if (k == NULL)
            snprintf(err, errlen, "verify.publicKey is not an Ed25519 public key (%s)",
                     p->fmt == HB_FMT_SVIX ? "whpk_ and the base64 of 32 bytes" : "64 hex digits");
        return k;
    }
    /* sendgrid: base64 of the DER SubjectPublicKeyInfo of a P-256 key */
    long n = len <= (sizeof(raw) - 3) * 4 / 3 ? hb_base64_decode(raw, text, len) : -1;
    const unsigned char *q = raw;
    EVP_PKEY *k = n > 0 ? d2i_PUBKEY(NULL, &q, n) : NULL;
    if (k != NULL && !EVP_PKEY_is_a(k, "EC")) {
        EVP_PKEY_free(k);
        k = NULL;
    }
    if (k == NULL)
        snprintf(err, errlen, "verify.publicKey is not an EC public key (base64 of its DER SubjectPublicKeyInfo)");
    return k;
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
        const hb_preset_info_t *info = hb_preset_find(cfg->provider);
        if (info == NULL) {
            snprintf(err, errlen, "unknown verify.provider \"%s\"", cfg->provider);
            goto Error;
        }
        v->p = *(const hb_preset_t *)info; /* info is the first member of its preset */
        snprintf(v->scheme, sizeof(v->scheme), "%s", cfg->provider);
    } else {
        v->p = (hb_preset_t){.sig_header = cfg->header_name,
                             .alg = cfg->algorithm,
                             .enc = cfg->encoding,
                             .msg = HB_MSG_BODY,
                             .fmt = HB_FMT_PLAIN,
                             .key = HB_KEY_HMAC};
        snprintf(v->scheme, sizeof(v->scheme), "hmac-%s", hb_alg_names[cfg->algorithm]);
    }
    v->tolerance_ms = cfg->tolerance_ms != 0 ? (int64_t)cfg->tolerance_ms : 300000;
    v->public_url = cfg->public_url != NULL ? hb_xstrdup(cfg->public_url) : NULL;
    v->verify_token = cfg->verify_token != NULL ? hb_xstrdup(cfg->verify_token) : NULL;

    hb_buf_t reason;
    hb_buf_init(&reason);
    if (v->p.sig_header != NULL) {
        v->sig_lc = hb_xstrdup(v->p.sig_header);
        for (char *c = v->sig_lc; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        hb_buf_printf(&reason, "Missing header %s", v->p.sig_header);
    } else {
        hb_buf_puts(&reason, "Missing signature");
    }
    v->missing_header_reason = hb_buf_release(&reason);

    /* secrets: keyed HMAC contexts (or tokens), all set up now, none per request */
    size_t usable = 0;
    for (size_t i = 0; i < cfg->num_secrets; i++)
        usable += cfg->secrets[i].len > 0;
    if (usable == 0 && cfg->num_public_keys == 0)
        v->missing_secret = 1;
    if (usable > 0 && (v->p.key == HB_KEY_HMAC || v->p.handshake == HB_HS_ZOOM)) {
        v->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
        if (v->mac == NULL) {
            snprintf(err, errlen, "OpenSSL has no HMAC");
            goto Error;
        }
        v->hmacs = hb_xcalloc(usable, sizeof(*v->hmacs));
        OSSL_PARAM params[] = {
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)hb_alg_digests[v->p.alg], 0),
            OSSL_PARAM_construct_end()};
        for (size_t i = 0; i < cfg->num_secrets; i++) {
            if (cfg->secrets[i].len == 0)
                continue;
            uint8_t *key;
            long klen = hb_secret_key(&v->p, &cfg->secrets[i], &key);
            if (klen < 0) {
                snprintf(err, errlen, "secret %zu is not whsec_ followed by base64", i + 1);
                goto Error;
            }
            EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(v->mac);
            int ok = ctx != NULL && EVP_MAC_init(ctx, key, (size_t)klen, params);
            OPENSSL_clear_free(key, (size_t)klen + 1);
            if (!ok) {
                EVP_MAC_CTX_free(ctx);
                snprintf(err, errlen, "OpenSSL cannot set up HMAC-%s", hb_alg_names[v->p.alg]);
                goto Error;
            }
            v->hmacs[v->num_hmacs++] = ctx;
        }
        v->mac_len = EVP_MAC_CTX_get_mac_size(v->hmacs[0]);
    }
    if (v->p.key == HB_KEY_TOKEN) {
        v->tokens = hb_xcalloc(cfg->num_secrets, sizeof(*v->tokens));
        for (size_t i = 0; i < cfg->num_secrets; i++)
            if (cfg->secrets[i].len > 0)
                v->tokens[v->num_tokens++] =
                    (hb_secret_t){hb_xstrndup(cfg->secrets[i].data, cfg->secrets[i].len), cfg->secrets[i].len};
    }
    if (cfg->num_public_keys > 0) {
        if (v->p.key != HB_KEY_ED25519 && v->p.key != HB_KEY_ECDSA && v->p.fmt != HB_FMT_SVIX) {
            snprintf(err, errlen, "verify.publicKey is for discord, sendgrid, standard-webhooks and svix");
            goto Error;
        }
        v->pkeys = hb_xcalloc(cfg->num_public_keys, sizeof(*v->pkeys));
        for (size_t i = 0; i < cfg->num_public_keys; i++) {
            if ((v->pkeys[i] = hb_public_key(&v->p, cfg->public_keys[i], err, errlen)) == NULL)
                goto Error;
            v->num_pkeys++;
        }
    }
    if (v->p.msg == HB_MSG_MAILGUN)
        v->seen = hb_xcalloc(HB_SEEN_TOKENS, sizeof(*v->seen));
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
    EVP_MAC_free(v->mac);
    for (size_t i = 0; i < v->num_tokens; i++)
        OPENSSL_clear_free(v->tokens[i].data, v->tokens[i].len);
    free(v->tokens);
    for (size_t i = 0; i < v->num_pkeys; i++)
        EVP_PKEY_free(v->pkeys[i]);
    free(v->pkeys);
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
    return !v->none && v->plugin == NULL && v->p.fmt == HB_FMT_TOKEN ? v->sig_lc : NULL;
}

const char *hb_verifier_scheme(const hb_verifier_t *v)
{
    return v->scheme;
}

/* ---- reading a request ---- */

typedef struct hb_span {
    const char *p;
    size_t n;
} hb_span_t;

static hb_span_t hb_trim(const char *p, size_t n)
{
    while (n > 0 && (*p == ' ' || *p == '\t'))
        p++, n--;
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    return (hb_span_t){p, n};
}

static int hb_span_is(hb_span_t s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

/* A signature candidate, decoded. */
typedef struct hb_candidate {
    uint8_t sig[HB_MAX_SIG];
    size_t len;
    int asymmetric; /* svix's v1a: an Ed25519 signature */
} hb_candidate_t;

typedef struct hb_parsed_sig {
    hb_candidate_t c[HB_MAX_CANDIDATES];
    size_t n;
    int given; /* how many signatures the header held, decodable or not */
    hb_span_t ts;
    hb_span_t token; /* mailgun */
    hb_buf_t scratch;
} hb_parsed_sig_t;

static void hb_add_candidate(hb_parsed_sig_t *ps, hb_sig_encoding_t enc, hb_span_t s, int asymmetric)
{
    ps->given++;
    if (ps->n == HB_MAX_CANDIDATES || s.n == 0 || s.n > 2 * HB_MAX_SIG)
        return;
    hb_candidate_t *c = &ps->c[ps->n];
    long n;
    if (enc == HB_ENC_HEX) {
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

/* Splits "k=v<sep>k=v…": each "ts_key=" is the timestamp, each "sig_key=" a candidate. */
static void hb_parse_pairs(hb_parsed_sig_t *ps, hb_span_t h, char sep, const char *ts_key, const char *sig_key)
{
    size_t tk = strlen(ts_key), sk = strlen(sig_key);
    for (size_t i = 0; i < h.n;) {
        const char *end = memchr(h.p + i, sep, h.n - i);
        size_t len = end != NULL ? (size_t)(end - (h.p + i)) : h.n - i;
        hb_span_t item = hb_trim(h.p + i, len);
        if (item.n > tk && memcmp(item.p, ts_key, tk) == 0 && item.p[tk] == '=')
            ps->ts = (hb_span_t){item.p + tk + 1, item.n - tk - 1};
        else if (item.n > sk && memcmp(item.p, sig_key, sk) == 0 && item.p[sk] == '=')
            hb_add_candidate(ps, HB_ENC_HEX, (hb_span_t){item.p + sk + 1, item.n - sk - 1}, 0);
        i += len + 1;
    }
}

static void hb_parse_svix(hb_parsed_sig_t *ps, hb_span_t h)
{
    for (size_t i = 0; i < h.n;) {
        const char *end = memchr(h.p + i, ' ', h.n - i);
        size_t len = end != NULL ? (size_t)(end - (h.p + i)) : h.n - i;
        hb_span_t item = {h.p + i, len};
        if (item.n > 3 && memcmp(item.p, "v1,", 3) == 0)
            hb_add_candidate(ps, HB_ENC_BASE64, (hb_span_t){item.p + 3, item.n - 3}, 0);
        else if (item.n > 4 && memcmp(item.p, "v1a,", 4) == 0)
            hb_add_candidate(ps, HB_ENC_BASE64, (hb_span_t){item.p + 4, item.n - 4}, 1);
        i += len + 1;
    }
}

/* A string value of a msgpack map, by key. */
static int hb_map_str(const msgpack_object *o, const char *key, hb_span_t *out)
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

static const msgpack_object *hb_map_get(const msgpack_object *o, const char *key)
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
 * Mailgun signs inside the body: JSON {"signature": {"timestamp", "token", "signature"}} (webhooks) or the form
 * fields timestamp, token and signature (legacy). The timestamp and token are copied into ps->scratch.
 */
static void hb_parse_mailgun(hb_parsed_sig_t *ps, const hb_request_t *req)
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
            hb_add_candidate(ps, HB_ENC_HEX, sig, 0);
        }
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
}

/* The signed message: up to six parts (svix: id . ts . body), or (twilio) one built into a buffer. */
typedef struct hb_message {
    hb_span_t part[6];
    int n;
} hb_message_t;

static void hb_msg_add(hb_message_t *m, const void *p, size_t n)
{
    if (m->n == (int)HB_ARRAY_SIZE(m->part))
        abort(); /* a preset with more parts than the array: a programming error */
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

/* Twilio: the public URL with path and query, then each distinct form parameter (sorted) as name followed by value. */
static void hb_twilio_message(const hb_verifier_t *v, const hb_request_t *req, hb_buf_t *out)
{
    const char *base = v->public_url != NULL ? v->public_url : "";
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    hb_buf_append(out, base, blen);
    hb_buf_append(out, req->path, req->path_len);
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

/* Twilio's JSON requests carry bodySHA256 in the signed query: it must be the SHA-256 of the body. */
static int hb_twilio_body_ok(const hb_request_t *req)
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
 * The signed message of the scheme for req: what precedes the body (timestamp, id), then the body; for twilio the
 * URL and form built into scratch, for mailgun the timestamp and token (tt). The parts point into their arguments.
 */
static void hb_signed_message(const hb_verifier_t *v, const hb_request_t *req, hb_span_t ts, hb_span_t id, hb_span_t tt,
                              hb_buf_t *scratch, hb_message_t *m)
{
    switch (v->p.msg) {
    case HB_MSG_BODY:
        break;
    case HB_MSG_DOT:
        hb_msg_add(m, ts.p, ts.n);
        hb_msg_add(m, ".", 1);
        break;
    case HB_MSG_V0:
        hb_msg_add(m, "v0:", 3);
        hb_msg_add(m, ts.p, ts.n);
        hb_msg_add(m, ":", 1);
        break;
    case HB_MSG_ID_TS:
        hb_msg_add(m, id.p, id.n);
        hb_msg_add(m, ".", 1);
        hb_msg_add(m, ts.p, ts.n);
        hb_msg_add(m, ".", 1);
        break;
    case HB_MSG_COLON:
        hb_msg_add(m, ts.p, ts.n);
        hb_msg_add(m, ":", 1);
        break;
    case HB_MSG_TS_BODY:
        hb_msg_add(m, ts.p, ts.n);
        break;
    case HB_MSG_TWILIO:
        hb_twilio_message(v, req, scratch);
        hb_msg_add(m, scratch->base, scratch->len);
        return;
    case HB_MSG_MAILGUN:
        hb_msg_add(m, tt.p, tt.n);
        return;
    }
    hb_msg_add(m, req->body, req->body_len);
}

static int hb_hmac_parts(EVP_MAC_CTX *keyed, const hb_message_t *m, uint8_t *out, size_t *outlen)
{
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(keyed);
    int ok = ctx != NULL;
    for (int i = 0; ok && i < m->n; i++)
        ok = EVP_MAC_update(ctx, (const unsigned char *)m->part[i].p, m->part[i].n);
    ok = ok && EVP_MAC_final(ctx, out, outlen, EVP_MAX_MD_SIZE);
    EVP_MAC_CTX_free(ctx);
    return ok;
}

static int hb_pkey_verify(EVP_PKEY *key, int ed25519, const hb_message_t *m, const hb_candidate_t *c)
{
    hb_buf_t whole;
    hb_buf_init(&whole);
    for (int i = 0; i < m->n; i++)
        hb_buf_append(&whole, m->part[i].p, m->part[i].n);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, ed25519 ? NULL : EVP_sha256(), NULL, key) == 1 &&
             EVP_DigestVerify(ctx, c->sig, c->len, (const unsigned char *)whole.base, whole.len) == 1;
    EVP_MD_CTX_free(ctx);
    hb_buf_dispose(&whole);
    return ok;
}

/* Parses a decimal unix time in seconds; 0 on success. */
static int hb_parse_seconds(hb_span_t s, int64_t *out)
{
    if (s.n == 0 || s.n > 12)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (s.p[i] - '0');
    }
    *out = v;
    return 0;
}

static uint64_t hb_fnv1a(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211u;
    return h;
}

/* Mailgun: 1 when the token was not seen within the tolerance, and remembers it. */
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

static hb_status_t hb_check_scheme(const hb_verifier_t *v, const hb_request_t *req, hb_parsed_sig_t *ps,
                                   const char **reason)
{
    const hb_preset_t *p = &v->p;
    const hb_header_t *h = NULL;
    if (v->sig_lc != NULL) {
        h = hb_request_header(req, v->sig_lc, strlen(v->sig_lc));
        if (h == NULL)
            return hb_fail(reason, v->missing_header_reason);
    }
    if (v->missing_secret)
        return hb_fail(reason, "Missing secret");
    hb_span_t hv = h != NULL ? hb_trim(h->value, h->value_len) : (hb_span_t){NULL, 0};

    if (p->fmt == HB_FMT_TOKEN) {
        for (size_t i = 0; i < v->num_tokens; i++)
            if (hv.n == v->tokens[i].len && CRYPTO_memcmp(hv.p, v->tokens[i].data, hv.n) == 0)
                return HB_STATUS_OK;
        return hb_fail(reason, v->num_tokens > 1 ? "No token matched" : "Token mismatch");
    }
    switch (p->fmt) {
    case HB_FMT_PLAIN: {
        /* "sha256=<sig>": a prefix naming the algorithm, as GitHub and Cal.com send it, is optional */
        const char *alg = hb_alg_names[p->alg];
        size_t alen = strlen(alg);
        if (p->key == HB_KEY_HMAC && hv.n > alen && hv.p[alen] == '=' && hb_strcase_eq(hv.p, alen, alg, alen))
            hv.p += alen + 1, hv.n -= alen + 1;
        hb_add_candidate(ps, p->enc, hv, p->key != HB_KEY_HMAC);
        break;
    }
    case HB_FMT_V0:
        if (hv.n > 3 && memcmp(hv.p, "v0=", 3) == 0)
            hb_add_candidate(ps, HB_ENC_HEX, (hb_span_t){hv.p + 3, hv.n - 3}, 0);
        else
            ps->given++;
        break;
    case HB_FMT_STRIPE:
        hb_parse_pairs(ps, hv, ',', "t", "v1");
        break;
    case HB_FMT_PADDLE:
        hb_parse_pairs(ps, hv, ';', "ts", "h1");
        break;
    case HB_FMT_SVIX:
        hb_parse_svix(ps, hv);
        break;
    case HB_FMT_BODY:
        hb_parse_mailgun(ps, req);
        break;
    case HB_FMT_TOKEN:
        break;
    }
    if (ps->given == 0)
        return hb_fail(reason, p->fmt == HB_FMT_BODY ? "Missing signature" : "No signature in the header");

    /* the timestamp: from its header, the signature header, or the body */
    hb_span_t id = {NULL, 0};
    if (p->ts_header != NULL) {
        const hb_header_t *th = hb_request_header(req, p->ts_header, strlen(p->ts_header));
        if (th == NULL)
            return hb_fail(reason, "Missing timestamp");
        ps->ts = hb_trim(th->value, th->value_len);
    }
    if (p->timestamped) {
        int64_t ts;
        if (ps->ts.p == NULL)
            return hb_fail(reason, "Missing timestamp");
        if (hb_parse_seconds(ps->ts, &ts) != 0)
            return hb_fail(reason, "Invalid timestamp");
        int64_t diff = req->received_at_ms - ts * 1000;
        if (diff > v->tolerance_ms || -diff > v->tolerance_ms)
            return hb_fail(reason, "Timestamp outside tolerance");
    }
    if (p->msg == HB_MSG_ID_TS) {
        const hb_header_t *ih = hb_request_header(req, p->info.id_header, strlen(p->info.id_header));
        if (ih == NULL)
            return hb_fail(reason, "Missing message id");
        id = (hb_span_t){ih->value, ih->value_len};
    }

    hb_message_t m = {.n = 0};
    hb_buf_t twilio;
    hb_buf_init(&twilio);
    hb_signed_message(v, req, ps->ts, id, (hb_span_t){ps->scratch.base, ps->ts.n + ps->token.n}, &twilio, &m);

    int matched = 0;
    for (size_t k = 0; k < v->num_hmacs && !matched; k++) {
        uint8_t mac[EVP_MAX_MD_SIZE];
        size_t maclen = 0;
        if (!hb_hmac_parts(v->hmacs[k], &m, mac, &maclen))
            continue;
        for (size_t c = 0; c < ps->n && !matched; c++)
            matched = !ps->c[c].asymmetric && ps->c[c].len == maclen && CRYPTO_memcmp(ps->c[c].sig, mac, maclen) == 0;
    }
    for (size_t k = 0; k < v->num_pkeys && !matched; k++)
        for (size_t c = 0; c < ps->n && !matched; c++)
            if (ps->c[c].asymmetric)
                matched = hb_pkey_verify(v->pkeys[k], p->key != HB_KEY_ECDSA, &m, &ps->c[c]);
    hb_buf_dispose(&twilio);
    if (!matched)
        return hb_fail(reason, ps->given > 1 || v->num_hmacs + v->num_pkeys > 1 ? "No signature matched"
                                                                                : "Signature mismatch");
    if (p->msg == HB_MSG_TWILIO && !hb_twilio_body_ok(req))
        return hb_fail(reason, "Body hash mismatch");
    if (p->msg == HB_MSG_MAILGUN && !hb_token_fresh((hb_verifier_t *)v, ps->token, req->received_at_ms))
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

/* ---- handshakes ---- */

int hb_verifier_handshake_unsigned(const hb_verifier_t *v, const hb_request_t *req, hb_handshake_t *hs)
{
    if (v->none || v->plugin != NULL || (v->p.handshake != HB_HS_META && v->p.handshake != HB_HS_DROPBOX) ||
        req->method_len != 3 || memcmp(req->method, "GET", 3) != 0)
        return 0;
    hb_buf_t a;
    hb_buf_init(&a);
    int answered = 0;
    if (v->p.handshake == HB_HS_META) {
        /* hub.mode=subscribe, hub.verify_token equal to ours → hub.challenge */
        int ok = hb_query_get(req, "hub.mode", 8, &a) && a.len == 9 && memcmp(a.base, "subscribe", 9) == 0;
        size_t tlen = v->verify_token != NULL ? strlen(v->verify_token) : 0;
        ok = ok && hb_query_get(req, "hub.verify_token", 16, &a) && tlen > 0 && a.len == tlen &&
             CRYPTO_memcmp(a.base, v->verify_token, tlen) == 0;
        if (ok && hb_query_get(req, "hub.challenge", 13, &a)) {
            hb_buf_append(&hs->body, a.base, a.len);
            answered = 1;
        }
    } else if (hb_query_get(req, "challenge", 9, &a)) { /* dropbox */
        hb_buf_append(&hs->body, a.base, a.len);
        hs->header_name = "x-content-type-options";
        hs->header_value = "nosniff";
        answered = 1;
    }
    hb_buf_dispose(&a);
    if (answered) {
        hs->status = 200;
        hs->content_type = "text/plain";
    }
    return answered;
}

int hb_verifier_has_signed_handshake(const hb_verifier_t *v)
{
    return !v->none && v->plugin == NULL &&
           (v->p.handshake == HB_HS_SLACK || v->p.handshake == HB_HS_ZOOM || v->p.handshake == HB_HS_DISCORD);
}

int hb_verifier_handshake_signed(const hb_verifier_t *v, const hb_request_t *req, const msgpack_object *body,
                                 hb_handshake_t *hs)
{
    if (!hb_verifier_has_signed_handshake(v) || body == NULL)
        return 0;
    hb_span_t s;
    const msgpack_object *type = hb_map_get(body, "type");
    switch (v->p.handshake) {
    case HB_HS_SLACK: /* {"type": "url_verification", "challenge": C} → {"challenge": C} */
        if (!hb_map_str(body, "type", &s) || !hb_span_is(s, "url_verification") || !hb_map_str(body, "challenge", &s))
            return 0;
        hb_buf_puts(&hs->body, "{\"challenge\":");
        hb_json_str(&hs->body, s.p, s.n);
        hb_buf_puts(&hs->body, "}");
        break;
    case HB_HS_ZOOM: { /* endpoint.url_validation → {"plainToken": P, "encryptedToken": hex HMAC-SHA256(P)} */
        if (!hb_map_str(body, "event", &s) || !hb_span_is(s, "endpoint.url_validation") ||
            !hb_map_str(hb_map_get(body, "payload"), "plainToken", &s) || v->num_hmacs == 0)
            return 0;
        uint8_t mac[EVP_MAX_MD_SIZE];
        size_t maclen = 0;
        hb_message_t m = {.n = 0};
        hb_msg_add(&m, s.p, s.n);
        if (!hb_hmac_parts(v->hmacs[0], &m, mac, &maclen))
            return 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        hb_hex_encode(hex, mac, maclen);
        hb_buf_puts(&hs->body, "{\"plainToken\":");
        hb_json_str(&hs->body, s.p, s.n);
        hb_buf_printf(&hs->body, ",\"encryptedToken\":\"%s\"}", hex);
        break;
    }
    case HB_HS_DISCORD: /* a verified PING ({"type": 1}) is answered PONG ({"type": 1}) */
        if (type == NULL || type->type != MSGPACK_OBJECT_POSITIVE_INTEGER || type->via.u64 != 1)
            return 0;
        hb_buf_puts(&hs->body, "{\"type\":1}");
        break;
    default:
        return 0;
    }
    (void)req;
    hs->status = 200;
    hs->content_type = "application/json";
    return 1;
}

/* ---- signing, for `hookbridge sign` ---- */

static void hb_encode_sig(hb_buf_t *out, const uint8_t *mac, size_t len, hb_sig_encoding_t enc)
{
    char text[2 * EVP_MAX_MD_SIZE + 8];
    if (enc == HB_ENC_HEX)
        hb_hex_encode(text, mac, len);
    else
        hb_base64_encode(text, mac, len, enc == HB_ENC_BASE64URL);
    hb_buf_puts(out, text);
}

int hb_verifier_sign_headers(const hb_verifier_t *v, const hb_request_t *req, hb_buf_t *out)
{
    const hb_preset_t *p = &v->p;
    if (v->none) {
        hb_buf_puts(out, "verify: none: no signature is needed");
        return -1;
    }
    if (v->plugin != NULL || p->key == HB_KEY_ED25519 || p->key == HB_KEY_ECDSA ||
        (v->num_hmacs == 0 && v->num_tokens == 0)) {
        hb_buf_puts(out, "this endpoint verifies with a key hookbridge does not hold (a public key, a plugin, or no "
                         "secret)");
        return -1;
    }
    if (p->key == HB_KEY_TOKEN) {
        hb_buf_printf(out, "%s: ", p->sig_header);
        hb_buf_append(out, v->tokens[0].data, v->tokens[0].len);
        hb_buf_putc(out, '\n');
        return 0;
    }
    char ts[24], id[48];
    snprintf(ts, sizeof(ts), "%" PRId64, req->received_at_ms / 1000);
    snprintf(id, sizeof(id), "msg_hookbridge_sign_%" PRId64, req->received_at_ms);
    hb_message_t m = {.n = 0};
    hb_buf_t twilio, token;
    hb_buf_init(&twilio);
    hb_buf_init(&token);
    hb_buf_printf(&token, "%s%" PRId64, ts, req->received_at_ms); /* mailgun: timestamp, then a fresh token */
    hb_signed_message(v, req, (hb_span_t){ts, strlen(ts)}, (hb_span_t){id, strlen(id)},
                      (hb_span_t){token.base, token.len}, &twilio, &m);
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    int ok = hb_hmac_parts(v->hmacs[0], &m, mac, &maclen);
    if (ok) {
        switch (p->fmt) {
        case HB_FMT_PLAIN:
            hb_buf_printf(out, "%s: %s", p->sig_header, p->prefix != NULL ? p->prefix : "");
            hb_encode_sig(out, mac, maclen, p->enc);
            hb_buf_putc(out, '\n');
            break;
        case HB_FMT_V0:
            hb_buf_printf(out, "%s: %s\n%s: v0=", p->ts_header, ts, p->sig_header);
            hb_encode_sig(out, mac, maclen, HB_ENC_HEX);
            hb_buf_putc(out, '\n');
            break;
        case HB_FMT_STRIPE:
            hb_buf_printf(out, "%s: t=%s,v1=", p->sig_header, ts);
            hb_encode_sig(out, mac, maclen, HB_ENC_HEX);
            hb_buf_putc(out, '\n');
            break;
        case HB_FMT_PADDLE:
            hb_buf_printf(out, "%s: ts=%s;h1=", p->sig_header, ts);
            hb_encode_sig(out, mac, maclen, HB_ENC_HEX);
            hb_buf_putc(out, '\n');
            break;
        case HB_FMT_SVIX:
            hb_buf_printf(out, "%s: %s\n%s: %s\n%s: v1,", p->info.id_header, id, p->ts_header, ts, p->sig_header);
            hb_encode_sig(out, mac, maclen, HB_ENC_BASE64);
            hb_buf_putc(out, '\n');
            break;
        case HB_FMT_BODY:
            hb_buf_printf(
                out,
                "# mailgun signs inside the body: {\"signature\": {\"timestamp\": \"%s\", \"token\": \"%" PRId64
                "\", \"signature\": \"",
                ts, req->received_at_ms);
            hb_encode_sig(out, mac, maclen, HB_ENC_HEX);
            hb_buf_puts(out, "\"}}\n");
            break;
        case HB_FMT_TOKEN:
            break;
        }
    }
    hb_buf_dispose(&twilio);
    hb_buf_dispose(&token);
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
