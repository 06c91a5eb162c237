/* bench_curses.c: the frame benchmarks' terminal (see bench_curses.h). */
#include "config.h"

#include "bench_curses.h"

#include <locale.h>
#include <stdlib.h>

int
bench_term_start(struct bench_term *t, const char *prog)
{
    setlocale(LC_ALL, "C.UTF-8");
    setenv("COLUMNS", "160", 1);
    setenv("LINES", "50", 1);
    t->out = fopen("/dev/null", "w");
    t->scr = t->out ? newterm("xterm-256color", t->out, stdin) : NULL;
    if (t->scr == NULL) {
        fprintf(stderr, "%s: cannot start curses on xterm-256color; skipped\n", prog);
        if (t->out)
            fclose(t->out);
        t->out = NULL;
        return -1;
    }
    set_term(t->scr);
    return 0;
}

void
bench_term_stop(struct bench_term *t)
{
    endwin();
    delscreen(t->scr);
    fclose(t->out);
    t->scr = NULL;
    t->out = NULL;
}
