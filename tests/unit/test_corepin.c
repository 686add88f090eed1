/* test_corepin.c - the controller's relaying threads on one core
 * (corepin.h): the CPU chosen from ZPAR_CONTROLLER_CPU and the process's
 * mask, libzmq's threads of a pinned context, and a thread started while
 * the caller is pinned, with the caller's own mask given back. */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "corepin.h"
#include "tap.h"

/* the CPUs a thread may use, from its status file ("" if unknown) */
static void allowed (const char *path, char *out, size_t size)
{
    char line[256];
    FILE *f;
    snprintf (out, size, "%s", "");
    if (!(f = fopen (path, "r")))
        return;
    while (fgets (line, sizeof (line), f))
        if (!strncmp (line, "Cpus_allowed_list:", 18)) {
            char *v = line + 18;
            v += strspn (v, " \t");
            v[strcspn (v, "\n")] = 0;
            snprintf (out, size, "%s", v);
        }
    fclose (f);
}

/* the allowed CPUs of every thread of this process named comm, joined */
static void allowed_of_now (const char *comm, char *out, size_t size)
{
    DIR *d = opendir ("/proc/self/task");
    struct dirent *e;
    size_t n = 0;
    out[0] = 0;
    while (d && (e = readdir (d))) {
        char path[128], name[64], list[64];
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf (path, sizeof (path), "/proc/self/task/%s/comm", e->d_name);
        if (!(f = fopen (path, "r")))
            continue;
        if (!fgets (name, sizeof (name), f))
            name[0] = 0;
        fclose (f);
        name[strcspn (name, "\n")] = 0;
        if (strcmp (name, comm) != 0)
            continue;
        snprintf (path, sizeof (path), "/proc/self/task/%s/status", e->d_name);
        allowed (path, list, sizeof (list));
        n += snprintf (out + n, n < size ? size - n : 0, "%s%s", n ? "," : "", list);
    }
    if (d)
        closedir (d);
}

/* the same, waiting up to 5 s for such a thread: libzmq's threads name
 * themselves once running (after applying their CPU mask) */
static void allowed_of (const char *comm, char *out, size_t size)
{
    for (int i = 0; i < 500; i++) {
        allowed_of_now (comm, out, size);
        if (out[0])
            return;
        usleep (10000);
    }
}

static void *child (void *arg)
{
    cpu_set_t *got = arg;
    (void)pthread_getaffinity_np (pthread_self (), sizeof (*got), got);
    return NULL;
}

static int choose_with (const char *v)
{
    if (v)
        setenv ("ZPAR_CONTROLLER_CPU", v, 1);
    else
        unsetenv ("ZPAR_CONTROLLER_CPU");
    return zpar__corepin_choose ();
}

int main (void)
{
    cpu_set_t all, one, saved, got;
    int first = -1, last = -1, outside = -1;
    char want[16], list[256], buf[16];

    plan (NO_PLAN);
    if (sched_getaffinity (0, sizeof (all), &all) < 0) {
        ok (0, "sched_getaffinity");
        return done_testing ();
    }
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET (c, &all)) {
            if (first < 0)
                first = c;
            last = c;
        } else if (outside < 0)
            outside = c;

    /* the choice */
    is_int (choose_with ("none"), -1, "none: not pinned");
    is_int (choose_with ("two"), -1, "a setting that is no CPU: not pinned");
    is_int (choose_with ("-1"), -1, "a negative CPU: not pinned");
    if (outside >= 0) {
        snprintf (buf, sizeof (buf), "%d", outside);
        is_int (choose_with (buf), -1, "a CPU the process may not use (%d): not pinned", outside);
    }
    snprintf (buf, sizeof (buf), "%d", first);
    is_int (choose_with (buf), first, "an allowed CPU by number: that one");
    if (CPU_COUNT (&all) >= 2) {
        /* counted from the highest allowed CPU, the (pid mod count)-th */
        int k = (int)(getpid () % CPU_COUNT (&all)), expect = -1;
        for (int c = CPU_SETSIZE - 1; c >= 0 && expect < 0; c--)
            if (CPU_ISSET (c, &all) && k-- == 0)
                expect = c;
        is_int (choose_with (NULL), expect, "unset: the allowed CPU the process id picks (%d)",
                expect);
        is_int (choose_with ("auto"), expect, "auto: the same");
        /* a process bound to one CPU has nothing to choose */
        CPU_ZERO (&one);
        CPU_SET (first, &one);
        ok (sched_setaffinity (0, sizeof (one), &one) == 0, "process bound to CPU %d", first);
        is_int (choose_with ("auto"), -1, "auto, bound to one CPU: not pinned");
        ok (sched_setaffinity (0, sizeof (all), &all) == 0, "process mask given back");
    } else
        diag ("one CPU here: the auto cases need two");
    unsetenv ("ZPAR_CONTROLLER_CPU");

    /* a thread started while the caller is pinned runs on the CPU; the
     * caller gets its own mask back */
    ok (zpar__corepin_enter (last, &saved) == 0, "enter CPU %d", last);
    {
        pthread_t t;
        CPU_ZERO (&got);
        ok (pthread_create (&t, NULL, child, &got) == 0 && pthread_join (t, NULL) == 0,
            "thread started while pinned");
        ok (CPU_COUNT (&got) == 1 && CPU_ISSET (last, &got), "it runs on CPU %d only", last);
    }
    zpar__corepin_leave (&saved);
    CPU_ZERO (&got);
    (void)pthread_getaffinity_np (pthread_self (), sizeof (got), &got);
    ok (CPU_EQUAL (&got, &all), "the caller's mask is back");

    /* libzmq's threads of a pinned context, started by its first socket */
    {
        void *ctx = zmq_ctx_new (), *s;
        ok (ctx && zpar__corepin_ctx (ctx, last) == 0, "context pinned to CPU %d", last);
        s = zmq_socket (ctx, ZMQ_ROUTER);
        ok (s != NULL, "first socket");
        snprintf (want, sizeof (want), "%d", last);
        allowed_of ("ZMQbg/IO/0", list, sizeof (list));
        is_str (list, want, "its I/O thread may use CPU %d only", last);
        zmq_close (s);
        zmq_ctx_term (ctx);
    }
    {
        void *ctx = zmq_ctx_new (), *s = zmq_socket (ctx, ZMQ_ROUTER);
        char all_list[64];
        allowed ("/proc/self/status", all_list, sizeof (all_list));
        allowed_of ("ZMQbg/IO/0", list, sizeof (list));
        is_str (list, all_list, "a context not pinned: its I/O thread may use every CPU (%s)",
                all_list);
        zmq_close (s);
        zmq_ctx_term (ctx);
    }
    return done_testing ();
}
