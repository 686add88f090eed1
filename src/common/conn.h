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

#include "curve.h"
#include "msg.h"
#include "zpar/error.h"

#define ZPAR_ADDR_MAX       256
#define ZPAR_CANDS_TEXT_MAX 640 /* the "candidates" field (addrpick.h), with its NUL */

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
    /* CurveZMQ keys (curve.h), all empty when Curve is off: client.json
     * holds the server public key and the client pair, engine.json the
     * server public key and the engine pair, controller.json (written only
     * with Curve, for --reuse) all of them.  JSON names "curve_<field>". */
    zpar_curve_keys_t curve;
    /* The controller's candidate addresses, best first, when it listens on
     * every interface: "A.B.C.D/P@IFNAME,..." (addrpick.h), else "".
     * Checked on read; JSON name "candidates", written when not empty. */
    char candidates[ZPAR_CANDS_TEXT_MAX];
} zpar_conninfo_t;

/* JSON name of an endpoint ("registration", "mux_client", ...). */
const char *zpar__endpoint_name (zpar_endpoint_t ep);

/* Read and validate a connection file.  The file must be a regular file
 * owned by this user that neither group nor others may write, in a
 * directory no other user can change (zpar__path_check_parent), as ssh
 * requires of its key files: a file another user could have written is
 * refused.  -1 with err naming the file and the problem (missing,
 * unreadable, EPERM: owner or mode, not JSON, missing key, bad key). */
int zpar__conn_read (const char *path, zpar_conninfo_t *ci, zpar_error_t *err);

/* Write ci to path atomically with mode 0600, creating parent dirs. */
int zpar__conn_write (const char *path, const zpar_conninfo_t *ci, zpar_error_t *err);

/* Serialize to / parse from a string (used for PMIx/MPI wire-up).
 * to_string returns malloc'd text. */
char *zpar__conn_to_string (const zpar_conninfo_t *ci);
int zpar__conn_from_string (const char *text, zpar_conninfo_t *ci, zpar_error_t *err);

/* $ZPAR_DIR, else $HOME/.zpar, else $XDG_RUNTIME_DIR/zpar, into buf:
 * never a shared directory such as /tmp.  -1 ENAMETOOLONG, or ENOENT when
 * none of the three is set (zpar__zpar_dir_error has the text). */
int zpar__zpar_dir (char *buf, size_t size);

/* The user's text for a failed zpar__zpar_dir / zpar__cluster_dir (errno
 * ENOENT or ENAMETOOLONG), into err.  Returns -1. */
int zpar__zpar_dir_error (zpar_error_t *err);

/* The directory of this job's (or the local) cluster: $ZPAR_DIR/job-<id>
 * when SLURM_JOB_ID or PBS_JOBID is set, else $ZPAR_DIR/local.  -1 as
 * zpar__zpar_dir. */
int zpar__cluster_dir (char *buf, size_t size);

/* Check that dir is a private directory of this user: a directory owned
 * by this user (the effective uid) that neither group nor others may write,
 * and every directory above it one that no other user can change (owned by
 * root or this user, not writable by group or others unless sticky, like
 * /tmp).  what names it in the text ("cluster directory").  -1 with errno
 * (EPERM: wrong owner or mode, ENOTDIR, or from stat) and err naming the
 * directory and what is wrong. */
int zpar__dir_check_private (const char *dir, const char *what, zpar_error_t *err);

/* Check that no other user can change the directory that holds path (the
 * rule for the directories above zpar__dir_check_private's, applied to the
 * parent and all above it).  -1 EPERM with err naming the directory. */
int zpar__path_check_parent (const char *path, const char *what, zpar_error_t *err);

/* The cluster directory to use: opt when given, else zpar__cluster_dir's,
 * into buf; created when missing (mkdir -p, new directories 0700) and then
 * checked with zpar__dir_check_private.  -1 with errno and err (no default
 * directory, cannot create, refused). */
int zpar__cluster_dir_prepare (const char *opt, char *buf, size_t size, zpar_error_t *err);

/* Find the client connection file: opt (from --connection-file), else
 * $ZPAR_CONNECTION_FILE, else <cluster dir>/client.json when it exists.
 * -1 ENOENT with err telling the user how to start a cluster. */
int zpar__conn_resolve (const char *opt, char *buf, size_t size, zpar_error_t *err);

/* mkdir -p with mode. */
int zpar__mkdir_p (const char *path, int mode);

#endif
