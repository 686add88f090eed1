/* test_heartbeat_many.c - the heartbeat with thousands of silent engines
 * of a few local processes (a start storm of engine farms): the kernel is
 * asked about each process once per check, not once per engine, and what
 * it says is new at every check (a process that stops: its engines die at
 * the limit). */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "heartbeat.h"
#include "tap.h"

#define MS      1000u
#define ENGINES 3000u /* a third silent: not a collective silence */

static struct {
    uint32_t running[3]; /* the processes that run (0: none) */
    unsigned asked;
} kernel;

static int fake_alive (void *arg, uint32_t pid)
{
    (void)arg;
    kernel.asked++;
    for (int i = 0; i < 3; i++)
        if (kernel.running[i] == pid)
            return 1;
    return 0;
}

static int silent (uint32_t i)
{
    return i % 3 == 0;
}

/* pings up to now_ms (every 100 ms from from_ms), echoed by the others */
static void beat (zpar_heartbeat_t *hb, int from_ms, int now_ms)
{
    for (int t = from_ms; t <= now_ms; t += 100) {
        uint64_t seq = zpar__heartbeat_ping (hb, (uint64_t)t * MS);
        for (uint32_t i = 1; i <= ENGINES; i++)
            if (!silent (i))
                zpar__heartbeat_pong (hb, zpar__eid (i), seq);
    }
}

int main (void)
{
    zpar_heartbeat_t *hb = zpar__heartbeat_create (100, 3);
    uint32_t pids[3] = {1001, 1002, 1065};
    int n1002 = 0;
    zpar__heartbeat_set_alive (hb, fake_alive, NULL);
    memcpy (kernel.running, pids, sizeof (pids));
    for (uint32_t i = 1; i <= ENGINES; i++) {
        zpar__heartbeat_watch (hb, zpar__eid (i), 0);
        zpar__heartbeat_set_pid (hb, zpar__eid (i), pids[(i / 3) % 3]);
    }
    beat (hb, 100, 500);
    zpar__heartbeat_check (hb, 300 * MS, NULL, NULL);
    kernel.asked = 0;
    is_int (zpar__heartbeat_check (hb, 500 * MS, NULL, NULL), 0,
            "past the limit, %u silent engines of 3 running processes: slow, none dead",
            ENGINES / 3);
    is_int (kernel.asked, 3, "the kernel asked about each process once, not per engine");
    /* process 1002 stops: its engines die at the next check */
    for (uint32_t i = 1; i <= ENGINES; i++)
        n1002 += silent (i) && pids[(i / 3) % 3] == 1002;
    kernel.running[1] = 0;
    kernel.asked = 0;
    beat (hb, 600, 600);
    is_int (zpar__heartbeat_check (hb, 600 * MS, NULL, NULL), n1002,
            "process 1002 stopped: its %d silent engines die at the next check", n1002);
    is_int (kernel.asked, 3, "the kernel asked again at that check");
    ok (zpar__heartbeat_watched (hb, zpar__eid (6)) &&
            !zpar__heartbeat_watched (hb, zpar__eid (12)),
        "the engines of the processes that run live on");
    zpar__heartbeat_destroy (hb);
    return done_testing ();
}
