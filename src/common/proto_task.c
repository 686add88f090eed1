/* proto_task.c - typed codec of the TASK request. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "error.h"
#include "proto_task.h"

void zpar__proto_task_clear (zpar_proto_task_t *t)
{
    if (t) {
        zpar__proto_mem_free (&t->mem);
        memset (t, 0, sizeof (*t));
    }
}

int zpar__proto_task_encode (zpar_msg_t *m, const zpar_proto_task_t *t)
{
    int rc = 0;

    if (!m || !t || (t->kind != ZPAR_TASK_COMMAND && t->kind != ZPAR_TASK_FUNCTION) ||
        (t->argc && !t->argv) || (t->envc && !t->env) || (t->nafter && !t->after) ||
        (t->ntargets && !t->targets) || (t->input_len && !t->input) || (t->nslots && !t->slots)) {
        errno = EINVAL;
        return -1;
    }
    for (size_t i = 0; i < t->argc; i++)
        if (!t->argv[i])
            return (errno = EINVAL), -1;
    for (size_t i = 0; i < t->envc; i++)
        if (!t->env[i])
            return (errno = EINVAL), -1;
    for (size_t i = 0; i < t->nslots; i++)
        if (!t->slots[i])
            return (errno = EINVAL), -1;
    zpar__proto_begin_encode (m, ZPAR_MSG_TASK, &t->h);
    zpar__proto_put_u64 (&rc, m, ZPAR_F_KIND, (uint64_t)t->kind);
    for (size_t i = 0; i < t->argc; i++)
        zpar__proto_put_str (&rc, m, ZPAR_F_ARGV, t->argv[i]);
    if (t->kind == ZPAR_TASK_FUNCTION) {
        if (t->lib)
            zpar__proto_put_str (&rc, m, ZPAR_F_LIB, t->lib);
        if (t->symbol)
            zpar__proto_put_str (&rc, m, ZPAR_F_SYMBOL, t->symbol);
        zpar__proto_put_bytes (&rc, m, ZPAR_F_INPUT, t->input, t->input_len);
    }
    for (size_t i = 0; i < t->envc; i++)
        zpar__proto_put_str (&rc, m, ZPAR_F_ENV, t->env[i]);
    if (t->cwd)
        zpar__proto_put_str (&rc, m, ZPAR_F_CWD, t->cwd);
    if (t->timeout_ms)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_TIMEOUT_MS, t->timeout_ms);
    if (t->retries)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_RETRIES, t->retries);
    for (size_t i = 0; i < t->nafter; i++)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_AFTER, t->after[i].v);
    for (size_t i = 0; i < t->ntargets; i++)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_TARGET, t->targets[i].v);
    if (t->priority)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_PRIORITY, (uint64_t)t->priority);
    if (t->inline_fn)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_INLINE, 1);
    if (t->attempt)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_ATTEMPT, t->attempt);
    if (t->output_cap)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_OUTPUT_CAP, t->output_cap);
    if (t->all_engines)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_ALL_ENGINES, 1);
    if (t->stop_signal)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_STOP_SIGNAL, t->stop_signal);
    if (t->stop_grace_ms)
        zpar__proto_put_u64 (&rc, m, ZPAR_F_STOP_GRACE, t->stop_grace_ms);
    {
        /* CORES..RANKS_PER_NODE, consecutive keys */
        const uint64_t res[] = {t->cores, t->gpus,  t->memory,
                                t->ranks, t->nodes, t->ranks_per_node};
        for (int i = 0; i < 6; i++)
            if (res[i])
                zpar__proto_put_u64 (&rc, m, (zpar_field_t)(ZPAR_F_CORES + i), res[i]);
    }
    for (size_t i = 0; i < t->nslots; i++)
        zpar__proto_put_str (&rc, m, ZPAR_F_SLOT, t->slots[i]);
    return zpar__proto_end_encode (m, rc);
}

static int flag (const zpar_msg_t *m, zpar_field_t key, int *out, zpar_error_t *err)
{
    uint64_t v = 0;
    if (zpar__proto_u64 (m, key, &v, err) < 0)
        return -1;
    if (v > 1)
        return zpar__errnoprintf (err, EPROTO, "field %s (%d) is not 0 or 1",
                                  zpar__msg_field_name (key), (int)key);
    *out = (int)v;
    return 0;
}

/* The resource fields and the slots. */
static int res_decode (const zpar_msg_t *m, zpar_proto_task_t *t, zpar_error_t *err)
{
    zpar_proto_slot_t slot;
    size_t i = 0;
    /* one pass: a task without resource fields (the common one) costs
     * this loop only */
    while (i < m->nfields && (m->fields[i].key < ZPAR_F_CORES || m->fields[i].key > ZPAR_F_SLOT))
        i++;
    if (i == m->nfields)
        return 0;
    {
        uint64_t *res[] = {&t->cores, &t->gpus,  &t->memory,
                           &t->ranks, &t->nodes, &t->ranks_per_node};
        for (int k = 0; k < 6; k++)
            if (zpar__proto_u64 (m, (zpar_field_t)(ZPAR_F_CORES + k), res[k], err) < 0)
                return -1;
    }
    if (t->cores > ZPAR_RES_MAX_CORES || t->gpus > ZPAR_RES_MAX_GPUS ||
        t->ranks > ZPAR_RES_MAX_RANKS || t->nodes > ZPAR_RES_MAX_NODES ||
        t->ranks_per_node > ZPAR_RES_MAX_RANKS)
        return zpar__errnoprintf (err, EPROTO,
                                  "resources out of range (cores %llu, gpus %llu, ranks %llu, "
                                  "nodes %llu, ranks per node %llu)",
                                  (unsigned long long)t->cores, (unsigned long long)t->gpus,
                                  (unsigned long long)t->ranks, (unsigned long long)t->nodes,
                                  (unsigned long long)t->ranks_per_node);
    if ((t->nodes || t->ranks_per_node) && !t->ranks)
        return zpar__errnoprintf (err, EPROTO, "nodes or ranks per node without ranks");
    if (zpar__proto_strv (m, ZPAR_F_SLOT, &t->mem, &t->slots, &t->nslots, err) < 0)
        return -1;
    for (i = 0; i < t->nslots; i++)
        if (zpar__proto_slot_parse (t->slots[i], &slot, err) < 0)
            return -1;
    return 0;
}

int zpar__proto_task_decode (const zpar_msg_t *m, zpar_proto_task_t *t, zpar_error_t *err)
{
    uint64_t kind = 0, prio = 0, *after = NULL, *targets = NULL;
    size_t nafter = 0, ntargets = 0;
    int rc;

    if (!m || !t)
        return zpar__errnoprintf (err, EINVAL, "no message or no task to decode into");
    memset (t, 0, sizeof (*t));
    if (zpar__proto_begin_decode (m, ZPAR_MSG_TASK, &t->h, err) < 0)
        goto error;
    if ((rc = zpar__proto_u64 (m, ZPAR_F_KIND, &kind, err)) < 0)
        goto error;
    if (rc == 0) {
        zpar__proto_missing (err, ZPAR_F_KIND);
        goto error;
    }
    if (kind != ZPAR_TASK_COMMAND && kind != ZPAR_TASK_FUNCTION) {
        zpar__errnoprintf (err, EPROTO, "unknown task kind %llu", (unsigned long long)kind);
        goto error;
    }
    t->kind = (zpar_task_kind_t)kind;
    if (zpar__proto_strv (m, ZPAR_F_ARGV, &t->mem, &t->argv, &t->argc, err) < 0 ||
        zpar__proto_strv (m, ZPAR_F_ENV, &t->mem, &t->env, &t->envc, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_CWD, &t->mem, &t->cwd, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_TIMEOUT_MS, &t->timeout_ms, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_RETRIES, &t->retries, err) < 0 ||
        zpar__proto_u64v (m, ZPAR_F_AFTER, &t->mem, &after, &nafter, err) < 0 ||
        zpar__proto_u64v (m, ZPAR_F_TARGET, &t->mem, &targets, &ntargets, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_PRIORITY, &prio, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_LIB, &t->mem, &t->lib, err) < 0 ||
        zpar__proto_str (m, ZPAR_F_SYMBOL, &t->mem, &t->symbol, err) < 0 ||
        zpar__proto_bytes (m, ZPAR_F_INPUT, &t->input, &t->input_len) < 0 ||
        flag (m, ZPAR_F_INLINE, &t->inline_fn, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_ATTEMPT, &t->attempt, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_OUTPUT_CAP, &t->output_cap, err) < 0 ||
        flag (m, ZPAR_F_ALL_ENGINES, &t->all_engines, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_STOP_SIGNAL, &t->stop_signal, err) < 0 ||
        zpar__proto_u64 (m, ZPAR_F_STOP_GRACE, &t->stop_grace_ms, err) < 0 ||
        res_decode (m, t, err) < 0)
        goto error;
    if (t->stop_signal > 64 || t->stop_grace_ms > 86400000) {
        zpar__errnoprintf (err, EPROTO, "stop signal %llu or grace %llu ms out of range",
                           (unsigned long long)t->stop_signal,
                           (unsigned long long)t->stop_grace_ms);
        goto error;
    }
    t->priority = (int64_t)prio;
    if (nafter) {
        zpar_tid_t *a = zpar__proto_mem_alloc (&t->mem, nafter * sizeof (*a));
        if (!a) {
            zpar__errnoprintf (err, ENOMEM, "out of memory");
            goto error;
        }
        for (size_t i = 0; i < nafter; i++)
            a[i] = zpar__tid (after[i]);
        t->after = a;
        t->nafter = nafter;
    }
    if (ntargets) {
        zpar_eid_t *e = zpar__proto_mem_alloc (&t->mem, ntargets * sizeof (*e));
        if (!e) {
            zpar__errnoprintf (err, ENOMEM, "out of memory");
            goto error;
        }
        for (size_t i = 0; i < ntargets; i++) {
            if (targets[i] > UINT32_MAX) {
                zpar__errnoprintf (err, EPROTO, "target engine id %llu does not fit 32 bits",
                                   (unsigned long long)targets[i]);
                goto error;
            }
            e[i] = zpar__eid ((uint32_t)targets[i]);
        }
        t->targets = e;
        t->ntargets = ntargets;
    }
    return 0;
error:
    zpar__proto_task_clear (t);
    return -1;
}
