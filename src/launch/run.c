/* run.c - `zpar run`: controller on rank 0, engines elsewhere. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bind.h"
#include "clock.h"
#include "conn.h"
#include "controller/controller.h"
#include "engine/engine.h"
#include "error.h"
#include "log.h"
#include "relay/relay.h"
#include "relay/relay_node.h"
#include "run.h"
#include "subproc.h"
#include "sweep/runner.h"
#include "wireup.h"
#include "zpar.h"

#ifdef HAVE_MPI
#include <mpi.h>
#endif

/* What rank 0 publishes when its controller could not start. */
#define RUN_FAILED_BLOB "{\"zpar\": \"controller failed\"}"

typedef struct {
    zpar_controller_opts_t copts;
    pthread_t tid;
    int rc;
    zpar_error_t err;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int ready;
    int done;
    zpar_conninfo_t ci;
} ctl_thread_t;

static void on_ready (void *arg, const zpar_conninfo_t *ci)
{
    ctl_thread_t *t = arg;
    pthread_mutex_lock (&t->lock);
    t->ci = *ci;
    t->ready = 1;
    pthread_cond_broadcast (&t->cond);
    pthread_mutex_unlock (&t->lock);
}

static void *ctl_main (void *arg)
{
    ctl_thread_t *t = arg;
    t->rc = zpar__controller_run (&t->copts, &t->err);
    pthread_mutex_lock (&t->lock);
    t->done = 1;
    pthread_cond_broadcast (&t->cond);
    pthread_mutex_unlock (&t->lock);
    return NULL;
}

/* Wait until n engines are alive; 0 or -1 (timeout / controller gone). */
static int wait_engines (zpar_client_t *c, int n, double timeout, ctl_thread_t *t)
{
    double deadline = zpar__mono_s () + timeout;
    for (;;) {
        double left = deadline - zpar__mono_s ();
        int alive;
        /* slices, to notice a controller thread that ended */
        if (zpar_client_wait_engines (c, (unsigned)n,
                                      left > 0.1 ? 0.1
                                      : left > 0 ? left
                                                 : 0,
                                      NULL) >= 0)
            return 0;
        if (errno != ETIMEDOUT || t->done || zpar__mono_s () >= deadline) {
            alive = zpar_client_engines_alive (c, NULL);
            fprintf (stderr, "zpar run: only %d of %d engines registered within %.0f s\n",
                     alive > 0 ? alive : 0, n, timeout);
            return -1;
        }
    }
}

/* The job's command, as a client of the cluster: ZPAR_CONNECTION_FILE set,
 * in this process group (it gets the launcher's signals with us), an empty
 * signal mask.  Its exit code. */
static int run_command (char **cmd, const char *conn)
{
    char envbuf[PATH_MAX + 32];
    char *env[] = {envbuf, NULL};
    zpar_subproc_opts_t so = {.argv = cmd, .env = env};
    zpar_error_t err;
    pid_t pid;
    int st;

    snprintf (envbuf, sizeof (envbuf), "ZPAR_CONNECTION_FILE=%s", conn);
    if ((pid = zpar__subproc_spawn (&so, &err)) < 0) {
        fprintf (stderr, "zpar run: %s\n", err.text);
        return errno == ENOENT || errno == EACCES ? 127 : 1;
    }
    if (zpar__subproc_wait (pid, -1, &st) < 0)
        return 1;
    return zpar__subproc_exit_code (st);
}

/* This node's relay (relay_node.h): 1 if the node's engines go through
 * one (dir: its directory), 0 if not, -1 on an error (printed); the
 * node's first rank starts it (*child).  ci: the controller's endpoints. */
static int node_relay (const zpar_run_opts_t *o, zpar_wireup_t *w, const zpar_conninfo_t *ci,
                       char *dir, size_t size, zpar_relay_child_t **child)
{
    zpar_relay_mode_t mode;
    zpar_error_t err;
    const char *host = zpar__wireup_hostname (w);
    int here = zpar__wireup_rank (w) == 0 || (host && !strcmp (host, ci->host));
    if (zpar__relay_mode_parse (o->relay, &mode, &err) < 0) {
        fprintf (stderr, "zpar run: %s\n", err.text);
        return -1;
    }
    if (!zpar__relay_wanted (mode, here, zpar__wireup_local_size (w), ci->scheme))
        return 0;
    if (zpar__relay_dir (ci, host ? host : "localhost", dir, size, &err) < 0) {
        fprintf (stderr, "zpar run (rank %d): relay: %s\n", zpar__wireup_rank (w), err.text);
        return -1;
    }
    if (zpar__wireup_local_rank (w) == 0 &&
        !(*child = zpar__relay_child_start (ci, dir, o->interface, &err))) {
        fprintf (stderr, "zpar run (rank %d): %s\n", zpar__wireup_rank (w), err.text);
        return -1;
    }
    return 1;
}

/* Stop the node's relay, once the node's other engines had a moment to
 * send their last messages (unregister) through it. */
static void node_relay_stop (zpar_relay_child_t *child)
{
    if (child) {
        struct timespec ts = {0, 300 * 1000000L};
        nanosleep (&ts, NULL);
        zpar__relay_child_stop (child);
    }
}

static int controller_rank (const zpar_run_opts_t *o, zpar_wireup_t *w)
{
    ctl_thread_t t;
    char dir[PATH_MAX], conn[PATH_MAX + 16];
    zpar_client_t *c = NULL;
    zpar_error_t err;
    char *blob = NULL, *nodes = NULL;
    int rc = 0;
    int nengines = zpar__wireup_size (w) - 1;
    char rdir[PATH_MAX];
    zpar_relay_child_t *relay = NULL;
    const char *job = zpar__wireup_jobid (w);

    memset (&t, 0, sizeof (t));
    pthread_mutex_init (&t.lock, NULL);
    pthread_cond_init (&t.cond, NULL);
    if (o->dir)
        snprintf (dir, sizeof (dir), "%s", o->dir);
    else if (zpar__cluster_dir (dir, sizeof (dir)) < 0) {
        fprintf (stderr, "zpar run: cannot form the cluster directory\n");
        return 1;
    }
    t.copts.dir = dir;
    t.copts.scheme = o->scheme;
    t.copts.curve = o->curve;
    t.copts.job = job && *job ? job : "local";
    /* one node: loopback; several: every interface, advertise ours */
    t.copts.ip = o->ip ? o->ip
                 : o->interface || zpar__wireup_local_size (w) < zpar__wireup_size (w)
                     ? "*"
                     : "127.0.0.1";
    t.copts.interface = o->interface;
    t.copts.nodes = nodes = zpar__wireup_nodes (w); /* PMIx: which address goes first */
    t.copts.ready = on_ready;
    t.copts.ready_arg = &t;
    /* with a sweep, SIGTERM/SIGINT stop the sweep first (it watches them),
     * then we shut the cluster down */
    t.copts.no_signals = o->sweep != NULL;
    if (pthread_create (&t.tid, NULL, ctl_main, &t) != 0) {
        fprintf (stderr, "zpar run: cannot start the controller thread\n");
        free (nodes);
        return 1;
    }
    pthread_mutex_lock (&t.lock);
    while (!t.ready && !t.done)
        pthread_cond_wait (&t.cond, &t.lock);
    pthread_mutex_unlock (&t.lock);
    free (nodes); /* read by the controller before it is ready */
    if (!t.ready) {
        fprintf (stderr, "zpar run: controller failed: %s\n", t.err.text);
        /* still take part in the exchange so engines do not hang */
        free (zpar__wireup_exchange (w, RUN_FAILED_BLOB, NULL));
        pthread_join (t.tid, NULL);
        return 1;
    }
    blob = zpar__conn_to_string (&t.ci);
    {
        char *got = NULL;
        if (!blob || !(got = zpar__wireup_exchange (w, blob, &err))) {
            fprintf (stderr, "zpar run: cannot publish the controller's endpoints: %s\n", err.text);
            rc = 1;
        }
        free (got);
    }
    free (blob);
    /* --relay=always: this node's engines too */
    if (rc == 0 && node_relay (o, w, &t.ci, rdir, sizeof (rdir), &relay) < 0)
        rc = 1;
    snprintf (conn, sizeof (conn), "%s/client.json", dir);
    if (rc == 0 && !(c = zpar_client_connect (conn, &err))) {
        fprintf (stderr, "zpar run: %s\n", err.text);
        rc = 1;
    }
    if (rc == 0 && nengines > 0 && wait_engines (c, nengines, o->wait_timeout, &t) < 0)
        rc = 1;
    /* every engine has fetched (or the job is over): a connection file
     * must not outlive its controller, where the next launch with the same
     * key could read it */
    if (zpar__wireup_unpublish (w, &err) < 0)
        fprintf (stderr, "zpar run: %s\n", err.text);
    if (rc == 0) {
        if (o->cmd && o->cmd[0]) {
            rc = run_command (o->cmd, conn);
            zpar_client_shutdown (c, NULL);
        } else if (o->sweep) {
            zpar_sweep_run_opts_t so;
            memset (&so, 0, sizeof (so));
            so.client = c;
            so.sweep_path = o->sweep;
            so.journal_path = o->journal;
            so.retry_failed = o->retry_failed;
            so.resubmit = o->resubmit;
            so.end_time = o->end_time;
            so.margin = o->margin;
            /* SIGTERM (walltime, scancel) stops the sweep first: it records
             * what was running as interrupted, then we shut the cluster down */
            so.handle_signals = 1;
            rc = zpar__sweep_run (&so, &err);
            if (rc == 2 || rc == 3 || rc == ZPAR_SWEEP_EXIT_TIME_UP)
                fprintf (stderr, "zpar run: %s\n", err.text);
            zpar_client_shutdown (c, NULL);
        } else {
            printf ("zpar run: cluster ready with %d engines; connection file %s\n", nengines,
                    conn);
            printf ("zpar run: use 'zpar px', 'zpar submit', 'zpar status'; 'zpar stop' ends it\n");
            fflush (stdout);
        }
    } else if (c)
        zpar_client_shutdown (c, NULL);
    else
        zpar__controller_request_stop ();
    zpar_client_destroy (c);
    pthread_join (t.tid, NULL);
    node_relay_stop (relay);
    if (t.rc < 0 && rc == 0) {
        fprintf (stderr, "zpar run: controller: %s\n", t.err.text);
        rc = 1;
    }
    pthread_mutex_destroy (&t.lock);
    pthread_cond_destroy (&t.cond);
    return rc;
}

static int engine_rank (const zpar_run_opts_t *o, zpar_wireup_t *w, void *engine_comm)
{
    zpar_conninfo_t ci;
    char rdir[PATH_MAX];
    zpar_relay_child_t *relay = NULL;
    int relayed;
    zpar_engine_opts_t eo;
    zpar_error_t err;
    char *blob = NULL;
    char *report = NULL;
    zpar_topo_t *topo = NULL;
    zpar_binding_t *b = NULL;
    int rc = 0;

    if (!(blob = zpar__wireup_exchange (w, NULL, &err))) {
        fprintf (stderr, "zpar run (rank %d): cannot learn the controller's endpoints: %s\n",
                 zpar__wireup_rank (w), err.text);
        return 1;
    }
    if (!strcmp (blob, RUN_FAILED_BLOB)) {
        free (blob);
        return 1; /* the controller failed and said so */
    }
    if (zpar__conn_from_string (blob, &ci, &err) < 0) {
        fprintf (stderr, "zpar run (rank %d): bad endpoints from rank 0: %s\n",
                 zpar__wireup_rank (w), err.text);
        free (blob);
        return 1;
    }
    free (blob);

    /* pin this engine */
    {
        zpar_bind_params_t p;
        zpar__bind_params_init (&p);
        if (zpar__bind_policy_parse (o->bind ? o->bind : "core", &p.policy, &err) < 0) {
            fprintf (stderr, "zpar run: %s\n", err.text);
            return 2;
        }
        p.cores_per_engine = o->cores_per_engine > 0 ? o->cores_per_engine : 1;
        p.gpus_per_engine = o->gpus_per_engine;
        p.local_rank = zpar__wireup_local_rank (w);
        p.local_size = zpar__wireup_local_size (w);
        {
            char n[16];
            snprintf (n, sizeof (n), "%d", p.local_size);
            setenv ("ZPAR_ENGINE_LOCAL_SIZE", n, 1); /* its memory share: engine_res.h */
            /* not bound unless the binding below says otherwise (a zpar
             * run inside a task must not report the outer engine's) */
            unsetenv ("ZPAR_ENGINE_CPUSET");
            unsetenv ("ZPAR_ENGINE_CORES");
            unsetenv ("ZPAR_ENGINE_GPUS");
        }
        if (p.policy != ZPAR_BIND_NONE || p.gpus_per_engine > 0 || o->report_bindings) {
            if (!(topo = zpar__topo_load (ZPAR_TOPO_THIS, NULL, 0, &err)) ||
                !(b = zpar__binding_compute (topo, &p, NULL, &err))) {
                fprintf (stderr, "zpar run (rank %d): binding: %s\n", zpar__wireup_rank (w),
                         err.text);
                rc = 2;
                goto done;
            }
            if (zpar__binding_apply (topo, b, 0, &err) < 0)
                fprintf (stderr, "zpar run (rank %d): warning: %s\n", zpar__wireup_rank (w),
                         err.text);
            for (int k = ZPAR_GPU_CUDA; k <= ZPAR_GPU_ROCM; k++) {
                const char *v = zpar__binding_visible_devices (b, (zpar_gpu_kind_t)k);
                if (v)
                    setenv (zpar__gpu_env_name ((zpar_gpu_kind_t)k), v, 1);
            }
            /* what the engine reports it holds (src/engine/engine_res.h) */
            (void)zpar__binding_export_env (topo, b);
            report =
                zpar__binding_report (b, zpar__wireup_hostname (w), zpar__wireup_rank (w), NULL);
            if (o->report_bindings && report) {
                printf ("zpar run: %s\n", report);
                fflush (stdout);
            }
        }
    }
    memset (&eo, 0, sizeof (eo));
    eo.conninfo = &ci;
    eo.rank = zpar__wireup_rank (w);
    eo.want_id = (unsigned)zpar__wireup_rank (w); /* engine id = rank: easy to read */
    eo.mpi_comm = engine_comm;
    eo.bind_report = report;
    /* a little less than rank 0 waits: an engine that cannot register
     * says why (the addresses it tried) before rank 0 gives up and the
     * launcher ends the job */
    eo.register_timeout = o->wait_timeout - (o->wait_timeout >= 20 ? 5 : o->wait_timeout / 4);
    eo.interface = o->interface;
    /* behind this node's relay: its endpoints (relay.h) */
    if ((relayed = node_relay (o, w, &ci, rdir, sizeof (rdir), &relay)) < 0 ||
        (relayed && zpar__relay_engine_addrs (rdir, &ci) < 0)) {
        if (relayed > 0)
            fprintf (stderr, "zpar run (rank %d): relay directory %s: %s\n", zpar__wireup_rank (w),
                     rdir, strerror (errno));
        rc = 1;
        goto done;
    }
    eo.own_addrs = relayed;
    if (zpar__engine_run (&eo, &err) < 0) {
        fprintf (stderr, "zpar run (rank %d): engine: %s\n", zpar__wireup_rank (w), err.text);
        rc = 1;
    }
done:
    node_relay_stop (relay);
    free (report);
    zpar__binding_destroy (b);
    zpar__topo_destroy (topo);
    return rc;
}

int zpar__run_main (const zpar_run_opts_t *o)
{
    zpar_wireup_t *w;
    zpar_wireup_params_t wp;
    zpar_error_t err;
    char zdir[PATH_MAX];
    void *engine_comm = NULL;
    int rc;
#ifdef HAVE_MPI
    MPI_Comm comm = MPI_COMM_NULL;
#endif

    zpar__wireup_params_init (&wp);
    if (o->use_mpi)
        wp.flags |= ZPAR_WIREUP_MPI;
    if (zpar__wireup_skip_parse (getenv ("ZPAR_WIREUP_SKIP"), &wp.flags, &err) < 0) {
        fprintf (stderr, "zpar run: %s\n", err.text);
        return 2;
    }
    wp.connection_dir = o->connection_dir;
    if (!wp.connection_dir && zpar__zpar_dir (zdir, sizeof (zdir)) == 0 &&
        zpar__mkdir_p (zdir, 0700) == 0)
        wp.connection_dir = zdir; /* the documented default: $ZPAR_DIR (shared, on a cluster) */
    wp.timeout_ms = (int)(o->wait_timeout * 1000.0);
    if (!(w = zpar__wireup_create (&wp, &err))) {
        fprintf (stderr, "zpar run: %s\n", err.text);
        return 1;
    }
    {
        /* which path the ranks and the endpoints took: rank 0 says it at
         * info level (zpar run -v), and as a warning when a path that was
         * present could not be used (the launch still works, slower or
         * through a shared file) */
        char what[1024];
        zpar__wireup_describe (w, what, sizeof (what));
        if (zpar__wireup_rank (w) == 0 && zpar__wireup_fell_back (w))
            zpar__warn ("wire-up: %s", what);
        else if (zpar__wireup_rank (w) == 0)
            zpar__info ("wire-up: %s", what);
        else
            zpar__debug ("wire-up (rank %d): %s", zpar__wireup_rank (w), what);
    }
#ifdef HAVE_MPI
    /* the engines-only communicator: every rank but the controller */
    if (zpar__wireup_mpi_initialized (w)) {
        MPI_Comm_split (MPI_COMM_WORLD, zpar__wireup_rank (w) == 0 ? MPI_UNDEFINED : 1,
                        zpar__wireup_rank (w), &comm);
        if (comm != MPI_COMM_NULL)
            engine_comm = &comm;
    }
#endif
    if (zpar__wireup_rank (w) == 0)
        rc = controller_rank (o, w);
    else
        rc = engine_rank (o, w, engine_comm);
#ifdef HAVE_MPI
    if (comm != MPI_COMM_NULL)
        MPI_Comm_free (&comm);
#endif
    zpar__wireup_destroy (w);
    return rc;
}
