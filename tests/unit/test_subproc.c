/* test_subproc.c - the subprocess helper: spawn with env, cwd, log files,
 * new session; empty signal mask and default dispositions in the child;
 * wait with timeout; kill of the group; capture with timeout and cancel;
 * bad parameters. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "subproc.h"
#include "tap.h"

static char tmpdir[] = "/tmp/zpar-test-subproc-XXXXXX";

static int read_file (const char *path, char *buf, size_t size)
{
    FILE *f = fopen (path, "r");
    size_t n;
    if (!f)
        return -1;
    n = fread (buf, 1, size - 1, f);
    buf[n] = '\0';
    fclose (f);
    return (int)n;
}

/* 1 when no live (non-zombie) process is in process group pgid, within
 * timeout seconds (orphaned zombies may wait for a slow reaper) */
static int group_gone (pid_t pgid, double timeout)
{
    double end = zpar__mono_s () + timeout;
    char cmd[160], out[64];
    FILE *p;
    snprintf (cmd, sizeof (cmd), "ps -e -o pgid=,stat= | awk '$1 == %d && $2 !~ /^Z/' | wc -l",
              (int)pgid);
    do {
        if (!(p = popen (cmd, "r")))
            return 0;
        if (!fgets (out, sizeof (out), p))
            out[0] = '\0';
        pclose (p);
        if (atoi (out) == 0 && out[0])
            return 1;
        zpar__sleep_s (0.05);
    } while (zpar__mono_s () < end);
    return 0;
}

static int cancel_after (void *arg)
{
    int *calls = arg;
    return ++(*calls) >= 3;
}

static int run_sh (const char *script, char *out, size_t size, int flags, int *status)
{
    char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
    zpar_subproc_opts_t o = {.argv = argv, .flags = flags};
    return zpar__subproc_capture (&o, out, size, 10.0, NULL, NULL, status, NULL);
}

int main (void)
{
    char out[4096], path[512], buf[4096];
    zpar_error_t err;
    int st = -1, calls = 0;
    pid_t pid;
    double t0;

    plan (NO_PLAN);
    if (!mkdtemp (tmpdir)) {
        diag ("mkdtemp: %s", strerror (errno));
        return 1;
    }

    /* capture, exit codes */
    ok (run_sh ("echo hello; exit 3", out, sizeof (out), 0, &st) == 0, "capture runs sh");
    is_str (out, "hello\n", "captured stdout");
    is_int (zpar__subproc_exit_code (st), 3, "exit code 3");
    ok (run_sh ("kill -TERM $$", out, sizeof (out), 0, &st) == 0, "capture of a killed child");
    is_int (zpar__subproc_exit_code (st), 128 + SIGTERM, "killed by TERM -> 143");
    ok (run_sh ("head -c 10000 /dev/zero | tr '\\0' x", out, 100, 0, &st) == 0,
        "capture of more than the buffer");
    is_int ((int)strlen (out), 99, "truncated to size-1");
    ok (run_sh ("echo x", NULL, 0, 0, &st) == 0, "capture without a buffer");

    /* the child's signal mask is empty and dispositions are default, even
     * with signals blocked and ignored here */
    {
        sigset_t block, old;
        sigemptyset (&block);
        sigaddset (&block, SIGTERM);
        sigaddset (&block, SIGINT);
        sigaddset (&block, SIGCHLD);
        sigprocmask (SIG_BLOCK, &block, &old);
        signal (SIGHUP, SIG_IGN);
        ok (run_sh ("grep -E '^Sig(Blk|Ign):' /proc/self/status", out, sizeof (out), 0, &st) == 0,
            "capture with signals blocked in the parent");
        ok (strstr (out, "SigBlk:\t0000000000000000") != NULL, "child's mask is empty");
        /* the standard signals only: glibc's posix_spawn leaves its two
         * internal ones (32, 33) ignored; exec'd programs take them over */
        ok (strstr (out, "SigIgn:\t0000000") != NULL && strstr (out, "00000000\n"),
            "child ignores no standard signal");
        if (!strstr (out, "SigBlk:\t0000000000000000"))
            diag ("%s", out);
        sigprocmask (SIG_SETMASK, &old, NULL);
        signal (SIGHUP, SIG_DFL);
    }

    /* environment: added and replaced */
    {
        char *argv[] = {"/bin/sh", "-c", "echo \"$ZPAR_T1 $HOME\"", NULL};
        char *env[] = {"ZPAR_T1=one", "HOME=/nowhere", NULL};
        zpar_subproc_opts_t o = {.argv = argv, .env = env};
        ok (zpar__subproc_capture (&o, out, sizeof (out), 10, NULL, NULL, &st, NULL) == 0,
            "capture with env");
        is_str (out, "one /nowhere\n", "env added and replaced");
    }

    /* cwd, stdin from /dev/null, stdout+stderr into one log, relative to
     * the caller's directory */
    {
        char *argv[] = {"/bin/sh", "-c", "pwd; cat; echo err >&2", NULL};
        zpar_subproc_opts_t o = {.argv = argv, .cwd = tmpdir, .flags = ZPAR_SUBPROC_STDIN_NULL};
        snprintf (path, sizeof (path), "%s/log", tmpdir);
        o.out = o.err = path;
        ok ((pid = zpar__subproc_spawn (&o, NULL)) > 0, "spawn with cwd and log");
        ok (zpar__subproc_wait (pid, 10, &st) == 0, "wait for it");
        is_int (zpar__subproc_exit_code (st), 0, "exit 0");
        read_file (path, buf, sizeof (buf));
        snprintf (out, sizeof (out), "%s\nerr\n", tmpdir);
        is_str (buf, out, "log has pwd and stderr");
        /* append */
        o.flags |= ZPAR_SUBPROC_APPEND;
        pid = zpar__subproc_spawn (&o, NULL);
        zpar__subproc_wait (pid, 10, &st);
        read_file (path, buf, sizeof (buf));
        ok (strlen (buf) == 2 * strlen (out), "APPEND keeps the earlier output");
        /* truncate again, separate stderr file */
        {
            char epath[600];
            snprintf (epath, sizeof (epath), "%s.err", path);
            o.err = epath;
            o.flags = 0;
            pid = zpar__subproc_spawn (&o, NULL);
            zpar__subproc_wait (pid, 10, &st);
            read_file (path, buf, sizeof (buf));
            snprintf (out, sizeof (out), "%s\n", tmpdir);
            is_str (buf, out, "truncated; stdout only");
            read_file (epath, buf, sizeof (buf));
            is_str (buf, "err\n", "stderr in its own file");
            unlink (epath);
        }
        unlink (path);
    }

    /* descriptors above 2 are closed in the child */
    {
        int fds[2];
        char script[128];
        if (pipe (fds) == 0) {
            snprintf (script, sizeof (script),
                      "test -e /proc/self/fd/%d && echo open || echo closed", fds[1]);
            ok (run_sh (script, out, sizeof (out), 0, &st) == 0, "capture checking an fd");
            is_str (out, "closed\n", "parent's fd closed in the child");
            ok (run_sh (script, out, sizeof (out), ZPAR_SUBPROC_KEEP_FDS, &st) == 0,
                "capture with KEEP_FDS");
            is_str (out, "open\n", "KEEP_FDS keeps it");
            close (fds[0]);
            close (fds[1]);
        }
    }

    /* new session; wait timeout; kill of the group reaches grandchildren */
    {
        char *argv[] = {"/bin/sh", "-c", "sleep 30 & sleep 30; echo never", NULL};
        zpar_subproc_opts_t o = {.argv = argv, .flags = ZPAR_SUBPROC_SETSID};
        ok ((pid = zpar__subproc_spawn (&o, NULL)) > 0, "spawn in a new session");
        zpar__sleep_s (0.1);
        is_int ((int)getsid (pid), (int)pid, "child leads its session");
        t0 = zpar__mono_s ();
        errno = 0;
        ok (zpar__subproc_wait (pid, 0.2, &st) < 0 && errno == ETIMEDOUT, "wait times out");
        ok (zpar__mono_s () - t0 >= 0.19 && zpar__mono_s () - t0 < 2, "after about 0.2 s");
        ok (zpar__subproc_wait (pid, 0, &st) < 0 && errno == ETIMEDOUT, "wait 0 just checks");
        ok (zpar__subproc_kill (pid, SIGTERM) == 0, "kill the group");
        ok (zpar__subproc_wait (pid, 5, &st) == 0, "reaped");
        is_int (zpar__subproc_exit_code (st), 128 + SIGTERM, "ended by TERM");
        ok (group_gone (pid, 5.0), "the whole group is gone");
        errno = 0;
        ok (zpar__subproc_wait (pid, 0, &st) < 0 && errno == ECHILD, "second wait: ECHILD");
    }

    /* capture: timeout, cancel, a daemon holding the pipe */
    {
        char *argv[] = {"/bin/sh", "-c", "echo started; exec sleep 30", NULL};
        zpar_subproc_opts_t o = {.argv = argv};
        t0 = zpar__mono_s ();
        errno = 0;
        ok (zpar__subproc_capture (&o, out, sizeof (out), 0.3, NULL, NULL, &st, &err) < 0 &&
                errno == ETIMEDOUT,
            "capture times out");
        ok (zpar__mono_s () - t0 < 3, "promptly");
        is_str (out, "started\n", "output before the timeout kept");
        ok (strstr (err.text, "timed out") != NULL, "error text: %s", err.text);
        errno = 0;
        ok (zpar__subproc_capture (&o, out, sizeof (out), -1, cancel_after, &calls, &st, NULL) <
                    0 &&
                errno == ECANCELED,
            "capture cancelled");
        is_int (calls, 3, "cancel asked until it said yes");
    }
    {
        t0 = zpar__mono_s ();
        ok (run_sh ("sleep 30 & echo bg", out, sizeof (out), 0, &st) == 0,
            "capture returns although a grandchild holds the pipe");
        ok (zpar__mono_s () - t0 < 5, "without waiting for the grandchild");
        is_str (out, "bg\n", "its output");
    }

    /* a wait with no limit */
    {
        char *argv[] = {"/bin/true", NULL};
        zpar_subproc_opts_t o = {.argv = argv};
        pid = zpar__subproc_spawn (&o, NULL);
        ok (pid > 0 && zpar__subproc_wait (pid, -1, &st) == 0 && st == 0, "wait -1 for true");
    }

    /* bad parameters */
    {
        char *none[] = {NULL};
        char *empty[] = {"", NULL};
        char *missing[] = {"/nonexistent/zpar-no-such-program", NULL};
        char *nopath[] = {"zpar-no-such-program-in-path", NULL};
        char *ok_argv[] = {"/bin/true", NULL};
        char *badenv[] = {"NOEQUALS", NULL};
        struct {
            const char *name;
            zpar_subproc_opts_t o;
            int errnum;
        } bad[] = {
            {"NULL argv", {.argv = NULL}, EINVAL},
            {"empty argv", {.argv = none}, EINVAL},
            {"empty program name", {.argv = empty}, EINVAL},
            {"missing program", {.argv = missing}, ENOENT},
            {"program not in PATH", {.argv = nopath}, ENOENT},
            {"bad env entry", {.argv = ok_argv, .env = badenv}, EINVAL},
            {"log in a missing directory",
             {.argv = ok_argv, .err = "/nonexistent/dir/log"},
             ENOENT},
            {"missing cwd", {.argv = ok_argv, .cwd = "/nonexistent/dir"}, ENOENT},
        };
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
            memset (&err, 0, sizeof (err));
            errno = 0;
            pid = zpar__subproc_spawn (&bad[i].o, &err);
            ok (pid < 0 && errno == bad[i].errnum && err.text[0],
                "spawn, %s: -1 errno %d (got %d: %s)", bad[i].name, bad[i].errnum, errno, err.text);
            if (pid > 0)
                zpar__subproc_wait (pid, -1, NULL);
            errno = 0;
            ok (zpar__subproc_capture (&bad[i].o, out, sizeof (out), 1, NULL, NULL, &st, NULL) <
                        0 &&
                    errno == bad[i].errnum,
                "capture, %s: -1 errno %d", bad[i].name, bad[i].errnum);
        }
        ok (zpar__subproc_spawn (NULL, NULL) < 0 && errno == EINVAL, "spawn NULL opts: EINVAL");
        errno = 0;
        ok (zpar__subproc_capture (&(zpar_subproc_opts_t){.argv = ok_argv}, NULL, 10, 1, NULL, NULL,
                                   NULL, NULL) < 0 &&
                errno == EINVAL,
            "capture with size but no buffer: EINVAL");
        errno = 0;
        ok (zpar__subproc_wait (0, 0, NULL) < 0 && errno == EINVAL, "wait pid 0: EINVAL");
        errno = 0;
        ok (zpar__subproc_wait (-5, 0, NULL) < 0 && errno == EINVAL, "wait pid -5: EINVAL");
        errno = 0;
        ok (zpar__subproc_wait (1, 0, NULL) < 0 && errno == ECHILD, "wait not our child: ECHILD");
        errno = 0;
        ok (zpar__subproc_kill (0, SIGTERM) < 0 && errno == EINVAL, "kill pid 0: EINVAL");
        pid = zpar__subproc_spawn (&(zpar_subproc_opts_t){.argv = ok_argv}, NULL);
        errno = 0;
        ok (zpar__subproc_kill (pid, 12345) < 0 && errno == EINVAL, "kill bad signal: EINVAL");
        zpar__subproc_wait (pid, -1, NULL);
        errno = 0;
        ok (zpar__subproc_kill (pid, SIGTERM) < 0 && errno == ESRCH,
            "kill of a reaped child: ESRCH");
        ok (zpar__subproc_exit_code (0) == 0, "exit code of status 0");
    }

    /* a tie: the child gets the read end as descriptor 3 (and ZPAR_TIE_FD=3),
     * in its own session; closing the starter's end is end-of-file there */
    {
        char log[512];
        char *argv[] = {"/bin/sh", "-c",
                        "echo fd=$ZPAR_TIE_FD; cat <&3 > /dev/null; echo eof; "
                        "ls /proc/self/fd | wc -l",
                        NULL};
        int wfd = -1, rfd = -1;
        snprintf (log, sizeof (log), "%s/tie.log", tmpdir);
        ok (zpar__tie_create (&wfd, &rfd) == 0 && wfd > 2 && rfd > 2, "tie created");
        pid = zpar__subproc_spawn (
            &(zpar_subproc_opts_t){.argv = argv,
                                   .out = log,
                                   .flags = ZPAR_SUBPROC_SETSID | ZPAR_SUBPROC_STDIN_NULL,
                                   .tie_fd = rfd},
            NULL);
        ok (pid > 0, "tied child started");
        close (rfd);
        ok (zpar__subproc_wait (pid, 0.3, NULL) < 0 && errno == ETIMEDOUT,
            "the tied child waits while the starter's end is open");
        close (wfd);
        ok (zpar__subproc_wait (pid, 10, &st) == 0 && WIFEXITED (st) && WEXITSTATUS (st) == 0,
            "closing the starter's end ends the tie (end-of-file in the child)");
        ok (read_file (log, buf, sizeof (buf)) > 0 && strstr (buf, "fd=3\n") &&
                strstr (buf, "eof\n"),
            "the child saw ZPAR_TIE_FD=3 and end-of-file on it");
        unlink (log);
        errno = 0;
        ok (zpar__tie_create (NULL, &rfd) < 0 && errno == EINVAL, "tie_create NULL: EINVAL");
        setenv (ZPAR_TIE_ENV, "not-a-number", 1);
        errno = 0;
        ok (zpar__tie_watch (NULL) < 0 && errno == EBADF && !getenv (ZPAR_TIE_ENV),
            "tie_watch with a bad ZPAR_TIE_FD: EBADF, variable removed");
        ok (zpar__tie_watch (NULL) == 0, "tie_watch without a tie: 0");
    }

    rmdir (tmpdir);
    return done_testing ();
}
