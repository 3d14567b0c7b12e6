/* bridge/core/plugin.h: verification plugins (bridge/hookbridge_plugin.h) loaded with dlopen at start. */
#ifndef HB_PLUGIN_H
#define HB_PLUGIN_H

#include <stddef.h>

#include "hookbridge_plugin.h"
#include "request.h"

typedef struct hb_plugin hb_plugin_t;

/**
 * Loads the shared object at path (used as given: a path without '/' is taken relative to the working directory,
 * never searched for in the library path), finds the hookbridge_verifier_t exported as symbol, checks its ABI and
 * calls its create() with config_json (NULL means "{}"). NULL on error, reason in err: the file is missing or not a
 * shared object (dlerror's text), the symbol is missing, the ABI differs, a required member is NULL, or create()'s
 * own error. On success the caller owns the plugin: hb_plugin_free() it. Setup thread.
 */
hb_plugin_t *hb_plugin_load(const char *path, const char *symbol, const char *config_json, char *err, size_t errlen);
/** Calls the plugin's destroy() and dlclose()s it. Accepts NULL. No verify may be running. */
void hb_plugin_free(hb_plugin_t *p);
/**
 * Passes req to the plugin. 0 when verified (*reason is then ""); -1 when refused, *reason set to the plugin's text
 * (static or plugin-owned, valid until hb_plugin_free()), or to "Rejected by plugin" when it gave none. Any thread.
 */
int hb_plugin_verify(const hb_plugin_t *p, const hookbridge_request_t *req, const char **reason);
/** "plugin:<name>", the value of the envelope's `verified` field. Borrowed, valid until hb_plugin_free(). */
const char *hb_plugin_name(const hb_plugin_t *p);
/**
 * Fills out as a view of req (no copy: it borrows req's pointers, headers included, and lives no longer than req).
 * The url is req's path, query included. Any thread.
 */
void hb_plugin_request_init(hookbridge_request_t *out, const hb_request_t *req);

#endif
