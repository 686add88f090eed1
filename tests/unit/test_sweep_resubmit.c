/* test_sweep_resubmit.c - continuation of a sweep in a batch job: the
 * sbatch options read back from `scontrol show job`, PBS submit arguments,
 * the environment a continuation must not see, the journal's chain of
 * jobs, and the rules that decide (without a scheduler). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "journal.h"
#include "resubmit.h"
#include "tap.h"

static char tmpdir[] = "/tmp/zpar-test-resubmit-XXXXXX";

static const char show[] = "JobId=4242 JobName=my sweep\n"
                           "   UserId=me(1000) GroupId=me(1000) MCS_label=N/A\n"
                           "   Priority=1 Nice=0 Account=proj7 QOS=(null)\n"
                           "   JobState=RUNNING Reason=None Dependency=(null)\n"
                           "   RunTime=00:00:10 TimeLimit=01:30:00 TimeMin=N/A\n"
                           "   Partition=short AllocNode:Sid=login1:26423\n"
                           "   NumNodes=2 NumCPUs=16 NumTasks=9 CPUs/Task=2 ReqB:S:C:T=0:0:*:*\n"
                           "   NtasksPerN:B:S:C=0:0:*:* CoreSpec=*\n"
                           "   MinCPUsNode=2 MinMemoryCPU=1000M MinTmpDiskNode=0\n"
                           "   MailUser=me@example.org MailType=END,FAIL\n"
                           "   Features=(null) DelayBoot=00:00:00\n"
                           "   Command=/home/me/sweep.sbatch\n"
                           "   WorkDir=/home/me/my runs\n"
                           "   StdErr=/home/me/w1/zpar-4242.err\n"
                           "   StdIn=/dev/null\n"
                           "   StdOut=/home/me/w1/zpar-4242.out\n"
                           "   TresPerNode=gres:gpu:1\n";

static int has (char **v, const char *want)
{
    for (; v && *v; v++)
        if (!strcmp (*v, want))
            return 1;
    return 0;
}

static void test_slurm_options (void)
{
    zpar_error_t err = {{0}};
    char **v = zpar__resubmit_slurm_options (show, "4242", &err);
    ok (v != NULL, "options from scontrol show job");
    ok (has (v, "--job-name=my sweep"), "the job name, blanks included");
    ok (has (v, "--partition=short"), "partition");
    ok (has (v, "--account=proj7"), "account");
    ok (!has (v, "--qos=(null)"), "an unset QOS is left out");
    ok (has (v, "--time=01:30:00"), "time limit");
    ok (has (v, "--nodes=2") && has (v, "--ntasks=9"), "nodes and tasks");
    ok (has (v, "--cpus-per-task=2"), "CPUs per task");
    ok (!has (v, "--ntasks-per-node=0"), "no tasks per node when unset");
    ok (has (v, "--mem-per-cpu=1000M"), "memory per CPU");
    ok (has (v, "--gres=gpu:1"), "GPUs");
    ok (has (v, "--mail-user=me@example.org") && has (v, "--mail-type=END,FAIL"), "mail");
    ok (has (v, "--chdir=/home/me/my runs"), "working directory, blanks included");
    ok (has (v, "--output=/home/me/w1/zpar-%j.out"), "output: the id back as %%j, w1 untouched");
    ok (has (v, "--error=/home/me/w1/zpar-%j.err"), "error file");
    ok (!has (v, "--open-mode=append"), "each job its own file: no append");
    zpar__resubmit_strv_free (v);

    /* a fixed output name is appended to, a '%' is kept literal */
    {
        const char fixed[] = "JobId=7 JobName=x\n   TimeLimit=UNLIMITED\n   NumTasks=N/A\n"
                             "   StdOut=/o/log%1.txt\n   StdErr=/o/log%1.txt\n";
        v = zpar__resubmit_slurm_options (fixed, "7", &err);
        ok (v && has (v, "--output=/o/log%%1.txt") && has (v, "--open-mode=append"),
            "fixed output name: appended, '%%' doubled");
        ok (v && !has (v, "--error=/o/log%%1.txt"), "error into the same file: not repeated");
        ok (v && !has (v, "--time=UNLIMITED"), "no unlimited time");
        zpar__resubmit_strv_free (v);
    }
    errno = 0;
    ok (zpar__resubmit_slurm_options ("nothing here", "1", &err) == NULL && errno == EINVAL,
        "no JobId: EINVAL");
    ok (zpar__resubmit_slurm_options (NULL, "1", &err) == NULL, "NULL text");
}

static void test_pbs (void)
{
    const char qstat[] = "Job Id: 12.server\n"
                         "    Job_Name = zpar-sweep\n"
                         "    job_state = R\n"
                         "    Submit_arguments = -l walltime=00:01:00 -v 'SWEEP=/a b/s.yaml'\n"
                         "\t pbs/sweep.pbs\n"
                         "    project = _pbs_project_default\n";
    char *a = zpar__resubmit_pbs_submit_args (qstat);
    char **w;
    is_str (a, "-l walltime=00:01:00 -v 'SWEEP=/a b/s.yaml' pbs/sweep.pbs",
            "Submit_arguments, folded line joined");
    w = a ? zpar__resubmit_split_words (a) : NULL;
    ok (w && !strcmp (w[0], "-l") && !strcmp (w[3], "SWEEP=/a b/s.yaml") &&
            !strcmp (w[4], "pbs/sweep.pbs") && !w[5],
        "split into words, quotes group");
    zpar__resubmit_strv_free (w);
    free (a);
    a = zpar__resubmit_pbs_submit_args ("Job Id: 3.t\n    submit_args = -N x job.sh\n");
    is_str (a, "-N x job.sh", "Torque's submit_args");
    free (a);
    errno = 0;
    ok (zpar__resubmit_pbs_submit_args ("Job Id: 1\n") == NULL && errno == ENOENT,
        "no Submit_arguments: ENOENT");
    errno = 0;
    ok (zpar__resubmit_split_words ("a 'b") == NULL && errno == EINVAL, "unterminated quote");
    w = zpar__resubmit_split_words ("   ");
    ok (w && !w[0], "blanks only: no words");
    zpar__resubmit_strv_free (w);
}

static void test_env (void)
{
    ok (zpar__resubmit_env_drop ("SLURM_JOB_ID=5"), "SLURM_JOB_ID dropped");
    ok (zpar__resubmit_env_drop ("SLURM_STEP_ID=0"), "step variables dropped");
    ok (!zpar__resubmit_env_drop ("SLURM_CONF=/etc/slurm.conf"), "SLURM_CONF kept");
    ok (!zpar__resubmit_env_drop ("SBATCH_SIGNAL=TERM@30"), "the user's SBATCH_* settings kept");
    ok (zpar__resubmit_env_drop ("PMIX_RANK=0") && zpar__resubmit_env_drop ("PMI_FD=3"),
        "PMIx/PMI dropped");
    ok (zpar__resubmit_env_drop ("OMPI_COMM_WORLD_RANK=0"), "mpirun's rank dropped");
    ok (!zpar__resubmit_env_drop ("OMPI_MCA_pml=ob1"), "the user's MCA settings kept");
    ok (zpar__resubmit_env_drop ("PBS_JOBID=1.s"), "PBS_JOBID dropped");
    ok (!zpar__resubmit_env_drop ("SWEEP=/x.yaml") && !zpar__resubmit_env_drop ("PATH=/bin"),
        "the user's variables kept");
    ok (!zpar__resubmit_env_drop (NULL), "NULL");
}

typedef struct {
    int n;
    char jobs[8][16];
    int chain[8];
    char next[8][16];
    int64_t done[8];
} seen_t;

static int collect (const zpar_sweep_job_t *row, void *arg)
{
    seen_t *s = arg;
    if (s->n < 8) {
        snprintf (s->jobs[s->n], sizeof (s->jobs[0]), "%s", row->job);
        snprintf (s->next[s->n], sizeof (s->next[0]), "%s", row->next_job ? row->next_job : "-");
        s->chain[s->n] = row->chain;
        s->done[s->n] = row->done;
    }
    s->n++;
    return 0;
}

static void test_jobs_table (void)
{
    char path[256];
    zpar_error_t err = {{0}};
    zpar_journal_t *j;
    int chain = -1, has_next = -1;
    seen_t s;
    char buf[4096];
    FILE *f;

    snprintf (path, sizeof (path), "%s/j.sqlite", tmpdir);
    j = zpar__journal_open (path, "sw", &err);
    ok (j != NULL, "journal open: %s", err.text);
    ok (zpar__journal_job_begin (j, "100", "slurm", &chain, &has_next, &err) == 0 && chain == 0 &&
            has_next == 0,
        "a job submitted by hand is the chain's start");
    ok (zpar__journal_job_end (j, "100", 5, 1, 10, "time up", "101", &err) == 0,
        "its end, with the continuation");
    ok (zpar__journal_job_begin (j, "101", "slurm", &chain, &has_next, &err) == 0 && chain == 1,
        "the continuation is the chain's second job");
    ok (zpar__journal_job_end (j, "101", 10, 0, 0, "finished", NULL, &err) == 0, "its end");
    ok (zpar__journal_job_begin (j, "100", "slurm", &chain, &has_next, &err) == 0 && has_next == 1,
        "a job that already submitted a continuation knows it");
    errno = 0;
    ok (zpar__journal_job_end (j, "999", 0, 0, 0, "x", NULL, &err) < 0 && errno == ENOENT,
        "the end of an unknown job: ENOENT");
    memset (&s, 0, sizeof (s));
    ok (zpar__journal_foreach_job (j, collect, &s, &err) == 0 && s.n == 3, "three rows");
    ok (!strcmp (s.jobs[0], "100") && !strcmp (s.next[0], "101") && s.done[0] == 5 &&
            !strcmp (s.jobs[1], "101") && s.chain[1] == 1 && s.done[2] == -1,
        "in order, with counts (-1 while running)");
    zpar__journal_close (j);

    /* it survives closing, and status shows it */
    j = zpar__journal_open (path, "sw", &err);
    f = fmemopen (buf, sizeof (buf), "w");
    ok (f && zpar__resubmit_print_chain (j, f, 1, &err) == 0, "JSON chain");
    if (f)
        fclose (f);
    ok (strstr (buf, "\"job\": \"100\"") && strstr (buf, "\"next_job\": \"101\"") &&
            strstr (buf, "\"done\": null"),
        "JSON has the jobs: %.200s", buf);
    f = fmemopen (buf, sizeof (buf), "w");
    ok (f && zpar__resubmit_print_chain (j, f, 0, &err) == 0, "table chain");
    if (f)
        fclose (f);
    ok (strstr (buf, "time up") && strstr (buf, "running or killed"), "table has outcomes");
    zpar__journal_close (j);

    ok (zpar__journal_job_begin (NULL, "1", "slurm", &chain, NULL, &err) < 0 && errno == EINVAL,
        "NULL journal: EINVAL");
}

/* Outside a batch job, and when no continuation is asked for, the end
 * records nothing and submits nothing. */
static void test_rules (void)
{
    char path[256], next[64];
    zpar_error_t err = {{0}};
    zpar_journal_t *j;
    zpar_resubmit_t rs;
    seen_t s;

    snprintf (path, sizeof (path), "%s/r.sqlite", tmpdir);
    j = zpar__journal_open (path, "sw", &err);
    unsetenv ("SLURM_JOB_ID");
    unsetenv ("PBS_JOBID");
    ok (zpar__resubmit_begin (&rs, j, 3, NULL, &err) == 0 && rs.kind == ZPAR_BATCH_NONE,
        "no batch job");
    ok (zpar__resubmit_end (&rs, j, ZPAR_RUN_END_TIME_UP, 0, 1, 0, 5, NULL, next, sizeof (next),
                            &err) == 0 &&
            !next[0],
        "outside a job: nothing submitted");
    setenv ("SLURM_JOB_ID", "55", 1);
    ok (zpar__resubmit_begin (&rs, j, 0, NULL, &err) == 0 && rs.kind == ZPAR_BATCH_SLURM &&
            !strcmp (rs.job, "55"),
        "a Slurm job is recorded");
    ok (zpar__resubmit_end (&rs, j, ZPAR_RUN_END_TIME_UP, 0, 1, 0, 5, NULL, next, sizeof (next),
                            &err) == 0,
        "limit 0: nothing submitted");
    ok (zpar__resubmit_begin (&rs, j, 2, NULL, &err) == 0, "again with a limit");
    ok (zpar__resubmit_end (&rs, j, ZPAR_RUN_END_FINISHED, 0, 4, 0, 3, NULL, next, sizeof (next),
                            &err) == 0,
        "points left but not stopped for time (e.g. lost cluster): nothing submitted");
    ok (zpar__resubmit_begin (&rs, j, 2, NULL, &err) == 0, "again");
    ok (zpar__resubmit_end (&rs, j, ZPAR_RUN_END_SIGNAL, 2, 4, 0, 3, NULL, next, sizeof (next),
                            &err) == 0,
        "SIGINT (a person): nothing submitted");
    ok (zpar__resubmit_begin (&rs, j, 2, NULL, &err) == 0, "again");
    ok (zpar__resubmit_end (&rs, j, ZPAR_RUN_END_TIME_UP, 0, 0, 0, 3, NULL, next, sizeof (next),
                            &err) == 0,
        "no progress in the job: nothing submitted");
    memset (&s, 0, sizeof (s));
    ok (zpar__journal_foreach_job (j, collect, &s, &err) == 0 && s.n == 4 &&
            !strcmp (s.next[3], "-"),
        "every run of the job recorded, none with a continuation");
    unsetenv ("SLURM_JOB_ID");
    zpar__journal_close (j);
}

/* A job killed before it recorded its end: the next one fills its row
 * from the points that ended since it started; the next job set early and
 * cleared again. */
static void test_killed_job (void)
{
    char path[256], prev[64];
    zpar_error_t err = {{0}};
    zpar_journal_t *j;
    int chain = -1, killed = -1;
    int64_t progress = -1;
    seen_t s;
    const char *keys[] = {"k1", "k2", "k3"};

    snprintf (path, sizeof (path), "%s/k.sqlite", tmpdir);
    j = zpar__journal_open (path, "sw", &err);
    ok (j != NULL, "journal open: %s", err.text);
    ok (zpar__journal_job_settle_prev (j, "200", prev, sizeof (prev), &killed, &progress, &err) ==
                0 &&
            prev[0] == '\0' && killed == 0 && progress == 0,
        "a job with none before it: nothing to settle");
    ok (zpar__journal_job_begin (j, "200", "slurm", &chain, NULL, &err) == 0 && chain == 0,
        "job 200 starts");
    ok (zpar__journal_job_next (j, "200", "201", &err) == 0, "its continuation, recorded early");
    for (int i = 0; i < 3; i++) {
        zpar_journal_dispatch_t d = {.key = keys[i],
                                     .index = (uint64_t)i,
                                     .params_json = "{}",
                                     .stdout_path = "o",
                                     .stderr_path = "e",
                                     .task_id = "1.1"};
        zpar_journal_result_t r = {.key = keys[i],
                                   .state = i == 2 ? ZPAR_JSTATE_FAILED : ZPAR_JSTATE_SUCCEEDED,
                                   .exit_code = i == 2,
                                   .wall_s = 1};
        ok (zpar__journal_dispatched (j, &d, &err) == 0 &&
                zpar__journal_finished (j, &r, &err) == 0,
            "point %d ends", i);
    }
    ok (zpar__journal_flush (j, &err) == 0, "committed");
    /* job 200 is killed here: no end recorded */
    ok (zpar__journal_job_settle_prev (j, "201", prev, sizeof (prev), &killed, &progress, &err) ==
                0 &&
            !strcmp (prev, "200") && killed == 1 && progress == 3,
        "job 201 learns that job 200 was killed after 3 points ended (%s)", err.text);
    ok (zpar__journal_job_begin (j, "201", "slurm", &chain, NULL, &err) == 0 && chain == 1,
        "job 201 is the chain's second");
    ok (zpar__journal_job_settle_prev (j, "201", prev, sizeof (prev), &killed, &progress, &err) ==
                0 &&
            killed == 0,
        "settled once only");
    ok (zpar__journal_job_next (j, "201", "202", &err) == 0 &&
            zpar__journal_job_next (j, "201", NULL, &err) == 0,
        "a continuation recorded, then cancelled");
    memset (&s, 0, sizeof (s));
    ok (zpar__journal_foreach_job (j, collect, &s, &err) == 0 && s.n == 2, "two rows");
    ok (s.done[0] == 2 && !strcmp (s.next[0], "201") && !strcmp (s.next[1], "-"),
        "the killed job: 2 succeeded, next 201; the other: no next job");
    zpar__journal_close (j);
}

int main (void)
{
    char cmd[300];
    if (!mkdtemp (tmpdir))
        return 1;
    test_slurm_options ();
    test_pbs ();
    test_env ();
    test_jobs_table ();
    test_rules ();
    test_killed_job ();
    snprintf (cmd, sizeof (cmd), "rm -rf %s", tmpdir);
    if (system (cmd) != 0)
        diag ("could not remove %s", tmpdir);
    return done_testing ();
}
