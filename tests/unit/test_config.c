/* tests/unit/test_config.c: hb_config_parse() with a fake environment and file system, so runs are deterministic. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "body.h"
#include "config.h"
#include "filter.h"
#include "respond.h"
#include "scheme.h"
#include "tap.h"

#define B(s) s, sizeof(s) - 1

/* ---- the fake environment ---- */

static const struct {
    const char *name, *value;
} fake_vars[] = {
    {"HB_SECRET", "s3cr3t"},    {"HB_EMPTY", ""}, {"HB_PORT", "9999"}, {"HB_BROKERS", "kafka1:9092,kafka2:9092"},
    {"HB_DIR", "/run/secrets"},
};

static const struct {
    const char *path;
    const char *data;
    size_t len;
    int err; /* non-zero: reading fails with this errno */
} fake_files[] = {
    {"/run/secrets/lf", B("file-secret\n"), 0}, {"/run/secrets/crlf", B("crlf-secret\r\n"), 0},
    {"/run/secrets/raw", B("raw-secret"), 0},   {"/run/secrets/empty", B(""), 0},
    {"/run/secrets/nul", B("a\0b\n"), 0},       {"/run/secrets/forbidden", B(""), EACCES},
};

static const char *fake_getenv(void *ctx, const char *name)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(fake_vars); i++)
        if (strcmp(fake_vars[i].name, name) == 0)
            return fake_vars[i].value;
    return NULL;
}

/* As the contract in config.h says: a malloc'd buffer of exactly the file's bytes (no NUL added), with its length. */
static char *fake_read_file(void *ctx, const char *path, size_t *len)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(fake_files); i++) {
        if (strcmp(fake_files[i].path, path) != 0)
            continue;
        if (fake_files[i].err != 0) {
            errno = fake_files[i].err;
            return NULL;
        }
        char *data = malloc(fake_files[i].len != 0 ? fake_files[i].len : 1);
        memcpy(data, fake_files[i].data, fake_files[i].len);
        *len = fake_files[i].len;
        return data;
    }
    errno = ENOENT;
    return NULL;
}

static const hb_config_env_t fake_env = {fake_getenv, fake_read_file, NULL};

/* ---- rows: a file and what the error output must say ---- */

/* A valid endpoint list, for rows about the other sections. */
#define EP "endpoints:\n  - id: a\n    verify: none\n"

static const struct {
    const char *what;
    const char *yaml;
    int nerrors;          /* exact number of error lines */
    const char *want[10]; /* substrings the error output must contain */
} error_rows[] = {
    {"unknown top-level key",
     "servre:\n  listen: \":80\"\n" EP,
     1,
     {"cfg.yaml:1:1: unknown key \"servre\" in the configuration"}},
    {"unknown key in server",
     "server:\n  listen: \":80\"\n  thread: 4\n" EP,
     1,
     {"cfg.yaml:3:3: unknown key \"thread\" in server"}},
    {"unknown key in kafka", "kafka:\n  broker: x\n" EP, 1, {"cfg.yaml:2:3: unknown key \"broker\" in kafka"}},
    {"unknown key in admin", "admin:\n  port: 9000\n" EP, 1, {"cfg.yaml:2:3: unknown key \"port\" in admin"}},
    {"unknown key in an endpoint",
     "endpoints:\n  - id: a\n    verify: none\n    secret: x\n",
     1,
     {"cfg.yaml:4:5: unknown key \"secret\" in an endpoint"}},
    {"unknown key in verify",
     "endpoints:\n  - id: a\n    verify:\n      headerName: X-Sig\n      secret: s\n      algo: sha256\n",
     1,
     {"cfg.yaml:6:7: unknown key \"algo\" in verify"}},
    {"unknown key in an example",
     "endpoints:\n  - id: a\n    verify: none\n    examples:\n      - id: e\n        body: {}\n",
     1,
     {"cfg.yaml:6:9: unknown key \"body\" in an example"}},
    {"a declared scheme without signatureHeader or signed",
     "endpoints:\n  - id: a\n    verify:\n      secret: s\n      scheme:\n        algorithm: sha256\n",
     2,
     {"cfg.yaml:6:9: verify.scheme needs signatureHeader", "cfg.yaml:6:9: verify.scheme needs signed"}},
    {"a declared scheme with an unknown word",
     "endpoints:\n  - id: a\n    verify:\n      secret: s\n      scheme:\n        signatureHeader: X-S\n"
     "        signed: \"{body}\"\n        algorithm: sha265\n",
     1,
     {"cfg.yaml:8:20: verify.scheme.algorithm must be none, sha1, sha256, sha512, ed25519 or ecdsa-p256"}},
    {"a declared scheme's template",
     "endpoints:\n  - id: a\n    verify:\n      secret: s\n      scheme:\n        signatureHeader: X-S\n"
     "        signed: \"{timestamp}.{bdy}\"\n        algorithm: sha256\n        timestampHeader: X-T\n",
     1,
     {"cfg.yaml:7:17: verify.scheme.signed content \"{timestamp}.{bdy}\": unknown part {bdy}"}},
    {"a declared scheme: pairs without keys, a long separator, an unknown check, an unknown key",
     "endpoints:\n  - id: a\n    verify:\n      secret: s\n      scheme:\n        signatureHeader: X-S\n"
     "        signed: \"{timestamp}.{body}\"\n        algorithm: sha256\n        split: {kind: pairs, separator: "
     "\";;\"}\n"
     "        checks: [bodySha256]\n        tolerance: 5m\n",
     5,
     {"cfg.yaml:9:41: verify.scheme.split.separator must be one character",
      "cfg.yaml:10:17: verify.scheme.checks: \"bodySha256\" is not one of bodySHA256, tokenReplay",
      "cfg.yaml:11:9: unknown key \"tolerance\" in verify.scheme",
      "cfg.yaml:6:9: verify.scheme.split of kind pairs needs timestampKey and signatureKey",
      "cfg.yaml:6:9: verify.scheme.split of kind pairs needs separator"}},
    {"a declared scheme: {id} without idHeader, a timestamp without its header, keys it does not take",
     "endpoints:\n  - id: a\n    verify:\n      publicKey: k\n      provider: github\n      scheme:\n"
     "        signatureHeader: X-S\n        signed: \"{id}.{timestamp}.{body}\"\n        algorithm: sha256\n",
     5,
     {"cfg.yaml:7:9: verify takes provider or scheme, not both",
      "cfg.yaml:4:7: verify.provider github needs secret, secrets or secretFile",
      "cfg.yaml:4:7: verify.provider github takes no public key",
      "cfg.yaml:7:9: verify.scheme signs {id}: it needs idHeader",
      "cfg.yaml:7:9: verify.scheme reads a timestamp: it needs timestampHeader"}},
    {"a declared Ed25519 scheme without publicKeyForm, given a secret",
     "endpoints:\n  - id: a\n    verify:\n      secret: s\n      scheme:\n        signatureHeader: X-S\n"
     "        signed: \"{body}\"\n        algorithm: ed25519\n",
     3,
     {"cfg.yaml:6:9: verify.scheme signs with ed25519: it needs publicKeyForm",
      "cfg.yaml:4:7: verify.scheme needs publicKey or publicKeys",
      "cfg.yaml:4:7: verify.scheme checks a public key; it takes no secret"}},
    {"secrets with an expiry: bad time, unknown key, no value",
     "endpoints:\n  - id: a\n    verify:\n      headerName: X-S\n      secrets:\n        - {value: a, until: "
     "tomorrow}\n"
     "        - {value: b, since: 2026-01-01T00:00:00Z}\n        - {until: 2026-01-01T00:00:00Z}\n",
     3,
     {"cfg.yaml:6:29: verify.secrets[].until must be an RFC 3339 time (2026-12-31T00:00:00Z), not \"tomorrow\"",
      "cfg.yaml:7:22: unknown key \"since\" in a secret (expected value, until)",
      "cfg.yaml:8:11: a secret of verify.secrets needs value"}},
    {"top level is a list", "- a\n- b\n", 1, {"cfg.yaml:1:1: the configuration must be a mapping, not a list"}},
    /* msgpack-c reads at most 32 nested levels: 33 made the payload nil without a word */
    {"an example payload nested 33 deep",
     "endpoints:\n  - id: a\n    verify: none\n    examples:\n      - id: e\n        name: E\n        payload: {a: "
     "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}\n",
     1,
     {"cfg.yaml:7:18: nested too deeply (at most 32 levels)"}},
    {"server is a scalar", "server: yes\n" EP, 1, {"cfg.yaml:1:9: server must be a mapping, not a scalar"}},
    {"listen is a mapping",
     "server:\n  listen: {a: b}\n" EP,
     1,
     {"cfg.yaml:2:11: server.listen must be a string, not a mapping"}},
    {"listen is an empty list",
     "server:\n  listen: []\n" EP,
     1,
     {"cfg.yaml:2:11: server.listen must name at least one address"}},
    {"listen without brackets around IPv6",
     "server:\n  listen: [\"::1:80\", \"host:99999\"]\n" EP,
     2,
     {"cfg.yaml:2:12: server.listen: \"::1:80\": write an IPv6 address as [address]:port",
      "cfg.yaml:2:22: server.listen: \"host:99999\" has no valid port"}},
    {"endpoints is a mapping", "endpoints:\n  a: b\n", 1, {"cfg.yaml:2:3: endpoints must be a list, not a mapping"}},
    {"endpoints is null", "endpoints:\n", 1, {"cfg.yaml:1:11: endpoints must be a list, not null"}},
    {"endpoints is missing",
     "server:\n  threads: 2\n",
     1,
     {"cfg.yaml:1:1: endpoints is missing: the configuration needs at least one endpoint"}},
    {"endpoints is an empty list", "endpoints: []\n", 1, {"at least one endpoint"}},
    {"an endpoint is a scalar",
     "endpoints:\n  - a\n",
     1,
     {"cfg.yaml:2:5: an endpoint must be a mapping, not a scalar"}},
    {"threads is a word",
     "server:\n  threads: \"many\"\n" EP,
     1,
     {"cfg.yaml:2:12: server.threads must be auto or a number from 1 to 1024, not \"many\""}},
    {"threads is 0", "server:\n  threads: 0\n" EP, 1, {"cfg.yaml:2:12: server.threads must be auto or a number"}},
    {"threads is 1025", "server:\n  threads: 1025\n" EP, 1, {"cfg.yaml:2:12: server.threads must be auto or"}},
    {"threads is 4x", "server:\n  threads: 4x\n" EP, 1, {"cfg.yaml:2:12: server.threads must be auto or"}},
    {"threads is a list",
     "server:\n  threads: [4]\n" EP,
     1,
     {"cfg.yaml:2:12: server.threads must be a string, not a list"}},
    {"maxBodySize is a word",
     "server:\n  maxBodySize: \"lots\"\n" EP,
     1,
     {"cfg.yaml:2:16: server.maxBodySize must be a size such as 1MiB, 512KiB or 65536, not \"lots\""}},
    {"maxBodySize is 0", "server:\n  maxBodySize: 0\n" EP, 1, {"cfg.yaml:2:16: server.maxBodySize must be a size"}},
    {"maxBodySize 1.5MB",
     "server:\n  maxBodySize: 1.5MB\n" EP,
     1,
     {"cfg.yaml:2:16: server.maxBodySize must be a size", "not \"1.5MB\""}},
    {"endpoint maxBodySize is a word",
     "endpoints:\n  - id: a\n    verify: none\n    maxBodySize: big\n",
     1,
     {"cfg.yaml:4:18: maxBodySize must be a size such as 1MiB, 512KiB or 65536, not \"big\""}},
    {"shutdownTimeout without unit",
     "server:\n  shutdownTimeout: 15\n" EP,
     1,
     {"cfg.yaml:2:20: server.shutdownTimeout must be a duration such as 8s, 500ms or 1m, not \"15\""}},
    {"deliveryTimeout negative",
     "kafka:\n  deliveryTimeout: -1s\n" EP,
     1,
     {"cfg.yaml:2:20: kafka.deliveryTimeout must be a duration", "not \"-1s\""}},
    {"partitionKey that is not a path into body, header or query",
     "endpoints:\n  - id: a\n    verify: none\n    partitionKey: repository.id\n    triggers:\n      - name: t\n"
     "        partitionKey: \"{{body.x}}\"\n",
     2,
     {"cfg.yaml:4:19: partitionKey is a path into the body, a header or the query (body.repository.id, header.X-Shop, "
      "query.id), not \"repository.id\"",
      "cfg.yaml:7:23: triggers[].partitionKey is a path into the body"}},
    {"deduplicate that is neither a boolean nor a window",
     "endpoints:\n  - id: a\n    verify: none\n    deduplicate: maybe\n  - id: b\n    verify: none\n"
     "    deduplicate: {size: 0, maxAge: soon, window: 3}\n",
     4,
     {"cfg.yaml:4:18: deduplicate must be true or false, not \"maybe\"",
      "cfg.yaml:7:25: deduplicate.size must be a number of events from 1 to 10000000, not \"0\"",
      "cfg.yaml:7:36: deduplicate.maxAge must be a duration", "cfg.yaml:7:42: unknown key \"window\" in deduplicate"}},
    {"watch is not a boolean", "watch: yes\n" EP, 1, {"cfg.yaml:1:8: watch must be true or false, not \"yes\""}},
    {"log level and sample rate out of their range",
     "log:\n  level: loud\n  sampleRate: 2\n  format: json\n" EP,
     3,
     {"cfg.yaml:2:10: log.level must be debug, info, warn or error, not \"loud\"",
      "cfg.yaml:3:15: log.sampleRate must be a number from 0 to 1, not \"2\"",
      "cfg.yaml:4:3: unknown key \"format\" in log (expected level, sampleRate)"}},
    {"drainDelay and readinessWindow that are not durations",
     "server:\n  drainDelay: soon\nkafka:\n  readinessWindow: 0s\n" EP,
     2,
     {"cfg.yaml:2:15: server.drainDelay must be a duration",
      "cfg.yaml:4:20: kafka.readinessWindow must be a duration"}},
    {"requestTimeout zero or without a unit",
     "server:\n  requestTimeout: 0s\n" EP,
     1,
     {"cfg.yaml:2:19: server.requestTimeout must be a duration such as 8s, 500ms or 1m, not \"0s\""}},
    {"h2c not a boolean",
     "server:\n  h2c: yes\n" EP,
     1,
     {"cfg.yaml:2:8: server.h2c must be true or false, not \"yes\""}},
    {"h2c with tls",
     "server:\n  h2c: true\n  tls: {certFile: /c.pem, keyFile: /k.pem}\n" EP,
     1,
     {"cfg.yaml:2:8: server.h2c is HTTP/2 in cleartext, but server.tls makes every listener TLS, which speaks "
      "HTTP/1.1 only"}},
    {"tls with only certFile",
     "server:\n  tls:\n    certFile: /c.pem\n" EP,
     1,
     {"cfg.yaml:3:5: server.tls needs both certFile and keyFile"}},
    {"duplicate endpoint id",
     "endpoints:\n  - id: a\n    verify: none\n  - id: b\n    verify: none\n  - id: a\n    verify: none\n",
     1,
     {"cfg.yaml:6:9: duplicate endpoint id \"a\" (first at line 2)"}},
    {"endpoint id with a space",
     "endpoints:\n  - id: \"a b\"\n    verify: none\n",
     1,
     {"cfg.yaml:2:9: endpoint id \"a b\" may only use A-Z a-z 0-9 . _ - (1 to 200 of them)"}},
    {"endpoint id with a slash",
     "endpoints:\n  - id: a/b\n    verify: none\n",
     1,
     {"cfg.yaml:2:9: endpoint id \"a/b\" may only use"}},
    {"endpoint id is empty",
     "endpoints:\n  - id: \"\"\n    verify: none\n",
     1,
     {"cfg.yaml:2:9: endpoint id \"\" may only use"}},
    {"endpoint without id", "endpoints:\n  - verify: none\n", 1, {"cfg.yaml:2:5: an endpoint needs an id"}},
    {"missing verify",
     "endpoints:\n  - id: a\n    source: x\n",
     1,
     {"cfg.yaml:2:5: endpoint \"a\" has no verify: it is compulsory (write `verify: none` to accept unsigned "
      "requests)"}},
    {"verify is another word",
     "endpoints:\n  - id: a\n    verify: nope\n",
     1,
     {"cfg.yaml:3:13: verify must be a mapping (headerName, secret, ...) or the word none, not \"nope\""}},
    {"verify is a list",
     "endpoints:\n  - id: a\n    verify: [none]\n",
     1,
     {"cfg.yaml:3:13: verify must be a mapping, not a list"}},
    {"verify with neither secret nor secretFile",
     "endpoints:\n  - id: a\n    verify:\n      headerName: X-Sig\n",
     1,
     {"cfg.yaml:4:7: verify needs secret, secrets or secretFile"}},
    {"verify with both secret and secretFile",
     "endpoints:\n  - id: a\n    verify:\n      headerName: X-Sig\n      secret: s\n      secretFile: "
     "/run/secrets/lf\n",
     1,
     {"cfg.yaml:6:19: verify takes one of secret, secrets and secretFile"}},
    {"verify without headerName",
     "endpoints:\n  - id: a\n    verify:\n      secret: s\n",
     1,
     {"cfg.yaml:4:7: verify needs headerName (the header that carries the signature)"}},
    {"verify with an empty headerName",
     "endpoints:\n  - id: a\n    verify:\n      headerName: \"\"\n      secret: s\n",
     1,
     {"cfg.yaml:4:7: verify.headerName must not be empty"}},
    {"verify with an unknown algorithm",
     "endpoints:\n  - id: a\n    verify:\n      headerName: X\n      secret: s\n      algorithm: sha384\n",
     1,
     {"cfg.yaml:6:18: verify.algorithm must be sha1, sha256 or sha512, not \"sha384\""}},
    {"verify with an unknown encoding",
     "endpoints:\n  - id: a\n    verify:\n      headerName: X\n      secret: s\n      headerEncoding: base32\n",
     1,
     {"cfg.yaml:6:23: verify.headerEncoding must be hex, base64 or base64url, not \"base32\""}},
    {"unset variable",
     "kafka:\n  brokers: ${HB_UNSET}\n" EP,
     1,
     {"cfg.yaml:2:12: environment variable HB_UNSET is not set (write ${HB_UNSET:-default} to give a default)"}},
    {"unset variable in a quoted scalar",
     "endpoints:\n  - id: a\n    verify: none\n    title: \"x ${HB_NOPE} y\"\n",
     1,
     {"cfg.yaml:4:12: environment variable HB_NOPE is not set"}},
    {"bad variable name",
     "kafka:\n  brokers: ${HB-X}\n" EP,
     1,
     {"cfg.yaml:2:12: bad environment variable name \"HB-X\""}},
    {"unterminated variable",
     "kafka:\n  brokers: ${HB_SECRET\n" EP,
     1,
     {"cfg.yaml:2:12: unterminated ${ in \"${HB_SECRET\""}},
    {"secretFile missing",
     "endpoints:\n  - id: a\n    verify:\n      headerName: X\n      secretFile: /run/secrets/missing\n",
     1,
     {"cfg.yaml:5:19: cannot read secret file /run/secrets/missing: No such file or directory"}},
    {"secretFile unreadable",
     "endpoints:\n  - id: a\n    verify:\n      headerName: X\n      secretFile: /run/secrets/forbidden\n",
     1,
     {"cfg.yaml:5:19: cannot read secret file /run/secrets/forbidden: Permission denied"}},
    {"producer sets enable.idempotence",
     "kafka:\n  producer:\n    enable.idempotence: false\n" EP,
     1,
     {"cfg.yaml:3:5: kafka.producer: \"enable.idempotence\" is set by hookbridge"}},
    {"producer sets bootstrap.servers",
     "kafka:\n  producer:\n    linger.ms: 5\n    bootstrap.servers: k:9092\n" EP,
     1,
     {"cfg.yaml:4:5: kafka.producer: \"bootstrap.servers\" is set by hookbridge; use kafka.brokers"}},
    {"producer sets acks",
     "kafka:\n  producer:\n    acks: 1\n" EP,
     1,
     {"cfg.yaml:3:5: kafka.producer: \"acks\" is set by hookbridge"}},
    {"producer sets message.timeout.ms",
     "kafka:\n  producer:\n    message.timeout.ms: 1000\n" EP,
     1,
     {"cfg.yaml:3:5: kafka.producer: \"message.timeout.ms\" is set by hookbridge; use kafka.deliveryTimeout"}},
    /* librdkafka takes a topic-level property with a "topic." prefix too: the same property, the same refusal */
    {"producer sets topic.acks",
     "kafka:\n  producer:\n    topic.acks: 0\n" EP,
     1,
     {"cfg.yaml:3:5: kafka.producer: \"topic.acks\" is set by hookbridge"}},
    {"producer sets topic.message.timeout.ms",
     "kafka:\n  producer:\n    topic.message.timeout.ms: 600000\n" EP,
     1,
     {"cfg.yaml:3:5: kafka.producer: \"topic.message.timeout.ms\" is set by hookbridge; use kafka.deliveryTimeout"}},
    {"producer sets transactional.id",
     "kafka:\n  producer:\n    transactional.id: hb\n" EP,
     1,
     {"cfg.yaml:3:5: kafka.producer: \"transactional.id\" is set by hookbridge"}},
    {"kafka with a list as a key", "kafka:\n  ? []\n  : b\n" EP, 1, {"cfg.yaml:2:5: keys of kafka must be strings"}},
    {"kafka with a mapping as a key", "kafka:\n  ? {}\n  : b\n" EP, 1, {"cfg.yaml:2:5: keys of kafka must be strings"}},
    {"producer is a list",
     "kafka:\n  producer: [a]\n" EP,
     1,
     {"cfg.yaml:2:13: kafka.producer must be a mapping of librdkafka properties, not a list"}},
    {"topic template gives an invalid name",
     "kafka:\n  topic: \"hooks/{id}\"\n" EP,
     1,
     {"cfg.yaml:2:10: kafka.topic gives \"hooks/a\" for endpoint \"a\", which is not a valid Kafka topic name"}},
    {"durability spool without a spool",
     "durability: spool\n" EP,
     1,
     {"cfg.yaml:1:13: durability: spool, which needs spool.path (the directory that holds the spool)"}},
    {"an endpoint's durability spool without a spool",
     "endpoints:\n  - id: a\n    verify: none\n  - id: b\n    verify: none\n    durability: spool\n",
     1,
     {"cfg.yaml:4:1: endpoint \"b\" has durability: spool, which needs spool.path"}},
    {"spoolAfter not shorter than deliveryTimeout",
     "durability: spool\nspool: { path: /var/spool/hb }\nkafka: { deliveryTimeout: 5s, spoolAfter: 5s }\n" EP,
     1,
     {"cfg.yaml:1:13: durability: spool, and kafka.spoolAfter (5000 ms) must then be shorter than "
      "kafka.deliveryTimeout (5000 ms)"}},
    {"spool with an unknown key",
     "spool: { path: /x, size: 1GiB }\n" EP,
     1,
     {"cfg.yaml:1:20: unknown key \"size\" in spool (expected path, maxBytes)"}},
    {"spool.maxBytes not a size", "spool: { path: /x, maxBytes: lots }\n" EP, 1, {"cfg.yaml:1:30: spool.maxBytes"}},
    {"durability other",
     "durability: disk\n" EP,
     1,
     {"cfg.yaml:1:13: durability must be kafka or spool, not \"disk\""}},
    {"an endpoint's durability other",
     "endpoints:\n  - id: a\n    verify: none\n    durability: local\n",
     1,
     {"cfg.yaml:4:17: durability must be kafka or spool, not \"local\""}},
    {"example without id",
     "endpoints:\n  - id: a\n    verify: none\n    examples:\n      - name: x\n        payload: 1\n",
     1,
     {"cfg.yaml:5:9: an example needs an id"}},
    {"duplicate example id",
     "endpoints:\n  - id: a\n    verify: none\n    examples:\n      - id: e\n      - id: e\n",
     1,
     {"cfg.yaml:6:9: duplicate example id \"e\""}},
    {"examples is a mapping",
     "endpoints:\n  - id: a\n    verify: none\n    examples:\n      e: 1\n",
     1,
     {"cfg.yaml:5:7: examples must be a list, not a mapping"}},
    {"empty file", "", 1, {"cfg.yaml:1:1: the configuration is empty"}},
    {"only a comment", "# nothing here\n", 1, {"cfg.yaml:1:1: the configuration is empty"}},
    {"unclosed flow sequence",
     "server:\n  listen: [\":80\"\n" EP,
     1,
     {"cfg.yaml:3:1: did not find expected ',' or ']' while parsing a flow sequence"}},
    {"tab indentation",
     "server:\n\tlisten: \":80\"\n",
     1,
     {"cfg.yaml:2:1: found character that cannot start any token while scanning for the next token"}},
    {"bad indentation", "server:\n  listen: \":80\"\n threads: 2\n", 1, {"cfg.yaml:3:2: "}},
    /* respondWith */
    {"respondWith without a filter",
     EP "    respondWith:\n      response: {status: 200}\n",
     1,
     {"cfg.yaml:5:7: respondWith needs a filter: without one it would answer every request"}},
    {"respondWith without a response",
     EP "    respondWith:\n      filter: {method: [GET]}\n",
     1,
     {"cfg.yaml:5:7: respondWith needs a response (status, headers, body); write `response: {}` for an empty 200"}},
    {"respondWith with neither filter nor response",
     EP "    respondWith:\n      skipTriggeringRuns: true\n",
     2,
     {"cfg.yaml:5:7: respondWith needs a filter", "cfg.yaml:5:7: respondWith needs a response"}},
    {"respondWith is a list",
     EP "    respondWith: [a]\n",
     1,
     {"cfg.yaml:4:18: respondWith must be a mapping, not a list"}},
    {"respondWith is null", EP "    respondWith:\n", 1, {"cfg.yaml:4:17: respondWith must be a mapping, not null"}},
    {"response is a scalar",
     EP "    respondWith:\n      filter: {}\n      response: ok\n",
     1,
     {"cfg.yaml:6:17: respondWith.response must be a mapping, not a scalar"}},
    {"status 99",
     EP "    respondWith:\n      filter: {}\n      response: {status: 99}\n",
     1,
     {"cfg.yaml:6:26: respondWith.response.status must be an HTTP status from 200 to 599, not \"99\""}},
    {"status 100 (no final answer)",
     EP "    respondWith:\n      filter: {}\n      response: {status: 100}\n",
     1,
     {"cfg.yaml:6:26: respondWith.response.status must be an HTTP status from 200 to 599, not \"100\""}},
    {"status 600",
     EP "    respondWith:\n      filter: {}\n      response: {status: 600}\n",
     1,
     {"cfg.yaml:6:26: respondWith.response.status must be an HTTP status from 200 to 599, not \"600\""}},
    {"status is a word",
     EP "    respondWith:\n      filter: {}\n      response: {status: ok}\n",
     1,
     {"cfg.yaml:6:26: respondWith.response.status must be an HTTP status from 200 to 599, not \"ok\""}},
    {"status with a sign",
     EP "    respondWith:\n      filter: {}\n      response: {status: \"+200\"}\n",
     1,
     {"cfg.yaml:6:26: respondWith.response.status must be an HTTP status", "not \"+200\""}},
    {"status 200.0", EP "    respondWith:\n      filter: {}\n      response: {status: 200.0}\n", 1, {"not \"200.0\""}},
    {"status is a list",
     EP "    respondWith:\n      filter: {}\n      response: {status: [200]}\n",
     1,
     {"cfg.yaml:6:26: respondWith.response.status must be a string, not a list"}},
    {"unknown key in respondWith",
     EP "    respondWith:\n      filter: {}\n      response: {}\n      skipRuns: true\n",
     1,
     {"cfg.yaml:7:7: unknown key \"skipRuns\" in respondWith (expected filter, skipTriggeringRuns, response)"}},
    {"unknown key in a response",
     EP "    respondWith:\n      filter: {}\n      response:\n        status: 200\n        bdy: x\n",
     1,
     {"cfg.yaml:8:9: unknown key \"bdy\" in respondWith.response (expected status, headers, body)"}},
    {"skipTriggeringRuns is not a boolean",
     EP "    respondWith:\n      filter: {}\n      response: {}\n      skipTriggeringRuns: yes\n",
     1,
     {"cfg.yaml:7:27: respondWith.skipTriggeringRuns must be true or false, not \"yes\""}},
    {"response headers is a list",
     EP "    respondWith:\n      filter: {}\n      response: {headers: [a]}\n",
     1,
     {"cfg.yaml:6:27: respondWith.response.headers must be a mapping, not a list"}},
    {"response header name with a space",
     EP "    respondWith:\n      filter: {}\n      response:\n        headers:\n          \"X Bad\": 1\n",
     1,
     {"cfg.yaml:8:11: \"x bad\" is not a header name"}},
    {"response header value with a line break",
     EP "    respondWith:\n      filter: {}\n      response:\n        headers:\n          X-A: \"a\\r\\nX-B: b\"\n",
     1,
     {"cfg.yaml:8:16: the value of response header x-a holds a control character"}},
    {"response header given twice in different cases",
     EP "    respondWith:\n      filter: {}\n      response:\n        headers:\n          Content-Type: text/plain\n"
        "          content-type: text/html\n",
     1,
     {"cfg.yaml:9:11: response header content-type is given twice (names are case-insensitive)"}},
    {"response headers that frame the message",
     EP "    respondWith:\n      filter: {}\n      response:\n        headers:\n          Content-Length: 3\n"
        "          Connection: close\n          X-Ok: yes\n",
     2,
     {"cfg.yaml:8:11: response header content-length frames the message; the server writes it itself",
      "cfg.yaml:9:11: response header connection frames the message"}},
    {"response header value is a mapping",
     EP "    respondWith:\n      filter: {}\n      response:\n        headers:\n          X-A: {b: c}\n",
     1,
     {"cfg.yaml:8:16: a response header value must be a string, not a mapping"}},
    {"response body is a mapping",
     EP "    respondWith:\n      filter: {}\n      response:\n        body: {a: 1}\n",
     1,
     {"cfg.yaml:7:15: respondWith.response.body must be a string, not a mapping"}},
    {"response body with an unclosed {{",
     EP "    respondWith:\n      filter: {}\n      response:\n        body: \"x {{query.a\"\n",
     1,
     {"cfg.yaml:7:15: respondWith.response.body: unclosed \"{{\" at offset 2"}},
    {"respondWith given twice",
     EP "    respondWith:\n      filter: {}\n      response: {}\n    respondWith:\n      filter: {}\n"
        "      response: {}\n",
     1,
     {"cfg.yaml:7:5: duplicate key \"respondWith\" in an endpoint (first at line 4)"}},
    {"response headers given twice",
     EP "    respondWith:\n      filter: {}\n      response:\n        headers: {a: b}\n        headers: {c: d}\n",
     1,
     {"cfg.yaml:8:9: duplicate key \"headers\" in respondWith.response (first at line 7)"}},
    /* request filters, in respondWith and in triggers: each error at the key or value at fault */
    {"unknown operator in a respondWith filter",
     EP "    respondWith:\n      filter:\n        method: [GET]\n        query: {hub.mode: [{$startWith: sub}]}\n"
        "      response: {}\n",
     1,
     {"cfg.yaml:7:29: respondWith.filter: query.hub.mode[0]: unknown operator \"$startWith\""}},
    {"unknown key in a request filter",
     EP "    respondWith:\n      filter: {methods: [GET]}\n      response: {}\n",
     1,
     {"cfg.yaml:5:16: respondWith.filter: unknown key \"methods\" in a request filter (expected method, headers, "
      "query, body)"}},
    {"method is not a list",
     EP "    respondWith:\n      filter: {method: GET}\n      response: {}\n",
     1,
     {"cfg.yaml:5:24: respondWith.filter: method: method is a list such as [POST], not a string"}},
    {"method as one string with a comma",
     EP "    respondWith:\n      filter: {method: [\"GET,POST\"]}\n      response: {}\n",
     1,
     {"cfg.yaml:5:25: respondWith.filter: method: \"GET,POST\" is not an HTTP method"}},
    {"headers is not a map",
     EP "    respondWith:\n      filter:\n        headers: [x-a]\n      response: {}\n",
     1,
     {"cfg.yaml:6:18: respondWith.filter: headers is a map of name → list, not an array"}},
    {"header (alias) is not a map",
     EP "    respondWith:\n      filter:\n        header: x-a\n      response: {}\n",
     1,
     {"cfg.yaml:6:17: respondWith.filter: headers is a map of name → list, not a string"}},
    {"headers and header in one filter",
     EP "    respondWith:\n      filter:\n        header: {x-a: [a]}\n        headers: {x-b: [b], x-c: [c]}\n"
        "      response: {}\n",
     1,
     {"cfg.yaml:7:9: respondWith.filter: headers is given twice (header and headers are one key)"}},
    {"method given twice in one filter",
     EP "    respondWith:\n      filter:\n        method: [GET, PUT]\n        method: [POST]\n      response: {}\n",
     1,
     {"cfg.yaml:7:9: respondWith.filter: method is given twice"}},
    {"a query filter with $gt",
     EP "    respondWith:\n      filter:\n        query: {n: [{$gt: 1}]}\n      response: {}\n",
     1,
     {"cfg.yaml:6:22: respondWith.filter: query.n: query takes only $startsWith, $endsWith and $ignoreCaseEquals, "
      "not $gt"}},
    {"a query value that is a number",
     EP "    respondWith:\n      filter:\n        query: {page: [1]}\n      response: {}\n",
     1,
     {"cfg.yaml:6:24: respondWith.filter: query.page: query values are strings: quote them"}},
    {"a scalar where a list is expected, in a query filter",
     EP "    respondWith:\n      filter:\n        query: {hub.mode: subscribe}\n      response: {}\n",
     1,
     {"cfg.yaml:6:27: respondWith.filter: query.hub.mode: expected a list"}},
    {"filter is null",
     EP "    respondWith:\n      filter:\n      response: {}\n",
     1,
     {"cfg.yaml:5:14: respondWith.filter: a request filter is an object with method, headers, query and body, "
      "not null"}},
    {"array mixing scalar types in a trigger filter",
     EP "    triggers:\n      - name: t\n        filter:\n          body:\n            type: [a, 1]\n",
     1,
     {"cfg.yaml:8:23: triggers[].filter: body.type: a list mixes a string and a number"}},
    {"an object with two operators in a trigger filter",
     EP "    triggers:\n      - name: t\n        filter:\n          header:\n            x-a: [{$startsWith: a, "
        "$endsWith: b}]\n",
     1,
     {"cfg.yaml:8:19: triggers[].filter: headers.x-a[0]: an operator object holds exactly one operator"}},
    {"a scalar where an array is expected in a trigger body filter",
     EP
     "    triggers:\n      - name: t\n        filter:\n          body:\n            event:\n              type: push\n",
     1,
     {"cfg.yaml:9:21: triggers[].filter: body.event.type: expected a list"}},
    {"an operator outside a list in a trigger body filter",
     EP "    triggers:\n      - name: t\n        filter: {body: {ref: {$startsWith: refs/}}}\n",
     1,
     {"cfg.yaml:6:31: triggers[].filter: body.ref.$startsWith: an operator must be inside a list"}},
    /* triggers */
    {"triggers is an empty list",
     EP "    triggers: []\n",
     1,
     {"cfg.yaml:4:15: triggers is empty: leave it out to publish every verified request to the endpoint's topic"}},
    {"triggers is a mapping",
     EP "    triggers:\n      t: {}\n",
     1,
     {"cfg.yaml:5:7: triggers must be a list, not a mapping"}},
    {"a trigger is a scalar",
     EP "    triggers: [t]\n",
     1,
     {"cfg.yaml:4:16: a trigger must be a mapping, not a scalar"}},
    {"a trigger without a name",
     EP "    triggers:\n      - filter: {}\n",
     1,
     {"cfg.yaml:5:9: a trigger needs a name (it is written in the event's `triggers`)"}},
    {"a trigger with an empty name",
     EP "    triggers:\n      - name: \"\"\n",
     1,
     {"cfg.yaml:5:15: a trigger needs a name"}},
    {"duplicate trigger names",
     EP "    triggers:\n      - name: t\n      - name: u\n      - name: t\n",
     1,
     {"cfg.yaml:7:15: duplicate trigger name \"t\" (first at line 5)"}},
    {"unknown key in a trigger",
     EP "    triggers:\n      - name: t\n        topics: x\n",
     1,
     {"cfg.yaml:6:9: unknown key \"topics\" in a trigger (expected name, filter, topic, partitionKey)"}},
    {"a trigger topic that is not a topic name",
     EP "    triggers:\n      - name: t\n        topic: \"{id}/x\"\n",
     1,
     {"cfg.yaml:6:16: trigger topic \"a/x\" is not a valid Kafka topic name"}},
    {"a trigger topic that is empty",
     EP "    triggers:\n      - name: t\n        topic: \"\"\n",
     1,
     {"cfg.yaml:6:16: trigger topic \"\" is not a valid Kafka topic name"}},
    {"a trigger topic with an invalid endpoint id: one error for the id",
     "endpoints:\n  - id: a/b\n    verify: none\n    triggers:\n      - name: t\n        topic: \"{id}.x\"\n",
     1,
     {"cfg.yaml:2:9: endpoint id \"a/b\" may only use"}},
    {"triggers given twice",
     EP "    triggers:\n      - name: t\n    triggers:\n      - name: u\n",
     1,
     {"cfg.yaml:6:5: duplicate key \"triggers\" in an endpoint (first at line 4)"}},
    {"several respondWith and trigger errors, all reported",
     "endpoints:\n"                               /* 1 */
     "  - id: a\n"                                /* 2 */
     "    verify: none\n"                         /* 3 */
     "    respondWith:\n"                         /* 4 */
     "      skipTriggeringRuns: maybe\n"          /* 5: not a boolean */
     "      filter: {method: GET}\n"              /* 6: method not a list */
     "      response: {status: 600, x: 1}\n"      /* 7: status, unknown key */
     "    triggers:\n"                            /* 8 */
     "      - name: t\n"                          /* 9 */
     "        filter: {query: {a: [{$gt: 1}]}}\n" /* 10: operator not allowed in a query */
     "      - name: t\n"                          /* 11: duplicate name */
     "        topic: \"bad topic\"\n"             /* 12: bad topic */
     "      - filter: {}\n"                       /* 13: no name */
     "  - id: b\n"                                /* 14 */
     "    verify: none\n"                         /* 15 */
     "    respondWith:\n"                         /* 16 */
     "      response: {}\n",                      /* 17: no filter */
     9,
     {"cfg.yaml:5:27: respondWith.skipTriggeringRuns", "cfg.yaml:6:24: respondWith.filter: method",
      "cfg.yaml:7:26: respondWith.response.status", "cfg.yaml:7:31: unknown key \"x\" in respondWith.response",
      "cfg.yaml:10:31: triggers[].filter: query.a: query takes only", "cfg.yaml:11:15: duplicate trigger name \"t\"",
      "cfg.yaml:12:16: trigger topic \"bad topic\"", "cfg.yaml:13:9: a trigger needs a name",
      "cfg.yaml:17:7: respondWith needs a filter"}},
    {"several errors, all reported",
     "server:\n"                    /* 1 */
     "  thread: 4\n"                /* 2: unknown key */
     "  maxBodySize: lots\n"        /* 3: bad size */
     "kafka:\n"                     /* 4 */
     "  producer:\n"                /* 5 */
     "    acks: all\n"              /* 6: owned property */
     "durability: disk\n"           /* 7: neither kafka nor spool */
     "endpoints:\n"                 /* 8 */
     "  - id: a\n"                  /* 9: no verify */
     "  - id: a\n"                  /* 10: duplicate */
     "    verify: none\n"           /* 11 */
     "  - id: b\n"                  /* 12 */
     "    verify:\n"                /* 13 */
     "      headerName: X\n"        /* 14 */
     "      secret: ${HB_UNSET}\n", /* 15: unset variable */
     7,
     {"cfg.yaml:2:3: unknown key \"thread\"", "cfg.yaml:3:16: server.maxBodySize",
      "cfg.yaml:6:5: kafka.producer: \"acks\"", "cfg.yaml:7:13: durability must be kafka or spool",
      "cfg.yaml:9:5: endpoint \"a\" has no verify", "cfg.yaml:10:9: duplicate endpoint id \"a\" (first at line 9)",
      "cfg.yaml:15:15: environment variable HB_UNSET is not set"}},
};

/* Expansion of ${} in a scalar: the endpoint's title after loading "title: <yaml>". */
static const struct {
    const char *yaml;
    const char *title;
} expand_rows[] = {
    {"${HB_SECRET}", "s3cr3t"},
    {"x-${HB_SECRET}-${HB_PORT}", "x-s3cr3t-9999"},
    {"\"${HB_SECRET}\"", "s3cr3t"},
    {"${HB_UNSET:-dflt}", "dflt"},
    {"${HB_UNSET:-}", ""},
    {"${HB_EMPTY:-dflt}", "dflt"}, /* set but empty takes the default */
    {"${HB_SECRET:-dflt}", "s3cr3t"},
    {"${HB_EMPTY}", ""},
    {"\"${HB_UNSET:-a b}\"", "a b"},
    {"$${literal}", "${literal}"},
    {"$${HB_SECRET}", "${HB_SECRET}"},
    {"cost $5 or $$", "cost $5 or $$"},
    {"\"{id}\"", "{id}"},
};

/* secretFile: what the loaded secret is. */
static const struct {
    const char *yaml;
    const char *secret;
    size_t len;
} secret_file_rows[] = {
    {"/run/secrets/lf", B("file-secret")},   /* trailing "\n" stripped */
    {"/run/secrets/crlf", B("crlf-secret")}, /* trailing "\r\n" stripped */
    {"/run/secrets/raw", B("raw-secret")},   {"/run/secrets/empty", B("")},
    {"/run/secrets/nul", B("a\0b")},         {"${HB_DIR}/lf", B("file-secret")},
};

/* hb_config_find_endpoint on the full config below. */
static const struct {
    const char *id;
    int index; /* -1: not found */
} find_rows[] = {
    {"cal.com", 0}, {"github", 1}, {"stripe_2", 2}, {"cal", -1}, {"cal.com.", -1}, {"", -1}, {"nope", -1},
};

static const char full_yaml[] = "server:\n"
                                "  listen:\n"
                                "    - \"0.0.0.0:8080\"\n"
                                "    - \"[::1]:${HB_PORT}\"\n"
                                "  threads: 4\n"
                                "  maxBodySize: 2MiB\n"
                                "  shutdownTimeout: 20s\n"
                                "  drainDelay: 0s\n"
                                "  publicUrl: https://hooks.example.com\n"
                                "admin:\n"
                                "  listen: 127.0.0.1:9000\n"
                                "kafka:\n"
                                "  brokers: ${HB_BROKERS}\n"
                                "  topic: \"webhooks.{id}\"\n"
                                "  deliveryTimeout: 5s\n"
                                "  producer:\n"
                                "    linger.ms: 5\n"
                                "    compression.type: zstd\n"
                                "durability: kafka\n"
                                "endpoints:\n"
                                "  - id: cal.com\n" /* line 20 */
                                "    source: cal\n"
                                "    icon: caldotcom\n"
                                "    title: Cal.com bookings\n"
                                "    eventIdHeader: X-Cal-Delivery-ID\n"
                                "    maxBodySize: 512KiB\n"
                                "    verify:\n"
                                "      headerName: X-Cal-Signature-256\n"
                                "      secret: ${HB_SECRET}\n"
                                "      algorithm: sha256\n"
                                "      headerEncoding: hex\n"
                                "    examples:\n"
                                "      - id: booking\n"
                                "        name: Booking created\n"
                                "        icon: calendar\n"
                                "        payload:\n"
                                "          triggerEvent: BOOKING_CREATED\n"
                                "          count: 3\n"
                                "          ratio: -1.5e3\n"
                                "          ok: true\n"
                                "          bad: false\n"
                                "          nothing: null\n"
                                "          tilde: ~\n"
                                "          quoted: \"123\"\n"
                                "          single: 'true'\n"
                                "          text: \"say \\\"hi\\\"\"\n"
                                "          list: [1, two, \"3\"]\n"
                                "          nested: {a: {b: []}}\n"
                                "      - id: empty\n"
                                "  - id: github\n" /* line 49 */
                                "    verify:\n"
                                "      headerName: X-Hub-Signature-256\n"
                                "      secretFile: /run/secrets/lf\n"
                                "      algorithm: sha1\n"
                                "      headerEncoding: base64url\n"
                                "  - id: stripe_2\n" /* line 55 */
                                "    verify: none\n";

static const char full_payload[] = "{\"triggerEvent\":\"BOOKING_CREATED\",\"count\":3,\"ratio\":-1500,\"ok\":true,"
                                   "\"bad\":false,\"nothing\":null,\"tilde\":null,\"quoted\":\"123\",\"single\":"
                                   "\"true\",\"text\":\"say \\\"hi\\\"\",\"list\":[1,\"two\",\"3\"],"
                                   "\"nested\":{\"a\":{\"b\":[]}}}";

/* ---- helpers ---- */

static hb_config_t *parse(const char *yaml, hb_buf_t *errors)
{
    hb_buf_init(errors);
    return hb_config_parse("cfg.yaml", yaml, strlen(yaml), &fake_env, errors);
}

static size_t count_lines(const hb_buf_t *errors)
{
    size_t n = 0;
    for (size_t i = 0; i < errors->len; i++)
        n += errors->base[i] == '\n';
    return n;
}

/* 1 when every line is "cfg.yaml:LINE:COL: message". */
static int lines_well_formed(const hb_buf_t *errors)
{
    const char *p = errors->base;
    if (p == NULL || errors->len == 0 || p[errors->len - 1] != '\n')
        return 0;
    while (*p != '\0') {
        unsigned line, col;
        int n = 0;
        if (sscanf(p, "cfg.yaml:%u:%u: %n", &line, &col, &n) != 2 || n == 0 || line == 0 || col == 0)
            return 0;
        p = strchr(p, '\n') + 1;
    }
    return 1;
}

/* Parses a copy of yaml that ends right before an unreadable page, to catch over-reads; returns the error output. */
static char *parse_at_page_end(const char *yaml)
{
    size_t pagesize = (size_t)sysconf(_SC_PAGESIZE), len = strlen(yaml);
    char *base = mmap(NULL, 2 * pagesize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED || mprotect(base + pagesize, pagesize, PROT_NONE) != 0 || len > pagesize) {
        perror("mmap/mprotect");
        exit(2);
    }
    char *text = memcpy(base + pagesize - len, yaml, len);
    hb_buf_t errors;
    hb_buf_init(&errors);
    hb_config_free(hb_config_parse("cfg.yaml", text, len, &fake_env, &errors));
    munmap(base, 2 * pagesize);
    return hb_buf_release(&errors);
}

/* ---- tests ---- */

static void test_full(void)
{
    hb_buf_t errors;
    hb_config_t *cfg = parse(full_yaml, &errors);
    if (!ok(cfg != NULL, "the full config loads")) {
        is_str(errors.base, "", "no errors for the full config");
        hb_buf_dispose(&errors);
        return;
    }
    is_int(errors.len, 0, "no error output for the full config");
    char *guarded = parse_at_page_end(full_yaml);
    is_str(guarded, "", "the full config loads when its text ends at an unreadable page");
    free(guarded);
    is_str(cfg->path, "cfg.yaml", "path");
    if (is_int(cfg->server.num_listen, 2, "two listen addresses")) {
        is_str(cfg->server.listen[0].host, "0.0.0.0", "listen[0].host");
        is_str(cfg->server.listen[0].port, "8080", "listen[0].port");
        is_str(cfg->server.listen[1].host, "::1", "listen[1].host (brackets removed)");
        is_str(cfg->server.listen[1].port, "9999", "listen[1].port (from ${HB_PORT})");
    }
    is_int(cfg->server.threads, 4, "server.threads");
    is_int(cfg->server.max_body_size, 2 * 1024 * 1024, "server.maxBodySize 2MiB");
    is_int(cfg->server.shutdown_timeout_ms, 20000, "server.shutdownTimeout 20s");
    is_int(cfg->server.drain_delay_ms, 0, "server.drainDelay 0s is allowed");
    is_str(cfg->server.public_url, "https://hooks.example.com", "server.publicUrl");
    ok(cfg->server.tls_cert_file == NULL && cfg->server.tls_key_file == NULL, "no TLS");
    is_str(cfg->admin.listen.host, "127.0.0.1", "admin.listen host");
    is_str(cfg->admin.listen.port, "9000", "admin.listen port");
    is_str(cfg->kafka.brokers, "kafka1:9092,kafka2:9092", "kafka.brokers from ${HB_BROKERS}");
    is_str(cfg->kafka.topic_template, "webhooks.{id}", "kafka.topic template");
    is_int(cfg->kafka.delivery_timeout_ms, 5000, "kafka.deliveryTimeout 5s");
    if (is_int(cfg->kafka.num_producer, 2, "two producer properties")) {
        is_str(cfg->kafka.producer[0].key, "linger.ms", "producer[0].key");
        is_str(cfg->kafka.producer[0].value, "5", "producer[0].value");
        is_str(cfg->kafka.producer[1].key, "compression.type", "producer[1].key");
        is_str(cfg->kafka.producer[1].value, "zstd", "producer[1].value");
    }
    if (!is_int(cfg->num_endpoints, 3, "three endpoints"))
        goto Exit;

    const hb_endpoint_config_t *cal = &cfg->endpoints[0];
    is_str(cal->id, "cal.com", "endpoint 0 id");
    is_str(cal->source, "cal", "endpoint 0 source");
    is_str(cal->icon, "caldotcom", "endpoint 0 icon");
    is_str(cal->title, "Cal.com bookings", "endpoint 0 title");
    is_str(cal->event_id_header, "x-cal-delivery-id", "endpoint 0 eventIdHeader, lower-cased");
    is_int(cal->max_body_size, 512 * 1024, "endpoint 0 maxBodySize 512KiB");
    is_str(cal->topic, "webhooks.cal.com", "endpoint 0 topic rendered from the template");
    is_int(cal->line, 21, "endpoint 0 line");
    is_int(cal->verify.none, 0, "endpoint 0 verifies");
    is_str(cal->verify.header_name, "X-Cal-Signature-256", "endpoint 0 headerName keeps its case");
    is_mem(cal->verify.num_secrets == 1 ? cal->verify.secrets[0].data : NULL,
           cal->verify.num_secrets == 1 ? cal->verify.secrets[0].len : 0, "s3cr3t", 6,
           "endpoint 0 secret from ${HB_SECRET}");
    is_int(cal->verify.algorithm, HB_HMAC_SHA256, "endpoint 0 algorithm");
    is_int(cal->verify.encoding, HB_ENC_HEX, "endpoint 0 encoding");
    if (is_int(cal->num_examples, 2, "endpoint 0 has two examples")) {
        is_str(cal->examples[0].id, "booking", "example 0 id");
        is_str(cal->examples[0].name, "Booking created", "example 0 name");
        is_str(cal->examples[0].payload_json, full_payload, "example 0 payload as compact JSON with typed scalars");
        is_str(cal->examples[1].id, "empty", "example 1 id");
        is_str(cal->examples[1].name, NULL, "example 1 has no name");
        is_str(cal->examples[1].payload_json, "null", "example 1 without payload is null");
    }

    const hb_endpoint_config_t *gh = &cfg->endpoints[1];
    is_str(gh->id, "github", "endpoint 1 id");
    is_str(gh->source, "github", "endpoint 1 source defaults to the id");
    is_str(gh->icon, NULL, "endpoint 1 has no icon");
    is_str(gh->title, NULL, "endpoint 1 has no title");
    is_str(gh->event_id_header, NULL, "endpoint 1 has no eventIdHeader");
    is_int(gh->max_body_size, 2 * 1024 * 1024, "endpoint 1 maxBodySize defaults to server.maxBodySize");
    is_str(gh->topic, "webhooks.github", "endpoint 1 topic");
    is_int(gh->line, 50, "endpoint 1 line");
    is_str(gh->verify.header_name, "X-Hub-Signature-256", "endpoint 1 headerName");
    is_mem(gh->verify.num_secrets == 1 ? gh->verify.secrets[0].data : NULL,
           gh->verify.num_secrets == 1 ? gh->verify.secrets[0].len : 0, "file-secret", 11,
           "endpoint 1 secret from secretFile");
    is_int(gh->verify.algorithm, HB_HMAC_SHA1, "endpoint 1 algorithm");
    is_int(gh->verify.encoding, HB_ENC_BASE64URL, "endpoint 1 encoding");
    is_int(gh->num_examples, 0, "endpoint 1 has no examples");

    const hb_endpoint_config_t *st = &cfg->endpoints[2];
    is_str(st->id, "stripe_2", "endpoint 2 id");
    is_int(st->verify.none, 1, "endpoint 2 verify: none");
    is_str(st->topic, "webhooks.stripe_2", "endpoint 2 topic");
    is_int(st->line, 56, "endpoint 2 line");

    for (size_t i = 0; i < HB_ARRAY_SIZE(find_rows); i++) {
        const hb_endpoint_config_t *want = find_rows[i].index < 0 ? NULL : &cfg->endpoints[find_rows[i].index];
        ok(hb_config_find_endpoint(cfg, find_rows[i].id) == want, "find_endpoint(\"%s\") gives endpoint %d",
           find_rows[i].id, find_rows[i].index);
    }
Exit:
    hb_config_free(cfg);
    hb_buf_dispose(&errors);
}

static void test_defaults(void)
{
    hb_buf_t errors;
    hb_config_t *cfg = parse("endpoints:\n  - id: a\n    verify: none\n", &errors);
    if (!ok(cfg != NULL, "a config with one endpoint loads")) {
        is_str(errors.base, "", "no errors");
        hb_buf_dispose(&errors);
        return;
    }
    if (is_int(cfg->server.num_listen, 1, "default: one listen address")) {
        is_str(cfg->server.listen[0].host, "0.0.0.0", "default listen host");
        is_str(cfg->server.listen[0].port, "8080", "default listen port");
    }
    is_int(cfg->server.threads, 0, "default threads: auto");
    is_int(cfg->server.max_body_size, 1024 * 1024, "default maxBodySize 1MiB");
    is_int(cfg->server.shutdown_timeout_ms, 15000, "default shutdownTimeout 15s");
    is_int(cfg->server.drain_delay_ms, 5000, "default drainDelay 5s");
    is_int(cfg->server.request_timeout_ms, 10000, "default requestTimeout 10s");
    is_int(cfg->server.h2c, 0, "h2c is off by default");
    is_int(cfg->kafka.readiness_window_ms, 30000, "default readinessWindow 30s");
    is_int(cfg->log.level, 1, "default log.level info");
    ok(cfg->log.sample_rate == 0.01, "default log.sampleRate 0.01");
    is_str(cfg->admin.listen.host, NULL, "admin.listen unset");
    is_str(cfg->kafka.brokers, "embedded", "default brokers");
    is_str(cfg->kafka.topic_template, "webhooks.{id}", "default topic template");
    is_int(cfg->kafka.delivery_timeout_ms, 8000, "default deliveryTimeout 8s");
    is_int(cfg->kafka.num_producer, 0, "no producer properties");
    is_str(cfg->endpoints[0].topic, "webhooks.a", "topic from the default template");
    is_str(cfg->endpoints[0].source, "a", "source defaults to the id");
    is_int(cfg->endpoints[0].max_body_size, 1024 * 1024, "endpoint maxBodySize defaults to 1MiB");
    is_int(cfg->endpoints[0].dedupe_size, 0, "no sender's id: no deduplication by default");
    hb_config_free(cfg);
    hb_buf_dispose(&errors);

    cfg = parse("server:\n  threads: auto\n  listen: \":8081\"\nkafka:\n  topic: events\n" EP, &errors);
    if (ok(cfg != NULL, "threads: auto, a single listen string, a template without {id}")) {
        is_int(cfg->server.threads, 0, "threads: auto is 0");
        if (is_int(cfg->server.num_listen, 1, "listen as one string"))
            is_str(cfg->server.listen[0].host, "", "\":8081\" listens on every address");
        is_str(cfg->endpoints[0].topic, "events", "a template without {id} is the topic");
    } else {
        is_str(errors.base, "", "no errors");
    }
    hb_config_free(cfg);
    hb_buf_dispose(&errors);
}

/* respondWith and triggers: every field as loaded, and the compiled filters and templates doing their job. */
static const char rw_yaml[] = "kafka:\n"
                              "  topic: \"hooks.{id}\"\n"
                              "endpoints:\n"
                              "  - id: slack\n"
                              "    verify: none\n"
                              "    respondWith:\n"
                              "      skipTriggeringRuns: true\n"
                              "      filter:\n"
                              "        method: [post]\n"
                              "        headers: {Content-Type: [{$startsWith: application/json}]}\n"
                              "        body: {type: [url_verification]}\n"
                              "      response:\n"
                              "        status: 200\n"
                              "        headers:\n"
                              "          Content-Type: application/json\n"
                              "          X-Hook-Secret: ${HB_SECRET}\n"
                              "        body: '{\"challenge\":{{json body.challenge}}}'\n"
                              "    triggers:\n"
                              "      - name: messages\n"
                              "        filter: {body: {event: {type: [message]}}}\n"
                              "      - name: mentions\n"
                              "        filter:\n"
                              "          header: {X-Slack-Retry-Num: []}\n"
                              "          body: {event: {type: [app_mention], bot: [{$exists: false}]}}\n"
                              "        topic: \"{id}.mentions\"\n"
                              "      - name: everything\n"
                              "  - triggers:\n" /* before the id: the topic's {id} is still this endpoint's */
                              "      - name: subscribed\n"
                              "        topic: \"{id}-subs\"\n"
                              "        filter: {query: {hub.mode: [subscribe]}}\n"
                              "    id: meta\n"
                              "    verify: none\n"
                              "    respondWith:\n"
                              "      filter: {method: [GET], query: {hub.mode: [{$startsWith: sub}]}}\n"
                              "      response: {body: \"{{query.hub.challenge}}\"}\n"
                              "  - id: ping\n"
                              "    verify: none\n"
                              "    respondWith:\n"
                              "      skipTriggeringRuns: false\n"
                              "      filter: {}\n"
                              "      response: {status: \"204\", headers: {X-Pong: Yes}}\n"
                              "  - id: plain\n"
                              "    verify: none\n";

/* A request for matching: method, URL, and a JSON body ("" = none). The body is unpacked into up. */
typedef struct {
    hb_request_t req;
    msgpack_sbuffer sb;
    msgpack_unpacked up;
    const msgpack_object *body;
} test_req_t;

static const hb_header_t json_headers[] = {{"content-type", 12, "application/json", 16}};

static void test_req_init(test_req_t *t, const char *method, const char *url, const char *json)
{
    const char *q = strchr(url, '?');
    memset(t, 0, sizeof(*t));
    t->req = (hb_request_t){.method = method,
                            .method_len = strlen(method),
                            .path = url,
                            .path_len = strlen(url),
                            .query_at = q != NULL ? (size_t)(q - url) : SIZE_MAX,
                            .headers = json_headers,
                            .num_headers = 1};
    msgpack_sbuffer_init(&t->sb);
    msgpack_unpacked_init(&t->up);
    char err[128];
    size_t off = 0;
    if (*json != '\0' && hb_json_to_msgpack(json, strlen(json), HB_BODY_MAX_DEPTH, &t->sb, err, sizeof(err)) == 0 &&
        msgpack_unpack_next(&t->up, t->sb.data, t->sb.size, &off) == MSGPACK_UNPACK_SUCCESS)
        t->body = &t->up.data;
}

static void test_req_dispose(test_req_t *t)
{
    msgpack_unpacked_destroy(&t->up);
    msgpack_sbuffer_destroy(&t->sb);
}

static int reqfilter_matches(const struct hb_reqfilter *f, const char *method, const char *url, const char *json)
{
    test_req_t t;
    test_req_init(&t, method, url, json);
    int got = hb_reqfilter_match(f, &t.req, t.body, NULL);
    test_req_dispose(&t);
    return got;
}

/* The rendered body as a malloc'd string. */
static char *render(const struct hb_template *tmpl, const char *method, const char *url, const char *json)
{
    test_req_t t;
    test_req_init(&t, method, url, json);
    hb_buf_t out;
    hb_buf_init(&out);
    hb_buf_puts(&out, "");
    hb_template_render(tmpl, &t.req, t.body, &out);
    test_req_dispose(&t);
    return hb_buf_release(&out);
}

/* fuzz_filter / fuzz_template: an empty key on a template's body path ("body..x") is msgpack-c's (NULL, 0) string */
static void test_template_empty_key(void)
{
    char err[128];
    hb_template_t *t = hb_template_compile("{{body..x}}|{{json body.}}|{{query.}}", err, sizeof(err));
    if (!ok(t != NULL, "a template with empty path segments compiles"))
        return;
    char *got = render(t, "POST", "/w?=q", "{\"\":{\"x\":1}}");
    is_str(got, "1|{\"\":{\"x\":1}}|q", "empty keys are followed and found (body. is the whole body)");
    free(got);
    hb_template_free(t);
}

static void test_respond_triggers(void)
{
    hb_buf_t errors;
    hb_config_t *cfg = parse(rw_yaml, &errors);
    if (!ok(cfg != NULL, "respondWith and triggers load")) {
        is_str(errors.base, "", "no errors for respondWith and triggers");
        hb_buf_dispose(&errors);
        return;
    }
    char *guarded = parse_at_page_end(rw_yaml);
    is_str(guarded, "", "respondWith and triggers load when the text ends at an unreadable page");
    free(guarded);
    if (!is_int(cfg->num_endpoints, 4, "four endpoints"))
        goto Exit;

    /* slack: every field of respondWith */
    const hb_endpoint_config_t *slack = &cfg->endpoints[0];
    is_str(slack->topic, "hooks.slack", "slack topic");
    const hb_respond_config_t *rw = slack->respond_with;
    if (ok(rw != NULL, "slack has respondWith")) {
        is_int(rw->skip_triggering_runs, 1, "skipTriggeringRuns: true");
        is_int(rw->status, 200, "status 200");
        if (is_int(rw->num_headers, 2, "two response headers")) {
            is_str(rw->headers[0].key, "content-type", "header names are lower-cased at load (h2o wants them so)");
            is_str(rw->headers[0].value, "application/json", "header values keep their case");
            is_str(rw->headers[1].key, "x-hook-secret", "second header name, lower-cased");
            is_str(rw->headers[1].value, "s3cr3t", "header values expand ${}");
        }
        ok(rw->filter != NULL && rw->body != NULL, "filter and body are compiled");
        is_int(hb_reqfilter_needs_body(rw->filter), 1, "a body filter needs the body");
        is_int(hb_template_needs_body(rw->body), 1, "{{json body.challenge}} needs the body");
        is_int(reqfilter_matches(rw->filter, "POST", "/w", "{\"type\":\"url_verification\",\"challenge\":\"c\"}"), 1,
               "the filter matches Slack's url_verification (method written in lower case)");
        is_int(reqfilter_matches(rw->filter, "POST", "/w", "{\"type\":\"event_callback\"}"), 0,
               "the filter does not match an event_callback");
        is_int(reqfilter_matches(rw->filter, "GET", "/w", "{\"type\":\"url_verification\"}"), 0,
               "the filter does not match a GET");
        char *body = render(rw->body, "POST", "/w", "{\"type\":\"url_verification\",\"challenge\":\"3e\\\"x\"}");
        is_str(body, "{\"challenge\":\"3e\\\"x\"}", "the body template renders the challenge as JSON");
        free(body);
    }
    if (is_int(slack->num_triggers, 3, "slack has three triggers")) {
        const hb_trigger_config_t *t = slack->triggers;
        is_str(t[0].name, "messages", "trigger 0 name");
        is_str(t[0].topic, "hooks.slack", "trigger 0 topic defaults to the endpoint's");
        is_str(t[1].name, "mentions", "trigger 1 name");
        is_str(t[1].topic, "slack.mentions", "trigger 1 topic with {id} replaced");
        is_str(t[2].name, "everything", "trigger 2 name");
        is_str(t[2].topic, "hooks.slack", "trigger 2 topic defaults to the endpoint's");
        ok(t[2].filter == NULL, "trigger 2 has no filter: every verified request");
        if (ok(t[0].filter != NULL && t[1].filter != NULL, "triggers 0 and 1 have filters")) {
            is_int(reqfilter_matches(t[0].filter, "POST", "/w", "{\"event\":{\"type\":\"message\"}}"), 1,
                   "trigger 0 matches a message");
            is_int(reqfilter_matches(t[0].filter, "POST", "/w", "{\"event\":{\"type\":\"app_mention\"}}"), 0,
                   "trigger 0 does not match a mention");
            is_int(reqfilter_matches(t[1].filter, "POST", "/w", "{\"event\":{\"type\":\"app_mention\"}}"), 1,
                   "trigger 1 matches a mention ($exists: false, an empty header list)");
            is_int(reqfilter_matches(t[1].filter, "POST", "/w", "{\"event\":{\"type\":\"app_mention\",\"bot\":1}}"), 0,
                   "trigger 1 does not match a bot's mention");
        }
    }

    /* meta: triggers before the id; respondWith defaults */
    const hb_endpoint_config_t *meta = &cfg->endpoints[1];
    is_str(meta->id, "meta", "endpoint 1 id");
    if (is_int(meta->num_triggers, 1, "meta has one trigger")) {
        is_str(meta->triggers[0].name, "subscribed", "meta trigger name");
        is_str(meta->triggers[0].topic, "meta-subs", "{id} in a trigger topic written before the id");
        ok(meta->triggers[0].filter != NULL &&
               reqfilter_matches(meta->triggers[0].filter, "GET", "/w?hub.mode=subscribe", "") == 1,
           "meta trigger filter matches on the query");
    }
    rw = meta->respond_with;
    if (ok(rw != NULL, "meta has respondWith")) {
        is_int(rw->skip_triggering_runs, 0, "skipTriggeringRuns defaults to false");
        is_int(rw->status, 200, "status defaults to 200");
        is_int(rw->num_headers, 0, "no response headers");
        is_int(hb_reqfilter_needs_body(rw->filter), 0, "a filter on method and query does not need the body");
        is_int(hb_template_needs_body(rw->body), 0, "{{query.hub.challenge}} does not need the body");
        is_int(reqfilter_matches(rw->filter, "GET", "/w?hub.mode=subscribe&hub.challenge=42", ""), 1,
               "the filter matches the subscribe handshake");
        is_int(reqfilter_matches(rw->filter, "GET", "/w?hub.mode=unsubscribe", ""), 0,
               "the filter does not match unsubscribe");
        char *body = render(rw->body, "GET", "/w?hub.mode=subscribe&hub.challenge=42", "");
        is_str(body, "42", "the body renders {{query.hub.challenge}}");
        free(body);
    }

    /* ping: an explicit false, a quoted status, an empty filter, no body */
    rw = cfg->endpoints[2].respond_with;
    if (ok(rw != NULL, "ping has respondWith")) {
        is_int(rw->skip_triggering_runs, 0, "skipTriggeringRuns: false");
        is_int(rw->status, 204, "status \"204\"");
        if (is_int(rw->num_headers, 1, "ping: one response header")) {
            is_str(rw->headers[0].key, "x-pong", "the name lower-cased");
            is_str(rw->headers[0].value, "Yes", "the value as written");
        }
        is_int(reqfilter_matches(rw->filter, "DELETE", "/w", ""), 1, "an empty filter matches every request");
        char *body = render(rw->body, "GET", "/w", "");
        is_str(body, "", "no body: renders empty");
        free(body);
    }

    /* plain: neither */
    ok(cfg->endpoints[3].respond_with == NULL, "plain has no respondWith");
    is_int(cfg->endpoints[3].num_triggers, 0, "plain has no triggers");
    ok(cfg->endpoints[3].triggers == NULL, "plain has no trigger array");
Exit:
    hb_config_free(cfg);
    hb_buf_dispose(&errors);
}

static void test_errors(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(error_rows); i++) {
        hb_buf_t errors;
        hb_config_t *cfg = parse(error_rows[i].yaml, &errors);
        ok(cfg == NULL, "%s: the config is refused", error_rows[i].what);
        const char *out = errors.base != NULL ? errors.base : "";
        int all = 1;
        for (size_t k = 0; k < HB_ARRAY_SIZE(error_rows[i].want) && error_rows[i].want[k] != NULL; k++)
            all &= ok(strstr(out, error_rows[i].want[k]) != NULL, "%s: says %s", error_rows[i].what,
                      error_rows[i].want[k]);
        all &= is_int(count_lines(&errors), error_rows[i].nerrors, "%s: number of error lines", error_rows[i].what);
        all &= ok(lines_well_formed(&errors), "%s: every line is cfg.yaml:LINE:COL: message", error_rows[i].what);
        if (!all)
            is_str(out, "", "%s: the whole error output", error_rows[i].what);
        char *guarded = parse_at_page_end(error_rows[i].yaml);
        is_str(guarded, out, "%s: the same errors when the text ends at an unreadable page", error_rows[i].what);
        free(guarded);
        hb_config_free(cfg);
        hb_buf_dispose(&errors);
    }
}

static void test_expand(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(expand_rows); i++) {
        char yaml[256];
        snprintf(yaml, sizeof(yaml), "endpoints:\n  - id: a\n    verify: none\n    title: %s\n", expand_rows[i].yaml);
        hb_buf_t errors;
        hb_config_t *cfg = parse(yaml, &errors);
        if (ok(cfg != NULL, "title: %s loads", expand_rows[i].yaml))
            is_str(cfg->endpoints[0].title, expand_rows[i].title, "title: %s", expand_rows[i].yaml);
        else
            is_str(errors.base, "", "title: %s: no errors", expand_rows[i].yaml);
        hb_config_free(cfg);
        hb_buf_dispose(&errors);
    }
}

static void test_secret_file(void)
{
    for (size_t i = 0; i < HB_ARRAY_SIZE(secret_file_rows); i++) {
        char yaml[256];
        snprintf(yaml, sizeof(yaml), "endpoints:\n  - id: a\n    verify:\n      headerName: X\n      secretFile: %s\n",
                 secret_file_rows[i].yaml);
        hb_buf_t errors;
        hb_config_t *cfg = parse(yaml, &errors);
        if (ok(cfg != NULL, "secretFile: %s loads", secret_file_rows[i].yaml)) {
            const hb_verify_config_t *v = &cfg->endpoints[0].verify;
            is_mem(v->num_secrets == 1 ? v->secrets[0].data : NULL, v->num_secrets == 1 ? v->secrets[0].len : 0,
                   secret_file_rows[i].secret, secret_file_rows[i].len, "secretFile: %s", secret_file_rows[i].yaml);
            /* watch: true looks at the file and at the secret file it was read from */
            if (is_int(cfg->num_files, 2, "secretFile: %s: two files read", secret_file_rows[i].yaml))
                is_str(strrchr(cfg->files[1], '/'), strrchr(secret_file_rows[i].yaml, '/'),
                       "secretFile: the secret's path (${} expanded) is the second: %s", cfg->files[1]);
        } else {
            is_str(errors.base, "", "secretFile: %s: no errors", secret_file_rows[i].yaml);
        }
        hb_config_free(cfg);
        hb_buf_dispose(&errors);
    }
}

/* ---- HOOKBRIDGE_* overrides ---- */

static const char *const *override_vars; /* NAME, VALUE, ..., NULL */

static const char *override_getenv(void *ctx, const char *name)
{
    for (const char *const *v = override_vars; v != NULL && *v != NULL; v += 2)
        if (strcmp(v[0], name) == 0)
            return v[1];
    return NULL;
}

static const hb_config_env_t override_env = {override_getenv, fake_read_file, NULL};

static hb_config_t *parse_with(const char *yaml, const char *const *vars, hb_buf_t *errors)
{
    override_vars = vars;
    hb_buf_init(errors);
    hb_buf_puts(errors, "");
    return hb_config_parse("cfg.yaml", yaml, strlen(yaml), &override_env, errors);
}

static void test_overrides(void)
{
    static const char yaml[] = "server:\n  listen: [\"127.0.0.1:1\"]\nkafka:\n  brokers: file:9092\n"
                               "endpoints:\n  - id: a\n    verify: none\n";
    hb_buf_t errors;
    /* replaced where the file has the key, added where it has not (even whole sections) */
    static const char *const vars[] = {"HOOKBRIDGE_KAFKA_BROKERS",
                                       "env:9092",
                                       "HOOKBRIDGE_SERVER_LISTEN",
                                       "0.0.0.0:8080,[::1]:8081",
                                       "HOOKBRIDGE_ADMIN_LISTEN",
                                       ":9090",
                                       "HOOKBRIDGE_SERVER_TLS_CERT_FILE",
                                       "/tls/c",
                                       "HOOKBRIDGE_SERVER_TLS_KEY_FILE",
                                       "/tls/k",
                                       "HOOKBRIDGE_LOG_LEVEL",
                                       "warn",
                                       "HOOKBRIDGE_SERVER_PUBLIC_URL",
                                       "https://h/${UNSET_VAR}",
                                       "HOOKBRIDGE_SERVER_REQUEST_TIMEOUT",
                                       "2500ms",
                                       "HOOKBRIDGE_SERVER_H2C",
                                       "false",
                                       NULL};
    hb_config_t *cfg = parse_with(yaml, vars, &errors);
    if (ok(cfg != NULL, "overrides: the config loads")) {
        is_str(cfg->kafka.brokers, "env:9092", "HOOKBRIDGE_KAFKA_BROKERS replaces kafka.brokers");
        if (is_int(cfg->server.num_listen, 2, "HOOKBRIDGE_SERVER_LISTEN: a comma-separated list")) {
            is_str(cfg->server.listen[0].host, "0.0.0.0", "first listen host");
            is_str(cfg->server.listen[1].port, "8081", "second listen port");
        }
        is_str(cfg->admin.listen.port, "9090", "HOOKBRIDGE_ADMIN_LISTEN adds the admin section");
        is_str(cfg->server.tls_cert_file, "/tls/c", "HOOKBRIDGE_SERVER_TLS_CERT_FILE adds server.tls");
        is_str(cfg->server.tls_key_file, "/tls/k", "and the key next to it");
        is_int(cfg->log.level, 2, "HOOKBRIDGE_LOG_LEVEL adds log.level");
        is_int(cfg->server.request_timeout_ms, 2500, "HOOKBRIDGE_SERVER_REQUEST_TIMEOUT adds server.requestTimeout");
        is_str(cfg->server.public_url, "https://h/${UNSET_VAR}", "a variable's ${ is not expanded again");
        is_int(cfg->watch, 0, "watch is off by default");
        if (is_int(cfg->num_files, 1, "read from one file"))
            is_str(cfg->files[0], "cfg.yaml", "the file itself is the first watched");
    } else {
        is_str(errors.base, "", "overrides: no errors");
    }
    hb_config_free(cfg);
    hb_buf_dispose(&errors);

    /* a bad value names its variable, not a place in the file */
    static const char *const bad[] = {"HOOKBRIDGE_SERVER_DRAIN_DELAY", "soon", "HOOKBRIDGE_LOG_SAMPLE_RATE", "7", NULL};
    cfg = parse_with(yaml, bad, &errors);
    ok(cfg == NULL, "overrides: bad values refuse the config");
    ok(strstr(errors.base, "cfg.yaml: $HOOKBRIDGE_SERVER_DRAIN_DELAY: server.drainDelay must be a duration") != NULL,
       "the error names HOOKBRIDGE_SERVER_DRAIN_DELAY (%s)", errors.base);
    ok(strstr(errors.base, "cfg.yaml: $HOOKBRIDGE_LOG_SAMPLE_RATE: log.sampleRate must be a number") != NULL,
       "the error names HOOKBRIDGE_LOG_SAMPLE_RATE");
    hb_config_free(cfg);
    hb_buf_dispose(&errors);

    /* a boolean; and server.h2c with TLS from the environment is refused, naming the variable that set h2c */
    static const char *const h2c_on[] = {"HOOKBRIDGE_SERVER_H2C", "true", NULL};
    cfg = parse_with(yaml, h2c_on, &errors);
    if (ok(cfg != NULL, "HOOKBRIDGE_SERVER_H2C=true: loads"))
        is_int(cfg->server.h2c, 1, "HOOKBRIDGE_SERVER_H2C=true turns h2c on");
    hb_config_free(cfg);
    hb_buf_dispose(&errors);
    static const char *const h2c_tls[] = {"HOOKBRIDGE_SERVER_H2C",
                                          "true",
                                          "HOOKBRIDGE_SERVER_TLS_CERT_FILE",
                                          "/c",
                                          "HOOKBRIDGE_SERVER_TLS_KEY_FILE",
                                          "/k",
                                          NULL};
    cfg = parse_with(yaml, h2c_tls, &errors);
    ok(cfg == NULL &&
           strstr(errors.base, "cfg.yaml: $HOOKBRIDGE_SERVER_H2C: server.h2c is HTTP/2 in cleartext") != NULL,
       "h2c and TLS from the environment: refused (%s)", errors.base);
    hb_config_free(cfg);
    hb_buf_dispose(&errors);

    /* without variables, the file as it is */
    cfg = parse_with(yaml, NULL, &errors);
    if (ok(cfg != NULL, "no variables: loads"))
        is_str(cfg->kafka.brokers, "file:9092", "no variables: the file's brokers");
    hb_config_free(cfg);
    hb_buf_dispose(&errors);
}

/* ---- the table: restart-only keys, config-keys ---- */

static void test_restart_changes(void)
{
    static const char a_yaml[] = "server:\n  threads: 2\nkafka:\n  topic: t.{id}\nlog:\n  level: info\n"
                                 "endpoints:\n  - id: a\n    verify: none\n";
    static const char b_yaml[] = "server:\n  threads: 3\nkafka:\n  topic: u.{id}\n  format: json\n"
                                 "  producer:\n    linger.ms: \"5\"\nlog:\n  level: warn\n"
                                 "endpoints:\n  - id: a\n    verify: none\n";
    hb_buf_t errors, changed;
    hb_config_t *a = parse(a_yaml, &errors), *b = parse(b_yaml, &errors), *a2 = parse(a_yaml, &errors);
    if (ok(a != NULL && b != NULL && a2 != NULL, "restart: the configs load")) {
        hb_buf_init(&changed);
        hb_buf_puts(&changed, "");
        is_int(hb_config_restart_changes(a, a2, &changed), 0, "the same file: nothing takes a restart");
        is_int(hb_config_restart_changes(a, b, &changed), 3, "three restart-only keys changed");
        /* kafka.topic and log.level reload; the rest is named, in the table's order */
        is_str(changed.base, "server.threads, kafka.format, kafka.producer", "named exactly, in the table's order");
        hb_buf_dispose(&changed);
    }
    hb_config_free(a);
    hb_config_free(b);
    hb_config_free(a2);
    hb_buf_dispose(&errors);
}

/* Each HOOKBRIDGE_* variable config-keys lists, set to its key's default, is taken: the names reach real keys. */
/* Every preset written as `verify: { scheme: }` (hb_scheme_json, which `hookbridge providers --json` prints) loads
   into exactly its row. */
static int str_same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* secrets: [{value, until}, plain]: the expiry is read as ms since the epoch; a plain one never expires. */
static void test_secret_expiry(void)
{
    hb_buf_t errors;
    hb_config_t *cfg = parse("endpoints:\n  - id: a\n    verify:\n      headerName: X-S\n      secrets:\n"
                             "        - {value: new}\n        - {value: old, until: \"2026-12-08T10:00:00+01:00\"}\n"
                             "        - plain\n",
                             &errors);
    if (ok(cfg != NULL, "secrets with an expiry load (%s)", errors.base != NULL ? errors.base : "")) {
        const hb_verify_config_t *v = &cfg->endpoints[0].verify;
        ok(v->num_secrets == 3 && strcmp(v->secrets[0].data, "new") == 0 && v->secrets[0].until_ms == 0 &&
               strcmp(v->secrets[1].data, "old") == 0 && v->secrets[1].until_ms == 1796720400000 &&
               strcmp(v->secrets[2].data, "plain") == 0 && v->secrets[2].until_ms == 0,
           "each secret, and the expiry in ms");
    }
    hb_config_free(cfg);
    hb_buf_dispose(&errors);
}

static void test_declared_scheme(void)
{
    size_t n = 0;
    for (const hb_scheme_t *want; (want = hb_scheme_at(n)) != NULL; n++) {
        hb_buf_t yaml, errors;
        hb_buf_init(&yaml);
        hb_buf_printf(&yaml,
                      "server: {publicUrl: \"https://example.com\"}\nendpoints:\n  - id: a\n    verify:\n      %s\n"
                      "      verifyToken: t\n      scheme: ",
                      (want->needs & HB_PRESET_PUBLIC_KEY) ? "publicKey: k" : "secret: s");
        hb_scheme_json(want, 0, &yaml);
        hb_buf_putc(&yaml, '\n');
        hb_config_t *cfg = parse(yaml.base, &errors);
        if (!ok(cfg != NULL, "%s as a declared scheme loads (%s)", want->name,
                errors.base != NULL ? errors.base : "")) {
            printf("#   %s\n", yaml.base);
            hb_buf_dispose(&yaml);
            hb_buf_dispose(&errors);
            continue;
        }
        const hb_scheme_t *got = cfg->endpoints[0].verify.scheme;
        const hb_split_t *a = &got->split, *b = &want->split;
        ok(str_same(got->name, want->name) && str_same(got->id_header, want->id_header) &&
               str_same(got->signature_header, want->signature_header) &&
               str_same(got->signed_content, want->signed_content) &&
               str_same(got->timestamp_header, want->timestamp_header),
           "%s: its strings are the preset's", want->name);
        ok(a->kind == b->kind && str_same(a->prefix, b->prefix) && a->sign_prefix == b->sign_prefix &&
               str_same(a->required_prefix, b->required_prefix) && a->separator == b->separator &&
               str_same(a->timestamp_key, b->timestamp_key) && str_same(a->signature_key, b->signature_key) &&
               str_same(a->ed25519_key, b->ed25519_key),
           "%s: its split is the preset's", want->name);
        is_int((int)got->needs, (int)want->needs, "%s: its needs are the preset's", want->name);
        ok(got->algorithm == want->algorithm && got->encoding == want->encoding &&
               got->secret_form == want->secret_form && got->public_key_form == want->public_key_form &&
               got->timestamp_unit == want->timestamp_unit && got->timestamped == want->timestamped &&
               got->handshake == want->handshake && got->checks == want->checks,
           "%s: its words are the preset's", want->name);
        hb_config_free(cfg);
        hb_buf_dispose(&yaml);
        hb_buf_dispose(&errors);
    }
    ok(n >= 17, "every preset was tried (%zu)", n);
}

static void test_keys_table(void)
{
    static const char yaml[] = "endpoints:\n  - id: a\n    verify: none\n";
    hb_buf_t json, errors;
    hb_buf_init(&json);
    hb_config_keys_json(&json);
    size_t rows = 0, tried = 0;
    for (const char *line = json.base; (line = strstr(line, "{\"path\":")) != NULL; line++) {
        const char *end = strchr(line, '}'), *env = strstr(line, "\"env\":\""), *dflt = strstr(line, "\"default\":\"");
        rows++;
        if (env == NULL || env > end || dflt == NULL || dflt > end)
            continue;
        char name[96] = "", value[96] = "";
        sscanf(env + 7, "%95[^\"]", name);
        sscanf(dflt + 11, "%95[^\"]", value);
        const char *const vars[] = {name, value, NULL};
        hb_config_t *cfg = parse_with(yaml, vars, &errors);
        ok(cfg != NULL, "%s=%s (its key's default) is taken (%s)", name, value, errors.base);
        hb_config_free(cfg);
        hb_buf_dispose(&errors);
        tried++;
    }
    ok(rows >= 75, "config-keys lists every key (%zu rows; 75 when this test was written)", rows);
    ok(tried >= 15, "and %zu variables with a default", tried);
    ok(strstr(json.base, "\"path\":\"endpoints[].verify.algorithm\",\"type\":\"word\",\"words\":[\"sha1\","
                         "\"sha256\",\"sha512\"]") != NULL,
       "a row: endpoints[].verify.algorithm, its words");
    hb_buf_dispose(&json);
}

int main(void)
{
    test_full();
    test_defaults();
    test_respond_triggers();
    test_template_empty_key();
    test_errors();
    test_expand();
    test_secret_file();
    test_overrides();
    test_restart_changes();
    test_keys_table();
    test_declared_scheme();
    test_secret_expiry();
    return done_testing();
}
