/* floor-spawn.c - the floor for command tasks: bare posix_spawn loops.
 *
 * Runs J spawn loops in parallel (J processes, default 1), each spawning
 * /bin/true and waiting for that child (waitpid on its pid) before the
 * next; N spawns in all, shared between the loops.  The loops start
 * together (a pipe closed by the parent) and the clock runs from their
 * start to the end of the last.  -j 2 is the floor of a 2-engine cluster:
 * two engines, each running its tasks one at a time.
 *
 * Prints "floor_spawn_per_s VALUE" (N / seconds) and "floor_spawn_jobs J",
 * read by bench/run.sh, and the CPU per spawn (getrusage, microseconds):
 * "floor_cmd_cpu_us" of the commands themselves (from clone to exit) and
 * "floor_loop_cpu_us" of the loops that start and wait for them.
 *
 * usage: floor-spawn [-j J] [N]   (default J = 1, N = 2000)
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double tv_us (struct timeval tv)
{
    return tv.tv_sec * 1e6 + tv.tv_usec;
}

/* CPU of who (RUSAGE_SELF or RUSAGE_CHILDREN) in microseconds */
static double cpu_us (int who)
{
    struct rusage ru;
    if (getrusage (who, &ru) < 0)
        return 0;
    return tv_us (ru.ru_utime) + tv_us (ru.ru_stime);
}

/* n spawns of /bin/true, one at a time: 0, or 1 on the first failure */
static int spawn_loop (long n)
{
    char *args[] = {"/bin/true", NULL};
    for (long i = 0; i < n; i++) {
        pid_t pid;
        int st, rc = posix_spawn (&pid, args[0], NULL, NULL, args, environ);
        if (rc != 0) {
            fprintf (stderr, "floor-spawn: posix_spawn: %s\n", strerror (rc));
            return 1;
        }
        if (waitpid (pid, &st, 0) != pid || !WIFEXITED (st) || WEXITSTATUS (st) != 0) {
            fprintf (stderr, "floor-spawn: /bin/true failed\n");
            return 1;
        }
    }
    return 0;
}

int main (int argc, char **argv)
{
    long n = 2000, j = 1;
    double *use; /* per loop: [2k] its commands' CPU, [2k+1] its own */
    int opt, go[2], failed = 0;
    pid_t *kids;
    struct timespec a, b;
    double t;

    while ((opt = getopt (argc, argv, "j:")) != -1) {
        if (opt != 'j') {
            fprintf (stderr, "usage: floor-spawn [-j JOBS] [N]\n");
            return 2;
        }
        j = atol (optarg);
    }
    if (optind < argc)
        n = atol (argv[optind]);
    if (n < 1 || j < 1 || j > 64 || n < j)
        return 2;
    use = mmap (NULL, 2 * (size_t)j * sizeof (*use), PROT_READ | PROT_WRITE,
                MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (use == MAP_FAILED)
        return 1;
    if (j == 1) {
        clock_gettime (CLOCK_MONOTONIC, &a);
        if (spawn_loop (n) != 0)
            return 1;
        clock_gettime (CLOCK_MONOTONIC, &b);
        use[0] = cpu_us (RUSAGE_CHILDREN);
        use[1] = cpu_us (RUSAGE_SELF);
    } else {
        if (pipe (go) < 0 || !(kids = calloc (j, sizeof (*kids))))
            return 1;
        for (long k = 0; k < j; k++) {
            if ((kids[k] = fork ()) < 0) {
                perror ("floor-spawn: fork");
                return 1;
            }
            if (kids[k] == 0) {
                char c;
                close (go[1]);
                /* wait for the start: the parent closes the pipe */
                while (read (go[0], &c, 1) > 0)
                    ;
                close (go[0]);
                double c0 = cpu_us (RUSAGE_CHILDREN), s0 = cpu_us (RUSAGE_SELF);
                int rc = spawn_loop (n / j + (k < n % j));
                use[2 * k] = cpu_us (RUSAGE_CHILDREN) - c0;
                use[2 * k + 1] = cpu_us (RUSAGE_SELF) - s0;
                _exit (rc);
            }
        }
        close (go[0]);
        clock_gettime (CLOCK_MONOTONIC, &a);
        close (go[1]);
        for (long k = 0; k < j; k++) {
            int st;
            if (waitpid (kids[k], &st, 0) != kids[k] || !WIFEXITED (st) || WEXITSTATUS (st) != 0)
                failed = 1;
        }
        clock_gettime (CLOCK_MONOTONIC, &b);
        free (kids);
        if (failed)
            return 1;
    }
    t = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
    printf ("floor_spawn_per_s %.0f\n", n / t);
    printf ("floor_spawn_jobs %ld\n", j);
    {
        double cmd = 0, loop = 0;
        for (long k = 0; k < j; k++) {
            cmd += use[2 * k];
            loop += use[2 * k + 1];
        }
        printf ("floor_cmd_cpu_us %.1f\nfloor_loop_cpu_us %.1f\n", cmd / n, loop / n);
    }
    return 0;
}
