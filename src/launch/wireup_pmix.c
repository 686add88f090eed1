/* wireup_pmix.c - ranks and the blob exchange over PMIx (see wireup.h). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"

#include "error.h"
#include "wireup_impl.h"

/* ------------------------------------------------------------------ PMIx */

#ifdef HAVE_PMIX
static bool pmix_launched (void)
{
    extern char **environ;
    if (getenv ("PMIX_NAMESPACE"))
        return true;
    for (char **e = environ; e && *e; e++) {
        if (strncmp (*e, "PMIX_SERVER_URI", 15) == 0)
            return true;
    }
    return false;
}

static int pmix_value_int (const pmix_value_t *v, long *out)
{
    switch (v->type) {
    case PMIX_UINT8:
        *out = v->data.uint8;
        return 0;
    case PMIX_UINT16:
        *out = v->data.uint16;
        return 0;
    case PMIX_UINT32:
        *out = v->data.uint32;
        return 0;
    case PMIX_UINT64:
        *out = v->data.uint64 > INT_MAX ? -1 : (long)v->data.uint64;
        return 0;
    case PMIX_INT:
        *out = v->data.integer;
        return 0;
    case PMIX_INT16:
        *out = v->data.int16;
        return 0;
    case PMIX_INT32:
        *out = v->data.int32;
        return 0;
    case PMIX_PROC_RANK:
        *out = (long)v->data.rank;
        return 0;
    default:
        return -1;
    }
}

static int pmix_get_int (const pmix_proc_t *proc, const char *key, int *out, zpar_error_t *err)
{
    pmix_value_t *v = NULL;
    long x = -1;
    pmix_status_t rc = PMIx_Get (proc, key, NULL, 0, &v);
    if (rc != PMIX_SUCCESS)
        return zpar__errnoprintf (err, EPROTO, "PMIx_Get(%s): %s", key, PMIx_Error_string (rc));
    if (pmix_value_int (v, &x) < 0 || x < 0 || x > INT_MAX) {
        int type = (int)v->type;
        PMIX_VALUE_RELEASE (v);
        return zpar__errnoprintf (err, EPROTO, "PMIx_Get(%s): unexpected value (type %d)", key,
                                  type);
    }
    PMIX_VALUE_RELEASE (v);
    *out = (int)x;
    return 0;
}

/* 1 = PMIx answered (w filled), 0 = not PMIx-launched or init failed, -1 error. */
int zpar__wireup_from_pmix (zpar_wireup_t *w, zpar_error_t *err)
{
    pmix_proc_t wild;
    pmix_status_t rc;

    if (!pmix_launched ())
        return 0; /* not PMIx-launched: nothing to say */
    if (w->flags & ZPAR_WIREUP_NO_PMIX) {
        zpar__wireup_note (w, "pmix: skipped");
        return 0;
    }
    PMIX_PROC_CONSTRUCT (&w->me);
    rc = PMIx_Init (&w->me, NULL, 0);
    if (rc != PMIX_SUCCESS) {
        /* e.g. UNREACHABLE in a batch script: fall back */
        zpar__wireup_note (w, "pmix: PMIx_Init: %s", PMIx_Error_string (rc));
        w->fell_back = true;
        return 0;
    }
    w->pmix_up = true;
    PMIX_PROC_CONSTRUCT (&wild);
    PMIX_LOAD_PROCID (&wild, w->me.nspace, PMIX_RANK_WILDCARD);
    if (w->me.rank > (pmix_rank_t)INT_MAX)
        return zpar__errnoprintf (err, EPROTO, "PMIx_Init returned rank %u", w->me.rank);
    w->rank = (int)w->me.rank;
    if (pmix_get_int (&wild, PMIX_JOB_SIZE, &w->size, err) < 0 ||
        pmix_get_int (&w->me, PMIX_LOCAL_RANK, &w->local_rank, err) < 0 ||
        pmix_get_int (&wild, PMIX_LOCAL_SIZE, &w->local_size, err) < 0)
        return -1;
    w->source = ZPAR_WIREUP_SRC_PMIX;
    if (zpar__wireup_check_ranks (w, "PMIx", err) < 0) {
        errno = EPROTO;
        return -1;
    }
    return 1;
}

char *zpar__wireup_pmix_nodes (const zpar_wireup_t *w)
{
    char *list = NULL;
    if (PMIx_Resolve_nodes (w->me.nspace, &list) != PMIX_SUCCESS || !list || !*list) {
        free (list);
        return NULL;
    }
    return list;
}

static int pmix_timeout_s (const zpar_wireup_t *w)
{
    return (w->timeout_ms + 999) / 1000;
}

int zpar__wireup_pmix_publish (zpar_wireup_t *w, const char *blob, zpar_error_t *err)
{
    pmix_value_t val;
    pmix_status_t rc;

    PMIX_VALUE_CONSTRUCT (&val);
    val.type = PMIX_STRING;
    val.data.string = (char *)blob; /* PMIx_Put copies */
    if ((rc = PMIx_Put (PMIX_GLOBAL, ZPAR_WIREUP_PMIX_KEY, &val)) != PMIX_SUCCESS)
        return zpar__errnoprintf (err, EIO, "PMIx_Put(%s): %s", ZPAR_WIREUP_PMIX_KEY,
                                  PMIx_Error_string (rc));
    if ((rc = PMIx_Commit ()) != PMIX_SUCCESS)
        return zpar__errnoprintf (err, EIO, "PMIx_Commit: %s", PMIx_Error_string (rc));
    return 0;
}

/* PMIx_Fence over the whole job with the timeout; collect: with data. */
int zpar__wireup_pmix_fence (zpar_wireup_t *w, bool collect, zpar_error_t *err)
{
    pmix_proc_t wild;
    pmix_info_t info[2];
    int tmo = pmix_timeout_s (w);
    pmix_status_t rc;

    PMIX_PROC_CONSTRUCT (&wild);
    PMIX_LOAD_PROCID (&wild, w->me.nspace, PMIX_RANK_WILDCARD);
    PMIX_INFO_CONSTRUCT (&info[0]);
    PMIX_INFO_CONSTRUCT (&info[1]);
    PMIX_INFO_LOAD (&info[0], PMIX_COLLECT_DATA, &collect, PMIX_BOOL);
    PMIX_INFO_LOAD (&info[1], PMIX_TIMEOUT, &tmo, PMIX_INT);
    rc = PMIx_Fence (&wild, 1, info, 2);
    PMIX_INFO_DESTRUCT (&info[0]);
    PMIX_INFO_DESTRUCT (&info[1]);
    if (rc == PMIX_ERR_TIMEOUT)
        return zpar__errnoprintf (err, ETIMEDOUT,
                                  "PMIx_Fence timed out after %d s: some rank "
                                  "did not reach the wire-up",
                                  tmo);
    if (rc != PMIX_SUCCESS)
        return zpar__errnoprintf (err, EIO, "PMIx_Fence: %s", PMIx_Error_string (rc));
    return 0;
}

/* Get rank 0's key.  PMIX_TIMEOUT makes the server wait for a value not
 * posted yet, but some servers answer NOT-FOUND at once instead (seen with
 * Open MPI's orted when two of them run on one host): retry those until
 * the deadline, backing off from 5 to 200 ms. */
char *zpar__wireup_pmix_fetch (zpar_wireup_t *w, zpar_error_t *err)
{
    pmix_proc_t peer;
    pmix_value_t *v = NULL;
    double deadline = zpar__mono_s () + w->timeout_ms / 1000.0;
    int delay = 5, tries = 0;
    pmix_status_t rc;
    char *s;

    PMIX_PROC_CONSTRUCT (&peer);
    PMIX_LOAD_PROCID (&peer, w->me.nspace, 0);
    for (;;) {
        pmix_info_t info;
        int tmo = (int)(deadline - zpar__mono_s () + 0.999);
        if (tmo < 1)
            tmo = 1;
        PMIX_INFO_CONSTRUCT (&info);
        PMIX_INFO_LOAD (&info, PMIX_TIMEOUT, &tmo, PMIX_INT);
        rc = PMIx_Get (&peer, ZPAR_WIREUP_PMIX_KEY, &info, 1, &v);
        PMIX_INFO_DESTRUCT (&info);
        tries++;
        if (rc != PMIX_ERR_NOT_FOUND || zpar__mono_s () >= deadline)
            break;
        zpar__sleep_s (delay / 1000.0);
        if (delay < 200)
            delay *= 2;
    }
    if (rc == PMIX_ERR_TIMEOUT || rc == PMIX_ERR_NOT_FOUND) {
        zpar__errnoprintf (err, ETIMEDOUT,
                           "timed out after %d s waiting for rank 0 to publish "
                           "PMIx key %s (%s after %d tries): rank 0 (the controller) did not "
                           "start, or finalized/exited before this rank fetched",
                           pmix_timeout_s (w), ZPAR_WIREUP_PMIX_KEY, PMIx_Error_string (rc), tries);
        return NULL;
    }
    if (rc != PMIX_SUCCESS) {
        zpar__errnoprintf (err, EIO, "PMIx_Get(rank 0, %s): %s", ZPAR_WIREUP_PMIX_KEY,
                           PMIx_Error_string (rc));
        return NULL;
    }
    if (v->type != PMIX_STRING || !v->data.string) {
        zpar__errnoprintf (err, EPROTO, "PMIx_Get(rank 0, %s): not a string (type %d)",
                           ZPAR_WIREUP_PMIX_KEY, (int)v->type);
        PMIX_VALUE_RELEASE (v);
        return NULL;
    }
    s = strdup (v->data.string);
    PMIX_VALUE_RELEASE (v);
    if (!s)
        zpar__errnoprintf (err, ENOMEM, "out of memory");
    return s;
}
#endif /* HAVE_PMIX */
