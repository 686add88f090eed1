/* dispatch.c - a sweep run's points to tasks and back: the journal
 * records each task's id (and its cluster) and commits before the task is
 * submitted; a point a previous run submitted to the same cluster is
 * adopted (its result is asked of the cluster) instead of run again;
 * results go to the output files and the journal, committed at once. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "clock.h"
#include "conn.h"
#include "error.h"
#include "outcome.h"
#include "run.h"

/* At most this many adopted tasks are followed at a time (each is asked
 * about every 200 ms at most while it runs). */
#define ADOPT_WINDOW 256
/* Points submitted again after adoption that get a line of their own. */
#define ADOPT_NOTES_MAX 5

/* The journal could not be read or written (disk full, I/O error): what
 * it would have said is not recorded, so the run stops here -- nothing
 * more is dispatched, and the journal never says done what was not (a
 * record whose commit failed is not in it).  Tasks already submitted to a
 * shared cluster keep running there: their ids were committed before they
 * were submitted, so the next run adopts their results. */
void zpar__sweep_journal_problem (run_t *r, const zpar_error_t *e)
{
    if (!r->journal_dead) {
        zpar__sweep_warn (&r->o, "journal: %s: stopping the run (nothing more can be recorded)",
                          e->text);
        snprintf (r->journal_err, sizeof (r->journal_err), "%s", e->text);
    }
    r->journal_dead = 1;
}

/* Commit the journal's batch now. */
void zpar__sweep_journal_commit (run_t *r)
{
    zpar_error_t e;
    if (!r->journal_dead && zpar__journal_unflushed (r->j) && zpar__journal_flush (r->j, &e) < 0)
        zpar__sweep_journal_problem (r, &e);
}

/* The identity of the cluster behind r->c: a hash of its connection
 * file's key (a new cluster has a new key; a controller restarted with
 * --reuse keeps it, and its records).  "" when unknown. */
void zpar__sweep_cluster_identity (run_t *r)
{
    const char *path = zpar_client_connection_file (r->c);
    unsigned char h[crypto_generichash_BYTES_MIN];
    zpar_conninfo_t ci;
    r->cluster_id[0] = '\0';
    if (!path || zpar__conn_read (path, &ci, NULL) < 0)
        return;
    crypto_generichash (h, sizeof (h), ci.key, sizeof (ci.key),
                        (const unsigned char *)"zpar-cluster", 12);
    sodium_memzero (&ci, sizeof (ci));
    for (size_t i = 0; i < sizeof (h) && 2 * i + 2 < sizeof (r->cluster_id); i++)
        snprintf (r->cluster_id + 2 * i, 3, "%02x", h[i]);
}

/* The command task of a point (its workdir created).  NULL on a runtime
 * error (reported; the point is not run). */
static zpar_task_t *build_task (run_t *r, zpar_sweep_task_t *task, int *capped)
{
    zpar_task_t *t;
    double timeout = zpar__sweep_spec_timeout (r->spec);
    int retries = zpar__sweep_spec_retries (r->spec);

    *capped = 0;
    if (r->end > 0) {
        /* the engine itself stops the point when the stop time comes
         * (SIGTERM, then SIGKILL), whatever the runner is doing then */
        double left = r->stop_mono - zpar__mono_s ();
        if (left < 1)
            left = 1;
        if (timeout <= 0 || left < timeout) {
            timeout = left;
            *capped = 1;
        }
    }

    if (zpar__sweep_ensure_dir (&r->dc, task->workdir) < 0) {
        zpar__sweep_warn (&r->o, "point %" PRIu64 ": cannot create its workdir %s: %s", task->index,
                          task->workdir, strerror (errno));
        r->runtime_error = 1;
        return NULL;
    }
    if (!(t = zpar_task_command ((const char *const *)task->argv)))
        goto nomem;
    for (size_t i = 0; i < task->nenv; i++) {
        char *eq = strchr (task->env[i], '=');
        int rc;
        if (!eq)
            continue;
        *eq = '\0';
        rc = zpar_task_setenv (t, task->env[i], eq + 1);
        *eq = '=';
        if (rc < 0)
            goto nomem_t;
    }
    if (r->end > 0) {
        /* when the point will be stopped: a code that checkpoints can
         * save its state before it */
        char at[32];
        snprintf (at, sizeof (at), "%.0f", r->end - r->margin - r->grace);
        if (zpar_task_setenv (t, "ZPAR_STOP_TIME", at) < 0)
            goto nomem_t;
    }
    {
        double grace;
        int sig = zpar__sweep_spec_stop_signal (r->spec, &grace);
        if ((sig || grace > 0) &&
            zpar_task_set_stop_signal (t, sig ? sig : SIGTERM, grace > 0 ? grace : 1) < 0)
            goto nomem_t;
    }
    if (zpar_task_set_cwd (t, task->workdir) < 0 ||
        (timeout > 0 && zpar_task_set_timeout (t, timeout) < 0) ||
        (retries > 0 && zpar_task_set_retries (t, (unsigned)retries) < 0) ||
        zpar_task_set_output_cap (t, ZPAR_SWEEP_OUTPUT_CAP) < 0 ||
        (task->has_res && zpar_task_set_resources (t, &task->res) < 0))
        goto nomem_t;
    return t;
nomem_t:
    zpar_task_destroy (t);
nomem:
    zpar__sweep_warn (&r->o, "point %" PRIu64 ": out of memory", task->index);
    r->runtime_error = 1;
    return NULL;
}

/* Record the dispatch of task with the id it will get (batched). */
static int record_dispatch (run_t *r, const zpar_sweep_task_t *task, zpar_task_id_t id)
{
    zpar_error_t e;
    char tid[32];
    zpar_journal_dispatch_t d = {
        .key = task->key,
        .index = task->index,
        .params_json = task->params_json,
        .stdout_path = task->stdout_path,
        .stderr_path = task->stderr_path,
        .task_id = tid,
        .cluster = r->cluster_id[0] ? r->cluster_id : NULL,
    };
    zpar_task_id_format (id, tid, sizeof (tid));
    if (zpar__journal_dispatched (r->j, &d, &e) < 0) {
        zpar__sweep_journal_problem (r, &e);
        return -1;
    }
    return 0;
}

/* Put the future of task in a free slot. */
static void occupy (run_t *r, zpar_future_t *f, zpar_sweep_task_t *task, int adopted, int capped)
{
    size_t s = r->freelist[--r->nfree];
    r->slots[s].f = f;
    r->slots[s].task = task;
    r->slots[s].adopted = adopted;
    r->slots[s].capped = capped;
    r->n.running++;
    if (r->t_first == 0)
        r->t_first = zpar__mono_s ();
}

/* Submit t (whose id was recorded as `want`): 0, or -2 when the cluster is
 * gone.  Takes t; task goes to a slot on success (else stays the
 * caller's). */
static int submit_task (run_t *r, zpar_sweep_task_t *task, zpar_task_t *t, zpar_task_id_t want,
                        int capped)
{
    zpar_future_t *f;
    zpar_error_t e;
    f = zpar_submit (r->c, t, &e);
    zpar_task_destroy (t);
    if (!f) {
        zpar__sweep_warn (&r->o, "cannot submit point %" PRIu64 ": %s", task->index, e.text);
        return -2;
    }
    if (zpar_future_id (f).id != want.id) {
        /* cannot happen while nothing else uses the client between the
         * prediction and the submission; record the truth at once */
        char a[32], b[32];
        zpar_task_id_format (zpar_future_id (f), a, sizeof (a));
        zpar_task_id_format (want, b, sizeof (b));
        zpar__sweep_warn (&r->o, "point %" PRIu64 ": task id %s, not %s as recorded", task->index,
                          a, b);
        if (record_dispatch (r, task, zpar_future_id (f)) == 0)
            zpar__sweep_journal_commit (r);
    }
    occupy (r, f, task, 0, capped);
    return 0;
}

/* Submit one point now, its id committed to the journal first.  0, -1
 * (runtime or journal error: not run), -2 (the cluster is gone).  On 0
 * the task belongs to its slot. */
static int dispatch_now (run_t *r, zpar_sweep_task_t *task)
{
    int capped;
    zpar_task_t *t = build_task (r, task, &capped);
    zpar_task_id_t id;
    if (!t)
        return -1;
    id = zpar_client_next_task_id (r->c, 1);
    if (record_dispatch (r, task, id) < 0 || (zpar__sweep_journal_commit (r), r->journal_dead)) {
        zpar_task_destroy (t);
        return -1;
    }
    return submit_task (r, task, t, id, capped);
}

static void remember_failed (run_t *r, const zpar_sweep_task_t *task, const char *what)
{
    char *s;
    if (r->nfailed_list >= LIST_FAILED_MAX)
        return;
    if (asprintf (&s, "point %" PRIu64 " %s: %s (stderr: %s)", task->index, task->params_json, what,
                  task->stderr_path) >= 0)
        r->failed_list[r->nfailed_list++] = s;
}

static void release_slot (run_t *r, size_t s)
{
    if (r->slots[s].adopted)
        r->adopting--;
    zpar_future_destroy (r->slots[s].f);
    r->slots[s].f = NULL;
    r->slots[s].task = NULL;
    r->slots[s].adopted = 0;
    r->slots[s].capped = 0;
    r->freelist[r->nfree++] = s;
    r->n.running--;
}

/* An adopted task ended without a result this run can use: the cluster
 * does not know it (the previous run died before submitting it, or the
 * records are gone), or it ended without running the point (aborted,
 * engine died, TERM from outside).  Submit the point again.  0 when
 * handled (resubmitted, or left for the next run), -2 when the cluster is
 * gone. */
static int adopt_failed (run_t *r, size_t s, const char *why)
{
    zpar_sweep_task_t *task = r->slots[s].task;
    int rc;
    release_slot (r, s);
    /* the summary counts them; one line per point only for the first few */
    if (r->n.resubmitted < ADOPT_NOTES_MAX)
        zpar__sweep_note (&r->o, "point %" PRIu64 " (taken over): %s: submitting it again",
                          task->index, why);
    else if (r->n.resubmitted == ADOPT_NOTES_MAX)
        zpar__sweep_note (&r->o, "(more points taken over are submitted again: see the summary)");
    r->n.resubmitted++;
    if (!zpar__sweep_deadline_admit (r, task)) {
        zpar__sweep_task_destroy (task);
        return 0;
    }
    if ((rc = dispatch_now (r, task)) < 0)
        zpar__sweep_task_destroy (task);
    return rc == -2 ? -2 : 0;
}

/* A result has arrived in slot s (or, for an adopted task, the cluster's
 * answer).  -2 when the cluster is gone. */
static int finish (run_t *r, size_t s)
{
    slot_t *sl = &r->slots[s];
    const zpar_result_t *res = zpar_future_result (sl->f);
    zpar_sweep_task_t *task = sl->task;
    zpar_sweep_result_info_t info;
    zpar_sweep_outcome_t oc;
    size_t olen = 0, elen = 0;
    const void *out = zpar_result_stdout (res, &olen);
    const void *errb = zpar_result_stderr (res, &elen);
    char engine[16];
    zpar_journal_result_t jr;
    zpar_error_t e;
    int cut = 0; /* interrupted by the end of the allocation */

    if (!res) {
        /* an adopted task the cluster could not answer for */
        char tid[32];
        zpar_task_id_format (zpar_future_id (sl->f), tid, sizeof (tid));
        if (zpar_future_wait (sl->f, 0, &e) < 0 && errno == ENOENT)
            return adopt_failed (r, s, "the cluster does not have its task any more");
        zpar__sweep_warn (&r->o,
                          "point %" PRIu64 ": cannot get the result of its task %s: %s (it "
                          "stays in flight for the next run)",
                          task->index, tid, e.text);
        r->n.lost++;
        remember_failed (r, task, "its task's result could not be had from the cluster");
        zpar__sweep_task_destroy (task);
        release_slot (r, s);
        return 0;
    }
    info.status = zpar_result_status (res);
    info.exit_code = zpar_result_exit_code (res);
    info.signal = zpar_result_signal (res);
    info.error = zpar_result_error (res);
    info.truncated = zpar_result_truncated (res);
    info.cap_mib = ZPAR_SWEEP_OUTPUT_CAP >> 20;
    info.timeout = zpar__sweep_spec_timeout (r->spec);
    (void)zpar__sweep_outcome (&info, &oc);
    /* an earlier run's task that ended without running the point
     * (aborted when that run was interrupted, engine died...): run it now
     * rather than record it lost */
    if (sl->adopted && oc.state == ZPAR_JSTATE_PENDING && !r->stopping)
        return adopt_failed (r, s, oc.what);
    /* stopped at the end of the allocation: whatever the point did with
     * the signal (a code that checkpoints may exit 1), it was interrupted */
    if ((r->stopping || (sl->capped && info.status == ZPAR_STATUS_TIMEOUT)) &&
        oc.state != ZPAR_JSTATE_SUCCEEDED) {
        oc.state = ZPAR_JSTATE_PENDING;
        snprintf (oc.error, sizeof (oc.error), "interrupted: the allocation ends (%s)",
                  sl->capped && info.status == ZPAR_STATUS_TIMEOUT ? "stopped at the stop time"
                  : oc.what[0]                                     ? oc.what
                                                                   : "stopped");
        r->interrupted++;
        cut = 1;
    }

    /* output files (both created, even when empty) */
    if (strcmp (task->stdout_path, task->stderr_path) == 0) {
        if (zpar__sweep_write_output (&r->dc, task->stdout_path, out, olen, errb, elen) < 0) {
            zpar__sweep_warn (&r->o, "cannot write %s: %s", task->stdout_path, strerror (errno));
            r->runtime_error = 1;
        }
    } else if (zpar__sweep_write_output (&r->dc, task->stdout_path, out, olen, NULL, 0) < 0 ||
               zpar__sweep_write_output (&r->dc, task->stderr_path, errb, elen, NULL, 0) < 0) {
        zpar__sweep_warn (&r->o, "point %" PRIu64 ": cannot write its output files: %s",
                          task->index, strerror (errno));
        r->runtime_error = 1;
    }

    snprintf (engine, sizeof (engine), "%u", zpar_result_engine (res).id);
    memset (&jr, 0, sizeof (jr));
    jr.key = task->key;
    jr.state = oc.state;
    jr.exit_code = info.exit_code;
    jr.signal = info.signal;
    jr.wall_s = zpar_result_wall (res);
    jr.max_rss_kb = zpar_result_maxrss_kb (res);
    jr.engine = zpar_result_engine (res).id ? engine : NULL;
    jr.host = zpar_result_host (res);
    if (jr.host && !*jr.host)
        jr.host = NULL;
    jr.error = oc.error[0] ? oc.error : NULL;
    if (oc.state == ZPAR_JSTATE_SUCCEEDED) {
        r->n.ok++;
        zpar__sweep_deadline_learn (r, task, jr.wall_s);
    } else if (cut) {
        /* counted in r->interrupted, left for the next job */
    } else {
        if (oc.state == ZPAR_JSTATE_PENDING)
            r->n.lost++;
        else
            r->n.failed++;
        remember_failed (r, task, oc.what);
    }
    if (zpar__journal_finished (r->j, &jr, &e) < 0)
        zpar__sweep_journal_problem (r, &e);
    zpar__sweep_task_destroy (task);
    release_slot (r, s);
    return 0;
}

/* Hand the results that have arrived to finish().  Results can arrive in
 * any call that reads the sockets (poll, queue status, abort), so this
 * looks at the futures rather than at what the last poll returned. */
int zpar__sweep_collect (run_t *r)
{
    size_t pending = zpar_client_outstanding (r->c);
    size_t arrived, ended = 0;
    int lost = 0;
    if (r->n.running == 0)
        return 0;
    /* our own client: outstanding counts our futures only */
    arrived = r->opts->client ? r->n.running : r->n.running > pending ? r->n.running - pending : 0;
    for (size_t s = 0; s < r->window && arrived > 0; s++) {
        if (r->slots[s].f && zpar_future_done (r->slots[s].f)) {
            if (finish (r, s) == -2)
                lost = 1;
            ended++;
            if (!r->opts->client)
                arrived--;
        }
    }
    /* what ended is committed at once: a point whose end the journal
     * holds never runs again, whatever happens to this run next */
    zpar__sweep_journal_commit (r);
    if (r->journal_dead && !r->unrecorded)
        r->unrecorded = ended;
    return lost ? -2 : 0;
}

/* The next point to run, or NULL (the sweep is done, or a stop).  *adopt
 * gets the id of its task in flight when a previous run submitted it to
 * this same cluster (id 0 otherwise). */
static zpar_sweep_task_t *next_point (run_t *r, zpar_task_id_t *adopt)
{
    zpar_error_t e;
    while (!r->iter_done && !r->stop_sig && !r->journal_dead && !r->stopping) {
        const zpar_sweep_point_t *pt = zpar__sweep_iter_next (r->it);
        zpar_sweep_task_t *task;
        zpar_journal_row_t row;
        zpar_jstate_t js;
        if (!pt) {
            r->iter_done = 1;
            break;
        }
        r->n.seen++;
        if (!(task = zpar__sweep_spec_task (r->spec, pt, &e))) {
            zpar__sweep_warn (&r->o, "point %" PRIu64 ": %s", pt->index, e.text);
            r->runtime_error = 1;
            continue;
        }
        if (zpar__journal_current_add (r->j, task->key, &e) < 0 ||
            zpar__journal_lookup (r->j, task->key, &js, NULL, &e) < 0) {
            zpar__sweep_journal_problem (r, &e);
            zpar__sweep_task_destroy (task);
            break;
        }
        if (js == ZPAR_JSTATE_SUCCEEDED) {
            r->n.skipped_ok++;
            zpar__sweep_task_destroy (task);
            continue;
        }
        if (js == ZPAR_JSTATE_FAILED && !r->opts->retry_failed) {
            r->n.skipped_bad++;
            zpar__sweep_task_destroy (task);
            continue;
        }
        adopt->id = 0;
        if (js == ZPAR_JSTATE_PENDING && r->cluster_id[0] &&
            zpar__journal_get (r->j, task->key, &row, NULL) == 1 && row.inflight && row.cluster &&
            !strcmp (row.cluster, r->cluster_id) && zpar_task_id_parse (row.inflight, adopt) < 0)
            adopt->id = 0;
        return task;
    }
    return NULL;
}

/* Fill the window: choose up to BURST points, record them in the journal
 * with the ids their tasks will have and commit, then submit them (so a
 * task never runs without the journal knowing its id); points a previous
 * run submitted to this cluster are adopted instead (their results come
 * from the cluster).  Returns -2 when the cluster is gone. */
int zpar__sweep_fill (run_t *r)
{
    size_t np = 0, nsub = 0, examined = 0;
    int rc = 0;
    /* points left for lack of time are not counted in np: bound the
     * points looked at per call, so that events are still handled */
    /* with an end near, fewer than the free slots (deadline.c) */
    while (np < BURST && np < zpar__sweep_deadline_room (r) && examined++ < 4 * BURST) {
        zpar_task_id_t adopt = {0};
        zpar_sweep_task_t *task;
        pick_t *p = &r->picks[np];
        if (r->held) {
            task = r->held;
            adopt = r->held_id;
            r->held = NULL;
        } else if (!(task = next_point (r, &adopt)))
            break;
        /* adopted tasks are asked about one by one: keep their number
         * bounded (the cluster's engines are busy with them meanwhile) */
        if (adopt.id && r->adopting >= ADOPT_WINDOW) {
            r->held = task;
            r->held_id = adopt;
            break;
        }
        /* a point that would not finish before the end is left for the
         * next job (one that is running on the cluster is adopted) */
        if (adopt.id == 0 && !zpar__sweep_deadline_admit (r, task)) {
            zpar__sweep_task_destroy (task);
            continue;
        }
        p->task = task;
        p->t = NULL;
        p->id = adopt;
        if (adopt.id == 0) {
            if (!(p->t = build_task (r, task, &p->capped))) {
                zpar__sweep_task_destroy (task);
                continue;
            }
            p->id = zpar_client_next_task_id (r->c, (unsigned)++nsub);
            if (record_dispatch (r, task, p->id) < 0) {
                zpar_task_destroy (p->t);
                zpar__sweep_task_destroy (task);
                break;
            }
        } else {
            zpar_error_t e;
            if (zpar__journal_adopted (r->j, task->key, &e) < 0) {
                zpar__sweep_journal_problem (r, &e);
                zpar__sweep_task_destroy (task);
                break;
            }
            r->adopting++; /* counted from the pick (the future follows) */
        }
        np++;
    }
    /* the ids are durable before any of these tasks can run */
    zpar__sweep_journal_commit (r);
    for (size_t i = 0; i < np; i++) {
        pick_t *p = &r->picks[i];
        if (r->journal_dead || rc == -2) {
            if (!p->t)
                r->adopting--;
            zpar_task_destroy (p->t);
            zpar__sweep_task_destroy (p->task);
            continue;
        }
        if (p->t) {
            if ((rc = submit_task (r, p->task, p->t, p->id, p->capped)) < 0)
                zpar__sweep_task_destroy (p->task);
        } else {
            zpar_error_t e;
            zpar_future_t *f = zpar_client_future_for (r->c, p->id, &e);
            if (!f) {
                zpar__sweep_warn (&r->o, "point %" PRIu64 ": cannot follow its task: %s",
                                  p->task->index, e.text);
                r->adopting--;
                r->runtime_error = 1;
                zpar__sweep_task_destroy (p->task);
                continue;
            }
            r->n.adopted++;
            occupy (r, f, p->task, 1, 0);
        }
    }
    /* the burst leaves now, as one batch: the loop may next wait on its
     * own timers before it polls the client */
    if (nsub && rc != -2) {
        zpar_error_t e;
        if (zpar_flush (r->c, &e) < 0)
            zpar__sweep_warn (&r->o, "%s", e.text);
    }
    return rc == -2 ? -2 : 0;
}
