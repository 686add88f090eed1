/* records_batch.c - the task records' batch: puts, memory and bound,
 * spill, and lookups in it before it is written. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "records_internal.h"

/* While writes fail, the spill follows the batch. */
static void spill_add (zpar_records_t *s, const op_t *op)
{
    if (s->spill_ok && zpar__spill_append (s->spill, op) < 0) {
        zpar__err ("task records: %s: %s; the records not saved are only in memory now",
                   zpar__spill_path (s->spill), strerror (errno));
        s->spill_ok = 0;
    }
}

/* Tell a change of "refusing" (writes fail and the backlog reached its
 * bound). */
void zpar__rec_check_refusing (zpar_records_t *s)
{
    int now = s->since_us && s->bytes >= s->limit;
    if (now != s->refusing) {
        s->refusing = now;
        if (s->on_refusing)
            s->on_refusing (s->on_refusing_arg, now);
    }
}

/* An operation a previous controller could not write, back in the batch. */
static int replay_one (void *arg, const op_t *op)
{
    zpar_records_t *s = arg;
    op_t *n = zpar__rec_push (s);
    if (!n)
        return -1;
    *n = *op;
    n->blob = NULL;
    if (op->len && !(n->blob = malloc (op->len))) {
        zpar__rec_pop (s);
        errno = ENOMEM;
        return -1;
    }
    if (op->len)
        memcpy (n->blob, op->blob, op->len);
    s->bytes += op->len;
    return 0;
}

/* The spill of this database ($ZPAR_RECORDS_SPILL_DIR, default /dev/shm;
 * "none": no spill), and what an earlier controller left in it. */
void zpar__rec_spill_start (zpar_records_t *s, const char *path)
{
    const char *dir = getenv ("ZPAR_RECORDS_SPILL_DIR");
    long n;
    if (!dir)
        dir = "/dev/shm";
    if (!*dir || !strcmp (dir, "none"))
        return;
    if (!(s->spill = zpar__spill_open (dir, path))) {
        zpar__debug ("task records: no spill in %s: %s", dir, strerror (errno));
        return;
    }
    if ((n = zpar__spill_replay (s->spill, replay_one, s)) < 0)
        zpar__err ("task records: %s cannot be read back: %s", zpar__spill_path (s->spill),
                   strerror (errno));
    else if (n > 0) {
        s->spill_exists = 1;
        zpar__warn ("task records: %ld records an earlier controller could not save read back "
                    "from %s",
                    n, zpar__spill_path (s->spill));
    }
}

void zpar__rec_ops_free (zpar_records_t *s)
{
    for (size_t i = 0; i < s->nops; i++)
        free (s->ops[i].blob);
    s->nops = 0;
    s->bytes = 0;
    /* a backlog made the array big: give it back */
    if (s->cap > 4 * ZPAR_RECORDS_BATCH) {
        free (s->ops);
        s->ops = NULL;
        s->cap = 0;
    }
}

void zpar__rec_ops_drop (zpar_records_t *s, size_t n)
{
    if (n >= s->nops) {
        zpar__rec_ops_free (s);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        s->bytes -= sizeof (op_t) + s->ops[i].len;
        free (s->ops[i].blob);
    }
    memmove (s->ops, s->ops + n, (s->nops - n) * sizeof (op_t));
    s->nops -= n;
}

op_t *zpar__rec_push (zpar_records_t *s)
{
    if (s->nops == s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 256;
        op_t *n = realloc (s->ops, ncap * sizeof (*n));
        if (!n)
            return NULL;
        s->ops = n;
        s->cap = ncap;
    }
    memset (&s->ops[s->nops], 0, sizeof (op_t));
    s->bytes += sizeof (op_t);
    return &s->ops[s->nops++];
}

/* Undo the last zpar__rec_push (its blob not set yet). */
void zpar__rec_pop (zpar_records_t *s)
{
    s->nops--;
    s->bytes -= sizeof (op_t);
}

void zpar__rec_added (zpar_records_t *s, const op_t *op)
{
    s->bytes += op->len;
    spill_add (s, op);
    zpar__rec_check_refusing (s);
}

static int copy_blob (op_t *op, const void *hdr, size_t hlen, const void *body, size_t blen)
{
    if (!hlen + !blen == 2)
        return 0;
    if (!(op->blob = malloc (hlen + blen)))
        return -1;
    if (hlen)
        memcpy (op->blob, hdr, hlen);
    if (blen)
        memcpy ((uint8_t *)op->blob + hlen, body, blen);
    op->len = hlen + blen;
    return 0;
}

static int bad_put (const zpar_records_t *s, uint64_t id, const void *hdr, size_t hlen,
                    const void *body, size_t blen)
{
    if (!s || id == 0 || id > INT64_MAX || (hlen && !hdr) || (blen && !body) ||
        hlen + blen > INT_MAX) {
        errno = EINVAL;
        return 1;
    }
    return 0;
}

int zpar__records_put_request (zpar_records_t *s, zpar_tid_t tid, zpar_cid_t client,
                               zpar_eid_t engine, const void *hdr, size_t hlen, const void *body,
                               size_t blen, uint64_t when_us)
{
    op_t *op;
    if (bad_put (s, tid.v, hdr, hlen, body, blen) || !(op = zpar__rec_push (s)))
        return -1;
    op->kind = OP_REQUEST;
    op->id = tid.v;
    op->client = client.v;
    op->engine = engine.v;
    op->when = when_us;
    if (copy_blob (op, hdr, hlen, body, blen) < 0) {
        zpar__rec_pop (s);
        return -1;
    }
    zpar__rec_added (s, op);
    return 0;
}

int zpar__records_put_running (zpar_records_t *s, zpar_tid_t tid, zpar_eid_t engine,
                               uint64_t when_us)
{
    op_t *op;
    if (bad_put (s, tid.v, NULL, 0, NULL, 0) || !(op = zpar__rec_push (s)))
        return -1;
    op->kind = OP_RUNNING;
    op->id = tid.v;
    op->engine = engine.v;
    op->when = when_us;
    zpar__rec_added (s, op);
    return 0;
}

int zpar__records_put_result (zpar_records_t *s, zpar_tid_t tid, zpar_eid_t engine, int status,
                              const void *hdr, size_t hlen, const void *body, size_t blen,
                              uint64_t when_us)
{
    op_t *op;
    if (bad_put (s, tid.v, hdr, hlen, body, blen) || !(op = zpar__rec_push (s)))
        return -1;
    op->kind = OP_RESULT;
    op->id = tid.v;
    op->engine = engine.v;
    op->status = status;
    op->when = when_us;
    if (copy_blob (op, hdr, hlen, body, blen) < 0) {
        zpar__rec_pop (s);
        return -1;
    }
    zpar__rec_added (s, op);
    return 0;
}

size_t zpar__records_batched (const zpar_records_t *s)
{
    return s ? s->nops : 0;
}

int zpar__records_health (const zpar_records_t *s, zpar_records_health_t *h)
{
    if (!s || !h) {
        errno = EINVAL;
        return -1;
    }
    memset (h, 0, sizeof (*h));
    h->unsaved = s->nops;
    h->bytes = s->bytes;
    h->limit = s->limit;
    h->since_us = s->since_us;
    h->failures = s->failures;
    h->refusing = s->refusing;
    h->errnum = s->since_us ? s->errnum : 0;
    h->catching_up = s->catching_up;
    snprintf (h->error, sizeof (h->error), "%s", s->error);
    return 0;
}

void zpar__records_set_limit (zpar_records_t *s, size_t bytes)
{
    if (s) {
        s->limit = bytes ? bytes : ZPAR_RECORDS_LIMIT_DEFAULT;
        zpar__rec_check_refusing (s);
    }
}

void zpar__records_on_refusing (zpar_records_t *s, zpar_records_refusing_f fn, void *arg)
{
    if (s) {
        s->on_refusing = fn;
        s->on_refusing_arg = arg;
    }
}

/* What the unsaved batch says about task id, applied over what the
 * database said (*state, *status, *req, *res as zpar__records_get sets
 * them; found: whether the database had it).  The latest request and
 * result of the batch win, as they will when it is written.  1 if the
 * batch names the task, -1 ENOMEM. */
int zpar__rec_overlay (const zpar_records_t *s, uint64_t id, int found, int *state, int *status,
                       uint8_t **req, size_t *reqlen, uint8_t **res, size_t *reslen)
{
    const op_t *rq = NULL, *rs = NULL;
    int named = 0, st = found ? *state : ZPAR_REC_PENDING;
    for (size_t i = 0; i < s->nops; i++) {
        const op_t *op = &s->ops[i];
        if (op->id != id || !OP_TASK (op))
            continue;
        named = 1;
        if (op->kind == OP_REQUEST)
            rq = op;
        else if (op->kind == OP_RUNNING)
            st = st < ZPAR_REC_RUNNING ? ZPAR_REC_RUNNING : st;
        else {
            rs = op;
            st = ZPAR_REC_DONE;
        }
    }
    if (!named)
        return 0;
    *state = st;
    if (!found)
        *status = 0;
    if (rs)
        *status = rs->status;
    if (req && rq) {
        uint8_t *c = rq->len ? malloc (rq->len) : NULL;
        if (rq->len && !c)
            return -1;
        if (rq->len)
            memcpy (c, rq->blob, rq->len);
        free (*req);
        *req = c;
        *reqlen = rq->len;
    }
    if (res && rs) {
        uint8_t *c = rs->len ? malloc (rs->len) : NULL;
        if (rs->len && !c)
            return -1;
        if (rs->len)
            memcpy (c, rs->blob, rs->len);
        free (*res);
        *res = c;
        *reslen = rs->len;
    }
    return 1;
}

/* The tasks of the batch (*map: id -> entry), NULL ENOMEM. */
btask_t *zpar__rec_batch_tasks (const zpar_records_t *s, zpar_idmap_t **map, size_t *n)
{
    btask_t *v = calloc (s->nops ? s->nops : 1, sizeof (*v));
    zpar_idmap_t *m = zpar__idmap_create ();
    size_t k = 0;
    if (!v || !m)
        goto nomem;
    for (size_t i = 0; i < s->nops; i++) {
        const op_t *op = &s->ops[i];
        btask_t *t;
        if (!OP_TASK (op))
            continue;
        if (!(t = zpar__idmap_get (m, op->id))) {
            t = &v[k++];
            t->id = op->id;
            if (zpar__idmap_put (m, op->id, t) < 0)
                goto nomem;
        }
        if (op->kind == OP_REQUEST) {
            t->req = op;
            if (!t->engine)
                t->engine = op->engine;
        } else if (op->kind == OP_RUNNING) {
            t->state = t->state < ZPAR_REC_RUNNING ? ZPAR_REC_RUNNING : t->state;
            t->engine = op->engine;
        } else {
            t->state = ZPAR_REC_DONE;
            t->status = op->status;
        }
    }
    *map = m;
    *n = k;
    return v;
nomem:
    free (v);
    zpar__idmap_destroy (m);
    errno = ENOMEM;
    return NULL;
}
