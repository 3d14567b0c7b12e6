/* tests/unit/test_verify.c: HMAC signature checks, against signatures computed independently with OpenSSL's HMAC(). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "verify.h"

#define HEADER_NAME "X-Hub-Signature-256" /* configured in mixed case; h2o hands requests lower-cased */
#define HEADER_LC "x-hub-signature-256"
#define SECRET "It's a Secret to Everybody"
#define BODY "{\"action\":\"opened\",\"n\":1}\n\0\xff"

static const struct {
    hb_hmac_alg_t alg;
    hb_sig_encoding_t enc;
    const char *scheme;
    const char *prefix;       /* the algorithm prefix a sender may put in front */
    const char *wrong_prefix; /* another algorithm's prefix */
} verifiers[] = {
    {HB_HMAC_SHA1, HB_ENC_HEX, "hmac-sha1", "sha1=", "sha256="},
    {HB_HMAC_SHA1, HB_ENC_BASE64, "hmac-sha1", "sha1=", "sha256="},
    {HB_HMAC_SHA1, HB_ENC_BASE64URL, "hmac-sha1", "sha1=", "sha256="},
    {HB_HMAC_SHA256, HB_ENC_HEX, "hmac-sha256", "sha256=", "sha1="},
    {HB_HMAC_SHA256, HB_ENC_BASE64, "hmac-sha256", "sha256=", "sha1="},
    {HB_HMAC_SHA256, HB_ENC_BASE64URL, "hmac-sha256", "sha256=", "sha1="},
    {HB_HMAC_SHA512, HB_ENC_HEX, "hmac-sha512", "sha512=", "sha256="},
    {HB_HMAC_SHA512, HB_ENC_BASE64, "hmac-sha512", "sha512=", "sha256="},
    {HB_HMAC_SHA512, HB_ENC_BASE64URL, "hmac-sha512", "sha512=", "sha256="},
};

enum { PREFIX_NONE, PREFIX_LOWER, PREFIX_UPPER, PREFIX_WRONG };

/* Each case runs against every verifier above: how the request differs from a correctly signed one. */
static const struct {
    const char *what;
    int prefix;
    const char *before, *after; /* written around the signature */
    int unpadded;               /* base64 '=' padding removed */
    int tamper_body;            /* the body changed by one byte after signing */
    int other_secret;           /* signed with another secret */
    int truncate;               /* the signature's last character dropped */
    int no_header;              /* the signature header is absent */
    int empty_value;            /* the header is present but empty */
    hb_status_t status;
    const char *reason; /* NULL: the missing-header reason */
} cases[] = {
    {"valid", PREFIX_NONE, "", "", 0, 0, 0, 0, 0, 0, HB_STATUS_OK, ""},
    {"valid with prefix", PREFIX_LOWER, "", "", 0, 0, 0, 0, 0, 0, HB_STATUS_OK, ""},
    {"valid with upper-case prefix", PREFIX_UPPER, "", "", 0, 0, 0, 0, 0, 0, HB_STATUS_OK, ""},
    {"valid, surrounded by whitespace", PREFIX_NONE, "  ", " \t", 0, 0, 0, 0, 0, 0, HB_STATUS_OK, ""},
    {"valid with prefix, surrounded by whitespace", PREFIX_LOWER, "\t", "  ", 0, 0, 0, 0, 0, 0, HB_STATUS_OK, ""},
    {"valid without padding", PREFIX_NONE, "", "", 1, 0, 0, 0, 0, 0, HB_STATUS_OK, ""},
    {"valid with prefix, without padding", PREFIX_LOWER, "", "", 1, 0, 0, 0, 0, 0, HB_STATUS_OK, ""},
    {"wrong algorithm prefix", PREFIX_WRONG, "", "", 0, 0, 0, 0, 0, 0, HB_STATUS_UNAUTHORIZED, "Signature mismatch"},
    {"body changed by one byte", PREFIX_NONE, "", "", 0, 1, 0, 0, 0, 0, HB_STATUS_UNAUTHORIZED, "Signature mismatch"},
    {"body changed, with prefix", PREFIX_LOWER, "", "", 0, 1, 0, 0, 0, 0, HB_STATUS_UNAUTHORIZED, "Signature mismatch"},
    {"signed with another secret", PREFIX_NONE, "", "", 0, 0, 1, 0, 0, 0, HB_STATUS_UNAUTHORIZED, "Signature mismatch"},
    {"signature truncated", PREFIX_NONE, "", "", 0, 0, 0, 1, 0, 0, HB_STATUS_UNAUTHORIZED, "Signature mismatch"},
    {"whitespace inside", PREFIX_NONE, "a ", "", 0, 0, 0, 0, 0, 0, HB_STATUS_UNAUTHORIZED, "Signature mismatch"},
    {"trailing garbage", PREFIX_NONE, "", "00", 0, 0, 0, 0, 0, 0, HB_STATUS_UNAUTHORIZED, "Signature mismatch"},
    {"empty header value", PREFIX_NONE, "", "", 0, 0, 0, 0, 0, 1, HB_STATUS_UNAUTHORIZED, "Signature mismatch"},
    {"only the prefix", PREFIX_LOWER, "", "", 0, 0, 0, 0, 0, 1, HB_STATUS_UNAUTHORIZED, "Signature mismatch"},
    {"missing header", PREFIX_NONE, "", "", 0, 0, 0, 0, 1, 0, HB_STATUS_UNAUTHORIZED, NULL},
};

/* RFC 2202 and RFC 4231 test case 2 (key "Jefe"), with the base64 forms of the same MACs. */
static const struct {
    hb_hmac_alg_t alg;
    hb_sig_encoding_t enc;
    const char *sig;
} vectors[] = {
    {HB_HMAC_SHA1, HB_ENC_HEX, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"},
    {HB_HMAC_SHA1, HB_ENC_BASE64, "7/zfauXrL6LSdBbV8YTfnCWafHk="},
    {HB_HMAC_SHA1, HB_ENC_BASE64URL, "7_zfauXrL6LSdBbV8YTfnCWafHk="},
    {HB_HMAC_SHA256, HB_ENC_HEX, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
    {HB_HMAC_SHA256, HB_ENC_BASE64, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="},
    {HB_HMAC_SHA256, HB_ENC_BASE64URL, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM="},
    {HB_HMAC_SHA512, HB_ENC_HEX,
     "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b6"
     "36e070a38bce737"},
    {HB_HMAC_SHA512, HB_ENC_BASE64,
     "Fkt6e/z4GeLjlfvnO1bgo4e9ZCIugx/WECcM1+olBVSXWL91wFqZSm0DT2X48Ob9yuqxo01Ka0tjbgcKOLznNw=="},
    {HB_HMAC_SHA512, HB_ENC_BASE64URL,
     "Fkt6e_z4GeLjlfvnO1bgo4e9ZCIugx_WECcM1-olBVSXWL91wFqZSm0DT2X48Ob9yuqxo01Ka0tjbgcKOLznNw=="},
};

/* ---- independent signing: OpenSSL's one-shot HMAC() and encoders written here ---- */

static const EVP_MD *md_of(hb_hmac_alg_t alg)
{
    return alg == HB_HMAC_SHA1 ? EVP_sha1() : alg == HB_HMAC_SHA256 ? EVP_sha256() : EVP_sha512();
}

static void encode(char *out, const unsigned char *in, size_t n, hb_sig_encoding_t enc, int pad)
{
    if (enc == HB_ENC_HEX) {
        for (size_t i = 0; i < n; i++)
            snprintf(out + 2 * i, 3, "%02x", in[i]);
        out[2 * n] = '\0';
        return;
    }
    const char *abc = enc == HB_ENC_BASE64URL ? "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                              : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        size_t k = n - i < 3 ? n - i : 3;
        unsigned long v =
            (unsigned long)in[i] << 16 | (k > 1 ? (unsigned long)in[i + 1] << 8 : 0) | (k > 2 ? in[i + 2] : 0);
        for (size_t j = 0; j < 4; j++) {
            if (j <= k)
                out[o++] = abc[(v >> (18 - 6 * j)) & 63];
            else if (pad)
                out[o++] = '=';
        }
    }
    out[o] = '\0';
}

/* The header value a sender would compute, without prefix. */
static void sign(char *out, hb_hmac_alg_t alg, hb_sig_encoding_t enc, const char *secret, const void *body, size_t len,
                 int pad)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned maclen = 0;
    HMAC(md_of(alg), secret, (int)strlen(secret), body, len, mac, &maclen);
    encode(out, mac, maclen, enc, pad);
}

static hb_verifier_t *new_verifier(hb_hmac_alg_t alg, hb_sig_encoding_t enc, const char *secret)
{
    hb_verify_config_t cfg = {0};
    cfg.header_name = HEADER_NAME;
    hb_secret_t one = {(char *)secret, secret != NULL ? strlen(secret) : 0, 0};
    cfg.secrets = secret != NULL ? &one : NULL;
    cfg.num_secrets = secret != NULL ? 1 : 0;
    cfg.algorithm = alg;
    cfg.encoding = enc;
    char err[256] = "";
    hb_verifier_t *v = hb_verifier_new(&cfg, err, sizeof(err));
    if (v == NULL)
        printf("# hb_verifier_new: %s\n", err);
    return v;
}

/* Checks body with a request whose signature header holds value (absent when value is NULL). */
static hb_status_t check(const hb_verifier_t *v, const void *body, size_t len, const char *value, const char **reason)
{
    hb_header_t headers[] = {
        {"content-type", 12, "application/json", 16},
        {"user-agent", 10, "GitHub-Hookshot/abc", 19},
        {HEADER_LC, strlen(HEADER_LC), value, value != NULL ? strlen(value) : 0},
        {"x-github-event", 14, "ping", 4},
    };
    hb_request_t req = {
        .method = "POST",
        .method_len = 4,
        .path = "/webhooks/github",
        .path_len = 16,
        .query_at = SIZE_MAX,
        .headers = headers,
        .num_headers = value != NULL ? 4 : 2,
        .body = body,
        .body_len = len,
        .remote_addr = "127.0.0.1",
        .received_at_ms = 1700000000000,
    };
    *reason = NULL;
    return hb_verifier_check(v, &req, reason);
}

/* ---- tests ---- */

static void test_matrix(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(verifiers); i++) {
        hb_verifier_t *v = new_verifier(verifiers[i].alg, verifiers[i].enc, SECRET);
        if (!ok(v != NULL, "verifier %zu (%s) builds", i, verifiers[i].scheme))
            continue;
        is_str(hb_verifier_scheme(v), verifiers[i].scheme, "verifier %zu scheme", i);
        for (size_t c = 0; c < HB_ARRAY_SIZE(cases); c++) {
            char sig[256], value[512];
            uint8_t body[sizeof(BODY) - 1];
            memcpy(body, BODY, sizeof(body));
            sign(sig, verifiers[i].alg, verifiers[i].enc, cases[c].other_secret ? "another secret" : SECRET, body,
                 sizeof(body), !cases[c].unpadded);
            if (cases[c].truncate) { /* drop the last character that carries bits (padding would not) */
                size_t n = strlen(sig);
                while (n > 0 && sig[n - 1] == '=')
                    n--;
                sig[n - 1] = '\0';
            }
            if (cases[c].empty_value)
                sig[0] = '\0';
            if (cases[c].tamper_body)
                body[3] ^= 0x01;
            const char *prefix = cases[c].prefix == PREFIX_NONE    ? ""
                                 : cases[c].prefix == PREFIX_WRONG ? verifiers[i].wrong_prefix
                                                                   : verifiers[i].prefix;
            snprintf(value, sizeof(value), "%s%s%s%s", cases[c].before, prefix, sig, cases[c].after);
            if (cases[c].prefix == PREFIX_UPPER)
                for (char *p = value; *p != '='; p++)
                    if (*p >= 'a' && *p <= 'z')
                        *p = (char)(*p - 'a' + 'A');
            const char *reason;
            hb_status_t st = check(v, body, sizeof(body), cases[c].no_header ? NULL : value, &reason);
            is_int(st, cases[c].status, "%s %s: %s \"%s\"", verifiers[i].scheme,
                   verifiers[i].enc == HB_ENC_HEX      ? "hex"
                   : verifiers[i].enc == HB_ENC_BASE64 ? "base64"
                                                       : "base64url",
                   cases[c].what, value);
            if (cases[c].status != HB_STATUS_OK)
                is_str(reason, cases[c].reason != NULL ? cases[c].reason : "Missing header " HEADER_NAME, "%s: reason",
                       cases[c].what);
        }
        hb_verifier_free(v);
    }
}

/* The signature value `hookbridge sign` prints for body ("HEADER: VALUE\n" → VALUE), or -1 when it cannot sign. */
static long sign_value(const hb_verifier_t *v, const void *body, size_t len, char *out, size_t outlen)
{
    hb_request_t req = {.method = "POST",
                        .method_len = 4,
                        .path = "/webhooks/x",
                        .path_len = 11,
                        .query_at = SIZE_MAX,
                        .body = body,
                        .body_len = len,
                        .received_at_ms = 1700000000000};
    hb_buf_t lines;
    hb_buf_init(&lines);
    long n = -1;
    if (hb_verifier_sign_headers(v, &req, &lines) == 0) {
        const char *colon = memchr(lines.base, ':', lines.len);
        size_t start = colon != NULL ? (size_t)(colon - lines.base) + 2 : lines.len;
        size_t end = lines.len > 0 && lines.base[lines.len - 1] == '\n' ? lines.len - 1 : lines.len;
        if (start <= end && end - start < outlen) {
            memcpy(out, lines.base + start, end - start);
            out[end - start] = '\0';
            n = (long)(end - start);
        }
    }
    hb_buf_dispose(&lines);
    return n;
}

static void test_sign(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(verifiers); i++) {
        hb_verifier_t *v = new_verifier(verifiers[i].alg, verifiers[i].enc, SECRET);
        if (v == NULL)
            continue;
        char want[256], got[256];
        sign(want, verifiers[i].alg, verifiers[i].enc, SECRET, BODY, sizeof(BODY) - 1, 1);
        memset(got, 'X', sizeof(got));
        long n = sign_value(v, BODY, sizeof(BODY) - 1, got, sizeof(got));
        is_int(n, strlen(want), "%s sign: length", verifiers[i].scheme);
        is_str(got, want, "%s sign: the value HMAC() gives, encoded", verifiers[i].scheme);
        hb_verifier_free(v);
    }
}

static void test_vectors(void)
{
    static const char data[] = "what do ya want for nothing?";
    for (size_t i = 0; i < HB_ARRAY_SIZE(vectors); i++) {
        char mine[256], got[256];
        sign(mine, vectors[i].alg, vectors[i].enc, "Jefe", data, sizeof(data) - 1, 1);
        is_str(mine, vectors[i].sig, "vector %zu: the test's own HMAC() and encoder agree with the published value", i);
        hb_verifier_t *v = new_verifier(vectors[i].alg, vectors[i].enc, "Jefe");
        if (v == NULL)
            continue;
        long n = sign_value(v, data, sizeof(data) - 1, got, sizeof(got));
        is_int(n, strlen(vectors[i].sig), "vector %zu: sign length", i);
        is_str(n > 0 ? got : NULL, vectors[i].sig, "vector %zu: hb_verifier_sign_headers", i);
        const char *reason;
        is_int(check(v, data, sizeof(data) - 1, vectors[i].sig, &reason), HB_STATUS_OK, "vector %zu: check accepts it",
               i);
        hb_verifier_free(v);
    }
}

static void test_special(void)
{
    const char *reason;
    char sig[256];

    /* empty secret: every request is refused, once the header is there */
    for (int null_secret = 0; null_secret <= 1; null_secret++) {
        hb_verifier_t *v = new_verifier(HB_HMAC_SHA256, HB_ENC_HEX, null_secret ? NULL : "");
        if (!ok(v != NULL, "a verifier with %s secret builds", null_secret ? "a NULL" : "an empty"))
            continue;
        sign(sig, HB_HMAC_SHA256, HB_ENC_HEX, "", BODY, sizeof(BODY) - 1, 1);
        is_int(check(v, BODY, sizeof(BODY) - 1, sig, &reason), HB_STATUS_UNAUTHORIZED, "empty secret: 401");
        is_str(reason, "Missing secret", "empty secret: reason");
        is_int(check(v, BODY, sizeof(BODY) - 1, NULL, &reason), HB_STATUS_UNAUTHORIZED, "empty secret, no header: 401");
        is_str(reason, "Missing header " HEADER_NAME, "empty secret, no header: the header is reported first");
        is_int(sign_value(v, BODY, 1, sig, sizeof(sig)), -1, "empty secret: sign gives -1");
        hb_verifier_free(v);
    }

    /* verify: none */
    hb_verify_config_t none = {.none = 1};
    char err[256];
    hb_verifier_t *v = hb_verifier_new(&none, err, sizeof(err));
    if (ok(v != NULL, "verify none builds")) {
        is_str(hb_verifier_scheme(v), "none", "verify none: scheme");
        is_int(check(v, BODY, sizeof(BODY) - 1, NULL, &reason), HB_STATUS_OK, "verify none: no header is OK");
        is_int(check(v, BODY, sizeof(BODY) - 1, "sha256=00", &reason), HB_STATUS_OK, "verify none: any header is OK");
        is_int(sign_value(v, BODY, 1, sig, sizeof(sig)), -1, "verify none: sign gives -1");
        hb_verifier_free(v);
    }

    /* hex either case; an empty body */
    v = new_verifier(HB_HMAC_SHA256, HB_ENC_HEX, SECRET);
    if (v != NULL) {
        sign(sig, HB_HMAC_SHA256, HB_ENC_HEX, SECRET, BODY, sizeof(BODY) - 1, 1);
        for (char *p = sig; *p != '\0'; p++)
            if (*p >= 'a' && *p <= 'f')
                *p = (char)(*p - 'a' + 'A');
        is_int(check(v, BODY, sizeof(BODY) - 1, sig, &reason), HB_STATUS_OK, "upper-case hex is accepted");
        sign(sig, HB_HMAC_SHA256, HB_ENC_HEX, SECRET, "", 0, 1);
        is_int(check(v, "", 0, sig, &reason), HB_STATUS_OK, "an empty body with its signature");
        is_int(check(v, "x", 1, sig, &reason), HB_STATUS_UNAUTHORIZED, "a one-byte body with the empty body's one");
        hb_verifier_free(v);
    }

    /* the header looked up by its lower-case name, whatever the configured case */
    hb_verify_config_t cfg = {.header_name = "X-CAL-Signature-256",
                              .secrets = &(hb_secret_t){"k", 1, 0},
                              .num_secrets = 1,
                              .algorithm = HB_HMAC_SHA256,
                              .encoding = HB_ENC_HEX};
    v = hb_verifier_new(&cfg, err, sizeof(err));
    if (ok(v != NULL, "a verifier for X-CAL-Signature-256 builds")) {
        sign(sig, HB_HMAC_SHA256, HB_ENC_HEX, "k", "b", 1, 1);
        hb_header_t headers[] = {{"x-cal-signature-256", 19, sig, strlen(sig)}};
        hb_request_t req = {.method = "POST",
                            .method_len = 4,
                            .path = "/",
                            .path_len = 1,
                            .query_at = SIZE_MAX,
                            .headers = headers,
                            .num_headers = 1,
                            .body = (const uint8_t *)"b",
                            .body_len = 1,
                            .remote_addr = "::1"};
        reason = NULL;
        is_int(hb_verifier_check(v, &req, &reason), HB_STATUS_OK, "lower-case request header matches X-CAL-...");
        req.num_headers = 0;
        hb_verifier_check(v, &req, &reason);
        is_str(reason, "Missing header X-CAL-Signature-256", "missing header reason keeps the configured case");
        hb_verifier_free(v);
    }
}

int main(void)
{
    test_vectors();
    test_matrix();
    test_sign();
    test_special();
    return done_testing();
}
