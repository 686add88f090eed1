/* report.h - the results of a sweep as CSV or JSON.  Internal.
 *
 * One row per point of the current sweep (excluded points left out), in
 * index order, joined with the journal by key.  Columns: index, one column
 * per parameter (in the order of the sweep file), state, exit_code, signal,
 * attempts, wall_s, max_rss_kb, engine, host, stdout, stderr.  A point the
 * journal does not know is 'pending' with empty fields and the stdout/stderr
 * paths it will get.
 *
 * CSV follows RFC 4180: a header line, CRLF line ends, fields quoted when
 * they hold a comma, quote, CR or LF, quotes doubled; unknown values are
 * empty.  JSON is an array of flat objects; numbers (index, numeric
 * parameter values, exit_code, ...) are JSON numbers, unknown values null,
 * strings escaped (UTF-8 passes through; invalid bytes become U+FFFD).
 */
#ifndef ZPAR__SWEEP_REPORT_H
#define ZPAR__SWEEP_REPORT_H

#include <stdio.h>

#include "journal.h"
#include "spec.h"
#include "zpar/error.h"

typedef enum {
    ZPAR_REPORT_CSV = 0,
    ZPAR_REPORT_JSON = 1,
} zpar_report_format_t;

/* "csv" or "json" into *fmt: 0, or -1 with EINVAL and err. */
int zpar__report_format_parse (const char *s, zpar_report_format_t *fmt, zpar_error_t *err);

/* Write the report of spec's points with their journal state to f.  The
 * journal's pending batch is read as well (it is not flushed).  0, or -1
 * with errno and err (EIO when writing to f fails; f may then hold part of
 * the report). */
int zpar__report_write (FILE *f, zpar_report_format_t fmt, const zpar_sweep_spec_t *spec,
                        zpar_journal_t *j, zpar_error_t *err);

#endif
