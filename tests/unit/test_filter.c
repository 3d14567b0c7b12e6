/* tests/unit/test_filter.c: EventFilter and request filter semantics (Trigger.dev v2), table-driven. */
#include <stdlib.h>
#include <string.h>

#include "body.h"
#include "filter.h"
#include "json.h"
#include "tap.h"

/* Parses JSON text into an unpacked msgpack object (owned by up). Returns NULL for "" (undefined). */
static const msgpack_object *parse(msgpack_unpacked *up, msgpack_sbuffer *sb, const char *json)
{
    char err[256];
    if (*json == '\0')
        return NULL;
    sb->size = 0;
    if (hb_json_to_msgpack(json, strlen(json), HB_BODY_MAX_DEPTH, sb, err, sizeof(err)) != 0) {
        printf("# bad JSON in the test itself: %s: %s\n", json, err);
        abort();
    }
    size_t off = 0;
    msgpack_unpack_next(up, sb->data, sb->size, &off);
    return &up->data;
}

typedef struct {
    const char *filter, *payload; /* payload "" = undefined */
    int expected;
} match_row_t;

/* Every rule and operator of the issue, each with a matching and a non-matching case. */
static const match_row_t match_rows[] = {
    /* values: strict equality, one of */
    {"{\"a\":[\"x\",\"y\"]}", "{\"a\":\"y\"}", 1},
    {"{\"a\":[\"x\",\"y\"]}", "{\"a\":\"z\"}", 0},
    {"{\"a\":[1]}", "{\"a\":\"1\"}", 0},
    {"{\"a\":[\"1\"]}", "{\"a\":1}", 0},
    {"{\"a\":[1]}", "{\"a\":1.0}", 1},
    {"{\"a\":[true]}", "{\"a\":true}", 1},
    {"{\"a\":[true]}", "{\"a\":1}", 0},
    {"{\"a\":[\"x\"]}", "{\"a\":[\"x\"]}", 0}, /* a payload array never matches a value list */
    {"{\"a\":[\"x\"]}", "{}", 0},
    {"{\"a\":[\"x\"]}", "{\"a\":null}", 0},
    /* empty list: skipped, even when the field is missing */
    {"{\"a\":[]}", "{}", 1},
    {"{\"a\":[],\"b\":[2]}", "{\"b\":2}", 1},
    /* every key must match */
    {"{\"a\":[1],\"b\":[2]}", "{\"a\":1,\"b\":2}", 1},
    {"{\"a\":[1],\"b\":[2]}", "{\"a\":1,\"b\":3}", 0},
    /* a key is one property name, never a path */
    {"{\"hub.mode\":[\"subscribe\"]}", "{\"hub.mode\":\"subscribe\"}", 1},
    {"{\"hub.mode\":[\"subscribe\"]}", "{\"hub\":{\"mode\":\"subscribe\"}}", 0},
    /* fuzz_filter: an empty key (msgpack-c's (NULL, 0) string) is a key like any other */
    {"{\"\":{\"a\":[1]}}", "{\"\":{\"a\":1}}", 1},
    {"{\"\":{\"a\":[1]}}", "{\"b\":{\"a\":1}}", 0},
    /* duplicate JSON keys: the last one wins, as JSON.parse */
    {"{\"a\":[2]}", "{\"a\":1,\"a\":2}", 1},
    {"{\"a\":[1]}", "{\"a\":1,\"a\":2}", 0},
    /* nested objects, arrays of objects: any element */
    {"{\"a\":{\"b\":[1]}}", "{\"a\":{\"b\":1}}", 1},
    {"{\"a\":{\"b\":[1]}}", "{\"a\":{\"b\":2}}", 0},
    {"{\"a\":{\"b\":[1]}}", "{\"a\":[{\"b\":2},{\"b\":1}]}", 1},
    {"{\"a\":{\"b\":[1]}}", "{\"a\":[{\"b\":2},{\"b\":3}]}", 0},
    {"{\"a\":{\"b\":[1]}}", "{}", 0},
    {"{\"a\":{\"b\":[1]}}", "{\"a\":null}", 0},
    {"{\"a\":{}}", "{}", 1},
    {"{\"a\":{}}", "{\"a\":null}", 1},
    {"{\"a\":{\"b\":[]}}", "{}", 0}, /* not empty: it has a key */
    /* undefined and null payloads */
    {"{}", "", 1},
    {"{}", "null", 1},
    {"{\"a\":[]}", "", 0},
    {"{\"a\":[1]}", "null", 0},
    /* operators in one list: all must match */
    {"{\"a\":[{\"$startsWith\":\"Jo\"},{\"$endsWith\":\"hn\"}]}", "{\"a\":\"John\"}", 1},
    {"{\"a\":[{\"$startsWith\":\"Jo\"},{\"$endsWith\":\"hx\"}]}", "{\"a\":\"John\"}", 0},
    {"{\"a\":[{\"$startsWith\":\"1\"}]}", "{\"a\":12}", 0},
    /* fuzz_filter: empty strings (msgpack-c's (NULL, 0)) as keys, values and operator arguments */
    {"{\"\":[1]}", "{\"\":1}", 1},
    {"{\"a\":[\"\"]}", "{\"a\":\"\"}", 1},
    {"{\"a\":[\"\"]}", "{\"a\":\"x\"}", 0},
    {"{\"a\":[{\"$startsWith\":\"\"},{\"$endsWith\":\"\"}]}", "{\"a\":\"\"}", 1},
    {"{\"a\":[{\"$endsWith\":\"x\"}]}", "{\"a\":\"\"}", 0},
    {"{\"a\":[{\"$endsWith\":\".png\"}]}", "{\"a\":\"x.png\"}", 1},
    {"{\"a\":[{\"$endsWith\":\".png\"}]}", "{\"a\":[\"x.png\"]}", 0},
    {"{\"a\":[{\"$endsWith\":\"\"}]}", "{\"a\":\"\"}", 1},
    /* $ignoreCaseEquals: case-insensitive, accent-sensitive */
    {"{\"a\":[{\"$ignoreCaseEquals\":\"john\"}]}", "{\"a\":\"JOHN\"}", 1},
    {"{\"a\":[{\"$ignoreCaseEquals\":\"john\"}]}", "{\"a\":\"Johnny\"}", 0},
    {"{\"a\":[{\"$ignoreCaseEquals\":\"éclair\"}]}", "{\"a\":\"Éclair\"}", 1},
    {"{\"a\":[{\"$ignoreCaseEquals\":\"eclair\"}]}", "{\"a\":\"Éclair\"}", 0},
    {"{\"a\":[{\"$ignoreCaseEquals\":\"straße\"}]}", "{\"a\":\"STRAẞE\"}", 1},
    {"{\"a\":[{\"$ignoreCaseEquals\":\"Ωmega\"}]}", "{\"a\":\"ωMEGA\"}", 1},
    {"{\"a\":[{\"$ignoreCaseEquals\":\"1\"}]}", "{\"a\":1}", 0},
    /* $anythingBut: scalar or list; a missing field matches */
    {"{\"a\":[{\"$anythingBut\":\"x\"}]}", "{\"a\":\"y\"}", 1},
    {"{\"a\":[{\"$anythingBut\":\"x\"}]}", "{\"a\":\"x\"}", 0},
    {"{\"a\":[{\"$anythingBut\":[\"x\",\"y\"]}]}", "{\"a\":\"y\"}", 0},
    {"{\"a\":[{\"$anythingBut\":[\"x\",\"y\"]}]}", "{\"a\":\"z\"}", 1},
    {"{\"a\":[{\"$anythingBut\":\"x\"}]}", "{}", 1},
    {"{\"a\":[{\"$anythingBut\":1}]}", "{\"a\":\"1\"}", 1},
    /* $exists: null counts as existing */
    {"{\"a\":[{\"$exists\":true}]}", "{\"a\":null}", 1},
    {"{\"a\":[{\"$exists\":true}]}", "{}", 0},
    {"{\"a\":[{\"$exists\":false}]}", "{}", 1},
    {"{\"a\":[{\"$exists\":false}]}", "{\"a\":0}", 0},
    /* $isNull */
    {"{\"a\":[{\"$isNull\":true}]}", "{\"a\":null}", 1},
    {"{\"a\":[{\"$isNull\":true}]}", "{}", 0},
    {"{\"a\":[{\"$isNull\":false}]}", "{}", 1},
    {"{\"a\":[{\"$isNull\":false}]}", "{\"a\":null}", 0},
    /* numeric comparisons: numbers only */
    {"{\"a\":[{\"$gt\":5}]}", "{\"a\":6}", 1},
    {"{\"a\":[{\"$gt\":5}]}", "{\"a\":5}", 0},
    {"{\"a\":[{\"$gt\":5}]}", "{\"a\":\"6\"}", 0},
    {"{\"a\":[{\"$gte\":5}]}", "{\"a\":5}", 1},
    {"{\"a\":[{\"$gte\":5}]}", "{\"a\":4.99}", 0},
    {"{\"a\":[{\"$lt\":0}]}", "{\"a\":-1}", 1},
    {"{\"a\":[{\"$lt\":0}]}", "{\"a\":0}", 0},
    {"{\"a\":[{\"$lte\":1.5}]}", "{\"a\":1.5}", 1},
    {"{\"a\":[{\"$lte\":1.5}]}", "{\"a\":2}", 0},
    {"{\"a\":[{\"$between\":[1,5]}]}", "{\"a\":5}", 1},
    {"{\"a\":[{\"$between\":[1,5]}]}", "{\"a\":1}", 1},
    {"{\"a\":[{\"$between\":[1,5]}]}", "{\"a\":5.01}", 0},
    {"{\"a\":[{\"$between\":[1,5]}]}", "{\"a\":\"5\"}", 0},
    {"{\"a\":[{\"$gt\":1e20}]}", "{\"a\":18446744073709551615}", 0},
    {"{\"a\":[{\"$gt\":-1e20}]}", "{\"a\":-9223372036854775808}", 1},
    /* $includes: the value must be an array containing the scalar */
    {"{\"a\":[{\"$includes\":\"x\"}]}", "{\"a\":[\"w\",\"x\"]}", 1},
    {"{\"a\":[{\"$includes\":\"x\"}]}", "{\"a\":[\"w\"]}", 0},
    {"{\"a\":[{\"$includes\":\"x\"}]}", "{\"a\":\"x\"}", 0},
    {"{\"a\":[{\"$includes\":2}]}", "{\"a\":[1,2.0]}", 1},
    /* $not: array → does not contain; scalar → differs; missing, null, object → false */
    {"{\"a\":[{\"$not\":\"x\"}]}", "{\"a\":\"y\"}", 1},
    {"{\"a\":[{\"$not\":\"x\"}]}", "{\"a\":\"x\"}", 0},
    {"{\"a\":[{\"$not\":\"x\"}]}", "{\"a\":[\"y\"]}", 1},
    {"{\"a\":[{\"$not\":\"x\"}]}", "{\"a\":[\"x\"]}", 0},
    {"{\"a\":[{\"$not\":\"x\"}]}", "{}", 0},
    {"{\"a\":[{\"$not\":\"x\"}]}", "{\"a\":null}", 0},
    {"{\"a\":[{\"$not\":\"x\"}]}", "{\"a\":{\"b\":1}}", 0},
    {"{\"a\":[{\"$not\":false}]}", "{\"a\":true}", 1},
};

typedef struct {
    const char *filter, *error; /* a substring of the message */
} compile_row_t;

static const compile_row_t compile_rows[] = {
    {"{\"a\":[{\"$startWith\":\"x\"}]}", "a[0]: unknown operator \"$startWith\""},
    {"{\"a\":[{\"$startsWith\":\"x\",\"$endsWith\":\"y\"}]}", "a[0]: an operator object holds exactly one operator"},
    {"{\"a\":[\"x\",1]}", "a: a list mixes a string and a number"},
    {"{\"a\":[true,\"x\"]}", "a: a list mixes a boolean and a string"},
    {"{\"a\":[\"x\",{\"$startsWith\":\"y\"}]}",
     "a: a list of values holds strings, numbers or booleans, not an object"},
    {"{\"a\":[{\"$startsWith\":\"y\"},\"x\"]}", "a[1]: a list mixes operator objects and a string"},
    {"{\"a\":\"x\"}", "a: expected a list"},
    {"{\"a\":5}", "a: expected a list"},
    {"{\"a\":{\"b\":true}}", "a.b: expected a list"},
    {"{\"a\":[null]}", "a: a list of values holds strings, numbers or booleans, not null"},
    {"{\"a\":[[1]]}", "not an array"},
    {"{\"a\":{\"$startsWith\":\"Jo\"}}", "a.$startsWith: an operator must be inside a list"},
    {"{\"a\":[{\"$gt\":\"5\"}]}", "$gt takes a number, not a string"},
    {"{\"a\":[{\"$between\":[1]}]}", "$between takes [low, high]"},
    {"{\"a\":[{\"$between\":[1,\"2\"]}]}", "$between takes [low, high]"},
    {"{\"a\":[{\"$exists\":1}]}", "$exists takes true or false"},
    {"{\"a\":[{\"$startsWith\":1}]}", "$startsWith takes a string, not a number"},
    {"{\"a\":[{\"$includes\":[1]}]}", "$includes takes a string, a number or a boolean"},
    {"{\"a\":[{\"$not\":null}]}", "$not takes a string, a number or a boolean"},
    {"[1]", "a filter is an object, not an array"},
};

static void test_conformance(void)
{
    FILE *fp = fopen("data/eventfilter-triggerdev.json", "rb");
    if (!ok(fp != NULL, "the conformance file is readable"))
        return;
    hb_buf_t text;
    hb_buf_init(&text);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) != 0)
        hb_buf_append(&text, chunk, n);
    fclose(fp);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    const msgpack_object *cases = parse(&up, &sb, text.base);
    ok(cases->type == MSGPACK_OBJECT_ARRAY && cases->via.array.size >= 30, "conformance: %u cases",
       cases->via.array.size);
    for (uint32_t i = 0; i < cases->via.array.size; i++) {
        const msgpack_object *c = &cases->via.array.ptr[i], *name = NULL, *filter = NULL, *payload = NULL,
                             *expected = NULL;
        for (uint32_t k = 0; k < c->via.map.size; k++) {
            const msgpack_object_str *key = &c->via.map.ptr[k].key.via.str;
            const msgpack_object *v = &c->via.map.ptr[k].val;
            if (key->size == 4 && memcmp(key->ptr, "name", 4) == 0)
                name = v;
            else if (key->size == 6 && memcmp(key->ptr, "filter", 6) == 0)
                filter = v;
            else if (key->size == 7 && memcmp(key->ptr, "payload", 7) == 0)
                payload = v;
            else if (key->size == 8 && memcmp(key->ptr, "expected", 8) == 0)
                expected = v;
        }
        if (payload != NULL && payload->type == MSGPACK_OBJECT_STR && payload->via.str.size == 13 &&
            memcmp(payload->via.str.ptr, "__undefined__", 13) == 0)
            payload = NULL;
        char err[256];
        hb_filter_t *f = hb_filter_compile(filter, err, sizeof(err));
        if (!ok(f != NULL, "conformance %u compiles (%s)", i, f == NULL ? err : ""))
            continue;
        hb_buf_t why;
        hb_buf_init(&why);
        int got = hb_filter_match(f, payload, &why);
        is_int(got, expected->via.boolean, "conformance: %.*s%s%s", (int)name->via.str.size, name->via.str.ptr,
               got ? "" : " / why: ", got ? "" : why.base);
        hb_buf_dispose(&why);
        hb_filter_free(f);
    }
    msgpack_unpacked_destroy(&up);
    msgpack_sbuffer_destroy(&sb);
    hb_buf_dispose(&text);
}

static void test_match_rows(void)
{
    msgpack_sbuffer fsb, psb;
    msgpack_sbuffer_init(&fsb);
    msgpack_sbuffer_init(&psb);
    for (size_t i = 0; i < sizeof(match_rows) / sizeof(match_rows[0]); i++) {
        const match_row_t *row = &match_rows[i];
        msgpack_unpacked fup, pup;
        msgpack_unpacked_init(&fup);
        msgpack_unpacked_init(&pup);
        char err[256];
        hb_filter_t *f = hb_filter_compile(parse(&fup, &fsb, row->filter), err, sizeof(err));
        if (ok(f != NULL, "compiles %s%s%s", row->filter, f ? "" : ": ", f ? "" : err)) {
            hb_buf_t why;
            hb_buf_init(&why);
            int got = hb_filter_match(f, parse(&pup, &psb, row->payload), &why);
            is_int(got, row->expected, "%s against %s", row->filter, *row->payload ? row->payload : "undefined");
            /* a non-match says which key failed */
            if (!got)
                ok(why.len > 0 && why.base[0] != ':', "no match says why: %s", why.base ? why.base : "");
            is_int(hb_filter_match(f, parse(&pup, &psb, row->payload), NULL), got, "same answer without why");
            hb_buf_dispose(&why);
        }
        hb_filter_free(f);
        msgpack_unpacked_destroy(&fup);
        msgpack_unpacked_destroy(&pup);
    }
    msgpack_sbuffer_destroy(&fsb);
    msgpack_sbuffer_destroy(&psb);
}

static void test_compile_errors(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < sizeof(compile_rows) / sizeof(compile_rows[0]); i++) {
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        char err[256] = "";
        hb_filter_t *f = hb_filter_compile(parse(&up, &sb, compile_rows[i].filter), err, sizeof(err));
        ok(f == NULL && strstr(err, compile_rows[i].error) != NULL, "refused %s: \"%s\" (want \"%s\")",
           compile_rows[i].filter, err, compile_rows[i].error);
        hb_filter_free(f);
        msgpack_unpacked_destroy(&up);
    }
    msgpack_sbuffer_destroy(&sb);
}

/* ---- request filters ---- */

typedef struct {
    const char *filter, *method, *url, *body; /* body "" = none or unparsable */
    int expected;
} req_row_t;

/* Request headers of every row (as the server builds them: names lower-case, in the order received). */
static const hb_header_t req_headers[] = {
    {"x-event", 7, "push", 4}, {"x-dup", 5, "a", 1},   {"content-type", 12, "application/json; charset=utf-8", 31},
    {"x-dup", 5, "b", 1},      {"X-Upper", 7, "v", 1}, /* h2o lower-cases names; the match does not rely on it */
};

/* Each part of a request filter, each with a matching and a non-matching case. */
static const req_row_t req_rows[] = {
    /* the empty filter matches every request, with or without a body */
    {"{}", "GET", "/w", "", 1},
    {"{}", "POST", "/w?a=1", "{\"x\":1}", 1},
    /* method: one of the list; written in any case, matched as sent (HTTP methods are case-sensitive) */
    {"{\"method\":[\"GET\"]}", "GET", "/w", "", 1},
    {"{\"method\":[\"get\"]}", "GET", "/w", "", 1},
    {"{\"method\":[\"GET\"]}", "POST", "/w", "", 0},
    {"{\"method\":[\"GET\"]}", "get", "/w", "", 0},
    {"{\"method\":[\"GET\"]}", "GETX", "/w", "", 0},
    {"{\"method\":[\"GET\",\"POST\"]}", "POST", "/w", "", 1},
    {"{\"method\":[\"GET\",\"POST\"]}", "PUT", "/w", "", 0},
    {"{\"method\":[]}", "PATCH", "/w", "", 1}, /* an empty list is skipped, as in an EventFilter */
    /* query: decoded, the last repeated parameter wins */
    {"{\"query\":{\"hub.mode\":[\"subscribe\"]}}", "GET", "/w?hub.mode=subscribe&hub.challenge=1", "", 1},
    {"{\"query\":{\"hub.mode\":[\"subscribe\"]}}", "GET", "/w?hub.mode=unsubscribe", "", 0},
    {"{\"query\":{\"a\":[\"2\"]}}", "GET", "/w?a=1&a=2", "", 1},
    {"{\"query\":{\"a\":[\"1\"]}}", "GET", "/w?a=1&a=2", "", 0},
    {"{\"query\":{\"a b\":[\"c d\"]}}", "GET", "/w?a+b=c%20d", "", 1},
    {"{\"query\":{\"a b\":[\"c d\"]}}", "GET", "/w?a+b=c+e", "", 0},
    {"{\"query\":{\"a\":[\"x\"]}}", "GET", "/w", "", 0},
    {"{\"query\":{\"A\":[\"x\"]}}", "GET", "/w?a=x", "", 0}, /* query names are case-sensitive */
    {"{\"query\":{\"flag\":[\"\"]}}", "GET", "/w?flag", "", 1},
    {"{\"query\":{\"flag\":[\"\"]}}", "GET", "/w?flags", "", 0},
    {"{\"query\":{\"a\":[]}}", "GET", "/w", "", 1},
    {"{\"query\":{\"a\":[\"1\"],\"b\":[\"2\"]}}", "GET", "/w?b=2&a=1", "", 1},
    {"{\"query\":{\"a\":[\"1\"],\"b\":[\"2\"]}}", "GET", "/w?b=3&a=1", "", 0},
    /* query operators; several in one list must all match */
    {"{\"query\":{\"hub.mode\":[{\"$startsWith\":\"sub\"}]}}", "GET", "/w?hub.mode=subscribe", "", 1},
    {"{\"query\":{\"hub.mode\":[{\"$startsWith\":\"sub\"}]}}", "GET", "/w?hub.mode=unsubscribe", "", 0},
    {"{\"query\":{\"f\":[{\"$endsWith\":\".png\"}]}}", "GET", "/w?f=a.png", "", 1},
    {"{\"query\":{\"f\":[{\"$endsWith\":\".png\"}]}}", "GET", "/w?f=a.png.exe", "", 0},
    {"{\"query\":{\"m\":[{\"$ignoreCaseEquals\":\"Subscribe\"}]}}", "GET", "/w?m=SUBSCRIBE", "", 1},
    {"{\"query\":{\"m\":[{\"$ignoreCaseEquals\":\"Subscribe\"}]}}", "GET", "/w?m=SUBSCRIBED", "", 0},
    {"{\"query\":{\"m\":[{\"$startsWith\":\"s\"}]}}", "GET", "/w", "", 0}, /* absent: an operator fails */
    {"{\"query\":{\"m\":[{\"$startsWith\":\"a\"},{\"$endsWith\":\"z\"}]}}", "GET", "/w?m=abcz", "", 1},
    {"{\"query\":{\"m\":[{\"$startsWith\":\"a\"},{\"$endsWith\":\"z\"}]}}", "GET", "/w?m=abc", "", 0},
    /* headers: names case-insensitive both ways; `header` is another name for `headers` */
    {"{\"headers\":{\"X-Event\":[\"push\"]}}", "POST", "/w", "", 1},
    {"{\"headers\":{\"x-event\":[\"ping\"]}}", "POST", "/w", "", 0},
    {"{\"headers\":{\"x-event\":[\"PUSH\"]}}", "POST", "/w", "", 0}, /* values are case-sensitive */
    {"{\"headers\":{\"x-upper\":[\"v\"]}}", "POST", "/w", "", 1},
    {"{\"headers\":{\"X-UPPER\":[\"w\"]}}", "POST", "/w", "", 0},
    {"{\"header\":{\"X-EVENT\":[\"push\"]}}", "POST", "/w", "", 1},
    {"{\"header\":{\"x-event\":[\"pull\"]}}", "POST", "/w", "", 0},
    {"{\"header\":{\"x-event\":[{\"$ignoreCaseEquals\":\"PUSH\"}]}}", "POST", "/w", "", 1},
    {"{\"header\":{\"x-event\":[{\"$ignoreCaseEquals\":\"PUSHED\"}]}}", "POST", "/w", "", 0},
    {"{\"headers\":{\"content-type\":[{\"$startsWith\":\"application/json\"}]}}", "POST", "/w", "", 1},
    {"{\"headers\":{\"content-type\":[{\"$startsWith\":\"text/\"}]}}", "POST", "/w", "", 0},
    {"{\"headers\":{\"x-missing\":[{\"$startsWith\":\"a\"}]}}", "POST", "/w", "", 0},
    {"{\"headers\":{\"x-missing\":[]}}", "POST", "/w", "", 1},
    /* repeated headers: joined with ", " in the order received */
    {"{\"headers\":{\"x-dup\":[\"a, b\"]}}", "POST", "/w", "", 1},
    {"{\"headers\":{\"x-dup\":[\"a\"]}}", "POST", "/w", "", 0},
    {"{\"headers\":{\"x-dup\":[\"b\"]}}", "POST", "/w", "", 0},
    {"{\"headers\":{\"x-dup\":[\"a,b\"]}}", "POST", "/w", "", 0},
    {"{\"headers\":{\"x-dup\":[{\"$endsWith\":\", b\"}]}}", "POST", "/w", "", 1},
    /* body: an EventFilter on the parsed body; no body, or one that did not parse, matches only {} */
    {"{\"body\":{\"type\":[\"url_verification\"]}}", "POST", "/w", "{\"type\":\"url_verification\"}", 1},
    {"{\"body\":{\"type\":[\"url_verification\"]}}", "POST", "/w", "{\"type\":\"event_callback\"}", 0},
    {"{\"body\":{\"type\":[\"url_verification\"]}}", "POST", "/w", "", 0},
    {"{\"body\":{\"type\":[\"url_verification\"]}}", "POST", "/w", "null", 0},
    {"{\"body\":{\"type\":[\"url_verification\"]}}", "POST", "/w", "[{\"type\":\"url_verification\"}]", 0},
    {"{\"body\":{}}", "POST", "/w", "", 1},
    {"{\"body\":{\"data\":{\"n\":[{\"$gte\":10}]}}}", "POST", "/w", "{\"data\":{\"n\":10}}", 1},
    {"{\"body\":{\"data\":{\"n\":[{\"$gte\":10}]}}}", "POST", "/w", "{\"data\":{\"n\":9}}", 0},
    {"{\"body\":{\"data\":{\"n\":[{\"$gte\":10}]}}}", "POST", "/w", "{\"data\":{\"n\":\"10\"}}", 0},
    /* every part must match */
    {"{\"method\":[\"POST\"],\"query\":{\"v\":[\"1\"]},\"body\":{\"n\":[{\"$gt\":1}]}}", "POST", "/w?v=1", "{\"n\":2}",
     1},
    {"{\"method\":[\"POST\"],\"query\":{\"v\":[\"1\"]},\"body\":{\"n\":[{\"$gt\":1}]}}", "POST", "/w?v=2", "{\"n\":2}",
     0},
    {"{\"method\":[\"POST\"],\"query\":{\"v\":[\"1\"]},\"body\":{\"n\":[{\"$gt\":1}]}}", "GET", "/w?v=1", "{\"n\":2}",
     0},
    {"{\"method\":[\"POST\"],\"query\":{\"v\":[\"1\"]},\"body\":{\"n\":[{\"$gt\":1}]}}", "POST", "/w?v=1", "{\"n\":1}",
     0},
    {"{\"headers\":{\"x-event\":[\"push\"]},\"query\":{\"v\":[\"1\"]}}", "POST", "/w?v=1", "", 1},
    {"{\"headers\":{\"x-event\":[\"ping\"]},\"query\":{\"v\":[\"1\"]}}", "POST", "/w?v=1", "", 0},
};

typedef struct {
    const char *filter, *error; /* a substring of the message */
    const char *where;          /* the key or value at fault, as JSON */
} req_compile_row_t;

/* Refused request filters: the message, and the key or value it points at (config.c turns that into line:col). */
static const req_compile_row_t req_compile_rows[] = {
    {"[1]", "a request filter is an object with method, headers, query and body, not an array", "[1]"},
    {"{\"methods\":[\"GET\"]}", "unknown key \"methods\" in a request filter", "\"methods\""},
    {"{\"method\":\"GET\"}", "method: method is a list such as [POST], not a string", "\"GET\""},
    {"{\"method\":[\"GET\",1]}", "method: methods are strings, not a number", "1"},
    {"{\"method\":[\"GET,POST\"]}", "\"GET,POST\" is not an HTTP method", "\"GET,POST\""},
    {"{\"method\":[\"\"]}", "\"\" is not an HTTP method", "\"\""},
    {"{\"headers\":[\"x-a\"]}", "headers is a map of name → list, not an array", "[\"x-a\"]"},
    {"{\"header\":\"x-a\"}", "headers is a map of name → list, not a string", "\"x-a\""},
    {"{\"headers\":{\"x a\":[\"1\"]}}", "\"x a\" is not a header name", "\"x a\""},
    {"{\"headers\":{\"a\":{\"b\":[\"c\"]}}}", "headers.a: expected a list", "{\"b\":[\"c\"]}"},
    {"{\"headers\":{\"a\":\"b\"}}", "headers.a: expected a list", "\"b\""},
    {"{\"headers\":{\"a\":[{\"$gt\":1}]}}",
     "headers.a: headers takes only $startsWith, $endsWith and $ignoreCaseEquals", "\"$gt\""},
    {"{\"headers\":{\"a\":[\"x\",{\"$exists\":true}]}}", "headers.a: a list of values holds strings",
     "{\"$exists\":true}"},
    {"{\"query\":{\"a\":[1]}}", "query.a: query values are strings: quote them", "1"},
    {"{\"query\":{\"a\":[true]}}", "query values are strings", "true"},
    {"{\"query\":{\"a\":[\"x\",true]}}", "query.a: a list mixes a string and a boolean", "true"},
    {"{\"query\":{\"a\":[{\"$gt\":1}]}}",
     "query.a: query takes only $startsWith, $endsWith and $ignoreCaseEquals, not $gt", "\"$gt\""},
    {"{\"query\":{\"a\":[{\"$anythingBut\":\"x\"}]}}", "query takes only $startsWith", "\"$anythingBut\""},
    {"{\"query\":{\"a\":[{\"$startWith\":\"x\"}]}}", "query.a[0]: unknown operator \"$startWith\"", "\"$startWith\""},
    {"{\"query\":{\"a\":[{\"$startsWith\":1}]}}", "query.a[0]: $startsWith takes a string, not a number", "1"},
    {"{\"query\":{\"a\":[{\"$startsWith\":\"x\",\"$endsWith\":\"y\"}]}}",
     "query.a[0]: an operator object holds exactly one operator", "{\"$startsWith\":\"x\",\"$endsWith\":\"y\"}"},
    {"{\"query\":5}", "query is a map of name → list, not a number", "5"},
    {"{\"body\":[1]}", "body: a filter is an object, not an array", "[1]"},
    {"{\"body\":{\"a\":\"b\"}}", "body.a: expected a list", "\"b\""},
    {"{\"body\":{\"a\":{\"b\":[\"x\",2]}}}", "body.a.b: a list mixes a string and a number", "2"},
    {"{\"body\":{\"a\":[{\"$startWith\":\"x\"}]}}", "body.a[0]: unknown operator \"$startWith\"", "\"$startWith\""},
    {"{\"body\":{\"a\":[{\"$gt\":1,\"$lt\":5}]}}", "body.a[0]: an operator object holds exactly one operator",
     "{\"$gt\":1,\"$lt\":5}"},
    {"{\"body\":{\"a\":[{\"$between\":[1]}]}}", "body.a[0]: $between takes [low, high]", "[1]"},
    {"{\"body\":{\"a\":{\"$startsWith\":\"x\"}}}", "an operator must be inside a list", "\"$startsWith\""},
    /* a part given twice (JSON and YAML allow repeated keys): refused, not replaced or overrun */
    {"{\"method\":[\"GET\",\"PUT\"],\"method\":[\"POST\"]}", "method is given twice", "\"method\""},
    {"{\"headers\":{\"a\":[\"x\"]},\"header\":{\"b\":[\"y\"],\"c\":[\"z\"]}}",
     "header is given twice (header and headers are one key)", "\"header\""},
    {"{\"query\":{\"a\":[\"x\"]},\"query\":{\"b\":[\"y\"],\"c\":[\"z\"]}}", "query is given twice", "\"query\""},
    {"{\"body\":{},\"body\":{}}", "body is given twice", "\"body\""},
};

/* 1 when obj is root or one of its keys or values, by address. */
static int contains(const msgpack_object *root, const msgpack_object *obj)
{
    if (root == obj)
        return 1;
    if (root->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < root->via.map.size; i++)
            if (&root->via.map.ptr[i].key == obj || contains(&root->via.map.ptr[i].val, obj))
                return 1;
    if (root->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < root->via.array.size; i++)
            if (contains(&root->via.array.ptr[i], obj))
                return 1;
    return 0;
}

static void test_request_filters(void)
{
    msgpack_sbuffer fsb, bsb;
    msgpack_sbuffer_init(&fsb);
    msgpack_sbuffer_init(&bsb);
    for (size_t i = 0; i < sizeof(req_rows) / sizeof(req_rows[0]); i++) {
        const req_row_t *row = &req_rows[i];
        msgpack_unpacked fup, bup;
        msgpack_unpacked_init(&fup);
        msgpack_unpacked_init(&bup);
        char err[256];
        hb_reqfilter_t *f = hb_reqfilter_compile(parse(&fup, &fsb, row->filter), NULL, err, sizeof(err));
        if (ok(f != NULL, "request filter compiles: %s%s%s", row->filter, f ? "" : ": ", f ? "" : err)) {
            const char *q = strchr(row->url, '?');
            hb_request_t req = {.method = row->method,
                                .method_len = strlen(row->method),
                                .path = row->url,
                                .path_len = strlen(row->url),
                                .query_at = q != NULL ? (size_t)(q - row->url) : SIZE_MAX,
                                .headers = req_headers,
                                .num_headers = sizeof(req_headers) / sizeof(req_headers[0])};
            ok(hb_reqfilter_needs_body(f) == (strstr(row->filter, "\"body\"") != NULL), "needs_body for %s",
               row->filter);
            hb_buf_t why;
            hb_buf_init(&why);
            int got = hb_reqfilter_match(f, &req, parse(&bup, &bsb, row->body), &why);
            is_int(got, row->expected, "%s against %s %s %s%s%s", row->filter, row->method, row->url, row->body,
                   got ? "" : " / why: ", got ? "" : why.base);
            if (!got)
                ok(why.len > 0, "no match says why: %s", why.base != NULL ? why.base : "");
            is_int(hb_reqfilter_match(f, &req, parse(&bup, &bsb, row->body), NULL), got, "same answer without why");
            hb_buf_dispose(&why);
        }
        hb_reqfilter_free(f);
        msgpack_unpacked_destroy(&fup);
        msgpack_unpacked_destroy(&bup);
    }
    for (size_t i = 0; i < sizeof(req_compile_rows) / sizeof(req_compile_rows[0]); i++) {
        const req_compile_row_t *row = &req_compile_rows[i];
        msgpack_unpacked up;
        msgpack_unpacked_init(&up);
        char err[256] = "";
        const msgpack_object *filter = parse(&up, &fsb, row->filter), *where = NULL;
        hb_reqfilter_t *f = hb_reqfilter_compile(filter, &where, err, sizeof(err));
        ok(f == NULL && strstr(err, row->error) != NULL, "refused %s: \"%s\" (want \"%s\")", row->filter, err,
           row->error);
        hb_buf_t json;
        hb_buf_init(&json);
        if (where != NULL)
            hb_msgpack_to_json(where, &json);
        is_str(where != NULL ? json.base : NULL, row->where, "refused %s: points at %s", row->filter, row->where);
        /* the place is one of the caller's objects (not a copy), so the caller can map it back to its source */
        ok(where != NULL && contains(filter, where), "refused %s: the place is a key or value of the filter itself",
           row->filter);
        hb_buf_dispose(&json);
        hb_reqfilter_free(f);
        msgpack_unpacked_destroy(&up);
    }
    msgpack_sbuffer_destroy(&fsb);
    msgpack_sbuffer_destroy(&bsb);
}

int main(void)
{
    test_conformance();
    test_match_rows();
    test_compile_errors();
    test_request_filters();
    return done_testing();
}
