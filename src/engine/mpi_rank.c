/* mpi_rank.c - zpar-rank: what every rank of an MPI task starts as.
 *
 *   zpar-rank -- CMD [ARGS...]
 *
 * The launcher (srun or mpirun, mpi_launch.h) starts it on every rank's
 * host with the rank map in ZPAR_MPI_RANKMAP (mpi_map.h).  It finds its
 * rank (SLURM_PROCID, OMPI_COMM_WORLD_RANK, PMIX_RANK or PMI_RANK), looks
 * its entry up, checks that it runs on the host of its engine, binds
 * itself to its CPU list (sched_setaffinity), and sets in the command's
 * environment:
 *   ZPAR_RANK          its rank
 *   ZPAR_RANK_ENGINE   the engine whose resources it holds
 *   ZPAR_RANK_CPUSET   its CPU list ("-": not bound)
 *   OMP_NUM_THREADS    the number of its CPUs (when bound)
 *   CUDA_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES  its GPUs of that kind,
 *                      when some rank of the task holds GPUs
 * then executes CMD (searched in PATH).  A rank that cannot do all this
 * prints why on stderr and exits 127 without running CMD: a rank is never
 * left running somewhere it was not given.  Only libc and mpi_map.c.
 */
#include "config.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/mpi_map.h"

static int die (const char *fmt, ...) __attribute__ ((format (printf, 1, 2), noreturn));
static int die (const char *fmt, ...)
{
    va_list ap;
    char host[256] = "?";
    (void)gethostname (host, sizeof (host) - 1);
    fprintf (stderr, "zpar-rank (%s): ", host);
    va_start (ap, fmt);
    vfprintf (stderr, fmt, ap);
    va_end (ap);
    fputc ('\n', stderr);
    exit (127);
}

static long my_rank (const char **from)
{
    static const char *const vars[] = {"SLURM_PROCID", "OMPI_COMM_WORLD_RANK", "PMIX_RANK",
                                       "PMI_RANK"};
    for (size_t i = 0; i < sizeof (vars) / sizeof (vars[0]); i++) {
        const char *v = getenv (vars[i]);
        char *end;
        long r;
        if (!v || !*v)
            continue;
        errno = 0;
        r = strtol (v, &end, 10);
        if (errno || *end || r < 0)
            die ("%s=%s is not a rank", vars[i], v);
        *from = vars[i];
        return r;
    }
    return -1;
}

static void set_num (const char *name, unsigned long v)
{
    char buf[32];
    snprintf (buf, sizeof (buf), "%lu", v);
    if (setenv (name, buf, 1) < 0)
        die ("cannot set %s: %s", name, strerror (errno));
}

int main (int argc, char **argv)
{
    const char *map = getenv (ZPAR_MPI_MAP_VAR), *from = NULL;
    char host[256] = "", *copy;
    zpar_mpi_entry_t e;
    long rank;
    int any_gpu;

    if (argc < 2 || (strcmp (argv[1], "--") == 0 && argc < 3))
        die ("usage: zpar-rank -- CMD [ARGS...]");
    if (strcmp (argv[1], "--") == 0)
        argv++;
    argv++;
    if (!map)
        die ("no %s in the environment (zpar-rank is started by an MPI task's launcher)",
             ZPAR_MPI_MAP_VAR);
    if ((rank = my_rank (&from)) < 0)
        die ("no rank in the environment (SLURM_PROCID, OMPI_COMM_WORLD_RANK, PMIX_RANK, "
             "PMI_RANK)");
    any_gpu = strstr (map, "cuda:") || strstr (map, "rocm:");
    if (!(copy = strdup (map)))
        die ("out of memory");
    if (zpar__mpi_map_entry (copy, (size_t)rank, &e) < 0)
        die ("rank %ld (%s): %s in %s", rank, from,
             errno == ENOENT ? "no such entry" : "malformed entry", ZPAR_MPI_MAP_VAR);
    if (gethostname (host, sizeof (host) - 1) < 0)
        die ("gethostname: %s", strerror (errno));
    if (!zpar__mpi_same_host (host, e.host))
        die ("rank %ld runs on %s, but its engine %u is on %s", rank, host, e.engine, e.host);

    if (strcmp (e.cpuset, "-") != 0) {
        unsigned *cpus;
        size_t n;
        cpu_set_t *set;
        size_t size;
        if (zpar__mpi_cpulist_parse (e.cpuset, &cpus, &n) < 0 || n == 0)
            die ("rank %ld: bad CPU list '%s'", rank, e.cpuset);
        size = CPU_ALLOC_SIZE (cpus[n - 1] + 1);
        if (!(set = CPU_ALLOC (cpus[n - 1] + 1)))
            die ("out of memory");
        CPU_ZERO_S (size, set);
        for (size_t i = 0; i < n; i++)
            CPU_SET_S (cpus[i], size, set);
        if (sched_setaffinity (0, size, set) < 0)
            die ("rank %ld: cannot bind to CPUs %s of engine %u: %s", rank, e.cpuset, e.engine,
                 strerror (errno));
        CPU_FREE (set);
        free (cpus);
        set_num ("OMP_NUM_THREADS", n);
    }
    if (any_gpu) {
        char buf[512];
        if (zpar__mpi_gpus_of_kind (e.gpus, "cuda", buf, sizeof (buf)) < 0 ||
            setenv ("CUDA_VISIBLE_DEVICES", buf, 1) < 0 ||
            zpar__mpi_gpus_of_kind (e.gpus, "rocm", buf, sizeof (buf)) < 0 ||
            setenv ("ROCR_VISIBLE_DEVICES", buf, 1) < 0)
            die ("rank %ld: bad GPU list '%s'", rank, e.gpus);
    }
    set_num ("ZPAR_RANK", (unsigned long)rank);
    set_num ("ZPAR_RANK_ENGINE", e.engine);
    if (setenv ("ZPAR_RANK_CPUSET", e.cpuset, 1) < 0)
        die ("cannot set ZPAR_RANK_CPUSET: %s", strerror (errno));
    (void)unsetenv (ZPAR_MPI_MAP_VAR);
    free (copy);
    execvp (argv[0], argv);
    die ("rank %ld: cannot run %s: %s", rank, argv[0], strerror (errno));
}
