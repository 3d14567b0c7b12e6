#include "respond.h"

#include <stdio.h>
#include <string.h>

#include "filter.h"
#include "json.h"

typedef enum hb_part_kind { HB_P_TEXT, HB_P_QUERY, HB_P_HEADER, HB_P_BODY, HB_P_EMPTY } hb_part_kind_t;

typedef struct hb_part {
    hb_part_kind_t kind;
    int json;   /* {{json ...}} */
    char *text; /* HB_P_TEXT: the text; QUERY/HEADER: the name; BODY: the path after "body." ("" = the body) */
    size_t len;
} hb_part_t;

struct hb_template {
    hb_part_t *parts;
    size_t nparts;
    int needs_body;
};

void hb_template_free(hb_template_t *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nparts; i++)
        free(t->parts[i].text);
    free(t->parts);
    free(t);
}

static hb_part_t *hb_add_part(hb_template_t *t, hb_part_kind_t kind, const char *s, size_t len)
{
    t->parts = hb_xrealloc(t->parts, (t->nparts + 1) * sizeof(hb_part_t));
    hb_part_t *p = &t->parts[t->nparts++];
    p->kind = kind;
    p->json = 0;
    p->text = hb_xstrndup(s, len);
    p->len = len;
    return p;
}

static int hb_has_prefix(const char *s, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(s, prefix, n) == 0;
}

hb_template_t *hb_template_compile(const char *text, char *err, size_t errlen)
{
    hb_template_t *t = hb_xcalloc(1, sizeof(*t));
    const char *p = text;
    while (*p != '\0') {
        const char *open = strstr(p, "{{");
        if (open == NULL) {
            hb_add_part(t, HB_P_TEXT, p, strlen(p));
            break;
        }
        if (open > p)
            hb_add_part(t, HB_P_TEXT, p, (size_t)(open - p));
        const char *close = strstr(open + 2, "}}");
        if (close == NULL) {
            snprintf(err, errlen, "unclosed \"{{\" at offset %zu", (size_t)(open - text));
            hb_template_free(t);
            return NULL;
        }
        const char *v = open + 2, *end = close;
        while (v < end && *v == ' ')
            v++;
        while (end > v && end[-1] == ' ')
            end--;
        int json = 0;
        if (hb_has_prefix(v, (size_t)(end - v), "json ")) {
            json = 1;
            v += 5;
            while (v < end && *v == ' ')
                v++;
        }
        size_t len = (size_t)(end - v);
        hb_part_t *part;
        if (hb_has_prefix(v, len, "query."))
            part = hb_add_part(t, HB_P_QUERY, v + 6, len - 6);
        else if (hb_has_prefix(v, len, "header."))
            part = hb_add_part(t, HB_P_HEADER, v + 7, len - 7);
        else if (hb_has_prefix(v, len, "headers."))
            part = hb_add_part(t, HB_P_HEADER, v + 8, len - 8);
        /* cppcheck wrongly takes len as 0 here (from the space-trimming loops above) and calls both tests false */
        // cppcheck-suppress knownConditionTrueFalse
        else if (hb_has_prefix(v, len, "body.") || (len == 4 && memcmp(v, "body", 4) == 0))
            // cppcheck-suppress knownConditionTrueFalse
            part = hb_add_part(t, HB_P_BODY, v + (len > 4 ? 5 : 4), len > 4 ? len - 5 : 0);
        else
            part = hb_add_part(t, HB_P_EMPTY, v, len); /* unknown variables render empty */
        part->json = json;
        if (part->kind == HB_P_BODY)
            t->needs_body = 1;
        p = close + 2;
    }
    return t;
}

int hb_template_needs_body(const hb_template_t *t)
{
    return t->needs_body;
}

/* Follows a dotted path ("a.b.0") through maps (last duplicate key wins) and arrays. NULL when absent. */
static const msgpack_object *hb_body_path(const msgpack_object *o, const char *path, size_t len)
{
    size_t i = 0;
    while (o != NULL && i < len) {
        size_t j = i;
        while (j < len && path[j] != '.')
            j++;
        const msgpack_object *next = NULL;
        if (o->type == MSGPACK_OBJECT_MAP) {
            for (uint32_t k = 0; k < o->via.map.size; k++) {
                const msgpack_object *key = &o->via.map.ptr[k].key;
                if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == j - i &&
                    hb_mem_eq(key->via.str.ptr, path + i, j - i))
                    next = &o->via.map.ptr[k].val;
            }
        } else if (o->type == MSGPACK_OBJECT_ARRAY && j > i) {
            size_t idx = 0, k;
            for (k = i; k < j && path[k] >= '0' && path[k] <= '9' && idx < UINT32_MAX; k++)
                idx = idx * 10 + (size_t)(path[k] - '0');
            if (k == j && idx < o->via.array.size)
                next = &o->via.array.ptr[idx];
        }
        o = next;
        i = j + 1;
    }
    return o;
}

void hb_template_render(const hb_template_t *t, const hb_request_t *req, const msgpack_object *body, hb_buf_t *out)
{
    hb_buf_t value;
    hb_buf_init(&value);
    for (size_t i = 0; i < t->nparts; i++) {
        const hb_part_t *p = &t->parts[i];
        int found = 0;
        value.len = 0;
        switch (p->kind) {
        case HB_P_TEXT:
            hb_buf_append(out, p->text, p->len);
            continue;
        case HB_P_EMPTY:
            continue;
        case HB_P_QUERY:
            found = hb_query_get(req, p->text, p->len, &value);
            break;
        case HB_P_HEADER:
            found = hb_header_get(req, p->text, p->len, &value);
            break;
        case HB_P_BODY: {
            const msgpack_object *v = body != NULL ? hb_body_path(body, p->text, p->len) : NULL;
            if (v == NULL)
                break;
            /* as JSON when asked for ({{json body.x}}) and for what has no plain text form */
            if (!p->json && v->type == MSGPACK_OBJECT_STR)
                hb_buf_append(out, v->via.str.ptr, v->via.str.size);
            else if (!p->json && (v->type == MSGPACK_OBJECT_FLOAT32 || v->type == MSGPACK_OBJECT_FLOAT64))
                hb_js_number(v->via.f64, out);
            else
                hb_msgpack_to_json(v, out);
            continue;
        }
        }
        if (!found)
            continue;
        if (p->json)
            hb_json_str(out, value.base, value.len);
        else
            hb_buf_append(out, value.base, value.len);
    }
    hb_buf_dispose(&value);
}
