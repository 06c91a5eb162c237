/* log.h: levelled logging to stderr ("PROGRAM: message"), journal friendly. */
#ifndef SM_LIB_LOG_H
#define SM_LIB_LOG_H

enum sm_log_level { SM_LOG_ERROR, SM_LOG_WARN, SM_LOG_INFO, SM_LOG_DEBUG };

/* Set the program name used as prefix; call once from main. */
void sm_log_init(const char *progname);
void sm_log_set_level(enum sm_log_level level);
enum sm_log_level sm_log_get_level(void);
/* Parse "error", "warn", "info", "debug"; returns -1 when unknown. */
int sm_log_parse_level(const char *s);
const char *sm_log_progname(void);

/* Log one line at level. Never pass a password or a token: the callers own that rule. */
void sm_log(enum sm_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define SM_LOG_ERR(...) sm_log(SM_LOG_ERROR, __VA_ARGS__)

#endif
