/*
 * bridge/core/config_keys.c: every configuration key, one row each (config_internal.h says what a row holds), and
 * the handlers of the keys whose values have a shape of their own. A new key of a known type is one row here and its
 * field in config.h; what it is checked against across sections is in the section's check or in hb_config_finish().
 */
#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "filter.h"
#include "respond.h"
#include "scheme.h"

#define HB_SLOT(type, key, base) ((type *)(void *)((char *)(base) + (key)->offset))
#define HB_SEEN(section, seen, name) ((seen)[hb_key_index(&(section), (name))])

static const char *const hb_w_auto[] = {"auto", NULL};
static const char *const hb_w_format[] = {"msgpack", "json", NULL};               /* hb_record_format_t's order */
static const char *const hb_w_level[] = {"debug", "info", "warn", "error", NULL}; /* hb_log_level_t's order */
static const char *const hb_w_durability[] = {"kafka", "spool", NULL};
static const char *const hb_w_algorithm[] = {"sha1", "sha256", "sha512", NULL};  /* hb_hmac_alg_t's order */
static const char *const hb_w_encoding[] = {"hex", "base64", "base64url", NULL}; /* hb_sig_encoding_t's order */

static const hb_section_t hb_sec_endpoint, hb_sec_verify, hb_sec_scheme, hb_sec_split, hb_sec_respond, hb_sec_response,
    hb_sec_trigger, hb_sec_example, hb_sec_server, hb_sec_tls, hb_sec_admin, hb_sec_kafka, hb_sec_log, hb_sec_spool;

/* ---- values of a shape of their own ---- */

/* A request filter (respondWith.filter, triggers[].filter), compiled; reported at the key or value at fault. */
static void hb_filter_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *node, void *base)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    char err[512];
    const msgpack_object *packed = hb_yaml_object(l, node, &sb, &up), *where = NULL;
    hb_reqfilter_t *f = hb_reqfilter_compile(packed, &where, err, sizeof(err));
    if (f == NULL) {
        yaml_node_t *at = where != NULL ? hb_yaml_node_of(l, node, packed, where, 0) : NULL;
        hb_errorf(l, at != NULL ? at : node, "%s: %s", what, err);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    hb_reqfilter_free(*HB_SLOT(hb_reqfilter_t *, key, base));
    *HB_SLOT(hb_reqfilter_t *, key, base) = f;
}

static void hb_filter_dispose(const hb_key_t *key, void *base)
{
    hb_reqfilter_free(*HB_SLOT(hb_reqfilter_t *, key, base));
}

/*
 * `partitionKey: body.repository.id` (or header.NAME, query.NAME): the record key is that value's text, so the events
 * of one key keep their order; compiled as the template {{PATH}} (a number renders as its decimal digits).
 */
static void hb_partition_key_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *v, void *base)
{
    char *path = hb_get_str(l, v, what);
    if (path == NULL)
        return;
    struct hb_template *t = NULL;
    if ((strncmp(path, "body.", 5) != 0 || path[5] == '\0') && (strncmp(path, "header.", 7) != 0 || path[7] == '\0') &&
        (strncmp(path, "query.", 6) != 0 || path[6] == '\0')) {
        hb_errorf(l, v,
                  "%s is a path into the body, a header or the query (body.repository.id, header.X-Shop, query.id), "
                  "not \"%s\"",
                  what, path);
    } else if (strpbrk(path, "{} ") != NULL) {
        hb_errorf(l, v, "%s is a plain path, without braces or spaces: \"%s\"", what, path);
    } else {
        hb_buf_t text;
        hb_buf_init(&text);
        hb_buf_printf(&text, "{{%s}}", path);
        char err[128];
        t = hb_template_compile(text.base, err, sizeof(err));
        hb_buf_dispose(&text);
    }
    free(path);
    hb_template_free(*HB_SLOT(struct hb_template *, key, base));
    *HB_SLOT(struct hb_template *, key, base) = t;
}

static void hb_template_dispose(const hb_key_t *key, void *base)
{
    hb_template_free(*HB_SLOT(struct hb_template *, key, base));
}

/* A value as compact JSON (an example's payload). */
static void hb_json_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *v, void *base)
{
    free(*HB_SLOT(char *, key, base));
    *HB_SLOT(char *, key, base) = hb_yaml_json(l, v);
}

static void hb_free_dispose(const hb_key_t *key, void *base)
{
    free(*HB_SLOT(char *, key, base));
}

/*
 * librdkafka properties that hookbridge owns: letting a config change them would break the delivery guarantee.
 * librdkafka also takes any topic-level property with a "topic." prefix (rd_kafka_conf_set() hands a name it does
 * not know globally to the default topic configuration, which strips "topic."), so "topic.acks" is "acks".
 */
static const char *hb_owned_producer_prop(const char *key)
{
    if (strncmp(key, "topic.", 6) == 0)
        key += 6; /* no owned name begins with "topic.", so a global "topic.metadata..." stays allowed */
    static const struct {
        const char *key, *use;
    } owned[] = {
        {"bootstrap.servers", "kafka.brokers"},
        {"metadata.broker.list", "kafka.brokers"},
        {"enable.idempotence", "nothing: hookbridge always produces idempotently"},
        {"acks", "nothing: hookbridge always produces with acks=all"},
        {"request.required.acks", "nothing: hookbridge always produces with acks=all"},
        {"message.timeout.ms", "kafka.deliveryTimeout"},
        {"delivery.timeout.ms", "kafka.deliveryTimeout"},
        {"dr_msg_cb", "nothing"},
        {"transactional.id", "nothing: hookbridge produces outside transactions (every record would fail)"},
    };
    for (size_t i = 0; i < HB_ARRAY_SIZE(owned); i++)
        if (strcmp(key, owned[i].key) == 0)
            return owned[i].use;
    return NULL;
}

static void hb_producer_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *v, void *base)
{
    hb_config_t *cfg = base;
    if (v->type != YAML_MAPPING_NODE) {
        hb_errorf(l, v, "kafka.producer must be a mapping of librdkafka properties, not %s", hb_node_kind(v));
        return;
    }
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    cfg->kafka.producer = hb_xrealloc(cfg->kafka.producer, (cfg->kafka.num_producer + n) * sizeof(hb_kv_t));
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *pk = hb_node(l, p->key), *pv = hb_node(l, p->value);
        char *name = hb_get_str(l, pk, "a kafka.producer key"), *value = NULL;
        const char *use = name != NULL ? hb_owned_producer_prop(name) : NULL;
        if (use != NULL)
            hb_errorf(l, pk, "kafka.producer: \"%s\" is set by hookbridge; use %s", name, use);
        else if (name != NULL)
            value = hb_get_str(l, pv, "a kafka.producer value");
        if (value == NULL) {
            free(name);
            continue;
        }
        cfg->kafka.producer[cfg->kafka.num_producer].key = name;
        cfg->kafka.producer[cfg->kafka.num_producer++].value = value;
    }
}

static int hb_producer_same(const hb_key_t *key, const void *a, const void *b)
{
    const hb_config_t *x = a, *y = b;
    if (x->kafka.num_producer != y->kafka.num_producer)
        return 0;
    for (size_t i = 0; i < x->kafka.num_producer; i++)
        if (strcmp(x->kafka.producer[i].key, y->kafka.producer[i].key) != 0 ||
            strcmp(x->kafka.producer[i].value, y->kafka.producer[i].value) != 0)
            return 0;
    return 1;
}

static void hb_kv_free(hb_kv_t *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

static void hb_producer_dispose(const hb_key_t *key, void *base)
{
    hb_config_t *cfg = base;
    hb_kv_free(cfg->kafka.producer, cfg->kafka.num_producer);
}

/* ---- server, admin, kafka, log, spool ---- */

static void hb_server_check(hb_loader_t *l, yaml_node_t *node, void *base, yaml_node_t *const *seen)
{
    const hb_config_t *cfg = base;
    yaml_node_t *h2c = HB_SEEN(hb_sec_server, seen, "h2c");
    /* every listener shares the one TLS context: with it, no listener is cleartext, and HTTP/2 over TLS (ALPN) is not
       offered */
    if (h2c != NULL && cfg->server.h2c && cfg->server.tls_cert_file != NULL)
        hb_errorf(l, h2c,
                  "server.h2c is HTTP/2 in cleartext, but server.tls makes every listener TLS, which speaks HTTP/1.1 "
                  "only; drop one of them");
}

static void hb_tls_check(hb_loader_t *l, yaml_node_t *node, void *base, yaml_node_t *const *seen)
{
    const hb_config_t *cfg = base;
    if ((cfg->server.tls_cert_file == NULL) != (cfg->server.tls_key_file == NULL))
        hb_errorf(l, node, "server.tls needs both certFile and keyFile");
}

static void hb_kafka_check(hb_loader_t *l, yaml_node_t *node, void *base, yaml_node_t *const *seen)
{
    hb_config_t *cfg = base;
    l->topic_node = HB_SEEN(hb_sec_kafka, seen, "topic");
    if (*cfg->kafka.brokers == '\0') { /* `brokers: ${KAFKA_BROKERS:-}` reads as "not given" */
        free(cfg->kafka.brokers);
        cfg->kafka.brokers = hb_xstrdup("embedded");
    }
}

#define ENV HB_KF_ENV
#define RESTART HB_KF_RESTART
/* clang-format off */
static const hb_key_t hb_tls_keys[] = {
    {.name = "certFile", .type = HB_KT_STR, HB_FIELD(hb_config_t, server.tls_cert_file), .flags = ENV | RESTART, .help = "PEM certificate chain: the listeners speak TLS (HTTP/1.1)"},
    {.name = "keyFile", .type = HB_KT_STR, HB_FIELD(hb_config_t, server.tls_key_file), .flags = ENV | RESTART, .help = "PEM private key of certFile"},
};
static const hb_section_t hb_sec_tls = {"server.tls.", "server.tls", "a mapping with certFile and keyFile", hb_tls_keys, HB_ARRAY_SIZE(hb_tls_keys), hb_tls_check, NULL};

static const hb_key_t hb_server_keys[] = {
    {.name = "listen", .type = HB_KT_LISTENS, HB_LIST(hb_config_t, server.listen, server.num_listen), .dflt = "0.0.0.0:8080", .flags = ENV | RESTART, .help = "the webhook listeners: host:port, [v6]:port or :port, one or a list"},
    {.name = "publicUrl", .type = HB_KT_STR, HB_FIELD(hb_config_t, server.public_url), .flags = ENV, .help = "the URL senders use (schemes that sign the URL, the status page's links)"},
    {.name = "threads", .type = HB_KT_INT, HB_FIELD(hb_config_t, server.threads), .dflt = "auto", .min = 1, .max = 1024, .words = hb_w_auto, .flags = ENV | RESTART, .help = "HTTP worker threads; auto: one per core of the CPU quota"},
    {.name = "maxBodySize", .type = HB_KT_SIZE, HB_FIELD(hb_config_t, server.max_body_size), .dflt = "1MiB", .flags = ENV, .help = "the largest request body, for endpoints without their own (a larger one gets 413)"},
    {.name = "drainDelay", .type = HB_KT_DURATION, HB_FIELD(hb_config_t, server.drain_delay_ms), .dflt = "5s", .flags = ENV | RESTART | HB_KF_ZERO, .help = "after SIGTERM, serve on while /readyz says 503, for the load balancer to notice"},
    {.name = "shutdownTimeout", .type = HB_KT_DURATION, HB_FIELD(hb_config_t, server.shutdown_timeout_ms), .dflt = "15s", .flags = ENV | RESTART, .help = "how long a shutdown waits for Kafka to confirm what was accepted"},
    {.name = "requestTimeout", .type = HB_KT_DURATION, HB_FIELD(hb_config_t, server.request_timeout_ms), .dflt = "10s", .flags = ENV | RESTART, .help = "a request's headers and body must arrive within it"},
    {.name = "h2c", .type = HB_KT_BOOL, HB_FIELD(hb_config_t, server.h2c), .dflt = "false", .flags = ENV | RESTART, .help = "HTTP/2 in cleartext (prior knowledge and Upgrade: h2c) besides HTTP/1.1"},
    {.name = "tls", .type = HB_KT_SECTION, HB_NO_FIELD, .section = &hb_sec_tls, .help = "TLS for every listener (certFile and keyFile)"},
};
static const hb_section_t hb_sec_server = {"server.", "server", NULL, hb_server_keys, HB_ARRAY_SIZE(hb_server_keys), hb_server_check, NULL};

static const hb_key_t hb_admin_keys[] = {
    {.name = "listen", .type = HB_KT_LISTEN, HB_FIELD(hb_config_t, admin.listen), .flags = ENV | RESTART, .help = "the admin port (/healthz, /readyz, /metrics, the status page); off when unset"},
};
static const hb_section_t hb_sec_admin = {"admin.", "admin", NULL, hb_admin_keys, HB_ARRAY_SIZE(hb_admin_keys), NULL, NULL};

static const hb_key_t hb_kafka_keys[] = {
    {.name = "brokers", .type = HB_KT_STR, HB_FIELD(hb_config_t, kafka.brokers), .dflt = "embedded", .flags = ENV | RESTART, .help = "bootstrap servers, or embedded (an in-process mock cluster: nothing durable)"},
    {.name = "topic", .type = HB_KT_STR, HB_FIELD(hb_config_t, kafka.topic_template), .dflt = "webhooks.{id}", .flags = ENV, .help = "each endpoint's topic; {id} is the endpoint's id"},
    {.name = "format", .type = HB_KT_WORD, HB_FIELD(hb_config_t, kafka.format), .dflt = "msgpack", .words = hb_w_format, .flags = ENV | RESTART, .help = "how the envelope is written into the record's value"},
    {.name = "deliveryTimeout", .type = HB_KT_DURATION, HB_FIELD(hb_config_t, kafka.delivery_timeout_ms), .dflt = "8s", .flags = ENV | RESTART, .help = "how long a record may take to reach Kafka before the sender gets 503"},
    {.name = "readinessWindow", .type = HB_KT_DURATION, HB_FIELD(hb_config_t, kafka.readiness_window_ms), .dflt = "30s", .flags = ENV | RESTART, .help = "/readyz: the topics' metadata must be this fresh"},
    {.name = "spoolAfter", .type = HB_KT_DURATION, HB_FIELD(hb_config_t, kafka.spool_after_ms), .dflt = "2s", .flags = ENV | RESTART, .help = "spooled endpoints: spool what Kafka has not confirmed by then"},
    {.name = "producer", .type = HB_KT_CUSTOM, HB_NO_FIELD, .flags = RESTART, .parse = hb_producer_parse, .same = hb_producer_same, .dispose = hb_producer_dispose, .type_name = "mapping of librdkafka properties", .help = "librdkafka producer properties, passed through (not those hookbridge owns)"},
};
static const hb_section_t hb_sec_kafka = {"kafka.", "kafka", NULL, hb_kafka_keys, HB_ARRAY_SIZE(hb_kafka_keys), hb_kafka_check, NULL};

static const hb_key_t hb_log_keys[] = {
    {.name = "level", .type = HB_KT_WORD, HB_FIELD(hb_config_t, log.level), .dflt = "info", .words = hb_w_level, .flags = ENV, .help = "the least severe log line written"},
    {.name = "sampleRate", .type = HB_KT_NUMBER, HB_FIELD(hb_config_t, log.sample_rate), .dflt = "0.01", .min = 0, .max = 1, .flags = ENV, .help = "the share of 2xx requests that get a request log line (every other answer gets one)"},
};
static const hb_section_t hb_sec_log = {"log.", "log", NULL, hb_log_keys, HB_ARRAY_SIZE(hb_log_keys), NULL, NULL};

static const hb_key_t hb_spool_keys[] = {
    {.name = "path", .type = HB_KT_STR, HB_FIELD(hb_config_t, spool.path), .flags = ENV | RESTART, .help = "the directory of the spool's segments (needed by durability: spool)"},
    {.name = "maxBytes", .type = HB_KT_SIZE, HB_FIELD(hb_config_t, spool.max_bytes), .dflt = "1GiB", .flags = ENV | RESTART, .help = "past it, spooled endpoints answer 503"},
};
static const hb_section_t hb_sec_spool = {"spool.", "spool", NULL, hb_spool_keys, HB_ARRAY_SIZE(hb_spool_keys), NULL, NULL};
/* clang-format on */

/* ---- verify.scheme: a scheme declared in the file, in the words of scheme.h's rows ---- */

/* split.separator: one character. */
static void hb_separator_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *node, void *base)
{
    char *s = hb_get_str(l, node, what);
    if (s != NULL && strlen(s) == 1)
        *HB_SLOT(char, key, base) = s[0];
    else if (s != NULL)
        hb_errorf(l, node, "%s must be one character (\",\", \";\" or \" \"), not \"%s\"", what, s);
    free(s);
}

/* checks: a list of scheme.h's check words, stored as their flags. */
static void hb_checks_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *node, void *base)
{
    char **list = NULL, words[128];
    size_t n = 0;
    hb_get_str_list(l, node, what, 1, &list, &n);
    unsigned flags = 0;
    for (size_t i = 0; i < n; i++) {
        int bit = hb_scheme_value(HB_FIELD_CHECKS, list[i]);
        if (bit < 0)
            hb_errorf(l, node, "%s: \"%s\" is not one of %s", what, list[i],
                      hb_scheme_words(HB_FIELD_CHECKS, words, sizeof(words)));
        else
            flags |= 1u << bit;
        free(list[i]);
    }
    free(list);
    *HB_SLOT(unsigned, key, base) = flags;
}

/* What the split's kind needs of its other keys, and what the scheme then needs of verify's keys. */
static void hb_scheme_check(hb_loader_t *l, yaml_node_t *node, void *base, yaml_node_t *const *seen)
{
    hb_scheme_t *s = base;
    const hb_split_t *sp = &s->split;
    static const char *const kinds[] = {[HB_SPLIT_PLAIN] = "plain",
                                        [HB_SPLIT_PAIRS] = "pairs",
                                        [HB_SPLIT_LIST] = "list",
                                        [HB_SPLIT_TOKEN] = "token",
                                        [HB_SPLIT_BODY] = "body"};
    if (sp->kind != HB_SPLIT_BODY && (s->signature_header == NULL || *s->signature_header == '\0'))
        hb_errorf(l, node, "verify.scheme needs signatureHeader (the header that carries the signature)");
    if (sp->kind == HB_SPLIT_PAIRS && (sp->timestamp_key == NULL || sp->signature_key == NULL))
        hb_errorf(l, node, "verify.scheme.split of kind pairs needs timestampKey and signatureKey (t, v1)");
    if (sp->kind == HB_SPLIT_LIST && sp->signature_key == NULL && sp->ed25519_key == NULL)
        hb_errorf(l, node, "verify.scheme.split of kind list needs signatureKey or ed25519Key (v1, v1a)");
    if ((sp->kind == HB_SPLIT_PAIRS || sp->kind == HB_SPLIT_LIST) && sp->separator == '\0')
        hb_errorf(l, node, "verify.scheme.split of kind %s needs separator (\",\", \";\" or \" \")", kinds[sp->kind]);
    if (sp->kind == HB_SPLIT_TOKEN) {
        if (s->signed_content != NULL || s->algorithm != HB_ALG_NONE)
            hb_errorf(l, node, "verify.scheme.split of kind token signs nothing: it takes no signed or algorithm");
        s->needs = HB_PRESET_SECRET;
        return;
    }
    char err[256];
    hb_scheme_part_t parts[HB_SCHEME_MAX_PARTS] = {{HB_PART_LITERAL, NULL, 0}};
    int n = -1;
    if (s->signed_content == NULL)
        hb_errorf(l, node, "verify.scheme needs signed (what is signed, such as \"{timestamp}.{body}\")");
    else if ((n = hb_scheme_template_parse(s->signed_content, parts, HB_SCHEME_MAX_PARTS, err, sizeof(err))) < 0)
        hb_errorf(l, HB_SEEN(hb_sec_scheme, seen, "signed"), "verify.scheme.%s", err);
    int url = 0, ts = 0, id = 0;
    for (int i = 0; i < n; i++) {
        url |= parts[i].kind == HB_PART_URL;
        ts |= parts[i].kind == HB_PART_TIMESTAMP;
        id |= parts[i].kind == HB_PART_ID;
    }
    if (id && s->id_header == NULL)
        hb_errorf(l, node, "verify.scheme signs {id}: it needs idHeader (the header of the delivery id)");
    if ((ts || s->timestamped) && s->timestamp_header == NULL && sp->kind != HB_SPLIT_PAIRS &&
        sp->kind != HB_SPLIT_BODY)
        hb_errorf(l, node, "verify.scheme reads a timestamp: it needs timestampHeader (or a split of kind pairs)");
    if (s->algorithm == HB_ALG_NONE && HB_SEEN(hb_sec_scheme, seen, "algorithm") == NULL)
        hb_errorf(l, node, "verify.scheme needs algorithm (sha256, sha1, sha512, ed25519 or ecdsa-p256)");
    int asymmetric = s->algorithm == HB_ALG_ED25519 || s->algorithm == HB_ALG_ECDSA_P256;
    if (asymmetric && s->public_key_form == HB_PUBKEY_NONE)
        hb_errorf(l, node, "verify.scheme signs with %s: it needs publicKeyForm (how publicKey is written)",
                  hb_scheme_word(HB_FIELD_ALGORITHM, (int)s->algorithm));
    s->needs = (asymmetric ? HB_PRESET_PUBLIC_KEY
                : sp->kind == HB_SPLIT_LIST && sp->ed25519_key != NULL
                    ? (sp->signature_key != NULL ? HB_PRESET_KEY_EITHER : HB_PRESET_PUBLIC_KEY)
                    : HB_PRESET_SECRET) |
               (url ? HB_PRESET_PUBLIC_URL : 0) | (s->handshake == HB_HANDSHAKE_META ? HB_PRESET_VERIFY_TOKEN : 0);
}

static void hb_scheme_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *node, void *base)
{
    hb_scheme_t **slot = HB_SLOT(hb_scheme_t *, key, base);
    if (*slot == NULL) {
        *slot = hb_xcalloc(1, sizeof(hb_scheme_t));
        hb_section_defaults(&hb_sec_scheme, *slot);
    }
    hb_section_parse(l, &hb_sec_scheme, node, *slot);
}

static void hb_scheme_dispose(const hb_key_t *key, void *base)
{
    hb_scheme_t **slot = HB_SLOT(hb_scheme_t *, key, base);
    if (*slot != NULL)
        hb_section_free(&hb_sec_scheme, *slot);
    free(*slot);
}

/* clang-format off */
static const hb_key_t hb_split_keys[] = {
    {.name = "kind", .type = HB_KT_WORD, HB_FIELD(hb_split_t, kind), .dflt = "plain", .words = hb_scheme_split_words, .help = "how the signature header reads: plain, pairs (t=..,v1=..), list (v1,sig v1,sig), token (the secret itself), body (inside the body)"},
    {.name = "prefix", .type = HB_KT_STR, HB_FIELD(hb_split_t, prefix), .help = "plain: text that may precede the signature, in any case (sha256=)"},
    {.name = "signPrefix", .type = HB_KT_BOOL, HB_FIELD(hb_split_t, sign_prefix), .dflt = "false", .help = "plain: hookbridge sign writes the prefix"},
    {.name = "requiredPrefix", .type = HB_KT_STR, HB_FIELD(hb_split_t, required_prefix), .help = "plain: text that must precede the signature, as written (v0=)"},
    {.name = "separator", .type = HB_KT_CUSTOM, HB_FIELD(hb_split_t, separator), .parse = hb_separator_parse, .type_name = "character", .help = "pairs, list: the character between entries"},
    {.name = "timestampKey", .type = HB_KT_STR, HB_FIELD(hb_split_t, timestamp_key), .help = "pairs: the key of the timestamp (t)"},
    {.name = "signatureKey", .type = HB_KT_STR, HB_FIELD(hb_split_t, signature_key), .help = "pairs, list: the key of each HMAC signature (v1)"},
    {.name = "ed25519Key", .type = HB_KT_STR, HB_FIELD(hb_split_t, ed25519_key), .help = "list: the key of each Ed25519 signature (v1a)"},
};
static const hb_key_t hb_scheme_keys[] = {
    {.name = "name", .type = HB_KT_STR, HB_FIELD(hb_scheme_t, name), .help = "what the envelope's verified says (default: scheme)"},
    {.name = "signatureHeader", .type = HB_KT_STR, HB_FIELD(hb_scheme_t, signature_header), .help = "the header that carries the signature"},
    {.name = "idHeader", .type = HB_KT_STR, .flags = HB_KF_LOWER, HB_FIELD(hb_scheme_t, id_header), .help = "the header of the delivery id: the event id, and {id}"},
    {.name = "split", .type = HB_KT_SECTION, HB_FIELD(hb_scheme_t, split), .section = &hb_sec_split, .help = "how the signature header is taken apart"},
    {.name = "signed", .type = HB_KT_STR, HB_FIELD(hb_scheme_t, signed_content), .help = "what is signed: text and {body} {timestamp} {id} {url} {form:sorted} {token} {method} {path} {header:NAME}"},
    {.name = "algorithm", .type = HB_KT_WORD, HB_FIELD(hb_scheme_t, algorithm), .dflt = "none", .words = hb_scheme_algorithm_words, .help = "the HMAC's hash, or the key pair's signature"},
    {.name = "encoding", .type = HB_KT_WORD, HB_FIELD(hb_scheme_t, encoding), .dflt = "hex", .words = hb_scheme_encoding_words, .help = "how the signature is written"},
    {.name = "secretForm", .type = HB_KT_WORD, HB_FIELD(hb_scheme_t, secret_form), .dflt = "raw", .words = hb_scheme_secret_form_words, .help = "how the secret is written: its bytes are the key (raw), or it encodes them"},
    {.name = "publicKeyForm", .type = HB_KT_WORD, HB_FIELD(hb_scheme_t, public_key_form), .dflt = "none", .words = hb_scheme_public_key_form_words, .help = "how publicKey is written (ed25519, ecdsa-p256)"},
    {.name = "timestampHeader", .type = HB_KT_STR, .flags = HB_KF_LOWER, HB_FIELD(hb_scheme_t, timestamp_header), .help = "the header of the timestamp, when the split does not carry it"},
    {.name = "timestampUnit", .type = HB_KT_WORD, HB_FIELD(hb_scheme_t, timestamp_unit), .dflt = "seconds", .words = hb_scheme_timestamp_unit_words, .help = "how the timestamp is written"},
    {.name = "timestamped", .type = HB_KT_BOOL, HB_FIELD(hb_scheme_t, timestamped), .dflt = "false", .help = "the timestamp is compulsory and within verify.tolerance of now"},
    {.name = "handshake", .type = HB_KT_WORD, HB_FIELD(hb_scheme_t, handshake), .dflt = "none", .words = hb_scheme_handshake_words, .help = "a provider's set-up exchange, answered as its preset does"},
    {.name = "checks", .type = HB_KT_CUSTOM, HB_FIELD(hb_scheme_t, checks), .parse = hb_checks_parse, .type_name = "list of words", .help = "checks after the signature matched (bodySHA256, tokenReplay)"},
};
/* clang-format on */
static const hb_section_t hb_sec_split = {
    "verify.scheme.split.", "verify.scheme.split", NULL, hb_split_keys, HB_ARRAY_SIZE(hb_split_keys), NULL, NULL};
static const hb_section_t hb_sec_scheme = {
    "verify.scheme.", "verify.scheme", NULL, hb_scheme_keys, HB_ARRAY_SIZE(hb_scheme_keys), hb_scheme_check, NULL};

/* ---- verify ---- */

/* `verify: none`; any other scalar is refused. */
static void hb_verify_scalar(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *node, void *base)
{
    hb_verify_config_t *v = HB_SLOT(hb_verify_config_t, key, base);
    if (node->type != YAML_SCALAR_NODE) {
        hb_section_parse(l, key->section, node, v); /* reports what it is instead of a mapping */
        return;
    }
    char *s = hb_get_str(l, node, "verify");
    if (s != NULL && strcmp(s, "none") == 0)
        v->none = 1;
    else if (s != NULL)
        hb_errorf(l, node, "verify must be a mapping (headerName, secret, ...) or the word none, not \"%s\"", s);
    free(s);
}

static char *hb_read_secret_file(hb_loader_t *l, yaml_node_t *node, size_t *len)
{
    char *path = hb_get_str(l, node, "verify.secretFile");
    if (path == NULL)
        return NULL;
    char *data = l->env->read_file(l->env->ctx, path, len);
    l->cfg->files = hb_xrealloc(l->cfg->files, (l->cfg->num_files + 1) * sizeof(char *));
    l->cfg->files[l->cfg->num_files++] = hb_xstrdup(path); /* `watch` looks at it */
    if (data == NULL) {
        hb_errorf(l, node, "cannot read secret file %s: %s", path, strerror(errno));
    } else {
        /* files written by `echo` or editors end in a newline that is not part of the secret */
        size_t n = *len;
        if (n > 0 && data[n - 1] == '\n')
            n--;
        if (n > 0 && data[n - 1] == '\r')
            n--;
        char *secret = hb_xstrndup(data, n); /* read_file promises the bytes, not a terminator */
        free(data);
        data = secret;
        *len = n;
    }
    free(path);
    return data;
}

static void hb_add_secret(hb_verify_config_t *v, char *data, size_t len)
{
    v->secrets = hb_xrealloc(v->secrets, (v->num_secrets + 1) * sizeof(*v->secrets));
    v->secrets[v->num_secrets++] = (hb_secret_t){data, len, 0};
}

/* One item of verify.secrets: a string, or {value, until: RFC 3339} (a secret that stops verifying then). */
static void hb_verify_secret_item(hb_loader_t *l, hb_verify_config_t *v, yaml_node_t *item)
{
    if (item->type != YAML_MAPPING_NODE) {
        char *s = hb_get_str(l, item, "verify.secrets[]");
        if (s != NULL)
            hb_add_secret(v, s, strlen(s));
        return;
    }
    char *value = NULL;
    int64_t until = 0;
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top; p++) {
        yaml_node_t *k = hb_node(l, p->key), *val = hb_node(l, p->value);
        const char *name = hb_scalar_raw(k);
        if (name != NULL && strcmp(name, "value") == 0) {
            free(value);
            value = hb_get_str(l, val, "verify.secrets[].value");
        } else if (name != NULL && strcmp(name, "until") == 0) {
            char *text = hb_get_str(l, val, "verify.secrets[].until");
            if (text != NULL && hb_rfc3339_parse(text, strlen(text), &until) != 0)
                hb_errorf(l, val, "verify.secrets[].until must be an RFC 3339 time (2026-12-31T00:00:00Z), not \"%s\"",
                          text);
            free(text);
        } else {
            hb_errorf(l, k, "unknown key \"%s\" in a secret (expected value, until)", name != NULL ? name : "?");
        }
    }
    if (value == NULL) {
        hb_errorf(l, item, "a secret of verify.secrets needs value");
        return;
    }
    hb_add_secret(v, value, strlen(value));
    v->secrets[v->num_secrets - 1].until_ms = until;
}

/* verify.secrets: a list of secrets (strings, or {value, until}), any of which may match. */
static void hb_verify_secrets(hb_loader_t *l, hb_verify_config_t *v, yaml_node_t *node)
{
    if (node->type != YAML_SEQUENCE_NODE || node->data.sequence.items.top == node->data.sequence.items.start) {
        hb_errorf(l, node, "verify.secrets must be a list of secrets (strings, or {value, until}), not %s",
                  node->type == YAML_SEQUENCE_NODE ? "an empty list" : hb_node_kind(node));
        return;
    }
    for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++)
        hb_verify_secret_item(l, v, hb_node(l, *it));
}

/* The plugin path as given, or relative to the config file's folder. */
static char *hb_resolve_path(const char *config_name, const char *path)
{
    const char *slash = strrchr(config_name, '/');
    if (path[0] == '/' || slash == NULL)
        return hb_xstrdup(path);
    hb_buf_t b;
    hb_buf_init(&b);
    hb_buf_append(&b, config_name, (size_t)(slash - config_name) + 1);
    hb_buf_puts(&b, path);
    return hb_buf_release(&b);
}

/* The keys: secret, secrets or secretFile; publicKey or publicKeys. Returns has_secret | has_public << 1. */
static int hb_verify_keys(hb_loader_t *l, hb_verify_config_t *v, yaml_node_t *const *seen)
{
    yaml_node_t *secret = HB_SEEN(hb_sec_verify, seen, "secret"), *secrets = HB_SEEN(hb_sec_verify, seen, "secrets"),
                *file = HB_SEEN(hb_sec_verify, seen, "secretFile"), *pk = HB_SEEN(hb_sec_verify, seen, "publicKey"),
                *pks = HB_SEEN(hb_sec_verify, seen, "publicKeys");
    int forms = (secret != NULL) + (secrets != NULL) + (file != NULL);
    if (forms > 1)
        hb_errorf(l, file != NULL ? file : secrets, "verify takes one of secret, secrets and secretFile");
    if (secret != NULL) {
        char *s = hb_get_str(l, secret, "verify.secret");
        if (s != NULL)
            hb_add_secret(v, s, strlen(s));
    } else if (secrets != NULL) {
        hb_verify_secrets(l, v, secrets);
    } else if (file != NULL) {
        size_t len = 0;
        char *s = hb_read_secret_file(l, file, &len);
        if (s != NULL)
            hb_add_secret(v, s, len);
    }
    if (pk != NULL && pks != NULL)
        hb_errorf(l, pks, "verify takes publicKey or publicKeys, not both");
    else if (pk != NULL && (v->public_keys = hb_xcalloc(1, sizeof(char *))) != NULL &&
             (v->public_keys[0] = hb_get_str(l, pk, "verify.publicKey")) != NULL)
        v->num_public_keys = 1;
    else if (pks != NULL)
        hb_get_str_list(l, pks, "verify.publicKeys", 0, &v->public_keys, &v->num_public_keys);
    return (forms > 0) | (pk != NULL || pks != NULL) << 1;
}

/* verify.plugin: only symbol and config go with it. */
static void hb_verify_plugin(hb_loader_t *l, yaml_node_t *node, hb_verify_config_t *v, yaml_node_t *const *seen,
                             int keys)
{
    char *path = hb_get_str(l, HB_SEEN(hb_sec_verify, seen, "plugin"), "verify.plugin");
    yaml_node_t *config = HB_SEEN(hb_sec_verify, seen, "config");
    if (path != NULL)
        v->plugin = hb_resolve_path(l->name, path);
    free(path);
    if (v->plugin_symbol == NULL)
        hb_errorf(l, node, "verify.plugin needs symbol (the hookbridge_verifier_t the plugin exports)");
    if (v->provider != NULL || HB_SEEN(hb_sec_verify, seen, "headerName") != NULL || keys != 0 ||
        HB_SEEN(hb_sec_verify, seen, "algorithm") != NULL || HB_SEEN(hb_sec_verify, seen, "headerEncoding") != NULL ||
        v->verify_token != NULL || v->tolerance_ms != 0)
        hb_errorf(l, node, "verify.plugin takes only symbol and config: the plugin reads its own secrets");
    if (config != NULL)
        v->plugin_config = hb_yaml_json(l, config);
}

/* verify.provider or verify.scheme (what: "verify.provider github", "verify.scheme"): what the scheme needs of
   verify's keys, and what it fixes. */
static void hb_verify_needs(hb_loader_t *l, yaml_node_t *node, const char *what, const hb_verify_config_t *v,
                            const hb_scheme_t *scheme, yaml_node_t *const *seen, int has_secret, int has_public)
{
    yaml_node_t *fixed = HB_SEEN(hb_sec_verify, seen, "headerName");
    if (fixed == NULL)
        fixed = HB_SEEN(hb_sec_verify, seen, "algorithm");
    if (fixed == NULL)
        fixed = HB_SEEN(hb_sec_verify, seen, "headerEncoding");
    if (fixed != NULL)
        hb_errorf(l, fixed, "%s fixes the header, algorithm and encoding", what);
    if (scheme == NULL)
        return; /* reported */
    unsigned needs = scheme->needs;
    if ((needs & HB_PRESET_SECRET) && !has_secret)
        hb_errorf(l, node, "%s needs secret, secrets or secretFile", what);
    if ((needs & HB_PRESET_PUBLIC_KEY) && !has_public)
        hb_errorf(l, node, "%s needs publicKey or publicKeys", what);
    if ((needs & HB_PRESET_KEY_EITHER) && !has_secret && !has_public)
        hb_errorf(l, node, "%s needs a secret (whsec_...) or a public key (whpk_...)", what);
    if ((needs & HB_PRESET_VERIFY_TOKEN) && (v->verify_token == NULL || *v->verify_token == '\0'))
        hb_errorf(l, node, "%s needs verifyToken (the token its set-up GET carries)", what);
    if ((needs & HB_PRESET_PUBLIC_KEY) && has_secret)
        hb_errorf(l, node, "%s checks a public key; it takes no secret", what);
    if (has_public && !(needs & (HB_PRESET_PUBLIC_KEY | HB_PRESET_KEY_EITHER)))
        hb_errorf(l, node, "%s takes no public key", what);
}

static void hb_verify_check(hb_loader_t *l, yaml_node_t *node, void *base, yaml_node_t *const *seen)
{
    hb_verify_config_t *v = base;
    if (v->provider != NULL && hb_scheme_find(v->provider) == NULL)
        hb_errorf(l, HB_SEEN(hb_sec_verify, seen, "provider"), "verify.provider \"%s\" is not one of %s", v->provider,
                  hb_scheme_names());
    int keys = hb_verify_keys(l, v, seen), has_secret = keys & 1, has_public = keys >> 1;
    yaml_node_t *symbol = HB_SEEN(hb_sec_verify, seen, "symbol"), *config = HB_SEEN(hb_sec_verify, seen, "config");
    if (HB_SEEN(hb_sec_verify, seen, "plugin") != NULL) {
        hb_verify_plugin(l, node, v, seen, keys);
        return;
    }
    if (symbol != NULL || config != NULL)
        hb_errorf(l, symbol != NULL ? symbol : config, "symbol and config go with plugin");
    if (v->provider != NULL && v->scheme != NULL)
        hb_errorf(l, HB_SEEN(hb_sec_verify, seen, "scheme"), "verify takes provider or scheme, not both");
    if (v->provider != NULL || v->scheme != NULL) {
        char what[96];
        snprintf(what, sizeof(what), v->provider != NULL ? "verify.provider %s" : "verify.scheme", v->provider);
        hb_verify_needs(l, node, what, v, v->provider != NULL ? hb_scheme_find(v->provider) : v->scheme, seen,
                        has_secret, has_public);
        return;
    }
    if (HB_SEEN(hb_sec_verify, seen, "headerName") == NULL)
        hb_errorf(l, node, "verify needs headerName (the header that carries the signature) or provider");
    else if (v->header_name != NULL && *v->header_name == '\0')
        hb_errorf(l, node, "verify.headerName must not be empty");
    if (!has_secret)
        hb_errorf(l, node, "verify needs secret, secrets or secretFile");
    if (has_public)
        hb_errorf(l, node, "verify.publicKey goes with a provider that signs with a key pair");
}

static void hb_secrets_dispose(const hb_key_t *key, void *base)
{
    hb_verify_config_t *v = base;
    for (size_t j = 0; j < v->num_secrets; j++) {
        OPENSSL_cleanse(v->secrets[j].data, v->secrets[j].len);
        free(v->secrets[j].data);
    }
    free(v->secrets);
}

static void hb_public_keys_dispose(const hb_key_t *key, void *base)
{
    hb_verify_config_t *v = base;
    for (size_t j = 0; j < v->num_public_keys; j++)
        free(v->public_keys[j]);
    free(v->public_keys);
}

/* The fields no key holds alone. */
static void hb_verify_free(void *base)
{
    free(((hb_verify_config_t *)base)->public_url);
}

/* clang-format off */
static const hb_key_t hb_verify_keys_rows[] = {
    {.name = "provider", .type = HB_KT_STR, HB_FIELD(hb_verify_config_t, provider), .help = "a preset: the provider's header, scheme and handshake (hookbridge providers)"},
    {.name = "scheme", .type = HB_KT_CUSTOM, HB_FIELD(hb_verify_config_t, scheme), .section = &hb_sec_scheme, .parse = hb_scheme_parse, .dispose = hb_scheme_dispose, .type_name = "mapping", .help = "a scheme of your own, in the words of the presets' rows (hookbridge providers --json)"},
    {.name = "headerName", .type = HB_KT_STR, HB_FIELD(hb_verify_config_t, header_name), .help = "without a provider: the header that carries the HMAC of the body"},
    {.name = "secret", .type = HB_KT_LATER, HB_NO_FIELD, .type_name = "string", .help = "the signing secret"},
    {.name = "secrets", .type = HB_KT_LATER, HB_NO_FIELD, .dispose = hb_secrets_dispose, .type_name = "strings", .help = "several secrets, any of which may match (a rotation)"},
    {.name = "secretFile", .type = HB_KT_LATER, HB_NO_FIELD, .type_name = "string", .help = "a file holding the secret (a trailing newline is dropped); watch: true reloads on its change"},
    {.name = "algorithm", .type = HB_KT_WORD, HB_FIELD(hb_verify_config_t, algorithm), .dflt = "sha256", .words = hb_w_algorithm, .help = "without a provider: the HMAC's hash"},
    {.name = "headerEncoding", .type = HB_KT_WORD, HB_FIELD(hb_verify_config_t, encoding), .dflt = "hex", .words = hb_w_encoding, .help = "without a provider: how the header writes the HMAC"},
    {.name = "publicKey", .type = HB_KT_LATER, HB_NO_FIELD, .type_name = "string", .help = "the provider's public key (presets that sign with a key pair)"},
    {.name = "publicKeys", .type = HB_KT_LATER, HB_NO_FIELD, .dispose = hb_public_keys_dispose, .type_name = "strings", .help = "several public keys, any of which may match"},
    {.name = "verifyToken", .type = HB_KT_STR, HB_FIELD(hb_verify_config_t, verify_token), .help = "the token a provider's set-up GET carries (meta)"},
    {.name = "tolerance", .type = HB_KT_DURATION, HB_FIELD(hb_verify_config_t, tolerance_ms), .help = "how far a signed timestamp may be from now (default 300s)"},
    {.name = "plugin", .type = HB_KT_LATER, HB_FIELD(hb_verify_config_t, plugin), .dispose = hb_free_dispose, .type_name = "string", .help = "a shared object that verifies (relative to the configuration file)"},
    {.name = "symbol", .type = HB_KT_STR, HB_FIELD(hb_verify_config_t, plugin_symbol), .help = "the hookbridge_verifier_t the plugin exports"},
    {.name = "config", .type = HB_KT_LATER, HB_FIELD(hb_verify_config_t, plugin_config), .dispose = hb_free_dispose, .type_name = "any", .help = "the plugin's own configuration, handed to it as JSON"},
};
/* clang-format on */
static const hb_section_t hb_sec_verify = {
    "verify.",       "verify",      NULL, hb_verify_keys_rows, HB_ARRAY_SIZE(hb_verify_keys_rows),
    hb_verify_check, hb_verify_free};

/* ---- respondWith ---- */

static int hb_header_name_valid(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s != '\0'; s++)
        if (!(isalnum((unsigned char)*s) || strchr("!#$%&'*+-.^_`|~", *s) != NULL))
            return 0;
    return 1;
}

/* A field value: visible ASCII, spaces, tabs and UTF-8; no CR or LF (they would end the header). */
static int hb_header_value_valid(const char *s)
{
    for (; *s != '\0'; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return 0;
    return 1;
}

/* Headers that frame the message or describe the connection (RFC 9110 §7.6.1, §8.6, §6.1): h2o writes them. */
static int hb_is_framing_header(const char *lower_name)
{
    static const char *const framing[] = {"content-length",   "transfer-encoding", "connection", "keep-alive",
                                          "proxy-connection", "upgrade",           "te",         "trailer"};
    for (size_t i = 0; i < HB_ARRAY_SIZE(framing); i++)
        if (strcmp(lower_name, framing[i]) == 0)
            return 1;
    return 0;
}

/* Why the header cannot be sent as written (NULL: it can); *in_value: the fault is the value's. */
static const char *hb_response_header_fault(const hb_respond_config_t *r, const char *name, const char *value,
                                            int *in_value)
{
    *in_value = 0;
    if (!hb_header_name_valid(name))
        return "\"%s\" is not a header name (letters, digits and !#$%%&'*+-.^_`|~)";
    if ((*in_value = !hb_header_value_valid(value)) != 0)
        return "the value of response header %s holds a control character";
    if (hb_is_framing_header(name)) /* a second Content-Length next to h2o's own would desynchronise the sender */
        return "response header %s frames the message; the server writes it itself";
    for (size_t i = 0; i < r->num_headers; i++)
        if (strcmp(r->headers[i].key, name) == 0)
            return "response header %s is given twice (names are case-insensitive)";
    return NULL;
}

static void hb_response_headers_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *v, void *base)
{
    hb_respond_config_t *r = base;
    if (v->type != YAML_MAPPING_NODE) {
        hb_errorf(l, v, "respondWith.response.headers must be a mapping, not %s", hb_node_kind(v));
        return;
    }
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    r->headers = hb_xcalloc(n, sizeof(hb_kv_t));
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = hb_node(l, p->key), *vn = hb_node(l, p->value);
        char *name = hb_get_str(l, kn, "a response header name");
        char *value = hb_get_str(l, vn, "a response header value");
        const char *fault = NULL;
        int in_value = 0;
        if (name != NULL && value != NULL) {
            /* h2o wants lower-case names (HTTP/2 requires them), and the server looks for content-type so */
            for (char *c = name; *c != '\0'; c++)
                *c = (char)tolower((unsigned char)*c);
            fault = hb_response_header_fault(r, name, value, &in_value);
        }
        if (name != NULL && value != NULL && fault == NULL) {
            r->headers[r->num_headers].key = name;
            r->headers[r->num_headers++].value = value;
            continue;
        }
        if (fault != NULL)
            hb_errorf(l, in_value ? vn : kn, fault, name); /* NOLINT: a format of the table above */
        free(name);
        free(value);
    }
}

static void hb_response_headers_dispose(const hb_key_t *key, void *base)
{
    hb_respond_config_t *r = base;
    hb_kv_free(r->headers, r->num_headers);
}

static void hb_response_body_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *v, void *base)
{
    hb_respond_config_t *r = base;
    char *s = hb_get_str(l, v, "respondWith.response.body"), err[256];
    if (s == NULL)
        return;
    hb_template_t *t = hb_template_compile(s, err, sizeof(err));
    if (t == NULL) {
        hb_errorf(l, v, "respondWith.response.body: %s", err);
    } else {
        hb_template_free(r->body);
        r->body = t;
    }
    free(s);
}

static void hb_respond_check(hb_loader_t *l, yaml_node_t *node, void *base, yaml_node_t *const *seen)
{
    hb_respond_config_t *r = base;
    if (HB_SEEN(hb_sec_respond, seen, "filter") == NULL)
        hb_errorf(l, node, "respondWith needs a filter: without one it would answer every request");
    /* an answer nobody wrote is more likely a mistake than a wish for an empty 200: `response: {}` says so */
    if (HB_SEEN(hb_sec_respond, seen, "response") == NULL)
        hb_errorf(l, node,
                  "respondWith needs a response (status, headers, body); write `response: {}` for an empty 200");
    if (r->body == NULL) {
        char err[64];
        r->body = hb_template_compile("", err, sizeof(err));
    }
}

/* clang-format off */
static const hb_key_t hb_response_keys[] = {
    {.name = "status", .type = HB_KT_INT, HB_FIELD(hb_respond_config_t, status), .dflt = "200", .min = 200, .max = 599, .expect = "an HTTP status from 200 to 599", .help = "the answer's status"},
    {.name = "headers", .type = HB_KT_CUSTOM, HB_NO_FIELD, .parse = hb_response_headers_parse, .dispose = hb_response_headers_dispose, .type_name = "mapping of strings", .help = "the answer's headers (not those that frame the message)"},
    {.name = "body", .type = HB_KT_CUSTOM, HB_FIELD(hb_respond_config_t, body), .parse = hb_response_body_parse, .dispose = hb_template_dispose, .type_name = "template", .help = "the answer's body: a template of {{body.x}}, {{header.X}}, {{query.x}}, {{json body.x}}"},
};
static const hb_section_t hb_sec_response = {"respondWith.response.", "respondWith.response", NULL, hb_response_keys, HB_ARRAY_SIZE(hb_response_keys), NULL, NULL};

static const hb_key_t hb_respond_keys[] = {
    {.name = "filter", .type = HB_KT_CUSTOM, HB_FIELD(hb_respond_config_t, filter), .parse = hb_filter_parse, .dispose = hb_filter_dispose, .type_name = "filter", .help = "the requests answered so (an EventFilter of method, headers, query, body)"},
    {.name = "skipTriggeringRuns", .type = HB_KT_BOOL, HB_FIELD(hb_respond_config_t, skip_triggering_runs), .dflt = "false", .help = "answer and stop: nothing verified or published"},
    {.name = "response", .type = HB_KT_SECTION, HB_NO_FIELD, .section = &hb_sec_response, .help = "the answer (status, headers, body)"},
};
static const hb_section_t hb_sec_respond = {"respondWith.", "respondWith", NULL, hb_respond_keys, HB_ARRAY_SIZE(hb_respond_keys), hb_respond_check, NULL};
/* clang-format on */

static void hb_respond_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *v, void *base)
{
    hb_endpoint_config_t *ep = base;
    if (ep->respond_with == NULL) {
        ep->respond_with = hb_xcalloc(1, sizeof(hb_respond_config_t));
        hb_section_defaults(&hb_sec_respond, ep->respond_with);
    }
    hb_section_parse(l, &hb_sec_respond, v, ep->respond_with);
}

static void hb_respond_dispose(const hb_key_t *key, void *base)
{
    hb_endpoint_config_t *ep = base;
    if (ep->respond_with == NULL)
        return;
    hb_section_free(&hb_sec_respond, ep->respond_with);
    free(ep->respond_with);
}

/* ---- triggers, examples, deduplicate ---- */

/* clang-format off */
static const hb_key_t hb_trigger_keys[] = {
    {.name = "name", .type = HB_KT_STR, HB_FIELD(hb_trigger_config_t, name), .help = "compulsory, unique in the endpoint: written in the event's triggers"},
    {.name = "filter", .type = HB_KT_CUSTOM, HB_FIELD(hb_trigger_config_t, filter), .parse = hb_filter_parse, .dispose = hb_filter_dispose, .type_name = "filter", .help = "the verified requests it matches (an EventFilter); every one when absent"},
    {.name = "topic", .type = HB_KT_STR, HB_FIELD(hb_trigger_config_t, topic), .help = "its own topic ({id}: the endpoint's id); the endpoint's when absent"},
    {.name = "partitionKey", .type = HB_KT_CUSTOM, HB_FIELD(hb_trigger_config_t, partition_key), .parse = hb_partition_key_parse, .dispose = hb_template_dispose, .type_name = "path", .help = "its own record key (body.a.b, header.X, query.x); the endpoint's when absent"},
};
/* clang-format on */
static const hb_section_t hb_sec_trigger = {
    "triggers[].", "a trigger", NULL, hb_trigger_keys, HB_ARRAY_SIZE(hb_trigger_keys), NULL, NULL};

/* A trigger's own checks once it is read: its topic with the endpoint's id, its name unique in the endpoint. */
static void hb_trigger_finish(hb_loader_t *l, hb_endpoint_config_t *ep, size_t i, yaml_node_t *item,
                              yaml_node_t *const *seen, yaml_node_t **names, const char *id)
{
    hb_trigger_config_t *t = &ep->triggers[i];
    yaml_node_t *name = HB_SEEN(hb_sec_trigger, seen, "name"), *topic = HB_SEEN(hb_sec_trigger, seen, "topic");
    if (t->topic != NULL) {
        char *rendered = hb_render_topic(t->topic, id != NULL ? id : "id"); /* without a valid id, check the rest */
        if (!hb_topic_name_valid(rendered))
            hb_errorf(l, topic, "trigger topic \"%s\" is not a valid Kafka topic name (1 to 249 of A-Z a-z 0-9 . _ -)",
                      rendered);
        free(t->topic);
        t->topic = rendered;
    }
    /* the name is what a consumer sees in the event's `triggers`: an unnamed trigger could not be told apart */
    if (t->name == NULL || *t->name == '\0') {
        hb_errorf(l, name != NULL ? name : item, "a trigger needs a name (it is written in the event's `triggers`)");
        return;
    }
    names[i] = name;
    for (size_t j = 0; j < i; j++) {
        if (ep->triggers[j].name != NULL && names[j] != NULL && strcmp(ep->triggers[j].name, t->name) == 0) {
            hb_errorf(l, name, "duplicate trigger name \"%s\" (first at line %u)", t->name,
                      (unsigned)names[j]->start_mark.line + 1);
            return;
        }
    }
}

/*
 * triggers: parsed once the endpoint's id is known (id may come after triggers), since a trigger's topic may use
 * {id} as kafka.topic does. id is NULL when the endpoint has no valid id (already reported).
 */
static void hb_triggers_parse(hb_loader_t *l, yaml_node_t *node, hb_endpoint_config_t *ep, const char *id)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        hb_errorf(l, node, "triggers must be a list, not %s", hb_node_kind(node));
        return;
    }
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n == 0) {
        /* "no trigger" could be read as "publish nothing": leaving the key out says "publish everything" clearly */
        hb_errorf(l, node, "triggers is empty: leave it out to publish every verified request to the endpoint's topic");
        return;
    }
    ep->triggers = hb_xcalloc(n, sizeof(hb_trigger_config_t));
    yaml_node_t **names = hb_xcalloc(n, sizeof(yaml_node_t *));
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = hb_node(l, node->data.sequence.items.start[i]);
        yaml_node_t *seen[HB_MAX_SECTION_KEYS];
        ep->num_triggers++;
        if (hb_section_parse_seen(l, &hb_sec_trigger, item, &ep->triggers[i], seen) == 0)
            hb_trigger_finish(l, ep, i, item, seen, names, id);
    }
    free(names);
}

static void hb_triggers_dispose(const hb_key_t *key, void *base)
{
    hb_endpoint_config_t *ep = base;
    for (size_t i = 0; i < ep->num_triggers; i++)
        hb_section_free(&hb_sec_trigger, &ep->triggers[i]);
    free(ep->triggers);
}

/* clang-format off */
static const hb_key_t hb_example_keys[] = {
    {.name = "id", .type = HB_KT_STR, HB_FIELD(hb_example_t, id), .help = "compulsory, unique in the endpoint (send-example ENDPOINT ID)"},
    {.name = "name", .type = HB_KT_STR, HB_FIELD(hb_example_t, name), .help = "a title for the status page"},
    {.name = "icon", .type = HB_KT_STR, HB_FIELD(hb_example_t, icon), .help = "a Tabler icon name for the status page"},
    {.name = "payload", .type = HB_KT_CUSTOM, HB_FIELD(hb_example_t, payload_json), .parse = hb_json_parse, .dispose = hb_free_dispose, .type_name = "any", .help = "the example body (sent as JSON)"},
};
/* clang-format on */
static const hb_section_t hb_sec_example = {
    "examples[].", "an example", NULL, hb_example_keys, HB_ARRAY_SIZE(hb_example_keys), NULL, NULL};

static void hb_examples_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *node, void *base)
{
    hb_endpoint_config_t *ep = base;
    if (node->type != YAML_SEQUENCE_NODE) {
        hb_errorf(l, node, "examples must be a list, not %s", hb_node_kind(node));
        return;
    }
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    ep->examples = hb_xcalloc(n, sizeof(hb_example_t));
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = hb_node(l, node->data.sequence.items.start[i]);
        hb_example_t *ex = &ep->examples[ep->num_examples++];
        hb_section_parse(l, &hb_sec_example, item, ex);
        if (ex->id == NULL && item->type == YAML_MAPPING_NODE)
            hb_errorf(l, item, "an example needs an id");
        for (size_t j = 0; ex->id != NULL && j + 1 < ep->num_examples; j++)
            if (ep->examples[j].id != NULL && strcmp(ep->examples[j].id, ex->id) == 0)
                hb_errorf(l, item, "duplicate example id \"%s\"", ex->id);
        if (ex->payload_json == NULL)
            ex->payload_json = hb_xstrdup("null");
    }
}

static void hb_examples_dispose(const hb_key_t *key, void *base)
{
    hb_endpoint_config_t *ep = base;
    for (size_t i = 0; i < ep->num_examples; i++)
        hb_section_free(&hb_sec_example, &ep->examples[i]);
    free(ep->examples);
}

/* clang-format off */
static const hb_key_t hb_dedupe_keys[] = {
    {.name = "size", .type = HB_KT_INT, HB_FIELD(hb_endpoint_config_t, dedupe_size), .dflt = "10000", .min = 1, .max = 10000000, .expect = "a number of events from 1 to 10000000", .help = "how many published event ids are remembered"},
    {.name = "maxAge", .type = HB_KT_DURATION, HB_FIELD(hb_endpoint_config_t, dedupe_max_age_ms), .dflt = "1h", .help = "and for how long"},
};
/* clang-format on */
const hb_section_t hb_config_dedupe = {
    "deduplicate.", "deduplicate", NULL, hb_dedupe_keys, HB_ARRAY_SIZE(hb_dedupe_keys), NULL, NULL};

/*
 * `deduplicate: false`, `true` or `{size, maxAge}`: the window of published event ids within which a sender's retry
 * is answered 2xx and not published again. Only ids the sender gives (a delivery header) can repeat.
 */
static void hb_dedupe_parse(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *v, void *base)
{
    hb_endpoint_config_t *ep = base;
    ep->dedupe_set = 1;
    hb_section_defaults(&hb_config_dedupe, ep);
    if (v->type == YAML_MAPPING_NODE) {
        hb_section_parse(l, &hb_config_dedupe, v, ep);
        return;
    }
    int on = 0;
    if (hb_get_bool(l, v, "deduplicate", &on) == 0 && !on)
        ep->dedupe_size = 0;
}

/* ---- endpoints ---- */

static void hb_endpoint_id_check(hb_loader_t *l, hb_endpoint_config_t *ep, yaml_node_t *item, yaml_node_t *id)
{
    if (ep->id == NULL) {
        hb_errorf(l, item, "an endpoint needs an id");
    } else if (!hb_endpoint_id_valid(ep->id)) {
        hb_errorf(l, id, "endpoint id \"%s\" may only use A-Z a-z 0-9 . _ - (1 to 200 of them)", ep->id);
    } else {
        for (const hb_endpoint_config_t *other = l->cfg->endpoints; other < ep; other++) {
            if (other->id != NULL && strcmp(other->id, ep->id) == 0) {
                hb_errorf(l, id, "duplicate endpoint id \"%s\" (first at line %u)", ep->id, other->line);
                break;
            }
        }
    }
}

static void hb_endpoint_check(hb_loader_t *l, yaml_node_t *node, void *base, yaml_node_t *const *seen)
{
    hb_endpoint_config_t *ep = base;
    yaml_node_t *triggers = HB_SEEN(hb_sec_endpoint, seen, "triggers");
    if (triggers != NULL)
        hb_triggers_parse(l, triggers, ep, ep->id != NULL && hb_endpoint_id_valid(ep->id) ? ep->id : NULL);
    hb_endpoint_id_check(l, ep, node, HB_SEEN(hb_sec_endpoint, seen, "id"));
    if (ep->source == NULL && ep->id != NULL)
        ep->source = hb_xstrdup(ep->id);
    ep->spool_set = HB_SEEN(hb_sec_endpoint, seen, "durability") != NULL;
    if (HB_SEEN(hb_sec_endpoint, seen, "verify") == NULL)
        hb_errorf(l, node,
                  "endpoint \"%s\" has no verify: it is compulsory (write `verify: none` to accept unsigned requests)",
                  ep->id != NULL ? ep->id : "?");
}

/* The fields no key holds alone. */
static void hb_endpoint_free(void *base)
{
    free(((hb_endpoint_config_t *)base)->topic);
}

/* clang-format off */
static const hb_key_t hb_endpoint_keys[] = {
    {.name = "id", .type = HB_KT_STR, HB_FIELD(hb_endpoint_config_t, id), .help = "compulsory, unique: the path /webhooks/{id} and the topic's {id}"},
    {.name = "source", .type = HB_KT_STR, HB_FIELD(hb_endpoint_config_t, source), .help = "the event's source (default: the id)"},
    {.name = "icon", .type = HB_KT_STR, HB_FIELD(hb_endpoint_config_t, icon), .help = "a Tabler icon name for the status page"},
    {.name = "title", .type = HB_KT_STR, HB_FIELD(hb_endpoint_config_t, title), .help = "a title for the status page"},
    {.name = "verify", .type = HB_KT_SECTION, HB_FIELD(hb_endpoint_config_t, verify), .section = &hb_sec_verify, .parse = hb_verify_scalar, .type_name = "mapping or none", .help = "compulsory: how a request is verified (a provider, an HMAC, a plugin, or none)"},
    {.name = "respondWith", .type = HB_KT_CUSTOM, HB_NO_FIELD, .section = &hb_sec_respond, .parse = hb_respond_parse, .dispose = hb_respond_dispose, .type_name = "mapping", .help = "an immediate answer for the requests its filter matches (set-up handshakes)"},
    {.name = "triggers", .type = HB_KT_LATER, HB_NO_FIELD, .flags = HB_KF_ITEMS, .section = &hb_sec_trigger, .dispose = hb_triggers_dispose, .type_name = "list of mappings", .help = "what is published where: each verified request to every trigger whose filter matches"},
    {.name = "eventIdHeader", .type = HB_KT_STR, HB_FIELD(hb_endpoint_config_t, event_id_header), .flags = HB_KF_LOWER, .help = "the sender's delivery id header (a preset's by default): the event id, and deduplication"},
    {.name = "partitionKey", .type = HB_KT_CUSTOM, HB_FIELD(hb_endpoint_config_t, partition_key), .parse = hb_partition_key_parse, .dispose = hb_template_dispose, .type_name = "path", .help = "the record key (body.a.b, header.X, query.x); the endpoint's id when absent"},
    {.name = "deduplicate", .type = HB_KT_CUSTOM, HB_NO_FIELD, .section = &hb_config_dedupe, .parse = hb_dedupe_parse, .type_name = "boolean or mapping", .help = "retries of a published event id answered 2xx, not published (on with an event id header)"},
    {.name = "maxBodySize", .type = HB_KT_SIZE, HB_FIELD(hb_endpoint_config_t, max_body_size), .help = "the largest request body (default server.maxBodySize)"},
    {.name = "durability", .type = HB_KT_WORD, HB_FIELD(hb_endpoint_config_t, spool), .words = hb_w_durability, .help = "kafka: 2xx once Kafka has the record; spool: or once it is on local disk (default: the top level's)"},
    {.name = "examples", .type = HB_KT_CUSTOM, HB_NO_FIELD, .flags = HB_KF_ITEMS, .section = &hb_sec_example, .parse = hb_examples_parse, .dispose = hb_examples_dispose, .type_name = "list of mappings", .help = "example payloads (the status page, send-example)"},
};
/* clang-format on */
static const hb_section_t hb_sec_endpoint = {
    "", "an endpoint", NULL, hb_endpoint_keys, HB_ARRAY_SIZE(hb_endpoint_keys), hb_endpoint_check, hb_endpoint_free};

static void hb_endpoints_parse(hb_loader_t *l, yaml_node_t *node, hb_config_t *cfg)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        hb_errorf(l, node, "endpoints must be a list, not %s", hb_node_kind(node));
        return;
    }
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (n == 0) {
        hb_errorf(l, node, "endpoints is empty: the configuration needs at least one endpoint");
        return;
    }
    cfg->endpoints = hb_xcalloc(n, sizeof(hb_endpoint_config_t));
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = hb_node(l, node->data.sequence.items.start[i]);
        hb_endpoint_config_t *ep = &cfg->endpoints[cfg->num_endpoints++];
        ep->line = (unsigned)item->start_mark.line + 1;
        hb_section_defaults(&hb_sec_endpoint, ep);
        hb_section_parse(l, &hb_sec_endpoint, item, ep);
    }
}

static void hb_endpoints_dispose(const hb_key_t *key, void *base)
{
    hb_config_t *cfg = base;
    for (size_t i = 0; i < cfg->num_endpoints; i++) {
        hb_section_free(&hb_sec_endpoint, &cfg->endpoints[i]);
    }
    free(cfg->endpoints);
}

/* ---- the top level ---- */

static void hb_top_check(hb_loader_t *l, yaml_node_t *node, void *base, yaml_node_t *const *seen)
{
    yaml_node_t *endpoints = HB_SEEN(hb_config_top, seen, "endpoints");
    l->durability_node = HB_SEEN(hb_config_top, seen, "durability");
    if (endpoints != NULL)
        hb_endpoints_parse(l, endpoints, base);
    else
        hb_errorf(l, node, "endpoints is missing: the configuration needs at least one endpoint");
}

static void hb_top_free(void *base)
{
    hb_config_t *cfg = base;
    free(cfg->path);
    for (size_t i = 0; i < cfg->num_files; i++)
        free(cfg->files[i]);
    free(cfg->files);
}

/* clang-format off */
static const hb_key_t hb_top_keys[] = {
    {.name = "server", .type = HB_KT_SECTION, HB_NO_FIELD, .section = &hb_sec_server, .help = "the webhook listeners"},
    {.name = "admin", .type = HB_KT_SECTION, HB_NO_FIELD, .section = &hb_sec_admin, .help = "the admin port"},
    {.name = "kafka", .type = HB_KT_SECTION, HB_NO_FIELD, .section = &hb_sec_kafka, .help = "where events go"},
    {.name = "log", .type = HB_KT_SECTION, HB_NO_FIELD, .section = &hb_sec_log, .help = "the JSON log lines on stderr"},
    {.name = "watch", .type = HB_KT_BOOL, HB_FIELD(hb_config_t, watch), .dflt = "false", .flags = ENV, .help = "a change of the file or of a secretFile reloads, as SIGHUP does"},
    {.name = "redactHeaders", .type = HB_KT_STRS, HB_LIST(hb_config_t, redact_headers, num_redact_headers), .dflt = "authorization,cookie,proxy-authorization", .flags = HB_KF_ZERO | HB_KF_LOWER, .help = "headers whose values are replaced in events ([]: none)"},
    {.name = "durability", .type = HB_KT_WORD, HB_FIELD(hb_config_t, durability_spool), .dflt = "kafka", .words = hb_w_durability, .flags = ENV, .help = "the endpoints' default: kafka, or spool (2xx once on local disk when Kafka is slow)"},
    {.name = "spool", .type = HB_KT_SECTION, HB_NO_FIELD, .section = &hb_sec_spool, .help = "the local spool of durability: spool"},
    {.name = "endpoints", .type = HB_KT_LATER, HB_NO_FIELD, .flags = HB_KF_ITEMS, .section = &hb_sec_endpoint, .dispose = hb_endpoints_dispose, .type_name = "list of mappings", .help = "compulsory: the webhook endpoints, at least one"},
};
/* clang-format on */
const hb_section_t hb_config_top = {"",           "the configuration", NULL, hb_top_keys, HB_ARRAY_SIZE(hb_top_keys),
                                    hb_top_check, hb_top_free};
