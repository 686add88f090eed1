/* resubmit.c - automatic continuation of a sweep run in a batch job: when
 * to submit the next job, and how (Slurm sbatch, PBS qsub). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include "error.h"
#include "resubmit.h"
#include "resubmit_int.h"
#include "subproc.h"

/* Output kept from scontrol/qstat (a batch script is at most 4 MiB by
 * Slurm's default). */
#define CAPTURE_MAX ((size_t)4 * 1024 * 1024 + 1)

extern char **environ;

/* ------------------------------------------------------------ vectors */

typedef struct {
    char **v;
    size_t n, cap;
} strv_t;

static int strv_add (strv_t *s, const char *text)
{
    char *copy;
    if (s->n + 2 > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        char **v = realloc (s->v, cap * sizeof (*v));
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    if (!(copy = strdup (text)))
        return -1;
    s->v[s->n++] = copy;
    s->v[s->n] = NULL;
    return 0;
}

static int strv_addf (strv_t *s, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
static int strv_addf (strv_t *s, const char *fmt, ...)
{
    va_list ap;
    char *text;
    int rc;
    va_start (ap, fmt);
    rc = vasprintf (&text, fmt, ap);
    va_end (ap);
    if (rc < 0)
        return -1;
    rc = strv_add (s, text);
    free (text);
    return rc;
}

void zpar__resubmit_strv_free (char **v)
{
    if (v) {
        int saved = errno;
        for (char **p = v; *p; p++)
            free (*p);
        free (v);
        errno = saved;
    }
}

/* ------------------------------------------------------------ the job */

zpar_batch_kind_t zpar__batch_job_detect (char *id, size_t size)
{
    const char *s;
    if (size)
        id[0] = '\0';
    if ((s = getenv ("SLURM_JOB_ID")) && *s) {
        snprintf (id, size, "%s", s);
        return ZPAR_BATCH_SLURM;
    }
    if ((s = getenv ("PBS_JOBID")) && *s) {
        snprintf (id, size, "%s", s);
        return ZPAR_BATCH_PBS;
    }
    return ZPAR_BATCH_NONE;
}

int zpar__resubmit_env_drop (const char *entry)
{
    /* SBATCH_* are the user's own settings (sbatch reads them, the job only
     * inherits them): kept, they submit the continuation as they did the
     * job */
    static const char *const keep[] = {"SLURM_CONF=", NULL};
    static const char *const drop[] = {
        "SLURM_", "SLURMD_", "SRUN_", "SALLOC_", "PBS_", "PMIX_", "PMI_",
        /* what mpirun sets for its ranks (OMPI_MCA_* are the user's settings) */
        "OMPI_COMM_WORLD_", "OMPI_UNIVERSE_SIZE=", "OMPI_FIRST_RANKS=", "OMPI_APP_CTX_",
        "OMPI_NUM_APP_CTX=", "OMPI_ARGV=", "OMPI_COMMAND=", "OMPI_FILE_LOCATION=", "OMPI_MCA_orte_",
        "OMPI_MCA_ess_", "OMPI_MCA_pmix", "OMPI_MCA_initial_wdir=", "OMPI_MCA_mpi_oversubscribe=",
        "OMPI_MCA_shmem_RUNTIME_QUERY_hint=",
        /* zpar's own per-process wiring */
        "ZPAR_TIE_FD=", "ZPAR_CONNECTION_FILE=", NULL};
    if (!entry)
        return 0;
    for (size_t i = 0; keep[i]; i++)
        if (!strncmp (entry, keep[i], strlen (keep[i])))
            return 0;
    for (size_t i = 0; drop[i]; i++)
        if (!strncmp (entry, drop[i], strlen (drop[i])))
            return 1;
    return 0;
}

/* Run argv (through `env -u NAME ...` for every variable to drop) with its
 * stdout into out (NUL-terminated, at most size-1 bytes).  0 when it exited
 * 0; -1 with err (its exit status, or why it could not run). */
int zpar__resubmit_run (char *const *argv, const char *cwd, char *out, size_t size,
                        zpar_error_t *err)
{
    strv_t s = {0};
    zpar_subproc_opts_t o;
    zpar_error_t e = {{0}};
    int status = 0, rc = -1;

    if (strv_add (&s, "env") < 0)
        goto nomem;
    for (char **p = environ; p && *p; p++)
        if (zpar__resubmit_env_drop (*p)) {
            const char *eq = strchr (*p, '=');
            if (strv_add (&s, "-u") < 0 ||
                strv_addf (&s, "%.*s", eq ? (int)(eq - *p) : (int)strlen (*p), *p) < 0)
                goto nomem;
        }
    for (size_t i = 0; argv[i]; i++)
        if (strv_add (&s, argv[i]) < 0)
            goto nomem;
    memset (&o, 0, sizeof (o));
    o.argv = s.v;
    o.cwd = cwd;
    o.flags = ZPAR_SUBPROC_STDIN_NULL;
    if (zpar__subproc_capture (&o, out, size, ZPAR_RESUBMIT_CMD_TIMEOUT, NULL, NULL, &status, &e) <
        0)
        zpar__errprintf (err, "%s: %s", argv[0], e.text);
    else if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        zpar__errprintf (err, "%s failed (exit status %d)", argv[0],
                         zpar__subproc_exit_code (status));
    else
        rc = 0;
    zpar__resubmit_strv_free (s.v);
    return rc;
nomem:
    zpar__resubmit_strv_free (s.v);
    return zpar__errnoprintf (err, ENOMEM, "out of memory");
}

static void chomp (char *s)
{
    size_t n = strlen (s);
    while (n && isspace ((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

/* Run the submit command argv (sbatch, qsub) in cwd; the job id it prints
 * ("ID", or "ID;cluster" from sbatch --parsable) into next.  0 / -1. */
static int submit (char *const *argv, const char *cwd, char *next, size_t size, zpar_error_t *err)
{
    char out[256];
    if (zpar__resubmit_run (argv, cwd, out, sizeof (out), err) < 0)
        return -1;
    out[strcspn (out, ";\n")] = '\0';
    chomp (out);
    if (!out[0])
        return zpar__errprintf (err, "%s printed no job id", argv[0]);
    snprintf (next, size, "%s", out);
    return 0;
}

/* ------------------------------------------------------------ Slurm */

/* The value of key in `scontrol show job` text, malloc'd, or NULL.
 * whole_line: the value is the rest of its line (paths, the job name). */
static char *show_field (const char *text, const char *key, int whole_line)
{
    size_t klen = strlen (key);
    for (const char *p = text; (p = strstr (p, key)); p += klen) {
        const char *v, *end;
        if (p != text && !isspace ((unsigned char)p[-1]))
            continue;
        if (p[klen] != '=')
            continue;
        v = p + klen + 1;
        end = v;
        while (*end && *end != '\n' && (whole_line || !isspace ((unsigned char)*end)))
            end++;
        if (whole_line)
            while (end > v && isspace ((unsigned char)end[-1]))
                end--;
        return strndup (v, (size_t)(end - v));
    }
    return NULL;
}

static int unset (const char *v)
{
    return !v || !*v || !strcmp (v, "(null)") || !strcmp (v, "N/A") || !strcasecmp (v, "None");
}

/* path with the job id put back as %j in its last component (where it
 * stands alone between non-digits), malloc'd. */
static char *path_with_pattern (const char *path, const char *id, int *had_id)
{
    const char *base = strrchr (path, '/');
    size_t idlen = strlen (id);
    char *out = malloc (strlen (path) * 2 + 3), *o;
    *had_id = 0;
    if (!out)
        return NULL;
    base = base ? base + 1 : path;
    memcpy (out, path, (size_t)(base - path));
    o = out + (base - path);
    for (const char *p = base; *p;) {
        if (idlen && !strncmp (p, id, idlen) && (p == base || !isdigit ((unsigned char)p[-1])) &&
            !isdigit ((unsigned char)p[idlen])) {
            *o++ = '%';
            *o++ = 'j';
            p += idlen;
            *had_id = 1;
        } else if (*p == '%') {
            *o++ = '%';
            *o++ = '%';
            p++;
        } else
            *o++ = *p++;
    }
    *o = '\0';
    return out;
}

char **zpar__resubmit_slurm_options (const char *show, const char *job_id, zpar_error_t *err)
{
    static const struct {
        const char *key, *opt;
        int whole_line;
    } simple[] = {
        {"JobName", "--job-name", 1},        {"Partition", "--partition", 0},
        {"Account", "--account", 0},         {"QOS", "--qos", 0},
        {"Reservation", "--reservation", 0}, {"Features", "--constraint", 0},
        {"Licenses", "--licenses", 0},       {"WorkDir", "--chdir", 1},
        {"MailUser", "--mail-user", 0},      {"MailType", "--mail-type", 0},
    };
    strv_t s = {0};
    char *v = NULL, *out = NULL, *errp = NULL;
    int had = 0;

    if (!show || !job_id || !(v = show_field (show, "JobId", 0))) {
        zpar__errnoprintf (err, EINVAL, "scontrol show job: no JobId in its output");
        return NULL;
    }
    free (v);
    v = NULL;
    for (size_t i = 0; i < sizeof (simple) / sizeof (simple[0]); i++) {
        v = show_field (show, simple[i].key, simple[i].whole_line);
        if (!unset (v) && strv_addf (&s, "%s=%s", simple[i].opt, v) < 0)
            goto nomem;
        free (v);
        v = NULL;
    }
    /* the time limit, the tasks and what each needs */
    if ((v = show_field (show, "TimeLimit", 0)) && !unset (v) && strcmp (v, "UNLIMITED") &&
        strcmp (v, "Partition_Limit") && strv_addf (&s, "--time=%s", v) < 0)
        goto nomem;
    free (v);
    if ((v = show_field (show, "NumNodes", 0)) && isdigit ((unsigned char)v[0]) &&
        strv_addf (&s, "--nodes=%s", v) < 0)
        goto nomem;
    free (v);
    if ((v = show_field (show, "NumTasks", 0)) && isdigit ((unsigned char)v[0]) &&
        strv_addf (&s, "--ntasks=%s", v) < 0)
        goto nomem;
    free (v);
    if ((v = show_field (show, "CPUs/Task", 0)) && isdigit ((unsigned char)v[0]) &&
        strcmp (v, "1") && strv_addf (&s, "--cpus-per-task=%s", v) < 0)
        goto nomem;
    free (v);
    if ((v = show_field (show, "NtasksPerN:B:S:C", 0)) && isdigit ((unsigned char)v[0]) &&
        strtol (v, NULL, 10) > 0 &&
        strv_addf (&s, "--ntasks-per-node=%ld", strtol (v, NULL, 10)) < 0)
        goto nomem;
    free (v);
    if ((v = show_field (show, "MinMemoryNode", 0)) && isdigit ((unsigned char)v[0]) &&
        strtol (v, NULL, 10) > 0 && strv_addf (&s, "--mem=%s", v) < 0)
        goto nomem;
    free (v);
    if ((v = show_field (show, "MinMemoryCPU", 0)) && isdigit ((unsigned char)v[0]) &&
        strtol (v, NULL, 10) > 0 && strv_addf (&s, "--mem-per-cpu=%s", v) < 0)
        goto nomem;
    free (v);
    if ((v = show_field (show, "TresPerNode", 0)) && !unset (v)) {
        const char *g = strncmp (v, "gres:", 5) ? v : v + 5;
        if (strv_addf (&s, "--gres=%s", g) < 0)
            goto nomem;
    }
    free (v);
    v = NULL;
    /* output files: each job its own (the id back as %j), else appended */
    if ((v = show_field (show, "StdOut", 1)) && !unset (v)) {
        if (!(out = path_with_pattern (v, job_id, &had)) || strv_addf (&s, "--output=%s", out) < 0)
            goto nomem;
        if (!had && strv_add (&s, "--open-mode=append") < 0)
            goto nomem;
    }
    if ((errp = show_field (show, "StdErr", 1)) && !unset (errp) && (!v || strcmp (errp, v))) {
        free (out);
        if (!(out = path_with_pattern (errp, job_id, &had)) ||
            strv_addf (&s, "--error=%s", out) < 0)
            goto nomem;
    }
    free (v);
    free (errp);
    free (out);
    if (!s.v && strv_add (&s, "--parsable") < 0) /* never empty */
        goto nomem;
    return s.v;
nomem:
    free (v);
    free (errp);
    free (out);
    zpar__resubmit_strv_free (s.v);
    zpar__errnoprintf (err, ENOMEM, "out of memory");
    return NULL;
}

/* The job's state as squeue reports it ("RUNNING", ...) into state. */
static int slurm_state (const char *id, int all, char *state, size_t size, zpar_error_t *err)
{
    /* the reason tells a job ending at its time limit (TimeLimit) from one
     * cancelled (None): both are COMPLETING when the signal comes */
    char *const argv[] = {"squeue", "-h", "-j", (char *)id, "-o", "%T|%r", NULL};
    char *const argv_all[] = {"squeue", "-h", "-t", "all", "-j", (char *)id, "-o", "%T", NULL};
    if (zpar__resubmit_run (all ? argv_all : argv, NULL, state, size, err) < 0)
        return -1;
    chomp (state);
    return 0;
}

static int slurm_submit (const char *id, char *next, size_t size, zpar_error_t *err)
{
    char *show = NULL, *script = NULL, **opts = NULL, path[] = "/tmp/zpar-continue-XXXXXX";
    const char *tmpdir = getenv ("TMPDIR");
    char tpath[4096];
    strv_t argv = {0};
    int fd = -1, rc = -1;
    char dep[256];

    if (!(show = malloc (CAPTURE_MAX)) || !(script = malloc (CAPTURE_MAX))) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        goto done;
    }
    {
        char *const a1[] = {"scontrol", "show", "job", (char *)id, NULL};
        char *const a2[] = {"scontrol", "write", "batch_script", (char *)id, "-", NULL};
        if (zpar__resubmit_run (a1, NULL, show, CAPTURE_MAX, err) < 0 ||
            zpar__resubmit_run (a2, NULL, script, CAPTURE_MAX, err) < 0)
            goto done;
    }
    if (strlen (script) + 1 >= CAPTURE_MAX || strncmp (script, "#!", 2) != 0) {
        zpar__errprintf (err, "scontrol write batch_script %s: not a batch script", id);
        goto done;
    }
    if (!(opts = zpar__resubmit_slurm_options (show, id, err)))
        goto done;
    /* the script's text, as the job ran it, in a file sbatch copies */
    if (tmpdir && *tmpdir &&
        snprintf (tpath, sizeof (tpath), "%s/zpar-continue-XXXXXX", tmpdir) < (int)sizeof (tpath))
        ;
    else
        snprintf (tpath, sizeof (tpath), "%s", path);
    if ((fd = mkstemp (tpath)) < 0) {
        zpar__errprintf (err, "cannot create %s: %s", tpath, strerror (errno));
        goto done;
    }
    {
        size_t n = strlen (script), off = 0;
        while (off < n) {
            ssize_t w = write (fd, script + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                zpar__errprintf (err, "cannot write %s: %s", tpath, strerror (errno));
                goto done;
            }
            off += (size_t)w;
        }
    }
    snprintf (dep, sizeof (dep), "--dependency=afterany:%s", id);
    if (strv_add (&argv, "sbatch") < 0 || strv_add (&argv, "--parsable") < 0 ||
        strv_add (&argv, dep) < 0 || strv_add (&argv, "--kill-on-invalid-dep=yes") < 0)
        goto nomem;
    for (char **p = opts; *p; p++)
        if (strcmp (*p, "--parsable") && strv_add (&argv, *p) < 0)
            goto nomem;
    if (strv_add (&argv, tpath) < 0)
        goto nomem;
    rc = submit (argv.v, NULL, next, size, err);
    goto done;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
done:
    if (fd >= 0) {
        close (fd);
        unlink (tpath);
    }
    zpar__resubmit_strv_free (opts);
    zpar__resubmit_strv_free (argv.v);
    free (show);
    free (script);
    return rc;
}

/* ------------------------------------------------------------ PBS */

char *zpar__resubmit_pbs_submit_args (const char *text)
{
    /* PBS Pro, OpenPBS: Submit_arguments; Torque: submit_args */
    const char *p = text ? strstr (text, "Submit_arguments = ") : NULL;
    const char *q = text && !p ? strstr (text, "submit_args = ") : NULL;
    char *out;
    size_t n = 0;
    if (!p && !q) {
        errno = ENOENT;
        return NULL;
    }
    p = p ? p + strlen ("Submit_arguments = ") : q + strlen ("submit_args = ");
    if (!(out = malloc (strlen (p) + 1)))
        return NULL;
    /* qstat -f folds long values: the next line starts with a tab */
    for (; *p; p++) {
        if (*p == '\n') {
            if (p[1] != '\t')
                break;
            p++;
            continue;
        }
        out[n++] = *p;
    }
    out[n] = '\0';
    chomp (out);
    return out;
}

char **zpar__resubmit_split_words (const char *s)
{
    strv_t v = {0};
    char *w = malloc (strlen (s ? s : "") + 1);
    if (!s || !w) {
        free (w);
        errno = s ? ENOMEM : EINVAL;
        return NULL;
    }
    for (const char *p = s; *p;) {
        size_t n = 0;
        int any = 0;
        while (*p && isspace ((unsigned char)*p))
            p++;
        while (*p && !isspace ((unsigned char)*p)) {
            char q = *p;
            any = 1;
            if (q == '\'' || q == '"') {
                const char *e = strchr (p + 1, q);
                if (!e) {
                    free (w);
                    zpar__resubmit_strv_free (v.v);
                    errno = EINVAL;
                    return NULL;
                }
                memcpy (w + n, p + 1, (size_t)(e - p - 1));
                n += (size_t)(e - p - 1);
                p = e + 1;
            } else
                w[n++] = *p++;
        }
        w[n] = '\0';
        if (any && strv_add (&v, w) < 0) {
            free (w);
            zpar__resubmit_strv_free (v.v);
            errno = ENOMEM;
            return NULL;
        }
    }
    free (w);
    if (!v.v && !(v.v = calloc (1, sizeof (char *))))
        errno = ENOMEM;
    return v.v;
}

static int pbs_submit (const char *id, char *state_out, int check_only, char *next, size_t size,
                       zpar_error_t *err)
{
    char *text = malloc (CAPTURE_MAX), *args = NULL, **words = NULL, dep[300];
    char *const a1[] = {"qstat", "-f", (char *)id, NULL};
    strv_t argv = {0};
    int rc = -1;

    if (!text) {
        zpar__errnoprintf (err, ENOMEM, "out of memory");
        return -1;
    }
    if (zpar__resubmit_run (a1, NULL, text, CAPTURE_MAX, err) < 0)
        goto done;
    {
        char *st = strstr (text, "job_state = ");
        snprintf (state_out, 16, "%s", st ? st + strlen ("job_state = ") : "?");
        state_out[strcspn (state_out, "\n")] = '\0';
    }
    if (check_only) {
        rc = 0;
        goto done;
    }
    if (!(args = zpar__resubmit_pbs_submit_args (text))) {
        zpar__errprintf (err,
                         "qstat -f %s: no Submit_arguments (cannot tell how the job was "
                         "submitted)",
                         id);
        goto done;
    }
    if (!(words = zpar__resubmit_split_words (args))) {
        zpar__errprintf (err, "qstat -f %s: cannot read Submit_arguments '%s'", id, args);
        goto done;
    }
    snprintf (dep, sizeof (dep), "depend=afterany:%s", id);
    if (strv_add (&argv, "qsub") < 0 || strv_add (&argv, "-W") < 0 || strv_add (&argv, dep) < 0)
        goto nomem;
    for (char **p = words; *p; p++)
        if (strv_add (&argv, *p) < 0)
            goto nomem;
    rc = submit (argv.v, getenv ("PBS_O_WORKDIR"), next, size, err);
    goto done;
nomem:
    zpar__errnoprintf (err, ENOMEM, "out of memory");
done:
    zpar__resubmit_strv_free (words);
    zpar__resubmit_strv_free (argv.v);
    free (args);
    free (text);
    return rc;
}

/* ------------------------------------------------------------ for the rules */

int zpar__resubmit_submit (zpar_batch_kind_t kind, const char *job, char *next, size_t size,
                           zpar_error_t *err)
{
    char state[16];
    if (kind == ZPAR_BATCH_SLURM)
        return slurm_submit (job, next, size, err);
    if (kind == ZPAR_BATCH_PBS)
        return pbs_submit (job, state, 0, next, size, err);
    return zpar__errnoprintf (err, EINVAL, "not in a batch job");
}

int zpar__resubmit_state (zpar_batch_kind_t kind, const char *job, int all, char *state,
                          size_t size, zpar_error_t *err)
{
    char st[16];
    if (kind == ZPAR_BATCH_SLURM)
        return slurm_state (job, all, state, size, err);
    if (kind != ZPAR_BATCH_PBS)
        return zpar__errnoprintf (err, EINVAL, "not in a batch job");
    if (pbs_submit (job, st, 1, NULL, 0, err) < 0)
        return -1;
    snprintf (state, size, "%s", st);
    return 0;
}

int zpar__resubmit_cancel (zpar_batch_kind_t kind, const char *job, zpar_error_t *err)
{
    char out[256];
    char *const slurm[] = {"scancel", (char *)job, NULL};
    char *const pbs[] = {"qdel", (char *)job, NULL};
    if (kind != ZPAR_BATCH_SLURM && kind != ZPAR_BATCH_PBS)
        return zpar__errnoprintf (err, EINVAL, "not in a batch job");
    return zpar__resubmit_run (kind == ZPAR_BATCH_SLURM ? slurm : pbs, NULL, out, sizeof (out),
                               err);
}
