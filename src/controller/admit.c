/* admit.c - whether the controller accepts new tasks. */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "admit.h"

static atomic_int refusing;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char reason[256];

void zpar__admit_refuse (const char *why)
{
    pthread_mutex_lock (&lock);
    snprintf (reason, sizeof (reason), "%s", why ? why : "");
    atomic_store (&refusing, why != NULL);
    pthread_mutex_unlock (&lock);
}

int zpar__admit_refused (char *buf, size_t size)
{
    int r;
    if (!atomic_load_explicit (&refusing, memory_order_relaxed))
        return 0;
    pthread_mutex_lock (&lock);
    r = atomic_load (&refusing);
    if (r && buf && size)
        snprintf (buf, size, "%s", reason);
    pthread_mutex_unlock (&lock);
    return r;
}
