/* test_runner_mpi.c - a command task with ranks runs as its MPI launcher
 * (runner_cmd.c -> mpi_launch.h): the child is the launcher named by
 * ZPAR_MPIRUN (here a script that prints what it got), with the launch
 * command line built from the task's slots, the rank map in its
 * environment and the outer launcher's variables removed; a task with
 * ranks but no slot, a bad slot, an unknown launcher or a launcher that
 * does not exist is an error result naming it, and the runner lives on. */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/runner.h"
#include "reactor.h"
#include "tap.h"
#include "zt_runner.h"

static zpar_reactor_t *reactor;
static zpar_runner_t *r;

static const zpar_run_result_t *run (zpar_run_spec_t *spec)
{
    return zt_runner_run (r, spec, 30);
}

#define text_of zt_runbuf_text

int main (void)
{
    char dir[] = "/tmp/test_runner_mpi.XXXXXX", fake[PATH_MAX], host[256] = "";
    char s1[512], s2[512], want[1024], mpirun_env[PATH_MAX + 16];
    const char *slots[2] = {s1, s2};
    char *argv[] = {"./prog", "x y", NULL};
    char *env[] = {"ZPAR_MPI_LAUNCHER=mpirun", mpirun_env, "ZPAR_MPI_RANK_WRAPPER=/w/zpar-rank",
                   "MINE=1", NULL};
    zpar_run_spec_t spec;
    const zpar_run_result_t *res;
    zpar_error_t err;
    FILE *f;

    plan (NO_PLAN);
    if (!mkdtemp (dir) || gethostname (host, sizeof (host) - 1) < 0)
        return 1;
    snprintf (fake, sizeof (fake), "%s/fake-mpirun", dir);
    if (!(f = fopen (fake, "w")))
        return 1;
    fprintf (f, "#!/bin/sh\necho \"ARGV: $*\"\n"
                "env | grep -E '^(ZPAR_MPI_RANKMAP|PMIX_|OMPI_|SLURM_|MINE)' | sort\n");
    fclose (f);
    chmod (fake, 0755);
    snprintf (mpirun_env, sizeof (mpirun_env), "ZPAR_MPIRUN=%s", fake);
    snprintf (s1, sizeof (s1), "3 %s 0 - 0", host);
    snprintf (s2, sizeof (s2), "8 %s 0 - 0", host);
    /* what an mpirun-launched engine has in its environment */
    setenv ("PMIX_RANK", "5", 1);
    setenv ("OMPI_COMM_WORLD_RANK", "5", 1);
    setenv ("OMPI_MCA_btl", "self,tcp", 1);
    setenv ("SLURM_NTASKS", "9", 1);
    unsetenv ("SLURM_JOB_ID");

    reactor = zpar__reactor_create ();
    r = reactor ? zpar__runner_create (reactor, 3, -1, NULL, NULL, &err) : NULL;
    if (!ok (r != NULL, "runner created"))
        return done_testing ();

    memset (&spec, 0, sizeof (spec));
    spec.kind = ZPAR_TASK_COMMAND;
    spec.argv = argv;
    spec.env = env;
    spec.slots = slots;
    spec.nslots = 2;
    spec.ranks = 2;
    res = run (&spec);
    ok (res && res->status == ZPAR_STATUS_OK, "a 2-rank task runs its launcher (%s)",
        res ? res->error : "-");
    snprintf (want, sizeof (want),
              "ARGV: --host %s:2 -n 2 --map-by slot --bind-to none -x ZPAR_MPI_RANKMAP", host);
    ok (res && strstr (text_of (&res->out), want), "the launcher's arguments: %s", want);
    ok (res && strstr (text_of (&res->out), "-x MINE ") &&
            strstr (text_of (&res->out), "/w/zpar-rank -- ./prog x y\n"),
        "the task's variables exported, every rank starts through zpar-rank");
    snprintf (want, sizeof (want), "ZPAR_MPI_RANKMAP=3 %s 0 -;8 %s 0 -\n", host, host);
    ok (res && strstr (text_of (&res->out), want), "the rank map in the launcher's environment");
    ok (res && !strstr (text_of (&res->out), "PMIX_RANK") &&
            !strstr (text_of (&res->out), "OMPI_COMM_WORLD_RANK") &&
            !strstr (text_of (&res->out), "SLURM_NTASKS") &&
            strstr (text_of (&res->out), "OMPI_MCA_btl=self,tcp") &&
            strstr (text_of (&res->out), "MINE=1"),
        "the engine's launcher's variables removed, the user's kept");
    if (res)
        diag ("%s", text_of (&res->out));

    /* a task without ranks is left alone by the hook */
    spec.ranks = 0;
    spec.argv = (char *[]){"sh", "-c", "echo plain $ZPAR_TASK_SLOTS", NULL};
    res = run (&spec);
    ok (res && res->status == ZPAR_STATUS_OK && strstr (text_of (&res->out), "plain 3 "),
        "without ranks the command itself runs (with its slots)");

    /* refusals: error results, and the runner lives on */
    spec.argv = argv;
    spec.ranks = 2;
    spec.nslots = 0;
    spec.slots = NULL;
    res = run (&spec);
    ok (res && res->status == ZPAR_STATUS_ERROR && strstr (res->error, "without reserved"),
        "ranks without slots: %s", res ? res->error : "-");
    spec.slots = (const char *[]){"3 h1 0-x - 0"};
    spec.nslots = 1;
    spec.ranks = 1;
    res = run (&spec);
    ok (res && res->status == ZPAR_STATUS_ERROR && strstr (res->error, "bad resource slot"),
        "a bad slot: %s", res ? res->error : "-");
    spec.slots = slots;
    spec.nslots = 2;
    spec.ranks = 2;
    env[0] = "ZPAR_MPI_LAUNCHER=pbsdsh";
    res = run (&spec);
    ok (res && res->status == ZPAR_STATUS_ERROR && strstr (res->error, "ZPAR_MPI_LAUNCHER=pbsdsh"),
        "an unknown launcher: %s", res ? res->error : "-");
    env[0] = "ZPAR_MPI_LAUNCHER=mpirun";
    env[1] = "ZPAR_MPIRUN=/nonexistent/mpirun";
    res = run (&spec);
    ok (res && res->status == ZPAR_STATUS_ERROR &&
            strstr (res->error, "command not found: /nonexistent/mpirun"),
        "a launcher that does not exist: %s", res ? res->error : "-");
    env[1] = mpirun_env;
    spec.ranks = 3;
    res = run (&spec);
    ok (res && res->status == ZPAR_STATUS_ERROR && strstr (res->error, "cannot be spread"),
        "3 ranks on 2 engines: %s", res ? res->error : "-");
    spec.ranks = 2;
    res = run (&spec);
    ok (res && res->status == ZPAR_STATUS_OK, "the runner still runs MPI tasks");

    zpar__runner_destroy (r);
    zpar__reactor_destroy (reactor);
    unlink (fake);
    rmdir (dir);
    return done_testing ();
}
