/* cmd_cluster.c - `zpar cluster start|stop` and `zpar stop`: a local
 * controller and N engines in the background, recorded in <dir>/pids.
 *
 * The pids file has one line per process the start command launched:
 *     controller <pid> <starttime>
 *     engine <n> <pid> <starttime>
 * where starttime is field 22 of /proc/<pid>/stat, so that a recycled pid
 * is never mistaken for ours.  Only processes recorded there, still
 * running zpar (checked in /proc/<pid>/cmdline) are ever signalled. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "launcher.h"
#include "conn.h"

#define MAX_LOG_TAIL 12

typedef struct {
    int is_controller;
    unsigned n; /* engine number */
    pid_t pid;
    unsigned long long start;
} proc_rec_t;

typedef struct {
    proc_rec_t *v;
    size_t n, cap;
} proc_list_t;

static volatile sig_atomic_t interrupted;

static void on_interrupt (int sig)
{
    interrupted = sig;
}

/* ------------------------------------------------------------------ /proc */

/* Field 22 (starttime) and the state letter of /proc/<pid>/stat. */
static int proc_stat (pid_t pid, unsigned long long *start, char *state)
{
    char path[64], buf[1024], *p;
    FILE *f;
    size_t len;
    snprintf (path, sizeof (path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen (path, "r")))
        return -1;
    len = fread (buf, 1, sizeof (buf) - 1, f);
    fclose (f);
    buf[len] = '\0';
    if (!(p = strrchr (buf, ')')))
        return -1;
    p++;
    while (*p == ' ')
        p++;
    if (state)
        *state = *p;
    /* p is at field 3; skip to field 22 */
    for (int field = 3; field < 22; field++) {
        p = strchr (p, ' ');
        if (!p)
            return -1;
        p++;
    }
    if (start)
        *start = strtoull (p, NULL, 10);
    return 0;
}

/* 1 if pid is alive (not a zombie), runs a zpar binary as controller or
 * engine, and (when start != 0) started at start. */
static int proc_is_ours (pid_t pid, unsigned long long start)
{
    char path[64], buf[4096], state = '?';
    unsigned long long st = 0;
    const char *base, *arg1;
    size_t len;
    FILE *f;

    if (pid <= 1 || proc_stat (pid, &st, &state) < 0 || state == 'Z' || state == 'X')
        return 0;
    if (start && st != start)
        return 0;
    snprintf (path, sizeof (path), "/proc/%d/cmdline", (int)pid);
    if (!(f = fopen (path, "r")))
        return 0;
    len = fread (buf, 1, sizeof (buf) - 1, f);
    fclose (f);
    buf[len] = '\0';
    if (!len)
        return 0;
    base = strrchr (buf, '/');
    base = base ? base + 1 : buf;
    if (!strstr (base, "zpar"))
        return 0;
    arg1 = buf + strlen (buf) + 1;
    if (arg1 >= buf + len)
        return 0;
    return !strcmp (arg1, "controller") || !strcmp (arg1, "engine");
}

/* ------------------------------------------------------------------ pids file */

static int list_add (proc_list_t *l, int is_controller, unsigned n, pid_t pid,
                     unsigned long long start)
{
    if (l->n == l->cap) {
        size_t ncap = l->cap ? l->cap * 2 : 16;
        proc_rec_t *nv = realloc (l->v, ncap * sizeof (*nv));
        if (!nv)
            return -1;
        l->v = nv;
        l->cap = ncap;
    }
    l->v[l->n].is_controller = is_controller;
    l->v[l->n].n = n;
    l->v[l->n].pid = pid;
    l->v[l->n].start = start;
    l->n++;
    return 0;
}

/* Read <dir>/pids.  -1 ENOENT if there is none. */
static int pids_read (const char *path, proc_list_t *l)
{
    char line[256];
    FILE *f = fopen (path, "r");
    if (!f)
        return -1;
    while (fgets (line, sizeof (line), f)) {
        unsigned n = 0;
        int pid = 0;
        unsigned long long st = 0;
        if (sscanf (line, "controller %d %llu", &pid, &st) >= 1 && pid > 1)
            list_add (l, 1, 0, pid, st);
        else if (sscanf (line, "engine %u %d %llu", &n, &pid, &st) >= 2 && pid > 1)
            list_add (l, 0, n, pid, st);
    }
    fclose (f);
    return 0;
}

static void pids_append (int fd, const proc_rec_t *r)
{
    char line[128];
    int len;
    if (r->is_controller)
        len = snprintf (line, sizeof (line), "controller %d %llu\n", (int)r->pid, r->start);
    else
        len = snprintf (line, sizeof (line), "engine %u %d %llu\n", r->n, (int)r->pid, r->start);
    if (write (fd, line, (size_t)len) != len)
        zpar__cli_warn ("could not record pid %d in the pids file: %s", (int)r->pid,
                        strerror (errno));
}

static size_t count_alive (const proc_list_t *l)
{
    size_t alive = 0;
    for (size_t i = 0; i < l->n; i++)
        if (proc_is_ours (l->v[i].pid, l->v[i].start))
            alive++;
    return alive;
}

static void signal_alive (const proc_list_t *l, int sig)
{
    for (size_t i = 0; i < l->n; i++)
        if (proc_is_ours (l->v[i].pid, l->v[i].start))
            kill (l->v[i].pid, sig);
}

/* Reap our own children that exited (cluster start), quietly. */
static void reap (void)
{
    while (waitpid (-1, NULL, WNOHANG) > 0)
        ;
}

/* Wait until none of l is alive, at most timeout seconds. */
static int wait_gone (const proc_list_t *l, double timeout)
{
    double end = zpar__cli_now () + timeout;
    for (;;) {
        reap ();
        if (count_alive (l) == 0)
            return 0;
        if (zpar__cli_now () >= end)
            return -1;
        zpar__cli_sleep (0.01);
    }
}

/* After a shutdown request: wait for everything to exit, but once the
 * controller is gone give the engines only ENGINE_GRACE more seconds (an
 * engine the controller had declared dead never got the shutdown). */
#define ENGINE_GRACE 2.0
static int wait_shutdown (const proc_list_t *l, double timeout)
{
    double now = zpar__cli_now (), end = now + timeout, ctl_gone_at = 0;
    for (;;) {
        int ctl_alive = 0;
        reap ();
        if (count_alive (l) == 0)
            return 0;
        now = zpar__cli_now ();
        for (size_t i = 0; i < l->n; i++)
            if (l->v[i].is_controller && proc_is_ours (l->v[i].pid, l->v[i].start))
                ctl_alive = 1;
        if (!ctl_alive && ctl_gone_at == 0)
            ctl_gone_at = now;
        if (now >= end || (ctl_gone_at > 0 && now - ctl_gone_at >= ENGINE_GRACE))
            return -1;
        zpar__cli_sleep (0.01);
    }
}

/* SIGTERM, then SIGKILL after grace seconds: only the recorded processes. */
static size_t terminate (const proc_list_t *l, double grace)
{
    size_t killed = 0;
    if (count_alive (l) == 0)
        return 0;
    signal_alive (l, SIGTERM);
    if (wait_gone (l, grace) == 0)
        return 0;
    killed = count_alive (l);
    signal_alive (l, SIGKILL);
    (void)wait_gone (l, 2.0);
    return killed;
}

static void remove_files (const char *dir)
{
    static const char *names[] = {"pids", "client.json", "engine.json"};
    char path[PATH_MAX];
    for (size_t i = 0; i < sizeof (names) / sizeof (names[0]); i++) {
        snprintf (path, sizeof (path), "%s/%s", dir, names[i]);
        if (unlink (path) < 0 && errno != ENOENT)
            zpar__cli_warn ("cannot remove %s: %s", path, strerror (errno));
    }
}

/* Last lines of a log file to stderr. */
static void log_tail (const char *path, int lines)
{
    FILE *f = fopen (path, "r");
    char *buf;
    long size, from;
    int seen = 0;
    if (!f)
        return;
    fseek (f, 0, SEEK_END);
    size = ftell (f);
    if (size <= 0) {
        fclose (f);
        return;
    }
    from = size > 16384 ? size - 16384 : 0;
    fseek (f, from, SEEK_SET);
    if (!(buf = malloc ((size_t)(size - from) + 1))) {
        fclose (f);
        return;
    }
    size = (long)fread (buf, 1, (size_t)(size - from), f);
    fclose (f);
    buf[size] = '\0';
    for (long i = size - 1; i >= 0; i--) {
        if (buf[i] == '\n' && i != size - 1 && ++seen >= lines) {
            from = i + 1;
            goto print;
        }
    }
    from = 0;
print:
    fprintf (stderr, "---- last lines of %s ----\n%s%s", path, buf + from,
             size && buf[size - 1] != '\n' ? "\n" : "");
    free (buf);
}

/* ------------------------------------------------------------------ start */

/* Stop the children this process started (they cannot have been recycled:
 * they are not reaped yet, so no cmdline check is needed or even possible
 * before they exec). */
static void kill_children (const proc_list_t *l)
{
    double end = zpar__cli_now () + 2.0;
    size_t left;
    for (size_t i = 0; i < l->n; i++)
        kill (l->v[i].pid, SIGTERM);
    for (;;) {
        left = 0;
        for (size_t i = 0; i < l->n; i++)
            if (waitpid (l->v[i].pid, NULL, WNOHANG) == 0)
                left++;
        if (!left || zpar__cli_now () >= end)
            break;
        zpar__cli_sleep (0.01);
    }
    if (left) {
        for (size_t i = 0; i < l->n; i++)
            if (waitpid (l->v[i].pid, NULL, WNOHANG) == 0) {
                kill (l->v[i].pid, SIGKILL);
                waitpid (l->v[i].pid, NULL, 0);
            }
    }
}

static pid_t spawn (const char *exe, char *const argv[], const char *logpath)
{
    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    /* child */
    {
        sigset_t none;
        int fd;
        sigemptyset (&none);
        sigprocmask (SIG_SETMASK, &none, NULL);
        signal (SIGINT, SIG_DFL);
        signal (SIGTERM, SIG_DFL);
        signal (SIGHUP, SIG_DFL);
        setsid ();
        if ((fd = open ("/dev/null", O_RDONLY)) >= 0) {
            dup2 (fd, 0);
            if (fd > 0)
                close (fd);
        }
        if ((fd = open (logpath, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600)) >= 0) {
            dup2 (fd, 1);
            dup2 (fd, 2);
            if (fd > 2)
                close (fd);
        }
        for (int i = 3; i < 1024; i++)
            close (i);
        execv (exe, argv);
        dprintf (2, "zpar: cannot execute %s: %s\n", exe, strerror (errno));
        _exit (127);
    }
}

static int record (int fd, proc_list_t *l, int is_controller, unsigned n, pid_t pid)
{
    unsigned long long st = 0;
    /* the child may not have exec'd yet, but its starttime is already fixed */
    (void)proc_stat (pid, &st, NULL);
    if (list_add (l, is_controller, n, pid, st) < 0)
        return -1;
    pids_append (fd, &l->v[l->n - 1]);
    return 0;
}

/* Is a cluster running in dir?  Prints what it found.  1 running, 0 not
 * (stale records removed). */
static int check_existing (const char *dir, const char *dir_opt)
{
    char path[PATH_MAX], host[256] = "";
    proc_list_t l = {0};
    zpar_conninfo_t ci;
    zpar_error_t err = {{0}};
    int running = 0;

    snprintf (path, sizeof (path), "%s/pids", dir);
    if (pids_read (path, &l) == 0) {
        for (size_t i = 0; i < l.n; i++)
            if (proc_is_ours (l.v[i].pid, l.v[i].start)) {
                zpar__cli_error ("a cluster is already running in %s (%s pid %d): use it "
                                 "(zpar status), stop it with 'zpar cluster stop%s%s', or "
                                 "start another with --dir DIR",
                                 dir, l.v[i].is_controller ? "controller" : "engine",
                                 (int)l.v[i].pid, dir_opt ? " --dir " : "",
                                 dir_opt ? dir_opt : "");
                running = 1;
                break;
            }
        if (!running) {
            fprintf (stderr, "zpar cluster: note: removing the record of a dead cluster in %s\n",
                     dir);
            remove_files (dir);
        }
        free (l.v);
        return running;
    }
    snprintf (path, sizeof (path), "%s/client.json", dir);
    if (access (path, F_OK) == 0) {
        gethostname (host, sizeof (host) - 1);
        if (zpar__conn_read (path, &ci, &err) == 0 && ci.pid > 0 && !strcmp (ci.host, host)
            && kill (ci.pid, 0) == 0) {
            zpar__cli_error ("a controller (pid %d) started by hand is running in %s: use it, "
                             "stop it with 'zpar stop', or pass --dir DIR",
                             ci.pid, dir);
            return 1;
        }
        if (ci.pid > 0 && strcmp (ci.host, host) && ci.host[0]) {
            zpar__cli_error ("%s belongs to a controller on host %s: pass --dir DIR for a "
                             "cluster on this host",
                             path, ci.host);
            return 1;
        }
        remove_files (dir);
    }
    return 0;
}

static const char start_help[] =
    "Usage: zpar cluster start -n N [OPTIONS] [-- SBATCH/QSUB/MPIRUN ARGS...]\n"
    "\n"
    "Start a controller and N engines in the background and return once all N\n"
    "engines are registered.  Prints the client connection file's path.\n"
    "Locally, logs go to DIR/controller.log and DIR/engine-<i>.log, pids to DIR/pids.\n"
    "With --launcher slurm|pbs, a job of N+1 tasks running 'zpar run' is submitted\n"
    "(sbatch / qsub) from this login node; 'zpar cluster stop' ends it.\n"
    "\n"
    "Options:\n"
    "  -n, --engines N      number of engines (required)\n"
    "  --launcher NAME      local (default), mpi (mpirun -n N+1 zpar run), slurm, pbs\n"
    "  --time T             walltime of the job (slurm: minutes or HH:MM:SS)\n"
    "  --partition P        partition (slurm) or queue (pbs)\n"
    "  --dir DIR            cluster directory (default: $ZPAR_DIR/job-$SLURM_JOB_ID\n"
    "                       inside a job, else $ZPAR_DIR/local; ZPAR_DIR default ~/.zpar)\n"
    "  --scheme leastload|pure  task scheduler (default leastload)\n"
    "  --ip ADDR            interface the controller binds (default 127.0.0.1)\n"
    "  --timeout SEC        give up if not ready in SEC (default 60; 30s, 2m, ...)\n"
    "  -h, --help           this help\n"
    "\n" ZPAR_CLI_EXIT_HELP
    "(2 also when a cluster is already running in DIR.)\n";

/* `cluster start --launcher mpi|slurm|pbs`: the back end starts the
 * cluster (a job); dir keeps what it started and a link to the job's
 * connection file, so that zpar commands here find it and `cluster stop`
 * ends it. */
static int start_with_launcher (const char *name, const char *dir, const char *exe, int n,
                                const char *walltime, const char *partition, double timeout,
                                char **extra, int nextra)
{
    const zpar_launcher_t *l = zpar__launcher_find (name);
    zpar_launch_opts_t o;
    zpar_error_t err = {{0}};
    char conn[PATH_MAX], link[PATH_MAX];

    memset (&o, 0, sizeof (o));
    o.engines = n;
    o.dir = dir;
    o.self = exe;
    o.time = walltime;
    o.partition = partition;
    o.extra = extra;
    o.nextra = nextra;
    o.run_args = getenv ("ZPAR_RUN_ARGS");
    o.timeout = timeout;
    if (l->start (&o, conn, sizeof (conn), &err) < 0) {
        zpar__cli_error ("%s launch failed: %s", name, err.text);
        (void)l->stop (dir, 10.0, NULL);
        return errno == ETIMEDOUT ? ZPAR_EXIT_TIMEOUT : ZPAR_EXIT_FAILED;
    }
    snprintf (link, sizeof (link), "%s/client.json", dir);
    if (strcmp (link, conn) != 0) {
        unlink (link);
        if (symlink (conn, link) < 0)
            zpar__cli_warn ("cannot link %s to %s: %s", link, conn, strerror (errno));
    }
    printf ("%s\n", conn);
    return ZPAR_EXIT_OK;
}

/* `cluster stop` of a cluster a launcher started: shut it down, then let
 * the back end end the job. */
static int stop_with_launcher (const char *dir, double timeout)
{
    char path[PATH_MAX], name[32] = "", conn[PATH_MAX];
    const zpar_launcher_t *l;
    zpar_error_t err = {{0}};
    zpar_client_t *c;
    FILE *f;

    snprintf (path, sizeof (path), "%s/launcher", dir);
    if (!(f = fopen (path, "r")))
        return -1;
    if (fscanf (f, "%31s", name) != 1 || !(l = zpar__launcher_find (name))) {
        fclose (f);
        zpar__cli_error ("%s: unknown launcher record", path);
        return ZPAR_EXIT_FAILED;
    }
    fclose (f);
    snprintf (conn, sizeof (conn), "%s/client.json", dir);
    if ((c = zpar_client_connect (conn, &err))) {
        (void)zpar_client_shutdown (c, NULL);
        zpar_client_destroy (c);
    }
    if (l->stop (dir, timeout, &err) < 0) {
        zpar__cli_error ("%s", err.text);
        return ZPAR_EXIT_FAILED;
    }
    unlink (conn);
    unlink (path);
    printf ("stopped the %s cluster recorded in %s\n", name, dir);
    return ZPAR_EXIT_OK;
}

static int cluster_start (int argc, char **argv)
{
    enum { O_DIR = ZPAR_CLI_OPT_FIRST_LOCAL, O_SCHEME, O_TMO, O_IP, O_LAUNCHER, O_TIME, O_PART };
    static const struct option opts[] = {
        {"engines", required_argument, NULL, 'n'},
        {"launcher", required_argument, NULL, O_LAUNCHER},
        {"time", required_argument, NULL, O_TIME},
        {"partition", required_argument, NULL, O_PART},
        {"dir", required_argument, NULL, O_DIR},
        {"scheme", required_argument, NULL, O_SCHEME},
        {"timeout", required_argument, NULL, O_TMO},
        {"ip", required_argument, NULL, O_IP},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_error_t err = {{0}};
    char dir[PATH_MAX], exe[PATH_MAX], client_path[PATH_MAX], engine_path[PATH_MAX];
    char pids_path[PATH_MAX], log[PATH_MAX], idbuf[32];
    const char *scheme = NULL, *ip = NULL, *dir_opt = NULL;
    const char *launcher = NULL, *walltime = NULL, *partition = NULL;
    unsigned long n = 0;
    int have_n = 0, c, rc, fd = -1, result = ZPAR_EXIT_FAILED;
    double timeout = 60.0, end;
    proc_list_t l = {0};
    zpar_client_t *client = NULL;
    struct sigaction sa, old_int, old_term;
    ssize_t len;

    while ((c = getopt_long (argc, argv, "n:" ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            if (zpar__cli_parse_uint (optarg, 100000, &n, &err) < 0 || n < 1)
                return zpar__cli_usage ("-n %s: give the number of engines, 1 to 100000", optarg);
            have_n = 1;
            break;
        case O_DIR:
            dir_opt = optarg;
            break;
        case O_SCHEME:
            if (strcmp (optarg, "leastload") && strcmp (optarg, "pure"))
                return zpar__cli_usage ("--scheme %s: unknown scheduler: use leastload or pure",
                                        optarg);
            scheme = optarg;
            break;
        case O_TMO:
            if (zpar__cli_parse_duration (optarg, &timeout, &err) < 0)
                return zpar__cli_usage ("--timeout: %s", err.text);
            break;
        case O_IP:
            ip = optarg;
            break;
        case O_LAUNCHER:
            if (strcmp (optarg, "local") && !zpar__launcher_find (optarg))
                return zpar__cli_usage ("--launcher %s: unknown: use local, mpi, slurm or pbs", optarg);
            launcher = strcmp (optarg, "local") ? optarg : NULL;
            break;
        case O_TIME:
            walltime = optarg;
            break;
        case O_PART:
            partition = optarg;
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, start_help)) >= 0)
                return rc;
        }
    }
    if (optind < argc && !launcher)
        return zpar__cli_usage ("unexpected argument '%s'", argv[optind]);
    if (!have_n)
        return zpar__cli_usage ("how many engines? give -n N (e.g. the number of cores: -n %ld)",
                                sysconf (_SC_NPROCESSORS_ONLN));
    zpar__cli_set_log_level (0);
    if (dir_opt)
        snprintf (dir, sizeof (dir), "%s", dir_opt);
    else if (zpar__cluster_dir (dir, sizeof (dir)) < 0) {
        zpar__cli_error ("cannot form the cluster directory path: pass --dir DIR");
        return ZPAR_EXIT_USAGE;
    }
    if (zpar__mkdir_p (dir, 0700) < 0) {
        zpar__cli_error ("cannot create %s: %s: set ZPAR_DIR or pass --dir DIR with a writable "
                         "directory",
                         dir, strerror (errno));
        return ZPAR_EXIT_USAGE;
    }
    if ((len = readlink ("/proc/self/exe", exe, sizeof (exe) - 1)) < 0) {
        zpar__cli_error ("cannot find this program (/proc/self/exe): %s", strerror (errno));
        return ZPAR_EXIT_FAILED;
    }
    exe[len] = '\0';
    snprintf (client_path, sizeof (client_path), "%s/client.json", dir);
    snprintf (engine_path, sizeof (engine_path), "%s/engine.json", dir);
    snprintf (pids_path, sizeof (pids_path), "%s/pids", dir);

    if (check_existing (dir, dir_opt))
        return ZPAR_EXIT_USAGE;
    if (launcher)
        return start_with_launcher (launcher, dir, exe, (int)n, walltime, partition, timeout,
                                    argv + optind, argc - optind);
    /* the pids file doubles as a lock against a concurrent start in dir */
    if ((fd = open (pids_path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600)) < 0) {
        if (errno == EEXIST)
            zpar__cli_error ("another 'zpar cluster start' is starting a cluster in %s: wait for "
                             "it, or pass --dir DIR",
                             dir);
        else
            zpar__cli_error ("cannot create %s: %s", pids_path, strerror (errno));
        return errno == EEXIST ? ZPAR_EXIT_USAGE : ZPAR_EXIT_FAILED;
    }

    memset (&sa, 0, sizeof (sa));
    sa.sa_handler = on_interrupt;
    sigemptyset (&sa.sa_mask);
    sigaction (SIGINT, &sa, &old_int);
    sigaction (SIGTERM, &sa, &old_term);
    end = zpar__cli_now () + timeout;

    /* the controller */
    {
        char *cargv[12];
        int k = 0;
        pid_t pid;
        cargv[k++] = exe;
        cargv[k++] = "controller";
        cargv[k++] = "--dir";
        cargv[k++] = dir;
        if (scheme) {
            cargv[k++] = "--scheme";
            cargv[k++] = (char *)scheme;
        }
        if (ip) {
            cargv[k++] = "--ip";
            cargv[k++] = (char *)ip;
        }
        cargv[k] = NULL;
        snprintf (log, sizeof (log), "%s/controller.log", dir);
        if ((pid = spawn (exe, cargv, log)) < 0) {
            zpar__cli_error ("cannot start the controller: fork: %s", strerror (errno));
            goto fail;
        }
        record (fd, &l, 1, 0, pid);
    }
    /* its client.json, written once every socket is bound */
    for (;;) {
        zpar_conninfo_t ci;
        int status;
        if (access (client_path, R_OK) == 0 && zpar__conn_read (client_path, &ci, NULL) == 0
            && ci.pid == l.v[0].pid && access (engine_path, R_OK) == 0)
            break;
        if (waitpid (l.v[0].pid, &status, WNOHANG) == l.v[0].pid) {
            zpar__cli_error ("the controller exited during start-up (%s %d): see %s/controller.log",
                             WIFEXITED (status) ? "status" : "signal",
                             WIFEXITED (status) ? WEXITSTATUS (status) : WTERMSIG (status), dir);
            snprintf (log, sizeof (log), "%s/controller.log", dir);
            log_tail (log, MAX_LOG_TAIL);
            goto fail;
        }
        if (interrupted)
            goto fail_interrupted;
        if (zpar__cli_now () >= end)
            goto fail_timeout;
        zpar__cli_sleep (0.005);
    }
    /* the engines */
    for (unsigned long i = 1; i <= n; i++) {
        char *eargv[] = {exe, "engine", "--connection-file", engine_path, "--id", idbuf, NULL};
        pid_t pid;
        snprintf (idbuf, sizeof (idbuf), "%lu", i);
        snprintf (log, sizeof (log), "%s/engine-%lu.log", dir, i);
        if ((pid = spawn (exe, eargv, log)) < 0) {
            zpar__cli_error ("cannot start engine %lu: fork: %s", i, strerror (errno));
            goto fail;
        }
        record (fd, &l, 0, (unsigned)i, pid);
    }
    close (fd);
    fd = -1;
    /* wait for them to register */
    if (!(client = zpar_client_connect (client_path, &err))) {
        zpar__cli_error ("cannot connect to the new controller: %s", err.text);
        snprintf (log, sizeof (log), "%s/controller.log", dir);
        log_tail (log, MAX_LOG_TAIL);
        goto fail;
    }
    for (;;) {
        zpar_engine_info_t *info = NULL;
        size_t ne = 0, live = 0;
        pid_t dead;
        int status;
        if (zpar_client_engines (client, &info, &ne, &err) < 0) {
            zpar__cli_error ("the controller does not answer: %s", err.text);
            snprintf (log, sizeof (log), "%s/controller.log", dir);
            log_tail (log, MAX_LOG_TAIL);
            goto fail;
        }
        for (size_t i = 0; i < ne; i++)
            if (strcmp (info[i].state, "dead"))
                live++;
        free (info);
        if (live >= n)
            break;
        if ((dead = waitpid (-1, &status, WNOHANG)) > 0) {
            for (size_t i = 0; i < l.n; i++)
                if (l.v[i].pid == dead) {
                    if (l.v[i].is_controller) {
                        zpar__cli_error ("the controller exited during start-up");
                        snprintf (log, sizeof (log), "%s/controller.log", dir);
                    } else {
                        zpar__cli_error ("engine %u exited during start-up (%s %d): see "
                                         "%s/engine-%u.log",
                                         l.v[i].n, WIFEXITED (status) ? "status" : "signal",
                                         WIFEXITED (status) ? WEXITSTATUS (status)
                                                            : WTERMSIG (status),
                                         dir, l.v[i].n);
                        snprintf (log, sizeof (log), "%s/engine-%u.log", dir, l.v[i].n);
                    }
                    log_tail (log, MAX_LOG_TAIL);
                    goto fail;
                }
        }
        if (interrupted)
            goto fail_interrupted;
        if (zpar__cli_now () >= end) {
            zpar__cli_error ("only %zu of %lu engines registered within %g s", live, n, timeout);
            goto fail_timeout_logs;
        }
        zpar__cli_sleep (0.005);
    }
    zpar_client_destroy (client);
    sigaction (SIGINT, &old_int, NULL);
    sigaction (SIGTERM, &old_term, NULL);
    printf ("%s\n", client_path);
    fflush (stdout);
    free (l.v);
    return ZPAR_EXIT_OK;

fail_timeout:
    zpar__cli_error ("the controller did not write %s within %g s", client_path, timeout);
fail_timeout_logs:
    snprintf (log, sizeof (log), "%s/controller.log", dir);
    log_tail (log, MAX_LOG_TAIL);
    for (unsigned long i = 1; i <= n && i <= 2; i++) {
        snprintf (log, sizeof (log), "%s/engine-%lu.log", dir, i);
        log_tail (log, MAX_LOG_TAIL);
    }
    fprintf (stderr, "(raise --timeout if the machine is slow; logs are in %s)\n", dir);
    result = ZPAR_EXIT_TIMEOUT;
    goto fail;
fail_interrupted:
    zpar__cli_error ("interrupted: stopping what was started");
    result = 128 + (int)interrupted;
fail:
    zpar_client_destroy (client);
    if (fd >= 0)
        close (fd);
    kill_children (&l);
    remove_files (dir);
    free (l.v);
    sigaction (SIGINT, &old_int, NULL);
    sigaction (SIGTERM, &old_term, NULL);
    return result;
}

/* ------------------------------------------------------------------ stop */

static const char stop_help[] =
    "Usage: zpar cluster stop [OPTIONS]\n"
    "       zpar stop [OPTIONS]\n"
    "\n"
    "Shut the cluster down: ask the controller (engines kill their tasks and exit,\n"
    "the controller flushes its records), wait for the processes 'zpar cluster\n"
    "start' recorded, and remove DIR/pids, client.json and engine.json (logs and\n"
    "task records stay).  If the controller does not answer, the recorded\n"
    "processes get SIGTERM, then SIGKILL.\n"
    "\n"
    "Options:\n"
    "  --dir DIR            the cluster directory (default: the directory of\n"
    "                       --connection-file / $ZPAR_CONNECTION_FILE if given, else\n"
    "                       $ZPAR_DIR/job-$SLURM_JOB_ID or $ZPAR_DIR/local)\n"
    "  --timeout SEC        how long to wait for a clean exit (default 10)\n"
    "  --connection-file F  the cluster's client.json\n"
    "  -h, --help           this help\n"
    "\n" ZPAR_CLI_EXIT_HELP;

int zpar__cmd_stop (int argc, char **argv)
{
    enum { O_DIR = ZPAR_CLI_OPT_FIRST_LOCAL, O_TMO };
    static const struct option opts[] = {
        {"dir", required_argument, NULL, O_DIR},
        {"timeout", required_argument, NULL, O_TMO},
        ZPAR_CLI_COMMON_OPTS,
    };
    zpar_error_t err = {{0}};
    char dir[PATH_MAX], conn[PATH_MAX], pids_path[PATH_MAX], host[256] = "";
    const char *dir_opt = NULL, *env = getenv ("ZPAR_CONNECTION_FILE");
    double timeout = 10.0;
    proc_list_t l = {0};
    int c, rc, have_pids, ctl_alive = 0, shut = 0;
    size_t alive, alive_before, killed = 0;

    while ((c = getopt_long (argc, argv, ZPAR_CLI_COMMON_SHORT, opts, NULL)) != -1) {
        switch (c) {
        case O_DIR:
            dir_opt = optarg;
            break;
        case O_TMO:
            if (zpar__cli_parse_duration (optarg, &timeout, &err) < 0)
                return zpar__cli_usage ("--timeout: %s", err.text);
            break;
        default:
            if ((rc = zpar__cli_common_opt (c, stop_help)) >= 0)
                return rc;
        }
    }
    if (optind < argc)
        return zpar__cli_usage ("unexpected argument '%s'", argv[optind]);
    zpar__cli_set_log_level (0);
    gethostname (host, sizeof (host) - 1);

    if (dir_opt)
        snprintf (dir, sizeof (dir), "%s", dir_opt);
    else if (zpar__cli.connection_file || (env && *env)) {
        char *slash;
        snprintf (dir, sizeof (dir), "%s", zpar__cli.connection_file ? zpar__cli.connection_file : env);
        if ((slash = strrchr (dir, '/')))
            *slash = '\0';
        else
            snprintf (dir, sizeof (dir), ".");
    } else if (zpar__cluster_dir (dir, sizeof (dir)) < 0) {
        zpar__cli_error ("cannot form the cluster directory path: pass --dir DIR");
        return ZPAR_EXIT_USAGE;
    }
    if (zpar__cli.connection_file)
        snprintf (conn, sizeof (conn), "%s", zpar__cli.connection_file);
    else if (env && *env && !dir_opt)
        snprintf (conn, sizeof (conn), "%s", env);
    else
        snprintf (conn, sizeof (conn), "%s/client.json", dir);
    {
        int lrc = stop_with_launcher (dir, timeout > 30 ? timeout : 30);
        if (lrc >= 0)
            return lrc;
    }
    snprintf (pids_path, sizeof (pids_path), "%s/pids", dir);
    have_pids = pids_read (pids_path, &l) == 0;

    if (have_pids) {
        zpar_conninfo_t ci;
        for (size_t i = 0; i < l.n; i++)
            if (l.v[i].is_controller && proc_is_ours (l.v[i].pid, l.v[i].start))
                ctl_alive = 1;
        /* a controller restarted by hand (zpar controller --reuse) is not in
         * the pids file, but it wrote its pid into the connection file */
        if (!ctl_alive && zpar__conn_read (conn, &ci, NULL) == 0 && ci.pid > 0
            && !strcmp (ci.host, host) && kill (ci.pid, 0) == 0)
            ctl_alive = 1;
    } else {
        zpar_conninfo_t ci;
        if (access (conn, F_OK) < 0) {
            zpar__cli_error ("no cluster to stop: neither %s nor %s exists (pass --dir DIR or "
                             "--connection-file FILE for a cluster elsewhere)",
                             pids_path, conn);
            return ZPAR_EXIT_UNREACHABLE;
        }
        if (zpar__conn_read (conn, &ci, &err) < 0) {
            zpar__cli_error ("%s", err.text);
            return ZPAR_EXIT_USAGE;
        }
        /* a controller started by hand or by a launcher: ask it, and if
         * it is local follow its pid. */
        if (ci.pid > 0 && !strcmp (ci.host, host)) {
            if (kill (ci.pid, 0) < 0 && errno == ESRCH) {
                char mine[PATH_MAX];
                snprintf (mine, sizeof (mine), "%s/client.json", dir);
                if (!strcmp (mine, conn)) {
                    remove_files (dir);
                    printf ("no cluster was running in %s (controller pid %d is gone); removed "
                            "its stale connection files\n",
                            dir, ci.pid);
                    return ZPAR_EXIT_OK;
                }
                zpar__cli_error ("the controller of %s (pid %d) is not running; nothing to "
                                 "stop (remove the stale file if you like)",
                                 conn, ci.pid);
                return ZPAR_EXIT_UNREACHABLE;
            }
            list_add (&l, 1, 0, ci.pid, 0);
        }
        ctl_alive = 1;
    }

    if (ctl_alive) {
        zpar_client_t *cl;
        if (!getenv ("ZPAR_CONNECT_TIMEOUT"))
            setenv ("ZPAR_CONNECT_TIMEOUT", "3", 1);
        if ((cl = zpar_client_connect (conn, &err))) {
            if (zpar_client_shutdown (cl, &err) == 0)
                shut = 1;
            else
                zpar__cli_warn ("the controller did not accept shutdown: %s", err.text);
            zpar_client_destroy (cl);
        } else
            zpar__cli_warn ("cannot reach the controller (%s)%s", err.text,
                            have_pids ? ": terminating the recorded processes" : "");
    }
    if (!have_pids) {
        if (!shut)
            return ZPAR_EXIT_UNREACHABLE;
        if (l.n && wait_gone (&l, timeout) < 0) {
            zpar__cli_error ("the controller (pid %d) is still running %g s after shutdown; "
                             "see its log, or kill it",
                             (int)l.v[0].pid, timeout);
            free (l.v);
            return ZPAR_EXIT_TIMEOUT;
        }
        free (l.v);
        printf ("stopped the cluster of %s\n", conn);
        return ZPAR_EXIT_OK;
    }
    alive = alive_before = count_alive (&l);
    if (shut && alive)
        (void)wait_shutdown (&l, timeout);
    if (count_alive (&l))
        killed = terminate (&l, 2.0);
    if ((alive = count_alive (&l))) {
        zpar__cli_error ("%zu recorded process(es) survived SIGKILL; %s left in place", alive,
                         pids_path);
        free (l.v);
        return ZPAR_EXIT_FAILED;
    }
    remove_files (dir);
    if (!alive_before)
        printf ("no cluster was running in %s; removed its stale records\n", dir);
    else if (!shut)
        printf ("stopped the cluster in %s (its controller did not answer: %zu process(es) "
                "terminated)\n",
                dir, alive_before);
    else if (killed)
        printf ("stopped the cluster in %s (%zu process(es) had to be killed)\n", dir, killed);
    else
        printf ("stopped the cluster in %s\n", dir);
    free (l.v);
    return ZPAR_EXIT_OK;
}

/* ------------------------------------------------------------------ dispatch */

static const char cluster_help[] =
    "Usage: zpar cluster start -n N [--dir DIR] [--scheme leastload|pure] [--timeout SEC]\n"
    "       zpar cluster stop [--dir DIR] [--timeout SEC]\n"
    "\n"
    "Start or stop a local cluster (a controller and N engines, in the background).\n"
    "'zpar cluster start --help' and 'zpar cluster stop --help' give the details.\n"
    "\n" ZPAR_CLI_EXIT_HELP;

int zpar__cmd_cluster (int argc, char **argv)
{
    int i = 1;
    /* global options may come before the action too */
    while (i < argc && argv[i][0] == '-') {
        if (!strcmp (argv[i], "-h") || !strcmp (argv[i], "--help")) {
            fputs (cluster_help, stdout);
            return ZPAR_EXIT_OK;
        }
        if (!strcmp (argv[i], "-v") || !strcmp (argv[i], "--verbose"))
            zpar__cli.verbose++;
        else if (!strcmp (argv[i], "--connection-file") && i + 1 < argc)
            zpar__cli.connection_file = argv[++i];
        else if (!strncmp (argv[i], "--connection-file=", 18))
            zpar__cli.connection_file = argv[i] + 18;
        else
            return zpar__cli_usage ("give an action first: 'zpar cluster start -n N' or "
                                    "'zpar cluster stop'");
        i++;
    }
    if (i >= argc)
        return zpar__cli_usage ("missing action: 'zpar cluster start -n N' or 'zpar cluster stop'");
    if (!strcmp (argv[i], "start")) {
        zpar__cli.cmd = "cluster start";
        argv[i] = "zpar cluster start";
        return cluster_start (argc - i, argv + i);
    }
    if (!strcmp (argv[i], "stop")) {
        zpar__cli.cmd = "cluster stop";
        argv[i] = "zpar cluster stop";
        return zpar__cmd_stop (argc - i, argv + i);
    }
    return zpar__cli_usage ("unknown action '%s': use start or stop", argv[i]);
}
