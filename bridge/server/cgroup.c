/* bridge/server/cgroup.c: server.threads: auto, from the cgroup CPU quota (the parsing is pure, in util.c). */
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* Up to size - 1 bytes of a small file (a cgroup or /proc entry), NUL-terminated; the length, or -1. */
static ssize_t hb_read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

/* The CPU quota of the cgroup directory dir, in CPUs rounded up (0: none); its text into text. */
static int hb_cgroup_quota_at(const char *dir, int v2, char *text, size_t size)
{
    char path[PATH_MAX + 32];
    if (v2) {
        snprintf(path, sizeof(path), "%s/cpu.max", dir);
        if (hb_read_small(path, text, size) <= 0)
            return 0;
    } else {
        char quota[32], period[32];
        snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
        if (hb_read_small(path, quota, sizeof(quota)) <= 0)
            return 0;
        snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
        if (hb_read_small(path, period, sizeof(period)) <= 0)
            return 0;
        quota[strcspn(quota, "\n")] = '\0';
        period[strcspn(period, "\n")] = '\0';
        snprintf(text, size, "%s %s", quota, period);
    }
    text[strcspn(text, "\n")] = '\0';
    int n = hb_cpu_quota_count(text, strlen(text));
    return n > 0 ? n : 0;
}

/*
 * The lowest CPU quota from the process's cgroup (cg, under the hierarchy mounted at mount) up to the root of the
 * mount, where a parent's (a Kubernetes pod's) may be lower; 0 when none. Without a cgroup namespace the mount may
 * hold only the container's own cgroup, not the host's path to it: the walk then ends at the mount's root, which
 * is that cgroup.
 */
static int hb_cgroup_quota(const char *mount, const char *cg, int v2, char *source, size_t srclen)
{
    char dir[PATH_MAX], text[96];
    size_t root = strlen(mount);
    int best = 0;
    if ((size_t)snprintf(dir, sizeof(dir), "%s%s", mount, cg != NULL && strcmp(cg, "/") != 0 ? cg : "") >= sizeof(dir))
        snprintf(dir, sizeof(dir), "%s", mount);
    for (;;) {
        int n = hb_cgroup_quota_at(dir, v2, text, sizeof(text));
        if (n > 0 && (best == 0 || n < best)) {
            best = n;
            snprintf(source, srclen, "cgroup %s %s/%s: %s", v2 ? "v2" : "v1", dir,
                     v2 ? "cpu.max" : "cpu.cfs_quota_us cpu.cfs_period_us", text);
        }
        char *slash = strrchr(dir, '/');
        if (strlen(dir) <= root || slash == NULL)
            break;
        *slash = '\0';
    }
    return best;
}

/*
 * server.threads: auto. One worker per CPU the process may use: its cgroup's CPU quota rounded up (a Kubernetes
 * limits.cpu of 1500m is 2) — cgroup v2's cpu.max, else cgroup v1's cpu.cfs_quota_us over cpu.cfs_period_us — and
 * never more than the CPUs it may run on (sched_getaffinity: a cpuset, taskset), which is also the answer without a
 * quota. Says where the number came from in source.
 */
unsigned hb_auto_threads(char *source, size_t srclen)
{
    char text[4096];
    int quota = 0;
    if (hb_read_small("/proc/self/cgroup", text, sizeof(text)) > 0) {
        char *cg = hb_cgroup_path(text, strlen(text), NULL);
        quota = hb_cgroup_quota("/sys/fs/cgroup", cg, 1, source, srclen);
        free(cg);
        static const char *const v1[] = {"/sys/fs/cgroup/cpu", "/sys/fs/cgroup/cpu,cpuacct"};
        cg = hb_cgroup_path(text, strlen(text), "cpu");
        for (size_t i = 0; i < HB_ARRAY_SIZE(v1) && quota == 0; i++)
            quota = hb_cgroup_quota(v1[i], cg, 0, source, srclen);
        free(cg);
    }
    cpu_set_t set;
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    int cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : online > 0 ? (int)online : 1;
    if (quota == 0)
        snprintf(source, srclen, "the CPUs it may run on (no cgroup CPU quota)");
    else if (cpus < quota)
        snprintf(source, srclen, "the CPUs it may run on (fewer than its cgroup CPU quota, %d)", quota);
    if (quota == 0 || cpus < quota)
        quota = cpus;
    return quota < 1 ? 1 : quota > 1024 ? 1024 : (unsigned)quota;
}
