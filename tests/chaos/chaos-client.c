/* chaos-client.c - the client side of the chaos test (tests/chaos/run).
 *
 *   chaos-client -f CONNFILE -n N -o SIDEFILE -r RESULTS [-k CLIENTS]
 *                [-d SLEEP] [-s RATE] [-R RETRIES] [-t SECONDS] [-S STALL]
 *
 * K clients (threads, each its own zpar_client_t) submit N load-balanced
 * command tasks between them (task i goes to client i % K), at RATE tasks
 * per second in all, each with RETRIES retries.  Each run of task i leaves
 * evidence of its own in SIDEFILE (one O_APPEND write of a short line
 * each):
 *
 *     i s TOKEN ENGINE_PID TIME     when the run starts
 *     i e TOKEN ENGINE_PID TIME     after it slept SLEEP s: its side effect
 *
 * and then prints TOKEN on its standard output, which its result carries.
 * TOKEN (the shell's pid and its start time) names the run: a task that
 * ran twice has two tokens in the file, and the token of a result tells
 * which run it came from.  ENGINE_PID is $PPID (the engine spawns the task
 * directly), TIME the wall clock ($EPOCHREALTIME).
 *
 * Each client then waits for its futures.  A wait that fails (EHOSTDOWN,
 * ENOTCONN, ...), or STALL seconds without any of its futures finishing,
 * means the client could not carry on by itself: it is "helped" (counted)
 * by hand: destroyed, connected again, and a future made for each task not
 * finished yet (zpar_client_future_for).  No client is helped more than
 * 5 times.  At the end (or after SECONDS in all) a fresh client asks the
 * records about every task whose future did not complete (for at most
 * 120 s; a task not asked counts as unknown).
 *
 * Then it asks the records about every task (for at most 120 s): the
 * result they keep, whether or not a future had one.
 *
 * Output: RESULTS gets one line per task
 *     INDEX TASKID STATUS ATTEMPTS ENGINE HOW ANSWERED RECORDED
 * where STATUS is the final status name, "pending" (the records say not
 * finished) or "unknown" (the records do not know the task: lost), HOW
 * is "future" (the client's own future completed), "helped" (completed
 * after a reconnection by hand) or "records" (only the records had it),
 * ANSWERED the token of the result the client's future gave and RECORDED
 * the token of the result the records keep ("-": none).
 * Standard output gets "client K helped H submit_errors E unfinished U"
 * per client (U: its tasks whose futures had not completed at the end).
 * Exit status 0 unless a usage or setup error (2).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "zpar.h"

static const char *connfile, *sidefile, *resfile;
static unsigned ntasks = 500, nclients = 2, retries = 100;
static double task_sleep = 0.2, rate = 100.0, total_tmo = 600.0, stall_tmo = 30.0;
static double t_start;

typedef struct {
    zpar_task_id_t id;
    zpar_future_t *f;
    int status; /* -1: not final */
    unsigned attempts;
    unsigned engine;
    const char *how;
    char answered[48]; /* token of the run whose result the future gave */
    char recorded[48]; /* token of the run whose result the records keep */
} task_t;

static task_t *tasks;

typedef struct {
    unsigned k;
    unsigned helped;
    unsigned waited; /* stalls with nothing of it finished in the records */
    unsigned submit_errors;
    unsigned unfinished; /* tasks its futures did not see finish */
    pthread_t th;
} client_t;

static double now_s (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_s (double s)
{
    struct timespec ts;
    if (s <= 0)
        return;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep (&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Pauses of this process: a thread that asks to sleep PAUSE_TICK s and
 * wakes up more than PAUSE_MIN s late did not run for that long (a
 * machine overloaded or frozen: then every process of the cluster stood
 * still too).  The stall clock of the clients leaves such time out: a
 * client is helped only when it made no progress while it could run. */
#define PAUSE_TICK 0.1
#define PAUSE_MIN  1.0

static pthread_mutex_t pause_mu = PTHREAD_MUTEX_INITIALIZER;
static double paused_total, paused_longest;
static unsigned npauses;
static volatile int pause_stop;
static pthread_t pause_th;

static void *pause_main (void *arg)
{
    (void)arg;
    while (!pause_stop) {
        double t = now_s (), late;
        sleep_s (PAUSE_TICK);
        late = now_s () - t - PAUSE_TICK;
        if (late > PAUSE_MIN) {
            pthread_mutex_lock (&pause_mu);
            paused_total += late;
            if (late > paused_longest)
                paused_longest = late;
            npauses++;
            pthread_mutex_unlock (&pause_mu);
        }
    }
    return NULL;
}

/* Seconds of the monotonic clock in which this process could run (the
 * measured pauses left out). */
static double run_s (void)
{
    double p;
    pthread_mutex_lock (&pause_mu);
    p = paused_total;
    pthread_mutex_unlock (&pause_mu);
    return now_s () - p;
}

static zpar_client_t *connect_client (int quiet)
{
    zpar_client_opts_t o;
    zpar_error_t err = {{0}};
    zpar_client_t *c;
    double end = now_s () + 60.0;
    zpar_client_opts_init (&o);
    o.connection_file = connfile;
    o.flags = ZPAR_CLIENT_NO_STALE_CHECK;
    for (;;) {
        c = zpar_client_connect_opts (&o, &err);
        if (c || now_s () > end)
            break;
        sleep_s (0.5);
    }
    if (!c && !quiet)
        fprintf (stderr, "chaos-client: cannot connect: %s\n", err.text);
    return c;
}

static zpar_task_t *make_task (unsigned i)
{
    char script[4096], idx[32];
    const char *argv[] = {"bash", "-c", script, idx, NULL};
    zpar_task_t *t;
    snprintf (script, sizeof (script),
              "k=$$:$EPOCHREALTIME; echo \"$0 s $k $PPID $EPOCHREALTIME\" >>'%s'; sleep %g; "
              "echo \"$0 e $k $PPID $EPOCHREALTIME\" >>'%s'; echo \"$k\"",
              sidefile, task_sleep, sidefile);
    snprintf (idx, sizeof (idx), "%u", i);
    t = zpar_task_command (argv);
    if (t)
        zpar_task_set_retries (t, retries);
    return t;
}

/* The run token a result carries (its first line of output), or "-". */
static void token_of (const zpar_result_t *r, char *buf, size_t size)
{
    size_t n = 0, i;
    const char *o = zpar_result_stdout (r, &n);
    for (i = 0; o && i < n && i + 1 < size && o[i] != '\n' && o[i] != ' '; i++)
        buf[i] = o[i];
    buf[i] = '\0';
    if (!i)
        snprintf (buf, size, "-");
}

static void take (task_t *t, const zpar_result_t *r, const char *how)
{
    t->status = (int)zpar_result_status (r);
    t->attempts = zpar_result_attempts (r);
    t->engine = zpar_result_engine (r).id;
    t->how = how;
    if (strcmp (how, "records"))
        token_of (r, t->answered, sizeof (t->answered));
}

/* When client cl made no progress for the stall time: is that the
 * client's fault?  Asks the records (through a client of its own, at most
 * PROBE_S s) about cl's unfinished tasks.  Returns the index of one the
 * hub has finished (its future should have been told), or -1 when none
 * is: then the cluster made no progress for this client (a machine too
 * loaded to run the tasks, engines killed before they finished them), and
 * no help is due; -2 when the records cannot be asked.  A task the hub
 * never finishes is counted lost at the end, so waiting on does not hide
 * a lost task. */
#define PROBE_S 5.0

static int probe_done (const client_t *cl)
{
    zpar_client_t *p = connect_client (1);
    double end = now_s () + PROBE_S;
    int found = -1;
    unsigned i;
    if (!p)
        return -2; /* cannot ask: help as before */
    for (i = cl->k; i < ntasks && found < 0 && now_s () < end; i += nclients) {
        zpar_error_t err = {{0}};
        zpar_result_t *r;
        if (tasks[i].status >= 0 || !tasks[i].f || zpar_future_done (tasks[i].f))
            continue;
        if (!(r = zpar_client_fetch_result (p, tasks[i].id, &err)))
            continue;
        if (zpar_result_status (r) != ZPAR_STATUS_PENDING)
            found = (int)i;
        zpar_result_destroy (r);
    }
    zpar_client_destroy (p);
    return found;
}

static void *client_main (void *arg)
{
    client_t *cl = arg;
    zpar_client_t *c = connect_client (0);
    zpar_error_t err = {{0}};
    double deadline = t_start + total_tmo, last_progress;
    unsigned i, left, helped_now = 0;

    if (!c)
        return NULL;
    /* submit, paced */
    for (i = cl->k; i < ntasks; i += nclients) {
        double due = t_start + (double)i / rate;
        zpar_task_t *t = make_task (i);
        int tries = 0;
        sleep_s (due - now_s ());
        while (t && !(tasks[i].f = zpar_submit (c, t, &err)) && tries++ < 50) {
            cl->submit_errors++;
            sleep_s (0.2);
        }
        zpar_task_destroy (t);
        if (tasks[i].f)
            tasks[i].id = zpar_future_id (tasks[i].f);
    }
    /* wait */
    last_progress = run_s ();
    for (;;) {
        int failed = 0;
        left = 0;
        for (i = cl->k; i < ntasks; i += nclients) {
            task_t *t = &tasks[i];
            double room;
            if (t->status >= 0 || !t->f)
                continue;
            if (zpar_future_done (t->f)) {
                take (t, zpar_future_result (t->f), helped_now ? "helped" : "future");
                last_progress = run_s ();
                continue;
            }
            room = deadline - now_s ();
            if (room > 1.0)
                room = 1.0;
            if (room <= 0) {
                left++;
                continue;
            }
            if (zpar_future_wait (t->f, room, &err) == 0) {
                take (t, zpar_future_result (t->f), helped_now ? "helped" : "future");
                last_progress = run_s ();
            } else {
                left++;
                if (errno != ETIMEDOUT) {
                    failed = errno;
                    break;
                }
                if (run_s () - last_progress > stall_tmo || now_s () >= deadline)
                    break;
            }
        }
        if (!left && !failed)
            break;
        if (now_s () >= deadline)
            break;
        if (!failed && run_s () - last_progress > stall_tmo) {
            int d = probe_done (cl);
            if (d == -1) {
                cl->waited++; /* nothing of it finished anywhere: wait on */
                last_progress = run_s ();
                continue;
            }
            /* the hub has its result: a moment more for the future */
            if (d >= 0 && zpar_future_wait (tasks[d].f, 2.0, &err) == 0) {
                take (&tasks[d], zpar_future_result (tasks[d].f), helped_now ? "helped" : "future");
                last_progress = run_s ();
                continue;
            }
        }
        if (failed || run_s () - last_progress > stall_tmo) {
            /* it cannot carry on by itself: help it by hand */
            if (cl->helped >= 5)
                break;
            cl->helped++;
            helped_now = 1;
            fprintf (stderr,
                     "chaos-client: client %u: %s (at +%.1f s; this process paused %.1f s so "
                     "far); reconnecting it by hand\n",
                     cl->k, failed ? strerror (failed) : "no progress", now_s () - t_start,
                     now_s () - run_s ());
            for (i = cl->k; i < ntasks; i += nclients) {
                zpar_future_destroy (tasks[i].f);
                tasks[i].f = NULL;
            }
            zpar_client_destroy (c);
            if (!(c = connect_client (0)))
                break;
            for (i = cl->k; i < ntasks; i += nclients)
                if (tasks[i].status < 0 && tasks[i].id.id)
                    tasks[i].f = zpar_client_future_for (c, tasks[i].id, &err);
            last_progress = run_s ();
        }
    }
    for (i = cl->k; i < ntasks; i += nclients) {
        if (tasks[i].status < 0)
            cl->unfinished++;
        zpar_future_destroy (tasks[i].f);
        tasks[i].f = NULL;
    }
    zpar_client_destroy (c);
    return NULL;
}

static int usage (void)
{
    fprintf (stderr, "usage: chaos-client -f CONNFILE -n N -o SIDEFILE -r RESULTS [-k CLIENTS] "
                     "[-d SLEEP] [-s RATE] [-R RETRIES] [-t SECONDS] [-S STALL]\n");
    return 2;
}

int main (int argc, char **argv)
{
    client_t *cl;
    zpar_client_t *c;
    FILE *out;
    unsigned i;
    int opt;

    while ((opt = getopt (argc, argv, "f:n:o:r:k:d:s:R:t:S:")) != -1) {
        switch (opt) {
        case 'f':
            connfile = optarg;
            break;
        case 'n':
            ntasks = (unsigned)strtoul (optarg, NULL, 10);
            break;
        case 'o':
            sidefile = optarg;
            break;
        case 'r':
            resfile = optarg;
            break;
        case 'k':
            nclients = (unsigned)strtoul (optarg, NULL, 10);
            break;
        case 'd':
            task_sleep = strtod (optarg, NULL);
            break;
        case 's':
            rate = strtod (optarg, NULL);
            break;
        case 'R':
            retries = (unsigned)strtoul (optarg, NULL, 10);
            break;
        case 't':
            total_tmo = strtod (optarg, NULL);
            break;
        case 'S':
            stall_tmo = strtod (optarg, NULL);
            break;
        default:
            return usage ();
        }
    }
    if (!connfile || !sidefile || !resfile || !ntasks || !nclients || rate <= 0)
        return usage ();
    tasks = calloc (ntasks, sizeof (*tasks));
    cl = calloc (nclients, sizeof (*cl));
    if (!tasks || !cl)
        return 2;
    for (i = 0; i < ntasks; i++)
        tasks[i].status = -1;
    t_start = now_s ();
    if (pthread_create (&pause_th, NULL, pause_main, NULL) != 0)
        return 2;
    for (i = 0; i < nclients; i++) {
        cl[i].k = i;
        if (pthread_create (&cl[i].th, NULL, client_main, &cl[i]) != 0)
            return 2;
    }
    for (i = 0; i < nclients; i++)
        pthread_join (cl[i].th, NULL);
    pause_stop = 1;
    pthread_join (pause_th, NULL);

    /* ask the records about every task: what the futures did not say, and
     * which run's result the records keep */
    c = connect_client (0);
    t_start = now_s ();
    for (i = 0; i < ntasks; i++) {
        task_t *t = &tasks[i];
        zpar_error_t err = {{0}};
        zpar_result_t *r;
        if (!t->id.id || !c || now_s () - t_start > 120.0)
            continue; /* not asked: "unknown" when no future completed */
        r = zpar_client_fetch_result (c, t->id, &err);
        if (!r) {
            if (t->status < 0)
                t->how = "records";
            continue;
        }
        if (zpar_result_status (r) != ZPAR_STATUS_PENDING)
            token_of (r, t->recorded, sizeof (t->recorded));
        if (t->status < 0) {
            if (zpar_result_status (r) != ZPAR_STATUS_PENDING)
                take (t, r, "records");
            else
                t->how = "records";
            t->status = zpar_result_status (r) == ZPAR_STATUS_PENDING ? -2 : t->status;
        }
        zpar_result_destroy (r);
    }
    zpar_client_destroy (c);

    if (!(out = fopen (resfile, "w"))) {
        perror (resfile);
        return 2;
    }
    for (i = 0; i < ntasks; i++) {
        task_t *t = &tasks[i];
        char id[64];
        const char *st = t->status >= 0    ? zpar_status_name ((zpar_status_t)t->status)
                         : t->status == -2 ? "pending"
                                           : "unknown";
        zpar_task_id_format (t->id, id, sizeof (id));
        fprintf (out, "%u %s %s %u %u %s %s %s\n", i, t->id.id ? id : "-", st, t->attempts,
                 t->engine, t->how ? t->how : "none", t->answered[0] ? t->answered : "-",
                 t->recorded[0] ? t->recorded : "-");
    }
    fclose (out);
    for (i = 0; i < nclients; i++)
        printf ("client %u helped %u submit_errors %u unfinished %u waited %u\n", i, cl[i].helped,
                cl[i].submit_errors, cl[i].unfinished, cl[i].waited);
    printf ("pauses %u longest %.1f total %.1f\n", npauses, paused_longest, paused_total);
    free (cl);
    free (tasks);
    return 0;
}
