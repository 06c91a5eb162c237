/* settings.c: the settings file, read with lib/conf. */
#include "config.h"

#include "settings.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "conf.h"
#include "source_local.h"
#include "xmalloc.h"

/* The default file's path, or NULL without $XDG_CONFIG_HOME or $HOME. Caller frees. */
static char *
default_path(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    if (xdg != NULL && xdg[0] == '/')
        return sm_xasprintf("%s/statusmonitor/smtop.conf", xdg);
    const char *home = getenv("HOME");
    if (home != NULL && home[0] != '\0')
        return sm_xasprintf("%s/.config/statusmonitor/smtop.conf", home);
    return NULL;
}

/* The file's ca_file, kept for the life of the process (o points at it). */
static char *file_ca;

void
settings_load(struct smtop_opts *o, const char *path)
{
    static const char *const modes[] = {"auto", "braille", "blocks", "ascii"};
    char *def = path ? NULL : default_path();
    const char *file = path ? path : def;
    double delay = 0;
    char *graph = NULL, *ca = NULL;
    const struct sm_conf_key keys[] = {
        {"delay", SM_CONF_DOUBLE, &delay, SOURCE_LOCAL_MIN_DELAY, SOURCE_LOCAL_MAX_DELAY, NULL},
        {"graph", SM_CONF_STRING, &graph, 0, 0, NULL},
        {"ca_file", SM_CONF_STRING, &ca, 0, 0, NULL},
    };
    if (file != NULL) {
        char *cause = NULL;
        enum sm_rc rc = sm_conf_load(file, keys, sizeof keys / sizeof keys[0], &cause);
        /* The default file may be absent; a named one must exist. */
        if (rc != SM_OK && !(rc == SM_ENOTFOUND && path == NULL))
            sm_die(SM_EXIT_FAIL, "%s", cause ? cause : sm_rc_str(rc));
        free(cause);
    }
    if (graph != NULL) {
        size_t i = 0;
        while (i < sizeof modes / sizeof modes[0] && strcmp(graph, modes[i]) != 0)
            i++;
        if (i == sizeof modes / sizeof modes[0])
            sm_die(SM_EXIT_FAIL, "%s: graph: '%s' is not auto, braille, blocks or ascii", file,
                   graph);
        if (o->graph == GRAPH_AUTO)
            o->graph = (enum graph_mode)i;
    }
    if (o->delay == 0)
        o->delay = delay > 0 ? delay : SETTINGS_DEFAULT_DELAY;
    if (o->ca_file == NULL && ca != NULL && ca[0] != '\0') {
        free(file_ca);
        file_ca = ca;
        ca = NULL;
        o->ca_file = file_ca;
    }
    free(ca);
    free(graph);
    free(def);
}
