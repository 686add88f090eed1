/* wireup-probe.c - run the wire-up of src/launch/wireup.c and say what it found.
 *
 *   mpirun -n 4 wireup-probe            srun --mpi=pmix -n 3 wireup-probe
 *
 * Every rank prints one line on stdout:
 *
 *   rank=R size=N local_rank=L local_size=M source=S xchg=X host=H jobid=J \
 *       ms_create=T1 ms_xchg=T2 blob=B
 *
 * where B is what the rank got from rank 0 (rank 0 publishes
 * "tcp://HOST:PID/probe" unless --blob is given), so a system test can check
 * that ranks 0..N-1 each appear once and all hold rank 0's blob.
 *
 * Options:
 *   --no-pmix            do not try PMIx (environment / MPI / file wire-up)
 *   --mpi                call MPI_Init (MPI wire-up when PMIx is not used)
 *   --fence              PMIx exchange with a collecting fence
 *   --connection-dir D   file exchange directory (no PMIx, no MPI)
 *   --job-key K          file exchange key instead of the job id
 *   --timeout MS         fetch timeout (default 60000)
 *   --blob STR           what rank 0 publishes
 *   --no-barrier         no barrier after the exchange (by default there is
 *                        one where the exchange has a channel: rank 0 must
 *                        stay a PMIx client until the others have fetched)
 *   --linger MS          rank 0 sleeps MS before finalizing, then removes the
 *                        connection file (file exchange)
 *   --no-publish         rank 0 does not publish (to test the fetch timeout)
 *   --features           print "pmix=0|1 mpi=0|1" (what it was built with), exit
 * Exit status: 0, or 1 with "wireup-probe: rank R: error text" on stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wireup.h"

#ifdef HAVE_PMIX
#define HAVE_PMIX_ 1
#else
#define HAVE_PMIX_ 0
#endif
#ifdef HAVE_MPI
#define HAVE_MPI_ 1
#else
#define HAVE_MPI_ 0
#endif

static double now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage (void)
{
    fprintf (stderr, "usage: wireup-probe [--no-pmix] [--mpi] [--fence] [--connection-dir D] "
                     "[--job-key K] [--timeout MS] [--blob STR] [--no-barrier] [--linger MS] "
                     "[--no-publish] [--features]\n");
    exit (2);
}

int main (int argc, char **argv)
{
    zpar_wireup_params_t p;
    zpar_error_t err = {{0}};
    zpar_wireup_t *w;
    const char *blob = NULL;
    char defblob[512], host[256] = "localhost";
    int barrier = 1, linger = 0, publish = 1, rank;
    double t0, t1, t2;
    char *got = NULL;

    zpar__wireup_params_init (&p);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp (a, "--no-pmix"))
            p.flags |= ZPAR_WIREUP_NO_PMIX;
        else if (!strcmp (a, "--mpi"))
            p.flags |= ZPAR_WIREUP_MPI;
        else if (!strcmp (a, "--fence"))
            p.flags |= ZPAR_WIREUP_PMIX_FENCE;
        else if (!strcmp (a, "--no-barrier"))
            barrier = 0;
        else if (!strcmp (a, "--no-publish"))
            publish = 0;
        else if (!strcmp (a, "--features")) {
            printf ("pmix=%d mpi=%d\n", HAVE_PMIX_ + 0, HAVE_MPI_ + 0);
            return 0;
        } else if (v && !strcmp (a, "--connection-dir"))
            p.connection_dir = argv[++i];
        else if (v && !strcmp (a, "--job-key"))
            p.job_key = argv[++i];
        else if (v && !strcmp (a, "--timeout"))
            p.timeout_ms = atoi (argv[++i]);
        else if (v && !strcmp (a, "--blob"))
            blob = argv[++i];
        else if (v && !strcmp (a, "--linger"))
            linger = atoi (argv[++i]);
        else
            usage ();
    }
    t0 = now_ms ();
    if (!(w = zpar__wireup_create (&p, &err))) {
        fprintf (stderr, "wireup-probe: create: %s (%s)\n", err.text, strerror (errno));
        return 1;
    }
    t1 = now_ms ();
    rank = zpar__wireup_rank (w);
    if (!blob) {
        gethostname (host, sizeof (host) - 1);
        snprintf (defblob, sizeof (defblob), "tcp://%s:%ld/probe", host, (long)getpid ());
        blob = defblob;
    }
    if (rank == 0 && !publish)
        got = strdup ("(not-published)");
    else
        got = zpar__wireup_exchange (w, blob, &err);
    if (!got) {
        fprintf (stderr, "wireup-probe: rank %d: %s (%s)\n", rank, err.text, strerror (errno));
        zpar__wireup_destroy (w);
        return 1;
    }
    t2 = now_ms ();
    if (barrier && zpar__wireup_barrier (w, &err) < 0 && errno != ENOTSUP) {
        fprintf (stderr, "wireup-probe: rank %d: barrier: %s\n", rank, err.text);
        free (got);
        zpar__wireup_destroy (w);
        return 1;
    }
    printf ("rank=%d size=%d local_rank=%d local_size=%d source=%s xchg=%s host=%s jobid=%s "
            "ms_create=%.1f ms_xchg=%.1f blob=%s\n",
            rank, zpar__wireup_size (w), zpar__wireup_local_rank (w), zpar__wireup_local_size (w),
            zpar__wireup_source_name (zpar__wireup_source (w)),
            zpar__wireup_exchange_name (zpar__wireup_exchange_method (w)),
            zpar__wireup_hostname (w), zpar__wireup_jobid (w) ? zpar__wireup_jobid (w) : "-",
            t1 - t0, t2 - t1, got);
    fflush (stdout);
    free (got);
    if (rank == 0 && linger > 0) {
        usleep ((useconds_t)linger * 1000);
        (void)zpar__wireup_unpublish (w, NULL);
    }
    if (zpar__wireup_finalize (w, &err) < 0) {
        fprintf (stderr, "wireup-probe: rank %d: finalize: %s\n", rank, err.text);
        zpar__wireup_destroy (w);
        return 1;
    }
    zpar__wireup_destroy (w);
    return 0;
}
