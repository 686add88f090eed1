/* local_relay.c - the relay of a local cluster's engines.  See
 * local_relay.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "conn.h"
#include "error.h"
#include "local_relay.h"
#include "relay/relay.h"
#include "relay/relay_node.h"
#include "subproc.h"

int zpar__local_relay_dir (const zpar_launch_opts_t *o, const char *engine_path, char *rdir,
                           size_t size, zpar_error_t *err)
{
    zpar_relay_mode_t mode;
    zpar_conninfo_t ci;
    char host[256] = "localhost";

    if (!o || !o->dir || !engine_path || !rdir || !size)
        return zpar__errnoprintf (err, EINVAL, "local relay: bad parameters");
    rdir[0] = '\0';
    if (zpar__relay_mode_parse (o->relay, &mode, err) < 0)
        return -1;
    /* the controller runs here, with the engines: rank 0 + N */
    if (!zpar__relay_wanted (mode, 1, o->engines + 1, o->scheme))
        return 0;
    memset (&ci, 0, sizeof (ci));
    if (snprintf (rdir, size, "%s/relay", o->dir) < (int)size &&
        zpar__relay_engine_addrs (rdir, &ci) == 0)
        return 0;
    /* too long for ipc: the node's relay directory, from the cluster key */
    if (zpar__conn_read (engine_path, &ci, err) < 0) {
        rdir[0] = '\0';
        return -1;
    }
    (void)gethostname (host, sizeof (host) - 1);
    if (zpar__relay_dir (&ci, host, rdir, size, err) < 0) {
        rdir[0] = '\0';
        return -1;
    }
    return 0;
}

pid_t zpar__local_relay_spawn (const char *self, const zpar_launch_opts_t *o,
                               const char *engine_path, const char *rdir, int tie_fd,
                               zpar_error_t *err)
{
    char log[PATH_MAX];
    char *argv[10];
    int k = 0;
    zpar_subproc_opts_t so = {.argv = argv,
                              .out = log,
                              .err = log,
                              .flags = ZPAR_SUBPROC_SETSID | ZPAR_SUBPROC_STDIN_NULL,
                              .tie_fd = tie_fd};
    pid_t pid;

    argv[k++] = (char *)self;
    argv[k++] = "relay";
    argv[k++] = "--keep";
    argv[k++] = "--connection-file";
    argv[k++] = (char *)engine_path;
    argv[k++] = "--dir";
    argv[k++] = (char *)rdir;
    if (o->interface) {
        argv[k++] = "--interface";
        argv[k++] = (char *)o->interface;
    }
    argv[k] = NULL;
    if (snprintf (log, sizeof (log), "%s/relay.log", o->dir) >= (int)sizeof (log)) {
        zpar__errnoprintf (err, ENAMETOOLONG, "%s/relay.log: path too long", o->dir);
        return -1;
    }
    if ((pid = zpar__subproc_spawn (&so, err)) < 0)
        zpar__errprintf (err, "cannot start the relay: %s", strerror (errno));
    return pid;
}

int zpar__local_relay_wait (pid_t pid, const char *rdir, double deadline,
                            const zpar_launch_opts_t *o, zpar_error_t *err)
{
    char sock[PATH_MAX + 16];
    int status = 0;

    snprintf (sock, sizeof (sock), "%s/registrar", rdir);
    for (;;) {
        struct stat st;
        if (stat (sock, &st) == 0 && S_ISSOCK (st.st_mode))
            return 0;
        if (waitpid (pid, &status, WNOHANG) == pid)
            return zpar__errnoprintf (
                err, ECHILD, "the relay exited during start-up (%s %d): see %s/relay.log",
                WIFEXITED (status) ? "status" : "signal",
                WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status), o->dir);
        if (o->cancel && o->cancel (o->cancel_arg))
            return zpar__errnoprintf (err, ECANCELED, "interrupted");
        if (zpar__mono_s () >= deadline)
            return zpar__errnoprintf (err, ETIMEDOUT, "the relay did not bind %s within %g s", sock,
                                      o->timeout);
        zpar__sleep_s (0.005);
    }
}
