/* mpi-where.c - an MPI program for the tests of MPI tasks (test library).
 *
 *   mpi-where [SECONDS]
 *
 * Every rank prints one line, after an MPI_Allreduce over all ranks (so
 * that the ranks are one MPI job):
 *   rank=R size=N host=H engine=E cpus=LIST omp=T sum=S task=ID via=L
 * H its host name, E ZPAR_RANK_ENGINE (the engine whose resources it
 * holds), LIST its Cpus_allowed_list, T OMP_NUM_THREADS, S the sum of the
 * ranks (N*(N-1)/2 when all took part), ID ZPAR_TASK_ID,
 * L the launcher that started it (srun: SLURM_PROCID is set, mpirun:
 * OMPI_COMM_WORLD_RANK, else "-").  Then it sleeps
 * SECONDS (default 0) and ends; exit 0.  Rank R exits 3 instead when
 * MPI_WHERE_FAIL=R. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void cpus_allowed (char *buf, size_t size)
{
    FILE *f = fopen ("/proc/self/status", "r");
    char line[4096];
    snprintf (buf, size, "?");
    if (!f)
        return;
    while (fgets (line, sizeof (line), f))
        if (strncmp (line, "Cpus_allowed_list:", 18) == 0) {
            char *v = line + 18;
            v += strspn (v, " \t");
            v[strcspn (v, "\n")] = '\0';
            snprintf (buf, size, "%s", v);
        }
    fclose (f);
}

static const char *env_or (const char *name, const char *dflt)
{
    const char *v = getenv (name);
    return v && *v ? v : dflt;
}

int main (int argc, char **argv)
{
    int rank = -1, size = 0, sum = 0;
    char host[256] = "?", cpus[1024];
    const char *fail = getenv ("MPI_WHERE_FAIL");

    MPI_Init (&argc, &argv);
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    MPI_Comm_size (MPI_COMM_WORLD, &size);
    MPI_Allreduce (&rank, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    (void)gethostname (host, sizeof (host) - 1);
    cpus_allowed (cpus, sizeof (cpus));
    printf ("rank=%d size=%d host=%s engine=%s cpus=%s omp=%s sum=%d task=%s via=%s\n", rank, size,
            host, env_or ("ZPAR_RANK_ENGINE", "-"), cpus, env_or ("OMP_NUM_THREADS", "-"), sum,
            env_or ("ZPAR_TASK_ID", "-"),
            getenv ("SLURM_PROCID")           ? "srun"
            : getenv ("OMPI_COMM_WORLD_RANK") ? "mpirun"
                                              : "-");
    fflush (stdout);
    if (argc > 1)
        sleep ((unsigned)atoi (argv[1]));
    if (fail && atoi (fail) == rank) {
        fprintf (stderr, "rank %d fails on purpose\n", rank);
        MPI_Abort (MPI_COMM_WORLD, 3);
    }
    MPI_Finalize ();
    return 0;
}
