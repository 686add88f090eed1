/* local_procs.h - the processes of a local cluster (local.c): the pids
 * file that records them, and what /proc says of them.
 *
 * The pids file has one line per process the start launched:
 *     controller <pid> <starttime>
 *     relay <pid> <starttime>
 *     engine <n> <pid> <starttime>
 * where starttime is field 22 of /proc/<pid>/stat, so that a recycled pid
 * is never mistaken for ours.  Only processes recorded there, still
 * running zpar (checked in /proc/<pid>/cmdline) are ever signalled.
 */
#ifndef ZPAR__LOCAL_PROCS_H
#define ZPAR__LOCAL_PROCS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    int is_controller;
    int is_relay;
    unsigned n; /* engine number */
    pid_t pid;
    unsigned long long start;
} zpar_proc_rec_t;

typedef struct {
    zpar_proc_rec_t *v;
    size_t n, cap;
} zpar_proc_list_t;

/* Field 22 (starttime) and the state letter of /proc/<pid>/stat; -1 when
 * pid is gone. */
int zpar__proc_stat (pid_t pid, unsigned long long *start, char *state);

/* 1 if pid is alive (not a zombie), runs a zpar binary as controller,
 * engine or relay, and (when start != 0) started at start. */
int zpar__proc_is_ours (pid_t pid, unsigned long long start);

/* Add a process to l; kind: 0 an engine (number n), 1 the controller, 2
 * the relay.  -1 ENOMEM. */
int zpar__procs_add (zpar_proc_list_t *l, int kind, unsigned n, pid_t pid,
                     unsigned long long start);

/* Read <dir>/pids into l.  -1 ENOENT if there is none. */
int zpar__procs_read (const char *dir, zpar_proc_list_t *l);

/* Record pid (kind as zpar__procs_add) in l and in the pids file fd. */
int zpar__procs_record (int fd, zpar_proc_list_t *l, int kind, unsigned n, pid_t pid);

/* How many of l are alive and ours; relay 0: not counting the relay (it
 * runs until told to stop). */
size_t zpar__procs_alive (const zpar_proc_list_t *l, int relay);

/* Send sig to those of l alive and ours. */
void zpar__procs_signal (const zpar_proc_list_t *l, int sig);

/* Reap those of l that are our children and exited, quietly. */
void zpar__procs_reap (const zpar_proc_list_t *l);

/* Wait until none of l is alive, at most timeout seconds: 0 / -1. */
int zpar__procs_wait_gone (const zpar_proc_list_t *l, double timeout);

#endif
