/* widget.h: the pieces views are built from (docs/DESIGN.md section 10).
 *
 * A widget embeds struct widget first and points to a const struct widget_class:
 *   draw(w, win, ui)   paint w's rectangle from the model (through ui); never does I/O
 *                      other than curses calls on win, never changes the model;
 *   key(w, key, ui)    handle one key (a curses key code); returns a mask of
 *                      HANDLED | REDRAW | RESIZE | QUIT (0: not handled);
 *   resize(w, y, x, h, w)  place w (the default just stores the rectangle);
 *   free(w)            free w (NULL-safe through widget_free).
 * Meters, graphs and tables are widgets; so are the views themselves.
 *
 * Graphs are drawn with braille dots (2x4 per cell) on UTF-8 terminals, with eighth
 * blocks where braille is unlikely to render (the Linux console), and with ASCII
 * when asked (--ascii) or when the locale is not UTF-8. Colour is off when NO_COLOR
 * is set (any value) or the terminal has none; selection then uses reverse video. */
#ifndef SM_SMTOP_WIDGET_H
#define SM_SMTOP_WIDGET_H

#include <curses.h>
#include <stddef.h>

#include "model.h"
#include "smtop.h"

/* What a key handler did. */
enum key_result {
    HANDLED = 1 << 0, /* the key was used */
    REDRAW = 1 << 1,  /* the screen must be redrawn */
    RESIZE = 1 << 2,  /* the layout must be recomputed */
    QUIT = 1 << 3,    /* leave smtop */
};

struct ui;
struct widget;

struct widget_class {
    const char *name;
    void (*draw)(struct widget *w, WINDOW *win, const struct ui *ui);
    int (*key)(struct widget *w, int key, struct ui *ui);
    void (*resize)(struct widget *w, int y, int x, int h, int wd);
    void (*free)(struct widget *w);
    /* The label the function bar shows for F-key n while this view is on screen, when
     * the view binds that key itself (the host view's F3 searches its processes, as
     * htop's), or NULL for the view table's label. May be NULL. */
    const char *(*fkey_label)(const struct widget *w, int n);
};

struct widget {
    const struct widget_class *cls;
    int y, x, h, w; /* the rectangle, set by resize */
};

/* Colours and attributes, chosen once at start. */
struct theme {
    int color;             /* colours in use */
    enum graph_mode graph; /* resolved: BRAILLE, BLOCKS or ASCII */
    attr_t normal, title, label, dim, good, warn, crit, select, header, fkey, fbar, offline;
};

/* Resolve the graph mode and attributes: mode from opts (GRAPH_AUTO looks at the
 * locale and TERM), colours unless NO_COLOR or the terminal lacks them. Call after
 * initscr. */
void theme_init(struct theme *th, enum graph_mode want);
/* The graph mode GRAPH_AUTO resolves to for this locale and TERM (no curses needed). */
enum graph_mode theme_graph_mode(enum graph_mode want);

/* Dispatch through the class; each is a no-op when the class leaves it NULL. */
void widget_draw(struct widget *w, WINDOW *win, const struct ui *ui);
int widget_key(struct widget *w, int key, struct ui *ui);
const char *widget_fkey_label(const struct widget *w, int n);
void widget_resize(struct widget *w, int y, int x, int h, int wd);
void widget_free(struct widget *w);

/* Print at most maxw columns of text at (y, x) with attr; returns the columns used.
 * Text is treated as one column per character (UTF-8 sequences count once). */
int put_text(WINDOW *win, int y, int x, int maxw, attr_t attr, const char *text);
/* printf-style put_text. */
int put_fmt(WINDOW *win, int y, int x, int maxw, attr_t attr, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
/* The attribute for a percentage: good, warn (>= 60) or crit (>= 85). */
attr_t theme_level(const struct theme *th, double percent);

/* Meter: "label[|||||      text]" like htop, bar coloured by level. */
struct meter {
    struct widget w;
    char label[24];
    double percent; /* 0..100 */
    char text[64];  /* right-aligned inside the bar */
};
extern const struct widget_class meter_class;
/* Create a meter (free with widget_free). Never returns NULL. */
struct meter *meter_new(void);
/* Set what the meter shows; label and text are copied (truncated). */
void meter_set(struct meter *m, const char *label, double percent, const char *text);

/* Graph of one series: a sparkline (axes 0, usually one row) or a chart with value
 * labels on the left, a time axis at the bottom and the unit from the series name. */
struct graph {
    struct widget w;
    const struct ring *ring; /* borrowed from the model for one draw; NULL: no data */
    char series[MODEL_SERIES_LEN];
    double t0, t1; /* the time window drawn */
    double ymax;   /* top of the scale; <= 0: from the data (at least 1) */
    double step;   /* seconds between points (gaps under 2.5 steps are bridged) */
    int axes;      /* draw value and time labels */
    attr_t attr;   /* colour of the plot; 0: level colour by the latest value */
};
extern const struct widget_class graph_class;
/* Create a graph (free with widget_free). Never returns NULL. */
struct graph *graph_new(int axes);

/* Table: columns with titles, rows filled by a callback, a selected row and scrolling. */
struct table_col {
    const char *title;
    int width; /* columns; the last column takes what is left */
    int right; /* right-aligned */
};
/* Fill buf (len bytes) with the text of (row, col); may set *attr. */
typedef void (*table_cell_fn)(void *arg, size_t row, size_t col, char *buf, size_t len,
                              attr_t *attr);
struct table {
    struct widget w;
    const struct table_col *cols;
    size_t ncols;
    size_t nrows;   /* set by the owner before drawing */
    size_t sel;     /* selected row */
    size_t top;     /* first row shown */
    int selectable; /* show and move a selection */
    table_cell_fn cell;
    void *arg;
};
extern const struct widget_class table_class;
/* Create a table over cols (borrowed, usually a static table). Never returns NULL. */
struct table *table_new(const struct table_col *cols, size_t ncols, table_cell_fn cell, void *arg);
/* Draw the header line of t's columns at row y. */
void table_draw_header(const struct table *t, WINDOW *win, int y, const struct theme *th);
/* Draw row i of t at row y (selected rows in reverse video when sel is set). */
void table_draw_row(const struct table *t, WINDOW *win, int y, size_t i, int sel,
                    const struct theme *th);

#endif
