/* test_replay.c - the replay table: fresh vs replayed, the time window,
 * 100,000 fresh sessions (no honest peer refused), expiry, the cap, the
 * small-to-large window hand-over, bad parameters. */
#include <errno.h>
#include <stdint.h>

#include "replay.h"
#include "tap.h"

#define SEC 1000000ull
#define WIN (600 * SEC)

static uint64_t sess (uint64_t i)
{
    return i * 0x2545F4914F6CDD1Dull + 1; /* distinct, non-zero */
}

int main (void)
{
    zpar_replay_t *t;
    uint64_t now = 1700000000ull * SEC;
    size_t bad;

    /* bad parameters */
    ok (zpar__replay_create (0, 0) == NULL && errno == EINVAL, "window 0 is EINVAL");
    ok (zpar__replay_check (NULL, 1, 1, now, now) < 0 && errno == EINVAL, "NULL table is EINVAL");
    zpar__replay_destroy (NULL);
    ok (zpar__replay_sessions (NULL) == 0 && zpar__replay_capacity (NULL) == 0,
        "NULL-safe getters");

    t = zpar__replay_create (WIN, 0);
    ok (t != NULL, "created");
    ok (zpar__replay_check (t, 0, 1, now, now) < 0 && errno == EALREADY, "session 0 refused");
    ok (zpar__replay_check (t, 5, 0, now, now) < 0 && errno == EALREADY, "seq 0 refused");
    ok (zpar__replay_check (t, 5, 1, now - WIN - 1, now) < 0 && errno == EALREADY,
        "older than the window refused");
    ok (zpar__replay_check (t, 5, 1, now + WIN + 1, now) < 0 && errno == EALREADY,
        "from beyond the window refused");

    /* fresh, then replayed */
    ok (zpar__replay_check (t, 7, 1, now, now) == 0, "fresh accepted");
    ok (zpar__replay_check (t, 7, 1, now, now) < 0 && errno == EALREADY, "same message refused");
    ok (zpar__replay_check (t, 7, 3, now, now) == 0, "seq 3 accepted");
    ok (zpar__replay_check (t, 7, 2, now, now) == 0, "seq 2 out of order accepted");
    ok (zpar__replay_check (t, 7, 2, now, now) < 0, "seq 2 again refused");

    /* small window -> 4,096-bit map: nothing forgotten on the way */
    {
        uint64_t s = 99;
        int fails = 0;
        for (uint64_t q = 1; q <= 64; q += 2)
            fails += zpar__replay_check (t, s, q, now, now) != 0;
        fails += zpar__replay_check (t, s, 500, now, now) != 0; /* goes past 64 */
        for (uint64_t q = 1; q <= 64; q += 2)
            fails += zpar__replay_check (t, s, q, now, now) == 0; /* replays */
        for (uint64_t q = 2; q <= 64; q += 2)
            fails += zpar__replay_check (t, s, q, now, now) != 0; /* never seen */
        for (uint64_t q = 2; q <= 64; q += 2)
            fails += zpar__replay_check (t, s, q, now, now) == 0;
        fails += zpar__replay_check (t, s, 500, now, now) == 0;
        fails += zpar__replay_check (t, s, 499, now, now) != 0;
        is_int (fails, 0, "hand-over from the 64-bit word to the map keeps every seq");
        ok (zpar__replay_check (t, s, 500 + ZPAR_REPLAY_SEQ_WINDOW, now, now) == 0 &&
                zpar__replay_check (t, s, 500, now, now) < 0,
            "a seq a whole window behind the newest is refused");
    }

    /* a long-lived sender: 20,000 in-order messages, each once */
    {
        int fails = 0;
        for (uint64_t q = 1; q <= 20000; q++)
            fails += zpar__replay_check (t, 4242, q, now, now) != 0;
        for (uint64_t q = 20000 - 4000; q <= 20000; q++)
            fails += zpar__replay_check (t, 4242, q, now, now) == 0;
        is_int (fails, 0,
                "20,000 messages of one session accepted once, recent ones refused again");
    }
    zpar__replay_destroy (t);

    /* 100,000 fresh sessions (CLI calls) within the window: none refused,
     * every replay refused, and a new client still accepted */
    t = zpar__replay_create (WIN, 0);
    bad = 0;
    for (uint64_t i = 0; i < 100000; i++)
        bad += zpar__replay_check (t, sess (i), 1, now, now + i) != 0;
    is_int ((int)bad, 0, "100,000 fresh sessions all accepted");
    is_int ((int)zpar__replay_sessions (t), 100000, "all 100,000 remembered");
    bad = 0;
    for (uint64_t i = 0; i < 100000; i++)
        bad += zpar__replay_check (t, sess (i), 1, now, now + 100000) == 0;
    is_int ((int)bad, 0, "each of their messages replayed is refused");
    bad = 0;
    for (uint64_t i = 0; i < 1000; i++)
        bad += zpar__replay_check (t, sess (1000000 + i), 1, now, now + 100000) != 0;
    is_int ((int)bad, 0, "1,000 more new clients accepted");
    ok (zpar__replay_evicted (t) == 0, "nothing forgotten early");

    /* they age out: an hour later, new sessions reuse the room and the
     * table shrinks back */
    {
        uint64_t later = now + 3600 * SEC;
        bad = 0;
        for (uint64_t i = 0; i < 5000; i++)
            bad += zpar__replay_check (t, sess (2000000 + i), 1, later, later) != 0;
        is_int ((int)bad, 0, "new sessions after the window accepted");
        ok (zpar__replay_sessions (t) <= 5000 + 1000, "expired sessions forgotten (%zu live)",
            zpar__replay_sessions (t));
        ok (zpar__replay_capacity (t) <= 32768, "capacity follows the live sessions (%zu slots)",
            zpar__replay_capacity (t));
    }
    zpar__replay_destroy (t);

    /* the cap: 1,024 slots, 50,000 live sessions: every new one accepted,
     * the oldest forgotten early, memory bounded */
    t = zpar__replay_create (WIN, 1024);
    bad = 0;
    for (uint64_t i = 0; i < 50000; i++)
        bad += zpar__replay_check (t, sess (i), 1, now + i, now + i) != 0;
    is_int ((int)bad, 0, "50,000 sessions through a 1,024-slot table: none refused");
    ok (zpar__replay_capacity (t) == 1024, "capacity stays at the cap");
    ok (zpar__replay_evicted (t) > 0, "the oldest were forgotten early (%llu)",
        (unsigned long long)zpar__replay_evicted (t));
    ok (zpar__replay_check (t, sess (49999), 1, now + 49999, now + 50000) < 0,
        "the newest session's message replayed is still refused");
    zpar__replay_destroy (t);
    return done_testing ();
}
