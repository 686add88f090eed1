/* proto_task.h - typed codec of the TASK request (doc/protocol.md,
 * "Tasks").  The encode/decode/ownership contract is in proto_common.h.
 *
 * Header: h.task, h.client; h.engine is the target engine of a direct
 * task (0 until the task scheduler picks one); h.flags bits 0-7 carry the
 * attempt number set by the task scheduler.
 */
#ifndef ZPAR__PROTO_TASK_H
#define ZPAR__PROTO_TASK_H

#include "proto_common.h"
#include "zpar.h"

typedef struct {
    zpar_proto_hdr_t h;
    zpar_task_kind_t kind; /* KIND, required: command or function */
    /* command: ARGV (argc strings; decode NULL-terminates) */
    const char *const *argv;
    size_t argc;
    /* ENV "NAME=VALUE" (envc strings; decode NULL-terminates) */
    const char *const *env;
    size_t envc;
    const char *cwd;         /* CWD, NULL: absent */
    uint64_t timeout_ms;     /* TIMEOUT_MS, 0: none (not sent) */
    uint64_t retries;        /* RETRIES, 0: not sent */
    const zpar_tid_t *after; /* AFTER, nafter ids */
    size_t nafter;
    const zpar_eid_t *targets; /* TARGET, ntargets ids (each must fit 32 bits) */
    size_t ntargets;
    int64_t priority; /* PRIORITY, 0: not sent */
    /* function: LIB, SYMBOL (NULL when absent: the runner reports it) and
     * INPUT (borrowed from the message; always sent for a function) */
    const char *lib;
    const char *symbol;
    const void *input;
    size_t input_len;
    int inline_fn;        /* INLINE (0/1) */
    uint64_t attempt;     /* ATTEMPT, 0: not sent */
    uint64_t output_cap;  /* OUTPUT_CAP, 0: default (not sent) */
    int all_engines;      /* ALL_ENGINES (0/1) */
    zpar_proto_mem_t mem; /* private: what decode allocated */

    /* STOP_SIGNAL (1..64; 0: not sent, SIGTERM) and STOP_GRACE (ms; 0: not
     * sent, 1 s): what a command task's timeout sends, and how long before
     * SIGKILL */
    uint64_t stop_signal;
    uint64_t stop_grace_ms;

    /* Resources (doc/protocol.md, "Resources"); 0: not sent, the default.
     * CORES (1..ZPAR_RES_MAX_CORES; default 1), GPUS (..ZPAR_RES_MAX_GPUS;
     * default 0), MEMORY bytes (default 0: no limit), RANKS
     * (..ZPAR_RES_MAX_RANKS; 0: not MPI), NODES and RANKS_PER_NODE (only
     * with RANKS; 0: any).  Out of range: malformed. */
    uint64_t cores, gpus, memory;
    uint64_t ranks, nodes, ranks_per_node;
    /* SLOT (scheduler -> leader engine only): nslots strings "ENGINE_ID
     * HOST CPUSET GPUS MEMBYTES" (the leader's first; decode checks each
     * with zpar__proto_slot_parse and NULL-terminates the list) */
    const char *const *slots;
    size_t nslots;
} zpar_proto_task_t;

#define ZPAR_RES_MAX_CORES 65536u
#define ZPAR_RES_MAX_GPUS  4096u
#define ZPAR_RES_MAX_RANKS (1u << 20)
#define ZPAR_RES_MAX_NODES 65536u

/* 1 if t asks for anything but the default one core (a resource task:
 * cores > 1, gpus, memory or ranks). */
static inline int zpar__proto_task_has_res (const zpar_proto_task_t *t)
{
    return t->cores > 1 || t->gpus || t->memory || t->ranks;
}

/* A task's body (blen bytes of fields, as the client sent it, without
 * SLOT fields) followed by one SLOT field per slots[i]: a malloc'd *out of
 * *outlen bytes (free()).  0 / -1 EINVAL (NULL, a slot that does not
 * parse), EMSGSIZE (over ZPAR_MAX_BODY), ENOMEM. */
int zpar__proto_task_body_slots (const void *body, size_t blen, const char *const *slots,
                                 size_t nslots, uint8_t **out, size_t *outlen);

/* zpar_resources_set (zpar.h), for the library and the sweep. */
int zpar__resources_set (zpar_resources_t *r, const char *key, const char *value,
                         zpar_error_t *err);

/* The body of m, the task t decoded from it, into out (room for m->len
 * bytes), without SLOT fields: only the scheduler places, so the slots a
 * client sent are dropped.  Returns the length written. */
size_t zpar__proto_task_body_copy (const zpar_msg_t *m, const zpar_proto_task_t *t, uint8_t *out);

/* t's resources into *r: 1 if it has any (zpar__proto_task_has_res),
 * else 0 (*r untouched). */
static inline int zpar__proto_task_res (const zpar_proto_task_t *t, zpar_resources_t *r)
{
    if (!zpar__proto_task_has_res (t))
        return 0;
    *r = (zpar_resources_t){(unsigned)t->cores, (unsigned)t->gpus,  t->memory,
                            (unsigned)t->ranks, (unsigned)t->nodes, (unsigned)t->ranks_per_node};
    return 1;
}

/* One SLOT: an engine a task holds.  On the wire "ENGINE_ID HOST CPUSET
 * GPUS MEMBYTES", single spaces: ENGINE_ID decimal 1..2^32-1; HOST the
 * engine's node as its registration named it (no space, no control
 * character); CPUSET hwloc list syntax ("0-3,8", ascending) or "-" when
 * not bound; GPUS a comma list of KIND:N ("cuda:0,rocm:1", N the
 * node-level index of that kind) or "-"; MEMBYTES decimal (0: unknown). */
#define ZPAR_SLOT_HOST_MAX   256
#define ZPAR_SLOT_CPUSET_MAX 2048
#define ZPAR_SLOT_GPUS_MAX   512
#define ZPAR_SLOT_MAX        (16 + ZPAR_SLOT_HOST_MAX + ZPAR_SLOT_CPUSET_MAX + ZPAR_SLOT_GPUS_MAX + 24)

typedef struct {
    zpar_eid_t engine;
    char host[ZPAR_SLOT_HOST_MAX];     /* NUL-terminated */
    char cpuset[ZPAR_SLOT_CPUSET_MAX]; /* "-": not bound */
    char gpus[ZPAR_SLOT_GPUS_MAX];     /* "-": none */
    uint64_t mem;                      /* bytes, 0: unknown */
} zpar_proto_slot_t;

/* Parse one SLOT string into *slot.  0 / -1 EPROTO with the reason in err
 * (may be NULL), EINVAL for NULL arguments. */
int zpar__proto_slot_parse (const char *s, zpar_proto_slot_t *slot, zpar_error_t *err);
/* Write slot as a SLOT string into buf of size bytes (ZPAR_SLOT_MAX is
 * always enough).  The length written, or -1 EINVAL (a field that would
 * not parse back: engine 0, an empty or spaced host, a bad cpuset or GPU
 * list), ENOSPC (buf too small). */
int zpar__proto_slot_format (const zpar_proto_slot_t *slot, char *buf, size_t size);
/* 1 if s is a CPUSET as above ("-" included), 0 if not. */
int zpar__proto_cpuset_ok (const char *s);
/* 1 if s is a GPU list as above ("-" included), 0 if not. */
int zpar__proto_gpus_ok (const char *s);
/* 1 if s may be a HOST in a slot (1..255 printable characters, no space). */
int zpar__proto_slot_host_ok (const char *s);

/* The resource fields of an engine's registration (proto_registrar.h):
 * CORES (0: not sent), CPUSET, GPU_NAMES (NULL: not sent), MEM_SHARE and
 * NODE_MEMORY (0: not sent).  valid: 1 if encodable.  put: append them (rc as the other
 * zpar__proto_put_*).  get: read them (strings copied into mem; absent
 * ones left 0 / NULL); -1 EPROTO with err when out of range or
 * malformed. */
int zpar__proto_engine_res_valid (uint64_t cores, const char *cpuset, const char *gpus);
void zpar__proto_put_engine_res (int *rc, zpar_msg_t *m, uint64_t cores, const char *cpuset,
                                 const char *gpus, uint64_t mem_share, uint64_t node_mem);
int zpar__proto_get_engine_res (const zpar_msg_t *m, zpar_proto_mem_t *mem, uint64_t *cores,
                                const char **cpuset, const char **gpus, uint64_t *mem_share,
                                uint64_t *node_mem, zpar_error_t *err);

int zpar__proto_task_encode (zpar_msg_t *m, const zpar_proto_task_t *t);
int zpar__proto_task_decode (const zpar_msg_t *m, zpar_proto_task_t *t, zpar_error_t *err);
/* Free what decode allocated and zero t.  NULL-safe, keeps errno. */
void zpar__proto_task_clear (zpar_proto_task_t *t);

#endif
