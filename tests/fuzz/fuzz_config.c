/*
 * tests/fuzz/fuzz_config.c: hb_config_parse() on the input as YAML, with a fake environment (a few variables, a few
 * secret files), then a verifier built for every endpoint that does not load a plugin (public keys, whsec_ secrets).
 */
#include <errno.h>

#include "config.h"
#include "fuzz.h"
#include "verify.h"

/* The variables of tests/unit/test_config.c (whose YAML rows seed the corpus), and a few more. */
static const struct {
    const char *name, *value;
} fz_vars[] = {
    {"HB_SECRET", "s3cr3t"},
    {"HB_EMPTY", ""},
    {"HB_PORT", "9999"},
    {"HB_BROKERS", "kafka1:9092,kafka2:9092"},
    {"HB_DIR", "/run/secrets"},
    {"TOPIC", "hooks.{id}"},
    {"KEY", "whsec_ZnV6ei1zdml4LXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVm"},
};

static const char *fz_getenv(void *ctx, const char *name)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(fz_vars); i++)
        if (strcmp(fz_vars[i].name, name) == 0)
            return fz_vars[i].value;
    return NULL;
}

/* By the last part of the path, whatever the directory (test_config's /run/secrets/ files, and "secret"). */
static char *fz_read_file(void *ctx, const char *path, size_t *len)
{
    static const struct {
        const char *name, *data;
        size_t len;
    } files[] = {{"secret", "file-secret\n", 12}, {"lf", "file-secret\n", 12}, {"crlf", "crlf-secret\r\n", 13},
                 {"raw", "raw-secret", 10},       {"nul", "a\0b\n", 4},        {"empty", "", 0}};
    const char *base = strrchr(path, '/');
    base = base != NULL ? base + 1 : path;
    for (size_t i = 0; i < HB_ARRAY_SIZE(files); i++) {
        if (strcmp(files[i].name, base) != 0)
            continue;
        char *data = malloc(files[i].len != 0 ? files[i].len : 1); /* exactly the bytes: no NUL added */
        memcpy(data, files[i].data, files[i].len);
        *len = files[i].len;
        return data;
    }
    errno = strcmp(base, "forbidden") == 0 ? EACCES : ENOENT;
    return NULL;
}

static const hb_config_env_t fz_env = {fz_getenv, fz_read_file, NULL};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hb_buf_t errors;
    hb_buf_init(&errors);
    hb_config_t *cfg = hb_config_parse("fuzz.yaml", (const char *)data, size, &fz_env, &errors);
    FZ_CHECK(cfg != NULL || errors.len > 0, "a refused configuration says why");
    if (cfg != NULL) {
        FZ_CHECK(errors.len == 0, "an accepted configuration has no error: %s", errors.base);
        for (size_t i = 0; i < cfg->num_endpoints; i++) {
            const hb_endpoint_config_t *ep = &cfg->endpoints[i];
            FZ_CHECK(hb_config_find_endpoint(cfg, ep->id) != NULL, "endpoint %s is found by its id", ep->id);
            FZ_CHECK(hb_topic_name_valid(ep->topic), "endpoint %s has a valid topic", ep->id);
            if (ep->verify.plugin != NULL)
                continue; /* would dlopen() a path from the input */
            char err[256];
            hb_verifier_free(hb_verifier_new(&ep->verify, err, sizeof(err)));
        }
    }
    hb_config_free(cfg);
    hb_buf_dispose(&errors);
    return 0;
}
