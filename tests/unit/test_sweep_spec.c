/* test_sweep_spec.c - loading and validating sweep files, tasks and keys. */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spec.h"
#include "tap.h"

/* Time bounds are multiplied by $ZPAR_TEST_TIME_SCALE (e.g. under valgrind). */
static double time_scale (void)
{
    const char *s = getenv ("ZPAR_TEST_TIME_SCALE");
    double v = s ? atof (s) : 1.;
    return v > 0 ? v : 1.;
}

static char datadir[4096];

static const char *data (const char *name)
{
    static char path[4200];
    snprintf (path, sizeof (path), "%s/%s", datadir, name);
    return path;
}

static zpar_sweep_spec_t *load_text (const char *text, zpar_error_t *err)
{
    return zpar__sweep_spec_load_buffer (text, strlen (text), data ("t.yaml"), err);
}

static char *argv_str (char **argv)
{
    static char out[2048];
    out[0] = '\0';
    for (size_t i = 0; argv[i]; i++) {
        strcat (out, "<");
        strcat (out, argv[i]);
        strcat (out, ">");
    }
    return out;
}

static void test_basic (void)
{
    zpar_error_t err = {{0}};
    zpar_sweep_spec_t *s = zpar__sweep_spec_load (data ("basic.yaml"), &err);
    zpar_sweep_iter_t *it;
    const zpar_sweep_point_t *pt;
    zpar_sweep_task_t *t;
    char want[8192], *jp;

    ok (s != NULL, "basic.yaml loads %s", s ? "" : err.text);
    if (!s)
        return;
    is_str (zpar__sweep_spec_name (s), "basic", "name");
    is_int (zpar__sweep_spec_nparams (s), 3, "3 parameters");
    is_str (zpar__sweep_spec_param_name (s, 2), "model", "parameter order kept");
    is_int (zpar__sweep_spec_size (s), 18, "3 x 3 x 2 points");
    is_int (zpar__sweep_spec_retries (s), 2, "retries");
    ok (zpar__sweep_spec_timeout (s) == 5400., "timeout 1h30m = 5400 s");
    ok (zpar__sweep_spec_shell (s) == 0, "shell off by default");
    ok (strlen (zpar__sweep_spec_file_hash (s)) == 64, "file hash is 64 hex digits");
    snprintf (want, sizeof (want), "%s/basic.out", zpar__sweep_spec_dir (s));
    is_str (zpar__sweep_spec_output_dir (s), want, "default output dir <dir>/<name>.out");
    jp = zpar__sweep_spec_journal_path (s);
    snprintf (want, sizeof (want), "%s.journal.sqlite", zpar__sweep_spec_path (s));
    is_str (jp, want, "default journal path");
    free (jp);
    ok (zpar__sweep_spec_path (s)[0] == '/', "path is absolute");

    it = zpar__sweep_spec_iter_create (s);
    pt = zpar__sweep_iter_next (it);
    t = zpar__sweep_spec_task (s, pt, &err);
    ok (t != NULL, "task of point 0");
    is_str (argv_str (t->argv), "<./sim><--alpha=0.1><--n><1><--model><ising><--out><basic-0.dat>",
            "argv of point 0");
    is_int (t->argc, 8, "argc");
    is_int (t->nenv, 2, "two env entries");
    is_str (t->env[0], "OMP_NUM_THREADS=1", "env literal");
    is_str (t->env[1], "RUN_TAG=ising-1", "env templated");
    ok (t->env[2] == NULL, "env NULL-terminated");
    snprintf (want, sizeof (want), "%s/runs/0", zpar__sweep_spec_dir (s));
    is_str (t->workdir, want, "workdir templated, relative to the sweep file");
    snprintf (want, sizeof (want), "%s/basic.out/0.out", zpar__sweep_spec_dir (s));
    is_str (t->stdout_path, want, "default stdout {index}.out in the output dir");
    snprintf (want, sizeof (want), "%s/basic.out/0.err", zpar__sweep_spec_dir (s));
    is_str (t->stderr_path, want, "default stderr");
    is_str (t->params_json, "{\"alpha\":0.1,\"n\":1,\"model\":\"ising\"}", "params JSON typed");
    ok (strlen (t->key) == 64, "key is 64 hex digits");
    zpar__sweep_task_destroy (t);

    pt = zpar__sweep_iter_at (it, 17, NULL);
    t = zpar__sweep_spec_task (s, pt, &err);
    is_str (argv_str (t->argv),
            "<./sim><--alpha=0.001><--n><3><--model><heisenberg model><--out><basic-17.dat>",
            "point 17: 1e-3 canonical, values file line with a space and CRLF, blank lines "
            "skipped");
    zpar__sweep_task_destroy (t);
    zpar__sweep_iter_destroy (it);
    zpar__sweep_spec_destroy (s);
    zpar__sweep_spec_destroy (NULL);
}

static void test_forms_and_exclude (void)
{
    zpar_error_t err = {{0}};
    zpar_sweep_spec_t *s = zpar__sweep_spec_load (data ("forms.yaml"), &err);
    zpar_sweep_iter_t *it;
    const zpar_sweep_point_t *pt;
    zpar_sweep_task_t *t;
    char all[4096] = "";

    ok (s != NULL, "forms.yaml loads %s", s ? "" : err.text);
    if (!s)
        return;
    is_int (zpar__sweep_spec_size (s), 4, "zip of 5 parameters of 4 values");
    it = zpar__sweep_spec_iter_create (s);
    while ((pt = zpar__sweep_iter_next (it))) {
        t = zpar__sweep_spec_task (s, pt, &err);
        strcat (all, argv_str (t->argv));
        strcat (all, "\n");
        zpar__sweep_task_destroy (t);
    }
    is_str (all,
            "<echo><0><0.5><0><0.1><10>\n"
            "<echo><0.25><1><0.3333333333333333><1><8>\n"
            "<echo><0.5><1.5><0.6666666666666666><10><6>\n"
            "<echo><0.75><2><1><100><4>\n",
            "range (float, negative step), linspace, logspace zipped; command string split");
    zpar__sweep_iter_destroy (it);
    zpar__sweep_spec_destroy (s);

    s = zpar__sweep_spec_load (data ("exclude.yaml"), &err);
    ok (s != NULL, "exclude.yaml loads %s", s ? "" : err.text);
    if (!s)
        return;
    is_int (zpar__sweep_spec_size (s), 6, "6 points before exclude");
    is_int (zpar__sweep_spec_count (s), 3, "3 after exclude");
    it = zpar__sweep_spec_iter_create (s);
    all[0] = '\0';
    while ((pt = zpar__sweep_iter_next (it))) {
        t = zpar__sweep_spec_task (s, pt, &err);
        snprintf (all + strlen (all), sizeof (all) - strlen (all), "%llu:%s ",
                  (unsigned long long)t->index, argv_str (t->argv));
        zpar__sweep_task_destroy (t);
    }
    is_str (all, "0:<run><--x><1><--y><a> 1:<run><--x><1><--y><b> 2:<run><--x><2><--y><a> ",
            "exclude of a full and a partial point");
    zpar__sweep_iter_destroy (it);
    zpar__sweep_spec_destroy (s);
}

static char *run_sh (char **argv)
{
    static char out[4096];
    int fd[2], status;
    size_t n = 0;
    ssize_t r;
    pid_t pid;
    if (pipe (fd) < 0)
        return NULL;
    if ((pid = fork ()) == 0) {
        dup2 (fd[1], 1);
        close (fd[0]);
        close (fd[1]);
        execv (argv[0], argv);
        _exit (127);
    }
    close (fd[1]);
    while ((r = read (fd[0], out + n, sizeof (out) - 1 - n)) > 0)
        n += (size_t)r;
    close (fd[0]);
    waitpid (pid, &status, 0);
    out[n] = '\0';
    return out;
}

static void test_shell (void)
{
    static const char *want[] = {
        "; rm -rf /",
        "$(touch /tmp/zpar-pwned)",
        "`touch /tmp/zpar-pwned`",
        "it's",
        "a \"b\"",
        "Grüße 🌍",
        "*",
        "{v}",
    };
    zpar_error_t err = {{0}};
    zpar_sweep_spec_t *s = zpar__sweep_spec_load (data ("shell.yaml"), &err);
    zpar_sweep_iter_t *it;
    const zpar_sweep_point_t *pt;
    size_t i = 0;

    ok (s != NULL, "shell.yaml loads %s", s ? "" : err.text);
    if (!s)
        return;
    unlink ("/tmp/zpar-pwned");
    it = zpar__sweep_spec_iter_create (s);
    while ((pt = zpar__sweep_iter_next (it)) && i < 8) {
        zpar_sweep_task_t *t = zpar__sweep_spec_task (s, pt, &err);
        char expect[256];
        snprintf (expect, sizeof (expect), "%s|#%zu", want[i], i);
        ok (t->argc == 3 && strcmp (t->argv[0], "/bin/sh") == 0 && strcmp (t->argv[1], "-c") == 0,
            "shell: true runs /bin/sh -c");
        is_str (run_sh (t->argv), expect, "shell value %zu comes back verbatim", i);
        zpar__sweep_task_destroy (t);
        i++;
    }
    ok (access ("/tmp/zpar-pwned", F_OK) < 0, "nothing injected ran");
    zpar__sweep_iter_destroy (it);
    zpar__sweep_spec_destroy (s);
}

static char *key_of (const char *text, uint64_t index)
{
    static char key[ZPAR_SWEEP_KEY_SIZE];
    zpar_error_t err = {{0}};
    zpar_sweep_spec_t *s = load_text (text, &err);
    zpar_sweep_iter_t *it;
    zpar_sweep_task_t *t;
    strcpy (key, "ERROR");
    if (!s) {
        diag ("%s", err.text);
        return key;
    }
    it = zpar__sweep_spec_iter_create (s);
    t = zpar__sweep_spec_task (s, zpar__sweep_iter_at (it, index, NULL), &err);
    if (t)
        strcpy (key, t->key);
    zpar__sweep_task_destroy (t);
    zpar__sweep_iter_destroy (it);
    zpar__sweep_spec_destroy (s);
    return key;
}

static void test_keys (void)
{
    char k0[65], k1[65];
    const char *base = "command: prog {x}\nparams:\n  x: [1, 2]\n";
    strcpy (k0, key_of (base, 0));
    strcpy (k1, key_of (base, 1));
    ok (strcmp (k0, "ERROR") != 0 && strcmp (k0, k1) != 0, "points have different keys");
    is_str (key_of (base, 0), k0, "keys are stable across loads");
    is_str (key_of ("# a comment\ncommand:   prog   {x}\nparams:\n  x: [1.0, 2]\nretries: 3\n", 0),
            k0, "comments, spacing, 1.0 vs 1 and retries do not change the key");
    is_str (key_of ("command: prog {x}\nparams:\n  x: [0, 1, 2]\n", 1), k0,
            "inserting a value before keeps the key of a point whose command has no {index}");
    ok (strcmp (key_of ("command: prog -v {x}\nparams:\n  x: [1, 2]\n", 0), k0) != 0,
        "an edited command changes the key");
    ok (strcmp (key_of ("command: prog {x}\nparams:\n  x: [1, 2]\nenv: {A: b}\n", 0), k0) != 0,
        "an added env changes the key");
    ok (strcmp (key_of ("command: prog {x}\nparams:\n  x: [1, 2]\nworkdir: w\n", 0), k0) != 0,
        "a workdir changes the key");
    ok (strcmp (key_of ("command: prog {x}\nparams:\n  x: [1, 2]\nshell: true\n", 0), k0) != 0,
        "shell mode changes the key");
    ok (strcmp (key_of ("command: prog {x}\nparams:\n  x: ['1', 2]\n", 0), k0) == 0,
        "'1' quoted has the same text as 1, same key");
}

static void test_bad (void)
{
    static const struct {
        const char *text;
        const char *where; /* "t.yaml:L:C" or NULL */
        const char *msg;
    } t[] = {
        {"name: a\ncommand: echo {x}\nparms:\n  x: [1]\n", "t.yaml:3:1",
         "unknown key 'parms' (did you mean 'params'?)"},
        {"comand: echo {x}\nparams: {x: [1]}\n", "t.yaml:1:1",
         "unknown key 'comand' (did you mean 'command'?)"},
        {"command: echo {x}\nparams: {x: [1]}\nfrobnicate: 1\n", "t.yaml:3:1",
         "unknown key 'frobnicate'\0"},
        {"command: echo {y}\nparams:\n  x: [1]\n", "t.yaml:1:15",
         "command: placeholder '{y}' names no parameter"},
        {"command: [echo, \"{xx}\"]\nparams:\n  x: [1]\n", "t.yaml:1:18", "did you mean '{x}'?"},
        {"command: echo {x}\nparams:\n  x: [1]\nenv: {A: \"{z}\"}\n", "t.yaml:4:11",
         "env.A: placeholder '{z}'"},
        {"command: echo {x}\nparams:\n  x: [1]\nstdout: \"{nope}.txt\"\n", "t.yaml:4:10",
         "stdout: placeholder '{nope}'"},
        {"command: echo {x}\nparams:\n  x: [1]\nworkdir: \"w/{indx}\"\n", "t.yaml:4:13",
         "did you mean '{index}'"},
        {"command: echo {x}\nparams:\n  x: [1]\nexclude:\n  - {x: 1}\n", "t.yaml:5:3",
         "exclude removes every point"},
        {"command: echo hi\n", "t.yaml:1:1", "missing key 'params'"},
        {"command: echo hi\nparams: {}\n", "t.yaml:2:9", "params is empty"},
        {"command: echo hi\nparams:\n  x: []\n", "t.yaml:3:6", "params.x is an empty list"},
        {"command: echo {x}\nparams:\n  x: {range: [0, 10, 0]}\n", "t.yaml:3:22",
         "params.x.range: range step is 0"},
        {"command: echo {x}\nparams:\n  x: {range: [5, 1]}\n", "t.yaml:3:14", "is empty"},
        {"command: echo {x}\nparams:\n  x: {range: [0, a]}\n", "t.yaml:3:18", "must be a number"},
        {"command: echo {x}\nparams:\n  x: {range: [1]}\n", "t.yaml:3:14",
         "must be [start, stop] or [start, stop, step]"},
        {"command: echo {x}\nparams:\n  x: {linspace: [0, 1, 2.5]}\n", "t.yaml:3:24",
         "count must be an integer"},
        {"command: echo {x}\nparams:\n  x: {file: nope.txt}\n", "t.yaml:3:13",
         "cannot read values file"},
        {"command: echo {x}\nparams:\n  x: {rnage: [0, 1]}\n", "t.yaml:3:7",
         "params.x: unknown key 'rnage' (did you mean 'range'?)"},
        {"command: echo {x}\nparams:\n  x: {range: [0, 1], linspace: [0, 1, 2]}\n", "t.yaml:3:6",
         "give exactly one of"},
        {"command: echo {x}\nparams:\n  x: [[1, 2]]\n", "t.yaml:3:7",
         "a value of params.x must be a scalar, not a list"},
        {"command: echo {x}\nparams: [1, 2]\n", "t.yaml:2:9", "params must be a mapping"},
        {"command: {a: 1}\nparams: {x: [1]}\n", "t.yaml:1:10", "command must be a scalar"},
        {"command: echo {x}\nparams: {x: [1]}\nretries: -1\n", "t.yaml:3:10",
         "retries must be an integer >= 0"},
        {"command: echo {x}\nparams: {x: [1]}\nretries: two\n", "t.yaml:3:10", "retries"},
        {"command: echo {x}\nparams: {x: [1]}\ntimeout: 5 minutes\n", "t.yaml:3:10",
         "is not a duration"},
        {"command: echo {x}\nparams: {x: [1]}\ntimeout: 10m5h\n", "t.yaml:3:10",
         "is not a duration"},
        {"command: echo {x}\nparams: {x: [1]}\ncombine: zipp\n", "t.yaml:3:10",
         "combine must be 'product' or 'zip'"},
        {"command: echo {x}\ncombine: zip\nparams: {x: [1, 2], y: [1]}\n", "t.yaml:2:10",
         "zip needs parameters of equal length"},
        {"command: echo {x}\nparams: {x: [1, 2]}\nexclude:\n  - {xx: 1}\n", "t.yaml:4:6",
         "unknown parameter 'xx' (did you mean 'x'?)"},
        {"command: echo {x}\nparams: {x: [1, 2]}\nexclude:\n  - {x: 3}\n", "t.yaml:4:9",
         "parameter 'x' has no value '3'"},
        {"command: echo {x}\nparams: {x: [1, 2]}\nexclude: {x: 1}\n", "t.yaml:3:10",
         "exclude must be a list"},
        {"command: echo {index}\nparams: {index: [1, 2]}\n", "t.yaml:2:10", "is reserved"},
        {"command: echo\nparams: {1x: [1, 2]}\n", "t.yaml:2:10", "parameter name '1x' is invalid"},
        {"command: [echo, \"{x}\"]\nshell: true\nparams: {x: [1]}\n", "t.yaml:1:10",
         "command must be one string"},
        {"command: echo {x}\nshell: maybe\nparams: {x: [1]}\n", "t.yaml:2:8",
         "shell must be true or false"},
        {"command: echo 'a {x}\nparams: {x: [1]}\n", "t.yaml:1:15", "unterminated single quote"},
        {"command: awk '{print $1}'\nparams: {x: [1]}\n", "t.yaml:1:15",
         "'{print $1}' is not a placeholder"},
        {"command: \"\"\nparams: {x: [1]}\n", "t.yaml:1:10", "command is empty"},
        {"command: []\nparams: {x: [1]}\n", "t.yaml:1:10", "command is an empty list"},
        {"command: echo\nparams: {x: [1]}\nenv: {1A: b}\n", "t.yaml:3:7", "not a valid variable"},
        {"command: echo\nparams: {x: [1]}\nname: \"a/b\"\n", "t.yaml:3:7", "name 'a/b' is invalid"},
        {"command: echo\ncommand: echo\nparams: {x: [1]}\n", "t.yaml:2:1",
         "duplicate key 'command'"},
        {"command: echo\nparams: {x: [1], x: [2]}\n", "t.yaml:2:18", "defined twice"},
        {"", "t.yaml:1:1", "the file is empty"},
        {"- a\n- b\n", "t.yaml:1:1", "must be a mapping, not a list"},
        {"command: echo\nparams: {x: [1]}\n---\nname: two\n", "t.yaml:3:1", "one YAML document"},
        {"command: echo\nparams: {x: [1}\n", "t.yaml:2:15", "YAML syntax error"},
        {"command: echo\nparams:\n\tx: [1]\n", "t.yaml:3:1", "YAML syntax error"},
        {"command: echo {x}\nparams: {x: [1]}\noutput: \"{x}\"\n", "t.yaml:3:10",
         "only {name} is allowed"},
    };
    for (size_t i = 0; i < sizeof (t) / sizeof (t[0]); i++) {
        zpar_error_t err = {{0}};
        zpar_sweep_spec_t *s = load_text (t[i].text, &err);
        const char *base = strstr (err.text, "t.yaml:");
        base = base ? base : err.text;
        ok (s == NULL && errno != 0 && strstr (err.text, t[i].msg) &&
                strncmp (base, t[i].where, strlen (t[i].where)) == 0 &&
                base[strlen (t[i].where)] == ':',
            "bad %zu: %s", i, base);
        if (s || !strstr (err.text, t[i].msg) || strncmp (base, t[i].where, strlen (t[i].where)))
            diag ("want %s: ...%s", t[i].where, t[i].msg);
        zpar__sweep_spec_destroy (s);
    }

    /* NUL byte and invalid UTF-8 in a buffer */
    {
        zpar_error_t err = {{0}};
        const char text[] = "command: echo\nparams: {x: [a\0b]}\n";
        ok (zpar__sweep_spec_load_buffer (text, sizeof (text) - 1, "t.yaml", &err) == NULL &&
                errno == EINVAL && strstr (err.text, "t.yaml:2:15: NUL byte"),
            "NUL byte located: %s", err.text);
        const char bad[] = "command: echo\nparams: {x: [\xc3\x28]}\n";
        ok (zpar__sweep_spec_load_buffer (bad, sizeof (bad) - 1, "t.yaml", &err) == NULL &&
                strstr (err.text, "t.yaml:2:14: invalid UTF-8 (byte 0xc3)"),
            "truncated UTF-8 sequence located: %s", err.text);
        const char over[] = "command: echo\nparams: {x: [\xc0\xaf]}\n";
        ok (zpar__sweep_spec_load_buffer (over, sizeof (over) - 1, "t.yaml", &err) == NULL &&
                strstr (err.text, "invalid UTF-8"),
            "overlong UTF-8 refused: %s", err.text);
    }
    /* data files */
    {
        zpar_error_t err = {{0}};
        ok (zpar__sweep_spec_load (data ("bad-utf8.yaml"), &err) == NULL && errno == EINVAL &&
                strstr (err.text, "bad-utf8.yaml:4:14: invalid UTF-8 (byte 0xe9)"),
            "non-UTF-8 file: %s", strrchr (err.text, '/') ? strrchr (err.text, '/') + 1 : err.text);
        ok (zpar__sweep_spec_load (data ("syntax.yaml"), &err) == NULL && errno == EINVAL &&
                strstr (err.text, "syntax.yaml:5:4: YAML syntax error"),
            "YAML syntax error: %s",
            strrchr (err.text, '/') ? strrchr (err.text, '/') + 1 : err.text);
        ok (zpar__sweep_spec_load (data ("missing.yaml"), &err) == NULL && errno == ENOENT &&
                strstr (err.text, "No such file"),
            "missing sweep file: ENOENT");
        ok (zpar__sweep_spec_load (datadir, &err) == NULL && errno == EISDIR,
            "a directory: EISDIR");
        ok (zpar__sweep_spec_load (NULL, &err) == NULL && errno == EINVAL, "NULL path: EINVAL");
        ok (zpar__sweep_spec_task (NULL, NULL, &err) == NULL && errno == EINVAL,
            "task of NULL: EINVAL");
    }
}

static void test_misc (void)
{
    zpar_error_t err = {{0}};
    zpar_sweep_spec_t *s;
    char want[8192];

    s = load_text ("name: n1\ncommand: [\"{name}\", \"{{literal}}\", \"{index}\"]\n"
                   "params: {x: 5, s: \"a,b\"}\noutput: \"results/{name}\"\n"
                   "stdout: \"/abs/{x}.o\"\nstderr: \"e/{s}.e\"\ntimeout: 90\n",
                   &err);
    ok (s != NULL, "single values, output, absolute stdout %s", s ? "" : err.text);
    if (s) {
        zpar_sweep_iter_t *it = zpar__sweep_spec_iter_create (s);
        zpar_sweep_task_t *t = zpar__sweep_spec_task (s, zpar__sweep_iter_next (it), &err);
        is_str (argv_str (t->argv), "<n1><{literal}><0>", "{name}, {{ }} escape and {index}");
        snprintf (want, sizeof (want), "%s/results/n1", zpar__sweep_spec_dir (s));
        is_str (zpar__sweep_spec_output_dir (s), want, "output with {name}");
        is_str (t->stdout_path, "/abs/5.o", "absolute stdout kept");
        snprintf (want, sizeof (want), "%s/results/n1/e/a,b.e", zpar__sweep_spec_dir (s));
        is_str (t->stderr_path, want, "relative stderr under the output dir");
        is_str (t->params_json, "{\"x\":5,\"s\":\"a,b\"}", "params JSON");
        ok (zpar__sweep_spec_timeout (s) == 90., "timeout 90");
        zpar__sweep_task_destroy (t);
        zpar__sweep_iter_destroy (it);
        zpar__sweep_spec_destroy (s);
    }
    s = load_text ("command: echo {x}\nparams: {x: [1]}\n", &err);
    is_str (zpar__sweep_spec_name (s), "t", "name defaults to the file name without extension");
    zpar__sweep_spec_destroy (s);

    s = load_text ("command: \"printf '%s\\\\n' \\\"{s}\\\" {n}\"\n"
                   "params: {s: [\"a b\", \"it's\", \"Grüße\", \"$(x) `y`; z\"], n: [\"x y\"]}\n",
                   &err);
    ok (s != NULL, "quoted command loads %s", s ? "" : err.text);
    if (s) {
        zpar_sweep_iter_t *it = zpar__sweep_spec_iter_create (s);
        const zpar_sweep_point_t *pt;
        char all[1024] = "";
        while ((pt = zpar__sweep_iter_next (it))) {
            zpar_sweep_task_t *t = zpar__sweep_spec_task (s, pt, &err);
            strcat (all, argv_str (t->argv));
            zpar__sweep_task_destroy (t);
        }
        is_str (all,
                "<printf><%s\\n><a b><x y>"
                "<printf><%s\\n><it's><x y>"
                "<printf><%s\\n><Grüße><x y>"
                "<printf><%s\\n><$(x) `y`; z><x y>",
                "values with spaces, quotes, unicode, metacharacters stay one argv element");
        zpar__sweep_iter_destroy (it);
        zpar__sweep_spec_destroy (s);
    }
}

static void test_big (void)
{
    zpar_error_t err = {{0}};
    struct mallinfo2 m0, m1, m2;
    zpar_sweep_spec_t *s;
    zpar_sweep_iter_t *it;
    const zpar_sweep_point_t *pt;
    zpar_sweep_task_t *t;
    double t0 = tap_now_s (), tfirst;
    uint64_t n = 0;

    m0 = mallinfo2 ();
    s = zpar__sweep_spec_load (data ("big.yaml"), &err);
    ok (s != NULL, "big.yaml loads %s", s ? "" : err.text);
    if (!s)
        return;
    it = zpar__sweep_spec_iter_create (s);
    m1 = mallinfo2 ();
    is_int (zpar__sweep_spec_size (s), 100000, "100,000 points");
    ok (m1.uordblks - m0.uordblks < 64 * 1024,
        "spec + iterator hold %zu bytes (no per-point "
        "storage)",
        (size_t)(m1.uordblks - m0.uordblks));
    pt = zpar__sweep_iter_next (it);
    t = zpar__sweep_spec_task (s, pt, &err);
    tfirst = tap_now_s () - t0;
    ok (t != NULL && tfirst < 1.0 * time_scale (), "first task ready %.4f s after loading began",
        tfirst);
    zpar__sweep_task_destroy (t);
    n = 1;
    while ((pt = zpar__sweep_iter_next (it))) {
        if (!(t = zpar__sweep_spec_task (s, pt, &err)))
            break;
        n++;
        zpar__sweep_task_destroy (t);
    }
    m2 = mallinfo2 ();
    is_int (n, 100000, "all tasks built");
    /* a leak of even a few bytes per point would show as megabytes over
     * 100,000 points; a few bytes once (a library's lazy buffer) is not one */
    ok (m2.uordblks <= m1.uordblks + 4096, "memory did not grow while iterating (%zd bytes)",
        (ssize_t)(m2.uordblks - m1.uordblks));
    diag ("100,000 tasks with keys in %.3f s", tap_now_s () - t0);
    zpar__sweep_iter_destroy (it);
    zpar__sweep_spec_destroy (s);
}

int main (void)
{
    const char *srcdir = getenv ("srcdir");
    snprintf (datadir, sizeof (datadir), "%s/tests/data/sweep", srcdir ? srcdir : ".");
    plan (NO_PLAN);
    test_basic ();
    test_forms_and_exclude ();
    test_shell ();
    test_keys ();
    test_bad ();
    test_misc ();
    test_big ();
    return done_testing ();
}
