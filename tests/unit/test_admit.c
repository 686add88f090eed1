/* test_admit.c - the controller's "accept new tasks" switch: refused with
 * a reason, accepted again, the reason truncated, asked from threads. */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include "admit.h"
#include "tap.h"

static void *asker (void *arg)
{
    char buf[64];
    int *seen = arg;
    for (int i = 0; i < 100000; i++)
        if (zpar__admit_refused (buf, sizeof (buf)) && strcmp (buf, "full") != 0)
            (*seen)++;
    return NULL;
}

int main (void)
{
    char buf[300], small[8];
    char longwhy[400];
    pthread_t th;
    int bad = 0;

    ok (zpar__admit_refused (buf, sizeof (buf)) == 0, "new tasks are accepted at first");
    zpar__admit_refuse ("records are not being saved");
    ok (zpar__admit_refused (buf, sizeof (buf)) == 1 &&
            !strcmp (buf, "records are not being saved"),
        "refused, with the reason: %s", buf);
    ok (zpar__admit_refused (NULL, 0) == 1, "refused, without asking the reason");
    ok (zpar__admit_refused (small, sizeof (small)) == 1 && strlen (small) == sizeof (small) - 1,
        "the reason is truncated to the buffer: '%s'", small);
    memset (longwhy, 'x', sizeof (longwhy) - 1);
    longwhy[sizeof (longwhy) - 1] = '\0';
    zpar__admit_refuse (longwhy);
    ok (zpar__admit_refused (buf, sizeof (buf)) == 1 && strlen (buf) == 255,
        "a long reason is kept to 255 bytes");
    zpar__admit_refuse (NULL);
    ok (zpar__admit_refused (buf, sizeof (buf)) == 0, "accepted again");
    /* a reader in another thread sees a whole reason, never a torn one */
    zpar__admit_refuse ("full");
    ok (pthread_create (&th, NULL, asker, &bad) == 0, "a thread asks");
    for (int i = 0; i < 20000; i++)
        zpar__admit_refuse (i % 2 ? "full" : NULL);
    zpar__admit_refuse ("full");
    pthread_join (th, NULL);
    is_int (bad, 0, "no torn reason seen");
    zpar__admit_refuse (NULL);
    return done_testing ();
}
