/* lyapunov.c - the Lyapunov exponent of the logistic map x -> r x (1 - x).
 *
 *   lyapunov R ITERATIONS
 *
 * Prints "r=R iterations=N lambda=L regime=chaotic|periodic".  A positive
 * exponent means chaos.  The example sweep (sweep.yaml) runs it for a grid
 * of r and iteration counts; zpar collects one line per point.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int main (int argc, char **argv)
{
    double r, x = 0.5, sum = 0.0;
    long n, burn;
    char *end;

    if (argc != 3) {
        fprintf (stderr, "usage: lyapunov R ITERATIONS\n");
        return 2;
    }
    r = strtod (argv[1], &end);
    if (*end || r <= 0 || r > 4) {
        fprintf (stderr, "lyapunov: R must be in (0, 4], got '%s'\n", argv[1]);
        return 2;
    }
    n = strtol (argv[2], &end, 10);
    if (*end || n <= 0) {
        fprintf (stderr, "lyapunov: ITERATIONS must be a positive integer, got '%s'\n", argv[2]);
        return 2;
    }
    burn = n / 10;
    for (long i = 0; i < burn; i++)
        x = r * x * (1.0 - x);
    for (long i = 0; i < n; i++) {
        double d = fabs (r * (1.0 - 2.0 * x));
        sum += log (d > 1e-300 ? d : 1e-300);
        x = r * x * (1.0 - x);
    }
    printf ("r=%s iterations=%ld lambda=%.6f regime=%s\n", argv[1], n, sum / (double)n,
            sum > 0 ? "chaotic" : "periodic");
    return 0;
}
