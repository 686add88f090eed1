/* runner_cmd.c - command tasks: started with stdin from /dev/null,
 * stdout/stderr on pipes, in a new process group, with SIGKILL as their
 * parent-death signal, an empty signal mask and default dispositions.  See
 * runner.h and doc/engine.md ("Containment").
 *
 * posix_spawn cannot set a parent-death signal, so the child is made the
 * way glibc's posix_spawn makes it: clone(CLONE_VM | CLONE_VFORK) on a
 * stack of its own, all signals blocked in the parent meanwhile; the child
 * runs only system calls (and execvpe) and reports a failure before exec
 * in memory it shares with the parent, which resumes once the child has
 * exec'd or exited.  On x86-64 the child is made with clone3 and
 * CLONE_CLEAR_SIGHAND (Linux 5.5): the kernel resets every handled signal
 * to its default in the child, which then resets only the signals the
 * engine ignores, instead of asking each of the 64 signals' disposition
 * (clone3 has no libc wrapper that runs a function on a new stack: a few
 * lines of assembly below do it; where clone3 is refused, by an older
 * kernel or a seccomp filter, the plain clone is used from then on).
 * Under AddressSanitizer (which does not follow a CLONE_VM child) it
 * forks instead and reports through a pipe. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/sched.h>
#endif

#include "engine_res.h"
#include "mpi_launch.h"
#include "reactor.h"
#include "runner_int.h"

#if defined(__SANITIZE_ADDRESS__)
#define SPAWN_FORK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPAWN_FORK 1
#endif
#endif
#ifndef SPAWN_FORK
#define SPAWN_FORK 0
#endif

#if !SPAWN_FORK && defined(__x86_64__) && defined(__GNUC__) && defined(SYS_clone3) &&              \
    defined(CLONE_CLEAR_SIGHAND)
#define SPAWN_CLONE3 1
#else
#define SPAWN_CLONE3 0
#endif

#define SPAWN_STACK (64u * 1024) /* plus the argv pointers execvpe copies */

extern char **environ;

int zpar__runner_build_env (char *const *add, int (*drop) (const char *), char ***envp,
                            const char **bad)
{
    size_t nenv = 0, nadd = 0, ndrop = 0, k = 0;
    char **v;

    *envp = environ;
    for (; add && add[nadd]; nadd++) {
        const char *eq = strchr (add[nadd], '=');
        if (!eq || eq == add[nadd]) {
            *bad = add[nadd];
            errno = EINVAL;
            return -1;
        }
    }
    for (; environ && environ[nenv]; nenv++)
        ndrop += drop && drop (environ[nenv]);
    if (!nadd && !ndrop)
        return 0;
    if (!(v = malloc ((nenv + nadd + 1) * sizeof (*v))))
        return -1;
    for (size_t i = 0; i < nenv; i++) {
        const char *e = environ[i];
        size_t nl = strcspn (e, "=");
        int overridden = ndrop && drop (e);
        for (size_t j = 0; j < nadd && !overridden; j++)
            if (strncmp (add[j], e, nl) == 0 && add[j][nl] == '=')
                overridden = 1;
        if (!overridden)
            v[k++] = environ[i];
    }
    for (size_t j = 0; j < nadd; j++)
        v[k++] = add[j];
    v[k] = NULL;
    *envp = v;
    return 0;
}

const char *zpar__runner_cwd_problem (const char *cwd, char *buf, size_t size)
{
    struct stat st;
    if (!cwd)
        return NULL;
    if (stat (cwd, &st) < 0)
        snprintf (buf, size, "%s", strerror (errno));
    else if (!S_ISDIR (st.st_mode))
        snprintf (buf, size, "not a directory");
    else if (access (cwd, X_OK) < 0)
        snprintf (buf, size, "%s", strerror (errno));
    else
        return NULL;
    return buf;
}

/* What the child needs; it writes only err_no and stage. */
typedef struct {
    char *const *argv;
    char *const *envp;
    const char *cwd; /* NULL: stay */
    int out, err;    /* the pipes' write ends */
    pid_t parent;
    int errfd;                  /* SPAWN_FORK: where the child writes (stage, errno); else -1 */
    int nice;                   /* the nice value to set, or ZPAR_NO_NICE */
    const zpar_res_plan_t *res; /* the task's resources (engine_res.h), or NULL */
    int cleared;                /* the kernel reset the handled signals (CLONE_CLEAR_SIGHAND) */
    volatile int err_no;
    volatile int stage;
} spawn_args_t;

enum { STAGE_SETUP = 1, STAGE_CWD = 2, STAGE_EXEC = 3, STAGE_CPUSET = 4, STAGE_MEMORY = 5 };

static void __attribute__ ((noreturn)) spawn_fail (spawn_args_t *a, int stage, int e)
{
    a->err_no = e;
    a->stage = stage;
    if (a->errfd >= 0) {
        int v[2] = {stage, e};
        (void)!write (a->errfd, v, sizeof (v));
    }
    _exit (127);
}

/* In the child (sharing the parent's memory unless SPAWN_FORK): only
 * system calls, no allocation, no lock. */
static int spawn_child (void *arg)
{
    /* reset to default: whatever the engine ignores or handles (blocked
     * signals are covered by the empty mask) */
    static const int defsigs[] = {SIGPIPE, SIGINT,  SIGTERM, SIGCHLD, SIGHUP,
                                  SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};
    spawn_args_t *a = arg;
    struct sigaction sa, old;
    sigset_t mask;
    int fd;

    /* a handler of the parent must never run on this stack */
    memset (&sa, 0, sizeof (sa));
    sigemptyset (&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    if (a->cleared) {
        /* no handler is left: what the engine ignores among these */
        for (size_t i = 0; i < sizeof (defsigs) / sizeof (defsigs[0]); i++)
            (void)sigaction (defsigs[i], &sa, NULL);
    }
    for (int s = 1; s < NSIG && !a->cleared; s++) {
        int reset = 0;
        if (s == SIGKILL || s == SIGSTOP || sigaction (s, NULL, &old) < 0)
            continue;
        if ((old.sa_flags & SA_SIGINFO) || (old.sa_handler != SIG_DFL && old.sa_handler != SIG_IGN))
            reset = 1;
        for (size_t i = 0; i < sizeof (defsigs) / sizeof (defsigs[0]); i++)
            if (defsigs[i] == s)
                reset = 1;
        if (reset)
            (void)sigaction (s, &sa, NULL);
    }
    /* SIGKILL when the engine's thread that started us ends (the engine
     * dies); if it already has, we were adopted: do not run */
    if (prctl (PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
        spawn_fail (a, STAGE_SETUP, errno);
    if (getppid () != a->parent)
        spawn_fail (a, STAGE_SETUP, ESRCH);
    /* its own session: its own process group (pid) and, where the kernel
     * groups by session (autogroup), its own CPU share */
    if (setsid () < 0)
        spawn_fail (a, STAGE_SETUP, errno);
    /* below the control plane (doc/engine.md); raising a nice value needs
     * no privilege, and a task runs anyway if it cannot */
    if (a->nice != ZPAR_NO_NICE)
        zpar__runner_child_nice (a->nice);
    if ((fd = open ("/dev/null", O_RDONLY)) < 0)
        spawn_fail (a, STAGE_SETUP, errno);
    if (fd != 0) {
        (void)dup2 (fd, 0);
        (void)close (fd);
    }
    if (dup2 (a->out, 1) < 0 || dup2 (a->err, 2) < 0)
        spawn_fail (a, STAGE_SETUP, errno);
    if (a->cwd && chdir (a->cwd) < 0)
        spawn_fail (a, STAGE_CWD, errno);
    if (a->res) {
        zpar_res_stage_t rs;
        if (zpar__engine_res_apply_child (a->res, &rs) < 0)
            spawn_fail (a, rs == ZPAR_RES_STAGE_MEMORY ? STAGE_MEMORY : STAGE_CPUSET, errno);
    }
    zpar__reactor_child_sigmask (&mask);
    (void)sigprocmask (SIG_SETMASK, &mask, NULL);
    execvpe (a->argv[0], a->argv, a->envp);
    spawn_fail (a, STAGE_EXEC, errno);
}

#if !SPAWN_FORK
/* The child's stack, at least size bytes: one per thread, kept from one
 * spawn to the next (CLONE_VFORK: the child is done with it when clone
 * returns).  A map and an unmap per task cost a TLB shoot-down on every
 * CPU running one of the engine's threads. */
static __thread void *stack_mem;
static __thread size_t stack_size;

static void *spawn_stack (size_t size)
{
    void *m;
    if (stack_mem && stack_size >= size)
        return stack_mem;
    m = mmap (NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    if (stack_mem)
        (void)munmap (stack_mem, stack_size);
    stack_mem = m;
    stack_size = size;
    return m;
}
#endif

#if SPAWN_CLONE3
/* clone3 on x86-64 with fn (arg) run by the child on the stack the
 * arguments give, which then exits with its return value: the child
 * starts at the instruction after the system call with that stack, so it
 * must not return through this function's frame.  fn and arg ride in
 * r12/r13, which the system call keeps in both processes.  The child's
 * first call finds the stack 16-byte aligned, less the return address,
 * as the ABI wants. */
static long clone3_run (struct clone_args *ca, int (*fn) (void *), void *arg)
{
    long ret;
    register int (*r12) (void *) __asm__("r12") = fn;
    register void *r13 __asm__("r13") = arg;

    __asm__ volatile("syscall\n\t"
                     "testq %%rax, %%rax\n\t"
                     "jnz 1f\n\t"
                     "xorl %%ebp, %%ebp\n\t"
                     "movq %%r13, %%rdi\n\t"
                     "callq *%%r12\n\t"
                     "movl %%eax, %%edi\n\t"
                     "movl %[nr_exit], %%eax\n\t"
                     "syscall\n\t"
                     "ud2\n"
                     "1:"
                     : "=a"(ret)
                     : "0"((long)SYS_clone3), "D"(ca), "S"(sizeof (*ca)), "r"(r12),
                       "r"(r13), [nr_exit] "i"(SYS_exit)
                     : "rcx", "r11", "memory", "cc");
    return ret;
}

/* 1 until clone3 is refused once (ENOSYS: an older kernel; EPERM or
 * ENOSYS from a seccomp filter; EINVAL: a kernel without
 * CLONE_CLEAR_SIGHAND); ZPAR_SPAWN_CLONE3=0 starts with the plain clone. */
static int clone3_usable = -1;

static int clone3_wanted (void)
{
    int v = __atomic_load_n (&clone3_usable, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv ("ZPAR_SPAWN_CLONE3");
        v = !(e && strcmp (e, "0") == 0);
        __atomic_store_n (&clone3_usable, v, __ATOMIC_RELAXED);
    }
    return v;
}
#endif

const char *zpar__runner_spawn_how (void)
{
#if SPAWN_FORK
    return "fork";
#elif SPAWN_CLONE3
    return clone3_wanted () ? "clone3" : "clone";
#else
    return "clone";
#endif
}

void zpar__runner_set_spawn_clone3 (int on)
{
#if SPAWN_CLONE3
    __atomic_store_n (&clone3_usable, on ? 1 : 0, __ATOMIC_RELAXED);
#else
    (void)on;
#endif
}

/* Start the child: its pid, or -1 with errno (the child's failure, *stage
 * saying where, or the parent's own: stage 0). */
static pid_t spawn (spawn_args_t *a, int *stage)
{
    sigset_t all, old;
    pid_t pid;
    int e = 0;

    a->err_no = 0;
    a->stage = 0;
    a->errfd = -1;
    a->cleared = 0;
    a->parent = getpid ();
    *stage = 0;
    sigfillset (&all);
#if SPAWN_FORK
    {
        int ep[2];
        if (pipe2 (ep, O_CLOEXEC) < 0)
            return -1;
        a->errfd = ep[1];
        pthread_sigmask (SIG_SETMASK, &all, &old);
        pid = fork ();
        if (pid == 0)
            spawn_child (a);
        e = errno;
        pthread_sigmask (SIG_SETMASK, &old, NULL);
        (void)close (ep[1]);
        if (pid > 0) {
            int v[2];
            ssize_t n;
            do
                n = read (ep[0], v, sizeof (v));
            while (n < 0 && errno == EINTR);
            if (n == (ssize_t)sizeof (v)) {
                a->stage = v[0];
                a->err_no = v[1];
            }
        }
        (void)close (ep[0]);
    }
#else
    {
        size_t argc = 0, size;
        void *stack;
        while (a->argv[argc])
            argc++;
        size = (SPAWN_STACK + (argc + 2) * sizeof (char *) + 4095) & ~(size_t)4095;
        if (!(stack = spawn_stack (size)))
            return -1;
        pthread_sigmask (SIG_SETMASK, &all, &old);
        pid = -1;
#if SPAWN_CLONE3
        if (clone3_wanted ()) {
            struct clone_args ca;
            long r;
            memset (&ca, 0, sizeof (ca));
            ca.flags = CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND;
            ca.exit_signal = SIGCHLD;
            ca.stack = (uint64_t)(uintptr_t)stack;
            ca.stack_size = size;
            a->cleared = 1;
            r = clone3_run (&ca, spawn_child, a);
            if (r >= 0) {
                pid = (pid_t)r;
            } else if (r == -ENOSYS || r == -EPERM || r == -EINVAL) {
                __atomic_store_n (&clone3_usable, 0, __ATOMIC_RELAXED);
                a->cleared = 0;
            } else {
                errno = (int)-r;
                a->cleared = 0;
            }
        }
        if (pid < 0 && !clone3_wanted ()) /* refused: clone from now on */
#endif
            pid = clone (spawn_child, (char *)stack + size, CLONE_VM | CLONE_VFORK | SIGCHLD, a);
        e = errno;
        pthread_sigmask (SIG_SETMASK, &old, NULL);
    }
#endif
    if (pid < 0) {
        errno = e;
        return -1;
    }
    if (a->err_no) {
        /* it failed before exec and has exited: reap it */
        while (waitpid (pid, NULL, 0) < 0 && errno == EINTR)
            ;
        *stage = a->stage;
        errno = a->err_no;
        return -1;
    }
    return pid;
}

int zpar__runner_start_command (zpar_runner_t *r, const zpar_run_spec_t *spec)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    spawn_args_t a;
    zpar_res_plan_t *res = NULL;
    char *const *add = spec->env;
    char **envp = NULL;
    const char *bad = NULL, *prog = spec->argv ? spec->argv[0] : NULL;
    zpar_mpi_launch_t mpi = {0};
    char why[128], launcher[256];
    pid_t pid;
    int rc = 0, stage = 0;

    if (!spec->argv || !spec->argv[0])
        return zpar__runner_fail_now (r, "command task without a command (empty argv)");
    if (!spec->argv[0][0])
        return zpar__runner_fail_now (r, "command task with an empty command name");
    if (spec->nslots) {
        zpar_error_t rerr;
        if (!(res = zpar__engine_res_plan (spec->slots, spec->nslots, spec->memory, spec->env, NULL,
                                           &rerr)))
            return zpar__runner_fail_now (r, "%s", rerr.text);
        add = zpar__engine_res_plan_env (res);
        r->mem_limit = zpar__engine_res_plan_memory (res);
    }
    /* a plain task starts outside the engines' launch: an MPI program
     * run as one is a singleton (mpi_launch.h); an MPI task's launcher
     * gets its own cleaning (zpar__mpi_launch_task) */
    if (zpar__runner_build_env (add, spec->ranks ? NULL : zpar__task_env_scrubbed, &envp, &bad) <
        0) {
        zpar__engine_res_plan_destroy (res);
        if (errno == EINVAL)
            return zpar__runner_fail_now (r, "bad environment entry '%s': give NAME=VALUE", bad);
        return zpar__runner_fail_now (r, "cannot build the environment: %s", strerror (errno));
    }
    if (spec->ranks) {
        /* an MPI task: the child is its launcher, over the slots' hosts */
        zpar_error_t merr;
        if (zpar__mpi_launch_task (spec->ranks, spec->slots, spec->nslots, spec->argv, envp,
                                   spec->env, &mpi, &merr) < 0) {
            if (envp != environ)
                free (envp);
            zpar__engine_res_plan_destroy (res);
            return zpar__runner_fail_now (r, "%s", merr.text);
        }
        snprintf (launcher, sizeof (launcher), "%s", mpi.argv[0]);
        prog = launcher;
    }
    if (zpar__runner_pipe (po) < 0 || zpar__runner_pipe (pe) < 0) {
        int e = errno;
        zpar__runner_close_fd (&po[0]);
        zpar__runner_close_fd (&po[1]);
        if (envp != environ)
            free (envp);
        zpar__mpi_launch_free (&mpi);
        zpar__engine_res_plan_destroy (res);
        return zpar__runner_fail_now (r, "cannot create pipes: %s", strerror (e));
    }
    memset (&a, 0, sizeof (a));
    a.argv = mpi.argv ? mpi.argv : spec->argv;
    a.envp = mpi.envp ? mpi.envp : envp;
    a.cwd = spec->cwd && *spec->cwd ? spec->cwd : NULL;
    a.out = po[1];
    a.err = pe[1];
    a.nice = zpar__runner_task_nice (r);
    a.res = res;

    pid = spawn (&a, &stage);
    if (pid < 0)
        rc = errno;

    if (envp != environ)
        free (envp);
    zpar__mpi_launch_free (&mpi);
    zpar__runner_close_fd (&po[1]);
    zpar__runner_close_fd (&pe[1]);
    if (pid < 0) {
        char what[ZPAR_RES_CPUSET_MAX + 64];
        zpar__runner_close_fd (&po[0]);
        zpar__runner_close_fd (&pe[0]);
        if (stage == STAGE_CPUSET)
            snprintf (what, sizeof (what), "bind to cpus %s", zpar__engine_res_plan_cpuset (res));
        else
            snprintf (what, sizeof (what), "set a memory limit of %llu bytes",
                      (unsigned long long)zpar__engine_res_plan_memory (res));
        zpar__engine_res_plan_destroy (res);
        if (stage == STAGE_CPUSET || stage == STAGE_MEMORY)
            return zpar__runner_fail_now (r, "cannot %s for %s (%s)", what, prog, strerror (rc));
        if (stage == STAGE_CWD || zpar__runner_cwd_problem (a.cwd, why, sizeof (why)))
            return zpar__runner_fail_now (r, "cannot change to the working directory %s (%s)",
                                          spec->cwd, stage == STAGE_CWD ? strerror (rc) : why);
        if (stage == STAGE_EXEC && rc == ENOENT)
            return zpar__runner_fail_now (r, "command not found: %s (%s)", prog, strerror (rc));
        if (stage == STAGE_EXEC && rc == EACCES)
            return zpar__runner_fail_now (r, "cannot execute %s (%s)", prog, strerror (rc));
        return zpar__runner_fail_now (r, "cannot start %s (%s)", prog, strerror (rc));
    }
    if (res) /* the 1-core path makes no call */
        zpar__engine_res_plan_destroy (res);
    r->pid = pid;
    r->res.pid = pid;
    r->fd[FD_OUT] = po[0];
    r->fd[FD_ERR] = pe[0];
    r->fd[FD_RES] = -1;
    return zpar__runner_child_started (r);
}
