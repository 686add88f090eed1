/* mpi-pi.c - pi by the midpoint rule on [0, 1] of 4 / (1 + x^2), the
 * intervals shared between the MPI ranks.
 *
 *   mpi-pi INTERVALS
 *
 * Rank 0 prints "pi=P error=E intervals=N ranks=R seconds=S" and every
 * rank a line "rank=I host=H cpus=LIST" (where zpar put it: its engine's
 * host and CPUs).  The example sweep mixed.yaml runs it as 1-core points
 * and as 4-rank MPI points.  Build: mpicc -O2 -o mpi-pi mpi-pi.c
 */
#include <math.h>
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
    while (f && fgets (line, sizeof (line), f))
        if (strncmp (line, "Cpus_allowed_list:", 18) == 0) {
            char *v = line + 18 + strspn (line + 18, " \t");
            v[strcspn (v, "\n")] = '\0';
            snprintf (buf, size, "%s", v);
        }
    if (f)
        fclose (f);
}

int main (int argc, char **argv)
{
    int rank, size;
    long n;
    double h, part = 0.0, pi = 0.0, t0;
    char host[256] = "?", cpus[1024], *end;

    MPI_Init (&argc, &argv);
    MPI_Comm_rank (MPI_COMM_WORLD, &rank);
    MPI_Comm_size (MPI_COMM_WORLD, &size);
    n = argc == 2 ? strtol (argv[1], &end, 10) : 0;
    if (argc != 2 || *end || n <= 0) {
        if (rank == 0)
            fprintf (stderr, "usage: mpi-pi INTERVALS (a positive integer)\n");
        MPI_Finalize ();
        return 2;
    }
    t0 = MPI_Wtime ();
    h = 1.0 / (double)n;
    for (long i = rank; i < n; i += size) {
        double x = h * ((double)i + 0.5);
        part += 4.0 / (1.0 + x * x);
    }
    part *= h;
    MPI_Reduce (&part, &pi, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    (void)gethostname (host, sizeof (host) - 1);
    cpus_allowed (cpus, sizeof (cpus));
    printf ("rank=%d host=%s cpus=%s\n", rank, host, cpus);
    fflush (stdout);
    MPI_Barrier (MPI_COMM_WORLD);
    if (rank == 0)
        printf ("pi=%.12f error=%.2e intervals=%ld ranks=%d seconds=%.3f\n", pi, fabs (pi - M_PI),
                n, size, MPI_Wtime () - t0);
    MPI_Finalize ();
    return 0;
}
