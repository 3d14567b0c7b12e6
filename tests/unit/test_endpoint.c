/* tests/unit/test_endpoint.c: the registry of endpoints, built from a parsed config, looked up by id. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "endpoint.h"
#include "tap.h"

/* Five endpoints, deliberately not in sorted order; "cal.com" is a prefix of "cal.com.eu". */
static const char yaml[] = "endpoints:\n"
                           "  - id: zeta\n"
                           "    verify: none\n"
                           "  - id: cal.com.eu\n"
                           "    verify:\n"
                           "      headerName: X-Cal-Signature-256\n"
                           "      secret: k1\n"
                           "  - id: Github\n"
                           "    verify:\n"
                           "      headerName: X-Hub-Signature\n"
                           "      secret: k2\n"
                           "      algorithm: sha1\n"
                           "  - id: cal.com\n"
                           "    verify:\n"
                           "      headerName: X-Cal-Signature-256\n"
                           "      secret: k3\n"
                           "      algorithm: sha512\n"
                           "      headerEncoding: base64\n"
                           "  - id: 0-first_x\n"
                           "    verify: none\n";

static const struct {
    const char *id;
    const char *scheme;
} config_order[] = {
    {"zeta", "none"},           {"cal.com.eu", "hmac-sha256"}, {"Github", "hmac-sha1"},
    {"cal.com", "hmac-sha512"}, {"0-first_x", "none"},
};

/* Lookups by (pointer, length): the id need not be NUL-terminated, as when it is cut out of a request path. */
static const struct {
    const char *text;
    size_t len;
    const char *found; /* NULL: not found */
} lookups[] = {
    {"zeta", 4, "zeta"},
    {"cal.com.eu", 10, "cal.com.eu"},
    {"Github", 6, "Github"},
    {"cal.com", 7, "cal.com"},
    {"0-first_x", 9, "0-first_x"},
    {"cal.com/extra", 7, "cal.com"}, /* only len bytes count */
    {"cal.com.eu", 7, "cal.com"},
    {"cal", 3, NULL}, /* a prefix of two ids */
    {"cal.com.", 8, NULL},
    {"cal.com.e", 9, NULL},
    {"cal.com.eux", 11, NULL},
    {"c", 1, NULL},
    {"zet", 3, NULL},
    {"zetaa", 5, NULL},
    {"github", 6, NULL}, /* ids are case-sensitive */
    {"ZETA", 4, NULL},
    {"0-first", 7, NULL},
    {"", 0, NULL},
    {"nope", 4, NULL},
    {"~", 1, NULL}, /* sorts after every id */
    {"!", 1, NULL}, /* sorts before every id */
};

static const char *null_getenv(void *ctx, const char *name)
{
    return NULL;
}

static char *no_files(void *ctx, const char *path, size_t *len)
{
    errno = ENOENT;
    return NULL;
}

static const hb_config_env_t env = {null_getenv, no_files, NULL};

/* Copies len bytes so that they end right before an unreadable page: a lookup that reads past len crashes. */
static const char *at_page_end(const char *s, size_t len)
{
    static char *base;
    static size_t pagesize;
    if (base == NULL) {
        pagesize = (size_t)sysconf(_SC_PAGESIZE);
        base = mmap(NULL, 2 * pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (base == MAP_FAILED || mprotect(base + pagesize, pagesize, PROT_NONE) != 0) {
            perror("mmap/mprotect");
            exit(2);
        }
    }
    return memcpy(base + pagesize - len, s, len);
}

int main(void)
{
    hb_buf_t errors;
    hb_buf_init(&errors);
    hb_config_t *cfg = hb_config_parse("cfg.yaml", yaml, sizeof(yaml) - 1, &env, &errors);
    if (!ok(cfg != NULL, "the config loads")) {
        is_str(errors.base, "", "no errors");
        return done_testing();
    }
    char err[256] = "";
    hb_registry_t *reg = hb_registry_new(cfg, err, sizeof(err));
    if (!ok(reg != NULL, "the registry builds (%s)", err))
        return done_testing();

    if (is_int(hb_registry_size(reg), HB_ARRAY_SIZE(config_order), "size")) {
        for (size_t i = 0; i < HB_ARRAY_SIZE(config_order); i++) {
            const hb_endpoint_t *ep = hb_registry_at(reg, i);
            ok(ep->cfg == &cfg->endpoints[i], "at(%zu) borrows the config's endpoint %zu", i, i);
            is_str(ep->cfg->id, config_order[i].id, "at(%zu) keeps config order", i);
            ok(ep->verifier != NULL, "at(%zu) has a verifier", i);
            is_str(ep->verifier != NULL ? hb_verifier_scheme(ep->verifier) : NULL, config_order[i].scheme,
                   "at(%zu) verifier scheme", i);
            ok(ep->topic == NULL, "at(%zu) has no publisher topic yet", i);
        }
    }

    for (size_t i = 0; i < HB_ARRAY_SIZE(lookups); i++) {
        for (int guarded = 0; guarded <= 1; guarded++) {
            const char *id = guarded ? at_page_end(lookups[i].text, lookups[i].len) : lookups[i].text;
            const hb_endpoint_t *ep = hb_registry_find(reg, id, lookups[i].len);
            const char *found = ep != NULL ? ep->cfg->id : NULL;
            is_str(found, lookups[i].found, "find(\"%.*s\", %zu)%s", (int)lookups[i].len, lookups[i].text,
                   lookups[i].len, guarded ? " at page end" : "");
            if (ep != NULL && lookups[i].found != NULL)
                ok(ep == hb_registry_at(reg, (size_t)(ep->cfg - cfg->endpoints)),
                   "find(\"%.*s\") is the same object as at()", (int)lookups[i].len, lookups[i].text);
        }
    }
    /* rejections by reason: equal texts share a slot (by content, not address), the table is bounded */
    hb_endpoint_t *ep = hb_registry_at(reg, 0);
    char copy[] = "Signature mismatch";
    hb_endpoint_count_rejection(ep, "Signature mismatch");
    hb_endpoint_count_rejection(ep, copy);
    hb_endpoint_count_rejection(ep, "Missing header X-Sig");
    char many[40][32];
    for (int i = 0; i < 40; i++) {
        snprintf(many[i], sizeof(many[i]), "reason %d", i);
        hb_endpoint_count_rejection(ep, many[i]);
    }
    is_int(atomic_load(&ep->counters.rejected), 43, "every rejection is counted in rejected");
    is_str(atomic_load(&ep->rejections[0].reason), "Signature mismatch", "the first reason has the first slot");
    is_int(atomic_load(&ep->rejections[0].count), 2, "the same text twice, from two addresses: one slot, 2");
    is_int(atomic_load(&ep->rejections[1].count), 1, "another reason: its own slot");
    is_str(atomic_load(&ep->rejections[HB_MAX_REASONS - 1].reason), HB_REASON_OTHER, "the last slot is other");
    is_int(atomic_load(&ep->rejections[HB_MAX_REASONS - 1].count), 40 - (HB_MAX_REASONS - 3),
           "reasons past the table are counted as other");
    unsigned long long sum = 0;
    for (size_t i = 0; i < HB_MAX_REASONS; i++)
        sum += atomic_load(&ep->rejections[i].count);
    is_int(sum, 43, "the reasons add up to rejected");
    /* the last requests: newest first, at most HB_RECENT, reasons copied (their text may go away) */
    hb_recent_view_t views[HB_RECENT];
    is_int(hb_endpoint_recent(ep, views), 0, "no request remembered yet");
    for (int i = 0; i < HB_RECENT + 7; i++) {
        char reason[32];
        snprintf(reason, sizeof(reason), "r%d", i);
        hb_endpoint_remember(ep, 1000 + i, i % 2 ? 401 : 200, i % 2 ? "rejected" : "published", i % 2 ? reason : NULL,
                             (uint64_t)i * 10);
        memset(reason, 'x', sizeof(reason) - 1); /* the endpoint kept its own copy */
    }
    if (is_int(hb_endpoint_recent(ep, views), HB_RECENT, "at most HB_RECENT remembered")) {
        is_int(views[0].at_ms, 1000 + HB_RECENT + 6, "newest first");
        is_int(views[HB_RECENT - 1].at_ms, 1007, "the oldest kept is the 8th");
        is_str(views[1].outcome, "rejected", "outcome");
        is_int(views[1].status, 401, "status");
        char want[16];
        snprintf(want, sizeof(want), "r%d", HB_RECENT + 5);
        is_str(views[1].reason, want, "the reason, copied");
        is_str(views[0].reason, "", "no reason: empty");
        is_int(views[1].latency_us, (HB_RECENT + 5) * 10, "latency");
    }
    hb_registry_free(reg);
    hb_registry_free(NULL);

    /* a configuration without endpoints */
    hb_config_t empty;
    memset(&empty, 0, sizeof(empty));
    reg = hb_registry_new(&empty, err, sizeof(err));
    if (ok(reg != NULL, "an empty registry builds")) {
        is_int(hb_registry_size(reg), 0, "an empty registry has size 0");
        ok(hb_registry_find(reg, "zeta", 4) == NULL, "an empty registry finds nothing");
        hb_registry_free(reg);
    }

    hb_config_free(cfg);
    hb_buf_dispose(&errors);
    return done_testing();
}
