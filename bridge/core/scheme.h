/*
 * bridge/core/scheme.h: a signature scheme as data, one row per provider preset, in the words a user writes in
 * `verify: { scheme: {...} }`: which header carries the signature and how it splits, what is signed (a template such
 * as "{timestamp}.{body}"), with which algorithm and encoding, where the timestamp is, which handshake answers the
 * provider's set-up. verify.c reads a row; it does not know the providers. Pure.
 */
#ifndef HB_SCHEME_H
#define HB_SCHEME_H

#include <stddef.h>

#include "util.h"

/** What a scheme needs in its `verify:` (`needs`), checked by config.c. */
enum {
    HB_PRESET_SECRET = 1,       /* secret: secret(s) compulsory */
    HB_PRESET_PUBLIC_KEY = 2,   /* publicKey: publicKey(s) compulsory */
    HB_PRESET_KEY_EITHER = 4,   /* keyEither: secret(s), publicKey(s) or both (standard-webhooks, svix) */
    HB_PRESET_PUBLIC_URL = 8,   /* publicUrl: server.publicUrl compulsory (the URL is signed) */
    HB_PRESET_VERIFY_TOKEN = 16 /* verifyToken: verifyToken compulsory (a GET handshake compares it) */
};

/** `split.kind`: how the signature header reads. */
typedef enum hb_split_kind {
    HB_SPLIT_PLAIN, /* plain: the whole value, after `prefix` (optional) or `requiredPrefix` */
    HB_SPLIT_PAIRS, /* pairs: "k=v<separator>k=v...": one `timestampKey`, one or more `signatureKey` (stripe) */
    HB_SPLIT_LIST,  /* list: "<key>,<sig><separator>...": `signatureKey` entries are HMACs, `ed25519Key` ones are
                       Ed25519 signatures checked with a publicKey (standard-webhooks, svix) */
    HB_SPLIT_TOKEN, /* token: the header is the shared secret itself; nothing is signed (gitlab) */
    HB_SPLIT_BODY,  /* body: no header; the form fields timestamp, token and signature, or the same members of the JSON
                       body's "signature" object (mailgun) */
} hb_split_kind_t;

/** `split`: the signature header taken apart. Strings are borrowed; unused members are NULL or 0. */
typedef struct hb_split {
    hb_split_kind_t kind;
    const char *prefix;          /* plain: may precede the signature, in any case ("sha256=") */
    int sign_prefix;             /* plain: `signPrefix`: `hookbridge sign` writes the prefix (senders send it) */
    const char *required_prefix; /* plain: `requiredPrefix`: must precede the signature, as written ("v0=") */
    char separator;              /* pairs, list: between entries (',' ';' ' ') */
    const char *timestamp_key;   /* pairs: `timestampKey` ("t", "ts") */
    const char *signature_key;   /* pairs, list: `signatureKey` ("v1", "h1") */
    const char *ed25519_key;     /* list: `ed25519Key` ("v1a"), or NULL */
} hb_split_t;

/** `algorithm`: sha1, sha256, sha512 (HMAC with a secret), ed25519, ecdsa-p256 (a signature checked with a public
    key; ECDSA over SHA-256). A token split has none. */
typedef enum hb_scheme_alg {
    HB_ALG_NONE,
    HB_ALG_SHA1,
    HB_ALG_SHA256,
    HB_ALG_SHA512,
    HB_ALG_ED25519,
    HB_ALG_ECDSA_P256,
} hb_scheme_alg_t;

/** `encoding` of the signature: hex (either case on receipt), base64, base64url (padding optional on receipt). */
typedef enum hb_scheme_enc { HB_ENCODING_HEX, HB_ENCODING_BASE64, HB_ENCODING_BASE64URL } hb_scheme_enc_t;

/** `secretForm`: raw (the secret's bytes are the key), whsec (the base64 after an optional "whsec_" or "v1,whsec_"),
   hex (the bytes the hex digits write), base64 (the bytes the base64 writes). */
typedef enum hb_secret_form { HB_SECRET_RAW, HB_SECRET_WHSEC, HB_SECRET_HEX, HB_SECRET_BASE64 } hb_secret_form_t;

/** `publicKeyForm`: none (takes no public key), hex (an Ed25519 key, 64 hex digits), whpk (an Ed25519 key, base64
    after an optional "whpk_" prefix), spki (an EC or Ed25519 key, base64 of its DER SubjectPublicKeyInfo), base64
    (an Ed25519 key, base64 of its 32 bytes), pem (an EC or Ed25519 key, a PEM "PUBLIC KEY" block). */
typedef enum hb_pubkey_form {
    HB_PUBKEY_NONE,
    HB_PUBKEY_HEX,
    HB_PUBKEY_WHPK,
    HB_PUBKEY_SPKI,
    HB_PUBKEY_BASE64,
    HB_PUBKEY_PEM,
} hb_pubkey_form_t;

/** `timestampUnit`: seconds or milliseconds since the epoch, or an RFC 3339 date-time ("2026-12-08T10:00:00.123Z"). */
typedef enum hb_ts_unit { HB_TS_SECONDS, HB_TS_MILLISECONDS, HB_TS_RFC3339 } hb_ts_unit_t;

/** `handshake`: the provider's set-up exchange, answered by code in verify.c: none, slack, zoom, meta, discord,
    dropbox, twitch, x-crc, nylas, okta. */
typedef enum hb_handshake_kind {
    HB_HANDSHAKE_NONE,
    HB_HANDSHAKE_SLACK,
    HB_HANDSHAKE_ZOOM,
    HB_HANDSHAKE_META,
    HB_HANDSHAKE_DISCORD,
    HB_HANDSHAKE_DROPBOX,
    HB_HANDSHAKE_TWITCH, /* a verified webhook_callback_verification → its challenge, text/plain */
    HB_HANDSHAKE_X_CRC,  /* GET ?crc_token=T → {"response_token": "sha256=" base64 HMAC-SHA256(secret, T)} */
    HB_HANDSHAKE_NYLAS,  /* GET ?challenge=V → V, text/plain */
    HB_HANDSHAKE_OKTA,   /* a verified GET with X-Okta-Verification-Challenge: V → {"verification": V} */
} hb_handshake_kind_t;

/** `checks`: procedural checks after the signature matched, as flags. */
enum {
    HB_CHECK_BODY_SHA256 = 1,  /* bodySHA256: a JSON request's bodySHA256 query parameter is the body's SHA-256 */
    HB_CHECK_TOKEN_REPLAY = 2, /* tokenReplay: a {token} seen within the tolerance is refused */
};

/** One scheme. The strings are borrowed (static for the presets). */
typedef struct hb_scheme {
    const char *name;             /* "github"; what hb_verifier_scheme() reports for a preset */
    const char *id_header;        /* `idHeader`: the delivery id, lower-case, or NULL; {id} reads it */
    unsigned needs;               /* HB_PRESET_* */
    unsigned tolerance_s;         /* the default of verify.tolerance for this scheme; 0: 300 */
    const char *signature_header; /* `signatureHeader`, as providers write it; NULL for a body split */
    hb_split_t split;             /* `split` */
    const char *signed_content;   /* `signed`: a template (hb_scheme_template_parse); NULL for a token split */
    hb_scheme_alg_t algorithm;
    hb_scheme_enc_t encoding;
    hb_secret_form_t secret_form;
    hb_pubkey_form_t public_key_form;
    const char *timestamp_header; /* `timestampHeader`, lower-case; NULL: from the split, or none */
    hb_ts_unit_t timestamp_unit;
    int timestamped; /* the timestamp is compulsory and must be within the tolerance of now */
    hb_handshake_kind_t handshake;
    unsigned checks;   /* HB_CHECK_* */
    const char *docs;  /* the provider's page on verifying its webhooks (presets) */
    const char *proof; /* what proves the row: "sdk: PKG@VERSION FUNCTION" or "docs example: URL" (presets) */
} hb_scheme_t;

/** The preset of that name, or NULL. Borrowed, static. Any thread. */
const hb_scheme_t *hb_scheme_find(const char *name);
/** The i-th preset (0-based, in table order), or NULL past the last. Borrowed, static. Any thread. */
const hb_scheme_t *hb_scheme_at(size_t i);
/** The preset names in table order, ", "-separated, for error messages. Built once, static. Any thread. */
const char *hb_scheme_names(void);

/** The words of each field, NULL-terminated, indexed by value (flags: by bit index); the config's rows read them. */
extern const char *const hb_scheme_split_words[];
extern const char *const hb_scheme_algorithm_words[];
extern const char *const hb_scheme_encoding_words[];
extern const char *const hb_scheme_secret_form_words[];
extern const char *const hb_scheme_public_key_form_words[];
extern const char *const hb_scheme_timestamp_unit_words[];
extern const char *const hb_scheme_handshake_words[];
extern const char *const hb_scheme_needs_words[];
extern const char *const hb_scheme_check_words[];

/**
 * Appends s as a JSON object in the words of `verify: { scheme: }` (strings that are NULL, and words at their
 * defaults, left out, so the object is a declared scheme that loads into the same row). With info, also what only
 * describes a preset: docs, proof, needs (as words), the key it takes and its default tolerance.
 */
void hb_scheme_json(const hb_scheme_t *s, int info, hb_buf_t *out);

/** The fields whose values are words (hb_scheme_word, hb_scheme_value). */
typedef enum hb_scheme_field {
    HB_FIELD_SPLIT,           /* hb_split_kind_t */
    HB_FIELD_ALGORITHM,       /* hb_scheme_alg_t */
    HB_FIELD_ENCODING,        /* hb_scheme_enc_t */
    HB_FIELD_SECRET_FORM,     /* hb_secret_form_t */
    HB_FIELD_PUBLIC_KEY_FORM, /* hb_pubkey_form_t */
    HB_FIELD_TIMESTAMP_UNIT,  /* hb_ts_unit_t */
    HB_FIELD_HANDSHAKE,       /* hb_handshake_kind_t */
    HB_FIELD_NEEDS,           /* the bit index of an HB_PRESET_* flag */
    HB_FIELD_CHECKS,          /* the bit index of an HB_CHECK_* flag */
} hb_scheme_field_t;

/** The word a user writes for value of field ("sha256"), or NULL when out of range. Static. Any thread. */
const char *hb_scheme_word(hb_scheme_field_t field, int value);
/** The value of word for field, or -1 when it is not one of its words. Any thread. */
int hb_scheme_value(hb_scheme_field_t field, const char *word);
/** The words of field, ", "-separated ("hex, base64, base64url"), written into buf. Returns buf. Any thread. */
const char *hb_scheme_words(hb_scheme_field_t field, char *buf, size_t size);

/** The kinds of part of a `signed` template. */
typedef enum hb_part_kind {
    HB_PART_LITERAL,     /* text as written */
    HB_PART_BODY,        /* {body}: the raw body */
    HB_PART_TIMESTAMP,   /* {timestamp}: as the request wrote it */
    HB_PART_ID,          /* {id}: the value of idHeader */
    HB_PART_URL,         /* {url}: server.publicUrl without trailing '/', then the path and query received */
    HB_PART_FORM_SORTED, /* {form:sorted}: each distinct form parameter, sorted, as name then value (twilio) */
    HB_PART_TOKEN,       /* {token}: the token of a body split (mailgun) */
    HB_PART_METHOD,      /* {method}: the request's method ("POST") */
    HB_PART_PATH,        /* {path}: the path and query received ("/webhooks/x?a=b") */
    HB_PART_HEADER,      /* {header:NAME}: the value of a header (text and len: NAME), empty when absent */
} hb_part_kind_t;

/** One part of a parsed template. A literal's text points into the template; a header part's is its NAME. */
typedef struct hb_scheme_part {
    hb_part_kind_t kind;
    const char *text;
    size_t len;
} hb_scheme_part_t;

#define HB_SCHEME_MAX_PARTS 8

/**
 * Parses a `signed` template ("v0:{timestamp}:{body}") into at most max parts: literal text and {body},
 * {timestamp}, {id}, {url}, {form:sorted}, {token}, {method}, {path}, {header:NAME}. Returns the number of parts (at
 * least 1), or -1 with the reason in err: an unknown {part}, a brace without its pair, {form:sorted} twice, too many
 * parts, an empty template. The parts borrow text. Any thread.
 */
int hb_scheme_template_parse(const char *text, hb_scheme_part_t *parts, size_t max, char *err, size_t errlen);

#endif
