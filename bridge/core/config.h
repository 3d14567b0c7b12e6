/* bridge/core/config.h: the YAML configuration file, parsed and validated into an hb_config_t. Pure. */
#ifndef HB_CONFIG_H
#define HB_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "scheme.h"
#include "util.h"

typedef enum hb_hmac_alg { HB_HMAC_SHA1, HB_HMAC_SHA256, HB_HMAC_SHA512 } hb_hmac_alg_t;
typedef enum hb_sig_encoding { HB_ENC_HEX, HB_ENC_BASE64, HB_ENC_BASE64URL } hb_sig_encoding_t;

/** kafka.format: how the envelope is written into a record's value. */
typedef enum hb_record_format { HB_FORMAT_MSGPACK, HB_FORMAT_JSON } hb_record_format_t;

typedef struct hb_kv {
    char *key;
    char *value;
} hb_kv_t;

/** A secret's bytes (may hold NUL when it came from a file). */
typedef struct hb_secret {
    char *data;
    size_t len;
    int64_t until_ms; /* `secrets: [{value, until}]`: no longer verifies from then (ms since the epoch); 0: never */
} hb_secret_t;

/**
 * `verify:` of one endpoint: the equivalent of Trigger.dev's verifyRequestSignature(), or a provider preset
 * (`provider: github`), or a plugin. Secrets and public keys are lists: during a rotation any of them may match.
 */
typedef struct hb_verify_config {
    int none;             /* `verify: none`: every request is accepted (a warning is logged at start) */
    char *provider;       /* a preset name (scheme.h lists them); NULL: `scheme`, or generic HMAC over the body */
    hb_scheme_t *scheme;  /* `scheme`: a scheme declared in the file (its strings are the config's); NULL: none */
    char *header_name;    /* generic only: the header holding the signature, e.g. X-Cal-Signature-256 */
    hb_secret_t *secrets; /* `secret`, `secrets` or `secretFile`; an empty one fails requests with "Missing secret" */
    size_t num_secrets;
    char **public_keys; /* `publicKey` or `publicKeys`, as written (hex, base64 DER or whpk_..., per provider) */
    size_t num_public_keys;
    char *verify_token;    /* `verifyToken` (meta's GET handshake) */
    uint64_t tolerance_ms; /* `tolerance` (default 300 s): timestamps further from now are refused */
    hb_hmac_alg_t algorithm;
    hb_sig_encoding_t encoding;
    char *public_url;    /* server.publicUrl, copied for the schemes that sign the URL (twilio) */
    char *plugin;        /* `plugin`: path of a shared object (relative paths: to the config file) */
    char *plugin_symbol; /* `symbol` */
    char *plugin_config; /* `config` as compact JSON ("{}" when absent) */
} hb_verify_config_t;

/** 1 when verification is on but holds no usable key: every request fails with "Missing secret". */
static inline int hb_verify_config_keyless(const hb_verify_config_t *v)
{
    size_t usable = v->num_public_keys;
    for (size_t i = 0; i < v->num_secrets; i++)
        usable += v->secrets[i].len > 0;
    return !v->none && v->plugin == NULL && usable == 0;
}

/** One entry of `examples:`. */
typedef struct hb_example {
    char *id;
    char *name;
    char *icon;         /* a Tabler icon name for the status page; NULL when unset */
    char *payload_json; /* the payload as compact JSON text */
} hb_example_t;

struct hb_reqfilter;
struct hb_template;

/**
 * `respondWith:` of an endpoint: an immediate response for handshakes (Trigger.dev's respondWith). `filter` and
 * `response` are compulsory (`response: {}` is an empty 200).
 */
typedef struct hb_respond_config {
    struct hb_reqfilter *filter; /* compiled; never NULL */
    int skip_triggering_runs;    /* answer and stop: nothing verified or published; default false */
    int status;                  /* 200 to 599; default 200 */
    hb_kv_t *headers; /* names lower-cased at load (h2o wants them so), unique, HTTP tokens; values without CR/LF */
    size_t num_headers;
    struct hb_template *body; /* compiled template; never NULL (empty text by default) */
} hb_respond_config_t;

/** One of `triggers:` (a non-empty list when given), Trigger.dev's onRequest({ filter }). */
typedef struct hb_trigger_config {
    char *name;                  /* compulsory, non-empty, unique in the endpoint */
    struct hb_reqfilter *filter; /* NULL: every verified request */
    char *topic;                 /* the topic it routes to: its own `topic` with {id} replaced, else the endpoint's */
    struct hb_template *partition_key; /* its own `partitionKey`, or NULL: the endpoint's */
} hb_trigger_config_t;

typedef struct hb_endpoint_config {
    char *id;
    char *source;
    char *icon;            /* NULL when unset */
    char *title;           /* NULL when unset */
    char *event_id_header; /* `eventIdHeader`: the sender's delivery id header, lower-cased; NULL when unset */
    struct hb_template *partition_key; /* `partitionKey` (body.a.b, header.X, query.X) as a template; NULL: the id */
    size_t dedupe_size;                /* `deduplicate`: how many published ids are remembered; 0: off */
    uint64_t dedupe_max_age_ms;        /* and for how long */
    int dedupe_set;                    /* `deduplicate` was written (else: on when the event id is the sender's) */
    size_t max_body_size;              /* effective limit: the endpoint's `maxBodySize`, else server.maxBodySize */
    int spool;     /* effective `durability`: 1 = spool (2xx after a local fsync when Kafka is slow or down) */
    int spool_set; /* the endpoint wrote its own `durability` */
    char *topic;   /* the Kafka topic: kafka.topic with {id} replaced */
    hb_verify_config_t verify;
    hb_example_t *examples;
    size_t num_examples;
    hb_respond_config_t *respond_with; /* NULL when unset */
    hb_trigger_config_t *triggers;
    size_t num_triggers;
    unsigned line; /* 1-based line of the endpoint in the file, for messages */
} hb_endpoint_config_t;

typedef struct hb_listen {
    char *host; /* numeric address or name; "" means every address */
    char *port;
} hb_listen_t;

typedef struct hb_config {
    char *path;
    int watch;             /* `watch: true`: a change of the file or of a secretFile reloads, as SIGHUP does */
    char **redact_headers; /* `redactHeaders` (lower-cased): values replaced in envelopes; default the credentials */
    size_t num_redact_headers;
    int redact_set;
    char **files; /* what the configuration was read from: the file itself, then every secretFile */
    size_t num_files;
    struct {
        hb_listen_t *listen;
        size_t num_listen;
        char *public_url;
        unsigned threads; /* 0 = auto: one per core */
        size_t max_body_size;
        uint64_t shutdown_timeout_ms;
        uint64_t drain_delay_ms; /* after SIGTERM, serve on while /readyz says 503 (default 5 s; 0 allowed) */
        char *tls_cert_file;     /* both NULL: plain HTTP */
        char *tls_key_file;
        /* server.requestTimeout: a request's headers and body must arrive within it (default 10 s) */
        uint64_t request_timeout_ms;
        /* server.h2c: HTTP/2 in cleartext (prior knowledge and Upgrade: h2c) besides HTTP/1.1; off by default, and
           refused together with server.tls (TLS listeners speak HTTP/1.1 only) */
        int h2c;
    } server;
    struct {
        hb_listen_t listen; /* host == NULL when unset */
    } admin;
    struct {
        int level;          /* an hb_log_level_t (log.h): debug, info (default), warn, error */
        double sample_rate; /* the share of 2xx requests that get a request log line (default 0.01) */
    } log;
    struct {
        char *brokers; /* "embedded" or a bootstrap list */
        char *topic_template;
        uint64_t delivery_timeout_ms;
        uint64_t readiness_window_ms; /* /readyz: the topics' metadata must be this fresh (default 30 s) */
        uint64_t spool_after_ms;      /* spooled endpoints: spool what Kafka has not confirmed by then (default 2 s) */
        int format;                   /* kafka.format: an hb_record_format_t */
        hb_kv_t *producer;            /* passed through to librdkafka as they are */
        size_t num_producer;
    } kafka;
    int durability_spool; /* top-level `durability: spool`: the endpoints' default */
    struct {
        char *path;       /* `spool.path`: the directory of the spool's segments; NULL when unset */
        size_t max_bytes; /* `spool.maxBytes` (default 1 GiB): past it, spooled endpoints answer 503 */
    } spool;
    hb_endpoint_config_t *endpoints;
    size_t num_endpoints;
} hb_config_t;

/** Where the loader gets environment variables and secret files; replaced in tests. */
typedef struct hb_config_env {
    /** Value of the variable, or NULL when unset. */
    const char *(*getenv)(void *ctx, const char *name);
    /** Whole file as a malloc'd buffer (caller frees) with its length, or NULL with errno set. */
    char *(*read_file)(void *ctx, const char *path, size_t *len);
    void *ctx;
} hb_config_env_t;

/** The process environment and file system. */
extern const hb_config_env_t hb_config_env_system;

/**
 * Parses and validates the YAML text. On success returns the config (free with hb_config_free). On error returns
 * NULL and appends every problem found to errors, one per line, each as "name:line:col: message".
 */
hb_config_t *hb_config_parse(const char *name, const char *text, size_t len, const hb_config_env_t *env,
                             hb_buf_t *errors);
/** Reads the file at path and hb_config_parse()s it with the system environment. */
hb_config_t *hb_config_load(const char *path, hb_buf_t *errors);
/**
 * The HOOKBRIDGE_* variables that override keys outside `endpoints` (HOOKBRIDGE_KAFKA_BROKERS for kafka.brokers...),
 * for --help. A variable that is set wins over the file; its errors name the variable.
 */
const char *hb_config_env_help(void);
/** Accepts NULL. */
void hb_config_free(hb_config_t *cfg);
/**
 * The keys a reload cannot change that differ between old and new, appended to out as "a, b or c" (for the reload's
 * warning); how many.
 */
size_t hb_config_restart_changes(const hb_config_t *old, const hb_config_t *neu, hb_buf_t *out);
/**
 * Every configuration key as a JSON array of {path, type, words, min, max, expect, default, env, reload, help}, from
 * the table the parser reads (`hookbridge config-keys --json`).
 */
void hb_config_keys_json(hb_buf_t *out);
/** Borrowed; NULL when no endpoint has this id. */
const hb_endpoint_config_t *hb_config_find_endpoint(const hb_config_t *cfg, const char *id);

/** Parses "1MiB", "512KiB", "1000", "2MB" into bytes. 0 on success, -1 on bad syntax. */
int hb_parse_size(const char *s, size_t *out);
/** Parses "8s", "500ms", "2m", "1h" into milliseconds. 0 on success, -1 on bad syntax. */
int hb_parse_duration(const char *s, uint64_t *out_ms);
/** Parses "host:port", "[v6]:port" or ":port"/"port". 0 on success, -1 with the reason in err. */
int hb_parse_listen(const char *s, hb_listen_t *out, char *err, size_t errlen);
/** 1 when s is a legal Kafka topic name (1-249 of [A-Za-z0-9._-], not "." or ".."). */
int hb_topic_name_valid(const char *s);

#endif
