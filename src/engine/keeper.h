/* keeper.h - the engine's keeper: the process that kills the engine's
 * tasks when the engine dies without doing it itself (internal).
 *
 * An engine that stops, is shut down or gets SIGTERM/SIGINT kills the
 * process group of its running task itself (runner.h).  An engine killed
 * with SIGKILL (or crashing) runs no code any more: its task's direct child
 * gets SIGKILL from its parent-death signal, but the child's own children
 * live on.  The keeper covers that case: a small process forked by the
 * engine when it starts, in a session of its own (a signal to the engine's
 * process group or session does not reach it), ignoring SIGTERM, SIGINT and
 * SIGHUP, every other signal at its default and none blocked.  The engine
 * tells it, over a socket, the process group of every task it starts and
 * every group it has finished with; when the socket reaches end-of-file
 * (the engine is gone, however it went) the keeper sends SIGKILL to every
 * group still listed, says so on stderr, and exits.
 *
 * The keeper is forked, not executed: it runs only async-signal-safe
 * system calls (read, kill, write, _exit), so forking it from an engine
 * that already has threads (PMIx, MPI) is safe.  It closes every
 * descriptor but its socket and stderr.
 *
 * Limits: a task that leaves its process group (setsid, setpgid) escapes
 * the kill; a group listed after a task was started is not covered during
 * the microseconds before the engine tells the keeper (the parent-death
 * signal still ends the direct child).
 *
 * Thread-safety: one thread, the engine's.
 */
#ifndef ZPAR__KEEPER_H
#define ZPAR__KEEPER_H

#include <sys/types.h>

#include "zpar/error.h"

typedef struct zpar_keeper zpar_keeper_t;

/* Fork the keeper.  NULL with errno (ENOMEM, or from socketpair/fork) and
 * err. */
zpar_keeper_t *zpar__keeper_start (zpar_error_t *err);

/* List the process group pgid (a task started) / take it off the list (the
 * engine killed and reaped it).  Never blocks.  0, or -1 with errno
 * (EINVAL: k NULL or pgid <= 0; EPIPE: the keeper is gone, said once in
 * the log; EAGAIN: the keeper does not read). */
int zpar__keeper_add (zpar_keeper_t *k, pid_t pgid);
int zpar__keeper_remove (zpar_keeper_t *k, pid_t pgid);

/* The engine's end of the socket: a forked child that does not exec must
 * close it (or the keeper would not see the engine go).  -1 if k is NULL. */
int zpar__keeper_fd (const zpar_keeper_t *k);

/* The keeper's pid (0 if k is NULL). */
pid_t zpar__keeper_pid (const zpar_keeper_t *k);

/* Close the socket (the keeper kills what is still listed and exits) and
 * reap the keeper, waiting at most about one second.  NULL-safe, keeps
 * errno. */
void zpar__keeper_stop (zpar_keeper_t *k);

#endif
