/*
 * bridge/core/config_internal.h: the configuration as one table. Every key is one row (hb_key_t) of the section it
 * belongs to (hb_section_t): its name, its type, where it is stored, its default, its range or words, whether a
 * HOOKBRIDGE_* variable may set it, whether a reload can change it, and its one-line description. The parser, the
 * "expected ..." and "must be ..." messages, --help's variables, the reload's restart-only warning and
 * `hookbridge config-keys --json` all come from the rows. Private to bridge/core/config*.c.
 *
 *   config.c       the public API: parse, load, free; what is checked across sections; value syntaxes
 *   config_load.c  the machinery: errors, scalars, a section parsed by its rows, defaults, overrides, key listings
 *   config_keys.c  the rows, and the handlers of the keys whose values have a shape of their own
 */
#ifndef HB_CONFIG_INTERNAL_H
#define HB_CONFIG_INTERNAL_H

#include <msgpack.h>
#include <stddef.h>
#include <yaml.h>

#include "config.h"

#define HB_MAX_OVERRIDES 32

/** One parse of one file. */
typedef struct hb_loader {
    const char *name;
    yaml_document_t doc;
    const hb_config_env_t *env;
    hb_buf_t *errors;
    int nerrors;
    hb_config_t *cfg;                    /* being filled */
    int override_node[HB_MAX_OVERRIDES]; /* YAML nodes made from HOOKBRIDGE_* variables, and their names */
    char *override_env[HB_MAX_OVERRIDES];
    int num_overrides;
    yaml_node_t *topic_node, *durability_node; /* kafka.topic and the top-level durability, for later messages */
} hb_loader_t;

typedef enum hb_ktype {
    HB_KT_STR,      /* char *, after ${} expansion (lower-cased with HB_KF_LOWER) */
    HB_KT_BOOL,     /* int: true or false */
    HB_KT_SIZE,     /* size_t above 0: 1MiB, 512KiB, 65536 */
    HB_KT_DURATION, /* uint64_t ms above 0 (0 too with HB_KF_ZERO): 8s, 500ms, 1m */
    HB_KT_WORD,     /* an int (or enum): the index of one of .words */
    HB_KT_INT,      /* an integer of .size bytes: digits from .min to .max, or one of .words (stored as its index) */
    HB_KT_NUMBER,   /* double from .min to .max */
    HB_KT_LISTEN,   /* hb_listen_t: host:port */
    HB_KT_LISTENS,  /* hb_listen_t * and its count (HB_LIST): one address or a list of them */
    HB_KT_STRS,     /* char ** and its count (HB_LIST): a list of strings (empty too with HB_KF_ZERO) */
    HB_KT_SECTION,  /* a mapping of .section's keys, filling the struct at .offset (0: the same struct) */
    HB_KT_CUSTOM,   /* .parse reads it (a shape of its own: a list of sections, a filter, a template) */
    HB_KT_LATER,    /* only noted: the section's check reads it with the keys it goes with (secret or secrets...) */
} hb_ktype_t;

enum {
    HB_KF_ENV = 1,     /* HOOKBRIDGE_<PATH> may set it (keys outside endpoints); a list's value is comma-separated */
    HB_KF_RESTART = 2, /* a reload does not change it: the running process keeps what it started with */
    HB_KF_ZERO = 4,    /* HB_KT_DURATION: 0 is allowed; HB_KT_STRS: [] is */
    HB_KF_LOWER = 8,   /* HB_KT_STR, HB_KT_STRS: lower-cased (header names) */
    HB_KF_ITEMS = 16,  /* HB_KT_CUSTOM with .section: a list of such mappings (endpoints, triggers, examples) */
};

typedef struct hb_key hb_key_t;
typedef struct hb_section hb_section_t;

/** Reads value into base (the struct the section fills); errors are reported on l, naming the key what. */
typedef void (*hb_key_parse_fn)(hb_loader_t *l, const hb_key_t *key, const char *what, yaml_node_t *value, void *base);
/** After a section's keys: checks across them. seen[i] is the value node of key i, NULL when absent. */
typedef void (*hb_section_check_fn)(hb_loader_t *l, yaml_node_t *node, void *base, yaml_node_t *const *seen);
/** 1 when the key's value is the same in both structs (restart-only HB_KT_CUSTOM keys). */
typedef int (*hb_key_same_fn)(const hb_key_t *key, const void *a, const void *b);
/** Frees what the key holds in base (HB_KT_CUSTOM, HB_KT_LATER). */
typedef void (*hb_key_dispose_fn)(const hb_key_t *key, void *base);

struct hb_key {
    const char *name;
    hb_ktype_t type;
    unsigned flags;      /* HB_KF_* */
    size_t offset, size; /* where the value goes in the section's struct (HB_FIELD; HB_LIST: size is the count's) */
    const char *dflt;    /* the default, written as a user would write it ("1MiB"); NULL: none */
    double min, max;     /* HB_KT_INT, HB_KT_NUMBER */
    const char *const *words;    /* HB_KT_WORD, HB_KT_INT: NULL-terminated */
    const char *expect;          /* what the "must be ..." message says instead of the generated text */
    const hb_section_t *section; /* HB_KT_SECTION, and HB_KT_CUSTOM keys that read a mapping or a list of them */
    hb_key_parse_fn parse;       /* HB_KT_CUSTOM; HB_KT_SECTION: reads what else than a mapping it may be */
    hb_key_same_fn same;         /* HB_KT_CUSTOM with HB_KF_RESTART */
    hb_key_dispose_fn dispose;
    const char *type_name; /* HB_KT_CUSTOM, HB_KT_LATER: what config-keys says it is ("filter", "list of ...") */
    const char *help;      /* one line, for config-keys and the docs */
};

struct hb_section {
    const char *label;  /* what its keys' messages put before their names: "server.", "", "verify." */
    const char *what;   /* the mapping in messages: "server", "an endpoint", "verify" */
    const char *expect; /* what "must be a mapping, not ..." says instead of "a mapping" (NULL: that) */
    const hb_key_t *keys;
    size_t num_keys;
    hb_section_check_fn check;
    void (*free_extra)(void *base); /* frees the fields of base no key holds alone (a rendered topic) */
};

#define HB_FIELD(type, member) .offset = offsetof(type, member), .size = sizeof(((type *)0)->member)
#define HB_LIST(type, member, count) .offset = offsetof(type, member), .size = offsetof(type, count)
#define HB_NO_FIELD .offset = 0, .size = 0

/** The top level (config_keys.c). */
extern const hb_section_t hb_config_top;
/** `deduplicate`'s keys: the defaults an endpoint gets when its sender's event id turns it on (config_keys.c). */
extern const hb_section_t hb_config_dedupe;
/** 1 when id is a valid endpoint id (config.c). */
int hb_endpoint_id_valid(const char *id);
/** kafka.topic and a trigger's topic with {id} replaced (config.c). */
char *hb_render_topic(const char *tmpl, const char *id);

/* ---- errors (config_load.c) ---- */

/** An error at node's place ("name:line:col: message"), or naming the HOOKBRIDGE_* variable that gave the value. */
void hb_errorf(hb_loader_t *l, const yaml_node_t *node, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/** An error at a line (the place of something whose node is gone, such as an endpoint), column 1. */
void hb_errorf_line(hb_loader_t *l, unsigned line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- nodes and scalars (config_load.c) ---- */

yaml_node_t *hb_node(hb_loader_t *l, int index);
const char *hb_scalar_raw(const yaml_node_t *node);
/** "a mapping", "a list", "null" or "a scalar". */
const char *hb_node_kind(const yaml_node_t *node);
/** The string value of a scalar after ${} expansion (malloc'd); NULL (error reported) when node is not a scalar. */
char *hb_get_str(hb_loader_t *l, const yaml_node_t *node, const char *what);
/** true or false into *out; -1 after an error. */
int hb_get_bool(hb_loader_t *l, const yaml_node_t *node, const char *what, int *out);
/** A list of strings appended to *out (*n of them); an empty list is reported unless allow_empty. */
void hb_get_str_list(hb_loader_t *l, yaml_node_t *node, const char *what, int allow_empty, char ***out, size_t *n);
/** The YAML node as msgpack into sb, unpacked into up (strings point into sb): destroy up, then sb. */
const msgpack_object *hb_yaml_object(hb_loader_t *l, yaml_node_t *node, msgpack_sbuffer *sb, msgpack_unpacked *up);
/** The YAML node as compact JSON (malloc'd). */
char *hb_yaml_json(hb_loader_t *l, yaml_node_t *node);
/** The YAML node that obj came from, packed by hb_yaml_object(); NULL when not found. */
yaml_node_t *hb_yaml_node_of(hb_loader_t *l, yaml_node_t *node, const msgpack_object *packed, const msgpack_object *obj,
                             int depth);

/* ---- sections (config_load.c) ---- */

/** The defaults of section's keys into base, and of the sections it embeds. */
void hb_section_defaults(const hb_section_t *section, void *base);
/**
 * Reads a mapping node of section's keys into base: each key by its row, an unknown or repeated key reported with
 * the list of the section's keys, then the section's check. -1 when node is not a mapping (reported).
 */
int hb_section_parse(hb_loader_t *l, const hb_section_t *section, yaml_node_t *node, void *base);
/** The most keys a section may have: the size of a seen[] array. */
#define HB_MAX_SECTION_KEYS 24
/** hb_section_parse() that also gives the caller seen[] (HB_MAX_SECTION_KEYS of them): the value node of each key. */
int hb_section_parse_seen(hb_loader_t *l, const hb_section_t *section, yaml_node_t *node, void *base,
                          yaml_node_t **seen);
/** The index of the key named name in section (for seen[]); aborts when there is none (a programming error). */
size_t hb_key_index(const hb_section_t *section, const char *name);
/** Frees what the rows of section (and the sections it embeds) hold in base. */
void hb_section_free(const hb_section_t *section, void *base);

/* ---- environment overrides (config_load.c) ---- */

/** Every HOOKBRIDGE_* variable that is set replaces (or adds) its key in the document, before validation. */
void hb_apply_overrides(hb_loader_t *l);

#endif
