/* records_spill.h - a copy of the task records' unsaved batch outside the
 * database (internal to records.c).
 *
 * While the records cannot be written (their disk is full), their batch
 * lives in the controller's memory; a controller that dies (SIGKILL, OOM
 * kill) or stops then would lose it, and with it results that were already
 * delivered.  The spill keeps a copy in a file on another filesystem, by
 * default a memory one (/dev/shm): it survives the controller's process,
 * not the node.  A controller that opens the same database later reads the
 * spill back into its batch (zpar__spill_replay) and writes it; the file
 * goes once the batch is in the database.
 *
 * The file is DIR/zpar-<uid>/records-<hash of the database's real path>;
 * DIR/zpar-<uid> is created (mode 0700) at the first spill, and is used
 * only if it is a directory owned by this user that no one else can write; the file is
 * mode 0600, opened without following links.  Its content: an 8-byte
 * magic, then one record per operation (a 36-byte header, little-endian,
 * then the blob); a record cut short (a crash while writing) ends it.
 *
 * Errors: 0 / -1 with errno; a spill that cannot be written does not stop
 * anything (the caller logs it and goes on without a copy).
 */
#ifndef ZPAR__RECORDS_SPILL_H
#define ZPAR__RECORDS_SPILL_H

#include <stddef.h>
#include <stdint.h>

/* One operation of the records' batch. */
typedef enum {
    ZPAR_REC_OP_REQUEST = 0,
    ZPAR_REC_OP_RUNNING = 1,
    ZPAR_REC_OP_RESULT = 2,
    ZPAR_REC_OP_COUNTER = 3,
    ZPAR_REC_OP_ENGINE = 4, /* blob: the engine's uuid; id: its id; when: the next engine id */
} zpar_rec_op_kind_t;

typedef struct {
    zpar_rec_op_kind_t kind;
    uint64_t id; /* task id; COUNTER: the counter's value; ENGINE: the engine id */
    uint32_t client;
    uint32_t engine;
    int status;
    uint64_t when;
    void *blob; /* request / result bytes; COUNTER: the counter's name */
    size_t len;
} zpar_rec_op_t;

typedef struct zpar_spill zpar_spill_t;

/* The spill of the database at db_path (which exists) in dir (nothing is
 * created yet).  NULL with errno (EINVAL, ENAMETOOLONG, ENOMEM). */
zpar_spill_t *zpar__spill_open (const char *dir, const char *db_path);
/* NULL-safe; leaves the file as it is. */
void zpar__spill_close (zpar_spill_t *sp);
/* The file's path. */
const char *zpar__spill_path (const zpar_spill_t *sp);

/* Replace the file by ops[0..n) (written aside, then renamed).  0 / -1
 * (EPERM: the directory is not ours alone). */
int zpar__spill_rewrite (zpar_spill_t *sp, const zpar_rec_op_t *ops, size_t n);
/* Add one operation at the end of the file.  0 / -1. */
int zpar__spill_append (zpar_spill_t *sp, const zpar_rec_op_t *op);
/* Remove the file (its batch is in the database).  0 / -1 (ENOENT: there
 * was none). */
int zpar__spill_remove (zpar_spill_t *sp);

/* Read the file back: cb is called for each whole operation, in order
 * (op->blob is valid during the call only).  Returns the number of
 * operations read (0: no file), -1 with errno (EPERM: not a file of ours,
 * EPROTO: not a spill file; a stop of cb: its errno). */
typedef int (*zpar_spill_f) (void *arg, const zpar_rec_op_t *op);
long zpar__spill_replay (zpar_spill_t *sp, zpar_spill_f cb, void *arg);

#endif
