/* walltime.c - when the allocation ends: --end-time, $ZPAR_END_TIME,
 * Slurm (squeue), PBS (qstat). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "duration.h"
#include "error.h"
#include "subproc.h"
#include "walltime.h"

const char *zpar__walltime_source_name (zpar_walltime_source_t s)
{
    switch (s) {
    case ZPAR_WALLTIME_OPTION:
        return "option";
    case ZPAR_WALLTIME_ENV:
        return "ZPAR_END_TIME";
    case ZPAR_WALLTIME_SLURM:
        return "Slurm";
    case ZPAR_WALLTIME_PBS:
        return "PBS";
    default:
        return "none";
    }
}

double zpar__walltime_default_margin (double length)
{
    double m = length * 0.1;
    return m < 5 ? 5 : m > 60 ? 60 : m;
}

/* Exactly n digits at *p, as a number. */
static int digits (const char **p, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++, (*p)++) {
        if (!isdigit ((unsigned char)**p))
            return -1;
        *v = *v * 10 + (**p - '0');
    }
    return 0;
}

/* "HH:MM[:SS]" at *p into tm. */
static int clock_part (const char **p, struct tm *tm)
{
    if (digits (p, 2, &tm->tm_hour) < 0 || *(*p)++ != ':' || digits (p, 2, &tm->tm_min) < 0)
        return -1;
    tm->tm_sec = 0;
    if (**p == ':' && ((*p)++, digits (p, 2, &tm->tm_sec) < 0))
        return -1;
    if (tm->tm_hour > 23 || tm->tm_min > 59 || tm->tm_sec > 60)
        return -1;
    return 0;
}

/* "YYYY-MM-DD[T ]HH:MM[:SS][Z]": 0 and *t, or -1. */
static int parse_datetime (const char *s, double *t)
{
    struct tm tm;
    time_t v;
    int utc = 0;
    memset (&tm, 0, sizeof (tm));
    if (digits (&s, 4, &tm.tm_year) < 0 || *s++ != '-' || digits (&s, 2, &tm.tm_mon) < 0 ||
        *s++ != '-' || digits (&s, 2, &tm.tm_mday) < 0 || (*s != 'T' && *s != ' '))
        return -1;
    s++;
    if (clock_part (&s, &tm) < 0)
        return -1;
    if (*s == 'Z') {
        utc = 1;
        s++;
    }
    if (*s || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    if ((v = utc ? timegm (&tm) : mktime (&tm)) == (time_t)-1)
        return -1;
    *t = (double)v;
    return 0;
}

int zpar__walltime_parse (const char *text, double now, double *end, zpar_error_t *err)
{
    const char *s = text;
    double v;
    if (!text || !*text)
        return zpar__errnoprintf (err, EINVAL, "--end-time: empty");
    if (strcmp (text, "none") == 0) {
        *end = 0;
        return 0;
    }
    if (*s == '+') {
        if (zpar__duration_parse (s + 1, &v) < 0)
            return zpar__errnoprintf (err, EINVAL,
                                      "--end-time %s: want a duration after '+' (+90, +10m, "
                                      "+1h30m)",
                                      text);
        *end = now + v;
        return 0;
    }
    if (*s == '@') {
        char *e;
        errno = 0;
        v = strtod (s + 1, &e);
        if (!isdigit ((unsigned char)s[1]) || *e || errno || v <= 0)
            return zpar__errnoprintf (err, EINVAL, "--end-time %s: want @ and Unix seconds", text);
        *end = v;
        return 0;
    }
    if (parse_datetime (s, &v) == 0) {
        *end = v;
        return 0;
    }
    {
        struct tm tm;
        time_t t = (time_t)now;
        const char *p = s;
        if (localtime_r (&t, &tm) && clock_part (&p, &tm) == 0 && !*p) {
            time_t at;
            tm.tm_isdst = -1;
            if ((at = mktime (&tm)) != (time_t)-1) {
                if ((double)at <= now) {
                    tm.tm_mday++;
                    tm.tm_isdst = -1;
                    at = mktime (&tm);
                }
                *end = (double)at;
                return 0;
            }
        }
    }
    return zpar__errnoprintf (err, EINVAL,
                              "--end-time %s: want +DURATION, @UNIXTIME, YYYY-MM-DDTHH:MM[:SS], "
                              "HH:MM[:SS] or none",
                              text);
}

int zpar__walltime_hms (const char *text, double *secs)
{
    long part[3] = {0, 0, 0}, days = 0;
    int n = 0;
    const char *s = text;
    char *e;
    if (!text || !isdigit ((unsigned char)*s))
        goto bad;
    /* D- prefix */
    errno = 0;
    days = strtol (s, &e, 10);
    if (*e == '-') {
        s = e + 1;
        if (!isdigit ((unsigned char)*s))
            goto bad;
    } else
        days = 0;
    for (;;) {
        long v;
        if (n == 3 || !isdigit ((unsigned char)*s))
            goto bad;
        v = strtol (s, &e, 10);
        if (errno || v < 0 || v > 100000000)
            goto bad;
        part[n++] = v;
        if (*e == ':') {
            s = e + 1;
            continue;
        }
        while (*e == '\n' || *e == ' ' || *e == '\r')
            e++;
        if (*e)
            goto bad;
        break;
    }
    /* right-aligned: SS, MM:SS, HH:MM:SS */
    {
        long h = n == 3 ? part[0] : 0, m = n == 3 ? part[1] : n == 2 ? part[0] : 0;
        long sec = part[n - 1];
        if (n > 1 && (sec > 59 || (n == 3 && m > 59)))
            goto bad;
        *secs = (double)days * 86400. + (double)h * 3600. + (double)m * 60. + (double)sec;
    }
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

int zpar__walltime_parse_slurm (const char *text, double *end)
{
    char line[64];
    size_t n;
    if (!text)
        goto none;
    n = strcspn (text, "\r\n");
    while (n && text[n - 1] == ' ')
        n--;
    while (n && *text == ' ')
        text++, n--;
    if (n == 0 || n >= sizeof (line))
        goto none;
    memcpy (line, text, n);
    line[n] = '\0';
    if (!isdigit ((unsigned char)line[0]))
        goto none; /* Unknown, N/A, NONE, INVALID */
    if (parse_datetime (line, end) == 0)
        return 0;
    errno = EINVAL;
    return -1;
none:
    errno = ENOENT;
    return -1;
}

/* The value of "NAME = value" in qstat -f output (into buf). */
static int qstat_value (const char *text, const char *name, char *buf, size_t size)
{
    size_t nl = strlen (name);
    for (const char *p = text; p && *p; p = strchr (p, '\n'), p = p ? p + 1 : NULL) {
        const char *q = p, *v;
        size_t n;
        while (*q == ' ' || *q == '\t')
            q++;
        if (strncmp (q, name, nl) != 0)
            continue;
        q += nl;
        while (*q == ' ' || *q == '\t')
            q++;
        if (*q != '=')
            continue;
        v = q + 1;
        while (*v == ' ' || *v == '\t')
            v++;
        n = strcspn (v, "\r\n");
        while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
            n--;
        if (n == 0 || n >= size)
            return -1;
        memcpy (buf, v, n);
        buf[n] = '\0';
        return 0;
    }
    return -1;
}

int zpar__walltime_parse_pbs (const char *text, double now, double *end)
{
    char v[64];
    double limit, used = 0;
    if (!text || qstat_value (text, "Resource_List.walltime", v, sizeof (v)) < 0) {
        errno = ENOENT;
        return -1;
    }
    if (zpar__walltime_hms (v, &limit) < 0)
        return -1;
    if (qstat_value (text, "resources_used.walltime", v, sizeof (v)) == 0 &&
        zpar__walltime_hms (v, &used) < 0)
        return -1;
    *end = now + limit - (used < limit ? used : limit);
    return 0;
}

/* Run argv, its stdout into out.  0, or -1 with err. */
static int query (char *const *argv, char *out, size_t size, zpar_error_t *err)
{
    zpar_subproc_opts_t o;
    int status;
    memset (&o, 0, sizeof (o));
    o.argv = argv;
    o.flags = ZPAR_SUBPROC_STDIN_NULL;
    o.err = "/dev/null";
    if (zpar__subproc_capture (&o, out, size, ZPAR_WALLTIME_QUERY_TIMEOUT, NULL, NULL, &status,
                               err) < 0)
        return -1;
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        return zpar__errnoprintf (err, EIO, "%s exited with status %d", argv[0],
                                  zpar__subproc_exit_code (status));
    return 0;
}

static void describe (zpar_walltime_t *out, const char *who)
{
    char when[64] = "?";
    struct tm tm;
    time_t t = (time_t)out->end;
    if (localtime_r (&t, &tm))
        strftime (when, sizeof (when), "%Y-%m-%d %H:%M:%S", &tm);
    snprintf (out->what, sizeof (out->what), "%s: ends %s", who, when);
}

/* The end from $SLURM_JOB_END_TIME (Unix seconds). */
static int slurm_env (double now, double *end)
{
    const char *env = getenv ("SLURM_JOB_END_TIME");
    char *e;
    double v;
    if (!env || !*env)
        return -1;
    v = strtod (env, &e);
    if (*e || !(v > now - 86400. * 365))
        return -1;
    *end = v;
    return 0;
}

/* The end from $PBS_WALLTIME (the limit, counted from now). */
static int pbs_env (double now, double *end)
{
    const char *env = getenv ("PBS_WALLTIME");
    double v;
    if (!env || !*env || zpar__walltime_hms (env, &v) < 0)
        return -1;
    *end = now + v;
    return 0;
}

static int slurm_parse (const char *text, double now, double *end)
{
    (void)now;
    return zpar__walltime_parse_slurm (text, end);
}

/* A batch system's job: its end from its tool (argv[0], the job in
 * argv), else from its environment.  0 in both cases; with no end,
 * out->source stays NONE and err says why. */
typedef struct {
    const char *name; /* "Slurm" */
    zpar_walltime_source_t source;
    size_t answer_max; /* bytes of the tool's answer read */
    int (*parse) (const char *text, double now, double *end);
    int (*from_env) (double now, double *end);
} sched_t;

static int from_job (const sched_t *sc, char *const *argv, const char *job, double now,
                     zpar_walltime_t *out, zpar_error_t *err)
{
    char *buf, who[96];
    zpar_error_t qe = {{0}};
    int ok = 0;
    snprintf (who, sizeof (who), "%s job %s", sc->name, job);
    if ((buf = malloc (sc->answer_max))) {
        ok = query (argv, buf, sc->answer_max, &qe) == 0 && sc->parse (buf, now, &out->end) == 0;
        free (buf);
    }
    if (!ok && sc->from_env (now, &out->end) < 0) {
        if (err)
            zpar__errprintf (err, "%s: no end time (%s)", who,
                             qe.text[0] ? qe.text : "its scheduler gave none");
        out->end = 0;
        return 0;
    }
    out->source = sc->source;
    describe (out, who);
    return 0;
}

int zpar__walltime_end (const char *option, zpar_walltime_t *out, zpar_error_t *err)
{
    struct timespec ts;
    double now;
    const char *env = getenv ("ZPAR_END_TIME"), *job;
    memset (out, 0, sizeof (*out));
    if (err)
        err->text[0] = '\0';
    clock_gettime (CLOCK_REALTIME, &ts);
    now = (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
    if (option || (env && *env)) {
        if (zpar__walltime_parse (option ? option : env, now, &out->end, err) < 0) {
            if (!option && err) {
                /* name the variable, not the option */
                char t[ZPAR_ERROR_TEXT_MAX];
                snprintf (t, sizeof (t), "$ZPAR_END_TIME%s", err->text + strlen ("--end-time"));
                snprintf (err->text, sizeof (err->text), "%s", t);
            }
            return -1;
        }
        if (out->end > 0) {
            out->source = option ? ZPAR_WALLTIME_OPTION : ZPAR_WALLTIME_ENV;
            describe (out, option ? "--end-time" : "$ZPAR_END_TIME");
        }
        return 0;
    }
    if ((job = getenv ("SLURM_JOB_ID")) && *job) {
        static const sched_t slurm = {"Slurm", ZPAR_WALLTIME_SLURM, 256, slurm_parse, slurm_env};
        char *argv[] = {"squeue", "-h", "-j", (char *)job, "-o", "%e", NULL};
        return from_job (&slurm, argv, job, now, out, err);
    }
    if ((job = getenv ("PBS_JOBID")) && *job) {
        static const sched_t pbs = {"PBS", ZPAR_WALLTIME_PBS, 64 * 1024, zpar__walltime_parse_pbs,
                                    pbs_env};
        char *argv[] = {"qstat", "-f", (char *)job, NULL};
        return from_job (&pbs, argv, job, now, out, err);
    }
    return 0;
}
