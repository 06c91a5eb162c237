/* timerange.h: the time grammar of history queries, shared by smserver and smtop.
 *
 *   now | -N{s,m,h,d,w} (relative to now) | ISO 8601 with Z or an offset | unix seconds
 *
 * N is 1 to 999999999. ISO 8601 is as sm_time_parse_iso with the zone required. Unix
 * seconds are 1 to 12 digits with an optional fraction of 1 to 9 digits (no sign, no
 * exponent). Nothing else is accepted: no surrounding whitespace, no trailing text.
 */
#ifndef SM_LIB_TIMERANGE_H
#define SM_LIB_TIMERANGE_H

#include <stddef.h>

#include "rc.h"

/* Parse s into unix seconds, relative to now. Rejects anything else, and values
 * before 1970 or more than 100 years from now, with SM_EINVAL and an allocated *cause
 * naming param ("start: ..."). Any thread. */
enum sm_rc sm_time_parse(const char *s, double now, const char *param, double *out,
                         char **cause) SM_MUST_CHECK;

/* Parse an ISO 8601 / RFC 3339 date-time alone: YYYY-MM-DD, then 'T' (or 't' or one
 * space), HH:MM:SS, an optional fraction of 1 to 9 digits, then 'Z' (or 'z') or an
 * offset +HH:MM / -HH:MM. With naive_utc the zone may be left out and means UTC (the
 * original Python agent sent datetime.utcnow().isoformat()). Seconds run 00..59 (no leap
 * second); the date must exist. Sets *out to unix seconds (may be negative or far in
 * the future: range checks are the caller's). Returns SM_OK or SM_EINVAL (no cause).
 * Any thread. */
enum sm_rc sm_time_parse_iso(const char *s, int naive_utc, double *out) SM_MUST_CHECK;

/* Format unix seconds as ISO 8601 UTC with milliseconds ("2026-11-25T10:00:00.250Z")
 * into out (at least 32 bytes). */
void sm_time_format(double t, char *out, size_t outsz);

#endif
