/* hub_int.h - what hub.c, hub_commit.c and hub_restart.c share (internal
 * to the hub; nothing else includes it). */
#ifndef ZPAR__HUB_INT_H
#define ZPAR__HUB_INT_H

#include <stdint.h>

#include "hub.h"

/* The hub's watchers, h->w[...]. */
enum { W_REGISTRAR, W_HB, W_MONITOR, W_PIPE, W_FLUSH, W_RECOVER, W_MONLAZY, W_COUNT };

/* A task the hub tracks until its result. */
typedef struct {
    uint8_t state; /* ZPAR_REC_PENDING / RUNNING */
    uint8_t direct;
    uint8_t recovered; /* recorded by an earlier controller (or resubmitted during the
                          recovery window): not yet adopted nor queued again */
    uint8_t orphan;    /* held by an engine, never recorded (accepted by a controller that
                          died before writing it): running there, request unknown */
    zpar_eid_t engine;
    zpar_cid_t client;
} live_t;

/* Record the result of direct task task (its engine eid is gone or did not
 * report it) as status engine-died with text, as the engine would have
 * sent it. */
void zpar__hub_fail_direct (zpar_hub_t *h, zpar_tid_t task, zpar_eid_t eid, const char *text);

/* hub_restart.c: make the tasks the records show unfinished live again
 * (recovered, h->n_recovered); start the recovery window's timer (0 / -1). */
void zpar__hub_recover_records (zpar_hub_t *h);
int zpar__hub_recovery_start (zpar_hub_t *h);
/* hub_restart.c: write the duplicates count (zpar__hub_duplicates) to the
 * records when it grew (the counter "duplicates": a restarted controller
 * goes on from it); best effort, cheap when it did not grow. */
void zpar__hub_duplicates_save (zpar_hub_t *h);
/* hub_restart.c: a direct task id arrives with no live entry: if it is
 * one a client sends again after a restarted controller answered it
 * "engine not connected" (that answer recorded as its result), the record
 * is withdrawn so that the task is recorded anew.  1 if it was, 0 if not. */
int zpar__hub_direct_again (zpar_hub_t *h, zpar_tid_t id);

/* hub_commit.c: write the records' batch now and send the replies that
 * waited for it (a failure is logged once by the records and tried again
 * every ZPAR_RECORDS_RETRY_MS, the batch kept); after a burst, with
 * nothing live, give the freed heap back to the system. */
void zpar__hub_flush_records (zpar_hub_t *h);

/* hub_commit.c: bound the records' unsaved backlog ($ZPAR_RECORDS_BACKLOG,
 * else the default) and refuse new tasks while it is reached (admit.h). */
void zpar__hub_records_bound (zpar_hub_t *h);

#endif
