/*
 * bridge/core/config.c: the configuration's public API (parse, load, free), what is checked across sections once
 * every key is read, and the value syntaxes (sizes, durations, addresses, topic names). The keys themselves are rows
 * of config_keys.c, read by config_load.c.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config_internal.h"
#include "scheme.h"

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

int hb_endpoint_id_valid(const char *id)
{
    if (*id == '\0' || strlen(id) > 200)
        return 0;
    for (const char *p = id; *p != '\0'; p++)
        if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

char *hb_render_topic(const char *tmpl, const char *id)
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

/* ---- across sections ---- */

/* durability: spool (top level or an endpoint's) needs spool.path, and kafka.spoolAfter below deliveryTimeout. */
static void hb_finish_spool(hb_loader_t *l, hb_config_t *cfg)
{
    const hb_endpoint_config_t *spooler = NULL; /* the first endpoint that spools */
    for (size_t i = 0; i < cfg->num_endpoints; i++) {
        if (!cfg->endpoints[i].spool_set)
            cfg->endpoints[i].spool = cfg->durability_spool;
        if (spooler == NULL && cfg->endpoints[i].spool)
            spooler = &cfg->endpoints[i];
    }
    if (spooler == NULL || l->nerrors != 0 ||
        (cfg->spool.path != NULL && cfg->kafka.spool_after_ms < cfg->kafka.delivery_timeout_ms))
        return;
    /* said where the spooling was asked for: the top-level key, or the endpoint's */
    hb_buf_t msg;
    hb_buf_init(&msg);
    if (spooler->spool_set)
        hb_buf_printf(&msg, "endpoint \"%s\" has durability: spool", spooler->id);
    else
        hb_buf_puts(&msg, "durability: spool");
    if (cfg->spool.path == NULL)
        hb_buf_puts(&msg, ", which needs spool.path (the directory that holds the spool)");
    else
        hb_buf_printf(
            &msg, ", and kafka.spoolAfter (%llu ms) must then be shorter than kafka.deliveryTimeout (%llu ms)",
            (unsigned long long)cfg->kafka.spool_after_ms, (unsigned long long)cfg->kafka.delivery_timeout_ms);
    if (spooler->spool_set || l->durability_node == NULL)
        hb_errorf_line(l, spooler->line, "%s", msg.base);
    else
        hb_errorf(l, l->durability_node, "%s", msg.base);
    hb_buf_dispose(&msg);
}

/* An endpoint's values that come from elsewhere: the top level's defaults, its topic, its preset's needs. */
static void hb_finish_endpoint(hb_loader_t *l, hb_config_t *cfg, hb_endpoint_config_t *ep)
{
    if (ep->max_body_size == 0)
        ep->max_body_size = cfg->server.max_body_size;
    if (ep->id == NULL || !hb_endpoint_id_valid(ep->id))
        return; /* already reported */
    ep->topic = hb_render_topic(cfg->kafka.topic_template, ep->id);
    const hb_scheme_t *preset = ep->verify.provider != NULL ? hb_scheme_find(ep->verify.provider) : NULL;
    if (preset != NULL && ep->event_id_header == NULL && preset->id_header != NULL)
        ep->event_id_header = hb_xstrdup(preset->id_header); /* the provider's delivery id: retries keep it */
    if (!ep->dedupe_set && ep->event_id_header != NULL)      /* retries keep their id: catch them by default */
        hb_section_defaults(&hb_config_dedupe, ep);
    if (preset != NULL && (preset->needs & HB_PRESET_PUBLIC_URL)) {
        if (cfg->server.public_url == NULL)
            hb_errorf_line(l, ep->line,
                           "endpoint \"%s\": verify.provider %s signs the public URL: set server.publicUrl", ep->id,
                           ep->verify.provider);
        else
            ep->verify.public_url = hb_xstrdup(cfg->server.public_url);
    }
    for (size_t t = 0; t < ep->num_triggers; t++)
        if (ep->triggers[t].topic == NULL)
            ep->triggers[t].topic = hb_xstrdup(ep->topic);
    if (!hb_topic_name_valid(ep->topic))
        hb_errorf(l, l->topic_node,
                  "kafka.topic gives \"%s\" for endpoint \"%s\", which is not a valid Kafka topic name (1 to 249 of "
                  "A-Z a-z 0-9 . _ -)",
                  ep->topic, ep->id);
}

/* The checks across sections once every key is read: spooling, topics, presets' headers. */
static void hb_config_finish(hb_loader_t *l, hb_config_t *cfg)
{
    hb_finish_spool(l, cfg);
    for (size_t i = 0; i < cfg->num_endpoints; i++)
        hb_finish_endpoint(l, cfg, &cfg->endpoints[i]);
}

/* ---- the API ---- */

hb_config_t *hb_config_parse(const char *name, const char *text, size_t len, const hb_config_env_t *env,
                             hb_buf_t *errors)
{
    hb_loader_t l = {.name = name, .env = env, .errors = errors};
    hb_config_t *cfg = hb_xcalloc(1, sizeof(*cfg));
    l.cfg = cfg;
    cfg->files = hb_xcalloc(1, sizeof(char *));
    cfg->files[cfg->num_files++] = hb_xstrdup(name);
    cfg->path = hb_xstrdup(name);
    hb_section_defaults(&hb_config_top, cfg);
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
    if (root == NULL) {
        hb_buf_printf(errors, "%s:1:1: the configuration is empty\n", name);
        l.nerrors++;
    } else {
        hb_section_parse(&l, &hb_config_top, root, cfg);
    }
    hb_config_finish(&l, cfg);
    yaml_document_delete(&l.doc);
    for (int i = 0; i < l.num_overrides; i++)
        free(l.override_env[i]);
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
    hb_section_free(&hb_config_top, cfg);
    free(cfg);
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
