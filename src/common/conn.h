/* conn.h - connection files: how clients and engines find a controller.
 *
 * A connection file is a flat JSON object, created mode 0600 (it holds the
 * cluster's HMAC key), written atomically (temp file + rename).  The
 * controller writes two: client.json and engine.json, identical today but
 * kept apart so that a site can hand engines a file clients never see.
 * Every socket address is kept so that a restarted controller binds the
 * same ports and running engines and clients find it again.
 */
#ifndef ZPAR__CONN_H
#define ZPAR__CONN_H

#include <stddef.h>
#include <stdint.h>

#include "msg.h"
#include "zpar/error.h"

#define ZPAR_ADDR_MAX 256

typedef enum {
    ZPAR_EP_REGISTRAR = 0,
    ZPAR_EP_NOTIFY,
    ZPAR_EP_HB_PING,
    ZPAR_EP_HB_PONG,
    ZPAR_EP_MUX_CLIENT,
    ZPAR_EP_MUX_ENGINE,
    ZPAR_EP_CONTROL_CLIENT,
    ZPAR_EP_CONTROL_ENGINE,
    ZPAR_EP_TASK_CLIENT,
    ZPAR_EP_TASK_ENGINE,
    ZPAR_EP_IOPUB_CLIENT,
    ZPAR_EP_IOPUB_ENGINE,
    ZPAR_EP_COUNT,
} zpar_endpoint_t;

typedef struct {
    char addr[ZPAR_EP_COUNT][ZPAR_ADDR_MAX]; /* "tcp://127.0.0.1:40123" */
    uint8_t key[ZPAR_KEY_LEN];
    char host[256];
    int pid;
    char scheme[32]; /* task scheduler: "leastload" or "pure" */
    char job[128];   /* job id or "local" */
} zpar_conninfo_t;

/* JSON name of an endpoint ("registration", "mux_client", ...). */
const char *zpar__endpoint_name (zpar_endpoint_t ep);

/* Read and validate a connection file.  -1 with err naming the file and
 * the problem (missing, unreadable, not JSON, missing key, bad key). */
int zpar__conn_read (const char *path, zpar_conninfo_t *ci, zpar_error_t *err);

/* Write ci to path atomically with mode 0600, creating parent dirs. */
int zpar__conn_write (const char *path, const zpar_conninfo_t *ci, zpar_error_t *err);

/* Serialize to / parse from a string (used for PMIx/MPI wire-up).
 * to_string returns malloc'd text. */
char *zpar__conn_to_string (const zpar_conninfo_t *ci);
int zpar__conn_from_string (const char *text, zpar_conninfo_t *ci, zpar_error_t *err);

/* $ZPAR_DIR, else ~/.zpar, into buf.  -1 ENAMETOOLONG. */
int zpar__zpar_dir (char *buf, size_t size);

/* The directory of this job's (or the local) cluster: $ZPAR_DIR/job-<id>
 * when SLURM_JOB_ID or PBS_JOBID is set, else $ZPAR_DIR/local. */
int zpar__cluster_dir (char *buf, size_t size);

/* Find the client connection file: opt (from --connection-file), else
 * $ZPAR_CONNECTION_FILE, else <cluster dir>/client.json when it exists.
 * -1 ENOENT with err telling the user how to start a cluster. */
int zpar__conn_resolve (const char *opt, char *buf, size_t size, zpar_error_t *err);

/* mkdir -p with mode. */
int zpar__mkdir_p (const char *path, int mode);

#endif
