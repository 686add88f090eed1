/* mpi_launch.h - the command line and environment of an MPI task (internal).
 *
 * A task with `ranks: N` comes to its leader engine with the engines the
 * scheduler reserved for it (SLOT fields, leader first, in rank order:
 * doc/protocol.md "Resources").  The leader runs it as ONE MPI job over
 * those engines' hosts, inside the allocation zpar already has:
 *
 *   srun   inside a Slurm allocation (SLURM_JOB_ID set):
 *          srun --overlap --jobid=J --nodes=K --ntasks=N
 *               --nodelist=HOST_OF_RANK_0,...,HOST_OF_RANK_N-1
 *               --distribution=arbitrary --overcommit
 *               --kill-on-bad-exit=1 zpar-rank -- CMD...
 *   mpirun otherwise (a PBS job, an mpirun-launched zpar, a workstation):
 *          mpirun --host H1:n1,H2:n2,... -n N --map-by slot --bind-to none
 *               -x NAME... zpar-rank -- CMD...
 *
 * Each rank starts as zpar-rank (mpi_rank.c), which looks its entry up in
 * the rank map (mpi_map.h, passed in ZPAR_MPI_RANKMAP), checks that it
 * runs on its engine's host, binds itself to its engine's CPUs, sets
 * OMP_NUM_THREADS and CUDA/ROCR_VISIBLE_DEVICES for them, then executes
 * CMD.  The launcher itself does no binding.
 *
 * Ranks and slots: as many slots as ranks gives one engine per rank; k
 * times as many slots gives each rank k consecutive slots (one host; a
 * rank that asks for more cores than an engine holds); a slot may also
 * hold m ranks when ranks = m * slots (its CPUs split evenly between
 * them when they divide, else shared).  mpirun needs the ranks of a host
 * together: the ranks are numbered host by host, in the order the hosts
 * first appear (the leader's host first, so rank 0 is on the leader); srun
 * keeps the slots' order.
 *
 * Environment: the launcher starts clean: the variables the launcher of
 * the engines left to them (PMIX_*, PMI_*, PMI2_*, PRTE_*, HYDI_*,
 * MPI_LOCALRANKID, MPI_LOCALNRANKS, what HPE Cray PALS sets for a rank:
 * PALS_APID, PALS_APINFO, PALS_RANKID, PALS_NODEID, PALS_LOCAL_RANKID,
 * PALS_LOCAL_SIZE, PALS_SPOOL_DIR, PALS_FD (not the user's PALS_PPN,
 * PALS_DEPTH, ... for mpiexec), Cray ALPS's ALPS_APP_*, every OMPI_* that is not a user's
 * setting: the OMPI_MCA_* of mpirun's own (orte_*, ess*, pmix*,
 * initial_wdir, mpi_oversubscribe, shmem_RUNTIME_QUERY_hint) and every
 * OMPI_* outside OMPI_MCA_* but OMPI_ALLOW_RUN_AS_ROOT*; every SLURM_*
 * but SLURM_CONF and, for srun, SLURM_MPI_TYPE) are removed; the rest
 * (OMPI_MCA_* settings of the user, the task's own environment) is kept.
 *
 * Choice: ZPAR_MPI_LAUNCHER (the task's environment first, then the
 * engine's) "srun", "mpirun" or "auto" (default: srun when SLURM_JOB_ID
 * is set and srun is found in PATH, else mpirun).  ZPAR_MPI_SRUN and
 * ZPAR_MPIRUN name other programs; ZPAR_MPI_RANK_WRAPPER another
 * zpar-rank (default: the one beside the running program, else PATH).
 */
#ifndef ZPAR__MPI_LAUNCH_H
#define ZPAR__MPI_LAUNCH_H

#include <stddef.h>
#include <stdint.h>

#include "zpar.h"

typedef enum {
    ZPAR_MPI_AUTO = 0,
    ZPAR_MPI_SRUN,
    ZPAR_MPI_MPIRUN,
} zpar_mpi_launcher_t;

/* A reserved engine, as its SLOT said (strings borrowed). */
typedef struct {
    uint32_t engine;
    const char *host;   /* the node's name */
    const char *cpuset; /* CPU list, or "-" */
    const char *gpus;   /* "cuda:0,..." or "-" */
} zpar_mpi_slot_t;

/* One rank's place (strings owned by the layout). */
typedef struct {
    uint32_t engine; /* the (first) engine it holds */
    char *host;
    char *cpuset; /* "-": not bound */
    char *gpus;   /* "-": none */
} zpar_mpi_rank_t;

/* Where each of `ranks` ranks goes on slots[0..nslots) (see above);
 * grouped (1): numbered host by host, as mpirun needs.  *out is an array
 * of `ranks` entries, freed with zpar__mpi_layout_free.  0, or -1 with
 * errno EINVAL and the reason in err (no ranks or slots, a count that
 * does not divide, a rank's slots on two hosts, a malformed slot), or
 * ENOMEM. */
int zpar__mpi_layout (const zpar_mpi_slot_t *slots, size_t nslots, unsigned ranks, int grouped,
                      zpar_mpi_rank_t **out, zpar_error_t *err);
void zpar__mpi_layout_free (zpar_mpi_rank_t *r, unsigned ranks); /* NULL-safe */

/* What to launch. */
typedef struct {
    unsigned ranks;
    const zpar_mpi_slot_t *slots;
    size_t nslots;
    char *const *argv;       /* the task's command */
    char *const *envp;       /* the task's whole environment (NULL-terminated) */
    char *const *add;        /* the names the task set itself ("NAME=VALUE"),
                              * exported to remote ranks by mpirun; may be NULL */
    const char *self_host;   /* this engine's host name (SLOT HOST of the leader) */
    zpar_mpi_launcher_t how; /* ZPAR_MPI_AUTO: as ZPAR_MPI_LAUNCHER says */
} zpar_mpi_request_t;

/* The command line and environment; free with zpar__mpi_launch_free. */
typedef struct {
    zpar_mpi_launcher_t how; /* what was chosen */
    char **argv;             /* NULL-terminated, argv[0] searched in PATH */
    char **envp;             /* NULL-terminated */
} zpar_mpi_launch_t;

/* Build *out for req.  0, or -1 with errno and the reason in err:
 * EINVAL (no command, no ranks, bad slots, an unknown ZPAR_MPI_LAUNCHER,
 * srun asked for outside a Slurm allocation), E2BIG (a rank map longer
 * than one environment variable may be), ENOMEM.  *out is zeroed on
 * failure. */
int zpar__mpi_launch_build (const zpar_mpi_request_t *req, zpar_mpi_launch_t *out,
                            zpar_error_t *err);
void zpar__mpi_launch_free (zpar_mpi_launch_t *l); /* NULL-safe, keeps errno */

/* For the runner: zpar__mpi_launch_build for a command task with `ranks`
 * (its argv, its SLOT strings slots[0..nslots) as they came on the wire,
 * its whole environment envp and its own ENV entries add), on this host
 * (gethostname).  0, or -1 as zpar__mpi_launch_build, and EINVAL for a
 * slot that does not parse (zpar__proto_slot_parse). */
int zpar__mpi_launch_task (unsigned ranks, const char *const *slots, size_t nslots,
                           char *const *argv, char *const *envp, char *const *add,
                           zpar_mpi_launch_t *out, zpar_error_t *err);

/* 1 if environment entry e ("NAME=VALUE") is one the launcher of the
 * engines set and an MPI task's launcher must not see (above); srun: 1
 * when the task is started with srun. */
int zpar__mpi_env_scrubbed (const char *e, int srun);

/* 1 if environment entry e is one the launcher of the engines set and a
 * plain command task (no ranks) must not see, so that an MPI program run
 * as one starts on its own (a singleton) instead of trying to join the
 * engines' job: the wire-up variables above (PMIX_*, PMI_*, PMI2_*,
 * PRTE_*, HYDI_*, MPI_LOCALRANKID, MPI_LOCALNRANKS, mpirun's OMPI_*,
 * the PALS_* of a Cray PALS launch, ALPS_APP_*), and
 * the variables of the engine's Slurm job step and of its task in it
 * (SLURM_STEP_*, SLURM_STEPID, SLURM_PROCID, SLURM_LOCALID, SLURM_GTIDS,
 * SLURM_TASK_PID, SLURM_SRUN_COMM_*, SLURM_LAUNCH_NODE_IPADDR,
 * SLURM_PMIX*: Open MPI takes SLURM_STEP_ID for a direct launch by srun).
 * Every other SLURM_* (the job's: SLURM_JOB_ID, SLURM_JOB_NODELIST,
 * SLURM_CPUS_ON_NODE, SLURM_MEM_PER_NODE, SLURM_CONF, ...) is kept. */
int zpar__task_env_scrubbed (const char *e);

#endif
