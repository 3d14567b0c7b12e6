#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <yaml.h>

#include "filter.h"
#include "json.h"
#include "respond.h"
#include "verify.h"

#define HB_DEFAULT_MAX_BODY ((size_t)1024 * 1024)
#define HB_DEFAULT_DELIVERY_TIMEOUT_MS 8000
#define HB_DEFAULT_SHUTDOWN_TIMEOUT_MS 15000
#define HB_DEFAULT_SPOOL_AFTER_MS 2000
#define HB_DEFAULT_SPOOL_MAX_BYTES ((size_t)1 << 30)
#define HB_DEFAULT_DRAIN_DELAY_MS 5000 /* for the endpoints controller to take the pod out of the Service */
/* h2o's own default; senders (GitHub, Stripe, ...) send a request within a fraction of a second */
#define HB_DEFAULT_REQUEST_TIMEOUT_MS 10000

#define HB_MAX_OVERRIDES 24

typedef struct hb_loader {
    const char *name;
    yaml_document_t doc;
    const hb_config_env_t *env;
    hb_buf_t *errors;
    int nerrors;
    hb_config_t *cfg;                    /* being filled */
    int override_node[HB_MAX_OVERRIDES]; /* YAML nodes made from HOOKBRIDGE_* variables, and their names */
    const char *override_env[HB_MAX_OVERRIDES];
    int num_overrides;
} hb_loader_t;

static const char *hb_sys_getenv(void *ctx, const char *name)
{
    return getenv(name);
}

static char *hb_sys_read_file(void *ctx, const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    hb_buf_t buf;
    hb_buf_init(&buf);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) != 0)
        hb_buf_append(&buf, chunk, n);
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        hb_buf_dispose(&buf);
        errno = EIO;
        return NULL;
    }
    *len = buf.len;
    return hb_buf_release(&buf);
}

const hb_config_env_t hb_config_env_system = {hb_sys_getenv, hb_sys_read_file, NULL};

/* ---- errors ---- */

static void hb_errorf(hb_loader_t *l, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void hb_verrorf_at(hb_loader_t *l, unsigned line, unsigned col, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

static void hb_verrorf_at(hb_loader_t *l, unsigned line, unsigned col, const char *fmt, va_list ap)
{
    hb_buf_printf(l->errors, "%s:%u:%u: ", l->name, line, col);
    char msg[1024];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    hb_buf_puts(l->errors, msg);
    hb_buf_putc(l->errors, '\n');
    l->nerrors++;
}

static yaml_node_t *hb_node(hb_loader_t *l, int index);

static void hb_errorf(hb_loader_t *l, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    /* a value from a HOOKBRIDGE_* variable has no place in the file: name the variable instead */
    for (int i = 0; node != NULL && i < l->num_overrides; i++) {
        if (node == hb_node(l, l->override_node[i])) {
            char msg[1024];
            vsnprintf(msg, sizeof(msg), fmt, ap);
            va_end(ap);
            hb_buf_printf(l->errors, "%s: $%s: %s\n", l->name, l->override_env[i], msg);
            l->nerrors++;
            return;
        }
    }
    hb_verrorf_at(l, node != NULL ? (unsigned)node->start_mark.line + 1 : 1,
                  node != NULL ? (unsigned)node->start_mark.column + 1 : 1, fmt, ap);
    va_end(ap);
}

/* An error at a line (the place of something whose node is gone, such as an endpoint), column 1. */
static void hb_errorf_line(hb_loader_t *l, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void hb_errorf_line(hb_loader_t *l, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hb_verrorf_at(l, line, 1, fmt, ap);
    va_end(ap);
}

/* ---- scalars ---- */

static yaml_node_t *hb_node(hb_loader_t *l, int index)
{
    return yaml_document_get_node(&l->doc, index);
}

static const char *hb_scalar_raw(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

static int hb_is_null(const yaml_node_t *node)
{
    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    const char *v = hb_scalar_raw(node);
    return *v == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
           strcmp(v, "NULL") == 0;
}

static const char *hb_node_kind(const yaml_node_t *node)
{
    switch (node->type) {
    case YAML_MAPPING_NODE:
        return "a mapping";
    case YAML_SEQUENCE_NODE:
        return "a list";
    default:
        return hb_is_null(node) ? "null" : "a scalar";
    }
}

/* Expands ${VAR} and ${VAR:-default} (and "$${" as a literal "${"). NULL after reporting an error. */
static char *hb_expand(hb_loader_t *l, const yaml_node_t *node, const char *s)
{
    hb_buf_t out;
    hb_buf_init(&out);
    hb_buf_puts(&out, "");
    while (*s != '\0') {
        if (s[0] == '$' && s[1] == '$' && s[2] == '{') {
            hb_buf_puts(&out, "${");
            s += 3;
            continue;
        }
        if (!(s[0] == '$' && s[1] == '{')) {
            hb_buf_putc(&out, *s++);
            continue;
        }
        const char *name = s + 2, *end = strchr(name, '}');
        if (end == NULL) {
            hb_errorf(l, node, "unterminated ${ in \"%s\"", hb_scalar_raw(node));
            goto Error;
        }
        const char *dflt = NULL;
        size_t namelen = (size_t)(end - name);
        const char *sep = strstr(name, ":-");
        if (sep != NULL && sep < end) {
            namelen = (size_t)(sep - name);
            dflt = sep + 2;
        }
        char *var = hb_xstrndup(name, namelen);
        int valid = namelen != 0;
        for (size_t i = 0; i < namelen; i++)
            if (!(isalnum((unsigned char)var[i]) || var[i] == '_'))
                valid = 0;
        if (!valid) {
            hb_errorf(l, node, "bad environment variable name \"%s\"", var);
            free(var);
            goto Error;
        }
        const char *value = l->env->getenv(l->env->ctx, var);
        if (value != NULL && (dflt == NULL || *value != '\0')) {
            hb_buf_puts(&out, value);
        } else if (dflt != NULL) {
            hb_buf_append(&out, dflt, (size_t)(end - dflt));
        } else {
            hb_errorf(l, node, "environment variable %s is not set (write ${%s:-default} to give a default)", var, var);
            free(var);
            goto Error;
        }
        free(var);
        s = end + 1;
    }
    return hb_buf_release(&out);
Error:
    hb_buf_dispose(&out);
    return NULL;
}

/* The string value of a scalar after ${} expansion; NULL (error reported) when node is not a scalar. */
static char *hb_get_str(hb_loader_t *l, const yaml_node_t *node, const char *what)
{
    if (node->type != YAML_SCALAR_NODE) {
        hb_errorf(l, node, "%s must be a string, not %s", what, hb_node_kind(node));
        return NULL;
    }
    return hb_expand(l, node, hb_scalar_raw(node));
}

static int hb_get_bool(hb_loader_t *l, const yaml_node_t *node, const char *what, int *out)
{
    char *s = hb_get_str(l, node, what);
    if (s == NULL)
        return -1;
    int ret = 0;
    if (strcmp(s, "true") == 0) {
        *out = 1;
    } else if (strcmp(s, "false") == 0) {
        *out = 0;
    } else {
        hb_errorf(l, node, "%s must be true or false, not \"%s\"", what, s);
        ret = -1;
    }
    free(s);
    return ret;
}

static int hb_get_size(hb_loader_t *l, const yaml_node_t *node, const char *what, size_t *out)
{
    char *s = hb_get_str(l, node, what);
    if (s == NULL)
        return -1;
    int ret = hb_parse_size(s, out);
    if (ret != 0 || *out == 0) {
        hb_errorf(l, node, "%s must be a size such as 1MiB, 512KiB or 65536, not \"%s\"", what, s);
        ret = -1;
    }
    free(s);
    return ret;
}

/* A duration; zero only where allow_zero (a zero elsewhere would read as "unset"). */
static int hb_get_duration_z(hb_loader_t *l, const yaml_node_t *node, const char *what, uint64_t *out, int allow_zero)
{
    char *s = hb_get_str(l, node, what);
    if (s == NULL)
        return -1;
    int ret = hb_parse_duration(s, out);
    if (ret != 0 || (*out == 0 && !allow_zero)) {
        hb_errorf(l, node, "%s must be a duration such as 8s, 500ms or 1m, not \"%s\"", what, s);
        ret = -1;
    }
    free(s);
    return ret;
}

static int hb_get_duration(hb_loader_t *l, const yaml_node_t *node, const char *what, uint64_t *out)
{
    return hb_get_duration_z(l, node, what, out, 0);
}

static int hb_get_listen(hb_loader_t *l, const yaml_node_t *node, const char *what, hb_listen_t *out)
{
    char *s = hb_get_str(l, node, what), err[256];
    if (s == NULL)
        return -1;
    int ret = hb_parse_listen(s, out, err, sizeof(err));
    if (ret != 0)
        hb_errorf(l, node, "%s: %s", what, err);
    free(s);
    return ret;
}

/* ---- mappings ---- */

typedef int (*hb_key_cb)(hb_loader_t *l, const char *key, yaml_node_t *keynode, yaml_node_t *value, void *target);

/* The earlier key of the mapping spelled like the scalar key k, or NULL. YAML wants keys unique; libyaml does not
 * check, and a second `triggers:` or `headers:` would silently replace the first. */
static yaml_node_t *hb_earlier_key(hb_loader_t *l, const yaml_node_t *node, const yaml_node_pair_t *p,
                                   const yaml_node_t *k)
{
    for (const yaml_node_pair_t *q = node->data.mapping.pairs.start; q < p; q++) {
        yaml_node_t *qk = hb_node(l, q->key);
        if (qk->type == YAML_SCALAR_NODE && strcmp(hb_scalar_raw(qk), hb_scalar_raw(k)) == 0)
            return qk;
    }
    return NULL;
}

/*
 * Calls cb for every key of a mapping; reports a non-scalar key and a repeated key (skipping it). Returns -1 when
 * node is not a mapping.
 */
static int hb_each_key(hb_loader_t *l, yaml_node_t *node, const char *what, hb_key_cb cb, void *target)
{
    if (node->type != YAML_MAPPING_NODE) {
        hb_errorf(l, node, "%s must be a mapping, not %s", what, hb_node_kind(node));
        return -1;
    }
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = hb_node(l, p->key), *v = hb_node(l, p->value), *first;
        if (k->type != YAML_SCALAR_NODE) {
            hb_errorf(l, k, "keys of %s must be strings", what);
            continue;
        }
        if ((first = hb_earlier_key(l, node, p, k)) != NULL) {
            hb_errorf(l, k, "duplicate key \"%s\" in %s (first at line %u)", hb_scalar_raw(k), what,
                      (unsigned)first->start_mark.line + 1);
            continue;
        }
        cb(l, hb_scalar_raw(k), k, v, target);
    }
    return 0;
}

static void hb_unknown_key(hb_loader_t *l, yaml_node_t *keynode, const char *key, const char *where)
{
    hb_errorf(l, keynode, "unknown key \"%s\" in %s", key, where);
}

/* Replaces *slot with the string value (freeing what was there). */
static void hb_set_str(hb_loader_t *l, yaml_node_t *value, const char *what, char **slot)
{
    char *s = hb_get_str(l, value, what);
    if (s != NULL) {
        free(*slot);
        *slot = s;
    }
}

/* ---- YAML to JSON (example payloads) ---- */

static int hb_plain_is_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return 0;
    if (*p == '0' && isdigit((unsigned char)p[1]))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

/* Packs a YAML node as msgpack with YAML's core typing of plain scalars (null, booleans, numbers). */
static void hb_yaml_to_msgpack(hb_loader_t *l, yaml_node_t *node, msgpack_packer *pk, int depth)
{
    if (depth > 64) {
        hb_errorf(l, node, "nested too deeply");
        msgpack_pack_nil(pk);
        return;
    }
    switch (node->type) {
    case YAML_MAPPING_NODE:
        msgpack_pack_map(pk, (size_t)(node->data.mapping.pairs.top - node->data.mapping.pairs.start));
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
            yaml_node_t *k = hb_node(l, p->key);
            const char *key = "";
            if (k->type != YAML_SCALAR_NODE)
                hb_errorf(l, k, "keys must be strings");
            else
                key = hb_scalar_raw(k);
            msgpack_pack_str(pk, strlen(key));
            msgpack_pack_str_body(pk, key, strlen(key));
            hb_yaml_to_msgpack(l, hb_node(l, p->value), pk, depth + 1);
        }
        break;
    case YAML_SEQUENCE_NODE:
        msgpack_pack_array(pk, (size_t)(node->data.sequence.items.top - node->data.sequence.items.start));
        for (yaml_node_item_t *i = node->data.sequence.items.start; i < node->data.sequence.items.top; i++)
            hb_yaml_to_msgpack(l, hb_node(l, *i), pk, depth + 1);
        break;
    default: {
        char *s = hb_expand(l, node, hb_scalar_raw(node));
        char *end = NULL;
        if (s == NULL) {
            msgpack_pack_nil(pk);
            break;
        }
        int plain = node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        if (plain && hb_is_null(node)) {
            msgpack_pack_nil(pk);
        } else if (plain && strcmp(s, "true") == 0) {
            msgpack_pack_true(pk);
        } else if (plain && strcmp(s, "false") == 0) {
            msgpack_pack_false(pk);
        } else if (plain && hb_plain_is_number(s)) {
            errno = 0;
            long long n = strtoll(s, &end, 10);
            if (*end == '\0' && errno == 0)
                msgpack_pack_int64(pk, n);
            else
                msgpack_pack_double(pk, strtod(s, NULL));
        } else {
            msgpack_pack_str(pk, strlen(s));
            msgpack_pack_str_body(pk, s, strlen(s));
        }
        free(s);
    }
    }
}

/*
 * Converts a YAML node to msgpack into sb and unpacks it into up, whose strings point into sb: the caller
 * destroys both, up first.
 */
static const msgpack_object *hb_yaml_object(hb_loader_t *l, yaml_node_t *node, msgpack_sbuffer *sb,
                                            msgpack_unpacked *up)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    hb_yaml_to_msgpack(l, node, &pk, 0);
    size_t off = 0;
    if (msgpack_unpack_next(up, sb->data, sb->size, &off) != MSGPACK_UNPACK_SUCCESS) {
        /* msgpack-c reads at most 32 nested levels (body.h): say so rather than go on with nil */
        hb_errorf(l, node, "nested too deeply (at most 32 levels)");
        msgpack_unpacked_destroy(up);
        msgpack_unpacked_init(up);
    }
    return &up->data;
}

/*
 * The YAML node that hb_yaml_to_msgpack() turned into obj, found by walking node and packed (its msgpack form: the
 * same shape, pairs and items in the same order) side by side; NULL when obj is not inside packed.
 */
static yaml_node_t *hb_yaml_node_of(hb_loader_t *l, yaml_node_t *node, const msgpack_object *packed,
                                    const msgpack_object *obj, int depth)
{
    if (packed == obj)
        return node;
    if (depth > 64)
        return NULL;
    yaml_node_t *found = NULL;
    if (node->type == YAML_MAPPING_NODE && packed->type == MSGPACK_OBJECT_MAP) {
        uint32_t i = 0;
        for (yaml_node_pair_t *p = node->data.mapping.pairs.start;
             p < node->data.mapping.pairs.top && i < packed->via.map.size && found == NULL; p++, i++) {
            if (&packed->via.map.ptr[i].key == obj)
                return hb_node(l, p->key);
            found = hb_yaml_node_of(l, hb_node(l, p->value), &packed->via.map.ptr[i].val, obj, depth + 1);
        }
    } else if (node->type == YAML_SEQUENCE_NODE && packed->type == MSGPACK_OBJECT_ARRAY) {
        uint32_t i = 0;
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             it < node->data.sequence.items.top && i < packed->via.array.size && found == NULL; it++, i++)
            found = hb_yaml_node_of(l, hb_node(l, *it), &packed->via.array.ptr[i], obj, depth + 1);
    }
    return found;
}

/* Compiles a request filter written in YAML; NULL after reporting at the place of the key or value at fault. */
static hb_reqfilter_t *hb_get_reqfilter(hb_loader_t *l, yaml_node_t *node, const char *what)
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
    return f;
}

/* kafka.topic and a trigger's topic: {id} is replaced by the endpoint's id. */
static char *hb_render_topic(const char *tmpl, const char *id)
{
    hb_buf_t out;
    hb_buf_init(&out);
    hb_buf_puts(&out, "");
    for (const char *p = tmpl; *p != '\0'; p++) {
        if (strncmp(p, "{id}", 4) == 0) {
            hb_buf_puts(&out, id);
            p += 3;
        } else {
            hb_buf_putc(&out, *p);
        }
    }
    return hb_buf_release(&out);
}

/* ---- server, admin, kafka ---- */

static int hb_server_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_config_t *cfg = target;
    if (strcmp(key, "listen") == 0) {
        size_t n = 1;
        yaml_node_item_t *items = NULL;
        if (v->type == YAML_SEQUENCE_NODE) {
            items = v->data.sequence.items.start;
            n = (size_t)(v->data.sequence.items.top - items);
            if (n == 0) {
                hb_errorf(l, v, "server.listen must name at least one address");
                return -1;
            }
        }
        for (size_t i = 0; i < cfg->server.num_listen; i++) {
            free(cfg->server.listen[i].host);
            free(cfg->server.listen[i].port);
        }
        free(cfg->server.listen);
        cfg->server.listen = hb_xcalloc(n, sizeof(hb_listen_t));
        cfg->server.num_listen = 0;
        for (size_t i = 0; i < n; i++) {
            yaml_node_t *item = items != NULL ? hb_node(l, items[i]) : v;
            if (hb_get_listen(l, item, "server.listen", &cfg->server.listen[cfg->server.num_listen]) == 0)
                cfg->server.num_listen++;
        }
    } else if (strcmp(key, "publicUrl") == 0) {
        hb_set_str(l, v, "server.publicUrl", &cfg->server.public_url);
    } else if (strcmp(key, "threads") == 0) {
        char *s = hb_get_str(l, v, "server.threads");
        if (s == NULL)
            return -1;
        char *end;
        long n = strtol(s, &end, 10);
        if (strcmp(s, "auto") == 0)
            cfg->server.threads = 0;
        else if (*s != '\0' && *end == '\0' && n >= 1 && n <= 1024)
            cfg->server.threads = (unsigned)n;
        else
            hb_errorf(l, v, "server.threads must be auto or a number from 1 to 1024, not \"%s\"", s);
        free(s);
    } else if (strcmp(key, "maxBodySize") == 0) {
        hb_get_size(l, v, "server.maxBodySize", &cfg->server.max_body_size);
    } else if (strcmp(key, "shutdownTimeout") == 0) {
        hb_get_duration(l, v, "server.shutdownTimeout", &cfg->server.shutdown_timeout_ms);
    } else if (strcmp(key, "drainDelay") == 0) {
        hb_get_duration_z(l, v, "server.drainDelay", &cfg->server.drain_delay_ms, 1);
    } else if (strcmp(key, "requestTimeout") == 0) {
        hb_get_duration(l, v, "server.requestTimeout", &cfg->server.request_timeout_ms);
    } else if (strcmp(key, "h2c") == 0) {
        hb_get_bool(l, v, "server.h2c", &cfg->server.h2c);
    } else if (strcmp(key, "tls") == 0) {
        if (v->type != YAML_MAPPING_NODE) {
            hb_errorf(l, v, "server.tls must be a mapping with certFile and keyFile, not %s", hb_node_kind(v));
            return -1;
        }
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
            yaml_node_t *tk = hb_node(l, p->key), *tv = hb_node(l, p->value);
            const char *name = tk->type == YAML_SCALAR_NODE ? hb_scalar_raw(tk) : "";
            if (strcmp(name, "certFile") == 0)
                hb_set_str(l, tv, "server.tls.certFile", &cfg->server.tls_cert_file);
            else if (strcmp(name, "keyFile") == 0)
                hb_set_str(l, tv, "server.tls.keyFile", &cfg->server.tls_key_file);
            else
                hb_unknown_key(l, tk, name, "server.tls (expected certFile, keyFile)");
        }
        if ((cfg->server.tls_cert_file == NULL) != (cfg->server.tls_key_file == NULL))
            hb_errorf(l, v, "server.tls needs both certFile and keyFile");
    } else {
        hb_unknown_key(l, k, key,
                       "server (expected listen, publicUrl, threads, maxBodySize, drainDelay, shutdownTimeout, "
                       "requestTimeout, h2c, tls)");
    }
    return 0;
}

static int hb_admin_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_config_t *cfg = target;
    if (strcmp(key, "listen") == 0) {
        free(cfg->admin.listen.host);
        free(cfg->admin.listen.port);
        memset(&cfg->admin.listen, 0, sizeof(cfg->admin.listen));
        hb_get_listen(l, v, "admin.listen", &cfg->admin.listen);
    } else {
        hb_unknown_key(l, k, key, "admin (expected listen)");
    }
    return 0;
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

static int hb_kafka_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_config_t *cfg = target;
    if (strcmp(key, "brokers") == 0) {
        hb_set_str(l, v, "kafka.brokers", &cfg->kafka.brokers);
    } else if (strcmp(key, "topic") == 0) {
        hb_set_str(l, v, "kafka.topic", &cfg->kafka.topic_template);
    } else if (strcmp(key, "deliveryTimeout") == 0) {
        hb_get_duration(l, v, "kafka.deliveryTimeout", &cfg->kafka.delivery_timeout_ms);
    } else if (strcmp(key, "format") == 0) {
        char *s = hb_get_str(l, v, "kafka.format");
        if (s != NULL && strcmp(s, "json") != 0 && strcmp(s, "msgpack") != 0)
            hb_errorf(l, v, "kafka.format must be msgpack or json, not \"%s\"", s);
        cfg->kafka.format_json = s != NULL && strcmp(s, "json") == 0;
        free(s);
    } else if (strcmp(key, "readinessWindow") == 0) {
        hb_get_duration(l, v, "kafka.readinessWindow", &cfg->kafka.readiness_window_ms);
    } else if (strcmp(key, "spoolAfter") == 0) {
        hb_get_duration(l, v, "kafka.spoolAfter", &cfg->kafka.spool_after_ms);
    } else if (strcmp(key, "producer") == 0) {
        if (v->type != YAML_MAPPING_NODE) {
            hb_errorf(l, v, "kafka.producer must be a mapping of librdkafka properties, not %s", hb_node_kind(v));
            return -1;
        }
        size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
        cfg->kafka.producer = hb_xrealloc(cfg->kafka.producer, (cfg->kafka.num_producer + n) * sizeof(hb_kv_t));
        for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
            yaml_node_t *pk = hb_node(l, p->key), *pv = hb_node(l, p->value);
            char *name = hb_get_str(l, pk, "a kafka.producer key");
            if (name == NULL)
                continue;
            const char *use = hb_owned_producer_prop(name);
            if (use != NULL) {
                hb_errorf(l, pk, "kafka.producer: \"%s\" is set by hookbridge; use %s", name, use);
                free(name);
                continue;
            }
            char *value = hb_get_str(l, pv, "a kafka.producer value");
            if (value == NULL) {
                free(name);
                continue;
            }
            cfg->kafka.producer[cfg->kafka.num_producer].key = name;
            cfg->kafka.producer[cfg->kafka.num_producer].value = value;
            cfg->kafka.num_producer++;
        }
    } else {
        hb_unknown_key(
            l, k, key,
            "kafka (expected brokers, topic, format, deliveryTimeout, readinessWindow, spoolAfter, producer)");
    }
    return 0;
}

/* `durability: kafka | spool` (top level or an endpoint's): 1 for spool, 0 for kafka, -1 after an error. */
static int hb_get_durability(hb_loader_t *l, const yaml_node_t *v, const char *what)
{
    char *s = hb_get_str(l, v, what);
    int ret = s == NULL ? -1 : strcmp(s, "spool") == 0 ? 1 : strcmp(s, "kafka") == 0 ? 0 : -1;
    if (s != NULL && ret < 0)
        hb_errorf(l, v, "%s must be kafka or spool, not \"%s\"", what, s);
    free(s);
    return ret;
}

static int hb_spool_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_config_t *cfg = target;
    if (strcmp(key, "path") == 0)
        hb_set_str(l, v, "spool.path", &cfg->spool.path);
    else if (strcmp(key, "maxBytes") == 0)
        hb_get_size(l, v, "spool.maxBytes", &cfg->spool.max_bytes);
    else
        hb_unknown_key(l, k, key, "spool (expected path, maxBytes)");
    return 0;
}

/* ---- endpoints ---- */

#define HB_DEFAULT_DEDUPE_SIZE 10000
#define HB_DEFAULT_DEDUPE_AGE_MS 3600000

static int hb_dedupe_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_endpoint_config_t *ep = target;
    if (strcmp(key, "size") == 0) {
        char *s = hb_get_str(l, v, "deduplicate.size"), *end = NULL;
        long n = s != NULL ? strtol(s, &end, 10) : 0;
        if (s != NULL && (end == s || *end != '\0' || n < 1 || n > 10000000))
            hb_errorf(l, v, "deduplicate.size must be a number of events from 1 to 10000000, not \"%s\"", s);
        else if (s != NULL)
            ep->dedupe_size = (size_t)n;
        free(s);
    } else if (strcmp(key, "maxAge") == 0) {
        hb_get_duration(l, v, "deduplicate.maxAge", &ep->dedupe_max_age_ms);
    } else {
        hb_unknown_key(l, k, key, "deduplicate (expected size, maxAge)");
    }
    return 0;
}

/*
 * `deduplicate: false`, `true` or `{size, maxAge}`: the window of published event ids within which a sender's retry
 * is answered 2xx and not published again. Only ids the sender gives (a delivery header) can repeat.
 */
static void hb_parse_dedupe(hb_loader_t *l, yaml_node_t *v, hb_endpoint_config_t *ep)
{
    ep->dedupe_set = 1;
    ep->dedupe_size = HB_DEFAULT_DEDUPE_SIZE;
    ep->dedupe_max_age_ms = HB_DEFAULT_DEDUPE_AGE_MS;
    if (v->type == YAML_MAPPING_NODE) {
        hb_each_key(l, v, "deduplicate", hb_dedupe_key, ep);
        return;
    }
    int on = 0;
    if (hb_get_bool(l, v, "deduplicate", &on) == 0 && !on)
        ep->dedupe_size = 0;
}

/*
 * `partitionKey: body.repository.id` (or header.NAME, query.NAME): the record key is that value's text, so the events
 * of one key keep their order; compiled as the template {{PATH}} (a number renders as its decimal digits).
 */
static struct hb_template *hb_get_partition_key(hb_loader_t *l, yaml_node_t *v, const char *what)
{
    char *path = hb_get_str(l, v, what);
    if (path == NULL)
        return NULL;
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
    return t;
}

typedef struct hb_endpoint_ctx {
    hb_endpoint_config_t *ep;
    int has_verify;
    int has_max_body;
    yaml_node_t *id_node;
    yaml_node_t *triggers;
} hb_endpoint_ctx_t;

typedef struct hb_verify_ctx {
    hb_verify_config_t *v;
    yaml_node_t *secret_node, *secrets_node, *secret_file_node, *public_key_node, *public_keys_node;
    yaml_node_t *header_node, *algorithm_node, *encoding_node, *plugin_node, *symbol_node, *config_node;
} hb_verify_ctx_t;

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

static int hb_verify_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_verify_ctx_t *vc = target;
    if (strcmp(key, "provider") == 0) {
        hb_set_str(l, v, "verify.provider", &vc->v->provider);
        if (vc->v->provider != NULL && hb_preset_find(vc->v->provider) == NULL)
            hb_errorf(l, v, "verify.provider \"%s\" is not one of %s", vc->v->provider, hb_preset_names());
    } else if (strcmp(key, "headerName") == 0) {
        hb_set_str(l, v, "verify.headerName", &vc->v->header_name);
        vc->header_node = v;
    } else if (strcmp(key, "secret") == 0) {
        vc->secret_node = v;
    } else if (strcmp(key, "secrets") == 0) {
        vc->secrets_node = v;
    } else if (strcmp(key, "secretFile") == 0) {
        vc->secret_file_node = v;
    } else if (strcmp(key, "publicKey") == 0) {
        vc->public_key_node = v;
    } else if (strcmp(key, "publicKeys") == 0) {
        vc->public_keys_node = v;
    } else if (strcmp(key, "verifyToken") == 0) {
        hb_set_str(l, v, "verify.verifyToken", &vc->v->verify_token);
    } else if (strcmp(key, "tolerance") == 0) {
        hb_get_duration(l, v, "verify.tolerance", &vc->v->tolerance_ms);
    } else if (strcmp(key, "plugin") == 0) {
        vc->plugin_node = v;
    } else if (strcmp(key, "symbol") == 0) {
        hb_set_str(l, v, "verify.symbol", &vc->v->plugin_symbol);
        vc->symbol_node = v;
    } else if (strcmp(key, "config") == 0) {
        vc->config_node = v;
    } else if (strcmp(key, "algorithm") == 0) {
        vc->algorithm_node = v;
        char *s = hb_get_str(l, v, "verify.algorithm");
        if (s == NULL)
            return -1;
        if (strcmp(s, "sha1") == 0)
            vc->v->algorithm = HB_HMAC_SHA1;
        else if (strcmp(s, "sha256") == 0)
            vc->v->algorithm = HB_HMAC_SHA256;
        else if (strcmp(s, "sha512") == 0)
            vc->v->algorithm = HB_HMAC_SHA512;
        else
            hb_errorf(l, v, "verify.algorithm must be sha1, sha256 or sha512, not \"%s\"", s);
        free(s);
    } else if (strcmp(key, "headerEncoding") == 0) {
        vc->encoding_node = v;
        char *s = hb_get_str(l, v, "verify.headerEncoding");
        if (s == NULL)
            return -1;
        if (strcmp(s, "hex") == 0)
            vc->v->encoding = HB_ENC_HEX;
        else if (strcmp(s, "base64") == 0)
            vc->v->encoding = HB_ENC_BASE64;
        else if (strcmp(s, "base64url") == 0)
            vc->v->encoding = HB_ENC_BASE64URL;
        else
            hb_errorf(l, v, "verify.headerEncoding must be hex, base64 or base64url, not \"%s\"", s);
        free(s);
    } else {
        hb_unknown_key(l, k, key,
                       "verify (expected provider, headerName, secret, secrets, secretFile, algorithm, "
                       "headerEncoding, publicKey, publicKeys, verifyToken, tolerance, plugin, symbol, config)");
    }
    return 0;
}

/* A string or a list of strings (`secrets: [new, old]`), appended to *out. */
static void hb_get_str_list(hb_loader_t *l, yaml_node_t *node, const char *what, char ***out, size_t *n)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        hb_errorf(l, node, "%s must be a list of strings, not %s", what, hb_node_kind(node));
        return;
    }
    size_t count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (count == 0)
        hb_errorf(l, node, "%s must not be empty", what);
    *out = hb_xrealloc(*out, (*n + count + 1) * sizeof(char *));
    for (yaml_node_item_t *i = node->data.sequence.items.start; i < node->data.sequence.items.top; i++) {
        char *s = hb_get_str(l, hb_node(l, *i), what);
        if (s != NULL)
            (*out)[(*n)++] = s;
    }
}

static void hb_add_secret(hb_verify_config_t *v, char *data, size_t len)
{
    v->secrets = hb_xrealloc(v->secrets, (v->num_secrets + 1) * sizeof(*v->secrets));
    v->secrets[v->num_secrets++] = (hb_secret_t){data, len};
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

static void hb_parse_verify(hb_loader_t *l, yaml_node_t *node, hb_verify_config_t *v)
{
    v->algorithm = HB_HMAC_SHA256;
    v->encoding = HB_ENC_HEX;
    if (node->type == YAML_SCALAR_NODE) {
        char *s = hb_get_str(l, node, "verify");
        if (s != NULL && strcmp(s, "none") == 0)
            v->none = 1;
        else if (s != NULL)
            hb_errorf(l, node, "verify must be a mapping (headerName, secret, ...) or the word none, not \"%s\"", s);
        free(s);
        return;
    }
    hb_verify_ctx_t vc = {.v = v};
    if (hb_each_key(l, node, "verify", hb_verify_key, &vc) != 0)
        return;

    /* the keys: secret, secrets or secretFile; publicKey or publicKeys */
    int secret_forms = (vc.secret_node != NULL) + (vc.secrets_node != NULL) + (vc.secret_file_node != NULL);
    if (secret_forms > 1)
        hb_errorf(l, vc.secret_file_node != NULL ? vc.secret_file_node : vc.secrets_node,
                  "verify takes one of secret, secrets and secretFile");
    if (vc.secret_node != NULL) {
        char *secret = hb_get_str(l, vc.secret_node, "verify.secret");
        if (secret != NULL)
            hb_add_secret(v, secret, strlen(secret));
    } else if (vc.secrets_node != NULL) {
        char **list = NULL;
        size_t n = 0;
        hb_get_str_list(l, vc.secrets_node, "verify.secrets", &list, &n);
        for (size_t i = 0; i < n; i++)
            hb_add_secret(v, list[i], strlen(list[i]));
        free(list);
    } else if (vc.secret_file_node != NULL) {
        size_t len = 0;
        char *secret = hb_read_secret_file(l, vc.secret_file_node, &len);
        if (secret != NULL)
            hb_add_secret(v, secret, len);
    }
    if (vc.public_key_node != NULL && vc.public_keys_node != NULL)
        hb_errorf(l, vc.public_keys_node, "verify takes publicKey or publicKeys, not both");
    else if (vc.public_key_node != NULL && (v->public_keys = hb_xcalloc(1, sizeof(char *))) != NULL &&
             (v->public_keys[0] = hb_get_str(l, vc.public_key_node, "verify.publicKey")) != NULL)
        v->num_public_keys = 1;
    else if (vc.public_keys_node != NULL)
        hb_get_str_list(l, vc.public_keys_node, "verify.publicKeys", &v->public_keys, &v->num_public_keys);
    int has_secret = secret_forms > 0, has_public = vc.public_key_node != NULL || vc.public_keys_node != NULL;

    if (vc.plugin_node != NULL) {
        char *path = hb_get_str(l, vc.plugin_node, "verify.plugin");
        if (path != NULL)
            v->plugin = hb_resolve_path(l->name, path);
        free(path);
        if (v->plugin_symbol == NULL)
            hb_errorf(l, node, "verify.plugin needs symbol (the hookbridge_verifier_t the plugin exports)");
        if (v->provider != NULL || vc.header_node != NULL || has_secret || has_public || vc.algorithm_node != NULL ||
            vc.encoding_node != NULL || v->verify_token != NULL || v->tolerance_ms != 0)
            hb_errorf(l, node, "verify.plugin takes only symbol and config: the plugin reads its own secrets");
        if (vc.config_node != NULL) {
            msgpack_sbuffer sb;
            msgpack_sbuffer_init(&sb);
            msgpack_unpacked up;
            msgpack_unpacked_init(&up);
            hb_buf_t json;
            hb_buf_init(&json);
            hb_msgpack_to_json(hb_yaml_object(l, vc.config_node, &sb, &up), &json);
            v->plugin_config = hb_buf_release(&json);
            msgpack_unpacked_destroy(&up);
            msgpack_sbuffer_destroy(&sb);
        }
        return;
    }
    if (vc.symbol_node != NULL || vc.config_node != NULL)
        hb_errorf(l, vc.symbol_node != NULL ? vc.symbol_node : vc.config_node, "symbol and config go with plugin");
    if (v->provider != NULL) {
        const hb_preset_info_t *preset = hb_preset_find(v->provider);
        yaml_node_t *fixed = vc.header_node != NULL      ? vc.header_node
                             : vc.algorithm_node != NULL ? vc.algorithm_node
                                                         : vc.encoding_node;
        if (fixed != NULL)
            hb_errorf(l, fixed, "verify.provider %s fixes the header, algorithm and encoding", v->provider);
        if (preset == NULL)
            return; /* reported */
        if ((preset->needs & HB_PRESET_SECRET) && !has_secret)
            hb_errorf(l, node, "verify.provider %s needs secret, secrets or secretFile", v->provider);
        if ((preset->needs & HB_PRESET_PUBLIC_KEY) && !has_public)
            hb_errorf(l, node, "verify.provider %s needs publicKey or publicKeys", v->provider);
        if ((preset->needs & HB_PRESET_KEY_EITHER) && !has_secret && !has_public)
            hb_errorf(l, node, "verify.provider %s needs a secret (whsec_...) or a public key (whpk_...)", v->provider);
        if ((preset->needs & HB_PRESET_VERIFY_TOKEN) && (v->verify_token == NULL || *v->verify_token == '\0'))
            hb_errorf(l, node, "verify.provider %s needs verifyToken (the token its set-up GET carries)", v->provider);
        if ((preset->needs & HB_PRESET_PUBLIC_KEY) && has_secret)
            hb_errorf(l, node, "verify.provider %s checks a public key; it takes no secret", v->provider);
        if (has_public && !(preset->needs & (HB_PRESET_PUBLIC_KEY | HB_PRESET_KEY_EITHER)))
            hb_errorf(l, node, "verify.provider %s takes no public key", v->provider);
        return;
    }
    if (vc.header_node == NULL)
        hb_errorf(l, node, "verify needs headerName (the header that carries the signature) or provider");
    else if (v->header_name != NULL && *v->header_name == '\0')
        hb_errorf(l, node, "verify.headerName must not be empty");
    if (!has_secret)
        hb_errorf(l, node, "verify needs secret, secrets or secretFile");
    if (has_public)
        hb_errorf(l, node, "verify.publicKey goes with a provider that signs with a key pair");
}

static int hb_example_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_example_t *ex = target;
    if (strcmp(key, "id") == 0) {
        hb_set_str(l, v, "examples[].id", &ex->id);
    } else if (strcmp(key, "name") == 0) {
        hb_set_str(l, v, "examples[].name", &ex->name);
    } else if (strcmp(key, "payload") == 0) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init(&sb);
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        hb_buf_t json;
        hb_buf_init(&json);
        hb_msgpack_to_json(hb_yaml_object(l, v, &sb, &up), &json);
        msgpack_unpacked_destroy(&up);
        msgpack_sbuffer_destroy(&sb);
        free(ex->payload_json);
        ex->payload_json = hb_buf_release(&json);
    } else if (strcmp(key, "icon") != 0) {
        hb_unknown_key(l, k, key, "an example (expected id, name, icon, payload)");
    }
    return 0;
}

static void hb_parse_examples(hb_loader_t *l, yaml_node_t *node, hb_endpoint_config_t *ep)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        hb_errorf(l, node, "examples must be a list, not %s", hb_node_kind(node));
        return;
    }
    size_t n = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    ep->examples = hb_xcalloc(n, sizeof(hb_example_t));
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = hb_node(l, node->data.sequence.items.start[i]);
        hb_example_t *ex = &ep->examples[ep->num_examples++];
        hb_each_key(l, item, "an example", hb_example_key, ex);
        if (ex->id == NULL && item->type == YAML_MAPPING_NODE)
            hb_errorf(l, item, "an example needs an id");
        for (size_t j = 0; ex->id != NULL && j + 1 < ep->num_examples; j++)
            if (ep->examples[j].id != NULL && strcmp(ep->examples[j].id, ex->id) == 0)
                hb_errorf(l, item, "duplicate example id \"%s\"", ex->id);
        if (ex->payload_json == NULL)
            ex->payload_json = hb_xstrdup("null");
    }
}

typedef struct hb_respond_ctx {
    hb_respond_config_t *r;
    yaml_node_t *filter;
    yaml_node_t *response;
} hb_respond_ctx_t;

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

static void hb_parse_response_headers(hb_loader_t *l, yaml_node_t *v, hb_respond_config_t *r)
{
    if (v->type != YAML_MAPPING_NODE) {
        hb_errorf(l, v, "respondWith.response.headers must be a mapping, not %s", hb_node_kind(v));
        return;
    }
    size_t n = (size_t)(v->data.mapping.pairs.top - v->data.mapping.pairs.start);
    r->headers = hb_xcalloc(n, sizeof(hb_kv_t));
    for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
        yaml_node_t *kn = hb_node(l, p->key);
        char *name = hb_get_str(l, kn, "a response header name");
        char *value = hb_get_str(l, hb_node(l, p->value), "a response header value");
        if (name == NULL || value == NULL)
            goto Next;
        /* h2o wants lower-case names (HTTP/2 requires them), and the server looks for content-type so */
        for (char *c = name; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
        if (!hb_header_name_valid(name)) {
            hb_errorf(l, kn, "\"%s\" is not a header name (letters, digits and !#$%%&'*+-.^_`|~)", name);
            goto Next;
        }
        if (!hb_header_value_valid(value)) {
            hb_errorf(l, hb_node(l, p->value), "the value of response header %s holds a control character", name);
            goto Next;
        }
        if (hb_is_framing_header(name)) {
            /* a second Content-Length or Connection next to h2o's own would desynchronise the sender's connection */
            hb_errorf(l, kn, "response header %s frames the message; the server writes it itself", name);
            goto Next;
        }
        for (size_t i = 0; i < r->num_headers; i++) {
            if (strcmp(r->headers[i].key, name) == 0) {
                hb_errorf(l, kn, "response header %s is given twice (names are case-insensitive)", name);
                goto Next;
            }
        }
        r->headers[r->num_headers].key = name;
        r->headers[r->num_headers++].value = value;
        continue;
    Next:
        free(name);
        free(value);
    }
}

static int hb_response_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_respond_ctx_t *rc = target;
    hb_respond_config_t *r = rc->r;
    if (strcmp(key, "status") == 0) {
        char *s = hb_get_str(l, v, "respondWith.response.status");
        if (s == NULL)
            return -1;
        int n = 0, valid = *s != '\0' && strlen(s) <= 3;
        for (const char *c = s; valid && *c != '\0'; c++) {
            valid = isdigit((unsigned char)*c);
            if (valid)
                n = n * 10 + (*c - '0');
        }
        if (!valid || n < 200 || n > 599) {
            hb_errorf(l, v, "respondWith.response.status must be an HTTP status from 200 to 599, not \"%s\"", s);
        } else {
            r->status = n;
        }
        free(s);
    } else if (strcmp(key, "headers") == 0) {
        hb_parse_response_headers(l, v, r);
    } else if (strcmp(key, "body") == 0) {
        char *s = hb_get_str(l, v, "respondWith.response.body"), err[256];
        if (s == NULL)
            return -1;
        hb_template_t *t = hb_template_compile(s, err, sizeof(err));
        if (t == NULL) {
            hb_errorf(l, v, "respondWith.response.body: %s", err);
        } else {
            hb_template_free(r->body);
            r->body = t;
        }
        free(s);
    } else {
        hb_unknown_key(l, k, key, "respondWith.response (expected status, headers, body)");
    }
    return 0;
}

static int hb_respond_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_respond_ctx_t *rc = target;
    if (strcmp(key, "filter") == 0) {
        rc->filter = v;
        rc->r->filter = hb_get_reqfilter(l, v, "respondWith.filter");
    } else if (strcmp(key, "skipTriggeringRuns") == 0) {
        hb_get_bool(l, v, "respondWith.skipTriggeringRuns", &rc->r->skip_triggering_runs);
    } else if (strcmp(key, "response") == 0) {
        rc->response = v;
        hb_each_key(l, v, "respondWith.response", hb_response_key, rc);
    } else {
        hb_unknown_key(l, k, key, "respondWith (expected filter, skipTriggeringRuns, response)");
    }
    return 0;
}

static void hb_respond_free(hb_respond_config_t *r)
{
    if (r == NULL)
        return;
    hb_reqfilter_free(r->filter);
    for (size_t i = 0; i < r->num_headers; i++) {
        free(r->headers[i].key);
        free(r->headers[i].value);
    }
    free(r->headers);
    hb_template_free(r->body);
    free(r);
}

static void hb_parse_respond(hb_loader_t *l, yaml_node_t *node, hb_endpoint_config_t *ep)
{
    ep->respond_with = hb_xcalloc(1, sizeof(hb_respond_config_t));
    ep->respond_with->status = 200;
    hb_respond_ctx_t rc = {.r = ep->respond_with};
    if (hb_each_key(l, node, "respondWith", hb_respond_key, &rc) != 0)
        return;
    if (rc.filter == NULL)
        hb_errorf(l, node, "respondWith needs a filter: without one it would answer every request");
    /* an answer nobody wrote is more likely a mistake than a wish for an empty 200: `response: {}` says so */
    if (rc.response == NULL)
        hb_errorf(l, node,
                  "respondWith needs a response (status, headers, body); write `response: {}` for an empty 200");
    if (ep->respond_with->body == NULL) {
        char err[64];
        ep->respond_with->body = hb_template_compile("", err, sizeof(err));
    }
}

typedef struct hb_trigger_ctx {
    hb_trigger_config_t *t;
    yaml_node_t *name;
    yaml_node_t *topic;
} hb_trigger_ctx_t;

static int hb_trigger_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_trigger_ctx_t *tc = target;
    if (strcmp(key, "name") == 0) {
        hb_set_str(l, v, "triggers[].name", &tc->t->name);
        tc->name = v;
    } else if (strcmp(key, "filter") == 0) {
        tc->t->filter = hb_get_reqfilter(l, v, "triggers[].filter");
    } else if (strcmp(key, "topic") == 0) {
        hb_set_str(l, v, "triggers[].topic", &tc->t->topic);
        tc->topic = v;
    } else if (strcmp(key, "partitionKey") == 0) {
        hb_template_free(tc->t->partition_key);
        tc->t->partition_key = hb_get_partition_key(l, v, "triggers[].partitionKey");
    } else {
        hb_unknown_key(l, k, key, "a trigger (expected name, filter, topic, partitionKey)");
    }
    return 0;
}

/*
 * triggers: parsed once the endpoint's id is known (id may come after triggers), since a trigger's topic may use
 * {id} as kafka.topic does. id is NULL when the endpoint has no valid id (already reported).
 */
static void hb_parse_triggers(hb_loader_t *l, yaml_node_t *node, hb_endpoint_config_t *ep, const char *id)
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
        hb_trigger_config_t *t = &ep->triggers[ep->num_triggers++];
        hb_trigger_ctx_t tc = {.t = t};
        if (hb_each_key(l, item, "a trigger", hb_trigger_key, &tc) != 0)
            continue;
        if (t->topic != NULL) {
            /* without a valid id, still check the rest of the template */
            char *topic = hb_render_topic(t->topic, id != NULL ? id : "id");
            if (!hb_topic_name_valid(topic))
                hb_errorf(l, tc.topic,
                          "trigger topic \"%s\" is not a valid Kafka topic name (1 to 249 of A-Z a-z 0-9 . _ -)",
                          topic);
            free(t->topic);
            t->topic = topic;
        }
        /* the name is what a consumer sees in the event's `triggers`: an unnamed trigger could not be told apart */
        if (t->name == NULL || *t->name == '\0') {
            hb_errorf(l, tc.name != NULL ? tc.name : item,
                      "a trigger needs a name (it is written in the event's `triggers`)");
            continue;
        }
        names[i] = tc.name;
        for (size_t j = 0; j < i; j++) {
            if (ep->triggers[j].name != NULL && names[j] != NULL && strcmp(ep->triggers[j].name, t->name) == 0) {
                hb_errorf(l, tc.name, "duplicate trigger name \"%s\" (first at line %u)", t->name,
                          (unsigned)names[j]->start_mark.line + 1);
                break;
            }
        }
    }
    free(names);
}

static int hb_endpoint_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_endpoint_ctx_t *ec = target;
    hb_endpoint_config_t *ep = ec->ep;
    if (strcmp(key, "id") == 0) {
        hb_set_str(l, v, "id", &ep->id);
        ec->id_node = v;
    } else if (strcmp(key, "source") == 0) {
        hb_set_str(l, v, "source", &ep->source);
    } else if (strcmp(key, "icon") == 0) {
        hb_set_str(l, v, "icon", &ep->icon);
    } else if (strcmp(key, "title") == 0) {
        hb_set_str(l, v, "title", &ep->title);
    } else if (strcmp(key, "deduplicate") == 0) {
        hb_parse_dedupe(l, v, ep);
    } else if (strcmp(key, "partitionKey") == 0) {
        hb_template_free(ep->partition_key);
        ep->partition_key = hb_get_partition_key(l, v, "partitionKey");
    } else if (strcmp(key, "eventIdHeader") == 0) {
        hb_set_str(l, v, "eventIdHeader", &ep->event_id_header);
        for (char *p = ep->event_id_header; p != NULL && *p != '\0'; p++)
            *p = (char)tolower((unsigned char)*p);
    } else if (strcmp(key, "maxBodySize") == 0) {
        if (hb_get_size(l, v, "maxBodySize", &ep->max_body_size) == 0)
            ec->has_max_body = 1;
    } else if (strcmp(key, "durability") == 0) {
        int spool = hb_get_durability(l, v, "durability");
        if (spool >= 0) {
            ep->spool = spool;
            ep->spool_set = 1;
        }
    } else if (strcmp(key, "verify") == 0) {
        ec->has_verify = 1;
        hb_parse_verify(l, v, &ep->verify);
    } else if (strcmp(key, "examples") == 0) {
        hb_parse_examples(l, v, ep);
    } else if (strcmp(key, "respondWith") == 0) {
        hb_parse_respond(l, v, ep);
    } else if (strcmp(key, "triggers") == 0) {
        ec->triggers = v; /* parsed once the id is known */
    } else {
        hb_unknown_key(l, k, key,
                       "an endpoint (expected id, source, icon, title, verify, respondWith, triggers, eventIdHeader, "
                       "partitionKey, deduplicate, maxBodySize, durability, examples)");
    }
    return 0;
}

static int hb_endpoint_id_valid(const char *id)
{
    if (*id == '\0' || strlen(id) > 200)
        return 0;
    for (const char *p = id; *p != '\0'; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

static void hb_parse_endpoints(hb_loader_t *l, yaml_node_t *node, hb_config_t *cfg)
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
        hb_endpoint_ctx_t ec = {.ep = ep};
        if (hb_each_key(l, item, "an endpoint", hb_endpoint_key, &ec) != 0)
            continue;
        if (ec.triggers != NULL)
            hb_parse_triggers(l, ec.triggers, ep, ep->id != NULL && hb_endpoint_id_valid(ep->id) ? ep->id : NULL);
        if (ep->id == NULL) {
            hb_errorf(l, item, "an endpoint needs an id");
        } else if (!hb_endpoint_id_valid(ep->id)) {
            hb_errorf(l, ec.id_node, "endpoint id \"%s\" may only use A-Z a-z 0-9 . _ - (1 to 200 of them)", ep->id);
        } else {
            for (size_t j = 0; j + 1 < cfg->num_endpoints; j++) {
                if (cfg->endpoints[j].id != NULL && strcmp(cfg->endpoints[j].id, ep->id) == 0) {
                    hb_errorf(l, ec.id_node, "duplicate endpoint id \"%s\" (first at line %u)", ep->id,
                              cfg->endpoints[j].line);
                    break;
                }
            }
        }
        if (ep->source == NULL && ep->id != NULL)
            ep->source = hb_xstrdup(ep->id);
        if (!ec.has_verify)
            hb_errorf(l, item,
                      "endpoint \"%s\" has no verify: it is compulsory (write `verify: none` to accept unsigned "
                      "requests)",
                      ep->id != NULL ? ep->id : "?");
        if (!ec.has_max_body)
            ep->max_body_size = 0; /* filled from server.maxBodySize below */
    }
}

/* ---- log ---- */

static int hb_log_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_config_t *cfg = target;
    if (strcmp(key, "level") == 0) {
        static const char *const names[] = {"debug", "info", "warn", "error"}; /* hb_log_level_t's order */
        char *s = hb_get_str(l, v, "log.level");
        int found = -1;
        for (int i = 0; s != NULL && i < 4; i++)
            if (strcmp(s, names[i]) == 0)
                found = i;
        if (s != NULL && found < 0)
            hb_errorf(l, v, "log.level must be debug, info, warn or error, not \"%s\"", s);
        if (found >= 0)
            cfg->log.level = found;
        free(s);
    } else if (strcmp(key, "sampleRate") == 0) {
        char *s = hb_get_str(l, v, "log.sampleRate"), *end = NULL;
        double rate = s != NULL ? strtod(s, &end) : -1;
        if (s != NULL && (end == s || *end != '\0' || !(rate >= 0 && rate <= 1)))
            hb_errorf(l, v, "log.sampleRate must be a number from 0 to 1, not \"%s\"", s);
        else if (s != NULL)
            cfg->log.sample_rate = rate;
        free(s);
    } else {
        hb_unknown_key(l, k, key, "log (expected level, sampleRate)");
    }
    return 0;
}

/* ---- HOOKBRIDGE_* environment overrides ---- */

/* The keys outside `endpoints` a variable may set (endpoints take ${VAR} in their values). */
static const struct {
    const char *section, *subsection, *key, *env;
    int list; /* a comma-separated list becomes a YAML sequence */
} hb_overrides[] = {
    {"server", NULL, "listen", "HOOKBRIDGE_SERVER_LISTEN", 1},
    {"server", NULL, "publicUrl", "HOOKBRIDGE_SERVER_PUBLIC_URL", 0},
    {"server", NULL, "threads", "HOOKBRIDGE_SERVER_THREADS", 0},
    {"server", NULL, "maxBodySize", "HOOKBRIDGE_SERVER_MAX_BODY_SIZE", 0},
    {"server", NULL, "drainDelay", "HOOKBRIDGE_SERVER_DRAIN_DELAY", 0},
    {"server", NULL, "shutdownTimeout", "HOOKBRIDGE_SERVER_SHUTDOWN_TIMEOUT", 0},
    {"server", NULL, "requestTimeout", "HOOKBRIDGE_SERVER_REQUEST_TIMEOUT", 0},
    {"server", NULL, "h2c", "HOOKBRIDGE_SERVER_H2C", 0},
    {"server", "tls", "certFile", "HOOKBRIDGE_SERVER_TLS_CERT_FILE", 0},
    {"server", "tls", "keyFile", "HOOKBRIDGE_SERVER_TLS_KEY_FILE", 0},
    {"admin", NULL, "listen", "HOOKBRIDGE_ADMIN_LISTEN", 0},
    {"kafka", NULL, "brokers", "HOOKBRIDGE_KAFKA_BROKERS", 0},
    {"kafka", NULL, "topic", "HOOKBRIDGE_KAFKA_TOPIC", 0},
    {"kafka", NULL, "deliveryTimeout", "HOOKBRIDGE_KAFKA_DELIVERY_TIMEOUT", 0},
    {"kafka", NULL, "readinessWindow", "HOOKBRIDGE_KAFKA_READINESS_WINDOW", 0},
    {"kafka", NULL, "format", "HOOKBRIDGE_KAFKA_FORMAT", 0},
    {"kafka", NULL, "spoolAfter", "HOOKBRIDGE_KAFKA_SPOOL_AFTER", 0},
    {"spool", NULL, "path", "HOOKBRIDGE_SPOOL_PATH", 0},
    {"spool", NULL, "maxBytes", "HOOKBRIDGE_SPOOL_MAX_BYTES", 0},
    {"log", NULL, "level", "HOOKBRIDGE_LOG_LEVEL", 0},
    {"log", NULL, "sampleRate", "HOOKBRIDGE_LOG_SAMPLE_RATE", 0},
    {NULL, NULL, "durability", "HOOKBRIDGE_DURABILITY", 0},
    {NULL, NULL, "watch", "HOOKBRIDGE_WATCH", 0},
};

/* A string scalar node whose ${ stays literal (a variable's value is not expanded again); its index. */
static int hb_add_scalar(hb_loader_t *l, const char *value, size_t len)
{
    hb_buf_t b;
    hb_buf_init(&b);
    for (size_t i = 0; i < len; i++) {
        if (value[i] == '$' && i + 1 < len && value[i + 1] == '{')
            hb_buf_putc(&b, '$');
        hb_buf_putc(&b, value[i]);
    }
    int id = yaml_document_add_scalar(&l->doc, NULL, (yaml_char_t *)(b.len > 0 ? b.base : ""), (int)b.len,
                                      YAML_DOUBLE_QUOTED_SCALAR_STYLE);
    hb_buf_dispose(&b);
    return id;
}

/* The index of mapping's value for key (a mapping made and added when absent, create set); 0 when not a mapping. */
static int hb_child_mapping(hb_loader_t *l, int mapping, const char *key, int create)
{
    yaml_node_t *m = hb_node(l, mapping);
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = hb_node(l, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(hb_scalar_raw(k), key) == 0)
            return hb_node(l, p->value)->type == YAML_MAPPING_NODE ? p->value : 0;
    }
    if (!create)
        return 0;
    /* adding nodes may move the node array: only indices survive */
    int child = yaml_document_add_mapping(&l->doc, NULL, YAML_BLOCK_MAPPING_STYLE);
    int k = yaml_document_add_scalar(&l->doc, NULL, (yaml_char_t *)key, -1, YAML_PLAIN_SCALAR_STYLE);
    yaml_document_append_mapping_pair(&l->doc, mapping, k, child);
    return child;
}

/* Sets key in mapping to the node value, replacing what the file says. */
static void hb_set_key(hb_loader_t *l, int mapping, const char *key, int value)
{
    yaml_node_t *m = hb_node(l, mapping);
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = hb_node(l, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(hb_scalar_raw(k), key) == 0) {
            p->value = value;
            return;
        }
    }
    int k = yaml_document_add_scalar(&l->doc, NULL, (yaml_char_t *)key, -1, YAML_PLAIN_SCALAR_STYLE);
    yaml_document_append_mapping_pair(&l->doc, mapping, k, value);
}

/* Every HOOKBRIDGE_* variable of hb_overrides that is set replaces (or adds) its key, before validation. */
static void hb_apply_overrides(hb_loader_t *l)
{
    const int root = 1; /* libyaml numbers nodes from 1; the root is the first */
    if (hb_node(l, root) == NULL || hb_node(l, root)->type != YAML_MAPPING_NODE)
        return;
    for (size_t i = 0; i < HB_ARRAY_SIZE(hb_overrides); i++) {
        const char *value = l->env->getenv(l->env->ctx, hb_overrides[i].env);
        if (value == NULL || l->num_overrides == HB_MAX_OVERRIDES)
            continue;
        int mapping = root;
        if (hb_overrides[i].section != NULL)
            mapping = hb_child_mapping(l, mapping, hb_overrides[i].section, 1);
        if (mapping != 0 && hb_overrides[i].subsection != NULL)
            mapping = hb_child_mapping(l, mapping, hb_overrides[i].subsection, 1);
        if (mapping == 0)
            continue; /* the file has something else than a mapping there: its own error says so */
        int node;
        if (hb_overrides[i].list) {
            node = yaml_document_add_sequence(&l->doc, NULL, YAML_FLOW_SEQUENCE_STYLE);
            for (const char *p = value;;) {
                const char *comma = strchr(p, ',');
                size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
                yaml_document_append_sequence_item(&l->doc, node, hb_add_scalar(l, p, len));
                if (comma == NULL)
                    break;
                p = comma + 1;
            }
        } else {
            node = hb_add_scalar(l, value, strlen(value));
        }
        hb_set_key(l, mapping, hb_overrides[i].key, node);
        l->override_node[l->num_overrides] = node;
        l->override_env[l->num_overrides++] = hb_overrides[i].env;
    }
}

const char *hb_config_env_help(void)
{
    static char text[1024]; /* made once from the table, so the two never disagree */
    if (text[0] == '\0') {
        size_t n = 0;
        for (size_t i = 0; i < HB_ARRAY_SIZE(hb_overrides) && n < sizeof(text); i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "%s%s%s", i > 0 ? ", " : "", hb_overrides[i].env,
                                  hb_overrides[i].list ? " (comma-separated)" : "");
    }
    return text;
}

/* ---- top level ---- */

typedef struct hb_top_ctx {
    hb_config_t *cfg;
    yaml_node_t *endpoints;
    yaml_node_t *topic_node;
    yaml_node_t *durability_node;
} hb_top_ctx_t;

static int hb_top_key(hb_loader_t *l, const char *key, yaml_node_t *k, yaml_node_t *v, void *target)
{
    hb_top_ctx_t *tc = target;
    if (strcmp(key, "server") == 0) {
        hb_each_key(l, v, "server", hb_server_key, tc->cfg);
        /* every listener shares the one TLS context: with it, no listener is cleartext, and HTTP/2 over TLS (ALPN)
           is not offered */
        if (tc->cfg->server.h2c && tc->cfg->server.tls_cert_file != NULL)
            for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++)
                if (hb_node(l, p->key)->type == YAML_SCALAR_NODE &&
                    strcmp(hb_scalar_raw(hb_node(l, p->key)), "h2c") == 0)
                    hb_errorf(l, hb_node(l, p->value),
                              "server.h2c is HTTP/2 in cleartext, but server.tls makes every listener TLS, which "
                              "speaks HTTP/1.1 only; drop one of them");
    } else if (strcmp(key, "admin") == 0) {
        hb_each_key(l, v, "admin", hb_admin_key, tc->cfg);
    } else if (strcmp(key, "kafka") == 0) {
        hb_each_key(l, v, "kafka", hb_kafka_key, tc->cfg);
        if (v->type == YAML_MAPPING_NODE)
            for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++)
                if (hb_node(l, p->key)->type == YAML_SCALAR_NODE &&
                    strcmp(hb_scalar_raw(hb_node(l, p->key)), "topic") == 0)
                    tc->topic_node = hb_node(l, p->value);
    } else if (strcmp(key, "log") == 0) {
        hb_each_key(l, v, "log", hb_log_key, tc->cfg);
    } else if (strcmp(key, "redactHeaders") == 0) {
        for (size_t i = 0; i < tc->cfg->num_redact_headers; i++)
            free(tc->cfg->redact_headers[i]);
        tc->cfg->num_redact_headers = 0;
        if (v->type != YAML_SEQUENCE_NODE || v->data.sequence.items.top != v->data.sequence.items.start)
            hb_get_str_list(l, v, "redactHeaders", &tc->cfg->redact_headers, &tc->cfg->num_redact_headers);
        /* [] is allowed: the headers travel on as they came */
        tc->cfg->redact_set = 1;
    } else if (strcmp(key, "watch") == 0) {
        hb_get_bool(l, v, "watch", &tc->cfg->watch);
    } else if (strcmp(key, "durability") == 0) {
        tc->cfg->durability_spool = hb_get_durability(l, v, "durability") == 1;
        tc->durability_node = v;
    } else if (strcmp(key, "spool") == 0) {
        hb_each_key(l, v, "spool", hb_spool_key, tc->cfg);
    } else if (strcmp(key, "endpoints") == 0) {
        tc->endpoints = v;
    } else {
        hb_unknown_key(l, k, key,
                       "the configuration (expected server, admin, kafka, log, watch, redactHeaders, durability, "
                       "spool, endpoints)");
    }
    return 0;
}

hb_config_t *hb_config_parse(const char *name, const char *text, size_t len, const hb_config_env_t *env,
                             hb_buf_t *errors)
{
    hb_loader_t l = {.name = name, .env = env, .errors = errors};
    hb_config_t *cfg = hb_xcalloc(1, sizeof(*cfg));
    l.cfg = cfg;
    cfg->files = hb_xcalloc(1, sizeof(char *));
    cfg->files[cfg->num_files++] = hb_xstrdup(name);
    cfg->server.drain_delay_ms = UINT64_MAX; /* unset: the default below */
    cfg->log.level = 1;                      /* info */
    cfg->log.sample_rate = 0.01;
    cfg->path = hb_xstrdup(name);
    yaml_parser_t parser;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &l.doc)) {
        hb_buf_printf(errors, "%s:%u:%u: %s%s%s\n", name, (unsigned)parser.problem_mark.line + 1,
                      (unsigned)parser.problem_mark.column + 1, parser.problem ? parser.problem : "invalid YAML",
                      parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        hb_config_free(cfg);
        return NULL;
    }
    yaml_parser_delete(&parser);

    hb_apply_overrides(&l);
    yaml_node_t *root = yaml_document_get_root_node(&l.doc);
    hb_top_ctx_t tc = {cfg, NULL, NULL, NULL};
    if (root == NULL) {
        hb_buf_printf(errors, "%s:1:1: the configuration is empty\n", name);
        l.nerrors++;
    } else if (hb_each_key(&l, root, "the configuration", hb_top_key, &tc) == 0) {
        if (tc.endpoints != NULL)
            hb_parse_endpoints(&l, tc.endpoints, cfg);
        else
            hb_errorf(&l, root, "endpoints is missing: the configuration needs at least one endpoint");
    }

    /* defaults */
    if (cfg->server.num_listen == 0 && l.nerrors == 0) {
        cfg->server.listen = hb_xcalloc(1, sizeof(hb_listen_t));
        cfg->server.listen[0].host = hb_xstrdup("0.0.0.0");
        cfg->server.listen[0].port = hb_xstrdup("8080");
        cfg->server.num_listen = 1;
    }
    if (cfg->server.max_body_size == 0)
        cfg->server.max_body_size = HB_DEFAULT_MAX_BODY;
    if (cfg->server.shutdown_timeout_ms == 0)
        cfg->server.shutdown_timeout_ms = HB_DEFAULT_SHUTDOWN_TIMEOUT_MS;
    if (cfg->server.drain_delay_ms == UINT64_MAX)
        cfg->server.drain_delay_ms = HB_DEFAULT_DRAIN_DELAY_MS;
    if (cfg->server.request_timeout_ms == 0)
        cfg->server.request_timeout_ms = HB_DEFAULT_REQUEST_TIMEOUT_MS;
    if (cfg->kafka.brokers == NULL || *cfg->kafka.brokers == '\0') {
        free(cfg->kafka.brokers);
        cfg->kafka.brokers = hb_xstrdup("embedded");
    }
    if (cfg->kafka.topic_template == NULL)
        cfg->kafka.topic_template = hb_xstrdup("webhooks.{id}");
    if (cfg->kafka.delivery_timeout_ms == 0)
        cfg->kafka.delivery_timeout_ms = HB_DEFAULT_DELIVERY_TIMEOUT_MS;
    if (!cfg->redact_set) { /* the credentials a proxy or a sender may put in a request */
        static const char *const credentials[] = {"authorization", "cookie", "proxy-authorization"};
        cfg->redact_headers = hb_xcalloc(HB_ARRAY_SIZE(credentials), sizeof(char *));
        for (size_t i = 0; i < HB_ARRAY_SIZE(credentials); i++)
            cfg->redact_headers[cfg->num_redact_headers++] = hb_xstrdup(credentials[i]);
    }
    for (size_t i = 0; i < cfg->num_redact_headers; i++)
        for (char *c = cfg->redact_headers[i]; *c != '\0'; c++)
            *c = (char)tolower((unsigned char)*c);
    if (cfg->kafka.readiness_window_ms == 0)
        cfg->kafka.readiness_window_ms = 30000;
    if (cfg->kafka.spool_after_ms == 0)
        cfg->kafka.spool_after_ms = HB_DEFAULT_SPOOL_AFTER_MS;
    if (cfg->spool.max_bytes == 0)
        cfg->spool.max_bytes = HB_DEFAULT_SPOOL_MAX_BYTES;
    const hb_endpoint_config_t *spooler = NULL; /* the first endpoint that spools */
    for (size_t i = 0; i < cfg->num_endpoints; i++) {
        if (!cfg->endpoints[i].spool_set)
            cfg->endpoints[i].spool = cfg->durability_spool;
        if (spooler == NULL && cfg->endpoints[i].spool)
            spooler = &cfg->endpoints[i];
    }
    if (spooler != NULL && l.nerrors == 0) {
        /* said where the spooling was asked for: the top-level key, or the endpoint's */
        char where[160];
        if (spooler->spool_set)
            snprintf(where, sizeof(where), "endpoint \"%s\" has durability: spool", spooler->id);
        else
            snprintf(where, sizeof(where), "durability: spool");
        if (cfg->spool.path == NULL || cfg->kafka.spool_after_ms >= cfg->kafka.delivery_timeout_ms) {
            hb_buf_t msg;
            hb_buf_init(&msg);
            if (cfg->spool.path == NULL)
                hb_buf_printf(&msg, "%s, which needs spool.path (the directory that holds the spool)", where);
            else
                hb_buf_printf(&msg,
                              "%s, and kafka.spoolAfter (%llu ms) must then be shorter than "
                              "kafka.deliveryTimeout (%llu ms)",
                              where, (unsigned long long)cfg->kafka.spool_after_ms,
                              (unsigned long long)cfg->kafka.delivery_timeout_ms);
            if (spooler->spool_set || tc.durability_node == NULL)
                hb_errorf_line(&l, spooler->line, "%s", msg.base);
            else
                hb_errorf(&l, tc.durability_node, "%s", msg.base);
            hb_buf_dispose(&msg);
        }
    }

    for (size_t i = 0; i < cfg->num_endpoints; i++) {
        hb_endpoint_config_t *ep = &cfg->endpoints[i];
        if (ep->max_body_size == 0)
            ep->max_body_size = cfg->server.max_body_size;
        if (ep->id == NULL || !hb_endpoint_id_valid(ep->id))
            continue; /* already reported */
        ep->topic = hb_render_topic(cfg->kafka.topic_template, ep->id);
        const hb_preset_info_t *preset = ep->verify.provider != NULL ? hb_preset_find(ep->verify.provider) : NULL;
        if (preset != NULL && ep->event_id_header == NULL && preset->id_header != NULL)
            ep->event_id_header = hb_xstrdup(preset->id_header); /* the provider's delivery id: retries keep it */
        if (!ep->dedupe_set && ep->event_id_header != NULL) {    /* retries keep their id: catch them by default */
            ep->dedupe_size = HB_DEFAULT_DEDUPE_SIZE;
            ep->dedupe_max_age_ms = HB_DEFAULT_DEDUPE_AGE_MS;
        }
        if (preset != NULL && (preset->needs & HB_PRESET_PUBLIC_URL)) {
            if (cfg->server.public_url == NULL)
                hb_errorf_line(&l, ep->line,
                               "endpoint \"%s\": verify.provider %s signs the public URL: set server.publicUrl", ep->id,
                               ep->verify.provider);
            else
                ep->verify.public_url = hb_xstrdup(cfg->server.public_url);
        }
        for (size_t t = 0; t < ep->num_triggers; t++)
            if (ep->triggers[t].topic == NULL)
                ep->triggers[t].topic = hb_xstrdup(ep->topic);
        if (!hb_topic_name_valid(ep->topic))
            hb_errorf(&l, tc.topic_node,
                      "kafka.topic gives \"%s\" for endpoint \"%s\", which is not a valid Kafka "
                      "topic name (1 to 249 of A-Z a-z 0-9 . _ -)",
                      ep->topic, ep->id);
    }

    yaml_document_delete(&l.doc);
    if (l.nerrors != 0) {
        hb_config_free(cfg);
        return NULL;
    }
    return cfg;
}

hb_config_t *hb_config_load(const char *path, hb_buf_t *errors)
{
    size_t len;
    char *text = hb_config_env_system.read_file(NULL, path, &len);
    if (text == NULL) {
        hb_buf_printf(errors, "%s:1:1: cannot read the configuration: %s\n", path, strerror(errno));
        return NULL;
    }
    hb_config_t *cfg = hb_config_parse(path, text, len, &hb_config_env_system, errors);
    free(text);
    return cfg;
}

void hb_config_free(hb_config_t *cfg)
{
    if (cfg == NULL)
        return;
    free(cfg->path);
    for (size_t i = 0; i < cfg->num_redact_headers; i++)
        free(cfg->redact_headers[i]);
    free(cfg->redact_headers);
    for (size_t i = 0; i < cfg->num_files; i++)
        free(cfg->files[i]);
    free(cfg->files);
    for (size_t i = 0; i < cfg->server.num_listen; i++) {
        free(cfg->server.listen[i].host);
        free(cfg->server.listen[i].port);
    }
    free(cfg->server.listen);
    free(cfg->server.public_url);
    free(cfg->server.tls_cert_file);
    free(cfg->server.tls_key_file);
    free(cfg->admin.listen.host);
    free(cfg->admin.listen.port);
    free(cfg->kafka.brokers);
    free(cfg->spool.path);
    free(cfg->kafka.topic_template);
    for (size_t i = 0; i < cfg->kafka.num_producer; i++) {
        free(cfg->kafka.producer[i].key);
        free(cfg->kafka.producer[i].value);
    }
    free(cfg->kafka.producer);
    for (size_t i = 0; i < cfg->num_endpoints; i++) {
        hb_endpoint_config_t *ep = &cfg->endpoints[i];
        free(ep->id);
        free(ep->source);
        free(ep->icon);
        free(ep->title);
        free(ep->event_id_header);
        free(ep->topic);
        hb_verify_config_t *vf = &ep->verify;
        free(vf->provider);
        free(vf->header_name);
        for (size_t j = 0; j < vf->num_secrets; j++) {
            OPENSSL_cleanse(vf->secrets[j].data, vf->secrets[j].len);
            free(vf->secrets[j].data);
        }
        free(vf->secrets);
        for (size_t j = 0; j < vf->num_public_keys; j++)
            free(vf->public_keys[j]);
        free(vf->public_keys);
        free(vf->verify_token);
        free(vf->public_url);
        free(vf->plugin);
        free(vf->plugin_symbol);
        free(vf->plugin_config);
        for (size_t j = 0; j < ep->num_examples; j++) {
            free(ep->examples[j].id);
            free(ep->examples[j].name);
            free(ep->examples[j].payload_json);
        }
        free(ep->examples);
        hb_respond_free(ep->respond_with);
        hb_template_free(ep->partition_key);
        for (size_t j = 0; j < ep->num_triggers; j++) {
            free(ep->triggers[j].name);
            hb_reqfilter_free(ep->triggers[j].filter);
            hb_template_free(ep->triggers[j].partition_key);
            free(ep->triggers[j].topic);
        }
        free(ep->triggers);
    }
    free(cfg->endpoints);
    free(cfg);
}

size_t hb_config_restart_changes(const hb_config_t *old, const hb_config_t *neu, hb_buf_t *out)
{
    const char *changed = NULL;
    if (strcmp(old->kafka.brokers, neu->kafka.brokers) != 0)
        changed = "kafka.brokers";
    else if (old->kafka.num_producer != neu->kafka.num_producer ||
             old->kafka.delivery_timeout_ms != neu->kafka.delivery_timeout_ms ||
             old->kafka.format_json != neu->kafka.format_json)
        changed = "kafka.producer, kafka.deliveryTimeout or kafka.format";
    else if (old->server.num_listen != neu->server.num_listen || old->server.threads != neu->server.threads ||
             old->server.request_timeout_ms != neu->server.request_timeout_ms || old->server.h2c != neu->server.h2c ||
             (old->server.tls_cert_file == NULL) != (neu->server.tls_cert_file == NULL) ||
             (old->admin.listen.host == NULL) != (neu->admin.listen.host == NULL))
        changed = "server.listen, server.threads, server.requestTimeout, server.h2c, server.tls or admin.listen";
    if (changed != NULL)
        hb_buf_puts(out, changed);
    return changed != NULL;
}

const hb_endpoint_config_t *hb_config_find_endpoint(const hb_config_t *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->num_endpoints; i++)
        if (strcmp(cfg->endpoints[i].id, id) == 0)
            return &cfg->endpoints[i];
    return NULL;
}

/* ---- value syntaxes ---- */

int hb_parse_size(const char *s, size_t *out)
{
    static const struct {
        const char *unit;
        uint64_t mult;
    } units[] = {{"", 1},          {"B", 1},           {"KB", 1000},     {"KiB", 1024}, {"MB", 1000000},
                 {"MiB", 1 << 20}, {"GB", 1000000000}, {"GiB", 1 << 30}, {"k", 1000},   {"K", 1024}};
    const char *p = s;
    uint64_t n = 0;
    if (!isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p)) {
        if (n > UINT64_MAX / 10 - 10)
            return -1;
        n = n * 10 + (uint64_t)(*p++ - '0');
    }
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < HB_ARRAY_SIZE(units); i++) {
        if (strcmp(p, units[i].unit) == 0) {
            if (n > SIZE_MAX / units[i].mult)
                return -1;
            *out = (size_t)(n * units[i].mult);
            return 0;
        }
    }
    return -1;
}

int hb_parse_duration(const char *s, uint64_t *out_ms)
{
    static const struct {
        const char *unit;
        uint64_t ms;
    } units[] = {{"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
    const char *p = s;
    uint64_t n = 0;
    if (!isdigit((unsigned char)*p))
        return -1;
    while (isdigit((unsigned char)*p)) {
        if (n > UINT32_MAX)
            return -1;
        n = n * 10 + (uint64_t)(*p++ - '0');
    }
    for (size_t i = 0; i < HB_ARRAY_SIZE(units); i++) {
        if (strcmp(p, units[i].unit) == 0) {
            *out_ms = n * units[i].ms;
            return 0;
        }
    }
    return -1;
}

int hb_parse_listen(const char *s, hb_listen_t *out, char *err, size_t errlen)
{
    const char *port;
    char *host;
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':') {
            snprintf(err, errlen, "\"%s\" is not [address]:port", s);
            return -1;
        }
        host = hb_xstrndup(s + 1, (size_t)(end - s - 1));
        port = end + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon != NULL && strchr(s, ':') != colon) {
            snprintf(err, errlen, "\"%s\": write an IPv6 address as [address]:port", s);
            return -1;
        }
        host = colon != NULL ? hb_xstrndup(s, (size_t)(colon - s)) : hb_xstrdup("");
        port = colon != NULL ? colon + 1 : s;
    }
    char *end;
    long n = strtol(port, &end, 10);
    if (*port < '0' || *port > '9' || *end != '\0' || n < 0 || n > 65535) {
        snprintf(err, errlen, "\"%s\" has no valid port (0 to 65535)", s);
        free(host);
        return -1;
    }
    out->host = host;
    out->port = hb_xstrdup(port);
    return 0;
}

int hb_topic_name_valid(const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len > 249 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return 0;
    for (const char *p = s; *p != '\0'; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}
