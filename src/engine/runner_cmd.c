/* runner_cmd.c - command tasks: posix_spawnp with stdin from /dev/null,
 * stdout/stderr on pipes, a new process group, an empty signal mask and
 * default dispositions.  See runner.h. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reactor.h"
#include "runner_int.h"

extern char **environ;

int zpar__runner_build_env (char *const *add, char ***envp, const char **bad)
{
    size_t nenv = 0, nadd = 0, k = 0;
    char **v;

    *envp = environ;
    if (!add || !add[0])
        return 0;
    for (; add[nadd]; nadd++) {
        const char *eq = strchr (add[nadd], '=');
        if (!eq || eq == add[nadd]) {
            *bad = add[nadd];
            errno = EINVAL;
            return -1;
        }
    }
    while (environ && environ[nenv])
        nenv++;
    if (!(v = malloc ((nenv + nadd + 1) * sizeof (*v))))
        return -1;
    for (size_t i = 0; i < nenv; i++) {
        const char *e = environ[i];
        size_t nl = strcspn (e, "=");
        int overridden = 0;
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

int zpar__runner_start_command (zpar_runner_t *r, const zpar_run_spec_t *spec)
{
    /* reset to default in the child: whatever the engine ignores or
     * handles (blocked signals are covered by the empty mask) */
    static const int defsigs[] = {SIGPIPE, SIGINT,  SIGTERM, SIGCHLD, SIGHUP,
                                  SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM};
    int po[2] = {-1, -1}, pe[2] = {-1, -1};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t set;
    char **envp = NULL;
    const char *bad = NULL;
    char why[128];
    pid_t pid;
    int rc;

    if (!spec->argv || !spec->argv[0])
        return zpar__runner_fail_now (r, "command task without a command (empty argv)");
    if (!spec->argv[0][0])
        return zpar__runner_fail_now (r, "command task with an empty command name");
    if (zpar__runner_build_env (spec->env, &envp, &bad) < 0) {
        if (errno == EINVAL)
            return zpar__runner_fail_now (r, "bad environment entry '%s': give NAME=VALUE", bad);
        return zpar__runner_fail_now (r, "cannot build the environment: %s", strerror (errno));
    }
    if (zpar__runner_pipe (po) < 0 || zpar__runner_pipe (pe) < 0) {
        int e = errno;
        zpar__runner_close_fd (&po[0]);
        zpar__runner_close_fd (&po[1]);
        if (envp != environ)
            free (envp);
        return zpar__runner_fail_now (r, "cannot create pipes: %s", strerror (e));
    }
    posix_spawn_file_actions_init (&fa);
    posix_spawn_file_actions_addopen (&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2 (&fa, po[1], 1);
    posix_spawn_file_actions_adddup2 (&fa, pe[1], 2);
    if (spec->cwd && *spec->cwd)
        posix_spawn_file_actions_addchdir_np (&fa, spec->cwd);
    posix_spawnattr_init (&at);
    posix_spawnattr_setflags (&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                       POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setpgroup (&at, 0);
    zpar__reactor_child_sigmask (&set);
    posix_spawnattr_setsigmask (&at, &set);
    sigemptyset (&set);
    for (size_t i = 0; i < sizeof (defsigs) / sizeof (defsigs[0]); i++)
        sigaddset (&set, defsigs[i]);
    posix_spawnattr_setsigdefault (&at, &set);

    rc = posix_spawnp (&pid, spec->argv[0], &fa, &at, spec->argv, envp);

    posix_spawnattr_destroy (&at);
    posix_spawn_file_actions_destroy (&fa);
    if (envp != environ)
        free (envp);
    zpar__runner_close_fd (&po[1]);
    zpar__runner_close_fd (&pe[1]);
    if (rc != 0) {
        zpar__runner_close_fd (&po[0]);
        zpar__runner_close_fd (&pe[0]);
        if (zpar__runner_cwd_problem (spec->cwd && *spec->cwd ? spec->cwd : NULL, why,
                                      sizeof (why)))
            return zpar__runner_fail_now (r, "cannot change to the working directory %s (%s)",
                                          spec->cwd, why);
        if (rc == ENOENT)
            return zpar__runner_fail_now (r, "command not found: %s (%s)", spec->argv[0],
                                          strerror (rc));
        if (rc == EACCES)
            return zpar__runner_fail_now (r, "cannot execute %s (%s)", spec->argv[0],
                                          strerror (rc));
        return zpar__runner_fail_now (r, "cannot start %s (%s)", spec->argv[0], strerror (rc));
    }
    r->pid = pid;
    r->res.pid = pid;
    r->fd[FD_OUT] = po[0];
    r->fd[FD_ERR] = pe[0];
    r->fd[FD_RES] = -1;
    return zpar__runner_child_started (r);
}
