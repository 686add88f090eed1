/* runlog.c - what a sweep run prints. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "runlog.h"

void zpar__sweep_log_init (zpar_sweep_log_t *l, FILE *log, int quiet)
{
    l->log = log ? log : stderr;
    l->quiet = quiet;
    l->live = !quiet && isatty (fileno (l->log));
    l->line_dirty = 0;
}

void zpar__sweep_log_clear (zpar_sweep_log_t *l)
{
    if (l->line_dirty) {
        fputs ("\r\033[K", l->log);
        l->line_dirty = 0;
    }
}

/* One line "zpar: ..." on the log, clearing a live progress line first. */
static void vline (zpar_sweep_log_t *l, const char *fmt, va_list ap)
    __attribute__ ((format (printf, 2, 0)));
static void vline (zpar_sweep_log_t *l, const char *fmt, va_list ap)
{
    zpar__sweep_log_clear (l);
    fputs ("zpar: ", l->log);
    vfprintf (l->log, fmt, ap);
    fputc ('\n', l->log);
    fflush (l->log);
}

void zpar__sweep_note (zpar_sweep_log_t *l, const char *fmt, ...)
{
    va_list ap;
    if (l->quiet)
        return;
    va_start (ap, fmt);
    vline (l, fmt, ap);
    va_end (ap);
}

void zpar__sweep_warn (zpar_sweep_log_t *l, const char *fmt, ...)
{
    va_list ap;
    va_start (ap, fmt);
    vline (l, fmt, ap);
    va_end (ap);
}

void zpar__sweep_progress_line (zpar_sweep_log_t *l, const char *fmt, ...)
{
    va_list ap;
    if (l->quiet)
        return;
    va_start (ap, fmt);
    if (l->live) {
        fputc ('\r', l->log);
        vfprintf (l->log, fmt, ap);
        fputs ("\033[K", l->log);
        l->line_dirty = 1;
    } else
        vline (l, fmt, ap);
    va_end (ap);
    fflush (l->log);
}

void zpar__sweep_fmt_duration (double s, char *buf, size_t size)
{
    long t = (long)(s + 0.5);
    if (s < 0 || s > 1e9)
        snprintf (buf, size, "?");
    else if (t < 60)
        snprintf (buf, size, "%lds", t);
    else if (t < 3600)
        snprintf (buf, size, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf (buf, size, "%ldh%02ldm", t / 3600, (t % 3600) / 60);
}
