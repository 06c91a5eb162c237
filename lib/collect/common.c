/* common.c: platform-independent parts of the collector. */
#include "config.h"

#include "collect.h"

#include "../clock.h"

enum sm_rc
sm_collector_sample(struct sm_collector *c, struct sm_sample *out)
{
    return sm_collector_sample_at(c, sm_mono_now(), sm_wall_now(), out);
}
