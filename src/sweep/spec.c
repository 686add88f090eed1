/* spec.c - a loaded sweep: its lifetime and accessors (loading is
 * spec_load.c, expansion into tasks spec_task.c). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "json.h"
#include "spec_internal.h"

void zpar__sweep_spec_destroy (zpar_sweep_spec_t *s)
{
    if (s) {
        int saved = errno;
        for (size_t i = 0; s->argv && i < s->argc; i++)
            zpar__tmpl_destroy (s->argv[i]);
        free (s->argv);
        for (size_t i = 0; i < s->nenv; i++) {
            free (s->env_names[i]);
            zpar__tmpl_destroy (s->env[i]);
        }
        free (s->env_names);
        free (s->env);
        zpar__tmpl_destroy (s->workdir);
        zpar__tmpl_destroy (s->stdout_t);
        zpar__tmpl_destroy (s->stderr_t);
        zpar__tmpl_destroy (s->estimate);
        for (int i = 0; i < ZPAR_SWEEP_NRES; i++)
            zpar__tmpl_destroy (s->res[i]);
        for (size_t i = 0; i < s->nestimate_by; i++)
            free (s->estimate_by[i]);
        free (s->estimate_by);
        free (s->names);
        zpar__sweep_space_destroy (s->space);
        free (s->output_dir);
        free (s->name);
        free (s->dir);
        free (s->path);
        free (s);
        errno = saved;
    }
}

const char *zpar__sweep_spec_name (const zpar_sweep_spec_t *s)
{
    return s ? s->name : NULL;
}

const char *zpar__sweep_spec_path (const zpar_sweep_spec_t *s)
{
    return s ? s->path : NULL;
}

const char *zpar__sweep_spec_dir (const zpar_sweep_spec_t *s)
{
    return s ? s->dir : NULL;
}

const char *zpar__sweep_spec_output_dir (const zpar_sweep_spec_t *s)
{
    return s ? s->output_dir : NULL;
}

const char *zpar__sweep_spec_file_hash (const zpar_sweep_spec_t *s)
{
    return s ? s->file_hash : NULL;
}

int zpar__sweep_spec_shell (const zpar_sweep_spec_t *s)
{
    return s ? s->shell : 0;
}

int zpar__sweep_spec_retries (const zpar_sweep_spec_t *s)
{
    return s ? s->retries : 0;
}

const char *const *zpar__sweep_spec_estimate_by (const zpar_sweep_spec_t *s, size_t *n)
{
    *n = s->nestimate_by;
    return (const char *const *)s->estimate_by;
}

int zpar__sweep_spec_stop_signal (const zpar_sweep_spec_t *s, double *grace)
{
    *grace = s->stop_grace;
    return s->stop_signal;
}

int zpar__sweep_spec_has_estimate (const zpar_sweep_spec_t *s)
{
    return s->estimate != NULL;
}

int zpar__sweep_spec_resubmit (const zpar_sweep_spec_t *s)
{
    return s ? s->resubmit : 0;
}

double zpar__sweep_spec_timeout (const zpar_sweep_spec_t *s)
{
    return s ? s->timeout : 0.;
}

const zpar_sweep_space_t *zpar__sweep_spec_space (const zpar_sweep_spec_t *s)
{
    return s ? s->space : NULL;
}

size_t zpar__sweep_spec_nparams (const zpar_sweep_spec_t *s)
{
    return s ? zpar__sweep_space_nparams (s->space) : 0;
}

const char *zpar__sweep_spec_param_name (const zpar_sweep_spec_t *s, size_t i)
{
    return s ? zpar__sweep_space_param_name (s->space, i) : NULL;
}

uint64_t zpar__sweep_spec_size (const zpar_sweep_spec_t *s)
{
    return s ? zpar__sweep_space_size (s->space) : 0;
}

uint64_t zpar__sweep_spec_count (const zpar_sweep_spec_t *s)
{
    return s ? zpar__sweep_space_count (s->space) : 0;
}

char *zpar__sweep_spec_journal_path (const zpar_sweep_spec_t *s)
{
    char *p;
    if (!s) {
        errno = EINVAL;
        return NULL;
    }
    if (asprintf (&p, "%s.journal.sqlite", s->path) < 0)
        return NULL;
    return p;
}

zpar_sweep_iter_t *zpar__sweep_spec_iter_create (const zpar_sweep_spec_t *s)
{
    if (!s) {
        errno = EINVAL;
        return NULL;
    }
    return zpar__sweep_iter_create (s->space);
}

int zpar__sweep_interrupted (void)
{
    sigset_t set;
    if (sigpending (&set) < 0)
        return 0;
    return sigismember (&set, SIGINT) == 1 || sigismember (&set, SIGTERM) == 1;
}
