/* bridge/core/handshake.c: the providers' set-up exchanges (verify.h), answered by code: each is a scheme's
   `handshake` word. Never published; the unsigned ones only where the answer gives nothing away. Pure. */
#include <openssl/crypto.h>
#include <string.h>

#include "filter.h"
#include "json.h"
#include "verify_internal.h"

/* x-crc: {"response_token": "sha256=<base64 HMAC-SHA256(secret, crc_token)>"}; 0 without a secret. */
static int hb_x_crc_answer(const hb_verifier_t *v, const hb_buf_t *token, int64_t now_ms, hb_handshake_t *hs)
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    size_t maclen = 0;
    hb_message_t m;
    m.n = 0;
    hb_msg_add(&m, token->base, token->len);
    EVP_MAC_CTX *key = hb_signing_hmac(v, now_ms);
    if (key == NULL || v->s.algorithm != HB_ALG_SHA256 || !hb_hmac_parts(key, &m, mac, &maclen))
        return 0;
    char b64[2 * EVP_MAX_MD_SIZE];
    hb_base64_encode(b64, mac, maclen, 0);
    hb_buf_printf(&hs->body, "{\"response_token\":\"sha256=%s\"}", b64);
    hs->content_type = "application/json";
    return 1;
}

int hb_verifier_handshake_unsigned(const hb_verifier_t *v, const hb_request_t *req, hb_handshake_t *hs)
{
    hb_handshake_kind_t kind = v->s.handshake;
    if (v->none || v->plugin != NULL ||
        (kind != HB_HANDSHAKE_META && kind != HB_HANDSHAKE_DROPBOX && kind != HB_HANDSHAKE_NYLAS &&
         kind != HB_HANDSHAKE_X_CRC) ||
        req->method_len != 3 || memcmp(req->method, "GET", 3) != 0)
        return 0;
    hb_buf_t a;
    hb_buf_init(&a);
    int answered = 0;
    hs->content_type = "text/plain";
    if (kind == HB_HANDSHAKE_X_CRC) { /* the answer proves the secret; it reveals nothing of it */
        answered =
            hb_query_get(req, "crc_token", 9, &a) && a.len > 0 && hb_x_crc_answer(v, &a, req->received_at_ms, hs);
    } else if (kind == HB_HANDSHAKE_META) {
        /* hub.mode=subscribe, hub.verify_token equal to ours → hub.challenge */
        int ok = hb_query_get(req, "hub.mode", 8, &a) && a.len == 9 && memcmp(a.base, "subscribe", 9) == 0;
        size_t tlen = v->verify_token != NULL ? strlen(v->verify_token) : 0;
        ok = ok && hb_query_get(req, "hub.verify_token", 16, &a) && tlen > 0 && a.len == tlen &&
             CRYPTO_memcmp(a.base, v->verify_token, tlen) == 0;
        if (ok && hb_query_get(req, "hub.challenge", 13, &a)) {
            hb_buf_append(&hs->body, a.base, a.len);
            answered = 1;
        }
    } else if (hb_query_get(req, "challenge", 9, &a)) { /* dropbox, nylas: the challenge echoed */
        hb_buf_append(&hs->body, a.base, a.len);
        hs->header_name = "x-content-type-options";
        hs->header_value = "nosniff";
        answered = 1;
    }
    hb_buf_dispose(&a);
    if (answered)
        hs->status = 200;
    return answered;
}

/* okta: a verified GET with X-Okta-Verification-Challenge: V → {"verification": V}. */
static int hb_okta_answer(const hb_request_t *req, hb_handshake_t *hs)
{
    const hb_header_t *c = hb_request_header(req, "x-okta-verification-challenge", 29);
    if (c == NULL || req->method_len != 3 || memcmp(req->method, "GET", 3) != 0)
        return 0;
    hb_buf_puts(&hs->body, "{\"verification\":");
    hb_json_str(&hs->body, c->value, c->value_len);
    hb_buf_putc(&hs->body, '}');
    hs->status = 200;
    hs->content_type = "application/json";
    return 1;
}

int hb_verifier_has_signed_handshake(const hb_verifier_t *v)
{
    return !v->none && v->plugin == NULL &&
           (v->s.handshake == HB_HANDSHAKE_SLACK || v->s.handshake == HB_HANDSHAKE_ZOOM ||
            v->s.handshake == HB_HANDSHAKE_DISCORD || v->s.handshake == HB_HANDSHAKE_TWITCH ||
            v->s.handshake == HB_HANDSHAKE_OKTA);
}

int hb_verifier_handshake_signed(const hb_verifier_t *v, const hb_request_t *req, const msgpack_object *body,
                                 hb_handshake_t *hs)
{
    if (!hb_verifier_has_signed_handshake(v))
        return 0;
    if (v->s.handshake == HB_HANDSHAKE_OKTA) /* the GET carries no body */
        return hb_okta_answer(req, hs);
    if (body == NULL)
        return 0;
    hb_span_t s;
    const msgpack_object *type = hb_map_get(body, "type");
    switch (v->s.handshake) {
    case HB_HANDSHAKE_SLACK: /* {"type": "url_verification", "challenge": C} → {"challenge": C} */
        if (!hb_map_str(body, "type", &s) || !hb_span_is(s, "url_verification") || !hb_map_str(body, "challenge", &s))
            return 0;
        hb_buf_puts(&hs->body, "{\"challenge\":");
        hb_json_str(&hs->body, s.p, s.n);
        hb_buf_puts(&hs->body, "}");
        break;
    case HB_HANDSHAKE_ZOOM: { /* endpoint.url_validation → {"plainToken": P, "encryptedToken": hex HMAC-SHA256(P)} */
        if (!hb_map_str(body, "event", &s) || !hb_span_is(s, "endpoint.url_validation") ||
            !hb_map_str(hb_map_get(body, "payload"), "plainToken", &s) ||
            hb_signing_hmac(v, req->received_at_ms) == NULL)
            return 0;
        uint8_t mac[EVP_MAX_MD_SIZE];
        size_t maclen = 0;
        hb_message_t m;
        m.n = 0;
        hb_msg_add(&m, s.p, s.n);
        if (!hb_hmac_parts(hb_signing_hmac(v, req->received_at_ms), &m, mac, &maclen))
            return 0;
        char hex[2 * EVP_MAX_MD_SIZE + 1];
        hb_hex_encode(hex, mac, maclen);
        hb_buf_puts(&hs->body, "{\"plainToken\":");
        hb_json_str(&hs->body, s.p, s.n);
        hb_buf_printf(&hs->body, ",\"encryptedToken\":\"%s\"}", hex);
        break;
    }
    case HB_HANDSHAKE_TWITCH: { /* Twitch-Eventsub-Message-Type: webhook_callback_verification → the challenge */
        const hb_header_t *t = hb_request_header(req, "twitch-eventsub-message-type", 28);
        if (t == NULL || !hb_span_is(hb_trim(t->value, t->value_len), "webhook_callback_verification") ||
            !hb_map_str(body, "challenge", &s))
            return 0;
        hb_buf_append(&hs->body, s.p, s.n);
        hs->status = 200;
        hs->content_type = "text/plain";
        hs->header_name = "x-content-type-options";
        hs->header_value = "nosniff";
        return 1;
    }
    case HB_HANDSHAKE_DISCORD: /* a verified PING ({"type": 1}) is answered PONG ({"type": 1}) */
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
