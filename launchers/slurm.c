/* slurm.c - the slurm launch back end: `sbatch --no-kill` of a job of N+1
 * tasks whose step is `srun --no-kill zpar run` (a failed node ends
 * neither); stop: shutdown, then scancel if the job lingers.  Submission
 * and waiting are common (common.c). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common.h"

static void slurm_script (FILE *f, const zpar_launch_opts_t *o)
{
    /* --no-kill: a node that fails ends neither the job (sbatch --no-kill)
     * nor the step; its engines are declared dead and their tasks retried
     * on the other nodes */
    fprintf (f, "exec srun --no-kill --kill-on-bad-exit=0 '%s' run %s%s\n", o->self,
             o->curve ? "--curve " : "", o->run_args ? o->run_args : "");
}

static int slurm_submit_argv (const zpar_launch_opts_t *o, const char *log, char **argv, int max,
                              char bufs[4][128])
{
    int a = 0;
    (void)max;
    snprintf (bufs[0], 128, "--ntasks=%d", o->engines + 1);
    argv[a++] = "sbatch";
    argv[a++] = "--parsable";
    argv[a++] = "--job-name=zpar-cluster";
    argv[a++] = "--no-kill";
    argv[a++] = bufs[0];
    argv[a++] = "--output";
    argv[a++] = (char *)log;
    if (o->time) {
        snprintf (bufs[1], 128, "--time=%s", o->time);
        argv[a++] = bufs[1];
    }
    if (o->partition) {
        snprintf (bufs[2], 128, "--partition=%s", o->partition);
        argv[a++] = bufs[2];
    }
    return a;
}

/* squeue -h -j ID -o %T: a state while the job is known */
static int slurm_active (const char *id)
{
    char out[256];
    char *argv[] = {"squeue", "-h", "-j", (char *)id, "-o", "%T", NULL};
    if (zpar__launch_capture (argv, out, sizeof (out), 60.0) != 0)
        return 0;
    out[strcspn (out, "\r\n")] = '\0';
    return out[0] && strstr ("PENDING RUNNING CONFIGURING COMPLETING SUSPENDED", out) != NULL;
}

static const zpar_batch_t slurm = {
    .name = "slurm",
    .what = "Slurm (sbatch)",
    .cancel = "scancel",
    .log_name = "job-%j.out",
    .script = slurm_script,
    .submit_argv = slurm_submit_argv,
    .active = slurm_active,
};

static int slurm_start (const zpar_launch_opts_t *o, char *conn, size_t size,
                        zpar_launch_info_t *info, zpar_error_t *err)
{
    return zpar__batch_start (&slurm, o, conn, size, info, err);
}

static int slurm_stop (const char *dir, double timeout, zpar_launch_info_t *info, zpar_error_t *err)
{
    return zpar__batch_stop (&slurm, dir, timeout, info, err);
}

const zpar_launcher_t zpar__launcher_slurm = {"slurm", slurm_start, slurm_stop};
