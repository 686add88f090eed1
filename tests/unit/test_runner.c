/* test_runner.c - the engine's task runner, without any network.
 *
 * The whole test runs with SIGINT, SIGTERM, SIGHUP and SIGCHLD blocked, as
 * the zpar program blocks them: children must still start with an empty
 * mask (a timeout's SIGTERM kills them) and exits are seen without SIGCHLD.
 *
 * Function tasks use the test library named by $ZPAR_TESTFN (else
 * $builddir/tests/lib/.libs/testfn.so); they are skipped when absent. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "engine/runner.h"
#include "engine/runner_int.h"
#include "msg.h"
#include "reactor.h"
#include "tap.h"
#include "zt_runner.h"

extern char **environ;

#if defined(__SANITIZE_ADDRESS__)
/* A function task's segfault must stay a signal in the forked child, not
 * become AddressSanitizer's report and exit 1. */
__attribute__ ((visibility ("default"), used)) const char *__asan_default_options (void);
const char *__asan_default_options (void)
{
    return "handle_segv=0";
}
#endif

static zpar_reactor_t *reactor;
static zpar_runner_t *r;
static size_t streamed[3];

static void on_output (void *arg, int stream, const void *data, size_t len)
{
    (void)arg;
    (void)data;
    if (stream == 1 || stream == 2)
        streamed[stream] += len;
}

/* Run spec to completion; returns the result (owned by r). */
static const zpar_run_result_t *run (zpar_run_spec_t *spec, double timeout)
{
    return zt_runner_run (r, spec, timeout);
}

static zpar_run_spec_t cmd (char **argv)
{
    zpar_run_spec_t s;
    memset (&s, 0, sizeof (s));
    s.kind = ZPAR_TASK_COMMAND;
    s.argv = argv;
    return s;
}

static zpar_run_spec_t fn (const char *lib, const char *sym, const char *input)
{
    zpar_run_spec_t s;
    memset (&s, 0, sizeof (s));
    s.kind = ZPAR_TASK_FUNCTION;
    s.lib = lib;
    s.symbol = sym;
    s.input = input;
    s.input_len = input ? strlen (input) : 0;
    return s;
}

static int has (const char *hay, const char *needle)
{
    return hay && strstr (hay, needle) != NULL;
}

static int buf_is (const zpar_runbuf_t *b, const char *s)
{
    return b->len == strlen (s) && memcmp (b->data, s, b->len) == 0;
}

static void test_commands (void)
{
    const zpar_run_result_t *res;
    zpar_run_spec_t s;

    {
        char *argv[] = {"/bin/echo", "hello", "world", NULL};
        s = cmd (argv);
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_OK, "echo: status ok");
        ok (res && buf_is (&res->out, "hello world\n"), "echo: stdout captured");
        is_int (res ? res->exit_code : -2, 0, "echo: exit code 0");
        ok (res && res->pid > 0 && res->finished_us >= res->started_us, "echo: pid and times");
    }
    {
        char *argv[] = {"sh", "-c", "echo oops >&2; exit 3", NULL};
        s = cmd (argv);
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_FAILED, "exit 3: status failed");
        is_int (res ? res->exit_code : -2, 3, "exit 3: exit code");
        ok (res && buf_is (&res->err, "oops\n"), "exit 3: stderr captured");
        ok (res && res->out.len == 0, "exit 3: stdout empty");
    }
    {
        char *argv[] = {"zpar-no-such-command-xyz", "a", NULL};
        s = cmd (argv);
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_ERROR, "missing executable: status error");
        ok (res && has (res->error, "command not found: zpar-no-such-command-xyz") &&
                has (res->error, "No such file or directory"),
            "missing executable: clear text");
        diag ("  error: %s", res ? res->error : "");
    }
    {
        char *argv[] = {"/etc/passwd", NULL};
        s = cmd (argv);
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_ERROR && has (res->error, "Permission denied"),
            "non-executable file: error, permission denied");
    }
    {
        char *argv[] = {"sleep", "10", NULL};
        uint64_t t0 = zpar__mono_us ();
        s = cmd (argv);
        s.timeout_ms = 200;
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_TIMEOUT, "sleep 10, timeout 0.2 s: status timeout");
        ok (res && has (res->error, "timed out after 0.2 s"), "timeout: error text");
        is_int (res ? res->signal : 0, SIGTERM, "timeout: SIGTERM ended it");
        ok (zpar__mono_us () - t0 < 3000000, "timeout: well before 10 s");
    }
    {
        /* a timeout of 1 s: the shell sets its trap first (under load a
         * shell took over 0.1 s to get there, and died of the signal) */
        char *argv[] = {"sh", "-c", "trap '' TERM; sleep 10", NULL};
        uint64_t t0 = zpar__mono_us ();
        s = cmd (argv);
        s.timeout_ms = 1000;
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_TIMEOUT && res->signal == SIGKILL,
            "SIGTERM ignored: SIGKILL after the grace period");
        ok (zpar__mono_us () - t0 < 5000000, "SIGTERM ignored: done within grace");
    }
    {
        /* a code that checkpoints on SIGUSR1: told by the timeout, it has
         * the grace to save and leave */
        char *argv[] = {"sh", "-c", "trap 'sleep 0.5; echo saved; exit 3' USR1; sleep 10 & wait",
                        NULL};
        uint64_t t0 = zpar__mono_us ();
        s = cmd (argv);
        s.timeout_ms = 1000;
        s.stop_signal = SIGUSR1;
        s.stop_grace_ms = 5000;
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_TIMEOUT && buf_is (&res->out, "saved\n"),
            "stop signal USR1: the code saw it and saved within the grace");
        ok (res && res->signal == 0 && res->exit_code == 3, "... and exited by itself (3)");
        ok (zpar__mono_us () - t0 < 5000000, "... before the grace ran out");
    }
    {
        char *argv[] = {"sh", "-c", "trap '' USR1 TERM; sleep 10", NULL};
        uint64_t t0 = zpar__mono_us (), dt;
        s = cmd (argv);
        s.timeout_ms = 1000;
        s.stop_signal = SIGUSR1;
        s.stop_grace_ms = 1500;
        res = run (&s, 10);
        dt = zpar__mono_us () - t0;
        ok (res && res->status == ZPAR_STATUS_TIMEOUT && res->signal == SIGKILL,
            "stop signal ignored: SIGKILL after the task's grace");
        ok (dt > 2500000 && dt < 7000000,
            "... 1.5 s after the 1 s timeout, not the default 1 s (%.2f s)", (double)dt / 1e6);
    }
    {
        char *argv[] = {"sh", "-c", "kill -SEGV $$", NULL};
        s = cmd (argv);
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_SIGNALED, "kill -SEGV: signaled");
        is_int (res ? res->signal : 0, 11, "kill -SEGV: signal 11");
        ok (res && has (res->error, "killed by signal 11"), "kill -SEGV: error text");
        diag ("  error: %s", res ? res->error : "");
    }
    {
        char *argv[] = {"sh", "-c", "echo \"$ZT_A/$ZT_B\"; pwd", NULL};
        char *env[] = {"ZT_A=alpha", "ZT_B=beta=2", NULL};
        s = cmd (argv);
        s.env = env;
        s.cwd = "/tmp";
        setenv ("ZT_A", "old", 1);
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_OK && buf_is (&res->out, "alpha/beta=2\n/tmp\n"),
            "env additions override, cwd applies");
        unsetenv ("ZT_A");
    }
    {
        char *argv[] = {"sh", "-c", "sleep 0.05 & echo bg", NULL};
        s = cmd (argv);
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_OK && buf_is (&res->out, "bg\n"),
            "background child: task ends with its main process");
    }
}

static void test_overflow (const char *dir)
{
    const zpar_run_result_t *res;
    char *argv[] = {"sh", "-c", "head -c 300000 /dev/zero; head -c 10 /dev/zero >&2", NULL};
    zpar_run_spec_t s = cmd (argv);
    struct stat st;
    char path[PATH_MAX];

    s.output_cap = 1000;
    s.task_id = ((uint64_t)5 << 32) | 42;
    streamed[1] = streamed[2] = 0;
    res = run (&s, 20);
    ok (res && res->status == ZPAR_STATUS_OK, "300 kB with a 1000-byte cap: ok");
    is_int (res ? res->out.len : 0, 1000, "cap: 1000 bytes kept");
    is_int (res ? res->err.len : 0, 10, "cap: stderr under the cap kept whole");
    is_int (res ? res->truncated : -1, 1, "cap: truncated bit 0 only");
    snprintf (path, sizeof (path), "%s/output/5.42.out", dir);
    ok (res && strcmp (res->out_file, path) == 0, "cap: overflow file named by task id");
    ok (stat (path, &st) == 0 && st.st_size == 300000, "cap: overflow file has the whole stream");
    is_int (streamed[1], 300000, "stream callback saw all of stdout");
    is_int (streamed[2], 10, "stream callback saw all of stderr");

    /* an output directory others may write to (they could plant a symlink
     * to one of our files there): no overflow file, the capped output only */
    snprintf (path, sizeof (path), "%s/output", dir);
    chmod (path, 0777);
    s.task_id = ((uint64_t)5 << 32) | 43;
    res = run (&s, 20);
    ok (res && res->status == ZPAR_STATUS_OK && res->out.len == 1000,
        "output dir 0777: the task still runs, output capped");
    snprintf (path, sizeof (path), "%s/output/5.43.out", dir);
    ok (res && strcmp (res->out_file, path) != 0 && access (path, F_OK) < 0,
        "output dir 0777: no overflow file written there");
    snprintf (path, sizeof (path), "%s/output", dir);
    chmod (path, 0700);
}

static void test_functions (const char *lib)
{
    const zpar_run_result_t *res;
    zpar_run_spec_t s;

    s = fn (lib, "zt_noop", NULL);
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_OK && res->exit_code == 0, "zt_noop: ok");

    s = fn (lib, "zt_echo", "hello function");
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_OK && buf_is (&res->output, "hello function"),
        "zt_echo (isolated): input comes back as output");

    s = fn (lib, "zt_fail", NULL);
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_FAILED && res->exit_code == 3, "zt_fail: failed, exit 3");

    s = fn (lib, "zt_segv", NULL);
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_SIGNALED && res->signal == SIGSEGV,
        "zt_segv: signaled 11, and we are still here");

    s = fn (lib, "zt_abort", NULL);
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_SIGNALED && res->signal == SIGABRT,
        "zt_abort: signaled 6");

    s = fn (lib, "zt_sleep", "30");
    s.timeout_ms = 200;
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_TIMEOUT, "zt_sleep 30, timeout 0.2: timeout");

    s = fn (lib, "zt_rank", NULL);
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_OK && buf_is (&res->output, "engine=7 rank=2"),
        "zt_rank: engine id and rank from the context");

    s = fn (lib, "zt_print", "to stdout\n");
    res = run (&s, 10);
    ok (res && buf_is (&res->out, "to stdout\n") && buf_is (&res->err, "err\n"),
        "function child's stdout/stderr captured");

    s = fn (lib, "zt_echo", "inline-bytes");
    s.inline_fn = 1;
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_OK && buf_is (&res->output, "inline-bytes") &&
            res->pid == 0,
        "zt_echo inline: output, no child");

    s = fn (lib, "zt_fail", NULL);
    s.inline_fn = 1;
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_FAILED && res->exit_code == 3,
        "zt_fail inline: failed 3");

    s = fn (lib, "zt_no_such_symbol", NULL);
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_ERROR && has (res->error, "zt_no_such_symbol"),
        "missing symbol: error naming it");
    diag ("  error: %s", res ? res->error : "");

    {
        uint64_t t0 = zpar__mono_us ();
        int n = 2000;
        for (int i = 0; i < n; i++) {
            s = fn (lib, "zt_noop", NULL);
            s.inline_fn = 1;
            run (&s, 10);
        }
        diag ("inline zt_noop: %.0f tasks/s", n / ((zpar__mono_us () - t0) / 1e6));
        t0 = zpar__mono_us ();
        n = 200;
        for (int i = 0; i < n; i++) {
            s = fn (lib, "zt_noop", NULL);
            run (&s, 10);
        }
        diag ("isolated zt_noop: %.0f tasks/s", n / ((zpar__mono_us () - t0) / 1e6));
    }
}

static void test_control (void)
{
    char *argv[] = {"sleep", "10", NULL};
    zpar_run_spec_t s = cmd (argv);
    const zpar_run_result_t *res;
    uint64_t t0 = zpar__mono_us ();

    zpar__runner_clear (r);
    ok (zpar__runner_start (r, &s) == 0 && zpar__runner_busy (r), "sleep started, busy");
    ok (zpar__runner_start (r, &s) < 0 && errno == EBUSY, "start while busy: EBUSY");
    ok (zpar__runner_interrupt (r, 2000) == 0, "interrupt");
    ok (zpar__runner_wait (r, 10) == 0, "interrupted task ends");
    res = zpar__runner_result (r);
    ok (res && res->status == ZPAR_STATUS_ABORTED && res->signal == SIGINT,
        "interrupted: aborted, by SIGINT");
    ok (zpar__mono_us () - t0 < 3000000, "interrupt was quick");

    zpar__runner_clear (r);
    ok (zpar__runner_start (r, &s) == 0, "sleep started again");
    ok (zpar__runner_kill (r, "engine shutting down") == 0, "kill");
    res = zpar__runner_result (r);
    ok (res && res->status == ZPAR_STATUS_ABORTED && has (res->error, "engine shutting down"),
        "killed: aborted with the reason");
    ok (zpar__runner_start (r, &s) < 0 && errno == EBUSY, "start before clear: EBUSY");
    zpar__runner_clear (r);
    ok (zpar__runner_interrupt (r, 10) < 0 && errno == ESRCH, "interrupt when idle: ESRCH");
    ok (zpar__runner_kill (r, "x") < 0 && errno == ESRCH, "kill when idle: ESRCH");
}

static void test_bad_params (const char *lib)
{
    char *argv_null[] = {NULL};
    char *argv_emptyname[] = {"", NULL};
    char *argv_ok[] = {"true", NULL};
    char *bad_env[] = {"NOEQUALS", NULL};
    static struct {
        const char *name;
        zpar_run_spec_t spec;
        const char *want; /* substring of the error text */
    } table[16];
    int n = 0;

    table[n].name = "NULL argv";
    table[n].spec = cmd (NULL);
    table[n++].want = "empty argv";
    table[n].name = "empty argv";
    table[n].spec = cmd (argv_null);
    table[n++].want = "empty argv";
    table[n].name = "empty command name";
    table[n].spec = cmd (argv_emptyname);
    table[n++].want = "empty command name";
    table[n].name = "bad env entry";
    table[n].spec = cmd (argv_ok);
    table[n].spec.env = bad_env;
    table[n++].want = "NOEQUALS";
    table[n].name = "missing cwd";
    table[n].spec = cmd (argv_ok);
    table[n].spec.cwd = "/nonexistent-zpar-dir";
    table[n++].want = "/nonexistent-zpar-dir";
    table[n].name = "unknown kind";
    table[n].spec = cmd (argv_ok);
    table[n].spec.kind = (zpar_task_kind_t)9;
    table[n++].want = "unknown task kind";
    table[n].name = "function without library";
    table[n].spec = fn (NULL, "zt_noop", NULL);
    table[n++].want = "without a library";
    table[n].name = "function without symbol";
    table[n].spec = fn ("libc.so.6", NULL, NULL);
    table[n++].want = "without a symbol";
    table[n].name = "missing library";
    table[n].spec = fn ("/nowhere/libnothing.so", "zt_noop", NULL);
    table[n++].want = "libnothing.so";
    table[n].name = "missing symbol (libc)";
    table[n].spec = fn ("libc.so.6", "zt_no_such_symbol", NULL);
    table[n++].want = "zt_no_such_symbol";
    if (lib) {
        table[n].name = "missing cwd (function)";
        table[n].spec = fn (lib, "zt_noop", NULL);
        table[n].spec.cwd = "/nonexistent-zpar-dir";
        table[n++].want = "/nonexistent-zpar-dir";
    }
    for (int i = 0; i < n; i++) {
        const zpar_run_result_t *res;
        int rc;
        zpar__runner_clear (r);
        rc = zpar__runner_start (r, &table[i].spec);
        res = zpar__runner_result (r);
        ok (rc == 1 && res && res->status == ZPAR_STATUS_ERROR && has (res->error, table[i].want),
            "bad task: %s -> error result", table[i].name);
        if (res && !has (res->error, table[i].want))
            diag ("  error was: %s", res->error);
    }
    {
        zpar_run_spec_t s = cmd (argv_ok);
        zpar__runner_clear (r);
        ok (zpar__runner_start (NULL, &s) < 0 && errno == EINVAL, "start(NULL runner): EINVAL");
        ok (zpar__runner_start (r, NULL) < 0 && errno == EINVAL, "start(NULL spec): EINVAL");
        ok (zpar__runner_wait (r, 1) < 0 && errno == ESRCH, "wait with nothing started: ESRCH");
        ok (zpar__runner_wait (NULL, 1) < 0 && errno == ESRCH, "wait(NULL): ESRCH");
        ok (zpar__runner_result (r) == NULL, "no result when idle");
        zpar__runner_destroy (NULL);
        ok (1, "destroy(NULL) is a no-op");
    }
}

/* Signals the engine blocks do not reach its children blocked. */
static void test_signals (const char *lib)
{
    const zpar_run_result_t *res;
    zpar_run_spec_t s;
    sigset_t cur;

    ok (pthread_sigmask (SIG_BLOCK, NULL, &cur) == 0 && sigismember (&cur, SIGTERM) == 1 &&
            sigismember (&cur, SIGCHLD) == 1,
        "the test process blocks SIGTERM and SIGCHLD");
    {
        char *argv[] = {"sh", "-c", "kill -TERM $$; sleep 5", NULL};
        s = cmd (argv);
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_SIGNALED && res->signal == SIGTERM,
            "a command's own SIGTERM kills it (empty mask, default action)");
    }
    {
        char *argv[] = {"sh", "-c", "grep -E '^Sig(Blk|Ign)' /proc/self/status", NULL};
        s = cmd (argv);
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_OK &&
                memmem (res->out.data, res->out.len, "SigBlk:\t0000000000000000", 24),
            "a command starts with an empty signal mask");
        if (res && res->out.len)
            diag ("  %.*s", (int)res->out.len, (const char *)res->out.data);
    }
    if (lib) {
        s = fn (lib, "zt_sleep", "30");
        s.timeout_ms = 100;
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_TIMEOUT && res->signal == 0 && res->wall_us < 1000000,
            "function child sees the timeout's SIGTERM as cancellation (returns early)");

        s = fn (lib, "zt_sleep", "30");
        s.inline_fn = 1;
        raise (SIGTERM); /* blocked: stays pending */
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_FAILED && res->exit_code == 4,
            "inline function sees a pending SIGTERM as cancellation");
        {
            sigset_t term;
            struct timespec zero = {0, 0};
            sigemptyset (&term);
            sigaddset (&term, SIGTERM);
            ok (sigtimedwait (&term, NULL, &zero) == SIGTERM, "the pending SIGTERM is still ours");
        }
    }
}

static void on_usr2 (int sig)
{
    (void)sig;
}

/* The hexadecimal mask after "NAME:\t" in a /proc status text. */
static int status_mask (const zpar_runbuf_t *b, const char *name, unsigned long long *mask)
{
    char text[1024], *p;
    size_t n = b->len < sizeof (text) - 1 ? b->len : sizeof (text) - 1;
    memcpy (text, b->data, n);
    text[n] = '\0';
    if (!(p = strstr (text, name)) || !(p = strchr (p, '\t')))
        return -1;
    *mask = strtoull (p + 1, NULL, 16);
    return 0;
}

#define SIGBIT(s) (1ULL << ((s)-1))

/* What a command starts with, whichever way the child is made: the empty
 * mask, SIGINT and SIGPIPE back to default although the engine ignores
 * them, and a signal outside that list that the engine ignores still
 * ignored (as posix_spawn leaves it).  (Handlers never survive the exec;
 * what the child resets them for is the moment before it, with SIGUSR2's
 * installed here.) */
static void test_dispositions (void)
{
    struct sigaction sa, old_usr2, old_int, old_pipe, old_ttou;
    const char *how = zpar__runner_spawn_how ();
    struct utsname u;
    int major = 0, minor = 0;

    memset (&sa, 0, sizeof (sa));
    sigemptyset (&sa.sa_mask);
    sa.sa_handler = on_usr2;
    sigaction (SIGUSR2, &sa, &old_usr2);
    sa.sa_handler = SIG_IGN;
    sigaction (SIGINT, &sa, &old_int);
    sigaction (SIGPIPE, &sa, &old_pipe);
    sigaction (SIGTTOU, &sa, &old_ttou);
#if defined(__x86_64__)
    /* clone3 with CLONE_CLEAR_SIGHAND is Linux 5.5 (AddressSanitizer
     * builds fork instead) */
    if (strcmp (how, "fork") != 0 && uname (&u) == 0 &&
        sscanf (u.release, "%d.%d", &major, &minor) == 2 &&
        (major > 5 || (major == 5 && minor >= 5)))
        is_str (how, "clone3", "x86-64 on Linux %d.%d: command children made by clone3", major,
                minor);
#else
    (void)u;
    (void)major;
    (void)minor;
#endif
    for (int pass = 0; pass < 2; pass++) {
        char *argv[] = {"cat", "/proc/self/status", NULL};
        zpar_run_spec_t s = cmd (argv);
        const zpar_run_result_t *res;
        unsigned long long blk = 1, ign = 0, cgt = 1;

        how = zpar__runner_spawn_how ();
        res = run (&s, 10);
        ok (res && res->status == ZPAR_STATUS_OK && status_mask (&res->out, "SigBlk", &blk) == 0 &&
                status_mask (&res->out, "SigIgn", &ign) == 0 &&
                status_mask (&res->out, "SigCgt", &cgt) == 0,
            "%s: the command's signal masks read", how);
        is_int ((long long)blk, 0, "%s: empty signal mask", how);
        ok (!(ign & SIGBIT (SIGINT)) && !(ign & SIGBIT (SIGPIPE)),
            "%s: SIGINT and SIGPIPE back to default (ignored in the engine)", how);
        ok (ign & SIGBIT (SIGTTOU), "%s: SIGTTOU, ignored in the engine, still ignored", how);
        diag ("  SigBlk %llx SigIgn %llx SigCgt %llx", blk, ign, cgt);
        zpar__runner_set_spawn_clone3 (0);
    }
    ok (strcmp (zpar__runner_spawn_how (), "clone3") != 0, "the plain way can be chosen");
    zpar__runner_set_spawn_clone3 (1);
    sigaction (SIGUSR2, &old_usr2, NULL);
    sigaction (SIGINT, &old_int, NULL);
    sigaction (SIGPIPE, &old_pipe, NULL);
    sigaction (SIGTTOU, &old_ttou, NULL);
}

/* Two runners in one process: each sees its own child's exit. */
static void test_two_runners (void)
{
    zpar_error_t err = {{0}};
    zpar_runner_t *r2 = zpar__runner_create (reactor, 8, -1, NULL, NULL, &err);
    char *slow[] = {"sh", "-c", "sleep 0.3; echo slow", NULL};
    char *fast[] = {"sh", "-c", "echo fast; exit 2", NULL};
    zpar_run_spec_t s1 = cmd (slow), s2 = cmd (fast);
    const zpar_run_result_t *res;

    ok (r2 != NULL, "a second runner on the same reactor");
    if (!r2)
        return;
    zpar__runner_clear (r);
    ok (zpar__runner_start (r, &s1) == 0 && zpar__runner_start (r2, &s2) == 0,
        "both start a child");
    ok (zpar__runner_wait (r2, 10) == 0, "the fast one finishes");
    res = zpar__runner_result (r2);
    ok (res && res->exit_code == 2 && buf_is (&res->out, "fast\n") && zpar__runner_busy (r),
        "fast: its own exit status, the slow one still runs");
    ok (zpar__runner_wait (r, 10) == 0, "the slow one finishes");
    res = zpar__runner_result (r);
    ok (res && res->status == ZPAR_STATUS_OK && buf_is (&res->out, "slow\n"), "slow: ok");
    zpar__runner_destroy (r2);
}

/* A task child runs below the engine (ZPAR_TASK_NICE, default +19, at
 * most 19; 0: as the engine): read its own nice value, field 19 of
 * /proc/self/stat. */
static void test_nice (void)
{
    static const struct {
        const char *env; /* NULL: unset */
        int add;
    } cases[] = {{NULL, 19}, {"0", 0}, {"3", 3}, {"10", 10}, {"40", 19}, {"x", 19}};
    char *argv[] = {"sh", "-c", "cut -d' ' -f19 /proc/self/stat", NULL};
    int base;

    errno = 0;
    base = getpriority (PRIO_PROCESS, 0);
    ok (!(base == -1 && errno), "our own nice value: %d", base);
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++) {
        zpar_error_t err = {{0}};
        zpar_runner_t *rn;
        zpar_run_spec_t s = cmd (argv);
        const zpar_run_result_t *res;
        char want[16];
        int n = base + cases[i].add > 19 ? 19 : base + cases[i].add;

        if (cases[i].env)
            setenv ("ZPAR_TASK_NICE", cases[i].env, 1);
        else
            unsetenv ("ZPAR_TASK_NICE");
        rn = zpar__runner_create (reactor, 9, -1, NULL, NULL, &err);
        unsetenv ("ZPAR_TASK_NICE");
        if (!rn) {
            ok (0, "runner for ZPAR_TASK_NICE=%s: %s", cases[i].env ? cases[i].env : "(unset)",
                err.text);
            continue;
        }
        snprintf (want, sizeof (want), "%d\n", n);
        ok (zpar__runner_start (rn, &s) == 0 && zpar__runner_wait (rn, 10) == 0,
            "ZPAR_TASK_NICE=%s: the task ran", cases[i].env ? cases[i].env : "(unset)");
        res = zpar__runner_result (rn);
        ok (res && res->status == ZPAR_STATUS_OK && buf_is (&res->out, want),
            "ZPAR_TASK_NICE=%s: the task's nice value is %d (got %.*s)",
            cases[i].env ? cases[i].env : "(unset)", n, res ? (int)res->out.len : 0,
            res && res->out.data ? (const char *)res->out.data : "");
        if (access ("/proc/self/autogroup", R_OK) == 0 && n > base) {
            /* the kernel shares CPU by session first: the task's own
             * session must be demoted too, or nice changes nothing */
            char *ag[] = {"cat", "/proc/self/autogroup", NULL};
            char nice_txt[24];
            s = cmd (ag);
            zpar__runner_clear (rn);
            snprintf (nice_txt, sizeof (nice_txt), " nice %d\n", n);
            ok (zpar__runner_start (rn, &s) == 0 && zpar__runner_wait (rn, 10) == 0 &&
                    (res = zpar__runner_result (rn)) && res->out.data &&
                    memmem (res->out.data, res->out.len, nice_txt, strlen (nice_txt)),
                "ZPAR_TASK_NICE=%s: the task's autogroup has nice %d",
                cases[i].env ? cases[i].env : "(unset)", n);
        }
        zpar__runner_destroy (rn);
    }
}

/* Without pidfds (old kernels) the exit is polled for. */
static void test_no_pidfd (void)
{
    const zpar_run_result_t *res;
    char *echo[] = {"sh", "-c", "echo polled; exit 4", NULL};
    char *slp[] = {"sleep", "10", NULL};
    zpar_run_spec_t s = cmd (echo);

    zpar__runner_set_no_pidfd (r, 1);
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_FAILED && res->exit_code == 4 &&
            buf_is (&res->out, "polled\n"),
        "no pidfd: exit status and output");
    s = cmd (slp);
    s.timeout_ms = 100;
    res = run (&s, 10);
    ok (res && res->status == ZPAR_STATUS_TIMEOUT && res->signal == SIGTERM,
        "no pidfd: timeout still ends it");
    zpar__runner_set_no_pidfd (r, 0);
}

static void bench_spawn (void)
{
    char *argv[] = {"/bin/true", NULL};
    int n = 300;
    uint64_t t0 = zpar__mono_us ();
    double bare, ours;
    for (int i = 0; i < n; i++) {
        pid_t pid;
        int st;
        if (posix_spawn (&pid, "/bin/true", NULL, NULL, argv, environ) == 0)
            waitpid (pid, &st, 0);
    }
    bare = n / ((zpar__mono_us () - t0) / 1e6);
    t0 = zpar__mono_us ();
    for (int i = 0; i < n; i++) {
        zpar_run_spec_t s = cmd (argv);
        run (&s, 10);
    }
    ours = n / ((zpar__mono_us () - t0) / 1e6);
    diag ("/bin/true: bare posix_spawn %.0f/s, runner %.0f/s (%.0f%%)", bare, ours,
          100.0 * ours / bare);
}

/* An "engine" (a forked process with its own reactor and runner, no
 * keeper) starts a task and is killed with SIGKILL: the task's direct
 * child must die of its parent-death signal. */
static void test_parent_death (const char *lib)
{
    for (int kind = 0; kind < 2; kind++) {
        int pfd[2];
        pid_t eng, task = 0;
        int st, gone = 0;
        if (kind == 1 && !lib)
            break;
        if (pipe (pfd) < 0)
            return;
        eng = fork ();
        if (eng == 0) {
            char *argv[] = {"sleep", "30", NULL};
            zpar_reactor_t *er = zpar__reactor_create ();
            zpar_runner_t *rr = er ? zpar__runner_create (er, 9, -1, NULL, NULL, NULL) : NULL;
            zpar_run_spec_t spec = kind == 0 ? cmd (argv) : fn (lib, "zt_sleep", "30");
            pid_t p = 0;
            if (rr && zpar__runner_start (rr, &spec) == 0)
                p = zpar__runner_result (rr) ? 0 : rr->pid;
            if (write (pfd[1], &p, sizeof (p)) != (ssize_t)sizeof (p))
                _exit (1);
            for (;;)
                pause ();
        }
        close (pfd[1]);
        if (eng < 0 || read (pfd[0], &task, sizeof (task)) != (ssize_t)sizeof (task) || task <= 0) {
            ok (0, "%s task started by a throw-away engine", kind ? "function" : "command");
            close (pfd[0]);
            if (eng > 0) {
                kill (eng, SIGKILL);
                waitpid (eng, &st, 0);
            }
            continue;
        }
        close (pfd[0]);
        ok (kill (task, 0) == 0, "%s task %d runs", kind ? "function" : "command", (int)task);
        kill (eng, SIGKILL);
        waitpid (eng, &st, 0);
        /* the task is not our child: it was reparented; poll its state */
        for (int i = 0; i < 250 && !gone; i++) {
            char path[64], buf[512];
            FILE *f;
            struct timespec t = {0, 20 * 1000 * 1000};
            snprintf (path, sizeof (path), "/proc/%d/stat", (int)task);
            if (!(f = fopen (path, "r")))
                gone = 1;
            else {
                size_t n = fread (buf, 1, sizeof (buf) - 1, f);
                char *rp;
                fclose (f);
                buf[n] = '\0';
                rp = strrchr (buf, ')');
                if (rp && (rp[2] == 'Z' || rp[2] == 'X'))
                    gone = 1;
            }
            if (!gone)
                nanosleep (&t, NULL);
        }
        ok (gone, "its engine SIGKILLed (no keeper): the %s task died of its parent-death signal",
            kind ? "function" : "command");
        if (!gone)
            kill (task, SIGKILL);
    }
}

int main (void)
{
    zpar_error_t err = {{0}};
    char dir[] = "/tmp/zpar-test-runner-XXXXXX";
    char libbuf[PATH_MAX];
    const char *lib = getenv ("ZPAR_TESTFN");
    const char *bd = getenv ("builddir");

    plan (NO_PLAN);
    if ((!lib || !*lib) && bd) {
        snprintf (libbuf, sizeof (libbuf), "%s/tests/lib/.libs/testfn.so", bd);
        if (access (libbuf, R_OK) == 0)
            lib = libbuf;
    }
    if (lib && access (lib, R_OK) < 0)
        lib = NULL;
    ok (mkdtemp (dir) != NULL, "temporary ZPAR_DIR");
    setenv ("ZPAR_DIR", dir, 1);

    ok (zpar__reactor_block_signals () == 0, "signals blocked as in the zpar program");
    reactor = zpar__reactor_create ();
    ok (reactor != NULL, "reactor created");
    r = zpar__runner_create (reactor, 7, 2, NULL, NULL, &err);
    ok (r != NULL, "runner created");
    if (!r) {
        diag ("%s", err.text);
        return done_testing ();
    }
    ok (zpar__runner_create (NULL, 1, -1, NULL, NULL, &err) == NULL && errno == EINVAL,
        "runner without a reactor: EINVAL");
    zpar__runner_set_output_cb (r, on_output, NULL);

    test_commands ();
    test_overflow (dir);
    if (lib)
        test_functions (lib);
    else
        diag ("no ZPAR_TESTFN: function tasks skipped");
    test_control ();
    test_signals (lib);
    test_dispositions ();
    test_two_runners ();
    test_nice ();
    test_no_pidfd ();
    test_parent_death (lib);
    test_bad_params (lib);
    bench_spawn ();

    zpar__runner_destroy (r);
    zpar__reactor_destroy (reactor);
    {
        char cmdline[PATH_MAX + 16];
        snprintf (cmdline, sizeof (cmdline), "rm -rf %s", dir);
        (void)!system (cmdline);
    }
    return done_testing ();
}
