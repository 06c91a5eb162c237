/* timerange.h: the time grammar of history queries, shared by smserver and smtop.
 *
 *   now | -N{s,m,h,d,w} (relative to now) | ISO 8601 with Z or an offset | unix seconds
 */
#ifndef SM_LIB_TIMERANGE_H
#define SM_LIB_TIMERANGE_H

#include "rc.h"

/* Parse s into unix seconds, relative to now. Rejects anything else, and values
 * before 1970 or more than 100 years from now, with SM_EINVAL and an allocated *cause
 * naming param ("start: ..."). Any thread. */
enum sm_rc sm_time_parse(const char *s, double now, const char *param, double *out,
                         char **cause) SM_MUST_CHECK;

/* Format unix seconds as ISO 8601 UTC with milliseconds ("2026-11-25T10:00:00.250Z")
 * into out (at least 32 bytes). */
void sm_time_format(double t, char *out, size_t outsz);

#endif
