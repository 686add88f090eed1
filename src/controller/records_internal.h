/* records_internal.h - what the two halves of the task records share
 * (internal to records.c and records_batch.c; the contract is records.h).
 *
 * records_batch.c holds the batch: the puts, its memory and bound, its
 * spill (records_spill.h), and what it says of a task before it is
 * written; records.c holds the database: writing the batch, lookups,
 * counters.
 */
#ifndef ZPAR__RECORDS_INTERNAL_H
#define ZPAR__RECORDS_INTERNAL_H

#include "db.h"
#include "idmap.h"
#include "records.h"
#include "records_spill.h"

typedef zpar_rec_op_t op_t;
#define OP_REQUEST ZPAR_REC_OP_REQUEST
#define OP_RUNNING ZPAR_REC_OP_RUNNING
#define OP_RESULT  ZPAR_REC_OP_RESULT
#define OP_COUNTER ZPAR_REC_OP_COUNTER
#define OP_ENGINE  ZPAR_REC_OP_ENGINE
/* an operation about a task (not a counter or an engine id) */
#define OP_TASK(op) ((op)->kind <= OP_RESULT)

struct zpar_records {
    zpar_db_t *db;
    op_t *ops;
    size_t nops;
    size_t cap;
    size_t bytes;      /* memory held by ops[0..nops) */
    size_t limit;      /* bound on bytes while writes fail */
    uint64_t since_us; /* first failed write (wall clock), 0: writes work */
    uint64_t retry_us; /* monotonic: no new try before */
    uint64_t failures;
    int errnum;   /* of the last failed write */
    int refusing; /* since_us && bytes >= limit, as last told */
    zpar_records_refusing_f on_refusing;
    void *on_refusing_arg;
    zpar_spill_t *spill; /* the batch's copy while writes fail (NULL: none) */
    int spill_ok;        /* the spill file holds the whole batch: appends go on */
    int catching_up;     /* the last write worked, but the batch was too big for one */
    int spill_exists;    /* a spill file may exist (removed once the batch is written) */
    char error[ZPAR_ERROR_TEXT_MAX];
};

/* What the unsaved batch says of each task it names. */
typedef struct {
    uint64_t id;
    int state; /* ZPAR_REC_* as the batch leaves it */
    int status;
    int in_db; /* listed unfinished by the database */
    uint32_t engine;
    const op_t *req;
} btask_t;

/* records_write.c: check the database's layout (-1 EPROTO with the
 * reason for a database of another layout) and create the schema. */
int zpar__rec_schema (zpar_records_t *s, const char *path, zpar_error_t *err);
/* records_write.c: write ops[0..n) in one transaction (rolled back on
 * failure, errno kept). */
int zpar__rec_write (zpar_records_t *s, size_t n, zpar_error_t *err);
/* records_write.c: task id as the database has it (not the batch): 1
 * found (*state, *status; *req, *res malloc'd packed messages or NULL
 * when not wanted or absent), 0 not found, -1 errno. */
int zpar__rec_db_get (zpar_records_t *s, uint64_t id, int *state, int *status, uint8_t **req,
                      size_t *reqlen, uint8_t **res, size_t *reslen);
/* records_write.c: each task the database has unfinished, in id order,
 * with its request (packed; NULL, 0 if none). */
typedef void (*zpar_rec_row_f) (void *arg, uint64_t id, int state, uint32_t engine, const void *req,
                                size_t len);
int zpar__rec_db_unfinished (zpar_records_t *s, zpar_rec_row_f cb, void *arg);
/* records_write.c: the counter name (len bytes) raised to v at least
 * (never lowered).  0, -1 errno (err). */
int zpar__rec_db_counter_max (zpar_records_t *s, const char *name, size_t len, uint64_t v,
                              zpar_error_t *err);
/* records_write.c: the engine of uuid (len bytes) has id, and the counter
 * "engine_next" is at least next (in the caller's transaction).  0, -1
 * errno (err). */
int zpar__rec_db_engine (zpar_records_t *s, const char *uuid, size_t len, uint64_t id,
                         uint64_t next, zpar_error_t *err);

/* Append a zeroed operation to the batch (its memory counted); NULL ENOMEM. */
op_t *zpar__rec_push (zpar_records_t *s);
/* Undo the last push (its blob not set yet). */
void zpar__rec_pop (zpar_records_t *s);
/* The operation op, just pushed and filled in (blob and len set), is in
 * the batch: its blob counted in the batch's memory, added to the spill
 * while writes fail, and a change of "refusing" told. */
void zpar__rec_added (zpar_records_t *s, const op_t *op);
/* Free the batch's operations (the batch is empty after). */
void zpar__rec_ops_free (zpar_records_t *s);
/* Free the first n operations (written), keep the others in order. */
void zpar__rec_ops_drop (zpar_records_t *s, size_t n);
/* Tell a change of "refusing" to the on_refusing callback. */
void zpar__rec_check_refusing (zpar_records_t *s);
/* Open the spill of the database at path and read back what an earlier
 * controller left in it, into the batch. */
void zpar__rec_spill_start (zpar_records_t *s, const char *path);
/* What the batch says of task id, over what the database said: see
 * zpar__records_get.  1 named, 0 not, -1 ENOMEM. */
int zpar__rec_overlay (const zpar_records_t *s, uint64_t id, int found, int *state, int *status,
                       uint8_t **req, size_t *reqlen, uint8_t **res, size_t *reslen);
/* The tasks the batch names (*map: id -> entry, *n of them); free() the
 * array and destroy the map.  NULL ENOMEM. */
btask_t *zpar__rec_batch_tasks (const zpar_records_t *s, zpar_idmap_t **map, size_t *n);

#endif
