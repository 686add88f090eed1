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
 * Fencing (doc/engine.md, "Fencing"): once the engine has set a fence
 * limit and ticked, the keeper kills every listed group when no tick came
 * for the limit (no word from the controller: the engine is stopped or
 * cut off, and the controller will soon declare it dead and run its tasks
 * elsewhere), unless the engine said "hold" (the controller is gone: its
 * connection closed) since the last tick.  It first tells the engine that
 * a fence began (zpar__keeper_fence_seen), then, before each kill, the
 * group (a note the engine reads with zpar__keeper_fenced).  Until the
 * engine says "resume" it also kills every group listed anew: a tick does
 * not end a fence (the pings that piled up while the engine was stopped
 * are no word on whether its tasks are still its own); the engine resumes
 * once it has registered again and the controller has told it which of its
 * tasks went elsewhere.  Its own
 * timer firing more than a heartbeat period late (the whole node stalled)
 * does not count as silence.  The socket is SOCK_SEQPACKET: the heart
 * thread's ticks and the engine thread's records never interleave.
 *
 * Limits: a task that leaves its process group (setsid, setpgid) escapes
 * the kill; a group listed after a task was started is not covered during
 * the microseconds before the engine tells the keeper (the parent-death
 * signal still ends the direct child).
 *
 * Thread-safety: one thread, the engine's; the _fd tick and hold from any.
 */
#ifndef ZPAR__KEEPER_H
#define ZPAR__KEEPER_H

#include <stddef.h>
#include <stdint.h>
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

/* Take group pgid off the list with the next record sent to the keeper
 * (an add, any record, zpar__keeper_flush or zpar__keeper_stop) instead of
 * at once: a task's removal then travels with the next task's add, and the
 * keeper wakes once for both.  The caller flushes within a few
 * milliseconds when no record follows (a reaped group's id is not reused
 * that soon).  At most 32 are held: the 33rd flushes them.  0, or -1 with
 * errno as zpar__keeper_add.  zpar__keeper_pending: how many are held. */
int zpar__keeper_remove_soon (zpar_keeper_t *k, pid_t pgid);
int zpar__keeper_pending (const zpar_keeper_t *k);
int zpar__keeper_flush (zpar_keeper_t *k);

/* Fencing: set the limit (ms without a tick before the keeper fences; 0:
 * off) and the heartbeat period (ms: how late its own timer may fire
 * before it counts as a stall).  0, or -1 with errno (EINVAL, or as add). */
int zpar__keeper_fence_limit (zpar_keeper_t *k, uint32_t limit_ms, uint32_t period_ms);

/* The limit set (0: off, or k NULL). */
uint32_t zpar__keeper_limit_ms (const zpar_keeper_t *k);

/* The controller was heard now (a ping, a registration reply) / is gone
 * (its connection closed: hold, no fencing until the next tick).  The _fd
 * forms take the engine's end of the socket (zpar__keeper_fd) and may be
 * called from another thread (the heart's): one packet each, never
 * blocks.  0, or -1 with errno (EINVAL, EAGAIN, EPIPE). */
int zpar__keeper_tick (zpar_keeper_t *k);
int zpar__keeper_hold (zpar_keeper_t *k);
int zpar__keeper_tick_fd (int fd);
int zpar__keeper_hold_fd (int fd);

/* Did the keeper say a fence began, not ended by zpar__keeper_resume since?
 * Reads the notes first.  0 if k is NULL.  The engine's thread only. */
int zpar__keeper_fence_seen (zpar_keeper_t *k);

/* Is the keeper gone (a write failed, or its end closed)?  1 if k is NULL. */
int zpar__keeper_gone (const zpar_keeper_t *k);

/* The same without reading the socket (what was read already). */
int zpar__keeper_fence_flag (const zpar_keeper_t *k);

/* End the fence: the engine registered again after it saw the fence (the
 * controller knows which of its tasks are still its own); tasks listed
 * from now on run.  0, or -1 with errno (as add). */
int zpar__keeper_resume (zpar_keeper_t *k);

/* Read the keeper's notes (groups it fenced) waiting on the socket; how
 * many were read.  Never blocks.  The engine's thread only. */
size_t zpar__keeper_read_notes (zpar_keeper_t *k);

/* Did the keeper fence group pgid?  Reads the notes first; a note found is
 * consumed (1), else 0.  The keeper writes the note before it kills, so
 * once the task is reaped its note is there. */
int zpar__keeper_fenced (zpar_keeper_t *k, pid_t pgid);

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
