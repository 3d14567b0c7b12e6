/*
 * bridge/hookbridge_plugin.h: the stable ABI of hookbridge verification plugins. Self-contained: a plugin author
 * copies this one file and needs nothing else from hookbridge.
 *
 * A plugin is a shared object that exports one constant hookbridge_verifier_t. An endpoint uses it with
 *
 *     verify: { plugin: path/to/libmine.so, symbol: NAME, config: { ... } }
 *
 * At start hookbridge dlopen()s the file (RTLD_NOW | RTLD_LOCAL, so every symbol the plugin needs must be resolved
 * by the plugin's own dependencies), looks NAME up with dlsym(), refuses it unless abi == HOOKBRIDGE_PLUGIN_ABI,
 * and calls create() once with the endpoint's `config:`. Each request to the endpoint is then passed to verify();
 * a refused request is answered 401 with the reason and never published. destroy() is called at shutdown, after the
 * last verify() has returned, and before the file is dlclose()d.
 *
 * Example (see examples/plugins/apikey.c for a complete one):
 *
 *     static int mine_verify(void *state, const hookbridge_request_t *req, const char **reason) { ... }
 *     HOOKBRIDGE_PLUGIN_EXPORT const hookbridge_verifier_t mine = {
 *         .abi = HOOKBRIDGE_PLUGIN_ABI, .name = "mine", .create = mine_create, .verify = mine_verify,
 *         .destroy = mine_destroy,
 *     };
 *
 * Compatibility: the layout of the structs below never changes for a given HOOKBRIDGE_PLUGIN_ABI. Any change to it
 * increments HOOKBRIDGE_PLUGIN_ABI, and hookbridge refuses plugins built against another value.
 */
#ifndef HOOKBRIDGE_PLUGIN_H
#define HOOKBRIDGE_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The ABI version this header describes; a plugin puts it in hookbridge_verifier_t.abi. */
#define HOOKBRIDGE_PLUGIN_ABI 1

/** Marks the exported verifier as visible when the plugin is built with -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define HOOKBRIDGE_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define HOOKBRIDGE_PLUGIN_EXPORT
#endif

/** One request header. Names are lower-case; neither name nor value is NUL-terminated: use the lengths. */
typedef struct hookbridge_header {
    const char *name;
    size_t name_len;
    const char *value;
    size_t value_len;
} hookbridge_header_t;

/**
 * The request being verified, as received. Every pointer is borrowed and valid only during the verify() call: copy
 * what must outlive it. No string is NUL-terminated. Headers are in the order received; a header sent several times
 * appears several times.
 */
typedef struct hookbridge_request {
    const char *method; /* "POST", ... */
    size_t method_len;
    const char *url; /* path + query, as received ("/hooks/x?a=1"); no scheme or host */
    size_t url_len;
    const hookbridge_header_t *headers;
    size_t num_headers;
    const unsigned char *body; /* the raw bytes, exactly as sent (not decoded); may be NULL when body_len is 0 */
    size_t body_len;
    int64_t received_at_ms; /* unix time in ms when the request arrived, for timestamp tolerance */
} hookbridge_request_t;

/** What a plugin exports, as `const hookbridge_verifier_t NAME = {...};`. */
typedef struct hookbridge_verifier {
    /** HOOKBRIDGE_PLUGIN_ABI, as the plugin was compiled with. */
    uint32_t abi;
    /** Short, static; recorded in the envelope's `verified` field as "plugin:<name>". Required. */
    const char *name;
    /**
     * Builds the plugin's state from config_json: the endpoint's `config:` mapping as compact JSON, NUL-terminated
     * ("{}" when absent). Returns the state (non-NULL), or NULL with a NUL-terminated reason written to err (errlen
     * bytes, errlen > 0); hookbridge then refuses to start and prints the reason, so it must not contain secrets.
     * Called once per endpoint at start, on the setup thread. May be NULL when the plugin needs no state (verify()
     * then receives NULL).
     */
    void *(*create)(const char *config_json, char *err, size_t errlen);
    /**
     * Returns 0 when the request is verified. Otherwise returns non-zero and sets *reason to static or state-owned,
     * NUL-terminated text that hookbridge puts in the 401 body and the log ("Missing header x-api-key", "No key
     * matched"): no secrets in it! Called concurrently from several threads with the same state: must be thread-safe
     * (read-only state is) and must not block (no network, no disk, no locks held for long). Required.
     */
    int (*verify)(void *state, const hookbridge_request_t *req, const char **reason);
    /** Frees what create() returned. Called once at shutdown, never concurrently with verify(). May be NULL. */
    void (*destroy)(void *state);
} hookbridge_verifier_t;

/*
 * A plugin exports `const hookbridge_verifier_t NAME = {...};` (in C a const object at file scope has external
 * linkage; in C++ write `extern "C" const ...`) and the config names NAME as `symbol:`.
 */

#ifdef __cplusplus
}
#endif

#endif
