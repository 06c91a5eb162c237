/* common.c: platform-independent parts of the collector. */
#include "config.h"

#include "collect.h"

#include <time.h>

double
sm_mono_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
sm_wall_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum sm_rc
sm_collector_sample(struct sm_collector *c, struct sm_sample *out)
{
    return sm_collector_sample_at(c, sm_mono_now(), sm_wall_now(), out);
}
