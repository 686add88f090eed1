/* pbs.c - the pbs launch back end: `qsub` of a job whose script runs
 * `mpirun --hostfile $PBS_NODEFILE zpar run` (srun under qsub wrappers
 * over Slurm); stop: shutdown, then qdel if the job lingers.  Submission
 * and waiting are common (common.c). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "common.h"

static void pbs_script (FILE *f, const zpar_launch_opts_t *o)
{
    const char *ra = o->run_args ? o->run_args : "";
    fprintf (f,
             "cd \"${PBS_O_WORKDIR:-.}\"\n"
             "if [ -n \"${PBS_NODEFILE:-}\" ]; then\n"
             "  exec mpirun --hostfile \"$PBS_NODEFILE\" '%s' run %s%s\n"
             "else\n"
             "  # qsub wrappers over Slurm give no node file: use srun\n"
             "  exec srun --no-kill --kill-on-bad-exit=0 '%s' run %s%s\n"
             "fi\n",
             o->self, o->curve ? "--curve " : "", ra, o->self, o->curve ? "--curve " : "", ra);
}

static int pbs_submit_argv (const zpar_launch_opts_t *o, const char *log, char **argv, int max,
                            char bufs[4][128])
{
    int a = 0;
    (void)max;
    snprintf (bufs[0], 128, "nodes=1:ppn=%d", o->engines + 1);
    argv[a++] = "qsub";
    argv[a++] = "-N";
    argv[a++] = "zpar-cluster";
    argv[a++] = "-l";
    argv[a++] = bufs[0];
    argv[a++] = "-j";
    argv[a++] = "oe";
    argv[a++] = "-o";
    argv[a++] = (char *)log;
    if (o->time) {
        snprintf (bufs[1], 128, "walltime=%s", o->time);
        argv[a++] = "-l";
        argv[a++] = bufs[1];
    }
    if (o->partition) {
        argv[a++] = "-q";
        argv[a++] = (char *)o->partition;
    }
    return a;
}

/* qstat ID: a header, a rule, then "ID NAME USER TIME S QUEUE"; C (and F in
 * PBS Pro) mean finished, and a finished job may linger in qstat */
static int pbs_active (const char *id)
{
    char out[256], jid[128], name[128], user[128], t[64], state[8] = "";
    char *argv[] = {"qstat", (char *)id, NULL};
    const char *line = out;
    if (zpar__launch_capture (argv, out, sizeof (out), 60.0) != 0)
        return 0;
    for (int k = 0; k < 2 && line; k++) {
        line = strchr (line, '\n');
        if (line)
            line++;
    }
    if (!line || sscanf (line, "%127s %127s %127s %63s %7s", jid, name, user, t, state) != 5)
        return 0;
    return strcmp (state, "C") != 0 && strcmp (state, "F") != 0;
}

static const zpar_batch_t pbs = {
    .name = "pbs",
    .what = "PBS (qsub)",
    .cancel = "qdel",
    .log_name = "job-pbs.out",
    .script = pbs_script,
    .submit_argv = pbs_submit_argv,
    .active = pbs_active,
};

static int pbs_start (const zpar_launch_opts_t *o, char *conn, size_t size,
                      zpar_launch_info_t *info, zpar_error_t *err)
{
    return zpar__batch_start (&pbs, o, conn, size, info, err);
}

static int pbs_stop (const char *dir, double timeout, zpar_launch_info_t *info, zpar_error_t *err)
{
    return zpar__batch_stop (&pbs, dir, timeout, info, err);
}

const zpar_launcher_t zpar__launcher_pbs = {"pbs", pbs_start, pbs_stop};
