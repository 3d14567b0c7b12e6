/* bench/payload.h: the 2.1 KiB GitHub-like webhook body the micro-benchmarks share. */
#ifndef HB_BENCH_PAYLOAD_H
#define HB_BENCH_PAYLOAD_H

#include <time.h>

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

#endif
