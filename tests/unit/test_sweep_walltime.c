/* test_sweep_walltime.c - the end of an allocation (--end-time, Slurm,
 * PBS), points' estimates (expressions, learned per group) and the
 * estimate keys of a sweep file. */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "estimate.h"
#include "spec.h"
#include "tap.h"
#include "walltime.h"

static void test_parse (void)
{
    zpar_error_t err;
    double now = 1796180000.0, end = -7;
    struct tm tm;
    time_t t;

    ok (zpar__walltime_parse ("+90", now, &end, &err) == 0 && end == now + 90, "+90");
    ok (zpar__walltime_parse ("+1h30m", now, &end, &err) == 0 && end == now + 5400, "+1h30m");
    ok (zpar__walltime_parse ("@1796181234", now, &end, &err) == 0 && end == 1796181234.0, "@unix");
    ok (zpar__walltime_parse ("none", now, &end, &err) == 0 && end == 0, "none: no end");
    ok (zpar__walltime_parse ("2026-12-02T03:15:00Z", now, &end, &err) == 0 && end == 1796181300.0,
        "ISO UTC");
    /* local time: whatever TZ is, it reads back as the same wall clock */
    ok (zpar__walltime_parse ("2026-12-02 03:15", now, &end, &err) == 0, "ISO local, no seconds");
    t = (time_t)end;
    localtime_r (&t, &tm);
    ok (tm.tm_hour == 3 && tm.tm_min == 15 && tm.tm_mday == 2, "... is 03:15 local");
    /* HH:MM: today, or tomorrow when past */
    t = (time_t)now;
    localtime_r (&t, &tm);
    {
        char hm[16];
        snprintf (hm, sizeof (hm), "%02d:%02d", tm.tm_hour, tm.tm_min);
        ok (zpar__walltime_parse (hm, now, &end, &err) == 0 && end > now &&
                end <= now + 86400 + 3600,
            "HH:MM that has passed this minute is tomorrow");
    }
    {
        static const char *bad[] = {"",
                                    "+",
                                    "+-5",
                                    "@",
                                    "@x",
                                    "tomorrow",
                                    "2026-13-01T00:00",
                                    "25:00",
                                    "12:60",
                                    "2026-12-02T03:15:00+01",
                                    "+10 m",
                                    "@-5",
                                    "12:00:00:00"};
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
            end = -7;
            err.text[0] = '\0';
            ok (zpar__walltime_parse (bad[i], now, &end, &err) < 0 && errno == EINVAL &&
                    end == -7 && err.text[0],
                "refused: '%s' (%s)", bad[i], err.text);
        }
    }
    ok (zpar__walltime_parse (NULL, now, &end, NULL) < 0 && errno == EINVAL, "NULL refused");
}

static void test_hms (void)
{
    double v = -1;
    ok (zpar__walltime_hms ("01:00:00", &v) == 0 && v == 3600, "01:00:00");
    ok (zpar__walltime_hms ("1-02:03:04", &v) == 0 && v == 86400 + 7384, "1-02:03:04");
    ok (zpar__walltime_hms ("10:05", &v) == 0 && v == 605, "MM:SS");
    ok (zpar__walltime_hms ("90", &v) == 0 && v == 90, "SS");
    ok (zpar__walltime_hms ("48:00:00", &v) == 0 && v == 172800, "48:00:00");
    ok (zpar__walltime_hms ("00:01:00\n", &v) == 0 && v == 60, "trailing newline");
    ok (zpar__walltime_hms ("1:2:3:4", &v) < 0 && errno == EINVAL, "four fields refused");
    ok (zpar__walltime_hms ("00:61", &v) < 0, "61 seconds refused");
    ok (zpar__walltime_hms ("", &v) < 0 && zpar__walltime_hms ("x", &v) < 0 &&
            zpar__walltime_hms ("-5", &v) < 0 && zpar__walltime_hms (NULL, &v) < 0,
        "empty, words, negative, NULL refused");
}

static void test_slurm_pbs (void)
{
    double end = -1;
    ok (zpar__walltime_parse_slurm ("2026-12-02T03:15:00\n", &end) == 0, "squeue %%e");
    {
        time_t t = (time_t)end;
        struct tm tm;
        localtime_r (&t, &tm);
        ok (tm.tm_hour == 3 && tm.tm_min == 15 && tm.tm_sec == 0, "... local 03:15:00");
    }
    ok (zpar__walltime_parse_slurm ("Unknown\n", &end) < 0 && errno == ENOENT, "Unknown: none");
    ok (zpar__walltime_parse_slurm ("N/A", &end) < 0 && errno == ENOENT, "N/A: none");
    ok (zpar__walltime_parse_slurm ("", &end) < 0 && errno == ENOENT, "empty: none");
    ok (zpar__walltime_parse_slurm ("2026-12-02X03", &end) < 0 && errno == EINVAL, "garbage");

    {
        const char *q = "Job Id: 42.pbs\n"
                        "    Job_Name = sweep\n"
                        "    resources_used.walltime = 00:10:05\n"
                        "    Resource_List.walltime = 01:00:00\n"
                        "    Resource_List.nodes = 2\n";
        ok (zpar__walltime_parse_pbs (q, 1000, &end) == 0 && end == 1000 + 3600 - 605,
            "qstat -f: limit - used");
        ok (zpar__walltime_parse_pbs ("    Resource_List.walltime = 00:30:00\n", 1000, &end) == 0 &&
                end == 2800,
            "qstat -f before the job used any");
        ok (zpar__walltime_parse_pbs ("    Job_Name = x\n", 1000, &end) < 0 && errno == ENOENT,
            "no walltime limit: none");
        ok (zpar__walltime_parse_pbs ("    Resource_List.walltime = soon\n", 1000, &end) < 0 &&
                errno == EINVAL,
            "bad limit refused");
    }
    ok (zpar__walltime_default_margin (60) == 6 && zpar__walltime_default_margin (10) == 5 &&
            zpar__walltime_default_margin (86400) == 60,
        "default margin: 10%%, 5 s to 60 s");
}

static void test_end (void)
{
    zpar_walltime_t wt;
    zpar_error_t err;
    const char *keep[] = {"ZPAR_END_TIME", "SLURM_JOB_ID", "PBS_JOBID", "SLURM_JOB_END_TIME"};
    for (size_t i = 0; i < 4; i++)
        unsetenv (keep[i]);
    ok (zpar__walltime_end (NULL, &wt, &err) == 0 && wt.source == ZPAR_WALLTIME_NONE && wt.end == 0,
        "nothing: no end");
    ok (zpar__walltime_end ("+60", &wt, &err) == 0 && wt.source == ZPAR_WALLTIME_OPTION &&
            wt.end > time (NULL) + 50,
        "option (%s)", wt.what);
    setenv ("ZPAR_END_TIME", "+2m", 1);
    ok (zpar__walltime_end (NULL, &wt, &err) == 0 && wt.source == ZPAR_WALLTIME_ENV &&
            wt.end > time (NULL) + 100,
        "$ZPAR_END_TIME (%s)", wt.what);
    ok (zpar__walltime_end ("none", &wt, &err) == 0 && wt.source == ZPAR_WALLTIME_NONE,
        "--end-time none wins over the environment");
    setenv ("ZPAR_END_TIME", "soon", 1);
    ok (zpar__walltime_end (NULL, &wt, &err) < 0 && errno == EINVAL &&
            strstr (err.text, "$ZPAR_END_TIME"),
        "bad $ZPAR_END_TIME named (%s)", err.text);
    unsetenv ("ZPAR_END_TIME");
    /* a Slurm job whose squeue does not answer: the environment's end */
    setenv ("SLURM_JOB_ID", "999999999", 1);
    setenv ("SLURM_JOB_END_TIME", "1796189999", 1);
    setenv ("PATH", "/nonexistent", 1);
    ok (zpar__walltime_end (NULL, &wt, &err) == 0 && wt.source == ZPAR_WALLTIME_SLURM &&
            wt.end == 1796189999.0,
        "Slurm without squeue: $SLURM_JOB_END_TIME (%s)", wt.what);
    unsetenv ("SLURM_JOB_END_TIME");
    ok (zpar__walltime_end (NULL, &wt, &err) == 0 && wt.source == ZPAR_WALLTIME_NONE && err.text[0],
        "Slurm with nothing to ask: no end, and why (%s)", err.text);
    unsetenv ("SLURM_JOB_ID");
    setenv ("PBS_JOBID", "42.pbs", 1);
    setenv ("PBS_WALLTIME", "00:20:00", 1);
    ok (zpar__walltime_end (NULL, &wt, &err) == 0 && wt.source == ZPAR_WALLTIME_PBS &&
            fabs (wt.end - (double)time (NULL) - 1200) < 5,
        "PBS without qstat: $PBS_WALLTIME from now (%s)", wt.what);
    unsetenv ("PBS_JOBID");
    unsetenv ("PBS_WALLTIME");
}

static void test_eval (void)
{
    static const struct {
        const char *e;
        double v;
    } good[] = {
        {"20", 20},        {"2.5s", 2.5},     {"10m", 600},          {"1h", 3600},
        {"1d", 86400},     {"500ms", 0.5},    {"2m + 3 * 10s", 150}, {"(1 + 2) * 3", 9},
        {"10 - 2 - 3", 5}, {"12 / 4 / 3", 1}, {"-(-5)", 5},          {"1e2", 100},
        {" 7 ", 7},        {"0", 0},          {".5m", 30},
    };
    static const char *bad[] = {"",
                                "x",
                                "1 +",
                                "(1",
                                "1)",
                                "1 / 0",
                                "-5",
                                "5 km",
                                "0x10",
                                "inf",
                                "nan",
                                "1e999",
                                "2 3",
                                "{n}",
                                "1s2",
                                "((((((((((((((((((((((((((((((((((((((((((((((((((((((((("
                                "((((((((((((((((1"};
    zpar_error_t err;
    for (size_t i = 0; i < sizeof (good) / sizeof (good[0]); i++) {
        double v = -1;
        ok (zpar__estimate_eval (good[i].e, &v, &err) == 0 && fabs (v - good[i].v) < 1e-9,
            "estimate '%s' = %g (got %g)", good[i].e, good[i].v, v);
    }
    for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
        double v = -7;
        err.text[0] = '\0';
        ok (zpar__estimate_eval (bad[i], &v, &err) < 0 && errno == EINVAL && v == -7 && err.text[0],
            "refused: '%.20s' (%s)", bad[i], err.text);
    }
}

static void test_estimator (void)
{
    const char *by[] = {"solver"};
    zpar_sweep_estimator_t *e = zpar__estimator_create (by, 1),
                           *all = zpar__estimator_create (NULL, 0);
    char key[256];
    uint64_t n;

    ok (zpar__estimate_group ("{\"n\":1,\"solver\":\"cg\",\"t\":0.5}", by, 1, key, sizeof (key)) ==
                0 &&
            strcmp (key, "solver=\"cg\"\x1f") == 0,
        "group key");
    ok (zpar__estimate_group ("{\"s\":\"a\\\"b,c\",\"solver\":7}", by, 1, key, sizeof (key)) == 0 &&
            strcmp (key, "solver=7\x1f") == 0,
        "group key past an escaped quote and a comma in a string");
    ok (zpar__estimate_group ("{\"n\":1}", by, 1, key, sizeof (key)) < 0 && errno == EINVAL,
        "missing parameter refused");
    ok (zpar__estimate_group ("[1]", by, 1, key, sizeof (key)) < 0 &&
            zpar__estimate_group ("{\"solver\":[1]}", by, 1, key, sizeof (key)) < 0 &&
            zpar__estimate_group ("{\"solver\":\"x", by, 1, key, sizeof (key)) < 0,
        "not an object of scalars refused");
    ok (zpar__estimate_group ("{\"solver\":\"cg\"}", by, 1, key, 5) < 0 && errno == ENOSPC,
        "ENOSPC");

    ok (zpar__estimator_get (e, "{\"solver\":\"cg\"}", &n) < 0 && n == 0, "nothing seen: -1");
    ok (zpar__estimator_learn (e, "{\"n\":1,\"solver\":\"cg\"}", 10) == 0 &&
            zpar__estimator_learn (e, "{\"n\":2,\"solver\":\"cg\"}", 30) == 0 &&
            zpar__estimator_learn (e, "{\"n\":3,\"solver\":\"cg\"}", 20) == 0 &&
            zpar__estimator_learn (e, "{\"n\":1,\"solver\":\"lu\"}", 2) == 0 &&
            zpar__estimator_learn (e, "{\"n\":1,\"solver\":\"lu\"}", -1) == 0,
        "learn");
    ok (zpar__estimator_get (e, "{\"n\":9,\"solver\":\"cg\"}", &n) == 30 && n == 3,
        "the longest of the group");
    ok (zpar__estimator_get (e, "{\"n\":9,\"solver\":\"lu\"}", &n) == 2 && n == 1,
        "another group, unknown wall time ignored");
    ok (zpar__estimator_get (e, "{\"n\":9,\"solver\":\"qr\"}", &n) == 30 && n == 4,
        "a group never seen: the sweep's longest");
    ok (zpar__estimator_learn (e, "not json", 5) < 0 && errno == EINVAL, "bad params refused");
    ok (zpar__estimator_learn (all, "{\"x\":1}", 4) == 0 &&
            zpar__estimator_get (all, "{\"x\":2}", &n) == 4 && n == 1,
        "no estimate-by: one group");
    /* bounded: many groups */
    {
        int fine = 1;
        for (int i = 0; i < ZPAR_ESTIMATE_GROUPS_MAX + 100 && fine; i++) {
            char p[64];
            snprintf (p, sizeof (p), "{\"solver\":%d}", i);
            fine = zpar__estimator_learn (e, p, 1) == 0;
        }
        ok (fine && zpar__estimator_get (e, "{\"solver\":70000}", &n) == 30,
            "groups beyond the bound count only for the sweep");
        ok (zpar__estimator_get (e, "{\"solver\":100}", &n) == 1 && n == 1, "groups kept");
    }
    zpar__estimator_destroy (e);
    zpar__estimator_destroy (all);
    zpar__estimator_destroy (NULL);
}

static void test_spec (void)
{
    const char *good = "name: t\n"
                       "command: [\"true\", \"{n}\"]\n"
                       "estimate: \"{n} * 2s + 1m\"\n"
                       "estimate-by: [kind]\n"
                       "stop-signal: SIGUSR1\n"
                       "stop-grace: 2m\n"
                       "params:\n"
                       "  n: [1, 5]\n"
                       "  kind: [a, b]\n";
    zpar_error_t err;
    zpar_sweep_spec_t *s = zpar__sweep_spec_load_buffer (good, strlen (good), "/tmp/t.yaml", &err);
    ok (s != NULL, "estimate and estimate-by load (%s)", s ? "" : err.text);
    if (s) {
        zpar_sweep_iter_t *it = zpar__sweep_spec_iter_create (s);
        const zpar_sweep_point_t *pt;
        double want[] = {62, 62, 70, 70};
        size_t i = 0, nby;
        const char *const *by = zpar__sweep_spec_estimate_by (s, &nby);
        ok (nby == 1 && strcmp (by[0], "kind") == 0 && zpar__sweep_spec_has_estimate (s),
            "accessors");
        {
            double grace = 0;
            ok (zpar__sweep_spec_stop_signal (s, &grace) == SIGUSR1 && grace == 120,
                "stop-signal, stop-grace");
        }
        while ((pt = zpar__sweep_iter_next (it)) && i < 4) {
            zpar_sweep_task_t *t = zpar__sweep_spec_task (s, pt, &err);
            ok (t && t->estimate == want[i], "point %zu: estimate %g", i, t ? t->estimate : -1);
            zpar__sweep_task_destroy (t);
            i++;
        }
        zpar__sweep_iter_destroy (it);
        zpar__sweep_spec_destroy (s);
    }
    {
        const char *none = "name: t\ncommand: \"true\"\nparams: {n: [1]}\n";
        zpar_sweep_spec_t *s2 =
            zpar__sweep_spec_load_buffer (none, strlen (none), "/tmp/t.yaml", &err);
        zpar_sweep_iter_t *it = s2 ? zpar__sweep_spec_iter_create (s2) : NULL;
        zpar_sweep_task_t *t =
            it ? zpar__sweep_spec_task (s2, zpar__sweep_iter_next (it), &err) : NULL;
        ok (t && t->estimate == -1 && !zpar__sweep_spec_has_estimate (s2), "no estimate: -1");
        zpar__sweep_task_destroy (t);
        zpar__sweep_iter_destroy (it);
        zpar__sweep_spec_destroy (s2);
    }
    {
        static const struct {
            const char *text, *want;
        } bad[] = {
            {"name: t\ncommand: \"true\"\nestimate: \"{m}\"\nparams: {n: [1]}\n",
             "t.yaml:3:12: estimate: placeholder '{m}'"},
            {"name: t\ncommand: \"true\"\nestimate: \"{n} parsecs\"\nparams: {n: [1]}\n",
             "t.yaml:3:11: estimate: for the first point"},
            {"name: t\ncommand: \"true\"\nestimate: [1]\nparams: {n: [1]}\n", "t.yaml:3:11:"},
            {"name: t\ncommand: \"true\"\nestimate-by: [m]\nparams: {n: [1]}\n",
             "t.yaml:3:15: estimate-by: 'm' is not a parameter"},
            {"name: t\ncommand: \"true\"\nestimate-by: {a: 1}\nparams: {n: [1]}\n",
             "t.yaml:3:14: estimate-by must be"},
            {"name: t\ncommand: \"true\"\nestimates: 5\nparams: {n: [1]}\n", "estimate"},
            {"name: t\ncommand: \"true\"\nstop-signal: KILL\nparams: {n: [1]}\n",
             "t.yaml:3:14: stop-signal 'KILL' is not a signal that can be caught"},
            {"name: t\ncommand: \"true\"\nstop-signal: 19\nparams: {n: [1]}\n", "stop-signal '19'"},
            {"name: t\ncommand: \"true\"\nstop-signal: 65\nparams: {n: [1]}\n", "stop-signal '65'"},
            {"name: t\ncommand: \"true\"\nstop-grace: forever\nparams: {n: [1]}\n",
             "t.yaml:3:13: stop-grace 'forever' is not a duration"},
            {"name: t\ncommand: \"true\"\nstop-grace: 2d\nparams: {n: [1]}\n", "stop-grace '2d'"},
        };
        for (size_t i = 0; i < sizeof (bad) / sizeof (bad[0]); i++) {
            zpar_sweep_spec_t *b = zpar__sweep_spec_load_buffer (bad[i].text, strlen (bad[i].text),
                                                                 "/tmp/t.yaml", &err);
            ok (!b && errno == EINVAL && strstr (err.text, bad[i].want), "refused: %s",
                b ? "(loaded)" : err.text);
            zpar__sweep_spec_destroy (b);
        }
    }
}

int main (void)
{
    plan (NO_PLAN);
    test_parse ();
    test_hms ();
    test_slurm_pbs ();
    test_end ();
    test_eval ();
    test_estimator ();
    test_spec ();
    return done_testing ();
}
