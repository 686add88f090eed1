/* test_keeper.c - the engine's keeper (keeper.h): it kills the process
 * groups it lists when its engine's end of the socket closes, leaves the
 * groups taken off the list alone, shrugs off SIGTERM / SIGINT / SIGHUP,
 * and lives in a session of its own; fencing: it kills them when no tick
 * came for the fence limit, unless told to hold.  The "engine" here is this test
 * process; the task groups are sleep processes it starts. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/keeper.h"
#include "tap.h"

extern char **environ;

/* A "task": sh in a group of its own, with a sleeping grandchild. */
static pid_t task (void)
{
    char *argv[] = {"sh", "-c", "sleep 60 & sleep 60", NULL};
    posix_spawnattr_t at;
    pid_t pid = -1;
    posix_spawnattr_init (&at);
    posix_spawnattr_setflags (&at, POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setpgroup (&at, 0);
    if (posix_spawnp (&pid, "sh", NULL, &at, argv, environ) != 0)
        pid = -1;
    posix_spawnattr_destroy (&at);
    return pid;
}

/* Is any process of group g alive (not a zombie)?  Waits up to sec. */
static int group_alive (pid_t g, double sec)
{
    struct timespec step = {0, 20 * 1000 * 1000};
    for (int i = 0; i <= (int)(sec * 50); i++) {
        char cmd[128];
        snprintf (cmd, sizeof (cmd),
                  "ps -e -o pgid=,stat= | awk '$1 == %d && $2 !~ /^Z/' | grep -q .", (int)g);
        if (system (cmd) != 0)
            return 0;
        /* reap our direct child when it has exited */
        (void)waitpid (g, NULL, WNOHANG);
        nanosleep (&step, NULL);
    }
    return 1;
}

static void reap_all (pid_t g)
{
    (void)killpg (g, SIGKILL);
    while (waitpid (g, NULL, 0) < 0 && errno == EINTR)
        ;
}

int main (void)
{
    zpar_error_t err;
    zpar_keeper_t *k;
    pid_t t1, t2, kp;

    plan (NO_PLAN);

    ok (zpar__keeper_add (NULL, 5) < 0 && errno == EINVAL, "add (NULL): EINVAL");
    ok (zpar__keeper_remove (NULL, 5) < 0 && errno == EINVAL, "remove (NULL): EINVAL");
    ok (zpar__keeper_fd (NULL) == -1 && zpar__keeper_pid (NULL) == 0, "fd, pid of NULL");
    zpar__keeper_stop (NULL);
    ok (1, "stop (NULL) is a no-op");

    k = zpar__keeper_start (&err);
    ok (k != NULL, "the keeper starts");
    if (!k) {
        diag ("no keeper: %s", err.text);
        return done_testing ();
    }
    kp = zpar__keeper_pid (k);
    for (int i = 0; i < 250 && getsid (kp) != kp; i++) {
        struct timespec t = {0, 4 * 1000 * 1000};
        nanosleep (&t, NULL);
    }
    ok (kp > 0 && getsid (kp) == kp, "it leads a session of its own");
    ok (zpar__keeper_add (k, 0) < 0 && errno == EINVAL, "add pgid 0: EINVAL");
    ok (zpar__keeper_fd (k) >= 0, "the engine's end of the socket");

    t1 = task ();
    t2 = task ();
    ok (t1 > 0 && t2 > 0, "two task groups started");
    ok (zpar__keeper_add (k, t1) == 0 && zpar__keeper_add (k, t2) == 0, "both listed");
    ok (zpar__keeper_remove (k, t2) == 0, "the second taken off the list");
    ok (kill (kp, SIGTERM) == 0 && kill (kp, SIGINT) == 0 && kill (kp, SIGHUP) == 0,
        "SIGTERM, SIGINT, SIGHUP sent to the keeper");
    {
        struct timespec t = {0, 200 * 1000 * 1000};
        nanosleep (&t, NULL);
    }
    ok (waitpid (kp, NULL, WNOHANG) == 0, "the keeper ignores them");
    ok (group_alive (t1, 0) && group_alive (t2, 0), "both groups alive while the engine is");

    zpar__keeper_stop (k); /* closes our end, as an engine's death does */
    ok (!group_alive (t1, 5), "end-of-file: the listed group is killed, grandchild included");
    ok (group_alive (t2, 0.3), "the group taken off the list is left alone");
    ok (kill (kp, 0) < 0 && errno == ESRCH, "the keeper exited and was reaped");
    reap_all (t1);
    reap_all (t2);

    /* removals held and sent with the next record */
    ok (zpar__keeper_remove_soon (NULL, 5) < 0 && errno == EINVAL, "remove_soon (NULL): EINVAL");
    ok (zpar__keeper_pending (NULL) == 0 && zpar__keeper_flush (NULL) == 0,
        "pending, flush of NULL: 0");
    if ((k = zpar__keeper_start (&err))) {
        pid_t a = task (), b = task (), c = task (), kp2 = zpar__keeper_pid (k);
        ok (a > 0 && b > 0 && c > 0 && zpar__keeper_add (k, a) == 0 && zpar__keeper_add (k, b) == 0,
            "three groups, two listed");
        ok (zpar__keeper_remove_soon (k, b) == 0 && zpar__keeper_pending (k) == 1,
            "the second's removal is held");
        ok (zpar__keeper_add (k, c) == 0 && zpar__keeper_pending (k) == 0,
            "and sent with the next add");
        ok (zpar__keeper_remove_soon (k, c) == 0 && zpar__keeper_flush (k) == 0 &&
                zpar__keeper_pending (k) == 0,
            "the third's removal held, then flushed");
        /* the engine's end closed without zpar__keeper_stop's own flush */
        (void)close (zpar__keeper_fd (k));
        while (waitpid (kp2, NULL, 0) < 0 && errno == EINTR)
            ;
        ok (!group_alive (a, 5), "end-of-file: the listed group is killed");
        ok (group_alive (b, 0.3) && group_alive (c, 0.3),
            "the groups removed with an add and with a flush are left alone");
        zpar__keeper_stop (k); /* the keeper is already reaped: frees */
        reap_all (a);
        reap_all (b);
        reap_all (c);
    }

    /* the engine dies without a word: its end closes with the process */
    {
        pid_t eng;
        int st = 0, pfd[2];
        pid_t g = task ();
        if (pipe (pfd) < 0)
            return done_testing ();
        eng = fork ();
        if (eng == 0) {
            zpar_keeper_t *k2 = zpar__keeper_start (NULL);
            pid_t p = k2 ? zpar__keeper_pid (k2) : 0;
            if (!k2 || zpar__keeper_add (k2, g) < 0)
                _exit (1);
            if (write (pfd[1], &p, sizeof (p)) != (ssize_t)sizeof (p))
                _exit (1);
            pause ();
            _exit (0);
        }
        close (pfd[1]);
        ok (eng > 0 && read (pfd[0], &kp, sizeof (kp)) == (ssize_t)sizeof (kp),
            "an engine with a keeper listing one group");
        close (pfd[0]);
        ok (kill (eng, SIGKILL) == 0 && waitpid (eng, &st, 0) == eng, "SIGKILL of the engine");
        ok (!group_alive (g, 5), "its task group is killed by the keeper");
        reap_all (g);
    }
    /* fencing: no tick for the limit (no word from the controller) kills
     * the listed groups; a hold (the controller is gone) does not */
    {
        zpar_keeper_t *k3 = zpar__keeper_start (&err);
        struct timespec beat = {0, 50 * 1000 * 1000};
        pid_t g1 = task (), g2, g3, g4;
        ok (k3 && g1 > 0 && zpar__keeper_add (k3, g1) == 0, "fencing: a keeper listing a group");
        ok (zpar__keeper_fence_limit (k3, 800, 100) == 0 && zpar__keeper_tick (k3) == 0 &&
                zpar__keeper_limit_ms (k3) == 800,
            "fence limit 800 ms, a tick");
        for (int i = 0; i < 30; i++) {
            nanosleep (&beat, NULL);
            (void)zpar__keeper_tick_fd (zpar__keeper_fd (k3)); /* as the heart thread does */
        }
        ok (group_alive (g1, 0), "ticked every 50 ms for 1.5 s: the group lives");
        ok (!group_alive (g1, 5), "no tick for the limit: the group is fenced (killed)");
        ok (zpar__keeper_fenced (k3, g1) == 1 && zpar__keeper_fenced (k3, g1) == 0,
            "the keeper told the engine it fenced it (once)");
        reap_all (g1);
        g2 = task ();
        ok (g2 > 0 && zpar__keeper_add (k3, g2) == 0 && !group_alive (g2, 5),
            "a group listed while fenced (still no word) is killed at once");
        ok (zpar__keeper_fenced (k3, g2) == 1, "and said so");
        ok (zpar__keeper_fence_seen (k3) == 1 && zpar__keeper_fence_flag (k3) == 1,
            "the engine knows a fence began");
        reap_all (g2);
        /* pings that piled up while the engine was stopped tick the keeper:
         * no word on whether its tasks are still its own */
        g2 = task ();
        ok (g2 > 0 && zpar__keeper_tick (k3) == 0 && zpar__keeper_add (k3, g2) == 0 &&
                !group_alive (g2, 5),
            "a tick does not end the fence: a group listed after it is killed at once");
        ok (zpar__keeper_fenced (k3, g2) == 1, "and said so");
        reap_all (g2);
        ok (zpar__keeper_resume (k3) == 0 && zpar__keeper_fence_flag (k3) == 0,
            "the engine registered again: resume");
        g3 = task ();
        ok (g3 > 0 && zpar__keeper_tick (k3) == 0 && zpar__keeper_add (k3, g3) == 0 &&
                zpar__keeper_hold_fd (zpar__keeper_fd (k3)) == 0,
            "a tick, a group, then hold (the controller's connection closed)");
        ok (group_alive (g3, 2.5), "held: alive for three limits");
        ok (zpar__keeper_fenced (k3, g3) == 0, "nothing fenced");
        ok (zpar__keeper_tick (k3) == 0 && !group_alive (g3, 5),
            "a tick ends the hold; silent again: fenced");
        reap_all (g3);
        (void)zpar__keeper_resume (k3);
        g4 = task ();
        ok (g4 > 0 && zpar__keeper_fence_limit (k3, 0, 100) == 0 && zpar__keeper_tick (k3) == 0 &&
                zpar__keeper_add (k3, g4) == 0,
            "fencing off (limit 0), a group listed");
        ok (group_alive (g4, 1.5), "fencing off: alive without ticks");
        zpar__keeper_stop (k3);
        ok (!group_alive (g4, 5), "end-of-file still kills it");
        reap_all (g4);
    }
    return done_testing ();
}
