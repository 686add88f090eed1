/* reactor.h - the one event loop of zpar (internal).
 *
 * Every loop of zpar (hub, schedulers, engine, client library, sweep
 * runner) is a reactor with watchers on it:
 *
 *   zmq      a ZeroMQ socket is readable (ZPAR_EV_IN) / writable (ZPAR_EV_OUT)
 *   fd       a file descriptor is readable / writable
 *   timer    a time has come (once, or repeating)
 *   signal   a signal arrived (through a signalfd; see below)
 *
 * The reactor owns the only wait on ZeroMQ sockets of the code base (a
 * poll(2) over their ZMQ_FD and the fds; see reactor.c for why not
 * zmq_poll).  Readiness is level-triggered (zmq_poll semantics): a
 * callback that does not drain its socket is called again on the next
 * iteration, and a socket the program used outside the loop (which can
 * leave it readable with a silent ZMQ_FD) is asked again before the next
 * wait.  Callbacks run in the
 * reactor's thread, one at a time; they may start, stop and destroy any
 * watcher, including their own, and may call zpar__reactor_stop().
 *
 * Signals: the library never installs a signal handler.  A signal watcher
 * reads its signal from a signalfd; the signal must be blocked in every
 * thread of the process, which is the *program's* job (the zpar program
 * blocks SIGINT, SIGTERM, SIGHUP and SIGCHLD in main() before it starts any
 * thread; see zpar__reactor_block_signals).  Child processes must be given
 * an empty signal mask (the subprocess helper and the task runner do).
 *
 * Timers use the monotonic clock.  The reactor caches "now" once per
 * iteration (zpar__reactor_now_us) so that handlers of one wake-up agree.
 *
 * Thread-safety: a reactor and its watchers belong to one thread.
 */
#ifndef ZPAR__REACTOR_H
#define ZPAR__REACTOR_H

#include <signal.h>
#include <stdint.h>

typedef struct zpar_reactor zpar_reactor_t;
typedef struct zpar_watcher zpar_watcher_t;

/* revents / events bits */
enum {
    ZPAR_EV_IN = 1,
    ZPAR_EV_OUT = 2,
    ZPAR_EV_ERR = 4,
};

/* A watcher's callback.  revents: ZPAR_EV_* bits that are ready (0 for
 * timers; for signal watchers, the signal number is in
 * zpar__watcher_signal_info's last value).  arg is the one given at
 * creation. */
typedef void (*zpar_watcher_f) (zpar_reactor_t *r, zpar_watcher_t *w, int revents, void *arg);

/* Create / destroy.  destroy also destroys every watcher still attached
 * (it does not close their sockets or fds).  NULL-safe, keeps errno.
 * create: NULL with errno (ENOMEM). */
zpar_reactor_t *zpar__reactor_create (void);
void zpar__reactor_destroy (zpar_reactor_t *r);

/* Run until zpar__reactor_stop() is called or no watcher is active.
 * 0 when stopped / nothing left to watch, -1 with errno if polling failed
 * (EINTR is not a failure: the loop goes on). */
int zpar__reactor_run (zpar_reactor_t *r);

/* One iteration: wait at most timeout_ms (-1: until the next timer or
 * event, 0: do not wait) for events, then call every ready watcher and
 * every timer that is due.  Returns the number of callbacks made (0 on
 * timeout), -1 with errno on failure.  For callers that drive the reactor
 * from their own synchronous code (the client library's calls). */
int zpar__reactor_run_once (zpar_reactor_t *r, long timeout_ms);

/* Make zpar__reactor_run return after the current callback.  Safe to call
 * from a callback; from another thread use a watcher on a pipe or socket. */
void zpar__reactor_stop (zpar_reactor_t *r);

/* 1 if zpar__reactor_stop was called since the last run started. */
int zpar__reactor_stopped (const zpar_reactor_t *r);

/* Monotonic microseconds, cached at the start of the current iteration
 * (refreshed by zpar__reactor_now_update). */
uint64_t zpar__reactor_now_us (const zpar_reactor_t *r);
void zpar__reactor_now_update (zpar_reactor_t *r);

/* Watchers.  Each is created stopped; zpar__watcher_start arms it.
 * All return NULL with errno (EINVAL, ENOMEM) on failure. */
zpar_watcher_t *zpar__zmq_watcher_create (zpar_reactor_t *r, void *sock, int events,
                                          zpar_watcher_f cb, void *arg);
zpar_watcher_t *zpar__fd_watcher_create (zpar_reactor_t *r, int fd, int events, zpar_watcher_f cb,
                                         void *arg);
/* First call after after_ms, then every repeat_ms (0: once; a one-shot
 * timer stops itself before its callback). */
zpar_watcher_t *zpar__timer_watcher_create (zpar_reactor_t *r, uint64_t after_ms,
                                            uint64_t repeat_ms, zpar_watcher_f cb, void *arg);
/* Called with revents = the signal number each time signum arrives.
 * Blocks signum in the calling thread (the program should already have
 * blocked it process-wide) and reads it from a signalfd.  Several signal
 * watchers may watch different signals; one signal has at most one
 * watcher per reactor (EEXIST). */
zpar_watcher_t *zpar__signal_watcher_create (zpar_reactor_t *r, int signum, zpar_watcher_f cb,
                                             void *arg);

void zpar__watcher_start (zpar_watcher_t *w);
void zpar__watcher_stop (zpar_watcher_t *w);
int zpar__watcher_active (const zpar_watcher_t *w);

/* Change what an io watcher waits for (ZPAR_EV_IN / ZPAR_EV_OUT). */
void zpar__watcher_set_events (zpar_watcher_t *w, int events);

/* Re-arm a timer: first call after after_ms from now, then every
 * repeat_ms.  Starts it. */
void zpar__timer_watcher_reset (zpar_watcher_t *w, uint64_t after_ms, uint64_t repeat_ms);

/* Stop and free (deferred until the current callback returns when called
 * from inside one).  NULL-safe, keeps errno. */
void zpar__watcher_destroy (zpar_watcher_t *w);

/* Change a watcher's callback argument. */
void zpar__watcher_set_arg (zpar_watcher_t *w, void *arg);

/* For the program's main(): block the signals zpar's loops watch (SIGINT,
 * SIGTERM, SIGHUP, SIGCHLD) in the calling thread, so that every thread
 * started afterwards inherits the mask.  Installs nothing.  0 / -1. */
int zpar__reactor_block_signals (void);

/* The signal mask a child process should start with (empty), for
 * posix_spawnattr_setsigmask / after fork. */
void zpar__reactor_child_sigmask (sigset_t *set);

#endif
