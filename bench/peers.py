#!/usr/bin/python3
"""peers.py - the peers a user would pick instead of zpar, measured the same
way as bench/zpar-bench.c: ipyparallel (controller + 2 engines) and Dask
distributed (LocalCluster, 2 worker processes, 1 thread each).

    peers.py ipp|dask RTT_N TPUT_N

Prints "key value" lines (ipp_start_s, ipp_rtt_median_us, ipp_rtt_p99_us,
ipp_tput_per_s, ipp_rss_kb, ... and dask_*), read by bench/run.sh.  Uses
the Debian packages (python3-ipyparallel, python3-distributed) through
/usr/bin/python3; state goes to a temporary directory.  run.sh bounds the
whole run with timeout(1).
"""
import os
import shutil
import statistics
import sys
import tempfile
import time


def noop(*args):
    return 0


def out(k, v):
    print(k, v, flush=True)


def pctl(lat, q):
    lat = sorted(lat)
    return lat[min(len(lat) - 1, int(len(lat) * q))]


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return -1


def bench_ipp(rtt_n, tput_n):
    import logging

    logging.disable(logging.WARNING)
    import ipyparallel as ipp

    tmp = tempfile.mkdtemp(prefix="zpar-bench-ipp.")
    os.environ["IPYTHONDIR"] = tmp
    t0 = time.monotonic()
    cluster = ipp.Cluster(n=2, profile_dir=os.path.join(tmp, "profile_bench"), log_level=40)
    try:
        rc = cluster.start_and_connect_sync()
        rc.wait_for_engines(2, timeout=120)
        out("ipp_start_s", "%.3f" % (time.monotonic() - t0))
        lv = rc.load_balanced_view()
        for _ in range(50):
            lv.apply_sync(noop)
        lat = []
        for _ in range(rtt_n):
            a = time.monotonic()
            lv.apply_sync(noop)
            lat.append(time.monotonic() - a)
        out("ipp_rtt_median_us", "%.1f" % (statistics.median(lat) * 1e6))
        out("ipp_rtt_p99_us", "%.1f" % (pctl(lat, 0.99) * 1e6))
        hub = cluster.controller.process.pid
        a = time.monotonic()
        ars = [lv.apply_async(noop) for _ in range(tput_n)]
        for ar in ars:
            ar.get(timeout=300)
        out("ipp_tput_per_s", "%.0f" % (tput_n / (time.monotonic() - a)))
        out("ipp_rss_kb", rss_kb(hub))
    finally:
        try:
            cluster.stop_cluster_sync()
        except Exception as e:  # noqa: BLE001 - report and go on
            print("peers.py: ipp stop:", e, file=sys.stderr)
        shutil.rmtree(tmp, ignore_errors=True)


def bench_dask(rtt_n, tput_n):
    import logging

    logging.disable(logging.WARNING)
    from distributed import Client, LocalCluster, wait

    tmp = tempfile.mkdtemp(prefix="zpar-bench-dask.")
    t0 = time.monotonic()
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        local_directory=tmp,
        silence_logs=logging.ERROR,
    )
    client = Client(cluster)
    try:
        client.wait_for_workers(2, timeout=120)
        out("dask_start_s", "%.3f" % (time.monotonic() - t0))
        for i in range(50):
            client.submit(noop, i, pure=False).result()
        lat = []
        for i in range(rtt_n):
            a = time.monotonic()
            client.submit(noop, i, pure=False).result()
            lat.append(time.monotonic() - a)
        out("dask_rtt_median_us", "%.1f" % (statistics.median(lat) * 1e6))
        out("dask_rtt_p99_us", "%.1f" % (pctl(lat, 0.99) * 1e6))
        a = time.monotonic()
        fs = [client.submit(noop, i, pure=False) for i in range(tput_n)]
        wait(fs, timeout=300)
        out("dask_tput_per_s", "%.0f" % (tput_n / (time.monotonic() - a)))
        # the scheduler runs in this process (LocalCluster): its RSS is ours
        out("dask_rss_kb", rss_kb(os.getpid()))
    finally:
        client.close()
        cluster.close()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("ipp", "dask"):
        print(__doc__, file=sys.stderr)
        return 2
    rtt_n, tput_n = int(sys.argv[2]), int(sys.argv[3])
    (bench_ipp if sys.argv[1] == "ipp" else bench_dask)(rtt_n, tput_n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
