/*
 * tests/fuzz/fuzz_signatures.c: every signature-header parser, through hb_verifier_check() of each provider preset
 * and of the generic HMAC scheme (each algorithm and encoding), with a fixed secret or fixed public keys whose
 * private halves were thrown away. Nothing the fuzzer writes can carry a valid HMAC or signature, so an accepted
 * request is a bug, as is a crash.
 *
 * Input: one byte saying which headers are present, then lines (split at '\n'): the signature header's value, the
 * timestamp, the message id, the content type, "METHOD PATH?QUERY"; all after the fifth '\n' is the body.
 */
#include "fuzz.h"
#include "verify.h"

#define FZ_NOW_MS INT64_C(1700000000000) /* the request's arrival: timestamps near 1700000000 are in tolerance */

typedef struct fz_verifier {
    const char *provider; /* NULL: generic HMAC */
    const char *sig;      /* the signature header, lower-case */
    hb_hmac_alg_t alg;
    hb_sig_encoding_t enc;
    int public_key; /* 1: the verifier holds a public key instead of the secret */
    hb_verifier_t *v;
} fz_verifier_t;

/* clang-format off */
static fz_verifier_t fz_verifiers[] = {
    {"github", "x-hub-signature-256", 0, 0, 0, NULL},
    {"stripe", "stripe-signature", 0, 0, 0, NULL},
    {"slack", "x-slack-signature", 0, 0, 0, NULL},
    {"shopify", "x-shopify-hmac-sha256", 0, 0, 0, NULL},
    {"standard-webhooks", "webhook-signature", 0, 0, 0, NULL},
    {"standard-webhooks", "webhook-signature", 0, 0, 1, NULL},
    {"svix", "svix-signature", 0, 0, 0, NULL},
    {"svix", "svix-signature", 0, 0, 1, NULL},
    {"twilio", "x-twilio-signature", 0, 0, 0, NULL},
    {"zoom", "x-zm-signature", 0, 0, 0, NULL},
    {"meta", "x-hub-signature-256", 0, 0, 0, NULL},
    {"discord", "x-signature-ed25519", 0, 0, 1, NULL},
    {"sendgrid", "x-twilio-email-event-webhook-signature", 0, 0, 1, NULL},
    {"linear", "linear-signature", 0, 0, 0, NULL},
    {"intercom", "x-hub-signature", 0, 0, 0, NULL},
    {"paddle", "paddle-signature", 0, 0, 0, NULL},
    {"gitlab", "x-gitlab-token", 0, 0, 0, NULL},
    {"mailgun", NULL, 0, 0, 0, NULL},
    {"dropbox", "x-dropbox-signature", 0, 0, 0, NULL},
    {NULL, "x-signature", HB_HMAC_SHA1, HB_ENC_HEX, 0, NULL},
    {NULL, "x-signature", HB_HMAC_SHA256, HB_ENC_BASE64, 0, NULL},
    {NULL, "x-signature", HB_HMAC_SHA512, HB_ENC_BASE64URL, 0, NULL},
};
/* clang-format on */

/* Every timestamp and id header of the presets: each request carries them all (with the same values). */
static const char *const fz_ts_headers[] = {
    "x-slack-request-timestamp", "webhook-timestamp",     "svix-timestamp",
    "x-zm-request-timestamp",    "x-signature-timestamp", "x-twilio-email-event-webhook-timestamp"};
static const char *const fz_id_headers[] = {"webhook-id", "svix-id"};

static void fz_setup(void)
{
    static hb_secret_t secret = {"fuzz-secret", 11};
    static hb_secret_t whsec = {"whsec_ZnV6ei1zdml4LXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm", 50};
    static char ed25519_hex[] = "ac805e3387d429c891effb532faadf03c880035cbd94e66d84e0ef61e942478c";
    static char ed25519_whpk[] = "whpk_rIBeM4fUKciR7/tTL6rfA8iAA1y9lOZthODvYelCR4w=";
    static char p256_der[] =
        "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEow4BB6FvT2KEUTMW9Bjna64Wpi7TyJpGpBHVK51lXTk3MCn8V4v7nzY0"
        "YeCNLcMfHIjAez5m/YlH6rrtEVSfmw==";
    for (size_t i = 0; i < HB_ARRAY_SIZE(fz_verifiers); i++) {
        fz_verifier_t *f = &fz_verifiers[i];
        char *key = NULL;
        hb_verify_config_t cfg = {.provider = (char *)f->provider,
                                  .header_name = f->provider == NULL ? "X-Signature" : NULL,
                                  .algorithm = f->alg,
                                  .encoding = f->enc,
                                  .public_url = "https://hooks.example.com/",
                                  .verify_token = "fuzz-token"};
        if (f->public_key) {
            key = f->provider[0] == 'd'                            ? ed25519_hex
                  : f->provider[0] == 's' && f->provider[1] == 'e' ? p256_der
                                                                   : ed25519_whpk;
            cfg.public_keys = &key;
            cfg.num_public_keys = 1;
        } else {
            int whsec_form = f->provider != NULL &&
                             (strcmp(f->provider, "svix") == 0 || strcmp(f->provider, "standard-webhooks") == 0);
            cfg.secrets = whsec_form ? &whsec : &secret;
            cfg.num_secrets = 1;
        }
        char err[256];
        f->v = hb_verifier_new(&cfg, err, sizeof(err));
        if (f->v == NULL) {
            fprintf(stderr, "cannot set up the verifier of %s: %s\n", f->provider ? f->provider : "hmac", err);
            abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        fz_setup();
        ready = 1;
    }
    if (size == 0)
        return 0;
    unsigned present = data[0]; /* bit 0: signature, 1: timestamp, 2: id, 3: content type */
    fz_span_t parts[6];
    size_t n = fz_split(data + 1, size - 1, '\n', parts, 6);
    fz_span_t none = {"", 0};
    fz_span_t sig = parts[0], ts = n > 1 ? parts[1] : none, id = n > 2 ? parts[2] : none;
    fz_span_t ctype = n > 3 ? parts[3] : none, line = n > 4 ? parts[4] : none, body = n > 5 ? parts[5] : none;

    hb_header_t headers[12];
    size_t nh = 0;
    size_t sig_at = nh++; /* its name is the verifier's, set below */
    if (present & 2)
        for (size_t i = 0; i < HB_ARRAY_SIZE(fz_ts_headers); i++)
            headers[nh++] = (hb_header_t){fz_ts_headers[i], strlen(fz_ts_headers[i]), ts.p, ts.n};
    if (present & 4)
        for (size_t i = 0; i < HB_ARRAY_SIZE(fz_id_headers); i++)
            headers[nh++] = (hb_header_t){fz_id_headers[i], strlen(fz_id_headers[i]), id.p, id.n};
    if (present & 8)
        headers[nh++] = (hb_header_t){"content-type", 12, ctype.p, ctype.n};

    hb_request_t req = {.method = "POST",
                        .method_len = 4,
                        .path = "/webhooks/fuzz",
                        .path_len = 14,
                        .query_at = SIZE_MAX,
                        .headers = headers,
                        .num_headers = nh,
                        .body = (const uint8_t *)body.p,
                        .body_len = body.n,
                        .remote_addr = "192.0.2.1",
                        .received_at_ms = FZ_NOW_MS};
    const char *sp = memchr(line.p, ' ', line.n);
    if (sp != NULL) {
        req.method = line.p;
        req.method_len = (size_t)(sp - line.p);
        req.path = sp + 1;
        req.path_len = line.n - req.method_len - 1;
        const char *q = memchr(req.path, '?', req.path_len);
        req.query_at = q != NULL ? (size_t)(q - req.path) : SIZE_MAX;
    }

    for (size_t i = 0; i < HB_ARRAY_SIZE(fz_verifiers); i++) {
        const fz_verifier_t *f = &fz_verifiers[i];
        headers[sig_at] = (hb_header_t){"x-absent", 8, sig.p, sig.n};
        if ((present & 1) && f->sig != NULL)
            headers[sig_at] = (hb_header_t){f->sig, strlen(f->sig), sig.p, sig.n};
        const char *reason = NULL;
        hb_status_t st = hb_verifier_check(f->v, &req, &reason);
        FZ_CHECK(st == HB_STATUS_UNAUTHORIZED, "%s (%s key) accepted a request nobody signed",
                 f->provider != NULL ? f->provider : "generic HMAC", f->public_key ? "public" : "secret");
        FZ_CHECK(reason != NULL && reason[0] != '\0', "a refusal says why");

        hb_handshake_t hs = {.status = 0};
        hb_buf_init(&hs.body);
        if (hb_verifier_handshake_unsigned(f->v, &req, &hs))
            FZ_CHECK(hs.status == 200 && hs.content_type != NULL, "a handshake answer is complete");
        hb_buf_dispose(&hs.body);
    }
    fz_free_parts(parts, n);
    return 0;
}
