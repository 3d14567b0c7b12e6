/*
 * bridge/core/config_load.c: the machinery of the configuration table (config_internal.h): errors at their place in
 * the file, scalars and ${} expansion, a section read by its rows, defaults, HOOKBRIDGE_* overrides, the restart-only
 * comparison, and the listings (--help's variables, `hookbridge config-keys --json`) made from the rows.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"
#include "json.h"

/* ---- errors ---- */

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

void hb_errorf(hb_loader_t *l, const yaml_node_t *node, const char *fmt, ...)
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

void hb_errorf_line(hb_loader_t *l, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hb_verrorf_at(l, line, 1, fmt, ap);
    va_end(ap);
}

/* ---- nodes and scalars ---- */

yaml_node_t *hb_node(hb_loader_t *l, int index)
{
    return yaml_document_get_node(&l->doc, index);
}

const char *hb_scalar_raw(const yaml_node_t *node)
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

const char *hb_node_kind(const yaml_node_t *node)
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

/* ${NAME} or ${NAME:-default} at s (after "${"), appended to out; the position after its "}", or NULL (reported). */
static const char *hb_expand_one(hb_loader_t *l, const yaml_node_t *node, const char *name, hb_buf_t *out)
{
    const char *end = strchr(name, '}'), *dflt = NULL;
    if (end == NULL) {
        hb_errorf(l, node, "unterminated ${ in \"%s\"", hb_scalar_raw(node));
        return NULL;
    }
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
    const char *value = valid ? l->env->getenv(l->env->ctx, var) : NULL;
    if (!valid)
        hb_errorf(l, node, "bad environment variable name \"%s\"", var);
    else if (value != NULL && (dflt == NULL || *value != '\0'))
        hb_buf_puts(out, value);
    else if (dflt != NULL)
        hb_buf_append(out, dflt, (size_t)(end - dflt));
    else
        hb_errorf(l, node, "environment variable %s is not set (write ${%s:-default} to give a default)", var, var);
    int ok = valid && (value != NULL || dflt != NULL);
    free(var);
    return ok ? end + 1 : NULL;
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
        } else if (s[0] == '$' && s[1] == '{') {
            if ((s = hb_expand_one(l, node, s + 2, &out)) == NULL) {
                hb_buf_dispose(&out);
                return NULL;
            }
        } else {
            hb_buf_putc(&out, *s++);
        }
    }
    return hb_buf_release(&out);
}

char *hb_get_str(hb_loader_t *l, const yaml_node_t *node, const char *what)
{
    if (node->type != YAML_SCALAR_NODE) {
        hb_errorf(l, node, "%s must be a string, not %s", what, hb_node_kind(node));
        return NULL;
    }
    return hb_expand(l, node, hb_scalar_raw(node));
}

int hb_get_bool(hb_loader_t *l, const yaml_node_t *node, const char *what, int *out)
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

void hb_get_str_list(hb_loader_t *l, yaml_node_t *node, const char *what, int allow_empty, char ***out, size_t *n)
{
    if (node->type != YAML_SEQUENCE_NODE) {
        hb_errorf(l, node, "%s must be a list of strings, not %s", what, hb_node_kind(node));
        return;
    }
    size_t count = (size_t)(node->data.sequence.items.top - node->data.sequence.items.start);
    if (count == 0 && !allow_empty)
        hb_errorf(l, node, "%s must not be empty", what);
    *out = hb_xrealloc(*out, (*n + count + 1) * sizeof(char *));
    for (yaml_node_item_t *i = node->data.sequence.items.start; i < node->data.sequence.items.top; i++) {
        char *s = hb_get_str(l, hb_node(l, *i), what);
        if (s != NULL)
            (*out)[(*n)++] = s;
    }
}

/* ---- YAML as msgpack and JSON (example payloads, filters, a plugin's config) ---- */

static int hb_plain_is_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (!isdigit((unsigned char)*p) || (*p == '0' && isdigit((unsigned char)p[1])))
        return 0;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p == '.') {
        if (!isdigit((unsigned char)*++p))
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

/* A scalar with YAML's core typing of plain scalars (null, booleans, numbers). */
static void hb_yaml_scalar_to_msgpack(hb_loader_t *l, yaml_node_t *node, msgpack_packer *pk)
{
    char *s = hb_expand(l, node, hb_scalar_raw(node)), *end = NULL;
    int plain = node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
    if (s == NULL || (plain && hb_is_null(node))) {
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
    default:
        hb_yaml_scalar_to_msgpack(l, node, pk);
    }
}

const msgpack_object *hb_yaml_object(hb_loader_t *l, yaml_node_t *node, msgpack_sbuffer *sb, msgpack_unpacked *up)
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

char *hb_yaml_json(hb_loader_t *l, yaml_node_t *node)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    hb_buf_t json;
    hb_buf_init(&json);
    hb_msgpack_to_json(hb_yaml_object(l, node, &sb, &up), &json);
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    return hb_buf_release(&json);
}

yaml_node_t *hb_yaml_node_of(hb_loader_t *l, yaml_node_t *node, const msgpack_object *packed, const msgpack_object *obj,
                             int depth)
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

/* ---- a key's value: parsed from text, compared, freed ---- */

static void *hb_slot(const hb_key_t *key, void *base)
{
    return (char *)base + key->offset;
}

/* HB_LIST rows: the count, at the offset in .size. */
static size_t *hb_count_slot(const hb_key_t *key, void *base)
{
    return (size_t *)(void *)((char *)base + key->size);
}

static void hb_store_int(const hb_key_t *key, void *base, long long v)
{
    if (key->size == sizeof(int)) {
        int i = (int)v;
        memcpy(hb_slot(key, base), &i, sizeof(i));
    } else if (key->size == sizeof(long long)) {
        memcpy(hb_slot(key, base), &v, sizeof(v));
    } else {
        abort(); /* a row with an integer of another size: a programming error */
    }
}

/* "a, b or c" */
static void hb_words_join(const char *const *words, const char *last_sep, hb_buf_t *out)
{
    for (size_t i = 0; words != NULL && words[i] != NULL; i++)
        hb_buf_printf(out, "%s%s", i == 0 ? "" : words[i + 1] == NULL ? last_sep : ", ", words[i]);
}

/* What the key's value must be, for "X must be ..., not ..." messages. */
static void hb_key_expect(const hb_key_t *key, hb_buf_t *out)
{
    if (key->expect != NULL) {
        hb_buf_puts(out, key->expect);
        return;
    }
    switch (key->type) {
    case HB_KT_BOOL:
        hb_buf_puts(out, "true or false");
        break;
    case HB_KT_SIZE:
        hb_buf_puts(out, "a size such as 1MiB, 512KiB or 65536");
        break;
    case HB_KT_DURATION:
        hb_buf_puts(out, "a duration such as 8s, 500ms or 1m");
        break;
    case HB_KT_WORD:
        hb_words_join(key->words, " or ", out);
        break;
    case HB_KT_INT:
        if (key->words != NULL) {
            hb_words_join(key->words, " or ", out);
            hb_buf_puts(out, " or ");
        }
        hb_buf_printf(out, "a number from %.0f to %.0f", key->min, key->max);
        break;
    case HB_KT_NUMBER:
        hb_buf_printf(out, "a number from %g to %g", key->min, key->max);
        break;
    default:
        hb_buf_puts(out, "a string");
    }
}

static int hb_word_index(const char *const *words, const char *s)
{
    for (int i = 0; words != NULL && words[i] != NULL; i++)
        if (strcmp(words[i], s) == 0)
            return i;
    return -1;
}

/* An integer of digits only, from min to max; -1 otherwise. */
static long long hb_parse_int(const char *s, double min, double max)
{
    long long n = 0;
    if (*s == '\0')
        return -1;
    for (const char *c = s; *c != '\0'; c++) {
        if (!isdigit((unsigned char)*c) || n > (long long)max)
            return -1;
        n = n * 10 + (*c - '0');
    }
    return (double)n >= min && (double)n <= max ? n : -1;
}

static void hb_lower(char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void hb_listens_free(hb_listen_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(list[i].host);
        free(list[i].port);
    }
    free(list);
}

static void hb_strs_free(char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Replaces a list's value (HB_LIST rows). */
static void hb_list_set(const hb_key_t *key, void *base, void *list, size_t n)
{
    void **slot = hb_slot(key, base);
    if (key->type == HB_KT_LISTENS)
        hb_listens_free(*slot, *hb_count_slot(key, base));
    else
        hb_strs_free(*slot, *hb_count_slot(key, base));
    *slot = list;
    *hb_count_slot(key, base) = n;
}

/* A comma-separated list of text as a list of the key's items (the defaults of list rows). */
static int hb_list_from_text(const hb_key_t *key, const char *text, void *base)
{
    size_t n = 0, cap = 1;
    for (const char *c = text; *c != '\0'; c++)
        cap += *c == ',';
    hb_listen_t *listens = key->type == HB_KT_LISTENS ? hb_xcalloc(cap, sizeof(*listens)) : NULL;
    char **strs = key->type == HB_KT_STRS ? hb_xcalloc(cap + 1, sizeof(*strs)) : NULL;
    for (const char *p = text; n < cap; n++) {
        const char *comma = strchr(p, ',');
        char *item = hb_xstrndup(p, comma != NULL ? (size_t)(comma - p) : strlen(p)), err[128];
        if (strs != NULL) {
            strs[n] = item;
        } else {
            int rc = hb_parse_listen(item, &listens[n], err, sizeof(err));
            free(item);
            if (rc != 0)
                abort(); /* a default that does not parse: a programming error */
        }
        p = comma != NULL ? comma + 1 : p + strlen(p);
    }
    hb_list_set(key, base, listens != NULL ? (void *)listens : (void *)strs, n);
    return 0;
}

/* Sets a scalar key's value in base from text (a default, or a value read from the file); -1: not a value of it. */
static int hb_value_set(const hb_key_t *key, const char *text, void *base, char *err, size_t errlen)
{
    void *slot = hb_slot(key, base);
    long long n;
    switch (key->type) {
    case HB_KT_STR: {
        char *s = hb_xstrdup(text);
        if (key->flags & HB_KF_LOWER)
            hb_lower(s);
        free(*(char **)slot);
        *(char **)slot = s;
        return 0;
    }
    case HB_KT_BOOL:
        if (strcmp(text, "true") != 0 && strcmp(text, "false") != 0)
            return -1;
        *(int *)slot = strcmp(text, "true") == 0;
        return 0;
    case HB_KT_SIZE: {
        size_t v;
        if (hb_parse_size(text, &v) != 0 || v == 0)
            return -1;
        *(size_t *)slot = v;
        return 0;
    }
    case HB_KT_DURATION: {
        uint64_t v;
        if (hb_parse_duration(text, &v) != 0 || (v == 0 && !(key->flags & HB_KF_ZERO)))
            return -1;
        *(uint64_t *)slot = v;
        return 0;
    }
    case HB_KT_WORD:
        if ((n = hb_word_index(key->words, text)) < 0)
            return -1;
        hb_store_int(key, base, n);
        return 0;
    case HB_KT_INT:
        if ((n = hb_word_index(key->words, text)) < 0 && (n = hb_parse_int(text, key->min, key->max)) < 0)
            return -1;
        hb_store_int(key, base, n);
        return 0;
    case HB_KT_NUMBER: {
        char *end;
        double v = strtod(text, &end);
        if (end == text || *end != '\0' || !(v >= key->min && v <= key->max))
            return -1;
        *(double *)slot = v;
        return 0;
    }
    case HB_KT_LISTEN: {
        hb_listen_t v;
        if (hb_parse_listen(text, &v, err, errlen) != 0)
            return -1;
        free(((hb_listen_t *)slot)->host);
        free(((hb_listen_t *)slot)->port);
        *(hb_listen_t *)slot = v;
        return 0;
    }
    case HB_KT_LISTENS:
    case HB_KT_STRS:
        return hb_list_from_text(key, text, base);
    default:
        return -1;
    }
}

/* The message name of a key: its section's label and its name ("server.maxBodySize"), into buf. */
static const char *hb_key_what(const hb_section_t *section, const hb_key_t *key, char *buf, size_t size)
{
    snprintf(buf, size, "%s%s", section->label, key->name);
    return buf;
}

/* server.listen: one address or a list of them. */
static void hb_read_listens(hb_loader_t *l, const hb_key_t *key, yaml_node_t *v, void *base, const char *what)
{
    size_t n = 1;
    yaml_node_item_t *items = NULL;
    if (v->type == YAML_SEQUENCE_NODE) {
        items = v->data.sequence.items.start;
        n = (size_t)(v->data.sequence.items.top - items);
        if (n == 0) {
            hb_errorf(l, v, "%s must name at least one address", what);
            return;
        }
    }
    hb_listen_t *list = hb_xcalloc(n, sizeof(*list));
    size_t got = 0;
    for (size_t i = 0; i < n; i++) {
        yaml_node_t *item = items != NULL ? hb_node(l, items[i]) : v;
        char *s = hb_get_str(l, item, what), err[256];
        if (s != NULL && hb_parse_listen(s, &list[got], err, sizeof(err)) == 0)
            got++;
        else if (s != NULL)
            hb_errorf(l, item, "%s: %s", what, err);
        free(s);
    }
    hb_list_set(key, base, list, got);
}

/* Reads one key's value node into base by its row. */
static void hb_key_read(hb_loader_t *l, const hb_section_t *section, const hb_key_t *key, yaml_node_t *v, void *base)
{
    char what[128], err[256];
    hb_key_what(section, key, what, sizeof(what));
    switch (key->type) {
    case HB_KT_SECTION:
        if (v->type != YAML_MAPPING_NODE && key->parse != NULL)
            key->parse(l, key, what, v, base);
        else
            hb_section_parse(l, key->section, v, hb_slot(key, base));
        return;
    case HB_KT_CUSTOM:
        key->parse(l, key, what, v, base);
        return;
    case HB_KT_LATER:
        return;
    case HB_KT_LISTENS:
        hb_read_listens(l, key, v, base, what);
        return;
    case HB_KT_STRS: {
        char **list = NULL;
        size_t n = 0;
        hb_get_str_list(l, v, what, (key->flags & HB_KF_ZERO) != 0, &list, &n);
        for (size_t i = 0; key->flags & HB_KF_LOWER && i < n; i++)
            hb_lower(list[i]);
        hb_list_set(key, base, list, n);
        return;
    }
    default:
        break;
    }
    char *s = hb_get_str(l, v, what);
    if (s == NULL)
        return;
    err[0] = '\0';
    if (hb_value_set(key, s, base, err, sizeof(err)) != 0) {
        if (key->type == HB_KT_LISTEN) {
            hb_errorf(l, v, "%s: %s", what, err);
        } else {
            hb_buf_t expect;
            hb_buf_init(&expect);
            hb_key_expect(key, &expect);
            hb_errorf(l, v, "%s must be %s, not \"%s\"", what, expect.base, s);
            hb_buf_dispose(&expect);
        }
    }
    free(s);
}

/* ---- sections ---- */

void hb_section_defaults(const hb_section_t *section, void *base)
{
    char err[128];
    for (size_t i = 0; i < section->num_keys; i++) {
        const hb_key_t *key = &section->keys[i];
        if (key->type == HB_KT_SECTION)
            hb_section_defaults(key->section, hb_slot(key, base));
        else if (key->dflt != NULL && key->type != HB_KT_CUSTOM && key->type != HB_KT_LATER &&
                 hb_value_set(key, key->dflt, base, err, sizeof(err)) != 0)
            abort(); /* a default its own row refuses: a programming error */
    }
}

size_t hb_key_index(const hb_section_t *section, const char *name)
{
    for (size_t i = 0; i < section->num_keys; i++)
        if (strcmp(section->keys[i].name, name) == 0)
            return i;
    abort();
}

static const hb_key_t *hb_key_find(const hb_section_t *section, const char *name)
{
    for (size_t i = 0; i < section->num_keys; i++)
        if (strcmp(section->keys[i].name, name) == 0)
            return &section->keys[i];
    return NULL;
}

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

static void hb_unknown_key(hb_loader_t *l, const hb_section_t *section, yaml_node_t *k)
{
    hb_buf_t names;
    hb_buf_init(&names);
    for (size_t i = 0; i < section->num_keys; i++)
        hb_buf_printf(&names, "%s%s", i > 0 ? ", " : "", section->keys[i].name);
    hb_errorf(l, k, "unknown key \"%s\" in %s (expected %s)", hb_scalar_raw(k), section->what, names.base);
    hb_buf_dispose(&names);
}

int hb_section_parse(hb_loader_t *l, const hb_section_t *section, yaml_node_t *node, void *base)
{
    yaml_node_t *seen[HB_MAX_SECTION_KEYS];
    return hb_section_parse_seen(l, section, node, base, seen);
}

int hb_section_parse_seen(hb_loader_t *l, const hb_section_t *section, yaml_node_t *node, void *base,
                          yaml_node_t **seen)
{
    if (node->type != YAML_MAPPING_NODE) {
        hb_errorf(l, node, "%s must be %s, not %s", section->what,
                  section->expect != NULL ? section->expect : "a mapping", hb_node_kind(node));
        return -1;
    }
    if (section->num_keys > HB_MAX_SECTION_KEYS)
        abort();
    memset(seen, 0, section->num_keys * sizeof(*seen));
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = hb_node(l, p->key), *v = hb_node(l, p->value), *first;
        const hb_key_t *key;
        if (k->type != YAML_SCALAR_NODE) {
            hb_errorf(l, k, "keys of %s must be strings", section->what);
        } else if ((first = hb_earlier_key(l, node, p, k)) != NULL) {
            hb_errorf(l, k, "duplicate key \"%s\" in %s (first at line %u)", hb_scalar_raw(k), section->what,
                      (unsigned)first->start_mark.line + 1);
        } else if ((key = hb_key_find(section, hb_scalar_raw(k))) == NULL) {
            hb_unknown_key(l, section, k);
        } else {
            seen[key - section->keys] = v;
            hb_key_read(l, section, key, v, base);
        }
    }
    if (section->check != NULL)
        section->check(l, node, base, seen);
    return 0;
}

void hb_section_free(const hb_section_t *section, void *base)
{
    for (size_t i = 0; i < section->num_keys; i++) {
        const hb_key_t *key = &section->keys[i];
        void *slot = hb_slot(key, base);
        switch (key->type) {
        case HB_KT_STR:
            free(*(char **)slot);
            break;
        case HB_KT_LISTEN:
            free(((hb_listen_t *)slot)->host);
            free(((hb_listen_t *)slot)->port);
            break;
        case HB_KT_LISTENS:
        case HB_KT_STRS:
            hb_list_set(key, base, NULL, 0);
            break;
        case HB_KT_SECTION:
            hb_section_free(key->section, slot);
            break;
        default:
            if (key->dispose != NULL)
                key->dispose(key, base);
        }
    }
    if (section->free_extra != NULL)
        section->free_extra(base);
}

/* ---- walking the table: the sections embedded in the top level, with their keys' paths ---- */

/* Calls fn for every key of section and of the sections it embeds (HB_KT_SECTION), with its dotted path. */
typedef void (*hb_key_visit_fn)(const hb_section_t *section, const hb_key_t *key, const char *path, void *ctx);

static void hb_walk(const hb_section_t *section, const char *prefix, int into_lists, hb_key_visit_fn fn, void *ctx)
{
    for (size_t i = 0; i < section->num_keys; i++) {
        const hb_key_t *key = &section->keys[i];
        char path[160];
        snprintf(path, sizeof(path), "%s%s%s", prefix, *prefix != '\0' ? "." : "", key->name);
        fn(section, key, path, ctx);
        if (key->type == HB_KT_SECTION || (into_lists && key->section != NULL)) {
            char inner[170];
            snprintf(inner, sizeof(inner), "%s%s", path, key->flags & HB_KF_ITEMS ? "[]" : "");
            hb_walk(key->section, inner, into_lists, fn, ctx);
        }
    }
}

/* HOOKBRIDGE_ and the path in upper snake case: server.tls.certFile is HOOKBRIDGE_SERVER_TLS_CERT_FILE. */
static void hb_env_name(const char *path, char *out, size_t size)
{
    size_t n = (size_t)snprintf(out, size, "HOOKBRIDGE_");
    for (const char *c = path; *c != '\0' && n + 2 < size; c++) {
        if (*c == '.')
            out[n++] = '_';
        else if (isupper((unsigned char)*c) && c > path && islower((unsigned char)c[-1]))
            n += (size_t)snprintf(out + n, size - n, "_%c", *c);
        else
            out[n++] = (char)toupper((unsigned char)*c);
    }
    out[n < size ? n : size - 1] = '\0';
}

/* ---- environment overrides ---- */

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

/* The index of mapping's value for key (a mapping made and added when absent); 0 when it is not a mapping. */
static int hb_child_mapping(hb_loader_t *l, int mapping, const char *key, size_t len)
{
    yaml_node_t *m = hb_node(l, mapping);
    if (m == NULL || m->type != YAML_MAPPING_NODE)
        return 0;
    for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
        yaml_node_t *k = hb_node(l, p->key);
        if (k->type == YAML_SCALAR_NODE && strlen(hb_scalar_raw(k)) == len && memcmp(hb_scalar_raw(k), key, len) == 0)
            return hb_node(l, p->value)->type == YAML_MAPPING_NODE ? p->value : 0;
    }
    /* adding nodes may move the node array: only indices survive */
    int child = yaml_document_add_mapping(&l->doc, NULL, YAML_BLOCK_MAPPING_STYLE);
    int k = yaml_document_add_scalar(&l->doc, NULL, (yaml_char_t *)key, (int)len, YAML_PLAIN_SCALAR_STYLE);
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

/* The variable's value as a node: a list row's is comma-separated. */
static int hb_override_node(hb_loader_t *l, const hb_key_t *key, const char *value)
{
    if (key->type != HB_KT_LISTENS && key->type != HB_KT_STRS)
        return hb_add_scalar(l, value, strlen(value));
    int node = yaml_document_add_sequence(&l->doc, NULL, YAML_FLOW_SEQUENCE_STYLE);
    for (const char *p = value;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        yaml_document_append_sequence_item(&l->doc, node, hb_add_scalar(l, p, len));
        if (comma == NULL)
            return node;
        p = comma + 1;
    }
}

/* hb_walk's visitor for the keys a HOOKBRIDGE_* variable may set, with the variable's name. */
typedef void (*hb_env_visit_fn)(const hb_key_t *key, const char *path, const char *env, void *ctx);

typedef struct hb_env_walk {
    hb_env_visit_fn fn;
    void *ctx;
} hb_env_walk_t;

static void hb_env_visit(const hb_section_t *section, const hb_key_t *key, const char *path, void *ctx)
{
    const hb_env_walk_t *w = ctx;
    char env[128];
    if (!(key->flags & HB_KF_ENV))
        return;
    hb_env_name(path, env, sizeof(env));
    w->fn(key, path, env, w->ctx);
}

static void hb_walk_env(hb_env_visit_fn fn, void *ctx)
{
    hb_env_walk_t w = {fn, ctx};
    hb_walk(&hb_config_top, "", 0, hb_env_visit, &w);
}

static void hb_override_visit(const hb_key_t *key, const char *path, const char *env, void *ctx)
{
    hb_loader_t *l = ctx;
    const char *value = l->env->getenv(l->env->ctx, env);
    if (value == NULL || l->num_overrides == HB_MAX_OVERRIDES)
        return;
    int mapping = 1; /* libyaml numbers nodes from 1; the root is the first */
    for (const char *seg = path, *dot; mapping != 0 && (dot = strchr(seg, '.')) != NULL; seg = dot + 1)
        mapping = hb_child_mapping(l, mapping, seg, (size_t)(dot - seg));
    if (mapping == 0)
        return; /* the file has something else than a mapping there: its own error says so */
    int node = hb_override_node(l, key, value);
    hb_set_key(l, mapping, key->name, node);
    l->override_node[l->num_overrides] = node;
    l->override_env[l->num_overrides++] = hb_xstrdup(env);
}

void hb_apply_overrides(hb_loader_t *l)
{
    if (hb_node(l, 1) == NULL || hb_node(l, 1)->type != YAML_MAPPING_NODE)
        return;
    hb_walk_env(hb_override_visit, l);
}

static void hb_env_help_visit(const hb_key_t *key, const char *path, const char *env, void *ctx)
{
    hb_buf_t *out = ctx;
    hb_buf_printf(out, "%s%s%s", out->len > 0 ? ", " : "", env,
                  key->type == HB_KT_LISTENS || key->type == HB_KT_STRS ? " (comma-separated)" : "");
}

const char *hb_config_env_help(void)
{
    static hb_buf_t text; /* made once from the table, so the two never disagree; the main thread's */
    if (text.base == NULL) {
        hb_buf_init(&text);
        hb_walk_env(hb_env_help_visit, &text);
        hb_buf_puts(&text, "");
    }
    return text.base;
}

/* ---- restart-only keys ---- */

static int hb_str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static int hb_listen_same(const hb_listen_t *a, const hb_listen_t *b)
{
    return hb_str_same(a->host, b->host) && hb_str_same(a->port, b->port);
}

static int hb_value_same(const hb_key_t *key, const void *a, const void *b)
{
    const void *x = (const char *)a + key->offset, *y = (const char *)b + key->offset;
    size_t n;
    switch (key->type) {
    case HB_KT_STR:
        return hb_str_same(*(char *const *)x, *(char *const *)y);
    case HB_KT_LISTEN:
        return hb_listen_same(x, y);
    case HB_KT_LISTENS:
    case HB_KT_STRS:
        if ((n = *hb_count_slot(key, (void *)a)) != *hb_count_slot(key, (void *)b))
            return 0;
        for (size_t i = 0; i < n; i++)
            if (key->type == HB_KT_LISTENS
                    ? !hb_listen_same(&(*(hb_listen_t *const *)x)[i], &(*(hb_listen_t *const *)y)[i])
                    : !hb_str_same((*(char **const *)x)[i], (*(char **const *)y)[i]))
                return 0;
        return 1;
    case HB_KT_CUSTOM:
        return key->same == NULL || key->same(key, a, b);
    case HB_KT_SECTION:
    case HB_KT_LATER:
        return 1;
    default:
        return memcmp(x, y, key->size) == 0;
    }
}

typedef struct hb_restart_ctx {
    const hb_config_t *old, *neu;
    hb_buf_t *out;
    size_t n;
} hb_restart_ctx_t;

/* hb_walk gives each key its section's base only through the path: sections embedded at offset 0 share the config. */
static void hb_restart_visit(const hb_section_t *section, const hb_key_t *key, const char *path, void *ctx)
{
    hb_restart_ctx_t *rc = ctx;
    if (!(key->flags & HB_KF_RESTART) || hb_value_same(key, rc->old, rc->neu))
        return;
    hb_buf_printf(rc->out, "%s%s", rc->n++ > 0 ? ", " : "", path);
}

size_t hb_config_restart_changes(const hb_config_t *old, const hb_config_t *neu, hb_buf_t *out)
{
    hb_restart_ctx_t rc = {old, neu, out, 0};
    hb_walk(&hb_config_top, "", 0, hb_restart_visit, &rc);
    return rc.n;
}

/* ---- config-keys ---- */

static const char *hb_type_name(const hb_key_t *key)
{
    static const char *const names[] = {
        [HB_KT_STR] = "string",        [HB_KT_BOOL] = "boolean",    [HB_KT_SIZE] = "size",
        [HB_KT_DURATION] = "duration", [HB_KT_WORD] = "word",       [HB_KT_INT] = "integer",
        [HB_KT_NUMBER] = "number",     [HB_KT_LISTEN] = "address",  [HB_KT_LISTENS] = "addresses",
        [HB_KT_STRS] = "strings",      [HB_KT_SECTION] = "mapping", [HB_KT_CUSTOM] = "custom",
        [HB_KT_LATER] = "custom"};
    return key->type_name != NULL ? key->type_name : names[key->type];
}

/* "key":"value" */
static void hb_json_pair(hb_buf_t *out, const char *key, const char *value)
{
    hb_json_cstr(out, key);
    hb_buf_putc(out, ':');
    hb_json_cstr(out, value);
}

static void hb_keys_json_visit(const hb_section_t *section, const hb_key_t *key, const char *path, void *ctx)
{
    hb_buf_t *out = ctx, expect;
    char env[128];
    hb_buf_puts(out, out->len > 1 ? ",\n{" : "\n{");
    hb_json_pair(out, "path", path);
    hb_buf_puts(out, ",");
    hb_json_pair(out, "type", hb_type_name(key));
    if (key->words != NULL) {
        hb_buf_puts(out, ",\"words\":[");
        for (size_t i = 0; key->words[i] != NULL; i++) {
            hb_buf_puts(out, i > 0 ? "," : "");
            hb_json_str(out, key->words[i], strlen(key->words[i]));
        }
        hb_buf_puts(out, "]");
    }
    if (key->type == HB_KT_INT || key->type == HB_KT_NUMBER)
        hb_buf_printf(out, ",\"min\":%g,\"max\":%g", key->min, key->max);
    if (key->type != HB_KT_SECTION && key->type != HB_KT_CUSTOM && key->type != HB_KT_LATER && key->type != HB_KT_STR &&
        key->type != HB_KT_STRS && key->type != HB_KT_LISTENS && key->type != HB_KT_LISTEN) {
        hb_buf_init(&expect);
        hb_key_expect(key, &expect);
        hb_buf_puts(out, ",");
        hb_json_pair(out, "expect", expect.base);
        hb_buf_dispose(&expect);
    }
    if (key->dflt != NULL) {
        hb_buf_puts(out, ",");
        hb_json_pair(out, "default", key->dflt);
    }
    if (key->flags & HB_KF_ENV) {
        hb_env_name(path, env, sizeof(env));
        hb_buf_puts(out, ",");
        hb_json_pair(out, "env", env);
    }
    hb_buf_printf(out, ",\"reload\":%s,", key->flags & HB_KF_RESTART ? "false" : "true");
    hb_json_pair(out, "help", key->help != NULL ? key->help : "");
    hb_buf_puts(out, "}");
}

void hb_config_keys_json(hb_buf_t *out)
{
    hb_buf_puts(out, "[");
    hb_walk(&hb_config_top, "", 1, hb_keys_json_visit, out);
    hb_buf_puts(out, "\n]\n");
}
