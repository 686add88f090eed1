/* floor-broker.c - the raw libzmq floor for zpar's queues.
 *
 *   client DEALER --tcp--> broker ROUTER | broker DEALER --tcp--> worker DEALER (echo)
 *
 * Three processes (forked from this one), all on tcp loopback.  The broker is
 * a zmq_poll loop that drains every ready socket before polling again (what
 * zpar's relays do); the worker echoes every message it gets, envelope and
 * all.  Measures:
 *
 *   rtt   ping-pong: one message in flight, N round trips, median and p99
 *   tput  pipelined: N messages, up to WINDOW in flight, the client drains
 *         all ready replies per poll; messages (round trips) per second
 *
 * Output: "key value" lines (floor_rtt_median_us, floor_rtt_p99_us,
 * floor_tput_msgs, floor_broker_rss_kb), read by bench/run.sh.
 *
 *   rate  with -R RATE: -n N messages sent at RATE per second, each when
 *         its time comes (replies drained as they come), and the broker's
 *         CPU (/proc/PID/task/TID/schedstat, all its threads) and context
 *         switches per message over that phase ("floor_rate_broker_cpu_us",
 *         "floor_rate_broker_switches", the same for the worker): what
 *         libzmq alone costs a process that relays each message from one
 *         TCP peer to another and its answer back, at a low fixed rate.
 *         The ping-pong phase reports the same per round trip
 *         ("floor_rtt_broker_cpu_us", "floor_rtt_broker_switches").
 *
 * usage: floor-broker [-r ROUNDTRIPS] [-t MESSAGES] [-s PAYLOAD_BYTES] [-p BASEPORT]
 *                     [-R RATE [-n N]]
 * (without -p the broker binds to ports the system picks).  With FLOOR_SWITCHES
 * set in the environment it also prints every thread's context switches
 * ("floor_switches ROLE/THREAD VOLUNTARY NONVOLUNTARY", over its whole life).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define WINDOW 5000

static double now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die (const char *what)
{
    fprintf (stderr, "floor-broker: %s: %s\n", what, zmq_strerror (zmq_errno ()));
    exit (1);
}

static void *mksock (void *ctx, int type)
{
    void *s = zmq_socket (ctx, type);
    int hwm = 0, linger = 0; /* unlimited: a ROUTER must not drop replies */
    if (!s)
        die ("zmq_socket");
    zmq_setsockopt (s, ZMQ_SNDHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (s, ZMQ_RCVHWM, &hwm, sizeof (hwm));
    zmq_setsockopt (s, ZMQ_LINGER, &linger, sizeof (linger));
    return s;
}

/* Forward every message ready on from to to; returns -1 on term. */
static int drain (void *from, void *to)
{
    for (;;) {
        zmq_msg_t m;
        int more;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, from, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&m);
            return errno == EAGAIN ? 0 : -1;
        }
        more = zmq_msg_more (&m);
        if (zmq_msg_send (&m, to, more ? ZMQ_SNDMORE : 0) < 0) {
            zmq_msg_close (&m);
            return -1;
        }
    }
}

/* the port a socket is bound to (from its last endpoint), or -1 */
static int bound_port (void *s)
{
    char ep[256];
    size_t len = sizeof (ep);
    const char *colon;
    if (zmq_getsockopt (s, ZMQ_LAST_ENDPOINT, ep, &len) < 0 || !(colon = strrchr (ep, ':')))
        return -1;
    return atoi (colon + 1);
}

/* The broker: binds its two sockets (to port and port + 1, or to ports the
 * system picks when port is 0: no clash with whatever else runs here) and
 * writes the two ports to fd, then forwards until killed. */
static void broker (int port, int fd)
{
    void *ctx;
    if (getenv ("FLOOR_BROKER_CPU")) {
        /* every thread of the broker (its own and libzmq's I/O thread,
         * which inherits the mask) on one core, as mpirun binds a rank */
        cpu_set_t set;
        CPU_ZERO (&set);
        CPU_SET (atoi (getenv ("FLOOR_BROKER_CPU")), &set);
        if (sched_setaffinity (0, sizeof (set), &set) < 0)
            perror ("floor-broker: sched_setaffinity");
    }
    ctx = zmq_ctx_new ();
    void *front = mksock (ctx, ZMQ_ROUTER), *back = mksock (ctx, ZMQ_DEALER);
    char a[64];
    int ports[2];
    if (port > 0)
        snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", port);
    else
        snprintf (a, sizeof (a), "tcp://127.0.0.1:*");
    if (zmq_bind (front, a) < 0)
        die ("bind front");
    if (port > 0)
        snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", port + 1);
    if (zmq_bind (back, a) < 0)
        die ("bind back");
    ports[0] = bound_port (front);
    ports[1] = bound_port (back);
    if (ports[0] < 0 || ports[1] < 0 || write (fd, ports, sizeof (ports)) != sizeof (ports))
        die ("report the ports");
    close (fd);
    for (;;) {
        zmq_pollitem_t it[2] = {{front, 0, ZMQ_POLLIN, 0}, {back, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll (it, 2, -1) < 0)
            break;
        if ((it[0].revents & ZMQ_POLLIN) && drain (front, back) < 0)
            break;
        if ((it[1].revents & ZMQ_POLLIN) && drain (back, front) < 0)
            break;
    }
    _exit (0);
}

static void worker (int port)
{
    void *ctx = zmq_ctx_new ();
    void *s = mksock (ctx, ZMQ_DEALER);
    char a[64];
    snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", port);
    if (zmq_connect (s, a) < 0)
        die ("connect worker");
    for (;;) {
        zmq_msg_t m;
        int more;
        zmq_msg_init (&m);
        if (zmq_msg_recv (&m, s, 0) < 0)
            break;
        more = zmq_msg_more (&m);
        if (zmq_msg_send (&m, s, more ? ZMQ_SNDMORE : 0) < 0)
            break;
    }
    _exit (0);
}

/* Print every thread of process pid as "floor_switches ROLE/COMM VOLUNTARY
 * NONVOLUNTARY" (context switches over its life, /proc/PID/task/TID/status):
 * how many times each thread slept and was woken, and was preempted. */
static void print_switches (const char *role, pid_t pid)
{
    char path[300], line[256], comm[64];
    DIR *d;
    struct dirent *e;
    snprintf (path, sizeof (path), "/proc/%d/task", (int)pid);
    if (!(d = opendir (path)))
        return;
    while ((e = readdir (d))) {
        FILE *f;
        long vol = -1, inv = -1;
        if (e->d_name[0] == '.')
            continue;
        snprintf (path, sizeof (path), "/proc/%d/task/%s/comm", (int)pid, e->d_name);
        if (!(f = fopen (path, "r")))
            continue;
        if (!fgets (comm, sizeof (comm), f))
            comm[0] = 0;
        fclose (f);
        comm[strcspn (comm, "\n")] = 0;
        for (char *c = comm; *c; c++)
            if (*c == ' ')
                *c = '_';
        snprintf (path, sizeof (path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
        if (!(f = fopen (path, "r")))
            continue;
        while (fgets (line, sizeof (line), f)) {
            if (strncmp (line, "voluntary_ctxt_switches:", 24) == 0)
                vol = atol (line + 24);
            else if (strncmp (line, "nonvoluntary_ctxt_switches:", 27) == 0)
                inv = atol (line + 27);
        }
        fclose (f);
        printf ("floor_switches %s/%s %ld %ld\n", role, comm, vol, inv);
    }
    closedir (d);
}

/* CPU time (ns, every thread: /proc/PID/task/TID/schedstat) and context
 * switches (voluntary + involuntary) of process pid so far. */
static void proc_usage (pid_t pid, double *cpu_ns, double *switches)
{
    char path[300], line[256];
    DIR *d;
    struct dirent *e;
    *cpu_ns = *switches = 0;
    snprintf (path, sizeof (path), "/proc/%d/task", (int)pid);
    if (!(d = opendir (path)))
        return;
    while ((e = readdir (d))) {
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf (path, sizeof (path), "/proc/%d/task/%s/schedstat", (int)pid, e->d_name);
        if ((f = fopen (path, "r"))) {
            unsigned long long ns;
            if (fscanf (f, "%llu", &ns) == 1)
                *cpu_ns += (double)ns;
            fclose (f);
        }
        snprintf (path, sizeof (path), "/proc/%d/task/%s/status", (int)pid, e->d_name);
        if (!(f = fopen (path, "r")))
            continue;
        while (fgets (line, sizeof (line), f)) {
            if (strncmp (line, "voluntary_ctxt_switches:", 24) == 0)
                *switches += atol (line + 24);
            else if (strncmp (line, "nonvoluntary_ctxt_switches:", 27) == 0)
                *switches += atol (line + 27);
        }
        fclose (f);
    }
    closedir (d);
}

static int cmp_d (const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main (int argc, char **argv)
{
    long rtts = 20000, msgs = 200000, paced = 2000;
    double rate = 0, bc0, bs0, bc1, bs1, wc0, ws0, wc1, ws1;
    int size = 64, port = 0, opt, pfd[2], ports[2];
    pid_t pb, pw;
    void *ctx, *s;
    char a[64], *payload, buf[65536];
    double *lat, t0, t;
    long i, sent, got;

    while ((opt = getopt (argc, argv, "r:t:s:p:R:n:")) != -1) {
        switch (opt) {
        case 'r':
            rtts = atol (optarg);
            break;
        case 't':
            msgs = atol (optarg);
            break;
        case 's':
            size = atoi (optarg);
            break;
        case 'p':
            port = atoi (optarg);
            break;
        case 'R':
            rate = atof (optarg);
            break;
        case 'n':
            paced = atol (optarg);
            break;
        default:
            fprintf (stderr, "usage: floor-broker [-r N] [-t N] [-s BYTES] [-p PORT] [-R RATE [-n N]]\n");
            return 2;
        }
    }
    if (rtts < 1 || msgs < 1 || size < 1 || size > (int)sizeof (buf) || rate < 0 || paced < 1)
        return 2;
    if (port < 0)
        port = 0;

    /* the children die with this process, whatever happens to it */
    if (pipe (pfd) < 0) {
        perror ("floor-broker: pipe");
        return 1;
    }
    if ((pb = fork ()) == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        close (pfd[0]);
        broker (port, pfd[1]);
    }
    close (pfd[1]);
    if (pb < 0 || read (pfd[0], ports, sizeof (ports)) != sizeof (ports)) {
        fprintf (stderr, "floor-broker: the broker did not start\n");
        if (pb > 0)
            kill (pb, SIGKILL);
        return 1;
    }
    close (pfd[0]);
    if ((pw = fork ()) == 0) {
        prctl (PR_SET_PDEATHSIG, SIGKILL);
        worker (ports[1]);
    }

    ctx = zmq_ctx_new ();
    s = mksock (ctx, ZMQ_DEALER);
    snprintf (a, sizeof (a), "tcp://127.0.0.1:%d", ports[0]);
    if (zmq_connect (s, a) < 0)
        die ("connect client");
    payload = calloc (1, size);
    lat = calloc (rtts, sizeof (double));

    /* warm-up (and wait for every connection to be up): bounded */
    {
        int rcvto = 10000;
        zmq_setsockopt (s, ZMQ_RCVTIMEO, &rcvto, sizeof (rcvto));
        for (i = 0; i < 200; i++) {
            zmq_send (s, payload, size, 0);
            if (zmq_recv (s, buf, sizeof (buf), 0) < 0) {
                fprintf (stderr, "floor-broker: no echo within 10 s\n");
                kill (pb, SIGKILL);
                kill (pw, SIGKILL);
                return 1;
            }
        }
    }

    /* ping-pong */
    proc_usage (pb, &bc0, &bs0);
    for (i = 0; i < rtts; i++) {
        t0 = now ();
        zmq_send (s, payload, size, 0);
        if (zmq_recv (s, buf, sizeof (buf), 0) < 0)
            die ("recv rtt");
        lat[i] = now () - t0;
    }
    proc_usage (pb, &bc1, &bs1);
    printf ("floor_rtt_broker_cpu_us %.1f\n", (bc1 - bc0) / 1e3 / rtts);
    printf ("floor_rtt_broker_switches %.2f\n", (bs1 - bs0) / rtts);
    qsort (lat, rtts, sizeof (double), cmp_d);
    printf ("floor_rtt_median_us %.1f\n", lat[rtts / 2] * 1e6);
    printf ("floor_rtt_p99_us %.1f\n", lat[(long)(rtts * 0.99)] * 1e6);
    fflush (stdout);

    /* pipelined */
    sent = got = 0;
    t0 = now ();
    while (got < msgs) {
        zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
        while (sent < msgs && sent - got < WINDOW) {
            if (zmq_send (s, payload, size, ZMQ_DONTWAIT) < 0)
                break;
            sent++;
        }
        if (zmq_poll (&it, 1, 10000) <= 0)
            die ("pipelined: no reply within 10 s");
        while (zmq_recv (s, buf, sizeof (buf), ZMQ_DONTWAIT) >= 0)
            got++;
    }
    t = now () - t0;
    printf ("floor_tput_msgs %.0f\n", msgs / t);

    if (rate > 0) {
        /* paced: message i leaves at t0 + i / rate; the client sleeps in
         * zmq_poll until the next is due or a reply comes */
        sent = got = 0;
        proc_usage (pb, &bc0, &bs0);
        proc_usage (pw, &wc0, &ws0);
        t0 = now ();
        while (got < paced) {
            zmq_pollitem_t it = {s, 0, ZMQ_POLLIN, 0};
            double due = t0 + sent / rate, wait_ms;
            t = now ();
            if (sent < paced && t >= due) {
                if (zmq_send (s, payload, size, 0) < 0)
                    die ("send paced");
                sent++;
                continue;
            }
            wait_ms = sent < paced ? (due - t) * 1e3 : 10000;
            if (zmq_poll (&it, 1, (long)wait_ms + (sent < paced)) < 0)
                die ("poll paced");
            if (sent == paced && !(it.revents & ZMQ_POLLIN))
                die ("paced: no reply within 10 s");
            while (zmq_recv (s, buf, sizeof (buf), ZMQ_DONTWAIT) >= 0)
                got++;
        }
        t = now () - t0;
        proc_usage (pb, &bc1, &bs1);
        proc_usage (pw, &wc1, &ws1);
        printf ("floor_rate_per_s %.0f\n", paced / t);
        printf ("floor_rate_broker_cpu_us %.1f\n", (bc1 - bc0) / 1e3 / paced);
        printf ("floor_rate_broker_switches %.2f\n", (bs1 - bs0) / paced);
        printf ("floor_rate_worker_cpu_us %.1f\n", (wc1 - wc0) / 1e3 / paced);
        printf ("floor_rate_worker_switches %.2f\n", (ws1 - ws0) / paced);
    }
    {
        /* the broker's resident memory after all that: a floor for the controller's */
        char path[64], line[256];
        FILE *f;
        snprintf (path, sizeof (path), "/proc/%d/status", (int)pb);
        if ((f = fopen (path, "r"))) {
            while (fgets (line, sizeof (line), f))
                if (strncmp (line, "VmRSS:", 6) == 0)
                    printf ("floor_broker_rss_kb %ld\n", atol (line + 6));
            fclose (f);
        }
    }

    if (getenv ("FLOOR_SWITCHES")) {
        print_switches ("client", getpid ());
        print_switches ("broker", pb);
        print_switches ("worker", pw);
    }
    kill (pb, SIGTERM);
    kill (pw, SIGTERM);
    waitpid (pb, NULL, 0);
    waitpid (pw, NULL, 0);
    zmq_close (s);
    zmq_ctx_term (ctx);
    return 0;
}
