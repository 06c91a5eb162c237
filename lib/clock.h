/* clock.h: the two clocks every program uses, in seconds as doubles. */
#ifndef SM_LIB_CLOCK_H
#define SM_LIB_CLOCK_H

/* Monotonic time (CLOCK_MONOTONIC): for intervals and schedules. Any thread. */
double sm_mono_now(void);
/* Unix time (CLOCK_REALTIME): for timestamps. Any thread. */
double sm_wall_now(void);

#endif
