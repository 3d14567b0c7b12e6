#include "plugin.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "util.h"

/*
 * hb_plugin_request_init() hands our own header array to the plugin instead of copying it per request: the two
 * structs are declared alike, and these assertions keep them so.
 */
_Static_assert(sizeof(hb_header_t) == sizeof(hookbridge_header_t), "header layouts differ");
_Static_assert(offsetof(hb_header_t, name) == offsetof(hookbridge_header_t, name), "header layouts differ");
_Static_assert(offsetof(hb_header_t, name_len) == offsetof(hookbridge_header_t, name_len), "header layouts differ");
_Static_assert(offsetof(hb_header_t, value) == offsetof(hookbridge_header_t, value), "header layouts differ");
_Static_assert(offsetof(hb_header_t, value_len) == offsetof(hookbridge_header_t, value_len), "header layouts differ");

struct hb_plugin {
    void *handle; /* from dlopen */
    const hookbridge_verifier_t *vt;
    void *state; /* from vt->create, NULL when it has none */
    char *name;  /* "plugin:<vt->name>" */
};

/* dlerror()'s text, or fallback when it has none. dlerror is thread-safe in glibc; we only call it at setup. */
static const char *hb_plugin_dlerror(const char *fallback)
{
    const char *e = dlerror();
    return e != NULL ? e : fallback;
}

hb_plugin_t *hb_plugin_load(const char *path, const char *symbol, const char *config_json, char *err, size_t errlen)
{
    hb_plugin_t *p = NULL;
    void *handle = NULL;
    char *file = NULL;

    if (path == NULL || path[0] == '\0' || symbol == NULL || symbol[0] == '\0') {
        snprintf(err, errlen, "plugin: both a path and a symbol are required");
        goto Exit;
    }
    /* dlopen searches the library path for a name without '/': we want the file the configuration names. */
    if (strchr(path, '/') == NULL) {
        size_t n = strlen(path);
        file = hb_xmalloc(n + 3);
        memcpy(file, "./", 2);
        memcpy(file + 2, path, n + 1);
    } else {
        file = hb_xstrdup(path);
    }
    /* dlopen's "cannot open shared object file" hides which of path and its dependencies is missing: say it first. */
    struct stat st;
    if (stat(file, &st) != 0) {
        snprintf(err, errlen, "plugin %s: %s", path, strerror(errno));
        goto Exit;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "plugin %s: not a regular file", path);
        goto Exit;
    }
    dlerror();
    if ((handle = dlopen(file, RTLD_NOW | RTLD_LOCAL)) == NULL) {
        snprintf(err, errlen, "plugin %s: %s", path, hb_plugin_dlerror("not a loadable shared object"));
        goto Exit;
    }
    dlerror();
    const hookbridge_verifier_t *vt = dlsym(handle, symbol);
    if (vt == NULL) { /* dlerror's text would only repeat the path and the symbol */
        snprintf(err, errlen, "plugin %s: no exported symbol %s", path, symbol);
        goto Exit;
    }
    if (vt->abi != HOOKBRIDGE_PLUGIN_ABI) {
        snprintf(err, errlen, "plugin %s: symbol %s: plugin ABI %lu, hookbridge speaks %d", path, symbol,
                 (unsigned long)vt->abi, HOOKBRIDGE_PLUGIN_ABI);
        goto Exit;
    }
    if (vt->verify == NULL) {
        snprintf(err, errlen, "plugin %s: symbol %s has no verify function", path, symbol);
        goto Exit;
    }
    if (vt->name == NULL || vt->name[0] == '\0') {
        snprintf(err, errlen, "plugin %s: symbol %s has no name", path, symbol);
        goto Exit;
    }

    p = hb_xcalloc(1, sizeof(*p));
    p->vt = vt;
    if (vt->create != NULL) {
        char cerr[512] = "";
        p->state = vt->create(config_json != NULL ? config_json : "{}", cerr, sizeof(cerr));
        if (p->state == NULL) {
            cerr[sizeof(cerr) - 1] = '\0'; /* the plugin's text: do not trust it to terminate */
            snprintf(err, errlen, "plugin %s (%s): %s", path, vt->name, cerr[0] != '\0' ? cerr : "create failed");
            free(p);
            p = NULL;
            goto Exit;
        }
    }
    size_t namelen = strlen(vt->name);
    p->name = hb_xmalloc(sizeof("plugin:") + namelen);
    memcpy(p->name, "plugin:", sizeof("plugin:") - 1);
    memcpy(p->name + sizeof("plugin:") - 1, vt->name, namelen + 1);
    p->handle = handle;
    handle = NULL;

Exit:
    if (handle != NULL)
        dlclose(handle);
    free(file);
    return p;
}

void hb_plugin_free(hb_plugin_t *p)
{
    if (p == NULL)
        return;
    if (p->vt->create != NULL && p->vt->destroy != NULL)
        p->vt->destroy(p->state);
    dlclose(p->handle);
    free(p->name);
    free(p);
}

int hb_plugin_verify(const hb_plugin_t *p, const hookbridge_request_t *req, const char **reason)
{
    const char *r = NULL;
    if (p->vt->verify(p->state, req, &r) == 0) {
        *reason = "";
        return 0;
    }
    *reason = r != NULL ? r : "Rejected by plugin";
    return -1;
}

const char *hb_plugin_name(const hb_plugin_t *p)
{
    return p->name;
}

void hb_plugin_request_init(hookbridge_request_t *out, const hb_request_t *req)
{
    out->method = req->method;
    out->method_len = req->method_len;
    out->url = req->path;
    out->url_len = req->path_len;
    out->headers = (const hookbridge_header_t *)(const void *)req->headers;
    out->num_headers = req->num_headers;
    out->body = req->body;
    out->body_len = req->body_len;
    out->received_at_ms = req->received_at_ms;
}
