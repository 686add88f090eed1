/* corepin.h - the controller's relaying threads on one core.
 *
 * Each message a scheduler relays crosses two threads: libzmq's I/O
 * thread (TCP) and the scheduler's (a mailbox wake-up each way).  When the
 * two run on different cores every hand-off is a cross-core wake-up, which
 * on this machine costs the controller ~25% more CPU per task at a low
 * rate than the same hand-offs on one core (doc/benchmarks.md, "the
 * relaying threads on one core").  So the controller puts the schedulers'
 * threads and its main context's libzmq threads on one CPU of those it may
 * use; the hub, the heartbeat and IOPub threads stay free.
 *
 * ZPAR_CONTROLLER_CPU: "auto" (the default: when the process may use two
 * or more CPUs, one of them, counted from the highest by the process id
 * modulo their number, so that a lone controller takes the last and
 * several on one machine spread out; a process bound to one CPU, as a
 * launcher binds a rank, has nothing to choose), "none" (leave every
 * thread where the system puts it: on a machine where other work may keep
 * one CPU busy, the system then moves them away from it), or a CPU number
 * (one the process may use). */
#ifndef ZPAR__COREPIN_H
#define ZPAR__COREPIN_H

#include <sched.h>

/* The CPU to pin to from the setting and the process's mask; -1: none
 * (one CPU, "none", or a bad setting, which is logged). */
int zpar__corepin_choose (void);

/* Put libzmq's threads of ctx (its I/O thread and reaper, started with
 * its first socket: call before creating any) on cpu.  -1 with errno. */
int zpar__corepin_ctx (void *ctx, int cpu);

/* Move the calling thread to cpu, keeping its mask in *saved, so that the
 * threads it starts inherit cpu; zpar__corepin_leave puts it back.  -1
 * with errno (and nothing changed). */
int zpar__corepin_enter (int cpu, cpu_set_t *saved);
void zpar__corepin_leave (const cpu_set_t *saved);

#endif
