/* replay.c - see replay.h.
 *
 * Open addressing with linear probing over a power-of-two array.  A
 * forgotten session leaves a tombstone so that probe chains stay whole;
 * tombstones and expired sessions go at the next rehash, which also sizes
 * the array to the live sessions (load 1/4 to 1/2 after a rehash, at most
 * 3/4 before the next one).
 *
 * Per session: the newest seq seen, the newest sender timestamp (for
 * expiry), and which seqs below the newest were seen.  While the newest seq
 * is at most 64, a 64-bit word (bit k: seq newest-k) covers every seq of
 * the session exactly; past that, a 4,096-bit map indexed by seq modulo
 * the window takes over, losslessly.
 */
#include "replay.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define W           ZPAR_REPLAY_SEQ_WINDOW
#define SMALL_SPAN  64
#define PROBE_EVICT 32

enum {
    S_EMPTY = 0,
    S_LIVE = 1,
    S_TOMB = 2,
};

typedef struct {
    uint64_t session;
    uint64_t max_seq;
    uint64_t max_time_us; /* newest sender timestamp seen */
    uint64_t small;       /* bit k: seq max_seq - k seen (while max_seq <= 64) */
    uint64_t *big;        /* W bits, bit (seq % W), once max_seq > 64 */
    int state;
} slot_t;

struct zpar_replay {
    slot_t *slots;
    size_t cap; /* power of two */
    size_t max_cap;
    size_t live;
    size_t tombs;
    uint64_t window_us;
    uint64_t evicted;
    uint64_t next_sweep_us; /* next full pass dropping expired sessions */
    size_t cursor;          /* where eviction looks next */
};

static size_t pow2_at_least (size_t n)
{
    size_t p = ZPAR_REPLAY_MIN_SLOTS;
    while (p < n && p < ((size_t)1 << (sizeof (size_t) * 8 - 2)))
        p <<= 1;
    return p;
}

zpar_replay_t *zpar__replay_create (uint64_t window_us, size_t max_slots)
{
    zpar_replay_t *t;
    if (window_us == 0) {
        errno = EINVAL;
        return NULL;
    }
    if (!(t = calloc (1, sizeof (*t))))
        return NULL;
    t->max_cap = pow2_at_least (max_slots ? max_slots : ZPAR_REPLAY_MAX_SLOTS);
    t->cap = ZPAR_REPLAY_MIN_SLOTS;
    t->window_us = window_us;
    if (!(t->slots = calloc (t->cap, sizeof (slot_t)))) {
        free (t);
        errno = ENOMEM;
        return NULL;
    }
    return t;
}

void zpar__replay_destroy (zpar_replay_t *t)
{
    int saved = errno;
    if (!t)
        return;
    for (size_t i = 0; i < t->cap; i++)
        free (t->slots[i].big);
    free (t->slots);
    free (t);
    errno = saved;
}

size_t zpar__replay_sessions (const zpar_replay_t *t)
{
    return t ? t->live : 0;
}

size_t zpar__replay_capacity (const zpar_replay_t *t)
{
    return t ? t->cap : 0;
}

uint64_t zpar__replay_evicted (const zpar_replay_t *t)
{
    return t ? t->evicted : 0;
}

static size_t home (const zpar_replay_t *t, uint64_t session)
{
    return (size_t)((session * 0x9E3779B97F4A7C15ull) >> 17) & (t->cap - 1);
}

static int expired (const zpar_replay_t *t, const slot_t *s, uint64_t now_us)
{
    return s->max_time_us + t->window_us < now_us;
}

static void forget (zpar_replay_t *t, slot_t *s)
{
    free (s->big);
    memset (s, 0, sizeof (*s));
    s->state = S_TOMB;
    t->live--;
    t->tombs++;
}

/* Move every live, unexpired session into a new array of newcap slots. */
static int rehash (zpar_replay_t *t, size_t newcap, uint64_t now_us)
{
    slot_t *old = t->slots, *ns = calloc (newcap, sizeof (slot_t));
    size_t oldcap = t->cap;
    if (!ns)
        return -1;
    t->slots = ns;
    t->cap = newcap;
    t->live = 0;
    t->tombs = 0;
    for (size_t i = 0; i < oldcap; i++) {
        slot_t *s = &old[i];
        size_t j;
        if (s->state != S_LIVE)
            continue;
        if (expired (t, s, now_us)) {
            free (s->big);
            continue;
        }
        for (j = home (t, s->session); ns[j].state != S_EMPTY; j = (j + 1) & (newcap - 1))
            ;
        ns[j] = *s;
        t->live++;
    }
    free (old);
    return 0;
}

static size_t count_unexpired (const zpar_replay_t *t, uint64_t now_us)
{
    size_t n = 0;
    for (size_t i = 0; i < t->cap; i++)
        if (t->slots[i].state == S_LIVE && !expired (t, &t->slots[i], now_us))
            n++;
    return n;
}

/* Once per quarter window, or when the load says so: drop expired
 * sessions and tombstones and size the array to the live sessions (so it
 * follows them up and down).  At the cap, with
 * the table full of live sessions, nothing can be dropped and the caller
 * recycles a slot. */
static void make_room (zpar_replay_t *t, uint64_t now_us)
{
    size_t want, n;
    size_t limit = t->cap / 4 * 3;
    if (now_us < t->next_sweep_us && t->live + t->tombs + 1 <= limit)
        return;
    if (now_us >= t->next_sweep_us)
        t->next_sweep_us = now_us + t->window_us / 4;
    n = count_unexpired (t, now_us);
    want = pow2_at_least (2 * (n + 1));
    if (want > t->max_cap)
        want = t->max_cap;
    if (want == t->cap && n == t->live && t->tombs < t->cap / 8)
        return;                     /* nothing to gain: full of live sessions at the cap */
    (void)rehash (t, want, now_us); /* on ENOMEM keep the old table */
}

static slot_t *lookup (zpar_replay_t *t, uint64_t session, uint64_t now_us, slot_t **free_slot)
{
    size_t i = home (t, session);
    *free_slot = NULL;
    for (size_t n = 0; n < t->cap; n++, i = (i + 1) & (t->cap - 1)) {
        slot_t *s = &t->slots[i];
        if (s->state == S_EMPTY) {
            if (!*free_slot)
                *free_slot = s;
            return NULL;
        }
        if (s->state == S_LIVE && s->session == session)
            return s;
        if (s->state == S_LIVE && expired (t, s, now_us))
            forget (t, s); /* lazy expiry on the way */
        if (s->state == S_TOMB && !*free_slot)
            *free_slot = s;
    }
    return NULL;
}

/* The table is full of live sessions (at the cap): forget the session
 * heard from longest ago among PROBE_EVICT slots from a rotating cursor,
 * leaving a tombstone (cleared at the next rehash). */
static void evict_one (zpar_replay_t *t)
{
    slot_t *oldest = NULL;
    for (size_t n = 0; n < PROBE_EVICT; n++) {
        slot_t *s = &t->slots[t->cursor & (t->cap - 1)];
        t->cursor = (t->cursor + 1) & (t->cap - 1);
        if (s->state == S_LIVE && (!oldest || s->max_time_us < oldest->max_time_us))
            oldest = s;
    }
    if (oldest) {
        forget (t, oldest);
        t->evicted++;
    }
}

static slot_t *insert (zpar_replay_t *t, uint64_t session, uint64_t now_us)
{
    slot_t *s, *free_slot;
    make_room (t, now_us);
    if (t->live + 1 > t->cap / 4 * 3)
        evict_one (t);
    if (t->live + t->tombs + 2 > t->cap) {
        /* tombstones crowd out the empty slots that end probe chains */
        if (rehash (t, t->cap, now_us) < 0)
            return NULL;
    }
    if ((s = lookup (t, session, now_us, &free_slot)))
        return s;
    if (!free_slot)
        return NULL;
    if (free_slot->state == S_TOMB)
        t->tombs--;
    memset (free_slot, 0, sizeof (*free_slot));
    free_slot->state = S_LIVE;
    free_slot->session = session;
    t->live++;
    return free_slot;
}

/* Seq bookkeeping of one session: 0 fresh (recorded), -1 seen / too old. */
static int seq_check (slot_t *s, uint64_t seq)
{
    if (seq > s->max_seq) {
        uint64_t gap = seq - s->max_seq;
        if (!s->big && seq > SMALL_SPAN) {
            /* leaving the small window: move what it knows into the map */
            if (!(s->big = calloc (W / 64, sizeof (uint64_t)))) {
                errno = ENOMEM;
                return -1;
            }
            for (uint64_t k = 0; k < SMALL_SPAN && k < s->max_seq; k++) {
                if (s->small & (1ull << k)) {
                    uint64_t q = s->max_seq - k;
                    s->big[(q % W) / 64] |= 1ull << (q % 64);
                }
            }
        }
        if (s->big) {
            if (gap >= W)
                memset (s->big, 0, W / 8);
            else
                for (uint64_t q = s->max_seq + 1; q != seq + 1; q++) /* seq may be 2^64-1 */
                    s->big[(q % W) / 64] &= ~(1ull << (q % 64));
            s->big[(seq % W) / 64] |= 1ull << (seq % 64);
        } else {
            s->small = (gap >= 64 ? 0 : s->small << gap) | 1u;
        }
        s->max_seq = seq;
        return 0;
    }
    if (s->big) {
        uint64_t *w = &s->big[(seq % W) / 64], bit = 1ull << (seq % 64);
        if (s->max_seq - seq >= W || (*w & bit))
            return -1;
        *w |= bit;
        return 0;
    }
    /* small window: max_seq <= 64, so every seq >= 1 is within it */
    {
        uint64_t bit = 1ull << (s->max_seq - seq);
        if (s->small & bit)
            return -1;
        s->small |= bit;
        return 0;
    }
}

int zpar__replay_check (zpar_replay_t *t, uint64_t session, uint64_t seq, uint64_t time_us,
                        uint64_t now_us)
{
    slot_t *s, *free_slot;
    if (!t) {
        errno = EINVAL;
        return -1;
    }
    if (session == 0 || seq == 0 || time_us + t->window_us < now_us ||
        time_us > now_us + t->window_us) {
        errno = EALREADY;
        return -1;
    }
    if (!(s = lookup (t, session, now_us, &free_slot))) {
        if (!(s = insert (t, session, now_us))) {
            errno = ENOMEM;
            return -1;
        }
    }
    if (seq_check (s, seq) < 0) {
        if (errno != ENOMEM)
            errno = EALREADY;
        return -1;
    }
    if (time_us > s->max_time_us)
        s->max_time_us = time_us;
    return 0;
}
