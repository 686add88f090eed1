/* store.h - task records in SQLite (WAL mode), written in batches.
 *
 * The hub calls zpar__store_put_* as tasks are submitted, start and end;
 * those calls only append to an in-memory batch.  zpar__store_flush writes
 * the batch in one transaction; the hub calls it every ~50 ms and when the
 * batch reaches ZPAR_STORE_BATCH records, so the hot path (the schedulers,
 * in other threads) never waits on the disk.  Lookups read through the
 * same connection after flushing.  Owned by one thread (the hub's).
 */
#ifndef ZPAR__STORE_H
#define ZPAR__STORE_H

#include <stddef.h>
#include <stdint.h>

#include "zpar/error.h"

#define ZPAR_STORE_BATCH 4096

typedef struct zpar_store zpar_store_t;

typedef enum {
    ZPAR_REC_PENDING = 0,
    ZPAR_REC_RUNNING = 1,
    ZPAR_REC_DONE = 2,
} zpar_rec_state_t;

/* Open (create) the database at path.  NULL with err. */
zpar_store_t *zpar__store_open (const char *path, zpar_error_t *err);
/* Flushes, then closes.  NULL-safe. */
void zpar__store_close (zpar_store_t *s);

/* A task was submitted: its packed request (header+body, copied). */
int zpar__store_put_request (zpar_store_t *s, uint64_t id, uint32_t client, uint32_t engine,
                             const void *req, size_t len, uint64_t when_us);
/* A task was handed to an engine. */
int zpar__store_put_running (zpar_store_t *s, uint64_t id, uint32_t engine, uint64_t when_us);
/* A task finished: its packed result (copied) and status. */
int zpar__store_put_result (zpar_store_t *s, uint64_t id, uint32_t engine, int status,
                            const void *res, size_t len, uint64_t when_us);

/* Write the batch in one transaction.  0 / -1 (the batch is kept). */
int zpar__store_flush (zpar_store_t *s, zpar_error_t *err);
size_t zpar__store_batched (const zpar_store_t *s);

/* Look a task up (flushes first).  *state set; *req and *res: malloc'd copies
 * (NULL when absent) the caller frees.  -1 ENOENT if no such task. */
int zpar__store_get (zpar_store_t *s, uint64_t id, int *state, int *status, uint8_t **req,
                     size_t *reqlen, uint8_t **res, size_t *reslen);

/* Delete finished records: one id, or all (id 0).  Returns the count. */
long zpar__store_purge (zpar_store_t *s, uint64_t id);

/* Tasks recorded pending or running (for recovery after a restart):
 * calls cb for each with its packed request. */
int zpar__store_unfinished (zpar_store_t *s,
                            void (*cb) (void *arg, uint64_t id, int state, uint32_t engine,
                                        const void *req, size_t len),
                            void *arg);

/* Counters of finished records: ok and not ok. */
int zpar__store_counts (zpar_store_t *s, uint64_t *ok, uint64_t *notok);

/* A persistent counter (next client number). */
int zpar__store_next_counter (zpar_store_t *s, const char *name, uint64_t *v);

#endif
