/* floor-spawn.c - the floor for command tasks: a bare posix_spawn loop.
 *
 * Spawns /bin/true N times, one at a time, each waited for (waitpid) before
 * the next, on one core.  Prints "floor_spawn_per_s VALUE" (read by
 * bench/run.sh).
 *
 * usage: floor-spawn [N]   (default 2000)
 */
#define _GNU_SOURCE
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

int main (int argc, char **argv)
{
    long n = argc > 1 ? atol (argv[1]) : 2000, i;
    char *args[] = {"/bin/true", NULL};
    struct timespec a, b;
    double t;

    if (n < 1)
        return 2;
    clock_gettime (CLOCK_MONOTONIC, &a);
    for (i = 0; i < n; i++) {
        pid_t pid;
        int st, rc = posix_spawn (&pid, args[0], NULL, NULL, args, environ);
        if (rc != 0) {
            fprintf (stderr, "floor-spawn: posix_spawn: %s\n", strerror (rc));
            return 1;
        }
        if (waitpid (pid, &st, 0) < 0 || !WIFEXITED (st) || WEXITSTATUS (st) != 0) {
            fprintf (stderr, "floor-spawn: /bin/true failed\n");
            return 1;
        }
    }
    clock_gettime (CLOCK_MONOTONIC, &b);
    t = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) * 1e-9;
    printf ("floor_spawn_per_s %.0f\n", n / t);
    return 0;
}
