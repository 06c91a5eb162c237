/* settings.h: smtop's settings file, ~/.config/statusmonitor/smtop.conf (docs/DESIGN.md section 8).
 *
 * "key = value" lines in lib/conf's grammar:
 *   delay = SECONDS   refresh delay, as -d (0.1 to 3600)
 *   graph = MODE      auto, braille, blocks or ascii (as --ascii for ascii)
 *   ca_file = FILE    PEM CA certificates to verify an https:// server with (as --ca-file)
 * The command line wins over the file; the file over the built-in defaults. */
#ifndef SM_SMTOP_SETTINGS_H
#define SM_SMTOP_SETTINGS_H

#include "smtop.h"

/* The refresh delay when neither -d nor the file sets one (as top). */
#define SETTINGS_DEFAULT_DELAY 2.0

/* Read path, or the default file when path is NULL ($XDG_CONFIG_HOME/statusmonitor/
 * smtop.conf, else ~/.config/statusmonitor/smtop.conf; it may be absent), into what the
 * command line left unset: o->delay when it is 0, o->graph when it is GRAPH_AUTO, o->ca_file when
 * it is NULL. Then o->delay defaults to SETTINGS_DEFAULT_DELAY. A named file that is missing, or
 * bad content in any file, prints "smtop: FILE:LINE: key: why" and exits 1. */
void settings_load(struct smtop_opts *o, const char *path);

#endif
