/* smtop.h: smtop's parsed command line (read-only after start). */
#ifndef SM_SMTOP_SMTOP_H
#define SM_SMTOP_SMTOP_H

/* How graphs are drawn. */
enum graph_mode { GRAPH_AUTO, GRAPH_BRAILLE, GRAPH_BLOCKS, GRAPH_ASCII };

struct smtop_opts {
    double delay; /* seconds between refreshes (-d) */
    long count;   /* frames (batch) or refreshes (interactive) before exiting; 0 = no limit */
    int batch;    /* -b: plain-text frames */
    int json;     /* --json: JSON lines */
    enum graph_mode graph; /* --ascii forces GRAPH_ASCII */
    const char *proc_root, *sys_root;
    /* Server mode (smtop/client.h): NULL server means local mode. */
    const char *server, *user, *password_file;
    const char *ca_file; /* --ca-file or the settings' ca_file: verify https:// with it */
};

#endif
