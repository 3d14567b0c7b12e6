/* bridge/main.c: argv → subcommands. */
#include <getopt.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "consume.h"
#include "body.h"
#include "envelope.h"
#include "filter.h"
#include "log.h"
#include "publisher.h"
#include "server.h"
#include "tail.h"
#include "testrun.h"
#include "endpoint.h"
#include "verify.h"

#define HB_EXIT_USAGE 2

static const char usage[] =
    "usage: hookbridge COMMAND [OPTIONS]\n"
    "\n"
    "  serve  -c FILE              run the bridge\n"
    "  check  -c FILE              validate the configuration and load its keys and plugins (exit 2 on error)\n"
    "  sign   -c FILE ENDPOINT [--body TEXT|@FILE]\n"
    "                              print the headers the endpoint accepts now for that body (default: stdin)\n"
    "  send-example -c FILE ENDPOINT [EXAMPLE] [--url http://HOST:PORT]\n"
    "                              post an example as a test run, signed as its sender would (test: true)\n"
    "  tail   -c FILE [ENDPOINT] [--brokers ADDR] [--from-beginning] [-n N] [--timeout DUR]\n"
    "                              print the events in the endpoints' topics as JSON lines\n"
    "  consume -c FILE --group NAME [ENDPOINT ...] [--topic T ...] --exec CMD [--max-attempts 5] [--backoff 1s]\n"
    "          [--concurrency 4] [--grace 10s] [--brokers ADDR] [-n N]\n"
    "                              run CMD once per event (the event as JSON on stdin), commit after it succeeded,\n"
    "                              retry with backoff, then move the event to <topic>.dlq\n"
    "  decode                      print the envelope on stdin as JSON\n"
    "  match  FILTER [PAYLOAD]     does the EventFilter match the payload? (JSON text or @file; PAYLOAD from\n"
    "                              stdin when absent, empty = no payload) exit 0 match, 1 no match, 2 bad filter\n"
    "  config-keys --json          every configuration key: path, type, default, HOOKBRIDGE_* variable, reloadable\n"
    "  providers [--json|--markdown]\n"
    "                              every provider preset: its headers, what is signed, its key, timestamp, handshake\n"
    "                              and what proves it (--json: in the words of verify: { scheme: })\n"
    "  version\n";

static hb_config_t *hb_load_or_exit(const char *path)
{
    if (path == NULL) {
        fprintf(stderr, "hookbridge: -c FILE is required\n%s", usage);
        exit(HB_EXIT_USAGE);
    }
    hb_buf_t errors;
    hb_buf_init(&errors);
    hb_config_t *cfg = hb_config_load(path, &errors);
    if (cfg == NULL) {
        fputs(errors.base != NULL ? errors.base : "invalid configuration\n", stderr);
        hb_buf_dispose(&errors);
        exit(HB_EXIT_USAGE);
    }
    hb_buf_dispose(&errors);
    /* librdkafka knows its own properties: validate kafka.producer now rather than at the first request */
    char err[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    int bad = hb_publisher_conf(conf, cfg, "127.0.0.1:9092", err, sizeof(err));
    rd_kafka_conf_destroy(conf);
    if (bad) {
        fprintf(stderr, "%s: kafka.producer: %s\n", path, err);
        hb_config_free(cfg);
        exit(HB_EXIT_USAGE);
    }
    return cfg;
}

/* Parses the options shared by the subcommands; returns the index of the first operand. */
typedef struct hb_args {
    const char *config;
    const char *brokers;
    int from_beginning;
    long max_events;
    uint64_t timeout_ms;
    const char *body; /* sign --body TEXT|@FILE */
    const char *url;  /* send-example --url http://HOST:PORT */
    /* consume */
    const char *group, *exec;
    const char *topics[32];
    size_t num_topics;
    long max_attempts, concurrency;
    uint64_t backoff_ms, grace_ms;
} hb_args_t;

/* A positive number option, or exit 2. */
static long hb_opt_number(const char *name, const char *text)
{
    char *end;
    long n = strtol(text, &end, 10);
    if (*end != '\0' || n <= 0) {
        fprintf(stderr, "hookbridge: %s takes a positive number\n", name);
        exit(HB_EXIT_USAGE);
    }
    return n;
}

static uint64_t hb_opt_duration(const char *name, const char *text)
{
    uint64_t ms;
    if (hb_parse_duration(text, &ms) != 0) {
        fprintf(stderr, "hookbridge: %s takes a duration such as 10s\n", name);
        exit(HB_EXIT_USAGE);
    }
    return ms;
}

static void hb_print_help(void)
{
    fputs(usage, stdout);
    printf("\nEnvironment: each of these, when set, overrides its key of the configuration file (endpoint values "
           "take ${VAR} instead):\n  %s\n",
           hb_config_env_help());
}

static int hb_parse_args(int argc, char **argv, hb_args_t *args)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'c'},
                                             {"brokers", required_argument, NULL, 'b'},
                                             {"from-beginning", no_argument, NULL, 'B'},
                                             {"timeout", required_argument, NULL, 't'},
                                             {"body", required_argument, NULL, 'd'},
                                             {"url", required_argument, NULL, 'u'},
                                             {"group", required_argument, NULL, 'g'},
                                             {"exec", required_argument, NULL, 'x'},
                                             {"topic", required_argument, NULL, 'T'},
                                             {"max-attempts", required_argument, NULL, 'A'},
                                             {"backoff", required_argument, NULL, 'K'},
                                             {"concurrency", required_argument, NULL, 'C'},
                                             {"grace", required_argument, NULL, 'G'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:b:n:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            args->config = optarg;
            break;
        case 'b':
            args->brokers = optarg;
            break;
        case 'B':
            args->from_beginning = 1;
            break;
        case 'd':
            args->body = optarg;
            break;
        case 'u':
            args->url = optarg;
            break;
        case 'g':
            args->group = optarg;
            break;
        case 'x':
            args->exec = optarg;
            break;
        case 'T':
            if (args->num_topics == HB_ARRAY_SIZE(args->topics)) {
                fprintf(stderr, "hookbridge: at most %zu --topic\n", HB_ARRAY_SIZE(args->topics));
                exit(HB_EXIT_USAGE);
            }
            args->topics[args->num_topics++] = optarg;
            break;
        case 'A':
            args->max_attempts = hb_opt_number("--max-attempts", optarg);
            break;
        case 'C':
            args->concurrency = hb_opt_number("--concurrency", optarg);
            break;
        case 'K':
            args->backoff_ms = hb_opt_duration("--backoff", optarg);
            break;
        case 'G':
            args->grace_ms = hb_opt_duration("--grace", optarg);
            break;
        case 'n':
            args->max_events = hb_opt_number("-n", optarg);
            break;
        case 't':
            args->timeout_ms = hb_opt_duration("--timeout", optarg);
            break;
        case 'h':
            hb_print_help();
            exit(0);
        default:
            fputs(usage, stderr);
            exit(HB_EXIT_USAGE);
        }
    }
    return optind;
}

static void hb_read_all(FILE *fp, hb_buf_t *buf)
{
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) != 0)
        hb_buf_append(buf, chunk, n);
}

/* The text itself, or @path for a file's content. */
static int hb_arg_text(const char *arg, hb_buf_t *out)
{
    if (arg[0] != '@') {
        hb_buf_puts(out, arg);
        return 0;
    }
    FILE *fp = fopen(arg + 1, "rb");
    if (fp == NULL) {
        fprintf(stderr, "hookbridge: cannot read %s\n", arg + 1);
        return -1;
    }
    hb_read_all(fp, out);
    fclose(fp);
    return 0;
}

static int hb_cmd_check(hb_args_t *args)
{
    hb_config_t *cfg = hb_load_or_exit(args->config);
    char err[512];
    hb_registry_t *reg = hb_registry_new(cfg, err, sizeof(err)); /* keys decoded, plugins loaded, as serve does */
    if (reg == NULL) {
        fprintf(stderr, "%s: %s\n", args->config, err);
        hb_config_free(cfg);
        return HB_EXIT_USAGE;
    }
    printf("%s: ok, %zu endpoint%s\n", args->config, cfg->num_endpoints, cfg->num_endpoints == 1 ? "" : "s");
    for (size_t i = 0; i < cfg->num_endpoints; i++) {
        const hb_endpoint_config_t *ep = &cfg->endpoints[i];
        printf("  /webhooks/%s -> %s (verify: %s)\n", ep->id, ep->num_triggers == 0 ? ep->topic : "triggers",
               hb_verifier_scheme(hb_registry_at(reg, i)->verifier));
        if (ep->respond_with != NULL)
            printf("    respondWith: %d%s\n", ep->respond_with->status,
                   ep->respond_with->skip_triggering_runs ? ", skipTriggeringRuns" : "");
        for (size_t t = 0; t < ep->num_triggers; t++)
            printf("    trigger %s -> %s\n", ep->triggers[t].name, ep->triggers[t].topic);
    }
    hb_registry_free(reg);
    hb_config_free(cfg);
    return 0;
}

/*
 * send-example -c FILE ENDPOINT [EXAMPLE] [--url http://HOST:PORT]: the example (the first by default) signed with
 * the endpoint's own scheme and posted as a test run (its event carries test: true) to the bridge of the config's
 * first listen address, or to --url. Plain HTTP: for an HTTPS bridge, use `hookbridge sign` and curl.
 */
static int hb_cmd_send_example(hb_args_t *args, int argc, char **argv, int first)
{
    if (first >= argc) {
        fprintf(stderr, "hookbridge send-example: name the endpoint\n");
        return HB_EXIT_USAGE;
    }
    hb_config_t *cfg = hb_load_or_exit(args->config);
    const hb_endpoint_config_t *ep = hb_config_find_endpoint(cfg, argv[first]);
    const hb_example_t *ex = NULL;
    for (size_t i = 0; ep != NULL && i < ep->num_examples; i++)
        if (first + 1 >= argc || strcmp(ep->examples[i].id, argv[first + 1]) == 0) {
            ex = &ep->examples[i];
            break;
        }
    int ret = HB_EXIT_USAGE;
    char err[256], host[256] = "", port[16] = "";
    hb_buf_t request, answer;
    hb_buf_init(&request);
    hb_buf_init(&answer);
    hb_verifier_t *v = NULL;
    if (ex == NULL) {
        fprintf(stderr, "hookbridge send-example: %s\n",
                ep == NULL         ? "no such endpoint"
                : first + 1 < argc ? "no such example"
                                   : "the endpoint has no examples");
        goto Exit;
    }
    if (args->url != NULL) { /* http://HOST[:PORT][/...] */
        const char *h = strncmp(args->url, "http://", 7) == 0 ? args->url + 7 : NULL;
        size_t hl = h != NULL ? strcspn(h, "/") : 0;
        const char *colon = h != NULL ? memchr(h, ':', hl) : NULL;
        if (h == NULL || hl == 0 || hl >= sizeof(host) ||
            (colon != NULL && (size_t)(h + hl - colon - 1) >= sizeof(port))) {
            fprintf(stderr, "hookbridge send-example: --url takes http://HOST[:PORT] (for https, use `hookbridge sign` "
                            "and curl)\n");
            goto Exit;
        }
        snprintf(host, sizeof(host), "%.*s", (int)(colon != NULL ? colon - h : (ptrdiff_t)hl), h);
        snprintf(port, sizeof(port), "%.*s", colon != NULL ? (int)(h + hl - colon - 1) : 2,
                 colon != NULL ? colon + 1 : "80");
    } else {
        const hb_listen_t *l = &cfg->server.listen[0];
        snprintf(host, sizeof(host), "%s",
                 *l->host == '\0' || strcmp(l->host, "0.0.0.0") == 0 ? "127.0.0.1"
                 : strcmp(l->host, "::") == 0                        ? "::1"
                                                                     : l->host);
        snprintf(port, sizeof(port), "%s", l->port);
    }
    ret = 1;
    if ((v = hb_verifier_new(&ep->verify, err, sizeof(err))) == NULL) {
        fprintf(stderr, "hookbridge send-example: %s\n", err);
        goto Exit;
    }
    if (hb_testrun_request(v, ep->id, ex->payload_json, host, port, &request) != 0) {
        fprintf(stderr, "hookbridge send-example: endpoint \"%s\": %.*s\n", ep->id, (int)request.len, request.base);
        goto Exit;
    }
    int status = 0;
    if (hb_testrun_exchange(host, port, &request, 30, &status, &answer, err, sizeof(err)) != 0) {
        fprintf(stderr, "hookbridge send-example: %s\n", err);
        goto Exit;
    }
    printf("%d %.*s", status, (int)answer.len, answer.base);
    if (answer.len == 0 || answer.base[answer.len - 1] != '\n')
        putchar('\n');
    ret = status >= 200 && status < 300 ? 0 : 1;
Exit:
    hb_buf_dispose(&request);
    hb_buf_dispose(&answer);
    hb_verifier_free(v);
    hb_config_free(cfg);
    return ret;
}

static int hb_cmd_sign(hb_args_t *args, int argc, char **argv, int first)
{
    if (first >= argc) {
        fprintf(stderr, "hookbridge sign: name the endpoint\n");
        return HB_EXIT_USAGE;
    }
    hb_config_t *cfg = hb_load_or_exit(args->config);
    const hb_endpoint_config_t *ep = hb_config_find_endpoint(cfg, argv[first]);
    int ret = 1;
    char err[256];
    hb_buf_t body, out;
    hb_buf_init(&body);
    hb_buf_init(&out);
    hb_verifier_t *v = NULL;
    if (ep == NULL) {
        fprintf(stderr, "hookbridge sign: no endpoint \"%s\" in %s\n", argv[first], args->config);
        goto Exit;
    }
    if ((v = hb_verifier_new(&ep->verify, err, sizeof(err))) == NULL) {
        fprintf(stderr, "hookbridge sign: %s\n", err);
        goto Exit;
    }
    if (args->body != NULL ? hb_arg_text(args->body, &body) != 0 : (hb_read_all(stdin, &body), 0))
        goto Exit;
    /* the request as a sender would make it now: a form body for twilio, JSON otherwise */
    int form = ep->verify.provider != NULL && strcmp(ep->verify.provider, "twilio") == 0;
    if (hb_verifier_sign_body(v, ep->id, body.base, body.len,
                              form ? "application/x-www-form-urlencoded" : "application/json", &out) != 0) {
        fprintf(stderr, "hookbridge sign: endpoint \"%s\": %.*s\n", ep->id, (int)out.len, out.base);
        goto Exit;
    }
    fwrite(out.base, 1, out.len, stdout);
    ret = 0;
Exit:
    hb_buf_dispose(&body);
    hb_buf_dispose(&out);
    hb_verifier_free(v);
    hb_config_free(cfg);
    return ret;
}

/*
 * The topics an endpoint publishes to (its own, or with triggers the distinct topics of its triggers), for every
 * endpoint or the one named only; each once. out has room for every endpoint and trigger. Returns how many.
 */
static size_t hb_endpoint_topics(const hb_config_t *cfg, const char *only, const char **out)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->num_endpoints; i++) {
        const hb_endpoint_config_t *ep = &cfg->endpoints[i];
        if (only != NULL && strcmp(only, ep->id) != 0)
            continue;
        size_t count = ep->num_triggers > 0 ? ep->num_triggers : 1;
        for (size_t t = 0; t < count; t++) {
            const char *topic = ep->num_triggers > 0 ? ep->triggers[t].topic : ep->topic;
            size_t k = 0;
            while (k < n && strcmp(out[k], topic) != 0)
                k++;
            if (k == n)
                out[n++] = topic;
        }
    }
    return n;
}

static size_t hb_topic_room(const hb_config_t *cfg)
{
    size_t room = 1;
    for (size_t i = 0; i < cfg->num_endpoints; i++)
        room += 1 + cfg->endpoints[i].num_triggers;
    return room;
}

static int hb_cmd_tail(hb_args_t *args, int argc, char **argv, int first)
{
    hb_config_t *cfg = hb_load_or_exit(args->config);
    const char *brokers = args->brokers != NULL ? args->brokers : cfg->kafka.brokers;
    int ret = HB_EXIT_USAGE;
    hb_tail_options_t opts = {.brokers = brokers,
                              .from_beginning = args->from_beginning,
                              .max_events = args->max_events,
                              .timeout_ms = args->timeout_ms};
    opts.topics = hb_xcalloc(hb_topic_room(cfg), sizeof(char *));
    if (strcmp(brokers, "embedded") == 0) {
        fprintf(stderr, "hookbridge tail: the embedded broker lives inside `hookbridge serve`; pass the address it "
                        "printed: --brokers 127.0.0.1:PORT\n");
        goto Exit;
    }
    opts.num_topics = hb_endpoint_topics(cfg, first < argc ? argv[first] : NULL, opts.topics);
    if (opts.num_topics == 0) {
        fprintf(stderr, "hookbridge tail: no endpoint \"%s\" in %s\n", argv[first], args->config);
        goto Exit;
    }
    ret = hb_tail_run(&opts, stdout);
Exit:
    free(opts.topics);
    hb_config_free(cfg);
    return ret;
}

/* consume -c FILE --group NAME [ENDPOINT ...] [--topic T ...] --exec CMD: the job runner (consume.h). */
static int hb_cmd_consume(hb_args_t *args, int argc, char **argv, int first)
{
    if (args->group == NULL || args->exec == NULL) {
        fprintf(stderr, "hookbridge consume: --group NAME and --exec CMD are required\n");
        return HB_EXIT_USAGE;
    }
    hb_config_t *cfg = hb_load_or_exit(args->config);
    const char *brokers = args->brokers != NULL ? args->brokers : cfg->kafka.brokers;
    int ret = HB_EXIT_USAGE;
    const char **topics =
        hb_xcalloc(hb_topic_room(cfg) * (size_t)(argc - first + 1) + args->num_topics, sizeof(char *));
    size_t n = 0;
    for (size_t i = 0; i < args->num_topics; i++)
        topics[n++] = args->topics[i];
    for (int a = first; a < argc; a++) {
        size_t got = hb_endpoint_topics(cfg, argv[a], topics + n);
        if (got == 0) {
            fprintf(stderr, "hookbridge consume: no endpoint \"%s\" in %s\n", argv[a], args->config);
            goto Exit;
        }
        n += got;
    }
    if (n == 0) /* neither endpoints nor topics named: every endpoint's */
        n = hb_endpoint_topics(cfg, NULL, topics);
    if (strcmp(brokers, "embedded") == 0) {
        fprintf(stderr, "hookbridge consume: the embedded broker lives inside `hookbridge serve`; pass --brokers\n");
        goto Exit;
    }
    hb_consume_options_t opts = {.brokers = brokers,
                                 .group = args->group,
                                 .topics = topics,
                                 .num_topics = n,
                                 .command = args->exec,
                                 .max_attempts = args->max_attempts > 0 ? (int)args->max_attempts : 5,
                                 .backoff_ms = args->backoff_ms > 0 ? args->backoff_ms : 1000,
                                 .concurrency = args->concurrency > 0 ? (int)args->concurrency : 4,
                                 .grace_ms = args->grace_ms > 0 ? args->grace_ms : 10000,
                                 .max_events = args->max_events};
    ret = hb_consume_run(&opts);
Exit:
    free(topics);
    hb_config_free(cfg);
    return ret;
}

/* The configuration table as JSON: what tests/integration/test_schemas.py holds the JSON Schema against. */
static int hb_cmd_config_keys(int argc, char **argv, int first)
{
    if (first >= argc || strcmp(argv[first], "--json") != 0 || first + 1 != argc) {
        fprintf(stderr, "usage: hookbridge config-keys --json\n");
        return HB_EXIT_USAGE;
    }
    hb_buf_t out;
    hb_buf_init(&out);
    hb_config_keys_json(&out);
    fputs(out.base, stdout);
    hb_buf_dispose(&out);
    return 0;
}

/* One preset as a row of the README's table. */
static void hb_preset_markdown(const hb_scheme_t *s, hb_buf_t *out)
{
    char ts[96] = "";
    if (s->timestamped)
        snprintf(ts, sizeof(ts), "%s, %s, ±%us", s->timestamp_header != NULL ? s->timestamp_header : "in the signature",
                 hb_scheme_word(HB_FIELD_TIMESTAMP_UNIT, (int)s->timestamp_unit),
                 s->tolerance_s != 0 ? s->tolerance_s : 300);
    const char *key = (s->needs & HB_PRESET_PUBLIC_KEY)   ? "publicKey"
                      : (s->needs & HB_PRESET_KEY_EITHER) ? "secret or publicKey"
                                                          : "secret";
    hb_buf_printf(out, "| `%s` | %s | %s | `%s` | %s | %s | %s | %s | %s |\n", s->name, key,
                  s->signature_header != NULL ? s->signature_header : "(in the body)",
                  s->signed_content != NULL ? s->signed_content : "(a shared token)",
                  hb_scheme_word(HB_FIELD_ALGORITHM, (int)s->algorithm), ts[0] != '\0' ? ts : "—",
                  s->id_header != NULL ? s->id_header : "—",
                  s->handshake != HB_HANDSHAKE_NONE ? hb_scheme_word(HB_FIELD_HANDSHAKE, (int)s->handshake) : "—",
                  s->proof != NULL ? s->proof : "");
}

/* The presets: a table, JSON in the words of a declared scheme, or the README's Markdown table. */
static int hb_cmd_providers(int argc, char **argv, int first)
{
    const char *mode = first < argc ? argv[first] : "";
    if (first + 1 < argc || (first < argc && strcmp(mode, "--json") != 0 && strcmp(mode, "--markdown") != 0)) {
        fprintf(stderr, "usage: hookbridge providers [--json|--markdown]\n");
        return HB_EXIT_USAGE;
    }
    hb_buf_t out;
    hb_buf_init(&out);
    if (strcmp(mode, "--json") == 0)
        hb_buf_putc(&out, '[');
    else if (strcmp(mode, "--markdown") == 0)
        hb_buf_puts(&out, "| preset | key | signature header | what is signed | algorithm | timestamp | delivery id | "
                          "handshake | proven by |\n|---|---|---|---|---|---|---|---|---|\n");
    else
        hb_buf_printf(&out, "%-20s %-20s %-40s %-11s %s\n", "PRESET", "KEY", "SIGNATURE HEADER", "ALGORITHM", "SIGNED");
    for (size_t i = 0; hb_scheme_at(i) != NULL; i++) {
        const hb_scheme_t *s = hb_scheme_at(i);
        if (strcmp(mode, "--json") == 0) {
            hb_buf_puts(&out, i > 0 ? ",\n " : "");
            hb_scheme_json(s, 1, &out);
        } else if (strcmp(mode, "--markdown") == 0) {
            hb_preset_markdown(s, &out);
        } else {
            hb_buf_printf(&out, "%-20s %-20s %-40s %-11s %s\n", s->name,
                          (s->needs & HB_PRESET_PUBLIC_KEY)   ? "publicKey"
                          : (s->needs & HB_PRESET_KEY_EITHER) ? "secret|publicKey"
                                                              : "secret",
                          s->signature_header != NULL ? s->signature_header : "(in the body)",
                          hb_scheme_word(HB_FIELD_ALGORITHM, (int)s->algorithm),
                          s->signed_content != NULL ? s->signed_content : "(a shared token)");
        }
    }
    if (strcmp(mode, "--json") == 0)
        hb_buf_puts(&out, "]\n");
    fputs(out.base, stdout);
    hb_buf_dispose(&out);
    return 0;
}

static int hb_cmd_decode(void)
{
    hb_buf_t in, out;
    hb_buf_init(&in);
    hb_buf_init(&out);
    hb_read_all(stdin, &in);
    char err[256];
    int ret = hb_envelope_to_json(in.base != NULL ? in.base : "", in.len, &out, err, sizeof(err));
    if (ret == 0)
        printf("%s\n", out.base);
    else
        fprintf(stderr, "hookbridge decode: %s\n", err);
    hb_buf_dispose(&in);
    hb_buf_dispose(&out);
    return ret == 0 ? 0 : 1;
}

static int hb_cmd_match(int argc, char **argv, int first)
{
    if (first >= argc || first + 2 < argc) {
        fprintf(stderr, "usage: hookbridge match FILTER [PAYLOAD]\n");
        return HB_EXIT_USAGE;
    }
    int ret = HB_EXIT_USAGE;
    char err[512];
    hb_buf_t ftext, ptext, why;
    hb_buf_init(&ftext);
    hb_buf_init(&ptext);
    hb_buf_init(&why);
    msgpack_sbuffer fsb, psb;
    msgpack_sbuffer_init(&fsb);
    msgpack_sbuffer_init(&psb);
    msgpack_unpacked fup, pup;
    msgpack_unpacked_init(&fup);
    msgpack_unpacked_init(&pup);
    hb_filter_t *f = NULL;
    const msgpack_object *payload = NULL;
    size_t off = 0;
    if (hb_arg_text(argv[first], &ftext) != 0)
        goto Exit;
    if (first + 1 < argc ? hb_arg_text(argv[first + 1], &ptext) != 0 : (hb_read_all(stdin, &ptext), 0))
        goto Exit;
    if (hb_json_to_msgpack(ftext.base != NULL ? ftext.base : "", ftext.len, HB_BODY_MAX_DEPTH, &fsb, err,
                           sizeof(err)) != 0) {
        fprintf(stderr, "hookbridge match: the filter is not JSON: %s\n", err);
        goto Exit;
    }
    msgpack_unpack_next(&fup, fsb.data, fsb.size, &off);
    if ((f = hb_filter_compile(&fup.data, err, sizeof(err))) == NULL) {
        fprintf(stderr, "hookbridge match: invalid filter: %s\n", err);
        goto Exit;
    }
    size_t i = 0;
    while (i < ptext.len &&
           (ptext.base[i] == ' ' || ptext.base[i] == '\n' || ptext.base[i] == '\r' || ptext.base[i] == '\t'))
        i++;
    if (i < ptext.len) { /* an empty payload means none (undefined) */
        if (hb_json_to_msgpack(ptext.base, ptext.len, HB_BODY_MAX_DEPTH, &psb, err, sizeof(err)) != 0) {
            fprintf(stderr, "hookbridge match: the payload is not JSON: %s\n", err);
            goto Exit;
        }
        off = 0;
        msgpack_unpack_next(&pup, psb.data, psb.size, &off);
        payload = &pup.data;
    }
    if (hb_filter_match(f, payload, &why)) {
        printf("match\n");
        ret = 0;
    } else {
        printf("no match: %s\n", why.base != NULL ? why.base : "");
        ret = 1;
    }
Exit:
    hb_filter_free(f);
    msgpack_unpacked_destroy(&fup);
    msgpack_unpacked_destroy(&pup);
    msgpack_sbuffer_destroy(&fsb);
    msgpack_sbuffer_destroy(&psb);
    hb_buf_dispose(&ftext);
    hb_buf_dispose(&ptext);
    hb_buf_dispose(&why);
    return ret;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return HB_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "config-keys") == 0) /* before the shared options: --json is its own */
        return hb_cmd_config_keys(argc, argv, 2);
    if (strcmp(cmd, "providers") == 0)
        return hb_cmd_providers(argc, argv, 2);
    hb_args_t args = {0};
    int first = hb_parse_args(argc - 1, argv + 1, &args) + 1;
    if (strcmp(cmd, "serve") == 0) {
        hb_config_t *cfg = hb_load_or_exit(args.config);
        hb_log_set_level((hb_log_level_t)cfg->log.level);
        int ret = hb_server_run(cfg);
        hb_config_free(cfg);
        return ret;
    }
    if (strcmp(cmd, "check") == 0)
        return hb_cmd_check(&args);
    if (strcmp(cmd, "sign") == 0)
        return hb_cmd_sign(&args, argc, argv, first);
    if (strcmp(cmd, "consume") == 0)
        return hb_cmd_consume(&args, argc, argv, first);
    if (strcmp(cmd, "send-example") == 0)
        return hb_cmd_send_example(&args, argc, argv, first);
    if (strcmp(cmd, "tail") == 0)
        return hb_cmd_tail(&args, argc, argv, first);
    if (strcmp(cmd, "decode") == 0)
        return hb_cmd_decode();
    if (strcmp(cmd, "match") == 0)
        return hb_cmd_match(argc, argv, first);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("hookbridge %s (librdkafka %s)\n", HB_VERSION, rd_kafka_version_str());
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        hb_print_help();
        return 0;
    }
    fprintf(stderr, "hookbridge: unknown command \"%s\"\n%s", cmd, usage);
    return HB_EXIT_USAGE;
}
