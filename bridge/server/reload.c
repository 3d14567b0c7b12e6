/* bridge/server/reload.c: SIGHUP and `watch: true`: a new registry swapped in, the old one freed once unused. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"

void hb_attach_topics(hb_server_t *srv, hb_registry_t *reg)
{
    for (size_t i = 0; i < hb_registry_size(reg); i++) {
        hb_endpoint_t *ep = hb_registry_at(reg, i);
        ep->topic = hb_publisher_topic(srv->publisher, ep->cfg->topic);
        for (size_t t = 0; t < ep->cfg->num_triggers; t++)
            ep->trigger_topics[t] = hb_publisher_topic(srv->publisher, ep->cfg->triggers[t].topic);
    }
}

/* Frees the replaced registries that nothing can reach any more: every worker went past their reload, no holder. */
void hb_reap_retired(hb_server_t *srv, int all)
{
    pthread_mutex_lock(&srv->registry_lock);
    size_t kept = 0;
    for (size_t i = 0; i < srv->num_retired; i++) {
        struct hb_retired r = srv->retired[i];
        int passed = 1;
        for (unsigned w = 0; w < srv->num_workers && !all; w++)
            passed &= atomic_load(&srv->workers[w].done) || atomic_load(&srv->workers[w].reload_seen) >= r.epoch;
        if (all || (passed && hb_registry_holders(r.reg) == 0))
            hb_registry_free(r.reg);
        else
            srv->retired[kept++] = r;
    }
    srv->num_retired = kept;
    pthread_mutex_unlock(&srv->registry_lock);
}

/* What a reload cannot change (the configuration table's restart-only keys): it is logged, and the rest applies. */
static void hb_warn_restart_only(const hb_config_t *old, const hb_config_t *neu, size_t max_body)
{
    hb_buf_t changed;
    hb_buf_init(&changed);
    if (hb_config_restart_changes(old, neu, &changed) > 0)
        hb_log(HB_LOG_WARN, "reload: this change takes a restart; the rest applies", "keys", changed.base, HB_LOG_END);
    hb_buf_dispose(&changed);
    for (size_t i = 0; i < neu->num_endpoints; i++)
        if (neu->endpoints[i].max_body_size > max_body)
            hb_log(HB_LOG_WARN, "reload: maxBodySize above the one the process started with takes a restart",
                   "endpoint", neu->endpoints[i].id, HB_LOG_END);
}

/* The new configuration's registry (keys decoded, plugins loaded), or NULL with the reason in err. */
static hb_registry_t *hb_reload_registry(hb_server_t *srv, const hb_config_t *cfg, char *err, size_t errlen)
{
    hb_registry_t *reg = hb_registry_new(cfg, err, errlen);
    for (size_t i = 0; reg != NULL && srv->spool == NULL && i < cfg->num_endpoints; i++)
        if (cfg->endpoints[i].spool) {
            snprintf(err, errlen,
                     "endpoint \"%s\" spools, and the process started without spool.path: that takes a restart",
                     cfg->endpoints[i].id);
            hb_registry_free(reg);
            reg = NULL;
        }
    return reg;
}

/*
 * SIGHUP: reads the configuration (and its secret files) again. A configuration that does not validate, or whose
 * keys or plugins do not load, is refused and logged; the old one keeps serving. Otherwise the new endpoints take
 * over at once, and requests in flight finish with the endpoints they started with.
 */
void hb_reload(hb_server_t *srv)
{
    hb_buf_t errors;
    hb_buf_init(&errors);
    hb_config_t *cfg = hb_config_load(srv->cfg->path, &errors);
    char err[512];
    hb_registry_t *reg = cfg != NULL ? hb_reload_registry(srv, cfg, err, sizeof(err)) : NULL;
    if (reg == NULL || srv->num_retired == HB_ARRAY_SIZE(srv->retired)) {
        hb_log(HB_LOG_ERROR, "reload refused; the running configuration stays", "detail",
               cfg == NULL   ? errors.base
               : reg == NULL ? err
                             : "too many reloads still draining",
               HB_LOG_END);
        hb_registry_free(reg);
        if (reg == NULL)
            hb_config_free(cfg);
        hb_buf_dispose(&errors);
        return;
    }
    hb_buf_dispose(&errors);
    hb_registry_own_config(reg, cfg);
    hb_warn_restart_only(srv->cfg, cfg, srv->max_body_size);
    hb_attach_topics(srv, reg);
    hb_log_set_level((hb_log_level_t)cfg->log.level);
    pthread_mutex_lock(&srv->registry_lock);
    hb_registry_t *old = atomic_exchange(&srv->registry, reg);
    srv->retired[srv->num_retired++] = (struct hb_retired){old, ++srv->epoch};
    pthread_mutex_unlock(&srv->registry_lock);
    hb_workers_reloaded(srv, srv->epoch);
    char n[16];
    snprintf(n, sizeof(n), "%zu", cfg->num_endpoints);
    hb_log(HB_LOG_INFO, "reloaded", "endpoints", n, HB_LOG_END);
}

/*
 * A fingerprint of what the live configuration was read from (the file and its secretFiles): identity, size and
 * modification time, following symlinks, as Kubernetes swaps a mounted ConfigMap's or Secret's files.
 */
uint64_t hb_files_fingerprint(const hb_config_t *cfg)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < cfg->num_files; i++) {
        struct stat st;
        uint64_t parts[5] = {0};
        if (stat(cfg->files[i], &st) == 0) {
            parts[0] = (uint64_t)st.st_dev;
            parts[1] = (uint64_t)st.st_ino;
            parts[2] = (uint64_t)st.st_size;
            parts[3] = (uint64_t)st.st_mtim.tv_sec;
            parts[4] = (uint64_t)st.st_mtim.tv_nsec;
        }
        for (size_t k = 0; k < 5; k++)
            h = (h ^ parts[k]) * 1099511628211u;
    }
    return h;
}
