/*
 * tests/unit/plugin_badabi.c: a plugin module that test_plugin loads to exercise hb_plugin_load()'s refusals and
 * hb_plugin_verify()'s edge cases. Each exported verifier is wrong (or odd) in one way.
 */
#include <stddef.h>

#include "hookbridge_plugin.h"

static int badabi_verify(void *state, const hookbridge_request_t *req, const char **reason)
{
    (void)state;
    (void)req;
    return 0;
}

/* Refuses everything without giving a reason: hookbridge must supply one. */
static int silent_verify(void *state, const hookbridge_request_t *req, const char **reason)
{
    (void)state;
    (void)req;
    return 7;
}

/* Fails without writing to err. */
static void *mute_create(const char *config_json, char *err, size_t errlen)
{
    (void)config_json;
    (void)err;
    (void)errlen;
    return NULL;
}

/* Built against a future ABI. */
HOOKBRIDGE_PLUGIN_EXPORT const hookbridge_verifier_t hookbridge_badabi = {
    .abi = 2,
    .name = "badabi",
    .verify = badabi_verify,
};

HOOKBRIDGE_PLUGIN_EXPORT const hookbridge_verifier_t hookbridge_noverify = {
    .abi = HOOKBRIDGE_PLUGIN_ABI,
    .name = "noverify",
};

HOOKBRIDGE_PLUGIN_EXPORT const hookbridge_verifier_t hookbridge_noname = {
    .abi = HOOKBRIDGE_PLUGIN_ABI,
    .verify = badabi_verify,
};

HOOKBRIDGE_PLUGIN_EXPORT const hookbridge_verifier_t hookbridge_mutecreate = {
    .abi = HOOKBRIDGE_PLUGIN_ABI,
    .name = "mutecreate",
    .create = mute_create,
    .verify = badabi_verify,
};

/* No create/destroy at all: valid, verify gets a NULL state. */
HOOKBRIDGE_PLUGIN_EXPORT const hookbridge_verifier_t hookbridge_silent = {
    .abi = HOOKBRIDGE_PLUGIN_ABI,
    .name = "silent",
    .verify = silent_verify,
};
