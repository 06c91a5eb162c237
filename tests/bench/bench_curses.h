/* bench_curses.h: the terminal the frame benchmarks draw on: ncurses on an
 * xterm-256color of 160x50 writing to /dev/null, in a UTF-8 locale, so that every
 * benchmark measures the same output path. */
#ifndef SM_TESTS_BENCH_CURSES_H
#define SM_TESTS_BENCH_CURSES_H

#include <curses.h>
#include <stdio.h>

struct bench_term {
    FILE *out;   /* /dev/null */
    SCREEN *scr; /* the current screen while started */
};

/* Start curses on t (stdscr is then 160x50). -1 after telling stderr why prog skips
 * (no /dev/null or no xterm-256color terminfo); nothing to stop then. */
int bench_term_start(struct bench_term *t, const char *prog);
/* End curses and close the output. */
void bench_term_stop(struct bench_term *t);

#endif
