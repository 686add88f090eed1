/* corepin.c - the controller's relaying threads on one core (corepin.h). */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "corepin.h"
#include "log.h"

int zpar__corepin_choose (void)
{
    const char *s = getenv ("ZPAR_CONTROLLER_CPU");
    cpu_set_t set;
    int n, k;

    if (sched_getaffinity (0, sizeof (set), &set) < 0)
        return -1;
    if (s && !strcmp (s, "none"))
        return -1;
    if (s && *s && strcmp (s, "auto") != 0) {
        char *end;
        long cpu = strtol (s, &end, 10);
        if (*end || cpu < 0 || cpu >= CPU_SETSIZE || !CPU_ISSET ((int)cpu, &set)) {
            zpar__warn ("ZPAR_CONTROLLER_CPU=%s: not a CPU this process may use "
                        "(auto, none or a CPU number): threads not pinned",
                        s);
            return -1;
        }
        return (int)cpu;
    }
    if ((n = CPU_COUNT (&set)) < 2)
        return -1; /* bound to one CPU already: they share it */
    /* counted from the highest, the (pid mod n)-th: a lone controller
     * takes the last CPU, several on one machine spread out */
    k = (int)(getpid () % n);
    for (int c = CPU_SETSIZE - 1; c >= 0; c--)
        if (CPU_ISSET (c, &set) && k-- == 0)
            return c;
    return -1;
}

int zpar__corepin_ctx (void *ctx, int cpu)
{
    return zmq_ctx_set (ctx, ZMQ_THREAD_AFFINITY_CPU_ADD, cpu);
}

int zpar__corepin_enter (int cpu, cpu_set_t *saved)
{
    cpu_set_t one;
    int rc;

    if ((rc = pthread_getaffinity_np (pthread_self (), sizeof (*saved), saved)) != 0) {
        errno = rc;
        return -1;
    }
    CPU_ZERO (&one);
    CPU_SET (cpu, &one);
    if ((rc = pthread_setaffinity_np (pthread_self (), sizeof (one), &one)) != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}

void zpar__corepin_leave (const cpu_set_t *saved)
{
    (void)pthread_setaffinity_np (pthread_self (), sizeof (*saved), saved);
}
