/* mpi-task.c - run one MPI task the way an engine does, without a
 * controller (test library): the engine's runner with the task's slots
 * and ranks, so the launch (runner_cmd.c -> mpi_launch.h -> srun/mpirun ->
 * zpar-rank) can be tested on real hosts on its own.
 *
 *   mpi-task [-t TIMEOUT_MS] [-n COUNT] -r RANKS -s SLOT [-s SLOT...] -- CMD [ARGS...]
 *
 * SLOT as on the wire: "ENGINE_ID HOST CPUSET GPUS MEMBYTES", the leader
 * first.  Runs the task COUNT times (default 1), one after the other; for
 * each prints the task's stdout and stderr (on ours), then on stderr a
 * line "mpi-task: status=S exit=E signal=G wall_ms=W error=TEXT".  Exits 0
 * when every run's status was ok, else 1; 2 on bad usage.  With -n, a
 * last line on stderr: "mpi-task: N tasks in T s: R tasks/s". */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "engine/runner.h"
#include "reactor.h"

#define SLOTS_MAX 4096

static int usage (void)
{
    fprintf (stderr, "usage: mpi-task [-t TIMEOUT_MS] [-n COUNT] -r RANKS -s SLOT [-s SLOT...] "
                     "-- CMD [ARGS...]\n");
    return 2;
}

int main (int argc, char **argv)
{
    static const char *slots[SLOTS_MAX];
    size_t nslots = 0;
    unsigned long ranks = 0, count = 1, ok_runs = 0;
    unsigned long long timeout_ms = 0;
    zpar_reactor_t *reactor;
    zpar_runner_t *r;
    zpar_run_spec_t spec;
    zpar_error_t err;
    uint64_t t0;
    int c;

    while ((c = getopt (argc, argv, "+t:n:r:s:")) != -1) {
        switch (c) {
        case 't':
            timeout_ms = strtoull (optarg, NULL, 10);
            break;
        case 'n':
            count = strtoul (optarg, NULL, 10);
            break;
        case 'r':
            ranks = strtoul (optarg, NULL, 10);
            break;
        case 's':
            if (nslots == SLOTS_MAX)
                return usage ();
            slots[nslots++] = optarg;
            break;
        default:
            return usage ();
        }
    }
    if (optind >= argc || ranks == 0 || count == 0)
        return usage ();
    if (zpar__reactor_block_signals () < 0 || !(reactor = zpar__reactor_create ()) ||
        !(r = zpar__runner_create (reactor, 1, -1, NULL, NULL, &err))) {
        fprintf (stderr, "mpi-task: cannot create a runner\n");
        return 1;
    }
    memset (&spec, 0, sizeof (spec));
    spec.kind = ZPAR_TASK_COMMAND;
    spec.argv = argv + optind;
    spec.slots = slots;
    spec.nslots = nslots;
    spec.ranks = (unsigned)ranks;
    spec.timeout_ms = timeout_ms;
    t0 = zpar__mono_us ();
    for (unsigned long i = 0; i < count; i++) {
        const zpar_run_result_t *res;
        int rc;
        zpar__runner_clear (r);
        rc = zpar__runner_start (r, &spec);
        if (rc == 0 && zpar__runner_wait (r, -1) < 0) {
            fprintf (stderr, "mpi-task: wait: %s\n", strerror (errno));
            break;
        }
        if (rc < 0 || !(res = zpar__runner_result (r))) {
            fprintf (stderr, "mpi-task: start: %s\n", strerror (errno));
            break;
        }
        fwrite (res->out.data ? (const void *)res->out.data : "", 1, res->out.len, stdout);
        fflush (stdout);
        fwrite (res->err.data ? (const void *)res->err.data : "", 1, res->err.len, stderr);
        fprintf (stderr, "mpi-task: status=%s exit=%d signal=%d wall_ms=%llu error=%s\n",
                 zpar_status_name (res->status), res->exit_code, res->signal,
                 (unsigned long long)(res->wall_us / 1000), res->error);
        ok_runs += res->status == ZPAR_STATUS_OK;
    }
    if (count > 1) {
        double s = (double)(zpar__mono_us () - t0) / 1e6;
        fprintf (stderr, "mpi-task: %lu tasks in %.3f s: %.1f tasks/s\n", count, s,
                 s > 0 ? (double)count / s : 0.0);
    }
    zpar__runner_destroy (r);
    zpar__reactor_destroy (reactor);
    return ok_runs == count ? 0 : 1;
}
