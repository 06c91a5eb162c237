/* ui.c: placeholder until the dashboard lands. */
#include "config.h"

#include "ui.h"

#include "cli.h"

int
ui_run(const struct smtop_opts *o)
{
    (void)o;
    sm_die(SM_EXIT_FAIL, "the dashboard is not built yet; use -b or --json");
}

void
ui_print_keys(FILE *out)
{
    (void)out;
}
