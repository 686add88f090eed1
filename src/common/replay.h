/* replay.h - the replay table of a message receiver (internal).
 *
 * Every signed message carries the sender's random session id, a sequence
 * number (from 1, per session) and the sender's clock.  A receiver accepts a
 * message once: its timestamp must be within the replay window of the
 * receiver's clock, and its (session, seq) must not have been seen.
 *
 * The table remembers, per sender session, the highest sequence number seen
 * and which of the ZPAR_REPLAY_SEQ_WINDOW sequence numbers below it were
 * seen (a message further behind is treated as a replay).  A session is
 * forgotten once its newest message is older than the window: any message
 * of it would fail the timestamp check anyway, so forgetting it opens
 * nothing.  Sessions that sent fewer than 64 messages (one CLI call) cost 48
 * bytes; the 4,096-bit map is allocated when a session goes past that.
 *
 * The table grows with the number of live sessions (sessions heard from
 * within the window) up to ZPAR_REPLAY_MAX_SLOTS; if a key holder makes
 * more live sessions than that, the one heard from longest ago among those
 * probed is forgotten early (never a refusal of a new honest peer).
 *
 * Thread-safety: a table belongs to one thread (its signer's).
 */
#ifndef ZPAR__REPLAY_H
#define ZPAR__REPLAY_H

#include <stddef.h>
#include <stdint.h>

#define ZPAR_REPLAY_SEQ_WINDOW 4096       /* out-of-order tolerance, in seqs */
#define ZPAR_REPLAY_MIN_SLOTS  64         /* initial capacity (power of two) */
#define ZPAR_REPLAY_MAX_SLOTS  (1u << 20) /* capacity cap (power of two) */

typedef struct zpar_replay zpar_replay_t;

/* A table with the given window (microseconds, > 0) and capacity cap in
 * slots (0: ZPAR_REPLAY_MAX_SLOTS; rounded up to a power of two, at least
 * ZPAR_REPLAY_MIN_SLOTS).  NULL with errno (EINVAL, ENOMEM). */
zpar_replay_t *zpar__replay_create (uint64_t window_us, size_t max_slots);

/* NULL-safe, keeps errno. */
void zpar__replay_destroy (zpar_replay_t *t);

/* Check one message and remember it.  now_us: the receiver's wall clock.
 * 0 when fresh; -1 with errno EALREADY when replayed, too far behind its
 * session's newest message, stale or from the future (outside the window),
 * or with session or seq 0; -1 ENOMEM if the table could not grow and no
 * slot could be recycled (the message is refused, nothing is recorded). */
int zpar__replay_check (zpar_replay_t *t, uint64_t session, uint64_t seq, uint64_t time_us,
                        uint64_t now_us);

/* Live sessions remembered, and the current capacity in slots. */
size_t zpar__replay_sessions (const zpar_replay_t *t);
size_t zpar__replay_capacity (const zpar_replay_t *t);

/* Sessions forgotten early because the table was full of live ones. */
uint64_t zpar__replay_evicted (const zpar_replay_t *t);

#endif
