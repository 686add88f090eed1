/* report.c - the results of a sweep as CSV or JSON. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "journal.h"
#include "json.h"
#include "params.h"
#include "report.h"
#include "spec.h"

static const char *fixed_cols[] = {
    "state",      "exit_code", "signal", "attempts", "wall_s",
    "max_rss_kb", "engine",    "host",   "stdout",   "stderr",
};
#define NFIXED (sizeof (fixed_cols) / sizeof (fixed_cols[0]))

int zpar__report_format_parse (const char *s, zpar_report_format_t *fmt, zpar_error_t *err)
{
    if (s && strcmp (s, "csv") == 0)
        *fmt = ZPAR_REPORT_CSV;
    else if (s && strcmp (s, "json") == 0)
        *fmt = ZPAR_REPORT_JSON;
    else
        return zpar__errnoprintf (err, EINVAL, "unknown report format '%s' (use csv or json)",
                                  s ? s : "");
    return 0;
}

/* One field value: text (NULL = unknown) and whether it is a number. */
typedef struct {
    const char *text;
    int number;
} field_t;

static void csv_field (FILE *f, const char *s)
{
    if (!s)
        return;
    if (!strpbrk (s, ",\"\r\n")) {
        fputs (s, f);
        return;
    }
    fputc ('"', f);
    for (; *s; s++) {
        if (*s == '"')
            fputc ('"', f);
        fputc (*s, f);
    }
    fputc ('"', f);
}

static void json_value (FILE *f, const field_t *v)
{
    if (!v->text)
        fputs ("null", f);
    else if (v->number)
        fputs (v->text, f);
    else
        zpar__json_put_str (f, v->text, strlen (v->text));
}

static void put_row (FILE *f, zpar_report_format_t fmt, const zpar_sweep_spec_t *spec,
                     const field_t *vals, size_t n, int first)
{
    size_t np = zpar__sweep_spec_nparams (spec);
    if (fmt == ZPAR_REPORT_CSV) {
        for (size_t i = 0; i < n; i++) {
            if (i)
                fputc (',', f);
            csv_field (f, vals[i].text);
        }
        fputs ("\r\n", f);
        return;
    }
    fputs (first ? "\n  {" : ",\n  {", f);
    for (size_t i = 0; i < n; i++) {
        const char *name = i == 0    ? "index"
                           : i <= np ? zpar__sweep_spec_param_name (spec, i - 1)
                                     : fixed_cols[i - 1 - np];
        if (i)
            fputs (", ", f);
        zpar__json_put_str (f, name, strlen (name));
        fputs (": ", f);
        json_value (f, &vals[i]);
    }
    fputc ('}', f);
}

int zpar__report_write (FILE *f, zpar_report_format_t fmt, const zpar_sweep_spec_t *spec,
                        zpar_journal_t *j, zpar_error_t *err)
{
    size_t np, n;
    field_t *vals = NULL;
    zpar_sweep_iter_t *it = NULL;
    const zpar_sweep_point_t *pt;
    int first = 1, rc = -1;

    if (!f || !spec || !j || (fmt != ZPAR_REPORT_CSV && fmt != ZPAR_REPORT_JSON))
        return zpar__errnoprintf (err, EINVAL, "invalid argument");
    np = zpar__sweep_spec_nparams (spec);
    n = 1 + np + NFIXED;
    if (!(vals = calloc (n, sizeof (*vals))) || !(it = zpar__sweep_spec_iter_create (spec))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto done;
    }
    if (fmt == ZPAR_REPORT_CSV) {
        fputs ("index", f);
        for (size_t i = 0; i < np; i++) {
            fputc (',', f);
            csv_field (f, zpar__sweep_spec_param_name (spec, i));
        }
        for (size_t i = 0; i < NFIXED; i++)
            fprintf (f, ",%s", fixed_cols[i]);
        fputs ("\r\n", f);
    } else
        fputc ('[', f);
    while ((pt = zpar__sweep_iter_next (it))) {
        zpar_sweep_task_t *task = zpar__sweep_spec_task (spec, pt, err);
        zpar_journal_row_t row;
        char idx[24], ec[16], sig[16], att[16], wall[ZPAR_SWEEP_NUM_MAX], rss[24];
        int found;
        size_t k = 0;
        if (!task)
            goto done;
        if ((found = zpar__journal_get (j, task->key, &row, err)) < 0) {
            zpar__sweep_task_destroy (task);
            goto done;
        }
        snprintf (idx, sizeof (idx), "%" PRIu64, pt->index);
        vals[k++] = (field_t){idx, 1};
        for (size_t i = 0; i < np; i++)
            vals[k++] = (field_t){pt->values[i], pt->types[i] != ZPAR_SWEEP_STRING};
        if (found) {
            snprintf (ec, sizeof (ec), "%d", row.exit_code);
            snprintf (sig, sizeof (sig), "%d", row.signal);
            snprintf (att, sizeof (att), "%d", row.attempts);
            zpar__sweep_number_format (row.wall_s, wall, sizeof (wall));
            snprintf (rss, sizeof (rss), "%" PRId64, row.max_rss_kb);
            vals[k++] = (field_t){zpar__journal_state_name (row.state), 0};
            vals[k++] = (field_t){row.exit_code >= 0 ? ec : NULL, 1};
            vals[k++] = (field_t){row.signal > 0 ? sig : NULL, 1};
            vals[k++] = (field_t){att, 1};
            vals[k++] = (field_t){row.wall_s >= 0 ? wall : NULL, 1};
            vals[k++] = (field_t){row.max_rss_kb >= 0 ? rss : NULL, 1};
            vals[k++] = (field_t){row.engine, 0};
            vals[k++] = (field_t){row.host, 0};
            vals[k++] = (field_t){row.stdout_path ? row.stdout_path : task->stdout_path, 0};
            vals[k++] = (field_t){row.stderr_path ? row.stderr_path : task->stderr_path, 0};
        } else {
            vals[k++] = (field_t){"pending", 0};
            vals[k++] = (field_t){NULL, 1};
            vals[k++] = (field_t){NULL, 1};
            vals[k++] = (field_t){"0", 1};
            vals[k++] = (field_t){NULL, 1};
            vals[k++] = (field_t){NULL, 1};
            vals[k++] = (field_t){NULL, 0};
            vals[k++] = (field_t){NULL, 0};
            vals[k++] = (field_t){task->stdout_path, 0};
            vals[k++] = (field_t){task->stderr_path, 0};
        }
        put_row (f, fmt, spec, vals, n, first);
        first = 0;
        zpar__sweep_task_destroy (task);
    }
    if (fmt == ZPAR_REPORT_JSON)
        fputs (first ? "]\n" : "\n]\n", f);
    if (fflush (f) != 0 || ferror (f)) {
        zpar__errnoprintf (err, EIO, "writing the report: %s", strerror (errno));
        goto done;
    }
    rc = 0;
done:
    zpar__sweep_iter_destroy (it);
    free (vals);
    return rc;
}
