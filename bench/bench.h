/* bench.h — what the benchmark programs share: a client config for a
 * cos-server on loopback (development keys), a monotonic clock, and this
 * process's CPU seconds and peak RSS. */
#ifndef COS_BENCH_H
#define COS_BENCH_H
#include <sys/resource.h>
#include <time.h>
#include "cos/cos.h"

static inline void bench_config(cos_config *cfg, const char *endpoint)
{
    cos_config_init(cfg);
    cfg->region = "ap-guangzhou";
    cfg->protocol = "http:";
    cfg->connect_to = endpoint;
    cfg->secret_id = "AKIDcosLOCALdevelopment0000000000000";
    cfg->secret_key = "cosLOCALdevelopmentSECRETkey00000";
}

static inline double bench_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* CPU seconds (user + system) and peak RSS in MiB so far. */
static inline void bench_usage(double *cpu, long *rss_mib)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    *cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec / 1e6;
    *rss_mib = ru.ru_maxrss / 1024;
}
#endif
