/* test_sweep_hostile.c - hostile sweep files: shell placement, alias and
 * nesting limits, counting without iterating, values in paths, integer
 * overflow, interrupting a long loop. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "params.h"
#include "spec.h"
#include "status.h"
#include "tap.h"
#include "template.h"

static char datadir[4096];

static const char *data (const char *name)
{
    static char path[4200];
    snprintf (path, sizeof (path), "%s/%s", datadir, name);
    return path;
}

static double time_scale (void)
{
    const char *s = getenv ("ZPAR_TEST_TIME_SCALE");
    double v = s ? atof (s) : 1.;
    return v > 0 ? v : 1.;
}

static zpar_sweep_spec_t *load_text (const char *text, zpar_error_t *err)
{
    return zpar__sweep_spec_load_buffer (text, strlen (text), "t.yaml", err);
}

/* A file that must fail with text containing loc (FILE:LINE:COL) and msg. */
typedef struct {
    const char *yaml, *loc, *msg;
} bad_t;

static void check_bad (const char *label, const bad_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        zpar_error_t err = {{0}};
        zpar_sweep_spec_t *s = load_text (b[i].yaml, &err);
        ok (!s && strstr (err.text, b[i].loc) == err.text && strstr (err.text, b[i].msg),
            "%s %zu refused: %s", label, i, s ? "(loaded)" : err.text);
        zpar__sweep_spec_destroy (s);
    }
}

static void check_good (const char *label, const char *const *yaml, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        zpar_error_t err = {{0}};
        zpar_sweep_spec_t *s = load_text (yaml[i], &err);
        ok (s != NULL, "%s %zu loads %s", label, i, s ? "" : err.text);
        zpar__sweep_spec_destroy (s);
    }
}

/* --- shell: true -------------------------------------------------------- */

static void test_shell (void)
{
    static const bad_t bad[] = {
        {"shell: true\ncommand: 'echo \"label={p}\"'\nparams: {p: [a]}\n", "t.yaml:2:23",
         "inside double quotes"},
        {"shell: true\ncommand: 'echo $(echo {p})'\nparams: {p: [a]}\n", "t.yaml:2:23",
         "inside $(...)"},
        {"shell: true\ncommand: 'echo `echo {p}`'\nparams: {p: [a]}\n", "t.yaml:2:22",
         "inside backquotes"},
        {"shell: true\ncommand: echo '{p}'\nparams: {p: [a]}\n", "t.yaml:2:16",
         "inside single quotes"},
        {"shell: true\ncommand: 'echo {p} # {p}'\nparams: {p: [a]}\n", "t.yaml:2:22",
         "inside a comment"},
        {"shell: true\ncommand: \"cat <<EOF\\n{p}\\nEOF\"\nparams: {p: [a]}\n", "t.yaml:2:10",
         "here-document"},
        {"shell: true\ncommand: 'echo \\{p}'\nparams: {p: [a]}\n", "t.yaml:2:10",
         "after a backslash"},
        {"shell: true\ncommand: 'echo ${p}'\nparams: {p: [a]}\n", "t.yaml:2:17", "right after '$'"},
        {"shell: true\ncommand: 'echo ${{x:-{p}}}'\nparams: {p: [a]}\n", "t.yaml:2:22",
         "inside ${...}"},
        {"shell: true\ncommand: '(( {p} ))'\nparams: {p: [a]}\n", "t.yaml:2:14", "arithmetic"},
        {"shell: true\ncommand: 'echo $(( {p} + 1 ))'\nparams: {p: [1]}\n", "t.yaml:2:20",
         "arithmetic"},
        {"shell: true\ncommand: 'echo \"$(echo \"{p}\")\"'\nparams: {p: [a]}\n",
         "t.yaml:2:", "{p}"},
    };
    static const char *const good[] = {
        "shell: true\ncommand: 'echo {p} x={p} >{p}.out'\nparams: {p: [a]}\n",
        "shell: true\ncommand: 'echo \"$HOME\" $(date) ''#x'' {p}; ( echo {p} )'\nparams: {p: "
        "[a]}\n",
        "shell: true\ncommand: 'case {p} in a) echo \"a\";; esac; echo {{}} ${{HOME}} {p}'\n"
        "params: {p: [a]}\n",
        "shell: true\ncommand: \"printf '%s|' {p} && printf '#%s' {index}\"\nparams: {p: [a]}\n",
        /* without shell, placement is free: values never meet a shell */
        "command: 'echo \"label={p}\" $(x) `{p}`'\nparams: {p: [a]}\n",
    };
    check_bad ("shell placement", bad, sizeof (bad) / sizeof (bad[0]));
    check_good ("shell placement", good, sizeof (good) / sizeof (good[0]));

    /* the injection of the issue: nothing runs */
    {
        char marker[] = "/tmp/zpar-hostile-XXXXXX", cmd[256];
        int fd = mkstemp (marker);
        zpar_error_t err = {{0}};
        zpar_sweep_spec_t *s;
        close (fd);
        unlink (marker);
        snprintf (cmd, sizeof (cmd),
                  "shell: true\ncommand: 'echo \"label={p}\"'\nparams: {p: ['$(touch %s)']}\n",
                  marker);
        s = load_text (cmd, &err);
        if (s) { /* old behaviour: run it and see */
            zpar_sweep_iter_t *it = zpar__sweep_spec_iter_create (s);
            zpar_sweep_task_t *t = zpar__sweep_spec_task (s, zpar__sweep_iter_next (it), &err);
            char line[512];
            snprintf (line, sizeof (line), "/bin/sh -c %s >/dev/null", "true");
            if (t) {
                char *q = zpar__tmpl_shell_quote (t->argv[2]);
                snprintf (line, sizeof (line), "/bin/sh -c %s >/dev/null", q);
                free (q);
            }
            if (system (line) < 0)
                diag ("system failed");
            zpar__sweep_task_destroy (t);
            zpar__sweep_iter_destroy (it);
        }
        ok (!s && access (marker, F_OK) < 0,
            "\"label={p}\" with $(touch X) is refused, X not made");
        unlink (marker);
        zpar__sweep_spec_destroy (s);
    }
    {
        size_t off = 99;
        zpar_error_t err = {{0}};
        ok (zpar__tmpl_shell_check (NULL, &off, &err) < 0 && errno == EINVAL,
            "shell_check (NULL): EINVAL");
        ok (zpar__tmpl_shell_check ("a \"b {x}\"", &off, &err) < 0 && off == 5,
            "shell_check gives the offset of the placeholder (%zu)", off);
    }
}

/* --- aliases and nesting -------------------------------------------------- */

static char *alias_file (size_t big, int naliases)
{
    size_t cap = big + (size_t)naliases * 5 + 128, n = 0;
    char *b = malloc (cap);
    if (!b)
        return NULL;
    n += (size_t)snprintf (b + n, cap - n, "command: echo {s}\nparams:\n  s: [&a \"");
    memset (b + n, 'x', big);
    n += big;
    n += (size_t)snprintf (b + n, cap - n, "\"");
    for (int i = 0; i < naliases; i++)
        n += (size_t)snprintf (b + n, cap - n, ", *a");
    snprintf (b + n, cap - n, "]\n");
    return b;
}

static void test_aliases (void)
{
    zpar_error_t err = {{0}};
    char *b = alias_file (1024 * 1024, 40);
    zpar_sweep_spec_t *s;
    double t0 = tap_now_s ();

    s = b ? load_text (b, &err) : NULL;
    ok (!s && strstr (err.text, "t.yaml:3:") == err.text && strstr (err.text, "aliases expand"),
        "40 aliases of a 1 MiB string refused: %.60s", s ? "(loaded)" : err.text);
    ok (tap_now_s () - t0 < 2. * time_scale (), "in %.3f s", tap_now_s () - t0);
    zpar__sweep_spec_destroy (s);
    free (b);

    /* a few small aliases are fine */
    b = alias_file (100, 10);
    s = b ? load_text (b, &err) : NULL;
    ok (s && zpar__sweep_spec_count (s) == 11, "10 aliases of a short string load %s",
        s ? "" : err.text);
    zpar__sweep_spec_destroy (s);
    free (b);

    /* billion laughs: nested aliases grow exponentially */
    {
        char laughs[4096];
        size_t n = (size_t)snprintf (laughs, sizeof (laughs),
                                     "command: echo {x}\nparams:\n  x: &a0 [a,a,a,a,a,a,a,a,a,a]\n"
                                     "exclude:\n");
        for (int i = 1; i < 10; i++) {
            n += (size_t)snprintf (laughs + n, sizeof (laughs) - n, "  - {x: a, y%d: &a%d [", i, i);
            for (int k = 0; k < 10; k++)
                n += (size_t)snprintf (laughs + n, sizeof (laughs) - n, "%s*a%d", k ? "," : "",
                                       i - 1);
            n += (size_t)snprintf (laughs + n, sizeof (laughs) - n, "]}\n");
        }
        t0 = tap_now_s ();
        s = load_text (laughs, &err);
        ok (!s && strstr (err.text, "aliases expand"), "billion laughs refused: %s",
            s ? "(loaded)" : err.text);
        ok (tap_now_s () - t0 < 1. * time_scale (), "in %.3f s", tap_now_s () - t0);
        zpar__sweep_spec_destroy (s);
    }
}

static void test_depth (void)
{
    size_t depth = 100000, n = 0;
    char *b = malloc (2 * depth + 64);
    zpar_error_t err = {{0}};
    zpar_sweep_spec_t *s;
    double t0;
    if (!b)
        return;
    n += (size_t)sprintf (b, "command: echo {x}\nparams:\n  x: ");
    memset (b + n, '[', depth);
    n += depth;
    b[n++] = '1';
    memset (b + n, ']', depth);
    n += depth;
    b[n] = '\0';
    t0 = tap_now_s ();
    s = zpar__sweep_spec_load_buffer (b, n, "t.yaml", &err);
    ok (!s && strstr (err.text, "t.yaml:3:") == err.text && strstr (err.text, "nesting deeper"),
        "depth 100,000 refused: %s", s ? "(loaded)" : err.text);
    ok (tap_now_s () - t0 < 1. * time_scale (), "in %.3f s", tap_now_s () - t0);
    zpar__sweep_spec_destroy (s);
    free (b);
}

/* --- counting ------------------------------------------------------------ */

static uint64_t brute_count (const zpar_sweep_space_t *s)
{
    zpar_sweep_iter_t *it = zpar__sweep_iter_create (s);
    int ex;
    uint64_t n = 0;
    for (uint64_t i = 0; i < zpar__sweep_space_size (s); i++)
        if (zpar__sweep_iter_at (it, i, &ex) && !ex)
            n++;
    zpar__sweep_iter_destroy (it);
    return n;
}

static uint64_t next_count (const zpar_sweep_space_t *s)
{
    zpar_sweep_iter_t *it = zpar__sweep_iter_create (s);
    uint64_t n = 0;
    while (zpar__sweep_iter_next (it))
        n++;
    zpar__sweep_iter_destroy (it);
    return n;
}

static zpar_sweep_param_t *list_of (const char *name, const char *const *v, size_t n)
{
    zpar_sweep_param_t *p = zpar__sweep_param_list_create (name);
    for (size_t i = 0; p && i < n; i++)
        if (zpar__sweep_param_list_append (p, v[i], ZPAR_SWEEP_STRING) < 0) {
            zpar__sweep_param_destroy (p);
            return NULL;
        }
    return p;
}

static void test_count (void)
{
    zpar_error_t err = {{0}};
    static const char *dup[] = {"a", "b", "a", "c", "a"};
    unsigned seed = 12345;
    int agree = 1, nspaces = 0;

    /* random small spaces: the closed form agrees with iterating */
    for (int round = 0; round < 300; round++) {
        zpar_sweep_space_t *s =
            zpar__sweep_space_create (round % 3 == 2 ? ZPAR_SWEEP_ZIP : ZPAR_SWEEP_PRODUCT);
        int zip = round % 3 == 2;
        zpar_sweep_param_t *p[3];
        const char *names[3] = {"a", "b", "c"};
        p[0] = list_of ("a", dup, 5);
        p[1] = zpar__sweep_param_range_create ("b", "0", zip ? "5" : "7", NULL, &err);
        p[2] = zip ? zpar__sweep_param_linspace_create ("c", 0, 1, 5, &err)
                   : zpar__sweep_param_range_create ("c", "0", "1", "0.25", &err);
        for (int k = 0; k < 3; k++)
            zpar__sweep_space_add (s, &p[k], &err);
        for (int e = 0, ne = rand_r (&seed) % 6; e < ne; e++) {
            size_t idx[3], n = 0;
            const char *vals[3];
            char num[2][16];
            for (size_t k = 0; k < 3; k++) {
                if (rand_r (&seed) % 2)
                    continue;
                idx[n] = k;
                if (k == 0)
                    vals[n] = dup[rand_r (&seed) % 5];
                else if (k == 1) {
                    snprintf (num[0], sizeof (num[0]), "%d", rand_r (&seed) % 8);
                    vals[n] = num[0];
                } else {
                    static const char *f[] = {"0", "0.25", "0.5", "0.75", "1", "0.3"};
                    vals[n] = f[rand_r (&seed) % 6];
                }
                n++;
            }
            if (n)
                zpar__sweep_space_exclude (s, n, idx, vals, &err);
        }
        (void)names;
        if (zpar__sweep_space_seal (s, &err) < 0) {
            diag ("seal: %s", err.text);
            agree = 0;
        } else {
            uint64_t c = zpar__sweep_space_count (s), b = brute_count (s), x = next_count (s);
            if (c != b || x != b) {
                diag ("round %d: count %" PRIu64 ", brute %" PRIu64 ", next %" PRIu64, round, c, b,
                      x);
                agree = 0;
            }
            nspaces++;
        }
        zpar__sweep_space_destroy (s);
    }
    ok (agree && nspaces == 300, "counts of 300 random spaces agree with iterating");

    /* 10^12 points with partial exclusions: counted at once */
    {
        zpar_sweep_space_t *s = zpar__sweep_space_create (ZPAR_SWEEP_PRODUCT);
        zpar_sweep_param_t *a = zpar__sweep_param_range_create ("a", "0", "1000000", NULL, &err);
        zpar_sweep_param_t *b = zpar__sweep_param_range_create ("b", "0", "1000000", NULL, &err);
        size_t i0[] = {0}, i1[] = {0, 1}, i2[] = {1};
        const char *v0[] = {"5"}, *v1[] = {"7", "9"}, *v2[] = {"3"};
        double t0 = tap_now_s ();
        const zpar_sweep_point_t *pt;
        zpar_sweep_iter_t *it;
        zpar__sweep_space_add (s, &a, &err);
        zpar__sweep_space_add (s, &b, &err);
        zpar__sweep_space_exclude (s, 1, i0, v0, &err);
        zpar__sweep_space_exclude (s, 2, i1, v1, &err);
        zpar__sweep_space_exclude (s, 1, i2, v2, &err);
        alarm (60); /* iterating 10^12 points would never end */
        ok (zpar__sweep_space_seal (s, &err) == 0, "10^12-point space with exclusions seals");
        is_int (zpar__sweep_space_count (s), UINT64_C (1000000000000) - 2000000,
                "count = 10^12 - 2,000,000");
        ok (tap_now_s () - t0 < 1. * time_scale (), "counted in %.3f s", tap_now_s () - t0);
        /* excluded blocks are skipped, not walked */
        it = zpar__sweep_iter_create (s);
        zpar__sweep_iter_seek (it, UINT64_C (5) * 1000000);
        t0 = tap_now_s ();
        pt = zpar__sweep_iter_next (it);
        ok (pt && pt->index == UINT64_C (6) * 1000000, "a=5 skipped in one step (%.3f s)",
            tap_now_s () - t0);
        alarm (0);
        zpar__sweep_iter_destroy (it);
        zpar__sweep_space_destroy (s);
    }

    /* float values that all look the same: cannot be counted by
     * arithmetic, too many to iterate */
    {
        zpar_sweep_space_t *s = zpar__sweep_space_create (ZPAR_SWEEP_PRODUCT);
        zpar_sweep_param_t *a = zpar__sweep_param_linspace_create ("a", 1, 1, 10000000, &err);
        size_t i0[] = {0};
        const char *v0[] = {"1"};
        zpar__sweep_space_add (s, &a, &err);
        zpar__sweep_space_exclude (s, 1, i0, v0, &err);
        alarm (60);
        ok (zpar__sweep_space_seal (s, &err) < 0 && errno == E2BIG && strstr (err.text, "exclude"),
            "uncountable exclusion: E2BIG: %s", err.text);
        alarm (0);
        zpar__sweep_space_destroy (s);
    }
    {
        zpar_sweep_param_t *p = list_of ("a", dup, 5);
        ok (zpar__sweep_param_has_value (p, "c") == 1 && zpar__sweep_param_has_value (p, "d") == 0,
            "has_value on a list");
        ok (zpar__sweep_param_has_value (NULL, "c") < 0 && errno == EINVAL,
            "has_value (NULL): EINVAL");
        zpar__sweep_param_destroy (p);
        p = zpar__sweep_param_range_create ("r", "0", "1000000000000", "0.5", &err);
        ok (p && zpar__sweep_param_has_value (p, "123456789.5") == 1 &&
                zpar__sweep_param_has_value (p, "123456789.25") == 0,
            "has_value on a 2x10^12-value float range");
        zpar__sweep_param_destroy (p);
    }

    /* a sweep file: 10^12 points, partial exclude, loads at once */
    {
        double t0 = tap_now_s ();
        zpar_sweep_spec_t *s;
        alarm (60);
        s = load_text ("command: echo {a} {b}\nparams:\n  a: {range: [0, 1000000]}\n"
                       "  b: {range: [0, 1000000]}\nexclude:\n  - {a: 5}\n  - {a: 7, b: 9}\n",
                       &err);
        ok (s && zpar__sweep_spec_count (s) == UINT64_C (1000000000000) - 1000001 &&
                tap_now_s () - t0 < 1. * time_scale (),
            "10^12-point file with exclude loads and counts in %.3f s %s", tap_now_s () - t0,
            s ? "" : err.text);
        alarm (0);
        zpar__sweep_spec_destroy (s);
    }
}

/* --- values in paths ------------------------------------------------------ */

static void test_paths (void)
{
    static const bad_t bad[] = {
        {"command: echo\nparams: {p: [a, '../../x']}\nstdout: '{p}.out'\n", "t.yaml:3:9",
         "stdout: {p} takes the value '../../x'"},
        {"command: echo\nparams: {p: [a, /etc]}\nworkdir: '{p}'\n", "t.yaml:3:10",
         "workdir: {p} takes the value '/etc'"},
        {"command: echo\nparams: {p: ['..']}\nstderr: 'logs/{p}/err'\n", "t.yaml:3:9",
         "one path component"},
        {"command: echo\nparams: {p: [a/b]}\nstdout: 'x{p}'\n", "t.yaml:3:9", "without '/'"},
    };
    static const char *const good[] = {
        /* written literally: the file says so */
        "command: echo\nparams: {p: [a]}\nstdout: '/tmp/{p}.out'\nstderr: ../logs/{p}.err\n",
        "command: echo\nparams: {p: [a..b, .x, 'sp ace']}\nworkdir: '../{p}'\nstdout: '{p}'\n",
        /* values not used in paths may hold anything */
        "command: echo {p}\nparams: {p: [../x, /etc]}\n",
        "command: echo\nparams: {p: {range: [-5, 5]}}\nstdout: '{p}.out'\n",
    };
    check_bad ("path value", bad, sizeof (bad) / sizeof (bad[0]));
    check_good ("path value", good, sizeof (good) / sizeof (good[0]));

    /* a values file line */
    {
        char dir[] = "/tmp/zpar-hostile-XXXXXX", path[256], yaml[512];
        zpar_error_t err = {{0}};
        zpar_sweep_spec_t *s = NULL;
        FILE *f;
        if (mkdtemp (dir)) {
            snprintf (path, sizeof (path), "%s/v.txt", dir);
            if ((f = fopen (path, "w"))) {
                fputs ("good\n../../../etc/cron.d/x\n", f);
                fclose (f);
            }
            snprintf (yaml, sizeof (yaml),
                      "command: echo\nparams: {p: {file: %s}}\nstdout: '{p}.out'\n", path);
            s = load_text (yaml, &err);
            ok (!s && strstr (err.text, "t.yaml:3:9") && strstr (err.text, "value 1 of params.p"),
                "a values-file line with ../ refused: %s", s ? "(loaded)" : err.text);
            unlink (path);
            rmdir (dir);
        }
        zpar__sweep_spec_destroy (s);
    }
}

/* --- overflow ----------------------------------------------------------- */

static void test_overflow (void)
{
    zpar_error_t err = {{0}};
    zpar_sweep_param_t *p;
    char buf[ZPAR_SWEEP_NUM_MAX];
    zpar_sweep_vtype_t t;
    zpar_sweep_spec_t *s;

    p = zpar__sweep_param_range_create ("x", "-9000000000000000000", "9000000000000000000",
                                        "6000000000000000000", &err);
    ok (p && zpar__sweep_param_count (p) == 3, "range [-9e18, 9e18, 6e18] as integers: 3 values");
    ok (p && strcmp (zpar__sweep_param_value (p, 2, buf, sizeof (buf), &t),
                     "3000000000000000000") == 0,
        "its last value is 3e18 (%s)", p ? buf : "");
    zpar__sweep_param_destroy (p);
    p = zpar__sweep_param_range_create ("x", "-9000000000000000000", "9000000000000000000", NULL,
                                        &err);
    ok (!p && errno == EOVERFLOW, "range of 1.8e19 integers: EOVERFLOW: %s", p ? "" : err.text);
    zpar__sweep_param_destroy (p);

    s = load_text ("command: echo {x}\nparams:\n  x: {range: [-9e18, 9e18, 6e18]}\n", &err);
    ok (s && zpar__sweep_spec_count (s) == 3, "float range [-9e18, 9e18, 6e18] loads %s",
        s ? "" : err.text);
    zpar__sweep_spec_destroy (s);
    s = load_text ("command: echo {x}\ncombine: zip\nparams:\n"
                   "  x: {range: [-9223372036854775807, 9223372036854775807]}\n",
                   &err);
    ok (!s && strstr (err.text, "t.yaml:4:") && strstr (err.text, "2^62"),
        "zip of 1.8e19 values refused: %s", s ? "(loaded)" : err.text);
    zpar__sweep_spec_destroy (s);
    s = load_text ("command: echo {x}\nparams:\n  x: {linspace: [0, 1, 9223372036854775807]}\n",
                   &err);
    ok (!s && strstr (err.text, "t.yaml:3:") && strstr (err.text, "2^62") &&
            !strstr (err.text, "-9223372036854775808"),
        "linspace count 2^63-1 refused without a negative count: %s", s ? "(loaded)" : err.text);
    zpar__sweep_spec_destroy (s);
}

/* --- SIGINT during status ------------------------------------------------- */

static void test_interrupt (void)
{
    char dir[] = "/tmp/zpar-hostile-XXXXXX", path[256], jpath[256];
    zpar_error_t err = {{0}};
    sigset_t set, old;
    FILE *f, *out;
    double t0;
    int rc;

    if (!mkdtemp (dir))
        return;
    snprintf (path, sizeof (path), "%s/big.yaml", dir);
    snprintf (jpath, sizeof (jpath), "%s/j.sqlite", dir);
    if (!(f = fopen (path, "w")))
        return;
    fputs ("command: echo {a}\nparams:\n  a: {range: [0, 1000000000000]}\n", f);
    fclose (f);
    /* as main() does: SIGINT blocked, then one arrives */
    sigemptyset (&set);
    sigaddset (&set, SIGINT);
    sigprocmask (SIG_BLOCK, &set, &old);
    raise (SIGINT);
    out = fopen ("/dev/null", "w");
    alarm (60);
    t0 = tap_now_s ();
    rc = zpar__sweep_status (path, jpath, 0, out, &err);
    alarm (0);
    ok (rc != 0 && strstr (err.text, "interrupted") && tap_now_s () - t0 < 5. * time_scale (),
        "sweep status of 10^12 points stops on a pending SIGINT (%.3f s): %s", tap_now_s () - t0,
        err.text);
    ok (zpar__sweep_interrupted () == 1, "the signal stays pending for the caller");
    {
        struct timespec z = {0, 0};
        sigtimedwait (&set, NULL, &z);
    }
    ok (zpar__sweep_interrupted () == 0, "nothing pending once taken");
    sigprocmask (SIG_SETMASK, &old, NULL);
    if (out)
        fclose (out);
    unlink (jpath);
    unlink (path);
    rmdir (dir);
}

int main (void)
{
    const char *srcdir = getenv ("srcdir");
    snprintf (datadir, sizeof (datadir), "%s/tests/data/sweep", srcdir ? srcdir : ".");
    (void)data;
    plan (NO_PLAN);
    test_shell ();
    test_aliases ();
    test_depth ();
    test_count ();
    test_paths ();
    test_overflow ();
    test_interrupt ();
    return done_testing ();
}
