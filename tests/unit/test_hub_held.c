/* test_hub_held.c - what the hub tells an engine that registers again
 * about the tasks it holds (zpar__hub_engine_held, through the
 * registrar): a task running there is adopted (it runs on there, once);
 * a load-balanced task the hub has as pending is dropped.  Pending means
 * the engine was declared dead and the task went back to the task
 * scheduler's queue, from which the scheduler may already have sent it
 * to another engine (the hub learns that a moment later, through the
 * monitor).  Adopting it let the engine run it while the other engine
 * ran it too: the chaos test saw it after an engine SIGSTOPped past the
 * death limit was SIGCONTed (9 tasks run in two places at once), and the
 * task scheduler, which refused the adoption, said so only in its log. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hub.h"
#include "hub_fixture.h"
#include "tap.h"
#include "zpar.h"

static char tmpdir[] = "/tmp/zpar-test-held-XXXXXX";

/* A registration of engine uuid from peer, holding held[0..n). */
static zpar_msg_t *reg (zpar_hub_t *h, const char *peer, const char *uuid, const uint64_t *held,
                        size_t n)
{
    hfx_engine_t e = {
        .uuid = uuid, .host = "node7", .pid = 4242, .rank = 0, .held = held, .nheld = n};
    return hfx_engine_register (h, peer, &e);
}

int main (void)
{
    zpar_hub_t h;
    zpar_error_t err;
    zpar_msg_t *r;
    zpar_hdr_t hd = {0};
    char path[256];
    uint8_t *req;
    size_t len;
    int state = -1;

    if (!mkdtemp (tmpdir)) {
        perror ("mkdtemp");
        return 1;
    }
    snprintf (path, sizeof (path), "%s/tasks.sqlite", tmpdir);
    memset (&h, 0, sizeof (h));
    h.scheme = "leastload";
    h.hb_period_ms = 100;
    h.hb_misses = 3;
    ok ((h.records = zpar__records_open (path, &err)) != NULL, "open the records");
    ok (zpar__hub_init (&h) == 0 && !h.recovering, "a hub (no earlier controller)");

    /* the engine first: task 71, which it holds and the hub has not seen
     * anywhere, runs on there (an orphan: counted running on it) */
    {
        static const uint64_t held[] = {71};
        r = reg (&h, "p0", "uuid-0", held, 1);
        ok (r && r->hdr.engine > 0 && !strcmp (hfx_drops (r), ""),
            "engine registers holding task 71");
        zpar__msg_destroy (r);
    }
    ok (zpar__hub_task_live (&h, zpar__tid (71), &state) && state == ZPAR_REC_RUNNING,
        "task 71 runs there");

    /* task 70: load-balanced, pending in the hub (queued, or sent on by the
     * task scheduler to an engine the hub has not heard of yet) */
    req = hfx_pack_task (70, 0, &len);
    hd.task = 70;
    hd.client = 7;
    ok (req && zpar__hub_resubmit (&h, &hd, req, len) == 0 &&
            zpar__hub_task_live (&h, zpar__tid (70), &state) && state == ZPAR_REC_PENDING,
        "task 70 is pending");

    /* the engine registers again (its fence, or it was stopped past the
     * death limit), holding both */
    {
        static const uint64_t held[] = {70, 71};
        r = reg (&h, "p0b", "uuid-0", held, 2);
    }
    is_str (hfx_drops (r), "70", "the pending task is dropped, the one running there is not");
    zpar__msg_destroy (r);
    ok (zpar__hub_task_live (&h, zpar__tid (70), &state) && state == ZPAR_REC_PENDING,
        "task 70 stays pending (the task scheduler runs it where it sends it)");
    ok (zpar__hub_task_live (&h, zpar__tid (71), &state) && state == ZPAR_REC_RUNNING,
        "task 71 is adopted: it runs on there");

    free (req);
    zpar__hub_free_state (&h);
    zpar__records_close (h.records);
    hfx_unlink_db (path);
    rmdir (tmpdir);
    return done_testing ();
}
