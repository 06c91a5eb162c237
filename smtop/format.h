/* format.h: short human figures shared by the batch frames and the views. */
#ifndef SM_SMTOP_FORMAT_H
#define SM_SMTOP_FORMAT_H

#include <stddef.h>

/* Bytes in binary units with 3 significant figures: "0B", "512B", "1.5K", "12G".
 * Writes at most len bytes (NUL included) to buf and returns buf. */
char *fmt_bytes(char *buf, size_t len, double bytes);
/* fmt_bytes when known, else fmt_absent() copied into buf. */
char *fmt_bytes_if(char *buf, size_t len, int known, double bytes);
/* A byte rate: fmt_bytes + "/s". */
char *fmt_rate(char *buf, size_t len, double bytes_per_s);
/* A duration in seconds as uptime: "5:03" (m:ss under an hour), "3:04:05", "12d 03:04". */
char *fmt_duration(char *buf, size_t len, double seconds);
/* Whether the locale's character set is UTF-8 (then "°C" and "–" can be drawn). */
int fmt_utf8(void);
/* What an absent value reads as: an en dash on a UTF-8 locale, "-" elsewhere. */
const char *fmt_absent(void);
/* Copy src into dst (len bytes, NUL-terminated, truncated) for the screen or a line of
 * text: every control byte becomes '?'. The readers sanitize names already; this is
 * the output's own guard. Returns dst. */
char *fmt_plain(char *dst, size_t len, const char *src);
/* A frequency in MHz: "3600MHz"; fmt_absent() when mhz is negative (unknown). */
char *fmt_mhz(char *buf, size_t len, double mhz);
/* A value in the unit of a series named as in model.h (percent, bytes, rates, MHz, load,
 * degrees Celsius, RPM, watts). */
char *fmt_series_value(char *buf, size_t len, const char *series, double v);

#endif
