/* bench/bench_body.c: JSON → msgpack speed on a 2.1 KiB GitHub-like webhook payload (DESIGN §6: the target is
   300 MB/s at -O2; yajl packing msgpack directly does 282, cJSON building a tree 269).
     bench_body          parse for at least 1 s after a warm-up and print MB/s (10^6 bytes) and µs per parse
     bench_body N        parse exactly N times, no warm-up (for valgrind --tool=callgrind) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "body.h"

/* A pull_request "opened" delivery as GitHub sends it (compact), trimmed to a typical size. */
static const char payload[] =
    "{\"action\":\"opened\",\"number\":1347,\"pull_request\":{\"url\":\"https://api.github.com/repos/octocat/"
    "Hello-World/pulls/1347\",\"id\":1824107283,\"node_id\":\"PR_kwDOABCD1M5sumoT\",\"html_url\":\"https://"
    "github.com/octocat/Hello-World/pull/1347\",\"diff_url\":\"https://github.com/octocat/Hello-World/pull/"
    "1347.diff\",\"number\":1347,\"state\":\"open\",\"locked\":false,\"title\":\"Fix the \\\"caf\\u00e9\\\" "
    "encoding in r\xc3\xa9sum\xc3\xa9 export \xf0\x9f\x90\x9b\",\"user\":{\"login\":\"octocat\",\"id\":583231,"
    "\"node_id\":\"MDQ6VXNlcjU4MzIzMQ==\",\"avatar_url\":\"https://avatars.githubusercontent.com/u/583231?v=4\","
    "\"type\":\"User\",\"site_admin\":false},\"body\":\"This PR fixes the export of accented names.\\r\\n\\r\\n- "
    "[x] tests\\r\\n- [ ] docs\\r\\n\\r\\nCloses #1346\",\"created_at\":\"2024-03-18T09:41:27Z\",\"updated_at\":"
    "\"2024-03-18T09:41:27Z\",\"closed_at\":null,\"merged_at\":null,\"assignee\":null,"
    "\"assignees\":[],\"requested_reviewers\":[{\"login\":\"hubot\",\"id\":1,\"type\":\"User\",\"site_admin\":true}],"
    "\"labels\":[{\"id\":208045946,\"name\":\"bug\",\"color\":\"d73a4a\",\"default\":true,\"description\":"
    "\"Something isn't working\"}],\"milestone\":null,\"draft\":false,\"head\":{\"label\":\"octocat:fix-export\","
    "\"ref\":\"fix-export\",\"sha\":\"6dcb09b5b57875f334f61aebed695e2e4193db5e\"},\"base\":{\"label\":"
    "\"octocat:main\",\"ref\":\"main\",\"sha\":\"9049f1265b7d61be4a8904a9a27120d2064dab3b\"},"
    "\"author_association\":\"OWNER\",\"auto_merge\":null,\"merged\":false,\"mergeable\":null,\"comments\":0,"
    "\"commits\":3,\"additions\":42,\"deletions\":-7,\"changed_files\":5,\"ratio\":0.857},"
    "\"repository\":{\"id\":1296269,\"node_id\":\"MDEwOlJlcG9zaXRvcnkxMjk2MjY5\",\"name\":\"Hello-World\","
    "\"full_name\":\"octocat/Hello-World\",\"private\":false,\"owner\":{\"login\":\"octocat\",\"id\":583231,"
    "\"type\":\"User\",\"site_admin\":false},\"html_url\":\"https://github.com/octocat/Hello-World\","
    "\"description\":\"My first repository on GitHub \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e OK\","
    "\"fork\":false,\"created_at\":\"2011-01-26T19:01:12Z\",\"size\":108,"
    "\"stargazers_count\":80,\"language\":\"C\",\"has_issues\":true,"
    "\"forks_count\":9,\"archived\":false,\"open_issues_count\":2,\"license\":"
    "{\"key\":\"mit\",\"spdx_id\":\"MIT\"},\"topics\":[\"octocat\",\"atom\",\"electron\","
    "\"api\"],\"default_branch\":\"main\","
    "\"score\":1.5e2},\"sender\":{\"login\":\"octocat\",\"id\":583231,\"node_id\":\"MDQ6VXNlcjU4MzIzMQ==\","
    "\"type\":\"User\",\"site_admin\":false},\"installation\":{\"id\":2311213}}";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    const size_t len = sizeof(payload) - 1;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    char err[256];
    if (hb_json_to_msgpack(payload, len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err)) != 0) {
        fprintf(stderr, "bench payload does not parse: %s\n", err);
        return 1;
    }
    size_t packed = sb.size;

    long fixed = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    if (fixed > 0) {
        for (long i = 0; i < fixed; i++) {
            sb.size = 0;
            hb_json_to_msgpack(payload, len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err));
        }
        printf("%ld parses of %zu bytes\n", fixed, len);
        msgpack_sbuffer_destroy(&sb);
        return 0;
    }

    /* warm-up: caches, branch predictors, CPU frequency */
    for (double t0 = now(); now() - t0 < 0.3;)
        for (int i = 0; i < 1000; i++) {
            sb.size = 0;
            hb_json_to_msgpack(payload, len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err));
        }

    /* the buffer is reused, as a worker thread reuses its per-request buffer */
    long iters = 0;
    double t0 = now(), elapsed;
    do {
        for (int i = 0; i < 1000; i++) {
            sb.size = 0;
            hb_json_to_msgpack(payload, len, HB_BODY_MAX_DEPTH, &sb, err, sizeof(err));
        }
        iters += 1000;
        elapsed = now() - t0;
    } while (elapsed < 1.0);

    double per = elapsed / (double)iters;
    printf(
        "json\xe2\x86\x92msgpack %.1f KiB: %.0f MB/s (%.2f \xc2\xb5s/parse; %zu \xe2\x86\x92 %zu bytes, %ld parses)\n",
        (double)len / 1024, (double)len / per / 1e6, per * 1e6, len, packed, iters);
    msgpack_sbuffer_destroy(&sb);
    return 0;
}
