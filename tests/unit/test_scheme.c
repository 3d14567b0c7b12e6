/* tests/unit/test_scheme.c: the scheme table (scheme.h): the template parser, the vocabulary, the rows' invariants,
   and, for every row hookbridge can sign, that what `hookbridge sign` prints verifies. */
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "body.h"
#include "scheme.h"
#include "tap.h"
#include "verify.h"

/* ---- the template parser ---- */

/* The parts as text: "lit(v0:) timestamp lit(:) body". */
static void describe(const hb_scheme_part_t *parts, int n, char *out, size_t size)
{
    static const char *const names[] = {
        [HB_PART_LITERAL] = "lit", [HB_PART_BODY] = "body",     [HB_PART_TIMESTAMP] = "timestamp",
        [HB_PART_ID] = "id",       [HB_PART_URL] = "url",       [HB_PART_FORM_SORTED] = "form:sorted",
        [HB_PART_TOKEN] = "token", [HB_PART_METHOD] = "method", [HB_PART_PATH] = "path"};
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < n && off < size; i++) {
        if (parts[i].kind == HB_PART_LITERAL || parts[i].kind == HB_PART_HEADER)
            off +=
                (size_t)snprintf(out + off, size - off, "%s%s(%.*s)", i > 0 ? " " : "",
                                 parts[i].kind == HB_PART_LITERAL ? "lit" : "header", (int)parts[i].len, parts[i].text);
        else
            off += (size_t)snprintf(out + off, size - off, "%s%s", i > 0 ? " " : "", names[parts[i].kind]);
    }
}

#define KNOWN "{body}, {timestamp}, {id}, {url}, {form:sorted}, {token}, {method}, {path}, {header:NAME}"

static const struct {
    const char *text;
    const char *parts; /* NULL: an error */
    const char *err;   /* the error, exactly */
} templates[] = {
    {"{body}", "body", NULL},
    {"{timestamp}.{body}", "timestamp lit(.) body", NULL},
    {"v0:{timestamp}:{body}", "lit(v0:) timestamp lit(:) body", NULL},
    {"{id}.{timestamp}.{body}", "id lit(.) timestamp lit(.) body", NULL},
    {"{timestamp}:{body}", "timestamp lit(:) body", NULL},
    {"{timestamp}{body}", "timestamp body", NULL},
    {"{url}{form:sorted}", "url form:sorted", NULL},
    {"{timestamp}{token}", "timestamp token", NULL},
    {"literal only", "lit(literal only)", NULL},
    {"a{body}b", "lit(a) body lit(b)", NULL},
    {"{body}{body}", "body body", NULL},
    {"{method}{url}{body}{timestamp}", "method url body timestamp", NULL},
    {"{path}.{header:X-Plivo-Signature-V3-Nonce}", "path lit(.) header(X-Plivo-Signature-V3-Nonce)", NULL},
    {"{header:}", NULL, "signed content \"{header:}\": unknown part {header:} (known: " KNOWN ")"},
    {"{header:a b}", NULL, "signed content \"{header:a b}\": unknown part {header:a b} (known: " KNOWN ")"},
    {"{header:NAME}", "header(NAME)", NULL},
    {"", NULL, "signed content is empty (write the parts that are signed, such as {body})"},
    {"{bdy}", NULL, "signed content \"{bdy}\": unknown part {bdy} (known: " KNOWN ")"},
    {"{}", NULL, "signed content \"{}\": unknown part {} (known: " KNOWN ")"},
    {"{Body}", NULL, "signed content \"{Body}\": unknown part {Body} (known: " KNOWN ")"},
    {"{ body }", NULL, "signed content \"{ body }\": unknown part { body } (known: " KNOWN ")"},
    {"{form}", NULL, "signed content \"{form}\": unknown part {form} (known: " KNOWN ")"},
    {"{timestamp.{body}", NULL, "signed content \"{timestamp.{body}\": the '{' at character 1 is not closed"},
    {"{body", NULL, "signed content \"{body\": the '{' at character 1 is not closed"},
    {"x.{", NULL, "signed content \"x.{\": the '{' at character 3 is not closed"},
    {"body}", NULL, "signed content \"body}\": the '}' at character 5 closes no '{'"},
    {"{body}}", NULL, "signed content \"{body}}\": the '}' at character 7 closes no '{'"},
    {"}{body}", NULL, "signed content \"}{body}\": the '}' at character 1 closes no '{'"},
    {"{form:sorted}{form:sorted}", NULL,
     "signed content \"{form:sorted}{form:sorted}\": {form:sorted} may appear once"},
    {"{id}.{id}.{id}.{id}.{id}", NULL, "signed content has more than 8 parts"},
};

static void test_templates(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(templates); i++) {
        hb_scheme_part_t parts[HB_SCHEME_MAX_PARTS];
        char err[256] = "", got[512] = "";
        int n = hb_scheme_template_parse(templates[i].text, parts, HB_ARRAY_SIZE(parts), err, sizeof(err));
        if (templates[i].parts != NULL) {
            describe(parts, n, got, sizeof(got));
            is_str(n > 0 ? got : err, templates[i].parts, "template \"%s\": its parts", templates[i].text);
        } else {
            is_int(n, -1, "template \"%s\" is refused", templates[i].text);
            is_str(err, templates[i].err, "template \"%s\": the reason", templates[i].text);
        }
    }
    char err[64] = "";
    is_int(hb_scheme_template_parse(NULL, NULL, 0, err, sizeof(err)), -1, "a NULL template is refused");
    hb_scheme_part_t one[1];
    is_int(hb_scheme_template_parse("{timestamp}.", one, 1, err, sizeof(err)), -1, "max is kept");
    is_str(err, "signed content has more than 1 parts", "max: the reason");
}

/* ---- the table ---- */

static void *names_thread(void *arg)
{
    (void)arg;
    return (void *)hb_scheme_names();
}

static void test_table(void)
{
    /* the first 17, in their order; the table grows after them */
    static const char first17[] =
        "github, stripe, slack, shopify, standard-webhooks, svix, twilio, zoom, meta, discord, "
        "sendgrid, linear, intercom, paddle, gitlab, mailgun, dropbox";
    hb_buf_t names;
    hb_buf_init(&names);
    for (size_t i = 0; hb_scheme_at(i) != NULL; i++)
        hb_buf_printf(&names, "%s%s", i > 0 ? ", " : "", hb_scheme_at(i)->name);
    pthread_t t[8];
    for (size_t i = 0; i < HB_ARRAY_SIZE(t); i++)
        pthread_create(&t[i], NULL, names_thread, NULL);
    const char *first = NULL;
    int same = 1;
    for (size_t i = 0; i < HB_ARRAY_SIZE(t); i++) {
        void *got;
        pthread_join(t[i], &got);
        first = first != NULL ? first : got;
        same = same && got == first;
    }
    ok(same, "hb_scheme_names: one string for every thread that asked at once");
    is_str(first, names.base, "hb_scheme_names: the names in table order");
    ok(strncmp(first, first17, strlen(first17)) == 0, "the first 17 presets keep their order");
    hb_buf_dispose(&names);

    size_t n = 0;
    for (const hb_scheme_t *s; (s = hb_scheme_at(n)) != NULL; n++) {
        ok(hb_scheme_find(s->name) == s, "row %zu (%s): hb_scheme_find finds it", n, s->name);
        /* the invariants a row of the table keeps */
        hb_scheme_part_t parts[HB_SCHEME_MAX_PARTS];
        char err[256] = "";
        int np = s->split.kind == HB_SPLIT_TOKEN
                     ? 0
                     : hb_scheme_template_parse(s->signed_content, parts, HB_ARRAY_SIZE(parts), err, sizeof(err));
        ok(np >= 0, "%s: its signed content parses (%s)", s->name, err);
        int uses_id = 0, uses_ts = 0, uses_token = 0;
        for (int i = 0; i < np; i++) {
            uses_id |= parts[i].kind == HB_PART_ID;
            uses_ts |= parts[i].kind == HB_PART_TIMESTAMP;
            uses_token |= parts[i].kind == HB_PART_TOKEN;
        }
        ok(!uses_id || s->id_header != NULL, "%s: {id} comes with an idHeader", s->name);
        int ts_source =
            s->timestamp_header != NULL || s->split.kind == HB_SPLIT_PAIRS || s->split.kind == HB_SPLIT_BODY;
        ok(!(uses_ts || s->timestamped) || ts_source, "%s: a signed or checked timestamp has a source", s->name);
        ok(!uses_token || s->split.kind == HB_SPLIT_BODY, "%s: {token} only with a body split", s->name);
        ok((s->signature_header == NULL) == (s->split.kind == HB_SPLIT_BODY), "%s: a header unless a body split",
           s->name);
        ok(s->id_header == NULL ||
               strspn(s->id_header, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s->id_header),
           "%s: idHeader is lower-case", s->name);
        ok(s->timestamp_header == NULL ||
               strspn(s->timestamp_header, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen(s->timestamp_header),
           "%s: timestampHeader is lower-case", s->name);
        int asym = s->algorithm == HB_ALG_ED25519 || s->algorithm == HB_ALG_ECDSA_P256;
        ok(!asym || (s->public_key_form != HB_PUBKEY_NONE && (s->needs & HB_PRESET_PUBLIC_KEY)),
           "%s: a signature algorithm takes a public key", s->name);
        ok((s->public_key_form != HB_PUBKEY_NONE) == ((s->needs & (HB_PRESET_PUBLIC_KEY | HB_PRESET_KEY_EITHER)) != 0),
           "%s: a public key form exactly when a public key is wanted", s->name);
        ok((s->split.kind == HB_SPLIT_TOKEN) == (s->algorithm == HB_ALG_NONE), "%s: no algorithm exactly for a token",
           s->name);
        ok(s->split.kind != HB_SPLIT_PAIRS ||
               (s->split.separator != '\0' && s->split.timestamp_key != NULL && s->split.signature_key != NULL),
           "%s: pairs name their separator and keys", s->name);
        ok(s->split.kind != HB_SPLIT_LIST || (s->split.separator != '\0' && s->split.signature_key != NULL),
           "%s: a list names its separator and key", s->name);
        ok(!(s->checks & HB_CHECK_TOKEN_REPLAY) || uses_token, "%s: tokenReplay goes with {token}", s->name);
        int uses_url = 0;
        for (int k = 0; k < np; k++)
            uses_url |= parts[k].kind == HB_PART_URL;
        ok(!(s->needs & HB_PRESET_PUBLIC_URL) == !uses_url, "%s: publicUrl is needed exactly when {url} is signed",
           s->name);
    }
    ok(n >= 17, "at least the 17 presets (%zu)", n);
    const char *twice = NULL;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            twice = strcmp(hb_scheme_at(i)->name, hb_scheme_at(j)->name) == 0 ? hb_scheme_at(i)->name : twice;
    ok(twice == NULL, "one row per name (twice: %s)", twice != NULL ? twice : "none");
    for (size_t i = 17; i < n; i++)
        ok(hb_scheme_at(i)->docs != NULL && hb_scheme_at(i)->proof != NULL, "%s: says what documents and proves it",
           hb_scheme_at(i)->name);
    ok(hb_scheme_find("nosuch") == NULL && hb_scheme_find("") == NULL && hb_scheme_find("GitHub") == NULL,
       "hb_scheme_find: unknown names, and names in another case, are NULL");
}

/* ---- the vocabulary ---- */

static const struct {
    hb_scheme_field_t field;
    const char *words;
} vocabulary[] = {
    {HB_FIELD_SPLIT, "plain, pairs, list, token, body"},
    {HB_FIELD_ALGORITHM, "none, sha1, sha256, sha512, ed25519, ecdsa-p256"},
    {HB_FIELD_ENCODING, "hex, base64, base64url"},
    {HB_FIELD_SECRET_FORM, "raw, whsec, hex, base64"},
    {HB_FIELD_PUBLIC_KEY_FORM, "none, hex, whpk, spki, base64, pem"},
    {HB_FIELD_TIMESTAMP_UNIT, "seconds, milliseconds, rfc3339"},
    {HB_FIELD_HANDSHAKE, "none, slack, zoom, meta, discord, dropbox, twitch, x-crc, nylas, okta"},
    {HB_FIELD_NEEDS, "secret, publicKey, keyEither, publicUrl, verifyToken"},
    {HB_FIELD_CHECKS, "bodySHA256, tokenReplay"},
};

static void test_vocabulary(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(vocabulary); i++) {
        char buf[256];
        is_str(hb_scheme_words(vocabulary[i].field, buf, sizeof(buf)), vocabulary[i].words, "field %d: its words",
               (int)vocabulary[i].field);
        int v = 0;
        for (const char *w; (w = hb_scheme_word(vocabulary[i].field, v)) != NULL; v++)
            is_int(hb_scheme_value(vocabulary[i].field, w), v, "field %d: \"%s\" reads back as %d",
                   (int)vocabulary[i].field, w, v);
        ok(v > 1, "field %d has words", (int)vocabulary[i].field);
        is_int(hb_scheme_value(vocabulary[i].field, "SHA256"), -1, "field %d: an unknown word is -1",
               (int)vocabulary[i].field);
        ok(hb_scheme_word(vocabulary[i].field, -1) == NULL, "field %d: -1 has no word", (int)vocabulary[i].field);
    }
    is_str(hb_scheme_word(HB_FIELD_ALGORITHM, HB_ALG_ECDSA_P256), "ecdsa-p256", "ecdsa-p256");
    is_int(hb_scheme_value(HB_FIELD_NEEDS, "publicUrl"), 3, "needs: publicUrl is bit 3");
    is_int(1 << hb_scheme_value(HB_FIELD_NEEDS, "publicUrl"), HB_PRESET_PUBLIC_URL, "needs: bit 3 is publicUrl");
    is_int(1 << hb_scheme_value(HB_FIELD_CHECKS, "tokenReplay"), HB_CHECK_TOKEN_REPLAY, "checks: tokenReplay's bit");
    char small[8];
    is_str(hb_scheme_words(HB_FIELD_ENCODING, small, sizeof(small)), "hex, ba", "words: cut to the buffer");
    ok(hb_scheme_word((hb_scheme_field_t)99, 0) == NULL && hb_scheme_value((hb_scheme_field_t)99, "hex") == -1,
       "an unknown field has no words");
}

/* ---- what `hookbridge sign` prints verifies ---- */

typedef struct signed_req {
    hb_header_t headers[8];
    char lines[1024];
    size_t n;
    char body[512];
    int body_signed; /* the body came from a "# ... {json}" line */
} signed_req_t;

/* Turns "Name: value\n" lines into lower-case headers (in place), and a "# ... {json}" line into the body. */
static void apply_lines(signed_req_t *r, const char *lines, size_t len)
{
    memcpy(r->lines, lines, len);
    r->lines[len] = '\0';
    for (char *p = r->lines, *nl; *p != '\0' && r->n < HB_ARRAY_SIZE(r->headers); p = nl + 1) {
        nl = strchr(p, '\n');
        if (nl == NULL)
            break;
        *nl = '\0';
        char *colon = strchr(p, ':'), *brace = strchr(p, '{');
        if (p[0] == '#' && brace != NULL) {
            snprintf(r->body, sizeof(r->body), "%s", brace);
            r->body_signed = 1;
            continue;
        }
        if (colon == NULL)
            continue;
        for (char *c = p; c < colon; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        r->headers[r->n++] = (hb_header_t){p, (size_t)(colon - p), colon + 2, strlen(colon + 2)};
    }
}

static hb_status_t sign_and_check(const hb_verifier_t *v, const char *path, const char *ctype, const char *body,
                                  int64_t sign_at, int64_t check_at, const char **reason, hb_buf_t *lines)
{
    signed_req_t r = {.n = 1};
    snprintf(r.body, sizeof(r.body), "%s", body);
    const char *q = strchr(path, '?');
    hb_request_t req = {.method = "POST",
                        .method_len = 4,
                        .path = path,
                        .path_len = strlen(path),
                        .query_at = q != NULL ? (size_t)(q - path) : SIZE_MAX,
                        .headers = r.headers,
                        .num_headers = 1,
                        .body = (const uint8_t *)r.body,
                        .body_len = strlen(r.body),
                        .received_at_ms = sign_at};
    r.headers[0] = (hb_header_t){"content-type", 12, ctype, strlen(ctype)};
    *reason = "cannot sign";
    if (hb_verifier_sign_headers(v, &req, lines) != 0)
        return HB_STATUS_UNAUTHORIZED;
    apply_lines(&r, lines->base, lines->len);
    if (r.body_signed)
        r.headers[0] = (hb_header_t){"content-type", 12, "application/json", 16};
    req.num_headers = r.n;
    req.body_len = strlen(r.body);
    req.received_at_ms = check_at;
    *reason = "";
    return hb_verifier_check(v, &req, reason);
}

static void test_sign_verifies(void)
{
    const int64_t at = 1700000000123;
    for (size_t i = 0; hb_scheme_at(i) != NULL; i++) {
        const hb_scheme_t *s = hb_scheme_at(i);
        if (s->algorithm == HB_ALG_ED25519 || s->algorithm == HB_ALG_ECDSA_P256)
            continue; /* hookbridge holds no private key */
        int whsec = s->secret_form == HB_SECRET_WHSEC;
        hb_secret_t secret = {whsec ? "whsec_c2VjcmV0LWJ5dGVz" : "secret", whsec ? 22 : 6, 0};
        hb_verify_config_t cfg = {.provider = (char *)s->name,
                                  .secrets = &secret,
                                  .num_secrets = 1,
                                  .verify_token = "vt",
                                  .public_url = "https://hooks.example.com/"};
        char err[256] = "";
        hb_verifier_t *v = hb_verifier_new(&cfg, err, sizeof(err));
        if (!ok(v != NULL, "%s: a verifier with a secret (%s)", s->name, err))
            continue;
        static const struct {
            const char *path, *ctype, *body;
        } bodies[] = {{"/webhooks/x", "application/json", "{\"a\":1}"},
                      {"/webhooks/x?q=1", "application/x-www-form-urlencoded", "b=2&a=1&a=1&c=%20x"}};
        for (size_t b = 0; b < HB_ARRAY_SIZE(bodies); b++) {
            const char *reason;
            hb_buf_t lines;
            hb_buf_init(&lines);
            int64_t t = at + (int64_t)b * 1000; /* a token of its own each time (mailgun) */
            hb_status_t st =
                sign_and_check(v, bodies[b].path, bodies[b].ctype, bodies[b].body, t, t + 1000, &reason, &lines);
            if (!is_int(st, HB_STATUS_OK, "%s, %s: what sign prints verifies (%s)", s->name, bodies[b].ctype, reason))
                printf("#   %.*s\n", (int)lines.len, lines.base);
            hb_buf_dispose(&lines);
        }
        hb_verifier_free(v);
    }
}

/* ---- a scheme that is not a preset: what a user will declare ---- */

static void test_own_scheme(void)
{
    hb_scheme_t own = {
        .name = "acme",
        .id_header = "acme-delivery",
        .needs = HB_PRESET_SECRET,
        .signature_header = "Acme-Signature",
        .split = {.kind = HB_SPLIT_PAIRS, .separator = '|', .timestamp_key = "time", .signature_key = "sig"},
        .signed_content = "acme:{id}:{timestamp}:{body}",
        .algorithm = HB_ALG_SHA512,
        .encoding = HB_ENCODING_BASE64URL,
        .timestamp_unit = HB_TS_MILLISECONDS,
        .timestamped = 1};
    hb_secret_t secret = {"k", 1, 0};
    hb_verify_config_t cfg = {.secrets = &secret, .num_secrets = 1, .tolerance_ms = 5000};
    char err[256] = "";
    cfg.scheme = &own;
    hb_verifier_t *v = hb_verifier_new(&cfg, err, sizeof(err));
    if (ok(v != NULL, "a scheme of its own builds (%s)", err)) {
        is_str(hb_verifier_scheme(v), "acme", "its scheme is its name");
        hb_buf_t lines;
        hb_buf_init(&lines);
        const char *reason = "";
        hb_status_t st =
            sign_and_check(v, "/", "application/json", "{}", 1700000000123, 1700000004000, &reason, &lines);
        is_int(st, HB_STATUS_OK, "it signs and verifies (%s)", reason);
        ok(strstr(lines.base, "acme-delivery: msg_hookbridge_sign_1700000000123\nAcme-Signature: "
                              "time=1700000000123|sig=") == lines.base,
           "sign writes the id, then the pairs with a timestamp in milliseconds");
        hb_buf_dispose(&lines);
        hb_buf_init(&lines);
        is_int(sign_and_check(v, "/", "application/json", "{}", 1700000000123, 1700000006000, &reason, &lines),
               HB_STATUS_UNAUTHORIZED, "5.9 s later it is refused");
        is_str(reason, "Timestamp outside tolerance", "the tolerance counts milliseconds");
        hb_buf_dispose(&lines);
        hb_verifier_free(v);
    }
    hb_scheme_t bad = own;
    bad.id_header = NULL;
    cfg.scheme = &bad;
    ok(hb_verifier_new(&cfg, err, sizeof(err)) == NULL, "{id} without idHeader is refused");
    is_str(err, "signed content \"acme:{id}:{timestamp}:{body}\" has {id}: the scheme needs idHeader", "the reason");
    bad = own;
    bad.signed_content = "{timestamp}.{bdy}";
    cfg.scheme = &bad;
    ok(hb_verifier_new(&cfg, err, sizeof(err)) == NULL, "an unknown part is refused");
    is_str(err,
           "signed content \"{timestamp}.{bdy}\": unknown part {bdy} (known: {body}, {timestamp}, {id}, {url}, "
           "{form:sorted}, {token}, {method}, {path}, {header:NAME})",
           "the parser's reason");
}

/* ---- the words a declared scheme may use beyond the 17 presets' ---- */

static void test_rfc3339(void)
{
    static const struct {
        const char *text;
        int64_t ms; /* -1: refused */
    } rows[] = {
        {"1970-01-01T00:00:00Z", 0},
        {"2026-12-08T10:00:00Z", 1796724000000},
        {"2026-12-08T10:00:00.123Z", 1796724000123},
        {"2026-12-08T10:00:00.1234567Z", 1796724000123},
        {"2026-12-08t10:00:00z", 1796724000000},
        {"2026-12-08T11:30:00+01:30", 1796724000000},
        {"2026-12-08T08:00:00-02:00", 1796724000000},
        {"2026-12-08T10:00:00", -1},
        {"2026-12-08T10:00:00.Z", -1},
        {"2026-13-08T10:00:00Z", -1},
        {"2026-12-08T24:00:00Z", -1},
        {"2026-12-08T10:00:00+0100", -1},
        {"2026-12-08T10:00:00Zx", -1},
        {"1796724000", -1},
    };
    for (size_t i = 0; i < HB_ARRAY_SIZE(rows); i++) {
        int64_t ms = -1;
        int rc = hb_rfc3339_parse(rows[i].text, strlen(rows[i].text), &ms);
        if (rows[i].ms < 0)
            is_int(rc, -1, "rfc3339 \"%s\" is refused", rows[i].text);
        else
            ok(rc == 0 && ms == rows[i].ms, "rfc3339 \"%s\" is %" PRId64 " ms (got %" PRId64 ")", rows[i].text,
               rows[i].ms, ms);
    }
    char out[32];
    hb_rfc3339_format(1796724000123, out);
    is_str(out, "2026-12-08T10:00:00.123Z", "rfc3339: written in UTC with milliseconds");
}

/* The base64 HMAC-SHA256 of msg under key, computed here with OpenSSL's one-shot HMAC (not verify.c's code). */
static void hmac_b64(const uint8_t *key, size_t klen, const char *msg, char *out)
{
    uint8_t mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), mac, &n);
    hb_base64_encode(out, mac, n, 0);
}

static hb_status_t check_req(const hb_verifier_t *v, const char *method, hb_header_t *h, size_t nh, const char *body,
                             int64_t at, const char **reason)
{
    hb_request_t req = {.method = method,
                        .method_len = strlen(method),
                        .path = "/webhooks/x?a=1",
                        .path_len = 15,
                        .query_at = 11,
                        .headers = h,
                        .num_headers = nh,
                        .body = (const uint8_t *)body,
                        .body_len = strlen(body),
                        .received_at_ms = at};
    *reason = "";
    return hb_verifier_check(v, &req, reason);
}

static void test_new_words(void)
{
    /* {method}{path}, a header's value, an RFC 3339 timestamp, a hex secret */
    hb_scheme_t own = {.name = "acme",
                       .needs = HB_PRESET_SECRET,
                       .signature_header = "Acme-Signature",
                       .split = {.kind = HB_SPLIT_PLAIN},
                       .signed_content = "{method}{path}|{header:Acme-Nonce}|{timestamp}|{body}",
                       .algorithm = HB_ALG_SHA256,
                       .encoding = HB_ENCODING_BASE64,
                       .secret_form = HB_SECRET_HEX,
                       .timestamp_header = "acme-time",
                       .timestamp_unit = HB_TS_RFC3339,
                       .timestamped = 1};
    hb_secret_t secret = {"00ff10ab", 8, 0};
    hb_verify_config_t cfg = {.secrets = &secret, .num_secrets = 1, .tolerance_ms = 300000, .scheme = &own};
    char err[256] = "", sig[64];
    hb_verifier_t *v = hb_verifier_new(&cfg, err, sizeof(err));
    if (!ok(v != NULL, "a scheme with {method}, {path}, {header:NAME}, rfc3339 and a hex secret (%s)", err))
        return;
    static const uint8_t key[] = {0x00, 0xff, 0x10, 0xab};
    const char *ts = "2026-12-08T10:00:00.500Z", *body = "{\"amount\":100}";
    hmac_b64(key, sizeof(key), "POST/webhooks/x?a=1|n-1|2026-12-08T10:00:00.500Z|{\"amount\":100}", sig);
    hb_header_t h[] = {
        {"acme-signature", 14, sig, strlen(sig)}, {"acme-nonce", 10, "n-1", 3}, {"acme-time", 9, ts, 24}};
    const int64_t at = 1796724000500 + 60000;
    const char *reason = "";
    hb_status_t got = check_req(v, "POST", h, 3, body, at, &reason);
    is_int(got, HB_STATUS_OK, "signed as the template says: accepted (%s)", reason);
    is_int(check_req(v, "PUT", h, 3, body, at, &reason), HB_STATUS_UNAUTHORIZED, "another method: refused");
    h[1].value = "n-2";
    is_int(check_req(v, "POST", h, 3, body, at, &reason), HB_STATUS_UNAUTHORIZED, "another nonce: refused");
    is_str(reason, "Signature mismatch", "another nonce: the reason");
    h[1].value = "n-1";
    is_int(check_req(v, "POST", h, 2, body, at, &reason), HB_STATUS_UNAUTHORIZED, "without the nonce header: refused");
    is_int(check_req(v, "POST", h, 3, body, at + 600000, &reason), HB_STATUS_UNAUTHORIZED,
           "ten minutes later: refused");
    is_str(reason, "Timestamp outside tolerance", "ten minutes later: the reason");
    h[2].value = "1796724000";
    h[2].value_len = 10;
    is_int(check_req(v, "POST", h, 3, body, at, &reason), HB_STATUS_UNAUTHORIZED, "unix seconds for rfc3339: refused");
    is_str(reason, "Invalid timestamp", "unix seconds for rfc3339: the reason");
    /* what `hookbridge sign` prints for it verifies (a nonce made up, the time in RFC 3339) */
    hb_buf_t lines;
    hb_buf_init(&lines);
    hb_status_t st = sign_and_check(v, "/webhooks/x?a=1", "application/json", body, at, at + 1000, &reason, &lines);
    is_int(st, HB_STATUS_OK, "what sign prints verifies (%s)", reason);
    ok(strstr(lines.base != NULL ? lines.base : "", "acme-nonce: ") != NULL &&
           strstr(lines.base, "acme-time: 2026-12-08T10:01:00.500Z") != NULL,
       "sign writes the nonce and the RFC 3339 time it signed");
    hb_buf_dispose(&lines);
    hb_verifier_free(v);

    secret = (hb_secret_t){"not hex!", 8, 0};
    ok(hb_verifier_new(&cfg, err, sizeof(err)) == NULL, "a hex secret that is not hex is refused");
    is_str(err, "secret 1 is not hex digits", "its reason");
    /* an expired secret no longer verifies; one that expires later still does */
    secret = (hb_secret_t){"00ff10ab", 8, at};
    v = hb_verifier_new(&cfg, err, sizeof(err));
    h[2] = (hb_header_t){"acme-time", 9, ts, 24};
    ok(v != NULL && check_req(v, "POST", h, 3, body, at, &reason) == HB_STATUS_UNAUTHORIZED,
       "a secret whose until has come: refused");
    hb_verifier_free(v);
    secret = (hb_secret_t){"00ff10ab", 8, at + 1};
    v = hb_verifier_new(&cfg, err, sizeof(err));
    ok(v != NULL && check_req(v, "POST", h, 3, body, at, &reason) == HB_STATUS_OK, "a millisecond before: accepted");
    hb_verifier_free(v);
    own.secret_form = HB_SECRET_BASE64;
    secret = (hb_secret_t){"AP8Qqw==", 8, 0}; /* the same four bytes */
    h[2] = (hb_header_t){"acme-time", 9, ts, 24};
    v = hb_verifier_new(&cfg, err, sizeof(err));
    ok(v != NULL && check_req(v, "POST", h, 3, body, at, &reason) == HB_STATUS_OK, "a base64 secret of the same bytes");
    hb_verifier_free(v);
}

/* An Ed25519 public key written as base64 of its 32 bytes, and as PEM; an EC key is refused for ed25519. */
static void test_public_key_forms(void)
{
    EVP_PKEY *key = NULL, *ec = NULL;
    EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
    EVP_PKEY_keygen_init(kc);
    EVP_PKEY_keygen(kc, &key);
    EVP_PKEY_CTX_free(kc);
    ec = EVP_EC_gen("P-256");
    uint8_t raw[32], sigbytes[64];
    size_t rawlen = sizeof(raw), siglen = sizeof(sigbytes);
    EVP_PKEY_get_raw_public_key(key, raw, &rawlen);
    const char *body = "{\"amount\":100}";
    EVP_MD_CTX *mc = EVP_MD_CTX_new();
    EVP_DigestSignInit(mc, NULL, NULL, NULL, key);
    EVP_DigestSign(mc, sigbytes, &siglen, (const unsigned char *)body, strlen(body));
    EVP_MD_CTX_free(mc);
    char b64[64], sig[128], pem[512], ecpem[512];
    hb_base64_encode(b64, raw, rawlen, 0);
    hb_base64_encode(sig, sigbytes, siglen, 0);
    BIO *bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    pem[BIO_read(bio, pem, sizeof(pem) - 1)] = '\0';
    PEM_write_bio_PUBKEY(bio, ec);
    ecpem[BIO_read(bio, ecpem, sizeof(ecpem) - 1)] = '\0';
    BIO_free(bio);
    hb_scheme_t own = {.name = "ed",
                       .needs = HB_PRESET_PUBLIC_KEY,
                       .signature_header = "Ed-Signature",
                       .split = {.kind = HB_SPLIT_PLAIN},
                       .signed_content = "{body}",
                       .algorithm = HB_ALG_ED25519,
                       .encoding = HB_ENCODING_BASE64};
    static const struct {
        hb_pubkey_form_t form;
        const char *name;
    } forms[] = {{HB_PUBKEY_BASE64, "base64"}, {HB_PUBKEY_PEM, "pem"}};
    for (size_t i = 0; i < HB_ARRAY_SIZE(forms); i++) {
        own.public_key_form = forms[i].form;
        char *text = forms[i].form == HB_PUBKEY_PEM ? pem : b64;
        hb_verify_config_t cfg = {.public_keys = &text, .num_public_keys = 1, .scheme = &own};
        char err[256] = "";
        hb_verifier_t *v = hb_verifier_new(&cfg, err, sizeof(err));
        if (!ok(v != NULL, "publicKeyForm %s: the key loads (%s)", forms[i].name, err))
            continue;
        hb_header_t h[] = {{"ed-signature", 12, sig, strlen(sig)}};
        const char *reason = "";
        is_int(check_req(v, "POST", h, 1, body, 0, &reason), HB_STATUS_OK, "publicKeyForm %s: the signature verifies",
               forms[i].name);
        is_int(check_req(v, "POST", h, 1, "{\"amount\":999}", 0, &reason), HB_STATUS_UNAUTHORIZED,
               "publicKeyForm %s: another body is refused", forms[i].name);
        hb_verifier_free(v);
    }
    own.public_key_form = HB_PUBKEY_PEM;
    char *text = ecpem;
    hb_verify_config_t cfg = {.public_keys = &text, .num_public_keys = 1, .scheme = &own};
    char err[256] = "";
    ok(hb_verifier_new(&cfg, err, sizeof(err)) == NULL, "an EC key for ed25519 is refused");
    is_str(err, "verify.publicKey is not an Ed25519 public key (a PEM PUBLIC KEY block)", "its reason");
    EVP_PKEY_free(key);
    EVP_PKEY_free(ec);
}

/* The handshakes of twitch, x-crc, nylas and okta, on declared schemes of those shapes. */
static hb_verifier_t *handshake_verifier(hb_scheme_t *own, hb_handshake_kind_t kind, hb_verify_config_t *cfg)
{
    static hb_secret_t secret = {"hs-secret", 9, 0};
    *own = (hb_scheme_t){.name = "hs",
                         .needs = HB_PRESET_SECRET,
                         .signature_header = "X-Sig",
                         .split = {.kind = HB_SPLIT_PLAIN},
                         .signed_content = "{body}",
                         .algorithm = HB_ALG_SHA256,
                         .encoding = HB_ENCODING_BASE64,
                         .handshake = kind};
    *cfg = (hb_verify_config_t){.secrets = &secret, .num_secrets = 1, .scheme = own};
    char err[256];
    return hb_verifier_new(cfg, err, sizeof(err));
}

static int answer_is(int answered, hb_handshake_t *hs, int status, const char *ctype, const char *body)
{
    int same = answered && hs->status == status && hs->content_type != NULL && strcmp(hs->content_type, ctype) == 0 &&
               hs->body.len == strlen(body) && memcmp(hs->body.base, body, hs->body.len) == 0;
    if (!same)
        printf("#   got %d %d %s %.*s\n", answered, hs->status, hs->content_type != NULL ? hs->content_type : "-",
               (int)hs->body.len, hs->body.base != NULL ? hs->body.base : "");
    hb_buf_dispose(&hs->body);
    *hs = (hb_handshake_t){.status = 0};
    hb_buf_init(&hs->body);
    return same;
}

static void test_new_handshakes(void)
{
    hb_scheme_t own;
    hb_verify_config_t cfg;
    hb_handshake_t hs = {.status = 0};
    hb_buf_init(&hs.body);
    hb_request_t get = {.method = "GET",
                        .method_len = 3,
                        .path = "/webhooks/x?crc_token=abc%20d&challenge=ch-1",
                        .path_len = 44,
                        .query_at = 11};

    hb_verifier_t *v = handshake_verifier(&own, HB_HANDSHAKE_X_CRC, &cfg);
    uint8_t mac[32];
    unsigned int n = 0;
    HMAC(EVP_sha256(), "hs-secret", 9, (const unsigned char *)"abc d", 5, mac, &n);
    char b64[64], want[128];
    hb_base64_encode(b64, mac, n, 0);
    snprintf(want, sizeof(want), "{\"response_token\":\"sha256=%s\"}", b64);
    ok(answer_is(hb_verifier_handshake_unsigned(v, &get, &hs), &hs, 200, "application/json", want),
       "x-crc: GET ?crc_token=T is answered sha256= base64 HMAC-SHA256(secret, T)");
    hb_request_t post = get;
    post.method = "POST", post.method_len = 4;
    ok(!hb_verifier_handshake_unsigned(v, &post, &hs), "x-crc: only a GET");
    hb_verifier_free(v);

    v = handshake_verifier(&own, HB_HANDSHAKE_NYLAS, &cfg);
    ok(answer_is(hb_verifier_handshake_unsigned(v, &get, &hs), &hs, 200, "text/plain", "ch-1"),
       "nylas: GET ?challenge=V is answered V");
    ok(!hb_verifier_has_signed_handshake(v), "nylas: nothing after verification");
    hb_verifier_free(v);

    v = handshake_verifier(&own, HB_HANDSHAKE_OKTA, &cfg);
    hb_header_t okta[] = {{"x-okta-verification-challenge", 29, "q\"1", 3}};
    hb_request_t oget = get;
    oget.headers = okta, oget.num_headers = 1;
    ok(!hb_verifier_handshake_unsigned(v, &oget, &hs), "okta: not before verification");
    ok(answer_is(hb_verifier_handshake_signed(v, &oget, NULL, &hs), &hs, 200, "application/json",
                 "{\"verification\":\"q\\\"1\"}"),
       "okta: a verified GET with the challenge header is answered {\"verification\": V}");
    ok(!hb_verifier_handshake_signed(v, &get, NULL, &hs), "okta: not without the header");
    hb_verifier_free(v);

    v = handshake_verifier(&own, HB_HANDSHAKE_TWITCH, &cfg);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    static const char json[] = "{\"challenge\":\"pogchamp-kappa-360noscope-vohiyo\",\"subscription\":{}}";
    hb_json_to_msgpack(json, strlen(json), HB_BODY_MAX_DEPTH, &sb, NULL, 0);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    msgpack_unpack_next(&up, sb.data, sb.size, &off);
    hb_header_t tw[] = {{"twitch-eventsub-message-type", 28, "webhook_callback_verification", 29}};
    hb_request_t tpost = post;
    tpost.headers = tw, tpost.num_headers = 1;
    ok(hb_verifier_has_signed_handshake(v), "twitch: answered after verification");
    ok(answer_is(hb_verifier_handshake_signed(v, &tpost, &up.data, &hs), &hs, 200, "text/plain",
                 "pogchamp-kappa-360noscope-vohiyo"),
       "twitch: webhook_callback_verification is answered its challenge");
    tw[0] = (hb_header_t){"twitch-eventsub-message-type", 28, "notification", 12};
    ok(!hb_verifier_handshake_signed(v, &tpost, &up.data, &hs), "twitch: a notification is not a handshake");
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    hb_verifier_free(v);
    hb_buf_dispose(&hs.body);
}

int main(void)
{
    test_templates();
    test_table();
    test_vocabulary();
    test_sign_verifies();
    test_own_scheme();
    test_rfc3339();
    test_new_words();
    test_public_key_forms();
    test_new_handshakes();
    return done_testing();
}
