/* cli.h: the command-line contract shared by every program (docs/DESIGN.md section 9). */
#ifndef SM_LIB_CLI_H
#define SM_LIB_CLI_H

/* Exit codes. */
#define SM_EXIT_OK 0
#define SM_EXIT_FAIL 1
#define SM_EXIT_USAGE 2

/* Print "PROG: message" and a hint to stderr, then exit 2. */
void sm_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Print "PROG: message" to stderr, then exit with code. */
void sm_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* The end of a getopt_long() loop run with opterr = 0 and an optstring that starts with
 * ':': ch ':' (an option without its value) or anything the loop does not handle (an
 * unknown option) becomes a usage error naming the option (argv[optind - 1]). */
void sm_usage_bad_option(int ch, char *const argv[]) __attribute__((noreturn));

/* After the getopt_long() loop: a usage error when an argument is left (argv[optind]);
 * the programs take none. */
void sm_usage_no_operands(int argc, char *const argv[]);

/* Print "PROG VERSION" to stdout and exit 0. */
void sm_print_version(void) __attribute__((noreturn));

/* Parse a decimal number in [min, max] from s (whole string). 0 on success, -1 otherwise. */
int sm_parse_double(const char *s, double min, double max, double *out);
int sm_parse_long(const char *s, long min, long max, long *out);

#endif
