/* status.h - what the journal says about a sweep: `zpar sweep status`
 * and `zpar sweep report`.  Internal.
 *
 * Both load and validate the sweep file, then read its journal without
 * changing it; a missing journal means nothing ran yet (it is not
 * created).  They return 0, or ZPAR_SWEEP_EXIT_BAD_INPUT (bad sweep file,
 * journal of another sweep) / ZPAR_SWEEP_EXIT_FAILED (runtime error) with
 * err (runner.h has the exit codes).
 */
#ifndef ZPAR__SWEEP_STATUS_H
#define ZPAR__SWEEP_STATUS_H

#include <stdio.h>

#include "report.h"
#include "zpar/error.h"

/* Print the counts by state of the sweep's current points (from the
 * journal: succeeded, failed, running, pending, not run), and the points
 * the journal has that the sweep no longer has (removed), to out, as text
 * or (json != 0) one JSON object. */
int zpar__sweep_status (const char *sweep_path, const char *journal_path, int json, FILE *out,
                        zpar_error_t *err);

/* Write the report (report.h) to out_path (NULL or "-": stdout; written
 * to a temporary file then renamed). */
int zpar__sweep_report (const char *sweep_path, const char *journal_path, zpar_report_format_t fmt,
                        const char *out_path, zpar_error_t *err);

#endif
