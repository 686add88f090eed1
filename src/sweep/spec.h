/* spec.h - a sweep file (YAML) loaded into a validated, read-only spec.
 * Internal.  The file format is documented in doc/sweeps.md and
 * zpar-sweep(5).
 *
 * Loading checks everything that can be checked without running anything:
 * UTF-8, YAML syntax, known keys (with a suggestion for typos), types,
 * parameter forms, placeholders, exclusions, and that at least one point
 * remains.  Errors name the place as "FILE:LINE:COLUMN: message".
 *
 * The spec then hands out points lazily (zpar__sweep_spec_iter_create) and
 * turns each into a task (zpar__sweep_spec_task): argv, environment, working
 * directory, output files and the point's stable key.
 */
#ifndef ZPAR__SWEEP_SPEC_H
#define ZPAR__SWEEP_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "params.h"
#include "zpar.h"
#include "zpar/error.h"

typedef struct zpar_sweep_spec zpar_sweep_spec_t;

/* Largest sweep file accepted (bytes). */
#define ZPAR_SWEEP_FILE_MAX (16 * 1024 * 1024)

/* Length of a point key: SHA-256 in lowercase hex, plus NUL. */
#define ZPAR_SWEEP_KEY_SIZE 65

/* Hostile-file limits: collections nested deeper than this are refused
 * before parsing; aliases may add at most this much text and this many
 * nodes in total. */
#define ZPAR_SWEEP_DEPTH_MAX       64
#define ZPAR_SWEEP_ALIAS_BYTES_MAX (16 * 1024 * 1024)
#define ZPAR_SWEEP_ALIAS_NODES_MAX 1000000

/* One point made concrete.  Everything is malloc'd and owned by the task;
 * free it with zpar__sweep_task_destroy. */
typedef struct {
    uint64_t index;                /* the point's index in the full space */
    char key[ZPAR_SWEEP_KEY_SIZE]; /* stable key: SHA-256 (hex) of the
                           parameter values, argv, shell flag, env, workdir */
    char **argv;                   /* NULL-terminated; with shell: true it is
                                      {"/bin/sh", "-c", COMMAND, NULL} */
    size_t argc;
    char **env; /* NULL-terminated "NAME=value" to add to the
                   environment (the sweep's env: key); may be empty */
    size_t nenv;
    char *workdir;        /* absolute directory to run in */
    char *stdout_path;    /* absolute path of the stdout file */
    char *stderr_path;    /* absolute path of the stderr file */
    char *params_json;    /* {"x":1,"s":"a"} in parameter order */
    double estimate;      /* seconds, from the sweep's estimate: (estimate.h); -1 when
                             it has none, or the expression gives no number for
                             this point */
    zpar_resources_t res; /* cores: gpus: memory: ranks: nodes: ranks-per-node: */
    int has_res;          /* 1 if the sweep gives any of them */
} zpar_sweep_task_t;

/* The resource keys of a sweep file, in the order of the spec's templates. */
#define ZPAR_SWEEP_NRES 6
extern const char *const zpar__sweep_res_keys[ZPAR_SWEEP_NRES];

/* The resources of the point whose placeholder values are vals (the
 * spec's names): into *r (zeroed first), 1 if the sweep gives any, 0 if
 * none, -1 EINVAL with err ("point N: cores: ...") or ENOMEM. */
int zpar__sweep_spec_res (const zpar_sweep_spec_t *spec, const char *const *vals, uint64_t index,
                          zpar_resources_t *r, zpar_error_t *err);

/* Read and validate the sweep file at path.  NULL with errno (ENOENT,
 * EINVAL for any problem with the content, EFBIG, ENOMEM) and err:
 * "path:line:column: message". */
zpar_sweep_spec_t *zpar__sweep_spec_load (const char *path, zpar_error_t *err);

/* Same, from len bytes at buf; path names the file in messages and its
 * directory anchors relative paths (the file itself is not read). */
zpar_sweep_spec_t *zpar__sweep_spec_load_buffer (const char *buf, size_t len, const char *path,
                                                 zpar_error_t *err);

/* NULL-safe; keeps errno. */
void zpar__sweep_spec_destroy (zpar_sweep_spec_t *spec);

/* Accessors; strings are owned by the spec. */
const char *zpar__sweep_spec_name (const zpar_sweep_spec_t *spec);
const char *zpar__sweep_spec_path (const zpar_sweep_spec_t *spec);       /* absolute */
const char *zpar__sweep_spec_dir (const zpar_sweep_spec_t *spec);        /* absolute */
const char *zpar__sweep_spec_output_dir (const zpar_sweep_spec_t *spec); /* absolute */
const char *zpar__sweep_spec_file_hash (const zpar_sweep_spec_t *spec);  /* SHA-256 hex */
int zpar__sweep_spec_shell (const zpar_sweep_spec_t *spec);              /* 0 or 1 */
int zpar__sweep_spec_retries (const zpar_sweep_spec_t *spec);            /* >= 0 */
double zpar__sweep_spec_timeout (const zpar_sweep_spec_t *spec);         /* s, 0 = none */
/* `resubmit:` the jobs that may continue the sweep in a batch job
 * (resubmit.h): 0 without the key or with false, ZPAR_SWEEP_RESUBMIT_DEFAULT
 * for true, else the number given (at most ZPAR_SWEEP_RESUBMIT_MAX). */
#define ZPAR_SWEEP_RESUBMIT_DEFAULT 10
#define ZPAR_SWEEP_RESUBMIT_MAX     10000
int zpar__sweep_spec_resubmit (const zpar_sweep_spec_t *spec);
/* estimate-by: the parameters points are grouped by to learn their
 * durations (*n of them; none: NULL and 0); 1 if the file has estimate:. */
const char *const *zpar__sweep_spec_estimate_by (const zpar_sweep_spec_t *spec, size_t *n);
int zpar__sweep_spec_has_estimate (const zpar_sweep_spec_t *spec);
/* stop-signal: (0 when not given: SIGTERM) and *grace, stop-grace: in
 * seconds (0 when not given: 1 s): how a point's timeout -- its own, or
 * the end of the allocation -- stops it. */
int zpar__sweep_spec_stop_signal (const zpar_sweep_spec_t *spec, double *grace);
const zpar_sweep_space_t *zpar__sweep_spec_space (const zpar_sweep_spec_t *spec);
size_t zpar__sweep_spec_nparams (const zpar_sweep_spec_t *spec);
const char *zpar__sweep_spec_param_name (const zpar_sweep_spec_t *spec, size_t i);

/* Points before / after exclusion (see zpar__sweep_space_size/count). */
uint64_t zpar__sweep_spec_size (const zpar_sweep_spec_t *spec);
uint64_t zpar__sweep_spec_count (const zpar_sweep_spec_t *spec);

/* The default journal path, "<sweep file>.journal.sqlite" (malloc'd, NULL
 * on ENOMEM). */
char *zpar__sweep_spec_journal_path (const zpar_sweep_spec_t *spec);

/* A lazy iterator over the points that are not excluded (see params.h);
 * the spec must outlive it.  Destroy with zpar__sweep_iter_destroy. */
zpar_sweep_iter_t *zpar__sweep_spec_iter_create (const zpar_sweep_spec_t *spec);

/* Build the task of point pt (from an iterator of this spec).  NULL with
 * ENOMEM, or EINVAL if pt does not belong to a space of this shape. */
zpar_sweep_task_t *zpar__sweep_spec_task (const zpar_sweep_spec_t *spec,
                                          const zpar_sweep_point_t *pt, zpar_error_t *err);

/* NULL-safe; keeps errno. */
void zpar__sweep_task_destroy (zpar_sweep_task_t *task);

/* 1 if SIGINT or SIGTERM is pending (blocked by the program's main(), as
 * zpar does) without taking it, else 0: loops over every point of a sweep
 * outside the reactor (status, report) poll it to stop when asked. */
int zpar__sweep_interrupted (void);

#endif
