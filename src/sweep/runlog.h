/* runlog.h - what a sweep run prints: "zpar: ..." lines, warnings, and a
 * progress line that a terminal rewrites in place.  Internal.
 *
 * The runner is command-line code: it prints to a FILE (stderr by
 * default) through these functions only.  A live progress line (a
 * terminal, written with '\r') is cleared before any other line.
 */
#ifndef ZPAR__SWEEP_RUNLOG_H
#define ZPAR__SWEEP_RUNLOG_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    FILE *log;      /* where everything goes (required) */
    int quiet;      /* notes and progress are not printed; warnings are */
    int live;       /* a terminal: one progress line rewritten with \r */
    int line_dirty; /* a progress line is on screen */
} zpar_sweep_log_t;

/* Set up l to print to log (NULL: stderr); live when not quiet and log is
 * a terminal. */
void zpar__sweep_log_init (zpar_sweep_log_t *l, FILE *log, int quiet);

/* One line "zpar: ..." unless quiet. */
void zpar__sweep_note (zpar_sweep_log_t *l, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* One line "zpar: ...", always (errors and warnings during a run). */
void zpar__sweep_warn (zpar_sweep_log_t *l, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* The progress line: on a terminal rewritten in place (left dirty until
 * the next line or zpar__sweep_log_clear), else one "zpar: ..." line.
 * Nothing when quiet. */
void zpar__sweep_progress_line (zpar_sweep_log_t *l, const char *fmt, ...)
    __attribute__ ((format (printf, 2, 3)));

/* Erase a live progress line, if one is on screen. */
void zpar__sweep_log_clear (zpar_sweep_log_t *l);

/* A duration for people: "42s", "3m07s", "2h05m"; "?" when negative or
 * absurd. */
void zpar__sweep_fmt_duration (double s, char *buf, size_t size);

#endif
