/*
 * tests/unit/test_plugin.c: loading verification plugins with hb_plugin_load(), and the example plugin
 * examples/plugins/apikey.c (HB_APIKEY_PLUGIN) through it. plugin_badabi.c (HB_BADABI_PLUGIN) holds the wrong ones.
 */
#include <stdlib.h>
#include <string.h>

#include "plugin.h"
#include "tap.h"
#include "util.h"

#ifndef HB_APIKEY_PLUGIN
#error "CMake passes HB_APIKEY_PLUGIN, the path of the built example plugin"
#endif
#ifndef HB_BADABI_PLUGIN
#error "CMake passes HB_BADABI_PLUGIN, the path of the built plugin_badabi module"
#endif

#define APIKEY_SYMBOL "hookbridge_apikey"
#define KEYS_CONFIG "{\"header\":\"x-api-key\",\"keys\":[\"k1-0123456789\",\"k2-abcdefghij\"]}"

/* Verifies a POST carrying value in header name (no such header when name is NULL) through an hb_request_t. */
static int check(const hb_plugin_t *p, const char *name, const char *value, size_t value_len, const char **reason)
{
    hb_header_t headers[] = {
        {"content-type", 12, "application/json", 16},
        {"user-agent", 10, "curl/8.5.0", 10},
        {name, name != NULL ? strlen(name) : 0, value, value_len},
    };
    static const char body[] = "{\"event\":\"ping\"}";
    hb_request_t req = {
        .method = "POST",
        .method_len = 4,
        .path = "/hooks/custom?x=1",
        .path_len = 17,
        .query_at = 13,
        .headers = headers,
        .num_headers = name != NULL ? 3 : 2,
        .body = (const uint8_t *)body,
        .body_len = sizeof(body) - 1,
        .remote_addr = "127.0.0.1",
        .received_at_ms = 1700000000000,
    };
    hookbridge_request_t preq;
    hb_plugin_request_init(&preq, &req);
    *reason = NULL;
    return hb_plugin_verify(p, &preq, reason);
}

static hb_plugin_t *load(const char *path, const char *symbol, const char *config, char *err, size_t errlen)
{
    err[0] = '\0';
    hb_plugin_t *p = hb_plugin_load(path, symbol, config, err, errlen);
    if (p == NULL)
        printf("# hb_plugin_load(%s, %s): %s\n", path, symbol, err);
    return p;
}

static void test_request_view(void)
{
    hb_header_t headers[] = {{"x-a", 3, "1", 1}, {"x-bb", 4, "22", 2}};
    static const uint8_t body[] = {'a', 0, 0xff};
    hb_request_t req = {"PUT", 3, "/p?q", 4, 2, headers, 2, body, 3, "::1", 42};
    hookbridge_request_t v;
    memset(&v, 0xa5, sizeof(v));
    hb_plugin_request_init(&v, &req);
    is_mem(v.method, v.method_len, "PUT", 3, "view: method");
    is_mem(v.url, v.url_len, "/p?q", 4, "view: url is the path with its query");
    is_mem(v.body, v.body_len, body, 3, "view: raw body");
    is_int(v.received_at_ms, 42, "view: received_at_ms");
    if (is_int(v.num_headers, 2, "view: num_headers")) {
        is_mem(v.headers[1].name, v.headers[1].name_len, "x-bb", 4, "view: header name");
        is_mem(v.headers[1].value, v.headers[1].value_len, "22", 2, "view: header value");
    }
}

/* ---- the example plugin ---- */

static const struct {
    const char *what;
    const char *header; /* NULL: the request has no such header */
    const char *value;
    size_t value_len; /* 0: strlen(value) */
    int verified;
    const char *reason;
} apikey_cases[] = {
    {"first key", "x-api-key", "k1-0123456789", 0, 1, ""},
    {"second key", "x-api-key", "k2-abcdefghij", 0, 1, ""},
    {"wrong key of the same length", "x-api-key", "k1-0123456780", 0, 0, "No key matched"},
    {"wrong key in the first byte", "x-api-key", "x1-0123456789", 0, 0, "No key matched"},
    {"key in upper case", "x-api-key", "K1-0123456789", 0, 0, "No key matched"},
    {"a prefix of a key", "x-api-key", "k1-012345678", 0, 0, "No key matched"},
    {"a key and one more byte", "x-api-key", "k1-01234567890", 0, 0, "No key matched"},
    {"a key and a NUL byte", "x-api-key", "k1-0123456789\0", 14, 0, "No key matched"},
    {"both keys together", "x-api-key", "k1-0123456789k2-abcdefghij", 0, 0, "No key matched"},
    {"empty value", "x-api-key", "", 0, 0, "No key matched"},
    {"missing header", NULL, NULL, 0, 0, "Missing header x-api-key"},
    {"key in another header", "authorization", "k1-0123456789", 0, 0, "Missing header x-api-key"},
    {"key in a header with a longer name", "x-api-key2", "k1-0123456789", 0, 0, "Missing header x-api-key"},
};

static void test_apikey(void)
{
    char err[512];
    hb_plugin_t *p = load(HB_APIKEY_PLUGIN, APIKEY_SYMBOL, KEYS_CONFIG, err, sizeof(err));
    if (!ok(p != NULL, "the example plugin loads"))
        return;
    is_str(hb_plugin_name(p), "plugin:apikey", "its name for the envelope");
    for (size_t i = 0; i < HB_ARRAY_SIZE(apikey_cases); i++) {
        const char *value = apikey_cases[i].value, *reason;
        size_t len = apikey_cases[i].value_len != 0 ? apikey_cases[i].value_len : value != NULL ? strlen(value) : 0;
        int rc = check(p, apikey_cases[i].header, value, len, &reason);
        is_int(rc, apikey_cases[i].verified ? 0 : -1, "apikey: %s", apikey_cases[i].what);
        is_str(reason, apikey_cases[i].reason, "apikey: %s: reason", apikey_cases[i].what);
    }

    /* the request's first x-api-key header is the one checked, as for every other header hookbridge reads */
    hb_header_t twice[] = {{"x-api-key", 9, "nope", 4}, {"x-api-key", 9, "k1-0123456789", 13}};
    hb_request_t req = {.method = "POST", .method_len = 4, .path = "/", .path_len = 1, .headers = twice};
    hookbridge_request_t preq;
    const char *reason;
    req.num_headers = 2;
    hb_plugin_request_init(&preq, &req);
    is_int(hb_plugin_verify(p, &preq, &reason), -1, "apikey: only the first of two headers counts");
    req.headers = twice + 1;
    req.num_headers = 1;
    hb_plugin_request_init(&preq, &req);
    is_int(hb_plugin_verify(p, &preq, &reason), 0, "apikey: no body, no query: verified");
    hb_plugin_free(p);
}

static const struct {
    const char *what;
    const char *config;
    const char *header; /* sent with value */
    const char *value;
    int verified;
    const char *reason;
} config_cases[] = {
    {"header configured in mixed case", "{\"header\":\"X-API-Key\",\"keys\":[\"k\"]}", "x-api-key", "k", 1, ""},
    {"mixed case: reason names it as configured", "{\"header\":\"X-API-Key\",\"keys\":[\"k\"]}", "x-other", "k", 0,
     "Missing header X-API-Key"},
    {"another header", "{\"header\":\"authorization\",\"keys\":[\"Bearer k\"]}", "authorization", "Bearer k", 1, ""},
    {"header defaults to x-api-key", "{\"keys\":[\"k\"]}", "x-api-key", "k", 1, ""},
    {"default header: reason", "{\"keys\":[\"k\"]}", "authorization", "k", 0, "Missing header x-api-key"},
    {"keys before header, whitespace everywhere", " \n{ \"keys\" :\t[ \"a\" , \"k\" ] ,\r\n \"header\" : \"x-k\" } \n",
     "x-k", "k", 1, ""},
    {"escapes decoded", "{\"keys\":[\"k\\u00e9\\\"\\\\\\/\\t\\ud83d\\ude00\"]}", "x-api-key",
     "k\xc3\xa9\"\\/\t\xf0\x9f\x98\x80", 1, ""},
    {"escapes: the escaped text itself is no key", "{\"keys\":[\"k\\u00e9\"]}", "x-api-key", "k\\u00e9", 0,
     "No key matched"},
    {"NULL config is {}: keys required", NULL, NULL, NULL, 0, NULL},
};

static void test_apikey_config(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(config_cases); i++) {
        char err[512];
        hb_plugin_t *p = load(HB_APIKEY_PLUGIN, APIKEY_SYMBOL, config_cases[i].config, err, sizeof(err));
        if (config_cases[i].reason == NULL) {
            ok(p == NULL && strstr(err, "\"keys\" is required") != NULL, "%s (%s)", config_cases[i].what, err);
            hb_plugin_free(p);
            continue;
        }
        if (!ok(p != NULL, "%s: loads", config_cases[i].what))
            continue;
        const char *reason;
        int rc = check(p, config_cases[i].header, config_cases[i].value, strlen(config_cases[i].value), &reason);
        is_int(rc, config_cases[i].verified ? 0 : -1, "%s", config_cases[i].what);
        is_str(reason, config_cases[i].reason, "%s: reason", config_cases[i].what);
        hb_plugin_free(p);
    }

    /* two endpoints may load the same file with different keys: each has its own state */
    char err[512];
    hb_plugin_t *a = load(HB_APIKEY_PLUGIN, APIKEY_SYMBOL, "{\"keys\":[\"aaa\"]}", err, sizeof(err));
    hb_plugin_t *b = load(HB_APIKEY_PLUGIN, APIKEY_SYMBOL, "{\"keys\":[\"bbb\"]}", err, sizeof(err));
    if (ok(a != NULL && b != NULL, "the plugin loads twice")) {
        const char *reason;
        is_int(check(a, "x-api-key", "aaa", 3, &reason), 0, "instance a takes its key");
        is_int(check(a, "x-api-key", "bbb", 3, &reason), -1, "instance a refuses b's key");
        is_int(check(b, "x-api-key", "bbb", 3, &reason), 0, "instance b takes its key");
        hb_plugin_free(a);
        a = NULL;
        is_int(check(b, "x-api-key", "aaa", 3, &reason), -1, "instance b refuses a's key, after a is freed");
    }
    hb_plugin_free(a);
    hb_plugin_free(b);
}

/* ---- refusals ---- */

static const struct {
    const char *what;
    const char *path;
    const char *symbol;
    const char *config;
    const char *expect[2]; /* substrings of the error */
} load_errors[] = {
    {"missing file", "/nonexistent/libnope.so", APIKEY_SYMBOL, "{}", {"/nonexistent/libnope.so", "No such file"}},
    {"missing file, relative path",
     "libhookbridge-apikey.so",
     APIKEY_SYMBOL,
     "{}",
     {"libhookbridge-apikey.so", "No such file"}},
    {"not a shared object", "tap.h", APIKEY_SYMBOL, "{}", {"plugin tap.h: ", "invalid ELF header"}},
    {"a directory", "data", APIKEY_SYMBOL, "{}", {"plugin data: not a regular file", ""}},
    {"missing symbol",
     HB_APIKEY_PLUGIN,
     "hookbridge_nope",
     "{}",
     {"no exported symbol hookbridge_nope", HB_APIKEY_PLUGIN}},
    {"an internal function", HB_APIKEY_PLUGIN, "apikey_create", "{}", {"no exported symbol apikey_create", ""}},
    {"ABI mismatch",
     HB_BADABI_PLUGIN,
     "hookbridge_badabi",
     "{}",
     {"plugin ABI 2, hookbridge speaks 1", HB_BADABI_PLUGIN}},
    {"no verify function", HB_BADABI_PLUGIN, "hookbridge_noverify", "{}", {"hookbridge_noverify has no verify", ""}},
    {"no name", HB_BADABI_PLUGIN, "hookbridge_noname", "{}", {"hookbridge_noname has no name", ""}},
    {"create fails without a reason",
     HB_BADABI_PLUGIN,
     "hookbridge_mutecreate",
     "{}",
     {"(mutecreate): create failed", ""}},
    {"no path", NULL, APIKEY_SYMBOL, "{}", {"required", ""}},
    {"empty path", "", APIKEY_SYMBOL, "{}", {"required", ""}},
    {"no symbol", HB_APIKEY_PLUGIN, NULL, "{}", {"required", ""}},
    {"empty symbol", HB_APIKEY_PLUGIN, "", "{}", {"required", ""}},
};

static void test_load_errors(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(load_errors); i++) {
        char err[512];
        memset(err, 'X', sizeof(err));
        hb_plugin_t *p =
            hb_plugin_load(load_errors[i].path, load_errors[i].symbol, load_errors[i].config, err, sizeof(err));
        if (!ok(p == NULL, "refused: %s", load_errors[i].what)) {
            hb_plugin_free(p);
            continue;
        }
        printf("#   %s\n", err);
        for (size_t e = 0; e < 2; e++)
            if (load_errors[i].expect[e][0] != '\0')
                ok(strstr(err, load_errors[i].expect[e]) != NULL, "%s: the error says \"%s\"", load_errors[i].what,
                   load_errors[i].expect[e]);
    }

    /* a small err buffer is never overrun */
    char small[8];
    memset(small, 'X', sizeof(small));
    ok(hb_plugin_load("/nonexistent/x.so", APIKEY_SYMBOL, "{}", small, 6) == NULL && memchr(small, '\0', 6) != NULL &&
           small[6] == 'X',
       "a 6-byte err is truncated and terminated in place");
}

/* Each config is refused by apikey's create(); the error is create's, behind the plugin's path and name. */
static const struct {
    const char *config;
    const char *expect;
} bad_configs[] = {
    {"", "expected a JSON object"},
    {"   ", "expected a JSON object"},
    {"null", "expected a JSON object"},
    {"[\"k\"]", "expected a JSON object"},
    {"\"k\"", "expected a JSON object"},
    {"{", "expected a string for a member name"},
    {"{}", "\"keys\" is required"},
    {"{\"header\":\"x-api-key\"}", "\"keys\" is required"},
    {"{keys:[\"k\"]}", "expected a string for a member name"},
    {"{'keys':['k']}", "expected a string for a member name"},
    {"{\"keys\"[\"k\"]}", "expected ':'"},
    {"{\"keys\":[]}", "\"keys\" is empty"},
    {"{\"keys\":\"k\"}", "expected an array of strings for \"keys\""},
    {"{\"keys\":null}", "expected an array of strings for \"keys\""},
    {"{\"keys\":[1]}", "expected a string for a key"},
    {"{\"keys\":[\"k\",null]}", "expected a string for a key"},
    {"{\"keys\":[[\"k\"]]}", "expected a string for a key"},
    {"{\"keys\":[\"k\",]}", "expected a string for a key"},
    {"{\"keys\":[\"k\" \"l\"]}", "expected ',' or ']'"},
    {"{\"keys\":[\"k\"}", "expected ',' or ']'"},
    {"{\"keys\":[\"k\"]", "expected ',' or '}'"},
    {"{\"keys\":[\"k\"],}", "expected a string for a member name"},
    {"{\"keys\":[\"k\"]}}", "unexpected text after the object"},
    {"{\"keys\":[\"k\"]} {}", "unexpected text after the object"},
    {"{\"keys\":[\"k\"]}\n//", "unexpected text after the object"},
    {"{\"keys\":[\"\"]}", "key 1 is empty"},
    {"{\"keys\":[\"k\",\"\"]}", "key 2 is empty"},
    {"{\"keys\":[\"k\"],\"keys\":[\"l\"]}", "\"keys\" given twice"},
    {"{\"header\":\"a\",\"keys\":[\"k\"],\"header\":\"b\"}", "\"header\" given twice"},
    {"{\"keys\":[\"k\"],\"Keys\":[\"l\"]}", "unknown member"},
    {"{\"keys\":[\"k\"],\"secret\":\"s\"}", "unknown member"},
    {"{\"header\":1,\"keys\":[\"k\"]}", "expected a string for \"header\""},
    {"{\"header\":[\"x-a\"],\"keys\":[\"k\"]}", "expected a string for \"header\""},
    {"{\"header\":\"\",\"keys\":[\"k\"]}", "\"header\" is empty"},
    {"{\"header\":\"x api key\",\"keys\":[\"k\"]}", "not a valid header name"},
    {"{\"header\":\"x-api-key:\",\"keys\":[\"k\"]}", "not a valid header name"},
    {"{\"header\":\"x-\\u00e9\",\"keys\":[\"k\"]}", "not a valid header name"},
    {"{\"keys\":[\"k", "unterminated string"},
    {"{\"keys\":[\"k\\", "unterminated string"},
    {"{\"keys\":[\"a\tb\"]}", "control character"},
    {"{\"keys\":[\"a\nb\"]}", "control character"},
    {"{\"keys\":[\"k\\x41\"]}", "bad escape"},
    {"{\"keys\":[\"k\\u12\"]}", "bad escape"},
    {"{\"keys\":[\"k\\u12g4\"]}", "bad escape"},
    {"{\"keys\":[\"k\\u0000\"]}", "\\u0000"},
    {"{\"keys\":[\"k\\ud800\"]}", "lone surrogate"},
    {"{\"keys\":[\"k\\ud800\\u0041\"]}", "lone surrogate"},
    {"{\"keys\":[\"k\\udc00\"]}", "lone surrogate"},
};

/* s with control characters escaped, so that it fits on a TAP line. */
static const char *printable(const char *s, char *buf, size_t size)
{
    size_t n = 0;
    for (; *s != '\0' && n + 3 < size; s++) {
        if ((unsigned char)*s < 0x20) {
            buf[n++] = '\\';
            buf[n++] = *s == '\n' ? 'n' : *s == '\t' ? 't' : '?';
        } else {
            buf[n++] = *s;
        }
    }
    buf[n] = '\0';
    return buf;
}

static void test_bad_configs(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(bad_configs); i++) {
        char err[512] = "", shown[128];
        const char *config = printable(bad_configs[i].config, shown, sizeof(shown));
        hb_plugin_t *p = hb_plugin_load(HB_APIKEY_PLUGIN, APIKEY_SYMBOL, bad_configs[i].config, err, sizeof(err));
        if (!ok(p == NULL, "config refused: %s", config)) {
            hb_plugin_free(p);
            continue;
        }
        if (!ok(strstr(err, bad_configs[i].expect) != NULL && strstr(err, "(apikey): config") != NULL,
                "config %s: the error says \"%s\"", config, bad_configs[i].expect))
            printf("#   got: %s\n", err);
    }

    /* every proper prefix of a valid config is refused, read from a buffer of its exact size (ASan sees overreads) */
    static const char full[] = " {\"header\" : \"X-Key\", \"keys\":[\"a\\u00e9\\\"\", \"\\ud83d\\ude00b\"]}";
    char *whole = hb_xstrndup(full, sizeof(full) - 1);
    hb_plugin_t *whole_p = hb_plugin_load(HB_APIKEY_PLUGIN, APIKEY_SYMBOL, whole, (char[256]){0}, 256);
    ok(whole_p != NULL, "the config whose prefixes follow is valid");
    hb_plugin_free(whole_p);
    free(whole);
    size_t refused = 0;
    for (size_t n = 0; n < sizeof(full) - 1; n++) {
        char err[512] = "";
        char *prefix = hb_xstrndup(full, n);
        hb_plugin_t *p = hb_plugin_load(HB_APIKEY_PLUGIN, APIKEY_SYMBOL, prefix, err, sizeof(err));
        if (p == NULL && strstr(err, "(apikey): config at offset") != NULL)
            refused++;
        else
            printf("#   prefix of %zu bytes: %s\n", n, p != NULL ? "accepted" : err);
        hb_plugin_free(p);
        free(prefix);
    }
    is_int(refused, sizeof(full) - 1, "each of its proper prefixes is refused");

    /* limits: a key of 4096 bytes is taken, 4097 is not; 64 keys are taken, 65 are not */
    hb_buf_t cfg;
    hb_buf_init(&cfg);
    for (int n = 4096; n <= 4097; n++) {
        char err[512] = "";
        cfg.len = 0;
        hb_buf_puts(&cfg, "{\"keys\":[\"");
        for (int j = 0; j < n; j++)
            hb_buf_putc(&cfg, 'k');
        hb_buf_puts(&cfg, "\"]}");
        hb_plugin_t *p = hb_plugin_load(HB_APIKEY_PLUGIN, APIKEY_SYMBOL, cfg.base, err, sizeof(err));
        if (n == 4096)
            ok(p != NULL, "a key of 4096 bytes is taken (%s)", err);
        else
            ok(p == NULL && strstr(err, "longer than 4096 bytes") != NULL, "a key of 4097 bytes is refused (%s)", err);
        hb_plugin_free(p);
    }
    for (int n = 64; n <= 65; n++) {
        char err[512] = "";
        cfg.len = 0;
        hb_buf_puts(&cfg, "{\"keys\":[");
        for (int j = 0; j < n; j++)
            hb_buf_printf(&cfg, "%s\"key%d\"", j > 0 ? "," : "", j);
        hb_buf_puts(&cfg, "]}");
        hb_plugin_t *p = hb_plugin_load(HB_APIKEY_PLUGIN, APIKEY_SYMBOL, cfg.base, err, sizeof(err));
        if (n == 64) {
            const char *reason;
            if (ok(p != NULL, "64 keys are taken (%s)", err))
                is_int(check(p, "x-api-key", "key63", 5, &reason), 0, "the 64th key is one of them");
        } else {
            ok(p == NULL && strstr(err, "more than 64 keys") != NULL, "65 keys are refused (%s)", err);
        }
        hb_plugin_free(p);
    }
    hb_buf_dispose(&cfg);
}

/* A plugin without create/destroy, whose verify refuses without a reason. */
static void test_stateless(void)
{
    char err[512];
    hb_plugin_t *p = load(HB_BADABI_PLUGIN, "hookbridge_silent", "{\"ignored\":true}", err, sizeof(err));
    if (!ok(p != NULL, "a plugin without create loads"))
        return;
    is_str(hb_plugin_name(p), "plugin:silent", "its name");
    const char *reason;
    is_int(check(p, "x-api-key", "k", 1, &reason), -1, "its refusal (7) becomes -1");
    is_str(reason, "Rejected by plugin", "a refusal without a reason gets one");
    hb_plugin_free(p);
    hb_plugin_free(NULL); /* accepted: crashes the test otherwise */
}

int main(void)
{
    test_request_view();
    test_apikey();
    test_apikey_config();
    test_load_errors();
    test_bad_configs();
    test_stateless();
    return done_testing();
}
