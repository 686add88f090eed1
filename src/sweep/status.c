/* status.c - `zpar sweep status` and `zpar sweep report`. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "journal.h"
#include "report.h"
#include "resubmit.h"
#include "runner.h"
#include "spec.h"
#include "status.h"

/* Open the journal for reading: an in-memory empty one when the file does
 * not exist (nothing ran yet; the file is not created). */
static zpar_journal_t *open_for_read (const zpar_sweep_spec_t *spec, const char *opt, char **jpath,
                                      int *exists, zpar_error_t *err)
{
    if (!(*jpath = opt ? strdup (opt) : zpar__sweep_spec_journal_path (spec))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return NULL;
    }
    *exists = access (*jpath, F_OK) == 0;
    return zpar__journal_open (*exists ? *jpath : ":memory:", zpar__sweep_spec_name (spec), err);
}

typedef struct {
    uint64_t n;
    FILE *out;
    int json, first;
} removed_t;

static int list_removed (const zpar_journal_row_t *row, void *arg)
{
    removed_t *rm = arg;
    rm->n++;
    if (rm->json) {
        fprintf (rm->out, "%s{\"index\": %" PRIu64 ", \"params\": %s, \"state\": \"%s\"}",
                 rm->first ? "" : ", ", row->index, row->params_json ? row->params_json : "{}",
                 zpar__journal_state_name (row->state));
        rm->first = 0;
    } else
        fprintf (rm->out, "  removed: point %" PRIu64 " %s (%s)\n", row->index,
                 row->params_json ? row->params_json : "{}", zpar__journal_state_name (row->state));
    return 0;
}

int zpar__sweep_status (const char *sweep_path, const char *journal_path, int json, FILE *out,
                        zpar_error_t *err)
{
    zpar_sweep_spec_t *spec;
    zpar_journal_t *j = NULL;
    zpar_sweep_iter_t *it = NULL;
    const zpar_sweep_point_t *pt;
    char *jpath = NULL;
    int exists = 0, rc = ZPAR_SWEEP_EXIT_FAILED;
    uint64_t counts[ZPAR_JSTATE_COUNT] = {0}, total = 0;
    removed_t rm = {0, out, json, 1};

    if (!(spec = zpar__sweep_spec_load (sweep_path, err)))
        return errno == ENOMEM ? ZPAR_SWEEP_EXIT_FAILED : ZPAR_SWEEP_EXIT_BAD_INPUT;
    if (!(j = open_for_read (spec, journal_path, &jpath, &exists, err))) {
        rc = errno == EEXIST ? ZPAR_SWEEP_EXIT_BAD_INPUT : ZPAR_SWEEP_EXIT_FAILED;
        goto done;
    }
    if (!(it = zpar__sweep_spec_iter_create (spec))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto done;
    }
    if (zpar__journal_current_clear (j, err) < 0)
        goto done;
    uint64_t polled = 0;
    while ((pt = zpar__sweep_iter_next (it))) {
        zpar_sweep_task_t *task = zpar__sweep_spec_task (spec, pt, err);
        zpar_jstate_t st;
        int bad;
        if ((++polled & 4095) == 0 && zpar__sweep_interrupted ()) {
            zpar__sweep_task_destroy (task);
            zpar__errnoprintf (err, EINTR, "interrupted");
            goto done;
        }
        if (!task)
            goto done;
        bad = zpar__journal_current_add (j, task->key, err) < 0 ||
              zpar__journal_lookup (j, task->key, &st, NULL, err) < 0;
        zpar__sweep_task_destroy (task);
        if (bad)
            goto done;
        counts[st]++;
        total++;
    }
    if (json) {
        fprintf (out, "{\"sweep\": ");
        /* names are [A-Za-z0-9_.-]: no escaping needed */
        fprintf (out,
                 "\"%s\", \"points\": %" PRIu64 ", \"succeeded\": %" PRIu64 ", \"failed\": %" PRIu64
                 ", \"running\": %" PRIu64 ", \"pending\": %" PRIu64 ", \"not_run\": %" PRIu64
                 ", \"removed\": [",
                 zpar__sweep_spec_name (spec), total, counts[ZPAR_JSTATE_SUCCEEDED],
                 counts[ZPAR_JSTATE_FAILED], counts[ZPAR_JSTATE_RUNNING],
                 counts[ZPAR_JSTATE_PENDING], counts[ZPAR_JSTATE_ABSENT]);
        if (zpar__journal_foreach_removed (j, list_removed, &rm, err) < 0)
            goto done;
        fprintf (out, "], \"jobs\": ");
        if (zpar__resubmit_print_chain (j, out, 1, err) < 0)
            goto done;
        fprintf (out, "}\n");
    } else {
        fprintf (out, "sweep %s (%s): %" PRIu64 " points\n", zpar__sweep_spec_name (spec),
                 zpar__sweep_spec_path (spec), total);
        fprintf (out, "  succeeded  %" PRIu64 "\n", counts[ZPAR_JSTATE_SUCCEEDED]);
        fprintf (out, "  failed     %" PRIu64 "\n", counts[ZPAR_JSTATE_FAILED]);
        fprintf (out, "  running    %" PRIu64 "\n", counts[ZPAR_JSTATE_RUNNING]);
        fprintf (out, "  pending    %" PRIu64 "\n", counts[ZPAR_JSTATE_PENDING]);
        fprintf (out, "  not run    %" PRIu64 "\n", counts[ZPAR_JSTATE_ABSENT]);
        if (zpar__journal_foreach_removed (j, list_removed, &rm, err) < 0)
            goto done;
        fprintf (out, "  removed    %" PRIu64 "  (in the journal, no longer in the sweep)\n", rm.n);
        if (zpar__resubmit_print_chain (j, out, 0, err) < 0)
            goto done;
        fprintf (out, "journal: %s%s\n", jpath, exists ? "" : " (none yet)");
    }
    if (fflush (out) != 0 || ferror (out)) {
        zpar__errnoprintf (err, EIO, "cannot write the status");
        goto done;
    }
    rc = 0;
done:
    zpar__sweep_iter_destroy (it);
    zpar__journal_close (j);
    zpar__sweep_spec_destroy (spec);
    free (jpath);
    return rc;
}

/* ------------------------------------------------------------ report */

int zpar__sweep_report (const char *sweep_path, const char *journal_path, zpar_report_format_t fmt,
                        const char *out_path, zpar_error_t *err)
{
    zpar_sweep_spec_t *spec;
    zpar_journal_t *j = NULL;
    char *jpath = NULL, *tmp = NULL;
    int exists = 0, rc = ZPAR_SWEEP_EXIT_FAILED;
    FILE *f = NULL;
    int to_stdout = !out_path || strcmp (out_path, "-") == 0;

    if (!(spec = zpar__sweep_spec_load (sweep_path, err)))
        return errno == ENOMEM ? ZPAR_SWEEP_EXIT_FAILED : ZPAR_SWEEP_EXIT_BAD_INPUT;
    if (!(j = open_for_read (spec, journal_path, &jpath, &exists, err))) {
        rc = errno == EEXIST ? ZPAR_SWEEP_EXIT_BAD_INPUT : ZPAR_SWEEP_EXIT_FAILED;
        goto done;
    }
    if (to_stdout)
        f = stdout;
    else {
        int fd;
        if (asprintf (&tmp, "%s.XXXXXX", out_path) < 0) {
            tmp = NULL;
            zpar__errnoprintf (err, ENOMEM, "out of memory");
            goto done;
        }
        if ((fd = mkstemp (tmp)) < 0 || !(f = fdopen (fd, "w"))) {
            zpar__errprintf (err, "cannot create %s: %s", tmp, strerror (errno));
            if (fd >= 0)
                close (fd);
            free (tmp);
            tmp = NULL;
            goto done;
        }
        fchmod (fd, 0644);
    }
    if (zpar__report_write (f, fmt, spec, j, err) < 0)
        goto done;
    if (to_stdout) {
        if (fflush (f) != 0) {
            zpar__errnoprintf (err, EIO, "cannot write the report: %s", strerror (errno));
            goto done;
        }
    } else {
        int bad = fflush (f) != 0 || fsync (fileno (f)) < 0;
        bad = fclose (f) != 0 || bad;
        f = NULL;
        if (bad || rename (tmp, out_path) < 0) {
            zpar__errprintf (err, "cannot write %s: %s", out_path, strerror (errno));
            goto done;
        }
        free (tmp);
        tmp = NULL;
    }
    rc = 0;
done:
    if (f && !to_stdout)
        fclose (f);
    if (tmp) {
        unlink (tmp);
        free (tmp);
    }
    zpar__journal_close (j);
    zpar__sweep_spec_destroy (spec);
    free (jpath);
    return rc;
}
