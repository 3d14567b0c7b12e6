#include "filter.h"

#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wctype.h>

/* ---- scalars and payload values ---- */

typedef enum hb_vtype { HB_V_NULL, HB_V_BOOL, HB_V_NUM, HB_V_STR } hb_vtype_t;

typedef struct hb_scalar {
    hb_vtype_t type;
    int b;
    double num;
    char *str;
    size_t len;
} hb_scalar_t;

typedef enum hb_opcode {
    HB_OP_STARTS_WITH,
    HB_OP_ENDS_WITH,
    HB_OP_IGNORE_CASE_EQUALS,
    HB_OP_ANYTHING_BUT,
    HB_OP_EXISTS,
    HB_OP_IS_NULL,
    HB_OP_GT,
    HB_OP_LT,
    HB_OP_GTE,
    HB_OP_LTE,
    HB_OP_BETWEEN,
    HB_OP_INCLUDES,
    HB_OP_NOT,
} hb_opcode_t;

static const char *const hb_op_names[] = {
    [HB_OP_STARTS_WITH] = "$startsWith",
    [HB_OP_ENDS_WITH] = "$endsWith",
    [HB_OP_IGNORE_CASE_EQUALS] = "$ignoreCaseEquals",
    [HB_OP_ANYTHING_BUT] = "$anythingBut",
    [HB_OP_EXISTS] = "$exists",
    [HB_OP_IS_NULL] = "$isNull",
    [HB_OP_GT] = "$gt",
    [HB_OP_LT] = "$lt",
    [HB_OP_GTE] = "$gte",
    [HB_OP_LTE] = "$lte",
    [HB_OP_BETWEEN] = "$between",
    [HB_OP_INCLUDES] = "$includes",
    [HB_OP_NOT] = "$not",
};

typedef struct hb_op {
    hb_opcode_t code;
    hb_scalar_t arg;   /* the operand (for $anythingBut with a list: unused) */
    hb_scalar_t *list; /* $anythingBut: [..] */
    size_t nlist;
    double lo, hi;    /* $between */
    uint32_t *folded; /* $ignoreCaseEquals: the operand's code points, lower-cased */
    size_t nfolded;
} hb_op_t;

typedef enum hb_rule_kind { HB_R_SKIP, HB_R_VALUES, HB_R_OPS, HB_R_NESTED } hb_rule_kind_t;

typedef struct hb_rule {
    char *key;
    size_t keylen;
    hb_rule_kind_t kind;
    hb_scalar_t *values; /* HB_R_VALUES: all of one type */
    size_t nvalues;
    hb_op_t *ops; /* HB_R_OPS */
    size_t nops;
    hb_filter_t *nested; /* HB_R_NESTED */
} hb_rule_t;

struct hb_filter {
    hb_rule_t *rules;
    size_t nrules;
};

/* ---- Unicode case folding for $ignoreCaseEquals (towlower in the C.UTF-8 locale, created once) ---- */

static locale_t hb_utf8_locale;
static pthread_once_t hb_utf8_locale_once = PTHREAD_ONCE_INIT;

static void hb_utf8_locale_init(void)
{
    hb_utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

static uint32_t hb_fold(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    pthread_once(&hb_utf8_locale_once, hb_utf8_locale_init);
    return hb_utf8_locale != (locale_t)0 ? (uint32_t)towlower_l((wint_t)cp, hb_utf8_locale) : cp;
}

/* Decodes one UTF-8 code point at *i (advancing it); invalid bytes decode as U+FFFD, one byte each. */
static uint32_t hb_utf8_next(const char *s, size_t len, size_t *i)
{
    unsigned char c = (unsigned char)s[*i];
    size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
    if (n == 0 || (n < 4 && *i + n < len && hb_utf8_valid(s + *i, n + 1))) {
        uint32_t cp = n == 0 ? c : n == 1 ? (c & 0x1fu) : n == 2 ? (c & 0x0fu) : (c & 0x07u);
        for (size_t k = 1; k <= n; k++)
            cp = cp << 6 | ((unsigned char)s[*i + k] & 0x3fu);
        *i += n + 1;
        return cp;
    }
    (*i)++;
    return 0xfffd;
}

/* ---- payload access ---- */

static int hb_obj_is_num(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER ||
           o->type == MSGPACK_OBJECT_FLOAT32 || o->type == MSGPACK_OBJECT_FLOAT64;
}

/* As a JavaScript number: every JSON number is a double there. */
static double hb_obj_num(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return (double)o->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return (double)o->via.i64;
    default:
        return o->via.f64;
    }
}

static int hb_obj_is_str(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_STR || o->type == MSGPACK_OBJECT_BIN;
}

static const char *hb_obj_str(const msgpack_object *o, size_t *len)
{
    *len = o->type == MSGPACK_OBJECT_STR ? o->via.str.size : o->via.bin.size;
    return o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr : o->via.bin.ptr;
}

/* The value of key in a map, the last one when the key repeats (JSON.parse keeps the last); NULL when absent. */
static const msgpack_object *hb_map_get(const msgpack_object *map, const char *key, size_t keylen)
{
    const msgpack_object *found = NULL;
    if (map == NULL || map->type != MSGPACK_OBJECT_MAP)
        return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == keylen && hb_mem_eq(k->via.str.ptr, key, keylen))
            found = &map->via.map.ptr[i].val;
    }
    return found;
}

/* JavaScript's ===, between a filter scalar and a payload value (NULL: undefined). */
static int hb_strict_eq(const hb_scalar_t *s, const msgpack_object *o)
{
    if (o == NULL)
        return 0;
    switch (s->type) {
    case HB_V_NULL:
        return o->type == MSGPACK_OBJECT_NIL;
    case HB_V_BOOL:
        return o->type == MSGPACK_OBJECT_BOOLEAN && (o->via.boolean ? 1 : 0) == s->b;
    case HB_V_NUM:
        return hb_obj_is_num(o) && hb_obj_num(o) == s->num;
    case HB_V_STR: {
        size_t len;
        const char *p;
        if (!hb_obj_is_str(o))
            return 0;
        p = hb_obj_str(o, &len);
        return len == s->len && hb_mem_eq(p, s->str, len);
    }
    }
    return 0;
}

/* ---- compile ---- */

static void hb_scalar_dispose(hb_scalar_t *s)
{
    free(s->str);
}

static void hb_rule_dispose(hb_rule_t *r)
{
    free(r->key);
    for (size_t i = 0; i < r->nvalues; i++)
        hb_scalar_dispose(&r->values[i]);
    free(r->values);
    for (size_t i = 0; i < r->nops; i++) {
        hb_scalar_dispose(&r->ops[i].arg);
        for (size_t j = 0; j < r->ops[i].nlist; j++)
            hb_scalar_dispose(&r->ops[i].list[j]);
        free(r->ops[i].list);
        free(r->ops[i].folded);
    }
    free(r->ops);
    hb_filter_free(r->nested);
}

void hb_filter_free(hb_filter_t *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->nrules; i++)
        hb_rule_dispose(&f->rules[i]);
    free(f->rules);
    free(f);
}

/* Reads a scalar (null, bool, number, string); 0, or -1 when o is a map or an array. */
static int hb_scalar_from(const msgpack_object *o, hb_scalar_t *out)
{
    memset(out, 0, sizeof(*out));
    if (o->type == MSGPACK_OBJECT_NIL) {
        out->type = HB_V_NULL;
    } else if (o->type == MSGPACK_OBJECT_BOOLEAN) {
        out->type = HB_V_BOOL;
        out->b = o->via.boolean ? 1 : 0;
    } else if (hb_obj_is_num(o)) {
        out->type = HB_V_NUM;
        out->num = hb_obj_num(o);
    } else if (hb_obj_is_str(o)) {
        size_t len;
        const char *p = hb_obj_str(o, &len);
        out->type = HB_V_STR;
        out->str = hb_xstrndup(p, len);
        out->len = len;
    } else {
        return -1;
    }
    return 0;
}

static const char *hb_type_name(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_NIL:
        return "null";
    case MSGPACK_OBJECT_BOOLEAN:
        return "a boolean";
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN:
        return "a string";
    case MSGPACK_OBJECT_ARRAY:
        return "an array";
    case MSGPACK_OBJECT_MAP:
        return "an object";
    default:
        return "a number";
    }
}

typedef struct hb_compile {
    hb_buf_t path; /* where we are, for messages */
    char *err;
    size_t errlen;
    const msgpack_object *where; /* the key or value at fault, inside the caller's object */
} hb_compile_t;

static int hb_fail(hb_compile_t *c, const msgpack_object *where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records the error and the object at fault (a key or a value of the filter being compiled); returns -1. */
static int hb_fail(hb_compile_t *c, const msgpack_object *where, const char *fmt, ...)
{
    c->where = where;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s%s%s", c->path.len ? c->path.base : "", c->path.len ? ": " : "", msg);
    return -1;
}

static int hb_compile_op(hb_compile_t *c, const msgpack_object *o, hb_op_t *op)
{
    if (o->type != MSGPACK_OBJECT_MAP || o->via.map.size != 1) {
        if (o->type == MSGPACK_OBJECT_MAP && o->via.map.size > 1)
            return hb_fail(c, o, "an operator object holds exactly one operator, this one has %u", o->via.map.size);
        return hb_fail(c, o, "expected an operator object such as {\"$startsWith\": \"x\"}, not %s", hb_type_name(o));
    }
    const msgpack_object *k = &o->via.map.ptr[0].key, *v = &o->via.map.ptr[0].val;
    size_t klen = k->type == MSGPACK_OBJECT_STR ? k->via.str.size : 0;
    size_t code;
    for (code = 0; code < HB_ARRAY_SIZE(hb_op_names); code++)
        if (klen == strlen(hb_op_names[code]) && memcmp(k->via.str.ptr, hb_op_names[code], klen) == 0)
            break;
    if (code == HB_ARRAY_SIZE(hb_op_names))
        return hb_fail(c, k, "unknown operator \"%.*s\"", (int)klen, klen ? k->via.str.ptr : "");
    op->code = (hb_opcode_t)code;
    const char *name = hb_op_names[code];
    switch (op->code) {
    case HB_OP_STARTS_WITH:
    case HB_OP_ENDS_WITH:
    case HB_OP_IGNORE_CASE_EQUALS:
        if (!hb_obj_is_str(v))
            return hb_fail(c, v, "%s takes a string, not %s", name, hb_type_name(v));
        hb_scalar_from(v, &op->arg);
        if (op->code == HB_OP_IGNORE_CASE_EQUALS) {
            op->folded = hb_xcalloc(op->arg.len + 1, sizeof(uint32_t));
            for (size_t i = 0; i < op->arg.len;)
                op->folded[op->nfolded++] = hb_fold(hb_utf8_next(op->arg.str, op->arg.len, &i));
        }
        break;
    case HB_OP_ANYTHING_BUT:
        if (v->type == MSGPACK_OBJECT_ARRAY) {
            op->list = hb_xcalloc(v->via.array.size, sizeof(hb_scalar_t));
            for (uint32_t i = 0; i < v->via.array.size; i++) {
                if (hb_scalar_from(&v->via.array.ptr[i], &op->list[op->nlist]) != 0)
                    return hb_fail(c, &v->via.array.ptr[i],
                                   "$anythingBut takes a value or a list of values, not a list holding %s",
                                   hb_type_name(&v->via.array.ptr[i]));
                op->nlist++;
            }
        } else if (hb_scalar_from(v, &op->arg) != 0) {
            return hb_fail(c, v, "$anythingBut takes a value or a list of values, not %s", hb_type_name(v));
        }
        break;
    case HB_OP_EXISTS:
    case HB_OP_IS_NULL:
        if (v->type != MSGPACK_OBJECT_BOOLEAN)
            return hb_fail(c, v, "%s takes true or false, not %s", name, hb_type_name(v));
        hb_scalar_from(v, &op->arg);
        break;
    case HB_OP_GT:
    case HB_OP_LT:
    case HB_OP_GTE:
    case HB_OP_LTE:
        if (!hb_obj_is_num(v))
            return hb_fail(c, v, "%s takes a number, not %s", name, hb_type_name(v));
        hb_scalar_from(v, &op->arg);
        break;
    case HB_OP_BETWEEN:
        if (v->type != MSGPACK_OBJECT_ARRAY || v->via.array.size != 2 || !hb_obj_is_num(&v->via.array.ptr[0]) ||
            !hb_obj_is_num(&v->via.array.ptr[1]))
            return hb_fail(c, v, "$between takes [low, high], two numbers");
        op->lo = hb_obj_num(&v->via.array.ptr[0]);
        op->hi = hb_obj_num(&v->via.array.ptr[1]);
        break;
    case HB_OP_INCLUDES:
    case HB_OP_NOT:
        if (v->type == MSGPACK_OBJECT_NIL || hb_scalar_from(v, &op->arg) != 0)
            return hb_fail(c, v, "%s takes a string, a number or a boolean, not %s", name, hb_type_name(v));
        break;
    }
    return 0;
}

static hb_filter_t *hb_compile_filter(hb_compile_t *c, const msgpack_object *o, int depth);

static int hb_compile_rule(hb_compile_t *c, const msgpack_object *v, hb_rule_t *r, int depth)
{
    if (v->type == MSGPACK_OBJECT_MAP) {
        r->kind = HB_R_NESTED;
        return (r->nested = hb_compile_filter(c, v, depth + 1)) != NULL ? 0 : -1;
    }
    if (v->type != MSGPACK_OBJECT_ARRAY)
        return hb_fail(c, v,
                       "expected a list (of values, or of operator objects) or a nested filter, not %s; write [%s]",
                       hb_type_name(v), v->type == MSGPACK_OBJECT_STR ? "\"...\"" : "...");
    uint32_t n = v->via.array.size;
    if (n == 0) {
        r->kind = HB_R_SKIP;
        return 0;
    }
    const msgpack_object *first = &v->via.array.ptr[0];
    if (first->type == MSGPACK_OBJECT_MAP) {
        r->kind = HB_R_OPS;
        r->ops = hb_xcalloc(n, sizeof(hb_op_t));
        size_t base = c->path.len;
        for (uint32_t i = 0; i < n; i++) {
            hb_buf_printf(&c->path, "[%u]", i);
            if (v->via.array.ptr[i].type != MSGPACK_OBJECT_MAP)
                return hb_fail(c, &v->via.array.ptr[i], "a list mixes operator objects and %s",
                               hb_type_name(&v->via.array.ptr[i]));
            r->nops++;
            if (hb_compile_op(c, &v->via.array.ptr[i], &r->ops[i]) != 0)
                return -1;
            c->path.len = base;
            c->path.base[base] = '\0';
        }
        return 0;
    }
    r->kind = HB_R_VALUES;
    r->values = hb_xcalloc(n, sizeof(hb_scalar_t));
    for (uint32_t i = 0; i < n; i++) {
        const msgpack_object *item = &v->via.array.ptr[i];
        hb_scalar_t s;
        if (item->type == MSGPACK_OBJECT_NIL || hb_scalar_from(item, &s) != 0)
            return hb_fail(c, item, "a list of values holds strings, numbers or booleans, not %s", hb_type_name(item));
        r->values[r->nvalues++] = s;
        if (s.type != r->values[0].type)
            return hb_fail(c, item, "a list mixes %s and %s: all values of a list must be of one type",
                           hb_type_name(first), hb_type_name(item));
    }
    return 0;
}

static hb_filter_t *hb_compile_filter(hb_compile_t *c, const msgpack_object *o, int depth)
{
    if (o->type != MSGPACK_OBJECT_MAP) {
        hb_fail(c, o, "a filter is an object, not %s", hb_type_name(o));
        return NULL;
    }
    if (depth > 64) {
        hb_fail(c, o, "the filter nests too deeply");
        return NULL;
    }
    hb_filter_t *f = hb_xcalloc(1, sizeof(*f));
    f->rules = hb_xcalloc(o->via.map.size, sizeof(hb_rule_t));
    size_t base = c->path.len;
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR) {
            hb_fail(c, k, "filter keys are strings");
            goto Error;
        }
        hb_rule_t *r = &f->rules[f->nrules++];
        r->key = hb_xstrndup(k->via.str.ptr, k->via.str.size);
        r->keylen = k->via.str.size;
        hb_buf_printf(&c->path, "%s%s", base ? "." : "", r->key);
        if (r->keylen > 0 && r->key[0] == '$' && o->via.map.ptr[i].val.type != MSGPACK_OBJECT_ARRAY &&
            o->via.map.ptr[i].val.type != MSGPACK_OBJECT_MAP) {
            hb_fail(c, k, "an operator must be inside a list: write [{\"%s\": ...}]", r->key);
            goto Error;
        }
        if (hb_compile_rule(c, &o->via.map.ptr[i].val, r, depth) != 0)
            goto Error;
        c->path.len = base;
        if (c->path.base != NULL)
            c->path.base[base] = '\0';
    }
    return f;
Error:
    hb_filter_free(f);
    return NULL;
}

hb_filter_t *hb_filter_compile(const msgpack_object *filter, char *err, size_t errlen)
{
    hb_compile_t c = {.err = err, .errlen = errlen};
    hb_buf_init(&c.path);
    hb_filter_t *f = hb_compile_filter(&c, filter, 0);
    hb_buf_dispose(&c.path);
    return f;
}

/* ---- match ---- */

static int hb_ignore_case_eq(const hb_op_t *op, const char *s, size_t len)
{
    size_t i = 0, k = 0;
    while (i < len) {
        if (k == op->nfolded || hb_fold(hb_utf8_next(s, len, &i)) != op->folded[k])
            return 0;
        k++;
    }
    return k == op->nfolded;
}

static int hb_op_match(const hb_op_t *op, const msgpack_object *v)
{
    size_t len;
    const char *s;
    switch (op->code) {
    case HB_OP_STARTS_WITH:
        if (v == NULL || !hb_obj_is_str(v))
            return 0;
        s = hb_obj_str(v, &len);
        return len >= op->arg.len && hb_mem_eq(s, op->arg.str, op->arg.len);
    case HB_OP_ENDS_WITH:
        if (v == NULL || !hb_obj_is_str(v))
            return 0;
        s = hb_obj_str(v, &len);
        /* s may be NULL (an empty string): no arithmetic on it then */
        return len >= op->arg.len && (op->arg.len == 0 || memcmp(s + len - op->arg.len, op->arg.str, op->arg.len) == 0);
    case HB_OP_IGNORE_CASE_EQUALS:
        if (v == NULL || !hb_obj_is_str(v))
            return 0;
        s = hb_obj_str(v, &len);
        return hb_ignore_case_eq(op, s, len);
    case HB_OP_ANYTHING_BUT:
        for (size_t i = 0; i < op->nlist; i++)
            if (hb_strict_eq(&op->list[i], v))
                return 0;
        return op->nlist != 0 || !hb_strict_eq(&op->arg, v);
    case HB_OP_EXISTS:
        return op->arg.b ? v != NULL : v == NULL;
    case HB_OP_IS_NULL:
        return op->arg.b ? v != NULL && v->type == MSGPACK_OBJECT_NIL : v == NULL || v->type != MSGPACK_OBJECT_NIL;
    case HB_OP_GT:
        return v != NULL && hb_obj_is_num(v) && hb_obj_num(v) > op->arg.num;
    case HB_OP_LT:
        return v != NULL && hb_obj_is_num(v) && hb_obj_num(v) < op->arg.num;
    case HB_OP_GTE:
        return v != NULL && hb_obj_is_num(v) && hb_obj_num(v) >= op->arg.num;
    case HB_OP_LTE:
        return v != NULL && hb_obj_is_num(v) && hb_obj_num(v) <= op->arg.num;
    case HB_OP_BETWEEN:
        return v != NULL && hb_obj_is_num(v) && hb_obj_num(v) >= op->lo && hb_obj_num(v) <= op->hi;
    case HB_OP_INCLUDES:
        if (v == NULL || v->type != MSGPACK_OBJECT_ARRAY)
            return 0;
        for (uint32_t i = 0; i < v->via.array.size; i++)
            if (hb_strict_eq(&op->arg, &v->via.array.ptr[i]))
                return 1;
        return 0;
    case HB_OP_NOT:
        if (v == NULL || v->type == MSGPACK_OBJECT_NIL || v->type == MSGPACK_OBJECT_MAP)
            return 0;
        if (v->type == MSGPACK_OBJECT_ARRAY) {
            for (uint32_t i = 0; i < v->via.array.size; i++)
                if (hb_strict_eq(&op->arg, &v->via.array.ptr[i]))
                    return 0;
            return 1;
        }
        return !hb_strict_eq(&op->arg, v);
    }
    return 0;
}

static void hb_why_value(hb_buf_t *why, const msgpack_object *v)
{
    if (v == NULL) {
        hb_buf_puts(why, "missing");
    } else if (hb_obj_is_str(v)) {
        size_t len;
        const char *s = hb_obj_str(v, &len);
        hb_buf_printf(why, "\"%.*s\"%s", (int)(len > 60 ? 60 : len), s, len > 60 ? "..." : "");
    } else if (hb_obj_is_num(v)) {
        hb_buf_printf(why, "%.17g", hb_obj_num(v));
    } else if (v->type == MSGPACK_OBJECT_BOOLEAN) {
        hb_buf_puts(why, v->via.boolean ? "true" : "false");
    } else {
        hb_buf_puts(why, hb_type_name(v));
    }
}

/* path is only kept (non-NULL) when why is wanted, so that a plain match allocates nothing. */
static void hb_why_key(hb_buf_t *why, const hb_buf_t *path, const hb_rule_t *r)
{
    hb_buf_printf(why, "%s%s%s: ", path->len ? path->base : "", path->len ? "." : "", r->key);
}

static int hb_match(const hb_filter_t *f, const msgpack_object *payload, hb_buf_t *why, hb_buf_t *path)
{
    if (payload == NULL || payload->type == MSGPACK_OBJECT_NIL) {
        if (f->nrules == 0)
            return 1;
        if (why != NULL)
            hb_buf_printf(why, "%s: %s, and only an empty filter matches that", path->len ? path->base : "payload",
                          payload == NULL ? "missing" : "null");
        return 0;
    }
    size_t base = path != NULL ? path->len : 0;
    for (size_t i = 0; i < f->nrules; i++) {
        const hb_rule_t *r = &f->rules[i];
        const msgpack_object *v = hb_map_get(payload, r->key, r->keylen);
        int ok = 1;
        switch (r->kind) {
        case HB_R_SKIP:
            continue;
        case HB_R_VALUES:
            ok = 0;
            for (size_t j = 0; j < r->nvalues && !ok; j++)
                ok = hb_strict_eq(&r->values[j], v);
            if (!ok && why != NULL) {
                hb_why_key(why, path, r);
                hb_why_value(why, v);
                hb_buf_puts(why, " is not one of the listed values");
            }
            break;
        case HB_R_OPS:
            for (size_t j = 0; j < r->nops && ok; j++) {
                ok = hb_op_match(&r->ops[j], v);
                if (!ok && why != NULL) {
                    hb_why_key(why, path, r);
                    hb_why_value(why, v);
                    hb_buf_printf(why, " fails %s", hb_op_names[r->ops[j].code]);
                }
            }
            break;
        case HB_R_NESTED:
            if (path != NULL)
                hb_buf_printf(path, "%s%s", base ? "." : "", r->key);
            if (v != NULL && v->type == MSGPACK_OBJECT_ARRAY) {
                /* an array payload: any element may match */
                ok = 0;
                for (uint32_t j = 0; j < v->via.array.size && !ok; j++)
                    ok = hb_match(r->nested, &v->via.array.ptr[j], NULL, NULL);
                if (!ok && why != NULL)
                    hb_buf_printf(why, "%s: no element of the array matches", path->base);
            } else {
                ok = hb_match(r->nested, v, why, path);
            }
            if (path != NULL) {
                path->len = base;
                path->base[base] = '\0';
            }
            break;
        }
        if (!ok)
            return 0;
    }
    return 1;
}

int hb_filter_match(const hb_filter_t *f, const msgpack_object *payload, hb_buf_t *why)
{
    if (why == NULL)
        return hb_match(f, payload, NULL, NULL);
    hb_buf_t path;
    hb_buf_init(&path);
    hb_buf_puts(&path, "");
    int ok = hb_match(f, payload, why, &path);
    hb_buf_dispose(&path);
    return ok;
}

/* ---- request filters ---- */

struct hb_reqfilter {
    char **methods;
    size_t nmethods;
    hb_rule_t *headers; /* keys lower-cased; kinds VALUES (strings) or OPS (string operators) */
    size_t nheaders;
    hb_rule_t *query;
    size_t nquery;
    hb_filter_t *body;
};

void hb_reqfilter_free(hb_reqfilter_t *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->nmethods; i++)
        free(f->methods[i]);
    free(f->methods);
    for (size_t i = 0; i < f->nheaders; i++)
        hb_rule_dispose(&f->headers[i]);
    free(f->headers);
    for (size_t i = 0; i < f->nquery; i++)
        hb_rule_dispose(&f->query[i]);
    free(f->query);
    hb_filter_free(f->body);
    free(f);
}

/* 1 when the len bytes at s are an HTTP token (RFC 9110 tchar), as method and header names are. */
static int hb_is_token(const char *s, size_t len)
{
    if (len == 0)
        return 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL)))
            return 0;
    }
    return 1;
}

/* headers: / query: a map of name → list of strings, or of $startsWith / $endsWith / $ignoreCaseEquals. */
static int hb_compile_strmap(hb_compile_t *c, const msgpack_object *o, const char *what, int header, hb_rule_t **out,
                             size_t *n)
{
    if (o->type != MSGPACK_OBJECT_MAP)
        return hb_fail(c, o, "%s is a map of name → list, not %s", what, hb_type_name(o));
    *out = hb_xcalloc(o->via.map.size, sizeof(hb_rule_t));
    for (uint32_t i = 0; i < o->via.map.size; i++) {
        const msgpack_object *k = &o->via.map.ptr[i].key, *v = &o->via.map.ptr[i].val;
        if (k->type != MSGPACK_OBJECT_STR)
            return hb_fail(c, k, "%s names are strings", what);
        hb_rule_t *r = &(*out)[(*n)++];
        r->key = hb_xstrndup(k->via.str.ptr, k->via.str.size);
        r->keylen = k->via.str.size;
        /* header names are matched case-insensitively: keep them lower-cased, as h2o gives them */
        for (size_t j = 0; header && j < r->keylen; j++)
            if (r->key[j] >= 'A' && r->key[j] <= 'Z')
                r->key[j] = (char)(r->key[j] - 'A' + 'a');
        c->path.len = 0;
        hb_buf_printf(&c->path, "%s.%s", what, r->key);
        if (header && !hb_is_token(r->key, r->keylen))
            return hb_fail(c, k, "\"%s\" is not a header name (letters, digits and !#$%%&'*+-.^_`|~)", r->key);
        if (v->type == MSGPACK_OBJECT_MAP)
            return hb_fail(c, v, "expected a list of strings or of string operators, not an object");
        if (hb_compile_rule(c, v, r, 0) != 0)
            return -1;
        for (size_t j = 0; j < r->nvalues; j++)
            if (r->values[j].type != HB_V_STR)
                return hb_fail(c, &v->via.array.ptr[j], "%s values are strings: quote them", what);
        for (size_t j = 0; j < r->nops; j++)
            if (r->ops[j].code != HB_OP_STARTS_WITH && r->ops[j].code != HB_OP_ENDS_WITH &&
                r->ops[j].code != HB_OP_IGNORE_CASE_EQUALS)
                return hb_fail(c, &v->via.array.ptr[j].via.map.ptr[0].key,
                               "%s takes only $startsWith, $endsWith and $ignoreCaseEquals, not %s", what,
                               hb_op_names[r->ops[j].code]);
    }
    return 0;
}

hb_reqfilter_t *hb_reqfilter_compile(const msgpack_object *filter, const msgpack_object **where, char *err,
                                     size_t errlen)
{
    hb_compile_t c = {.err = err, .errlen = errlen};
    hb_buf_init(&c.path);
    hb_reqfilter_t *f = hb_xcalloc(1, sizeof(*f));
    /* each part once: a repeated key (YAML and JSON allow them) would replace or overrun what was compiled */
    const msgpack_object *seen_method = NULL, *seen_headers = NULL, *seen_query = NULL, *seen_body = NULL;
    if (filter->type != MSGPACK_OBJECT_MAP) {
        hb_fail(&c, filter, "a request filter is an object with method, headers, query and body, not %s",
                hb_type_name(filter));
        goto Error;
    }
    for (uint32_t i = 0; i < filter->via.map.size; i++) {
        const msgpack_object *k = &filter->via.map.ptr[i].key, *v = &filter->via.map.ptr[i].val;
        size_t klen = k->type == MSGPACK_OBJECT_STR ? k->via.str.size : 0;
        const char *key = klen ? k->via.str.ptr : "";
        const msgpack_object **seen = NULL;
        if (klen == 6 && memcmp(key, "method", 6) == 0)
            seen = &seen_method;
        else if ((klen == 7 && memcmp(key, "headers", 7) == 0) || (klen == 6 && memcmp(key, "header", 6) == 0))
            seen = &seen_headers;
        else if (klen == 5 && memcmp(key, "query", 5) == 0)
            seen = &seen_query;
        else if (klen == 4 && memcmp(key, "body", 4) == 0)
            seen = &seen_body;
        c.path.len = 0;
        if (seen == NULL) {
            hb_fail(&c, k, "unknown key \"%.*s\" in a request filter (expected method, headers, query, body)",
                    (int)klen, key);
            goto Error;
        }
        if (*seen != NULL) {
            hb_fail(&c, k, "%.*s is given twice%s", (int)klen, key,
                    seen == &seen_headers ? " (header and headers are one key)" : "");
            goto Error;
        }
        *seen = k;
        if (seen == &seen_method) {
            hb_buf_puts(&c.path, "method");
            if (v->type != MSGPACK_OBJECT_ARRAY) {
                hb_fail(&c, v, "method is a list such as [POST], not %s", hb_type_name(v));
                goto Error;
            }
            f->methods = hb_xcalloc(v->via.array.size, sizeof(char *));
            for (uint32_t j = 0; j < v->via.array.size; j++) {
                const msgpack_object *m = &v->via.array.ptr[j];
                if (m->type != MSGPACK_OBJECT_STR) {
                    hb_fail(&c, m, "methods are strings, not %s", hb_type_name(m));
                    goto Error;
                }
                if (!hb_is_token(m->via.str.ptr, m->via.str.size)) {
                    hb_fail(&c, m,
                            "\"%.*s\" is not an HTTP method: write one method per list item, such as [GET, POST]",
                            (int)m->via.str.size, m->via.str.ptr);
                    goto Error;
                }
                /* written in any case, matched as sent: methods are case-sensitive and senders use upper case */
                char *name = hb_xstrndup(m->via.str.ptr, m->via.str.size);
                for (char *p = name; *p != '\0'; p++)
                    if (*p >= 'a' && *p <= 'z')
                        *p = (char)(*p - 'a' + 'A');
                f->methods[f->nmethods++] = name;
            }
        } else if (seen == &seen_headers) {
            if (hb_compile_strmap(&c, v, "headers", 1, &f->headers, &f->nheaders) != 0)
                goto Error;
        } else if (seen == &seen_query) {
            if (hb_compile_strmap(&c, v, "query", 0, &f->query, &f->nquery) != 0)
                goto Error;
        } else {
            hb_buf_puts(&c.path, "body");
            if ((f->body = hb_compile_filter(&c, v, 0)) == NULL)
                goto Error;
        }
    }
    hb_buf_dispose(&c.path);
    return f;
Error:
    if (where != NULL)
        *where = c.where;
    hb_buf_dispose(&c.path);
    hb_reqfilter_free(f);
    return NULL;
}

int hb_reqfilter_needs_body(const hb_reqfilter_t *f)
{
    return f->body != NULL;
}

int hb_header_get(const hb_request_t *req, const char *name, size_t namelen, hb_buf_t *out)
{
    int found = 0;
    out->len = 0;
    for (size_t i = 0; i < req->num_headers; i++) {
        const hb_header_t *h = &req->headers[i];
        if (hb_strcase_eq(h->name, h->name_len, name, namelen)) {
            if (found)
                hb_buf_append(out, ", ", 2);
            hb_buf_append(out, h->value, h->value_len);
            found = 1;
        }
    }
    return found;
}

int hb_query_get(const hb_request_t *req, const char *name, size_t namelen, hb_buf_t *out)
{
    if (req->query_at == SIZE_MAX)
        return 0;
    const char *q = req->path + req->query_at + 1, *end = req->path + req->path_len;
    const char *last = NULL, *last_end = NULL;
    hb_buf_t key;
    hb_buf_init(&key);
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *pe = amp != NULL ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(pe - q));
        const char *ke = eq != NULL ? eq : pe;
        hb_form_unescape(&key, q, (size_t)(ke - q));
        if (key.len == namelen && hb_mem_eq(key.base, name, namelen)) {
            last = eq != NULL ? eq + 1 : pe;
            last_end = pe;
        }
        q = pe + 1;
    }
    hb_buf_dispose(&key);
    if (last == NULL)
        return 0;
    hb_form_unescape(out, last, (size_t)(last_end - last));
    return 1;
}

/* A header or query rule against the value found (NULL when absent). */
static int hb_strrule_match(const hb_rule_t *r, const hb_buf_t *value, int present)
{
    msgpack_object o = {.type = MSGPACK_OBJECT_STR};
    o.via.str.ptr = value->base != NULL ? value->base : "";
    o.via.str.size = (uint32_t)value->len;
    const msgpack_object *v = present ? &o : NULL;
    if (r->kind == HB_R_SKIP)
        return 1;
    if (r->kind == HB_R_VALUES) {
        for (size_t j = 0; j < r->nvalues; j++)
            if (hb_strict_eq(&r->values[j], v))
                return 1;
        return 0;
    }
    for (size_t j = 0; j < r->nops; j++)
        if (!hb_op_match(&r->ops[j], v))
            return 0;
    return 1;
}

int hb_reqfilter_match(const hb_reqfilter_t *f, const hb_request_t *req, const msgpack_object *body, hb_buf_t *why)
{
    int ok = 1;
    hb_buf_t value;
    hb_buf_init(&value);
    if (f->nmethods != 0) {
        ok = 0;
        for (size_t i = 0; i < f->nmethods && !ok; i++)
            ok = strlen(f->methods[i]) == req->method_len && memcmp(f->methods[i], req->method, req->method_len) == 0;
        if (!ok && why != NULL)
            hb_buf_printf(why, "method: %.*s is not one of the listed methods", (int)req->method_len, req->method);
    }
    for (size_t i = 0; ok && i < f->nheaders; i++) {
        ok = hb_strrule_match(&f->headers[i], &value,
                              hb_header_get(req, f->headers[i].key, f->headers[i].keylen, &value));
        if (!ok && why != NULL)
            hb_buf_printf(why, "headers.%s: does not match", f->headers[i].key);
    }
    for (size_t i = 0; ok && i < f->nquery; i++) {
        ok = hb_strrule_match(&f->query[i], &value, hb_query_get(req, f->query[i].key, f->query[i].keylen, &value));
        if (!ok && why != NULL)
            hb_buf_printf(why, "query.%s: does not match", f->query[i].key);
    }
    if (ok && f->body != NULL) {
        /* a body that is absent or did not parse is undefined: only an empty body filter matches it */
        hb_buf_t bodywhy;
        hb_buf_init(&bodywhy);
        ok = hb_filter_match(f->body, body, why != NULL ? &bodywhy : NULL);
        if (!ok && why != NULL)
            hb_buf_printf(why, "body%s%s", body != NULL ? "." : ": not JSON or form, or nested too deeply; ",
                          bodywhy.base != NULL ? bodywhy.base : "");
        hb_buf_dispose(&bodywhy);
    }
    hb_buf_dispose(&value);
    return ok;
}
