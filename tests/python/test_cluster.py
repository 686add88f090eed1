"""The zpar Python client against a real cluster (tests/system/t0700-python.sh
starts one with 2 engines and runs this with the standard runner):
futures as concurrent.futures sees them, errors with zpar's text, map, px,
status, function tasks, live output, dependencies, cancel, Ctrl-C in a
wait, many tasks from many threads, sweeps.

Needs ZPAR_CONNECTION_FILE (the cluster), ZPAR (the program) and, for the
function tasks, ZPAR_TEST_FN (tests/lib/.libs/testfn.so).
"""

import concurrent.futures as cf
import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import unittest

import zpar

CONN = os.environ.get("ZPAR_CONNECTION_FILE")
TESTFN = os.environ.get("ZPAR_TEST_FN")
SCALE = float(os.environ.get("ZPAR_TEST_TIMEOUT_SCALE", "1") or 1)
T = 30 * SCALE  # the bound of every wait


@unittest.skipUnless(CONN, "no cluster: ZPAR_CONNECTION_FILE is not set")
class ClusterTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = zpar.Client()
        cls.c.wait_engines(2, T)
        cls.tmp = tempfile.mkdtemp(prefix="zpar-py.")

    @classmethod
    def tearDownClass(cls):
        cls.c.close()
        shutil.rmtree(cls.tmp, ignore_errors=True)


class TestFutures(ClusterTest):
    def test_submit_result(self):
        f = self.c.submit(["sh", "-c", "echo out; echo err >&2"])
        self.assertIsInstance(f, cf.Future)
        r = f.result(T)
        self.assertTrue(f.done())
        self.assertIsNone(f.exception())
        self.assertEqual((r.status, r.exit_code, r.stdout, r.stderr),
                         ("ok", 0, b"out\n", b"err\n"))
        self.assertRegex(f.id, r"^\d+\.\d+$")
        self.assertEqual(r.id, f.id)
        self.assertIn(r.engine, (1, 2))
        self.assertRegex(str(r), r"^%s ok: exit 0, " % f.id.replace(".", r"\."))
        self.assertEqual(r.as_dict()["stdout"], b"out\n")

    def test_failure_carries_zpar_text(self):
        f = self.c.submit(["sh", "-c", "exit 3"])
        e = f.exception(T)
        self.assertIsInstance(e, zpar.TaskFailed)
        self.assertEqual(e.result.status, "failed")
        self.assertEqual(e.result.exit_code, 3)
        self.assertRegex(str(e), r"^%s failed: exit 3, " % f.id.replace(".", r"\."))
        with self.assertRaises(zpar.TaskFailed):
            f.result(0)
        r = self.c.submit(["sh", "-c", "exit 4"], check=False).result(T)
        self.assertEqual((r.status, r.exit_code, r.ok), ("failed", 4, False))

    def test_missing_program(self):
        e = self.c.submit(["/nonexistent/program"]).exception(T)
        self.assertIsInstance(e, zpar.TaskFailed)
        self.assertIn(e.result.status, ("error", "failed"))
        self.assertTrue(str(e))

    def test_timeout_env_cwd(self):
        t0 = time.monotonic()
        e = self.c.submit(["sleep", "20"], timeout=0.5).exception(T)
        self.assertEqual(e.result.status, "timeout")
        self.assertLess(time.monotonic() - t0, 15 * SCALE)
        r = self.c.submit(["sh", "-c", 'echo "$ZPAR_PY_X"; pwd'], env={"ZPAR_PY_X": "x y"},
                          cwd=self.tmp).result(T)
        self.assertEqual(r.stdout.decode().split("\n")[:2],
                         ["x y", os.path.realpath(self.tmp)])

    def test_bad_arguments(self):
        with self.assertRaises(TypeError):
            self.c.submit("echo hi")
        with self.assertRaises(ValueError):
            self.c.submit([])
        with self.assertRaises(ValueError):
            self.c.submit(["true"], after="not-an-id")
        with self.assertRaises(ValueError):
            self.c.submit(["true"], stop_signal=9)  # SIGKILL is refused

    def test_resources_keywords(self):
        if zpar.has_resources:
            r = self.c.submit(["true"], cores=1, gpus=0, memory=0).result(T)
            self.assertTrue(r.ok)
            with self.assertRaises(ValueError):  # nodes without ranks: EINVAL
                self.c.submit(["true"], nodes=2)
            with self.assertRaises(ValueError):
                self.c.submit(["true"], cores=-1)
        else:
            with self.assertRaises(zpar.ZparError) as cm:
                self.c.submit(["true"], cores=2)
            self.assertEqual(cm.exception.errno, errno.ENOSYS)

    def test_as_completed_and_wait(self):
        slow = self.c.submit(["sleep", "1"])
        quick = self.c.submit(["true"])
        order = list(cf.as_completed([slow, quick], timeout=T))
        self.assertEqual(order, [quick, slow])
        fs = [self.c.submit(["sh", "-c", "exit %d" % (i % 2)], check=False) for i in range(10)]
        done, not_done = cf.wait(fs, timeout=T)
        self.assertEqual((len(done), len(not_done)), (10, 0))
        self.assertEqual([f.result().exit_code for f in fs], [i % 2 for i in range(10)])
        first = cf.wait([self.c.submit(["sleep", "2"]), self.c.submit(["true"])],
                        timeout=T, return_when=cf.FIRST_COMPLETED)[0]
        self.assertEqual(len(first), 1)

    def test_done_callback_without_waiting(self):
        # nobody waits: the client's own thread completes the future
        seen = []
        ev = threading.Event()
        f = self.c.submit(["echo", "cb"])
        f.add_done_callback(lambda fut: (seen.append((fut, threading.current_thread())),
                                         ev.set()))
        end = time.monotonic() + T
        while not ev.is_set() and time.monotonic() < end:
            time.sleep(0.01)
        self.assertEqual(len(seen), 1)
        self.assertIs(seen[0][0], f)
        self.assertEqual(f.result(0).stdout, b"cb\n")

    def test_wait_in_callback_is_refused(self):
        other = self.c.submit(["sleep", "0.5"])
        got = []
        ev = threading.Event()

        def cb(fut):
            try:
                other.result()
            except zpar.ZparError as e:
                got.append(e)
            ev.set()

        self.c.submit(["true"]).add_done_callback(cb)
        self.assertTrue(ev.wait(T))
        self.assertEqual(got[0].errno, errno.EDEADLK)
        other.result(T)

    def test_callback_may_query(self):
        # a callback runs in whichever thread drives the client (the
        # client's, or a thread waiting in result()): a query from it works
        got = []
        f = self.c.submit(["true"])
        f.add_done_callback(lambda fut: got.append(len(self.c.engines())))
        f.result(T)
        g = self.c.submit(["true"])
        g.add_done_callback(lambda fut: got.append(self.c.status()["engines"] != []))
        end = time.monotonic() + T
        while len(got) < 2 and time.monotonic() < end:
            time.sleep(0.01)
        self.assertEqual(got, [2, True])

    def test_direct_and_dependencies(self):
        r = self.c.submit(["true"], engine=2).result(T)
        self.assertEqual(r.engine, 2)
        mark = os.path.join(self.tmp, "dep")
        a = self.c.submit(["sh", "-c", "sleep 0.3; echo A > %s" % mark])
        b = self.c.submit(["cat", mark], after=a)
        self.assertEqual(b.result(T).stdout, b"A\n")
        bad = self.c.submit(["false"])
        c = self.c.submit(["true"], after=[bad.id])
        self.assertEqual(c.exception(T).result.status, "dependency-failed")

    def test_cancel_queued(self):
        mark = os.path.join(self.tmp, "cancelled")
        busy = [self.c.submit(["sleep", "1.5"], engine=e) for e in (1, 2)]
        time.sleep(0.3)
        f = self.c.submit(["touch", mark])
        self.assertTrue(f.cancel())
        self.assertTrue(f.cancelled())
        with self.assertRaises(cf.CancelledError):
            f.result(0)
        for b in busy:
            b.result(T)
        self.c.submit(["true"]).result(T)  # the engines took the next work
        time.sleep(0.5)
        self.assertFalse(os.path.exists(mark), "a cancelled task ran")

    def test_many_from_threads(self):
        ids = []
        lock = threading.Lock()

        def worker(k):
            fs = [self.c.submit(["true"]) for _ in range(150)]
            done, _ = cf.wait(fs, timeout=T)
            with lock:
                ids.extend(f.id for f in done if f.result().ok)

        th = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in th:
            t.start()
        for t in th:
            t.join(T)
        self.assertEqual(len(ids), 600)
        self.assertEqual(len(set(ids)), 600)


class TestMapPxStatus(ClusterTest):
    def test_map(self):
        rs = list(self.c.map(["echo", "{}"], range(5), timeout=T))
        self.assertEqual([r.stdout for r in rs], [b"%d\n" % i for i in range(5)])
        rs = self.c.map(["sh", "-c", "echo {a}-{b}"], [{"a": 1, "b": 2}, {"a": 3, "b": 4}])
        self.assertEqual([r.stdout for r in rs], [b"1-2\n", b"3-4\n"])
        rs = self.c.map(["echo", "{0}{1}"], [("x", "y")])
        self.assertEqual(next(rs).stdout, b"xy\n")
        with self.assertRaises(zpar.TaskFailed) as cm:
            list(self.c.map(["sh", "-c", "exit {}"], [0, 5, 0], timeout=T))
        self.assertEqual(cm.exception.result.exit_code, 5)
        # with options: a Future per task, same results
        rs = self.c.map(["sh", "-c", "echo $ZPAR_PY_M{}"], range(3), env={"ZPAR_PY_M1": "x"},
                        timeout=T)
        self.assertEqual([r.stdout for r in rs], [b"\n", b"x\n", b"\n"])
        # many, in order, each once
        rs = list(self.c.map(["echo", "{}"], range(2000), timeout=T))
        self.assertEqual([r.stdout for r in rs], [b"%d\n" % i for i in range(2000)])
        self.assertEqual(len(set(r.id for r in rs)), 2000)
        # a timeout, then closing the iterator aborts what has not started
        marks = [os.path.join(self.tmp, "map-%d" % i) for i in range(22)]
        it = self.c.map(["sh", "-c", "sleep {0}; touch {1}"],
                        [(1.5 if i < 2 else 0, m) for i, m in enumerate(marks)], timeout=0.3)
        with self.assertRaises(cf.TimeoutError):
            next(it)
        it.close()
        time.sleep(2.5 * SCALE)
        self.c.submit(["true"]).result(T)
        ran = [os.path.exists(m) for m in marks]
        # the two running went on; the 20 queued were aborted
        self.assertEqual(ran, [True] * 2 + [False] * 20)

    def test_px(self):
        out = self.c.px(["sh", "-c", "echo $$"], timeout=T)
        self.assertEqual(sorted(out), [1, 2])
        self.assertTrue(all(r.ok and r.engine == e for e, r in out.items()))
        self.assertEqual(sorted(self.c.px(["true"], targets=[2], timeout=T)), [2])

    def test_status(self):
        self.c.submit(["true"]).result(T)
        st = self.c.status()
        for k in ("pending", "running", "completed", "failed", "dropped", "duplicates"):
            self.assertIsInstance(st[k], int, k)
        self.assertGreaterEqual(st["completed"], 1)
        self.assertEqual(sorted(e["id"] for e in st["engines"] if e["state"] != "dead"),
                         [1, 2])
        self.assertEqual(st["outstanding"], 0)

    @unittest.skipUnless(TESTFN, "ZPAR_TEST_FN (testfn.so) is not set")
    def test_function(self):
        r = self.c.function(TESTFN, "zt_echo", b"\x00bytes\xff").result(T)
        self.assertEqual(r.output, b"\x00bytes\xff")
        r = self.c.function(TESTFN, "zt_echo", b"inline", inline=True).result(T)
        self.assertEqual(r.output, b"inline")
        e = self.c.function(TESTFN, "zt_fail", b"").exception(T)
        self.assertIsInstance(e, zpar.TaskFailed)
        self.assertEqual(e.result.status, "failed")
        with self.assertRaises(TypeError):
            self.c.function(TESTFN, "zt_echo", b"", bogus=1)

    def settle(self, seen):
        """A subscription takes effect a moment after it is made (ZeroMQ's
        subscriptions travel on their own): probe until output arrives."""
        end = time.monotonic() + T
        while time.monotonic() < end:
            f = self.c.submit(["echo", "probe"])
            f.result(T)
            t = time.monotonic() + 0.5
            while time.monotonic() < t:
                if any(o.task == f.id for o in seen()):
                    return
                time.sleep(0.02)
        self.fail("no output arrived within %.0f s of subscribing" % T)

    @unittest.skipUnless(TESTFN, "ZPAR_TEST_FN (testfn.so) is not set")
    def test_results_are_freed(self):
        # a Result owns libzpar's future and result: both go with it (with
        # them kept, 30,000 results of 512 bytes grow the process ~85 MiB)
        def rss_kib():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))

        def run(n):
            for _ in range(n // 1000):
                fs = [self.c.function(TESTFN, "zt_echo", b"x" * 512, inline=True)
                      for _ in range(1000)]
                done, _ = cf.wait(fs, timeout=T)
                self.assertEqual(len(done), 1000)
                self.assertTrue(all(f.result().output == b"x" * 512 for f in fs))

        run(5000)
        before = rss_kib()
        run(30000)
        self.c.status()  # the frees queued for the client's thread are done by now
        self.assertLess(rss_kib() - before, 16 * 1024)

    def test_output(self):
        got = []
        self.c.on_output(got.append, mine_only=True)
        try:
            self.settle(lambda: list(got))
            f = self.c.submit(["sh", "-c", "echo one; sleep 0.2; echo two >&2"])
            f.result(T)
            end = time.monotonic() + 5 * SCALE
            while len([o for o in got if o.task == f.id]) < 2 and time.monotonic() < end:
                time.sleep(0.05)
        finally:
            self.c.on_output(None)
        mine = [(o.task, o.stream, o.data, o.offset) for o in got if o.task == f.id]
        self.assertEqual(mine, [(f.id, 1, b"one\n", 0), (f.id, 2, b"two\n", 0)])
        self.assertIn(got[0].engine, (1, 2))
        # the iterator: everything of the tasks, then it ends by itself
        with self.c.output() as out:
            seen = []

            def probe_seen():
                for o in out.until(timeout=0.05):
                    seen.append(o)
                return seen

            self.settle(probe_seen)
            fs = [self.c.submit(["sh", "-c", "echo a%d; sleep 0.3; echo b%d" % (i, i)])
                  for i in range(2)]
            items = list(out.until(fs, timeout=T))
        # each task's stdout whole, each byte once, the pieces in order
        # (what came late or never is given from the result)
        for i, f in enumerate(fs):
            pieces = [o for o in items if o.task == f.id and o.stream == 1]
            offsets = [o.offset for o in pieces]
            starts = [sum(len(o.data) for o in pieces[:k]) for k in range(len(pieces))]
            self.assertEqual(offsets, starts)
            self.assertEqual(b"".join(o.data for o in pieces), b"a%d\nb%d\n" % (i, i))
        # a stream made after the task began: what it missed comes from the
        # result, at its offset, and nothing twice
        f = self.c.submit(["sh", "-c", "echo early; sleep %g; echo late" % (1.5 * SCALE)])
        end = time.monotonic() + T
        while not self.c.status().get("running") and time.monotonic() < end:
            time.sleep(0.05)
        time.sleep(0.3 * SCALE)
        with self.c.output() as out:
            items = [o for o in out.until([f], timeout=T) if o.task == f.id]
        self.assertEqual([(o.offset, o.data) for o in items if o.stream == 1][0][0], 0)
        self.assertEqual(b"".join(o.data for o in items if o.stream == 1), b"early\nlate\n")


class TestInterrupt(ClusterTest):
    def test_ctrl_c_interrupts_a_wait(self):
        script = textwrap.dedent("""
            import sys, time, zpar
            c = zpar.Client()
            f = c.submit(["sleep", "30"], timeout=3)
            print("waiting", flush=True)
            t0 = time.monotonic()
            try:
                f.result()
                print("not interrupted")
            except KeyboardInterrupt:
                print("interrupted %.2f" % (time.monotonic() - t0), flush=True)
            print("after", c.submit(["echo", "still-works"]).result(30).stdout.decode().strip())
            print("pending", f.done())
            c.close()
        """)
        p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(p.stdout.readline().strip(), "waiting")
            time.sleep(0.5)
            p.send_signal(signal.SIGINT)
            out, err = p.communicate(timeout=T)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0, err)
        lines = out.splitlines()
        self.assertRegex(lines[0], r"^interrupted ")
        self.assertLess(float(lines[0].split()[1]), 3 * SCALE)
        self.assertEqual(lines[1], "after still-works")
        self.assertEqual(lines[2], "pending False")

    def test_close_fails_unfinished(self):
        c = zpar.Client()
        f = c.submit(["sleep", "1"])
        c.close()
        e = f.exception(T)
        self.assertIsInstance(e, zpar.ZparError)
        self.assertEqual(e.errno, errno.ENOTCONN)
        with self.assertRaises(zpar.ZparError):
            c.submit(["true"])
        c.close()  # twice is fine

    def test_close_from_a_callback(self):
        c = zpar.Client()
        f = c.submit(["true"])
        f.add_done_callback(lambda fut: c.close())
        f.result(T)  # this thread drives: the callback runs here
        c._thread.join(T)
        self.assertFalse(c._thread.is_alive())
        with self.assertRaises(zpar.ZparError):
            c.submit(["true"])


class TestSweep(ClusterTest):
    def test_run_status_report(self):
        path = os.path.join(self.tmp, "py.yaml")
        with open(path, "w") as f:
            f.write("name: py\ncommand: [sh, -c, 'echo {x}; test {x} != 3']\n"
                    "params:\n  x: [1, 2, 3, 4]\n")
        s = zpar.Sweep(path, connection_file=CONN)
        st = s.run(timeout=T)
        self.assertEqual((st["points"], st["succeeded"], st["failed"]), (4, 3, 1))
        self.assertEqual(st["exit_status"], 1)
        rows = s.report()
        self.assertEqual(len(rows), 4)
        self.assertTrue(all(isinstance(r, dict) for r in rows))
        text = repr(rows)
        for x in ("1", "2", "3", "4"):
            self.assertIn(x, text)
        # again, in the background: nothing left but the failed point
        run = s.run(wait=False, retry_failed=True)
        end = time.monotonic() + T
        while not run.done() and time.monotonic() < end:
            s.status()  # watching progress while it runs
            time.sleep(0.1)
        st = run.wait(T)
        self.assertEqual((st["succeeded"], st["failed"]), (3, 1))


if __name__ == "__main__":
    unittest.main()
