/* test_records.c - the hub's task records on a temporary SQLite file:
 * the layout (every field of a request and a result back after a
 * restart; an older layout refused), the compact form's round trip;
 * put / flush / get, unfinished tasks, counts, purge, counters, reopening,
 * bad parameters and a corrupt file; a database that cannot grow (a full
 * disk): the batch is kept, looked at, bounded, and written once it can. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "msg.h"
#include "proto_record.h"
#include "proto_result.h"
#include "records.h"
#include "tap.h"
#include "zpar.h"

#define T(x) zpar__tid (x)
#define C(x) zpar__cid (x)
#define E(x) zpar__eid (x)

static char tmpdir[] = "/tmp/zpar-test-records-XXXXXX";

static char *tmp (const char *name)
{
    static char path[256];
    snprintf (path, sizeof (path), "%s/%s", tmpdir, name);
    return path;
}

typedef struct {
    int n;
    uint64_t ids[8];
    int states[8];
    size_t lens[8];
} seen_t;

static void collect (void *arg, zpar_tid_t id, int state, zpar_eid_t engine, const void *req,
                     size_t len)
{
    seen_t *s = arg;
    (void)engine;
    (void)req;
    if (s->n < 8) {
        s->ids[s->n] = id.v;
        s->states[s->n] = state;
        s->lens[s->n] = len;
    }
    s->n++;
}

static void test_put_get (zpar_records_t *r)
{
    const char hdr[] = "HEADER", body[] = "BODY", res[] = "RESULT!";
    int state = -1, status = -1;
    uint8_t *req = NULL, *out = NULL;
    size_t reqlen = 0, outlen = 0;

    ok (zpar__records_put_request (r, T (1), C (7), E (0), hdr, 6, body, 4, 100) == 0,
        "put request 1");
    ok (zpar__records_put_request (r, T (2), C (7), E (3), hdr, 6, NULL, 0, 101) == 0,
        "put request 2 (no body)");
    ok (zpar__records_put_request (r, T (3), C (8), E (0), hdr, 6, body, 4, 102) == 0,
        "put request 3");
    ok (zpar__records_put_running (r, T (1), E (2), 200) == 0, "put running 1");
    is_int (zpar__records_batched (r), 4, "four puts are batched");
    ok (zpar__records_flush (r, NULL) == 0, "flush");
    is_int (zpar__records_batched (r), 0, "nothing batched after the flush");
    ok (zpar__records_flush (r, NULL) == 0, "an empty flush is fine");

    ok (zpar__records_get (r, T (1), &state, &status, &req, &reqlen, &out, &outlen) == 0,
        "get task 1");
    is_int (state, ZPAR_REC_RUNNING, "task 1 is running");
    ok (req && reqlen == 10 && memcmp (req, "HEADERBODY", 10) == 0, "its request is header+body");
    ok (out == NULL && outlen == 0, "it has no result yet");
    free (req);
    req = NULL;

    ok (zpar__records_put_result (r, T (1), E (2), ZPAR_STATUS_OK, res, 7, NULL, 0, 300) == 0,
        "put result 1");
    ok (zpar__records_put_result (r, T (2), E (3), ZPAR_STATUS_FAILED, hdr, 6, body, 4, 301) == 0,
        "put result 2");
    /* get flushes first: no explicit flush here */
    ok (zpar__records_get (r, T (1), &state, &status, NULL, NULL, &out, &outlen) == 0,
        "get task 1 again (without its request)");
    is_int (state, ZPAR_REC_DONE, "task 1 is done");
    is_int (status, ZPAR_STATUS_OK, "with status ok");
    ok (out && outlen == 7 && memcmp (out, "RESULT!", 7) == 0, "its result is stored as given");
    free (out);
    out = NULL;
    ok (zpar__records_get (r, T (2), &state, &status, &req, &reqlen, NULL, NULL) == 0,
        "get task 2");
    ok (req && reqlen == 6 && memcmp (req, "HEADER", 6) == 0, "a request without body");
    is_int (status, ZPAR_STATUS_FAILED, "task 2 failed");
    free (req);

    errno = 0;
    ok (zpar__records_get (r, T (99), &state, &status, NULL, NULL, NULL, NULL) < 0 &&
            errno == ENOENT,
        "an unknown task: ENOENT");
}

static void test_unfinished_counts (zpar_records_t *r)
{
    seen_t s = {0};
    uint64_t okc = 99, notok = 99;
    ok (zpar__records_unfinished (r, collect, &s) == 0, "list the unfinished tasks");
    is_int (s.n, 1, "one task is unfinished");
    is_int (s.ids[0], 3, "task 3");
    is_int (s.states[0], ZPAR_REC_PENDING, "pending");
    is_int (s.lens[0], 10, "with its request");
    ok (zpar__records_counts (r, &okc, &notok) == 0, "counts");
    is_int (okc, 1, "one ok");
    is_int (notok, 1, "one not ok");
}

static void test_purge (zpar_records_t *r)
{
    int state, status;
    uint64_t okc, notok;
    is_int (zpar__records_purge (r, T (3)), 0, "purging an unfinished task deletes nothing");
    is_int (zpar__records_purge (r, T (1)), 1, "purge task 1");
    errno = 0;
    ok (zpar__records_get (r, T (1), &state, &status, NULL, NULL, NULL, NULL) < 0 &&
            errno == ENOENT,
        "task 1 is gone");
    is_int (zpar__records_purge (r, T (0)), 1, "purge all finished: task 2");
    ok (zpar__records_counts (r, &okc, &notok) == 0 && okc == 0 && notok == 0,
        "no finished task is left");
    ok (zpar__records_get (r, T (3), &state, &status, NULL, NULL, NULL, NULL) == 0,
        "the unfinished task is kept");
}

static void test_counter (void)
{
    zpar_records_t *r;
    uint64_t v = 0;
    ok ((r = zpar__records_open (tmp ("tasks.sqlite"), NULL)) != NULL, "reopen");
    ok (zpar__records_next_counter (r, "client", &v) == 0, "next client number");
    is_int (v, 3, "the counter persisted across the reopen");
    ok (zpar__records_next_counter (r, "other", &v) == 0 && v == 1, "another counter starts at 1");
    ok (zpar__records_get (r, T (3), &(int){0}, &(int){0}, NULL, NULL, NULL, NULL) == 0,
        "the records persisted across the reopen");
    /* a batch that is never flushed explicitly is flushed by close */
    ok (zpar__records_put_result (r, T (3), E (1), ZPAR_STATUS_OK, "x", 1, NULL, 0, 1) == 0,
        "put, then close");
    zpar__records_close (r);
    ok ((r = zpar__records_open (tmp ("tasks.sqlite"), NULL)) != NULL, "reopen again");
    {
        int state = -1, status = -1;
        ok (zpar__records_get (r, T (3), &state, &status, NULL, NULL, NULL, NULL) == 0 &&
                state == ZPAR_REC_DONE,
            "close flushed the batch");
    }
    zpar__records_close (r);
}

static int refusing_calls, refusing_last = -1;
static void on_refusing (void *arg, int refusing)
{
    (void)arg;
    refusing_calls++;
    refusing_last = refusing;
}

/* A database that cannot grow (max_page_count, as a full disk). */
static void test_full (void)
{
    zpar_records_t *r;
    zpar_records_health_t h;
    zpar_error_t err = {{0}};
    char big[8192];
    int state = -1, status = -1;
    uint8_t *req = NULL, *res = NULL;
    size_t reqlen = 0, reslen = 0;
    uint64_t c1 = 0, c2 = 0, c3 = 0;
    const int n = 40;

    memset (big, 'r', sizeof (big));
    ok ((r = zpar__records_open (tmp ("full.sqlite"), NULL)) != NULL, "full: open");
    if (!r)
        return;
    ok (zpar__records_put_request (r, T (100), C (1), E (0), "q", 1, NULL, 0, 1) == 0 &&
            zpar__records_flush (r, NULL) == 0,
        "full: a request saved while there is room");
    ok (zpar__records_next_counter (r, "client", &c1) == 0 && c1 == 1, "full: counter 1 saved");
    ok (zpar__records_test_max_pages (r, 1) == 0, "full: the database may not grow any more");
    for (int i = 0; i < n; i++)
        (void)zpar__records_put_result (r, T (100 + (uint64_t)i), E (1), ZPAR_STATUS_OK, "R", 1,
                                        big, sizeof (big), 2);
    errno = 0;
    ok (zpar__records_flush (r, &err) < 0 && errno == ENOSPC, "full: the write fails ENOSPC (%s)",
        err.text);
    ok (zpar__records_health (r, &h) == 0 && h.since_us > 0 && h.unsaved == (size_t)n &&
            h.bytes >= (size_t)n * sizeof (big) && h.error[0] && !h.refusing && h.errnum == ENOSPC,
        "full: health says not saved since %llu, %zu waiting, %zu bytes: %s",
        (unsigned long long)h.since_us, h.unsaved, h.bytes, h.error);
    errno = 0;
    ok (zpar__records_flush (r, NULL) < 0 && errno == EAGAIN,
        "full: no new try before the retry period");
    ok (zpar__records_get (r, T (100), &state, &status, &req, &reqlen, &res, &reslen) == 0 &&
            state == ZPAR_REC_DONE && status == ZPAR_STATUS_OK && reqlen == 1 && req &&
            req[0] == 'q' && reslen == 1 + sizeof (big) && res && res[0] == 'R',
        "full: a saved request with an unsaved result: both found");
    free (req);
    free (res);
    res = NULL;
    ok (zpar__records_get (r, T (100 + n - 1), &state, &status, NULL, NULL, &res, &reslen) == 0 &&
            state == ZPAR_REC_DONE && reslen == 1 + sizeof (big),
        "full: a task only in the unsaved batch is found");
    free (res);
    errno = 0;
    ok (zpar__records_get (r, T (100 + n), &state, &status, NULL, NULL, NULL, NULL) < 0 &&
            errno == ENOENT,
        "full: an unknown task is still ENOENT");
    ok (zpar__records_next_counter (r, "client", &c2) == 0 && c2 == 2 &&
            zpar__records_next_counter (r, "client", &c3) == 0 && c3 == 3,
        "full: the counter goes on in memory (%llu, %llu)", (unsigned long long)c2,
        (unsigned long long)c3);
    {
        zpar_eid_t eid = {0};
        uint64_t next = 0;
        ok (zpar__records_engine_put (r, "uuid-full", E (9), 9) == 0,
            "full: an engine id, batched");
        ok (zpar__records_engine_get (r, "uuid-full", &eid) == 0 && eid.v == 9,
            "full: it is found before it is saved");
        ok (zpar__records_counter (r, "engine_next", &next) == 0 && next == 9,
            "full: the highest engine id counts it");
    }
    errno = 0;
    ok (zpar__records_purge (r, T (0)) < 0 && errno == ENOSPC, "full: purge refused");
    zpar__records_on_refusing (r, on_refusing, NULL);
    zpar__records_set_limit (r, 4096);
    ok (zpar__records_health (r, &h) == 0 && h.refusing && h.limit == 4096,
        "full: past the bound, refusing");
    ok (refusing_calls == 1 && refusing_last == 1, "full: the change to refusing is told");
    zpar__records_set_limit (r, 0);
    ok (zpar__records_health (r, &h) == 0 && !h.refusing && h.limit == ZPAR_RECORDS_LIMIT_DEFAULT,
        "full: limit 0 is the default");
    ok (refusing_calls == 2 && refusing_last == 0, "full: and back");
    /* a put that crosses the bound is told at once */
    zpar__records_set_limit (r, h.bytes + 100);
    ok (zpar__records_put_running (r, T (100), E (1), 3) == 0 && refusing_calls == 2,
        "full: a put under the bound: not refusing");
    ok (zpar__records_put_result (r, T (100), E (1), ZPAR_STATUS_OK, "R", 1, big, 200, 4) == 0 &&
            refusing_calls == 3 && refusing_last == 1,
        "full: the put that crosses the bound: refusing");
    /* room again: the next try (after the retry period) writes everything */
    ok (zpar__records_test_max_pages (r, 1000000) == 0, "full: room again");
    usleep ((ZPAR_RECORDS_RETRY_MS + 100) * 1000);
    ok (zpar__records_flush (r, &err) == 0, "full: the batch is written");
    ok (refusing_calls == 4 && refusing_last == 0, "full: written: not refusing any more");
    ok (zpar__records_health (r, &h) == 0 && h.since_us == 0 && h.unsaved == 0 && h.bytes == 0 &&
            h.error[0] == '\0',
        "full: health says saved");
    zpar__records_close (r);
    ok ((r = zpar__records_open (tmp ("full.sqlite"), NULL)) != NULL, "full: reopen");
    if (!r)
        return;
    {
        uint64_t okc = 0, notok = 0, c4 = 0;
        ok (zpar__records_counts (r, &okc, &notok) == 0 && okc == (uint64_t)n,
            "full: every result reached the file (%llu)", (unsigned long long)okc);
        zpar_eid_t eid = {0};
        ok (zpar__records_engine_get (r, "uuid-full", &eid) == 0 && eid.v == 9,
            "full: the engine id given while full was saved");
        ok (zpar__records_next_counter (r, "client", &c4) == 0 && c4 == 4,
            "full: the counter values given in memory were saved (next %llu)",
            (unsigned long long)c4);
    }
    zpar__records_close (r);
    unlink (tmp ("full.sqlite"));
    unlink (tmp ("full.sqlite-wal"));
    unlink (tmp ("full.sqlite-shm"));
}

/* Engine ids across a restart (reopen): uuid -> id, and the highest id
 * given so far. */
static void test_engine_ids (void)
{
    zpar_records_t *r;
    zpar_eid_t id = {0};
    uint64_t next = 99;
    ok ((r = zpar__records_open (tmp ("tasks.sqlite"), NULL)) != NULL, "engine ids: open");
    errno = 0;
    ok (zpar__records_engine_get (r, "uuid-a", &id) < 0 && errno == ENOENT,
        "an engine never seen: ENOENT");
    ok (zpar__records_counter (r, "engine_next", &next) == 0 && next == 0,
        "no engine id given yet: 0");
    ok (zpar__records_engine_put (r, "uuid-a", E (3), 3) == 0 &&
            zpar__records_engine_put (r, "uuid-b", E (7), 7) == 0 &&
            zpar__records_engine_put (r, "uuid-a", E (5), 5) == 0,
        "record three registrations");
    zpar__records_close (r); /* a restart */
    ok ((r = zpar__records_open (tmp ("tasks.sqlite"), NULL)) != NULL, "engine ids: reopen");
    ok (zpar__records_engine_get (r, "uuid-a", &id) == 0 && id.v == 5,
        "an engine's last id is kept across the restart");
    ok (zpar__records_engine_get (r, "uuid-b", &id) == 0 && id.v == 7, "each engine's");
    ok (zpar__records_counter (r, "engine_next", &next) == 0 && next == 7,
        "the highest id given so far is kept (7)");
    {
        int st = -1, status = -1;
        ok (zpar__records_put_request (r, T (77), zpar__cid (1), E (0), "q", 1, NULL, 0, 1) == 0 &&
                zpar__records_state (r, T (77), &st, &status) == 0 && st == ZPAR_REC_PENDING &&
                zpar__records_batched (r) == 1,
            "state of a task in the batch, which stays a batch");
        ok (zpar__records_put_result (r, T (77), E (1), ZPAR_STATUS_OK, "r", 1, NULL, 0, 2) == 0 &&
                zpar__records_flush (r, NULL) == 0 &&
                zpar__records_state (r, T (77), &st, &status) == 0 && st == ZPAR_REC_DONE &&
                status == ZPAR_STATUS_OK,
            "state of a written task");
        errno = 0;
        ok (zpar__records_state (r, T (78), &st, &status) < 0 && errno == ENOENT &&
                zpar__records_state (r, T (0), &st, &status) < 0 && errno == EINVAL,
            "state of an unknown task: ENOENT; of task 0: EINVAL");
    }
    ok (zpar__records_counter_raise (r, "clean_stop", 3) == 0 &&
            zpar__records_counter_raise (r, "clean_stop", 2) == 0 &&
            zpar__records_counter (r, "clean_stop", &next) == 0 && next == 3,
        "a counter is raised, never lowered");
    errno = 0;
    ok (zpar__records_engine_get (NULL, "x", &id) < 0 && errno == EINVAL &&
            zpar__records_engine_get (r, "", &id) < 0 &&
            zpar__records_engine_get (r, "x", NULL) < 0 &&
            zpar__records_engine_put (r, "x", E (0), 1) < 0 &&
            zpar__records_engine_put (r, NULL, E (1), 1) < 0 &&
            zpar__records_counter (r, NULL, &next) < 0 && zpar__records_counter (r, "x", NULL) < 0,
        "engine ids: bad parameters refused");
    zpar__records_close (r);
}

/* A big backlog, once writes work again, is written a part at a time. */
static void test_catchup (void)
{
    zpar_records_t *r;
    zpar_records_health_t h;
    seen_t seen = {0};
    const size_t n = 2 * ZPAR_RECORDS_CATCHUP + 100;
    int calls = 0, rc;

    ok ((r = zpar__records_open (tmp ("catchup.sqlite"), NULL)) != NULL, "catch-up: open");
    if (!r)
        return;
    ok (zpar__records_test_max_pages (r, 1) == 0, "catch-up: the database may not grow");
    for (size_t i = 1; i <= n; i++)
        (void)zpar__records_put_running (r, T (i), E (1), i);
    ok (zpar__records_flush (r, NULL) < 0 && errno == ENOSPC, "catch-up: %zu puts not saved", n);
    ok (zpar__records_test_max_pages (r, 1000000) == 0, "catch-up: room again");
    usleep ((ZPAR_RECORDS_RETRY_MS + 100) * 1000);
    errno = 0;
    rc = zpar__records_flush (r, NULL);
    ok (rc < 0 && errno == EAGAIN && zpar__records_health (r, &h) == 0 && h.catching_up &&
            h.since_us && h.unsaved == n - ZPAR_RECORDS_CATCHUP,
        "catch-up: the first call writes %d, says EAGAIN, %zu left", ZPAR_RECORDS_CATCHUP,
        h.unsaved);
    calls = 1;
    do
        calls++;
    while ((rc = zpar__records_flush (r, NULL)) < 0 && errno == EAGAIN && calls < 10);
    ok (rc == 0 && calls == 3, "catch-up: done at the third call (%d)", calls);
    ok (zpar__records_health (r, &h) == 0 && !h.since_us && !h.catching_up && !h.unsaved,
        "catch-up: saved");
    ok (zpar__records_unfinished (r, collect, &seen) == 0 && seen.n == (int)n,
        "catch-up: all %zu in the database (%d)", n, seen.n);
    zpar__records_close (r);
    unlink (tmp ("catchup.sqlite"));
    unlink (tmp ("catchup.sqlite-wal"));
    unlink (tmp ("catchup.sqlite-shm"));
}

/* The path of the one spill file in tmpdir (NULL: none). */
static const char *spill_file (void)
{
    static char path[512];
    char dir[300];
    DIR *d;
    struct dirent *e;
    const char *found = NULL;
    snprintf (dir, sizeof (dir), "%s/zpar-%u", tmpdir, (unsigned)getuid ());
    if (!(d = opendir (dir)))
        return NULL;
    while ((e = readdir (d)))
        if (!strncmp (e->d_name, "records-", 8) && !strstr (e->d_name, ".new")) {
            snprintf (path, sizeof (path), "%s/%s", dir, e->d_name);
            found = path;
        }
    closedir (d);
    return found;
}

/* A controller that dies while its records cannot be written: the next
 * one on the same database reads the spill back and writes it. */
static void test_spill (void)
{
    char big[4096];
    pid_t pid;
    int wst = 0, state = -1, status = -1;
    zpar_records_t *r;
    uint8_t *res = NULL;
    size_t reslen = 0;
    uint64_t okc = 0, notok = 0, c = 0;
    const char *sf;
    FILE *f;

    memset (big, 's', sizeof (big));
    pid = fork ();
    if (pid == 0) {
        /* the controller that dies: a saved request, then results and a
         * client number it cannot write */
        zpar_records_t *d = zpar__records_open (tmp ("spill.sqlite"), NULL);
        uint64_t v;
        if (!d || zpar__records_put_request (d, T (200), C (1), E (0), "q", 1, NULL, 0, 1) < 0 ||
            zpar__records_flush (d, NULL) < 0 || zpar__records_test_max_pages (d, 1) < 0)
            _exit (2);
        for (int i = 0; i < 20; i++)
            (void)zpar__records_put_result (d, T (200 + (uint64_t)i), E (1), ZPAR_STATUS_OK, "R", 1,
                                            big, sizeof (big), 2);
        if (zpar__records_flush (d, NULL) == 0)
            _exit (3);
        /* after the failure, puts go on into the spill */
        (void)zpar__records_put_result (d, T (300), E (2), ZPAR_STATUS_FAILED, "F", 1, NULL, 0, 3);
        (void)zpar__records_put_request (d, T (400), C (1), E (0), "q4", 2, NULL, 0, 3);
        (void)zpar__records_put_running (d, T (400), E (2), 4);
        (void)zpar__records_next_counter (d, "client", &v);
        _exit (v == 1 ? 0 : 4); /* no close: a crash */
    }
    ok (pid > 0 && waitpid (pid, &wst, 0) == pid && WIFEXITED (wst) && WEXITSTATUS (wst) == 0,
        "spill: a controller fails to write, then dies (exit %d)", WEXITSTATUS (wst));
    sf = spill_file ();
    ok (sf != NULL, "spill: it left a spill file: %s", sf ? sf : "none");
    /* a record cut short by the crash at the end */
    ok (sf && (f = fopen (sf, "ab")) && fwrite ("\2\0\0\0cut", 1, 7, f) == 7 && fclose (f) == 0,
        "spill: a cut record at its end");
    ok ((r = zpar__records_open (tmp ("spill.sqlite"), NULL)) != NULL,
        "spill: the next controller");
    if (!r)
        return;
    is_int (zpar__records_batched (r), 24, "spill: 24 operations read back (the cut one is not)");
    /* still no room: the unfinished tasks and the counts see the batch */
    {
        seen_t seen = {0};
        uint64_t o = 0, no = 0;
        ok (zpar__records_test_max_pages (r, 1) == 0 &&
                zpar__records_unfinished (r, collect, &seen) == 0 && seen.n == 1 &&
                seen.ids[0] == 400 && seen.states[0] == ZPAR_REC_RUNNING && seen.lens[0] == 2,
            "spill, still full: unfinished = task 400 (running, only in the batch); task 200 is "
            "done");
        ok (zpar__records_counts (r, &o, &no) == 0 && o == 20 && no == 1,
            "spill, still full: counts include the unsaved results (%llu ok, %llu not)",
            (unsigned long long)o, (unsigned long long)no);
        ok (zpar__records_test_max_pages (r, 1000000) == 0, "spill: room again");
        usleep ((ZPAR_RECORDS_RETRY_MS + 100) * 1000);
    }
    ok (zpar__records_get (r, T (219), &state, &status, NULL, NULL, &res, &reslen) == 0 &&
            state == ZPAR_REC_DONE && reslen == 1 + sizeof (big),
        "spill: a result the dead controller could not save is found");
    free (res);
    ok (zpar__records_flush (r, NULL) == 0 && spill_file () == NULL,
        "spill: written to the database, the spill file removed");
    ok (zpar__records_counts (r, &okc, &notok) == 0 && okc == 20 && notok == 1,
        "spill: 20 ok and 1 failed result in the database");
    ok (zpar__records_next_counter (r, "client", &c) == 0 && c == 2,
        "spill: the client number given in memory was kept (next: %llu)", (unsigned long long)c);
    zpar__records_close (r);
    unlink (tmp ("spill.sqlite"));
    unlink (tmp ("spill.sqlite-wal"));
    unlink (tmp ("spill.sqlite-shm"));
}

static void test_bad_params (zpar_records_t *r)
{
    int st, stt;
    uint64_t v, a, b;
    uint8_t *p;
    struct {
        const char *what;
        int rc;
    } cases[] = {
        {"put_request NULL records",
         zpar__records_put_request (NULL, T (1), C (0), E (0), "h", 1, NULL, 0, 0)},
        {"put_request id 0",
         zpar__records_put_request (r, T (0), C (0), E (0), "h", 1, NULL, 0, 0)},
        {"put_request header NULL with a length",
         zpar__records_put_request (r, T (1), C (0), E (0), NULL, 4, NULL, 0, 0)},
        {"put_request body NULL with a length",
         zpar__records_put_request (r, T (1), C (0), E (0), "h", 1, NULL, 4, 0)},
        {"put_running NULL records", zpar__records_put_running (NULL, T (1), E (0), 0)},
        {"put_running id 0", zpar__records_put_running (r, T (0), E (0), 0)},
        {"put_result id 0", zpar__records_put_result (r, T (0), E (0), 1, "h", 1, NULL, 0, 0)},
        {"put_result id too large",
         zpar__records_put_result (r, T (UINT64_MAX), E (0), 1, "h", 1, NULL, 0, 0)},
        {"flush NULL", zpar__records_flush (NULL, NULL)},
        {"get NULL records", zpar__records_get (NULL, T (1), &st, &stt, NULL, NULL, NULL, NULL)},
        {"get NULL state", zpar__records_get (r, T (1), NULL, &stt, NULL, NULL, NULL, NULL)},
        {"get req without reqlen", zpar__records_get (r, T (1), &st, &stt, &p, NULL, NULL, NULL)},
        {"purge NULL", (int)zpar__records_purge (NULL, T (0))},
        {"unfinished NULL records", zpar__records_unfinished (NULL, collect, NULL)},
        {"unfinished NULL callback", zpar__records_unfinished (r, NULL, NULL)},
        {"counts NULL", zpar__records_counts (NULL, &a, &b)},
        {"counts NULL out", zpar__records_counts (r, NULL, &b)},
        {"next_counter NULL name", zpar__records_next_counter (r, NULL, &v)},
        {"next_counter empty name", zpar__records_next_counter (r, "", &v)},
        {"next_counter NULL out", zpar__records_next_counter (r, "x", NULL)},
        {"health NULL records", zpar__records_health (NULL, &(zpar_records_health_t){0})},
        {"health NULL out", zpar__records_health (r, NULL)},
        {"test_max_pages NULL", zpar__records_test_max_pages (NULL, 1)},
    };
    for (size_t i = 0; i < sizeof (cases) / sizeof (cases[0]); i++)
        ok (cases[i].rc == -1, "bad parameter: %s -> -1", cases[i].what);
    errno = 0;
    ok (zpar__records_put_running (r, T (0), E (0), 0) < 0 && errno == EINVAL,
        "bad parameters set EINVAL");
    is_int (zpar__records_batched (r), 0, "bad puts batch nothing");
    is_int (zpar__records_batched (NULL), 0, "batched of NULL is 0");
    zpar__records_close (NULL);
    ok (1, "close NULL is a no-op");
}

static void test_open_errors (void)
{
    zpar_error_t err;
    FILE *f;
    char junk[4096];
    errno = 0;
    ok (zpar__records_open (NULL, &err) == NULL && errno == EINVAL, "open NULL path: EINVAL");
    ok (zpar__records_open ("", &err) == NULL && errno == EINVAL, "open empty path: EINVAL");
    ok (zpar__records_open ("/nonexistent-dir/x/tasks.sqlite", &err) == NULL && errno != 0,
        "open in a missing directory fails (errno %d)", errno);
    ok (strstr (err.text, "/nonexistent-dir") != NULL, "the error names the file: %s", err.text);
    memset (junk, 'z', sizeof (junk));
    ok ((f = fopen (tmp ("corrupt.sqlite"), "w")) != NULL &&
            fwrite (junk, 1, sizeof (junk), f) == sizeof (junk) && fclose (f) == 0,
        "write a corrupt database file");
    errno = 0;
    ok (zpar__records_open (tmp ("corrupt.sqlite"), &err) == NULL && errno == EINVAL,
        "open a corrupt file: EINVAL");
    ok (strstr (err.text, "corrupt.sqlite") != NULL, "the error names it: %s", err.text);
}

/* A packed message of type with these header fields and body fields. */
static uint8_t *packed_msg (zpar_msg_t *m, size_t *len)
{
    uint8_t *buf = NULL;
    if (zpar__msg_pack (m, &buf, len) < 0)
        return NULL;
    return buf;
}

/* The header of packed p, as stored: session and seq 0, task kept. */
static int same_but_replay (const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    uint8_t x[ZPAR_HDR_LEN];
    if (alen != blen || alen < ZPAR_HDR_LEN)
        return 0;
    memcpy (x, a, ZPAR_HDR_LEN);
    memset (x + 8, 0, 16); /* session, seq */
    return memcmp (x, b, ZPAR_HDR_LEN) == 0 &&
           memcmp (a + ZPAR_HDR_LEN, b + ZPAR_HDR_LEN, alen - ZPAR_HDR_LEN) == 0;
}

/* Every field of a result (and of its request) survives the records: put,
 * written, the controller gone, read back by the next one. */
static void test_layout (void)
{
    zpar_records_t *r;
    zpar_msg_t *req = zpar__msg_create (ZPAR_MSG_TASK), *res = zpar__msg_create (ZPAR_MSG_RESULT);
    zpar_msg_t *back = zpar__msg_create (ZPAR_MSG_NONE);
    zpar_proto_result_t pr, got;
    zpar_error_t err;
    const uint64_t t0 = 1796169239901294ull;
    const char out[] = "line 1\nline 2\0with a zero", errout[] = "warning";
    uint8_t *pq, *pres, *gq = NULL, *gres = NULL, *c;
    size_t lq, lres, lgq = 0, lgres = 0, lc;
    int state = -1, status = -1;
    seen_t seen = {0};

    req->hdr.task = 700;
    req->hdr.client = 9;
    req->hdr.time_us = t0;
    req->hdr.session = 0x1122334455667788ull;
    req->hdr.seq = 4242;
    req->hdr.flags = zpar__flags_with_chan (0, ZPAR_CHAN_TASK);
    zpar__msg_add_str (req, ZPAR_F_LIB, "/tmp/some/place/noop.so");
    zpar__msg_add_str (req, ZPAR_F_SYMBOL, "noop");
    zpar__msg_add_bytes (req, ZPAR_F_INPUT, "", 0);
    zpar__msg_add_u64 (req, ZPAR_F_INLINE, 1);
    zpar__msg_add_u64 (req, ZPAR_F_SUBMITTED_US, t0 - 5);
    pr = (zpar_proto_result_t){
        .h = {.task = zpar__tid (700), .engine = zpar__eid (3), .client = zpar__cid (9)},
        .status = ZPAR_STATUS_FAILED,
        .exit_code = -1,
        .ran = 1,
        .signal = 9,
        .wall_us = 15000,
        .utime_us = 1200,
        .stime_us = 300,
        .maxrss_kb = 8856,
        .started_us = t0 + 100,
        .finished_us = t0 + 15100,
        .pid = 4242,
        .host = "node-017.cluster.example",
        .stdout_buf = out,
        .stdout_len = sizeof (out),
        .stderr_buf = errout,
        .stderr_len = strlen (errout),
        .output = "\x01\x02\x03",
        .output_len = 3,
        .truncated = 3,
        .error = "killed by signal 9",
        .attempt = 2,
        .submitted_us = t0,
        .errnum = 12,
    };
    ok (zpar__proto_result_encode (res, &pr) == 0, "layout: a result with every field");
    res->hdr.time_us = t0 + 15200;
    res->hdr.session = 0x99;
    res->hdr.seq = 17;
    res->hdr.flags = zpar__flags_with_chan (2, ZPAR_CHAN_TASK);
    pq = packed_msg (req, &lq);
    pres = packed_msg (res, &lres);

    ok ((r = zpar__records_open (tmp ("layout.sqlite"), &err)) != NULL, "layout: open");
    ok (zpar__records_put_request (r, T (700), C (9), E (0), pq, ZPAR_HDR_LEN, pq + ZPAR_HDR_LEN,
                                   lq - ZPAR_HDR_LEN, t0) == 0 &&
            zpar__records_put_request (r, T (701), C (9), E (0), pq, ZPAR_HDR_LEN,
                                       pq + ZPAR_HDR_LEN, lq - ZPAR_HDR_LEN, t0 + 1) == 0 &&
            zpar__records_flush (r, NULL) == 0,
        "layout: two requests written (pending)");
    ok (zpar__records_put_running (r, T (700), E (3), t0 + 50) == 0 &&
            zpar__records_put_result (r, T (700), E (3), ZPAR_STATUS_FAILED, pres, ZPAR_HDR_LEN,
                                      pres + ZPAR_HDR_LEN, lres - ZPAR_HDR_LEN, t0 + 15300) == 0,
        "layout: task 700 runs and finishes");
    zpar__records_close (r);

    /* the next controller */
    ok ((r = zpar__records_open (tmp ("layout.sqlite"), &err)) != NULL, "layout: reopen");
    ok (zpar__records_get (r, T (700), &state, &status, &gq, &lgq, &gres, &lgres) == 0 &&
            state == ZPAR_REC_DONE && status == ZPAR_STATUS_FAILED,
        "layout: task 700 is done, failed");
    ok (gres && same_but_replay (pres, lres, gres, lgres),
        "layout: its result comes back byte for byte (session and seq 0)");
    ok (gq && same_but_replay (pq, lq, gq, lgq), "layout: so does its request");
    ok (gres && zpar__msg_unpack (back, gres, lgres, &err) == 0 &&
            zpar__proto_result_decode (back, &got, &err) == 0,
        "layout: the result decodes");
    ok (got.status == pr.status && got.exit_code == -1 && got.signal == 9 && got.wall_us == 15000 &&
            got.utime_us == 1200 && got.stime_us == 300 && got.maxrss_kb == 8856 &&
            got.started_us == pr.started_us && got.finished_us == pr.finished_us &&
            got.pid == 4242 && got.host && !strcmp (got.host, pr.host) &&
            got.stdout_len == sizeof (out) && !memcmp (got.stdout_buf, out, sizeof (out)) &&
            got.stderr_len == strlen (errout) && got.output_len == 3 && got.truncated == 3 &&
            got.error && !strcmp (got.error, pr.error) && got.attempt == 2 &&
            got.submitted_us == t0 && got.errnum == 12 && back->hdr.task == 700 &&
            back->hdr.engine == 3 && back->hdr.client == 9 && back->hdr.time_us == t0 + 15200 &&
            back->hdr.flags == res->hdr.flags,
        "layout: every field of the result is as sent");
    zpar__proto_result_clear (&got);
    ok (zpar__records_unfinished (r, collect, &seen) == 0 && seen.n == 1 && seen.ids[0] == 701 &&
            seen.lens[0] == lq,
        "layout: task 701 is unfinished, with its request");
    free (gq);
    free (gres);
    zpar__records_close (r);
    {
        /* what a record costs: far below the message sizes */
        sqlite3 *db;
        sqlite3_stmt *st;
        int rlen = 0, qlen = 0;
        if (sqlite3_open (tmp ("layout.sqlite"), &db) == SQLITE_OK &&
            sqlite3_prepare_v2 (db,
                                "SELECT length(request), length(result) FROM tasks WHERE id=700",
                                -1, &st, NULL) == SQLITE_OK) {
            if (sqlite3_step (st) == SQLITE_ROW) {
                qlen = sqlite3_column_int (st, 0);
                rlen = sqlite3_column_int (st, 1);
            }
            sqlite3_finalize (st);
        }
        sqlite3_close (db);
        ok (qlen > 0 && (size_t)qlen < lq / 2 && rlen > 0 && (size_t)rlen < lres,
            "layout: stored compact (request %d of %zu bytes, result %d of %zu)", qlen, lq, rlen,
            lres);
    }

    /* the compact form alone: odd bodies */
    c = malloc (ZPAR_RECORD_MAX (lres));
    ok (zpar__record_compact (pres, lres, 0, c, &lc) == 0 &&
            zpar__record_expand (c, lc, 700, 0, &gres, &lgres) == 0 &&
            same_but_replay (pres, lres, gres, lgres),
        "compact form: base time 0 round trip");
    free (gres);
    ok (zpar__record_compact ("abc", 3, 0, c, &lc) == 0 && lc == 4 &&
            zpar__record_expand (c, lc, 1, 0, &gres, &lgres) == 0 && lgres == 3 &&
            !memcmp (gres, "abc", 3),
        "compact form: bytes that are no message kept as they are");
    free (gres);
    ok (zpar__record_compact (pres, lres, t0, c, &lc) == 0 && lc > 2 &&
            zpar__record_expand (c, lc - 1, 700, t0, &gres, &lgres) < 0 && errno == EPROTO,
        "compact form: a cut one is refused");
    c[0] = 7;
    ok (zpar__record_expand (c, lc, 700, t0, &gres, &lgres) < 0 && errno == EPROTO,
        "compact form: an unknown form is refused");
    free (c);
    free (pq);
    free (pres);
    zpar__msg_destroy (req);
    zpar__msg_destroy (res);
    zpar__msg_destroy (back);
    unlink (tmp ("layout.sqlite"));
    unlink (tmp ("layout.sqlite-wal"));
    unlink (tmp ("layout.sqlite-shm"));
}

/* A database of the older layout (one row per task, updated three times,
 * blobs as received) is refused with the reason, and left as it is. */
static void test_old_layout (void)
{
    sqlite3 *db;
    zpar_error_t err = {{0}};
    int version = -1;
    ok (sqlite3_open (tmp ("old.sqlite"), &db) == SQLITE_OK &&
            sqlite3_exec (db,
                          "CREATE TABLE tasks (id INTEGER PRIMARY KEY, client INTEGER, engine "
                          "INTEGER, state INTEGER NOT NULL DEFAULT 0, status INTEGER NOT NULL "
                          "DEFAULT 0, submitted_us INTEGER, started_us INTEGER, completed_us "
                          "INTEGER, request BLOB, result BLOB);"
                          "INSERT INTO tasks(id,state) VALUES(5,2);",
                          NULL, NULL, NULL) == SQLITE_OK,
        "old layout: a database of layout 1");
    sqlite3_close (db);
    errno = 0;
    ok (zpar__records_open (tmp ("old.sqlite"), &err) == NULL && errno == EPROTO &&
            strstr (err.text, "layout 1") && strstr (err.text, "old.sqlite"),
        "old layout: refused, with the reason: %s", err.text);
    ok (sqlite3_open (tmp ("old.sqlite"), &db) == SQLITE_OK &&
            sqlite3_exec (db, "PRAGMA user_version=9", NULL, NULL, NULL) == SQLITE_OK,
        "a database of a later layout (9)");
    sqlite3_close (db);
    ok (zpar__records_open (tmp ("old.sqlite"), &err) == NULL && errno == EPROTO &&
            strstr (err.text, "layout 9"),
        "later layout: refused: %s", err.text);
    if (sqlite3_open (tmp ("old.sqlite"), &db) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2 (db, "SELECT count(*) FROM tasks", -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step (st) == SQLITE_ROW)
            version = sqlite3_column_int (st, 0);
        sqlite3_finalize (st);
    }
    sqlite3_close (db);
    is_int (version, 1, "old layout: its row is untouched");
    unlink (tmp ("old.sqlite"));
    unlink (tmp ("old.sqlite-wal"));
    unlink (tmp ("old.sqlite-shm"));
}

int main (void)
{
    zpar_records_t *r;
    zpar_error_t err;
    uint64_t v = 0;

    if (!mkdtemp (tmpdir)) {
        perror ("mkdtemp");
        return 1;
    }
    /* spills go to the test's directory, not /dev/shm */
    setenv ("ZPAR_RECORDS_SPILL_DIR", tmpdir, 1);
    ok ((r = zpar__records_open (tmp ("tasks.sqlite"), &err)) != NULL, "open a new database");
    if (!r) {
        diag ("%s", err.text);
        return done_testing ();
    }
    test_put_get (r);
    test_unfinished_counts (r);
    test_purge (r);
    ok (zpar__records_next_counter (r, "client", &v) == 0 && v == 1, "client counter: 1");
    ok (zpar__records_next_counter (r, "client", &v) == 0 && v == 2, "client counter: 2");
    test_bad_params (r);
    zpar__records_close (r);
    test_counter ();
    test_full ();
    test_spill ();
    test_catchup ();
    test_engine_ids ();
    test_open_errors ();
    test_layout ();
    test_old_layout ();
    unlink (tmp ("tasks.sqlite"));
    unlink (tmp ("tasks.sqlite-wal"));
    unlink (tmp ("tasks.sqlite-shm"));
    unlink (tmp ("corrupt.sqlite"));
    {
        char sub[300];
        snprintf (sub, sizeof (sub), "%s/zpar-%u", tmpdir, (unsigned)getuid ());
        rmdir (sub);
    }
    rmdir (tmpdir);
    return done_testing ();
}
