/*
 * tests/fuzz/fuzz_filter.c: EventFilters and request filters, compiled and matched.
 *
 * Input: FILTER '\0' PAYLOAD '\0' REQUEST. FILTER is JSON, parsed to msgpack (as a configuration's filters are) and
 * compiled both as an EventFilter and as a request filter. PAYLOAD is JSON (absent or not JSON: undefined) that the
 * EventFilter is matched against, and the request filter's body. REQUEST is "METHOD PATH?QUERY" then lines
 * "name: value" (names lower-cased, as h2o hands them over).
 */
#include "filter.h"
#include "fuzz.h"

#define FZ_MAX_HEADERS 16

/* 1 when p is o or inside it: a compile error's `where` must point into the filter. */
static int fz_in_tree(const msgpack_object *o, const msgpack_object *p)
{
    if (o == p)
        return 1;
    if (o->type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (fz_in_tree(&o->via.array.ptr[i], p))
                return 1;
    } else if (o->type == MSGPACK_OBJECT_MAP) {
        for (uint32_t i = 0; i < o->via.map.size; i++)
            if (fz_in_tree(&o->via.map.ptr[i].key, p) || fz_in_tree(&o->via.map.ptr[i].val, p))
                return 1;
    }
    return 0;
}

/* Fills req from "METHOD PATH\nname: value\n..."; header names are lower-cased into names. */
static void fz_request(fz_span_t in, char *names, hb_header_t *headers, hb_request_t *req)
{
    const char *p = in.p, *end = in.p + in.n;
    const char *nl = memchr(p, '\n', in.n);
    const char *line_end = nl != NULL ? nl : end;
    const char *sp = memchr(p, ' ', (size_t)(line_end - p));
    *req = (hb_request_t){.method = "POST", .method_len = 4, .path = "/", .path_len = 1, .query_at = SIZE_MAX};
    if (sp != NULL) {
        req->method = p;
        req->method_len = (size_t)(sp - p);
        req->path = sp + 1;
        req->path_len = (size_t)(line_end - (sp + 1));
        const char *q = memchr(req->path, '?', req->path_len);
        req->query_at = q != NULL ? (size_t)(q - req->path) : SIZE_MAX;
    }
    p = nl != NULL ? nl + 1 : end;
    while (p < end && req->num_headers < FZ_MAX_HEADERS) {
        nl = memchr(p, '\n', (size_t)(end - p));
        line_end = nl != NULL ? nl : end;
        const char *colon = memchr(p, ':', (size_t)(line_end - p));
        if (colon != NULL) {
            size_t nlen = (size_t)(colon - p);
            char *name = names + (p - in.p); /* same offset in a copy of the same size */
            for (size_t i = 0; i < nlen; i++)
                name[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] + 32 : p[i]);
            const char *v = colon + 1;
            while (v < line_end && *v == ' ')
                v++;
            headers[req->num_headers++] = (hb_header_t){name, nlen, v, (size_t)(line_end - v)};
        }
        p = nl != NULL ? nl + 1 : end;
    }
    req->headers = headers;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_span_t parts[3];
    size_t n = fz_split(data, size, '\0', parts, 3);
    msgpack_sbuffer fsb, psb;
    msgpack_sbuffer_init(&fsb);
    msgpack_sbuffer_init(&psb);
    msgpack_unpacked fup, pup;
    msgpack_unpacked_init(&fup);
    msgpack_unpacked_init(&pup);
    char err[512];

    const msgpack_object *filter = fz_json(&fup, &fsb, parts[0].p, parts[0].n);
    const msgpack_object *payload = n > 1 ? fz_json(&pup, &psb, parts[1].p, parts[1].n) : NULL;
    if (filter != NULL) {
        err[0] = '\0';
        hb_filter_t *f = hb_filter_compile(filter, err, sizeof(err));
        if (f == NULL) {
            FZ_CHECK(err[0] != '\0', "a refused filter says why");
        } else {
            hb_buf_t why;
            hb_buf_init(&why);
            int m = hb_filter_match(f, payload, &why);
            FZ_CHECK(m == 0 || m == 1, "match is 0 or 1, not %d", m);
            FZ_CHECK(m == 1 || why.len > 0, "no match says why");
            FZ_CHECK(hb_filter_match(f, payload, NULL) == m, "the same answer without why");
            hb_buf_dispose(&why);
            hb_filter_free(f);
        }

        const msgpack_object *where = NULL;
        err[0] = '\0';
        hb_reqfilter_t *rf = hb_reqfilter_compile(filter, &where, err, sizeof(err));
        if (rf == NULL) {
            FZ_CHECK(err[0] != '\0', "a refused request filter says why");
            FZ_CHECK(where == NULL || fz_in_tree(filter, where), "where points into the filter");
        } else {
            fz_span_t rq = n > 2 ? parts[2] : (fz_span_t){"GET /webhooks/a?hub.mode=subscribe", 34};
            char *names = malloc(rq.n != 0 ? rq.n : 1);
            hb_header_t headers[FZ_MAX_HEADERS];
            hb_request_t req;
            fz_request(rq, names, headers, &req);
            hb_buf_t why;
            hb_buf_init(&why);
            int m = hb_reqfilter_match(rf, &req, payload, &why);
            FZ_CHECK(m == 0 || m == 1, "match is 0 or 1, not %d", m);
            FZ_CHECK(m == 1 || why.len > 0, "no match says why");
            FZ_CHECK(hb_reqfilter_match(rf, &req, payload, NULL) == m, "the same answer without why");
            (void)hb_reqfilter_needs_body(rf);
            hb_buf_dispose(&why);
            free(names);
            hb_reqfilter_free(rf);
        }
    }
    msgpack_unpacked_destroy(&fup);
    msgpack_unpacked_destroy(&pup);
    msgpack_sbuffer_destroy(&fsb);
    msgpack_sbuffer_destroy(&psb);
    fz_free_parts(parts, n);
    return 0;
}
