"""The zpar Python client without a cluster: loading libzpar, the errors
(zpar's own text, the errno), argument checks, finding no cluster, sweeps
that cannot run.  Run with the standard runner:

    ZPAR_LIBRARY=build/.libs/libzpar.so.0 ZPAR=build/zpar \
        PYTHONPATH=bindings/python python3 -m unittest discover -s tests/python -p 'test_unit.py'
"""

import errno
import json
import os
import shutil
import tempfile
import time
import unittest

import zpar
from zpar import _lib
from zpar.client import Output, OutputStream, _id_text, _id_value
from zpar.errors import from_c


class Env:
    """Set environment variables for a with-block, restored after."""

    def __init__(self, **kv):
        self.kv = kv

    def __enter__(self):
        self.old = {k: os.environ.get(k) for k in self.kv}
        for k, v in self.kv.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def __exit__(self, *exc):
        for k, v in self.old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


class TestLibrary(unittest.TestCase):
    def test_loaded(self):
        self.assertTrue(os.path.exists(zpar.library_path) or "/" not in zpar.library_path)
        self.assertEqual(_lib.status_name(1), b"ok")
        self.assertEqual(_lib.status_name(4), b"timeout")

    def test_status_names(self):
        names = [_lib.STATUS_NAMES[i] for i in range(9)]
        self.assertEqual(names[:5], ["pending", "ok", "failed", "signaled", "timeout"])
        self.assertEqual(len(set(names)), 9)

    def test_resources_flag(self):
        self.assertEqual(zpar.has_resources, hasattr(_lib.lib, "zpar_task_set_resources"))

    def test_struct_sizes(self):
        # zpar_client_opts_t: the library reads `size` bytes of it; ours must
        # be the size zpar_client_opts_init writes
        o = _lib.ClientOpts()
        _lib.client_opts_init(o)
        self.assertEqual(o.size, _lib.ctypes.sizeof(_lib.ClientOpts))


class TestIds(unittest.TestCase):
    def test_text_and_back(self):
        for tid in (1 << 32 | 17, 3 << 32 | 1, 0xFFFFFFFF << 32 | 0xFFFFFFFF):
            self.assertEqual(_id_value(_id_text(tid)), tid)
        self.assertEqual(_id_text(3 << 32 | 17), "3.17")
        self.assertEqual(_id_value(12345), 12345)

    def test_bad_ids(self):
        for bad in ("", "3", "x.1", "3.17.1", "-1.2"):
            with self.assertRaises(ValueError, msg=bad):
                _id_value(bad)


class TestOutputOrder(unittest.TestCase):
    """OutputStream's ordering of the pieces of the tasks it waits for
    (its merge, fed by hand: no engine of this version sends a piece
    without its offset, nor out of order on demand)."""

    def stream(self):
        s = OutputStream.__new__(OutputStream)  # no client: only the merge
        s._have, s._gap, s._closed = {}, set(), {}
        return s

    def test_in_order_overlap_and_gap(self):
        s, mine = self.stream(), {"1.1"}
        take = lambda off, data: s._take(Output(1, "1.1", 1, data, off), mine)
        self.assertEqual(take(0, b"ab").data, b"ab")
        self.assertEqual(take(1, b"bcd"), Output(1, "1.1", 1, b"cd", 2))  # the new part only
        self.assertIsNone(take(0, b"abc"))  # had it
        self.assertIsNone(take(9, b"x"))  # a gap: the result has the rest
        self.assertIsNone(take(4, b"e"))  # after a gap: nothing more streams
        other = Output(1, "2.1", 1, b"zz", 7)
        self.assertIs(s._take(other, mine), other)  # not waited for: as it came

    def test_no_offset_is_the_next(self):
        s, mine = self.stream(), {"1.1"}
        self.assertEqual(s._take(Output(1, "1.1", 2, b"ab"), mine).offset, 0)
        self.assertEqual(s._take(Output(1, "1.1", 2, b"cd"), mine).offset, 2)
        self.assertEqual(s._have[("1.1", 2)], 4)


class TestErrors(unittest.TestCase):
    def test_text_and_errno(self):
        err = _lib.Error()
        err.text = b"the controller did not answer within 1.0 s"
        e = from_c(err, errno.EHOSTUNREACH)
        self.assertIsInstance(e, zpar.ZparError)
        self.assertEqual(e.errno, errno.EHOSTUNREACH)
        self.assertIn("did not answer", str(e))
        self.assertIn("EHOSTUNREACH", str(e))

    def test_kinds(self):
        err = _lib.Error()
        self.assertIsInstance(from_c(err, errno.EHOSTDOWN), zpar.ControllerLost)
        self.assertIsInstance(from_c(err, errno.ENOENT, "connect"), zpar.ConnectError)
        self.assertNotIsInstance(from_c(err, errno.ENOENT), zpar.ConnectError)
        # no text from the library: the errno's name at least
        self.assertIn("ENOENT", str(from_c(err, errno.ENOENT)))


class TestNoCluster(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="zpar-py-unit.")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_no_connection_file(self):
        with Env(ZPAR_DIR=self.dir, ZPAR_CONNECTION_FILE=None, SLURM_JOB_ID=None,
                 PBS_JOBID=None):
            t0 = time.monotonic()
            with self.assertRaises(zpar.ConnectError) as cm:
                zpar.Client()
            self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(cm.exception.errno, errno.ENOENT)
        # zpar's text: it says how to start a cluster
        self.assertIn("zpar cluster start", str(cm.exception))

    def test_stale_connection_file(self):
        # a connection file whose controller is a dead process of this host
        path = os.path.join(self.dir, "client.json")
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
        with open(path, "w") as f:
            conn = {"version": 1, "key": "ab" * 32, "signature_scheme": "hmac-sha256",
                    "host": os.uname().nodename, "pid": pid, "task_scheme": "leastload",
                    "job": "local"}
            for k in ("registration", "notification", "hb_ping", "hb_pong", "mux_client",
                      "mux_engine", "control_client", "control_engine", "task_client",
                      "task_engine", "iopub_client", "iopub_engine"):
                conn[k] = "tcp://127.0.0.1:9"
            json.dump(conn, f)
        os.chmod(path, 0o600)
        t0 = time.monotonic()
        with self.assertRaises(zpar.ConnectError) as cm:
            zpar.Client(path, connect_timeout=20)
        # at once, not after the connect timeout
        self.assertLess(time.monotonic() - t0, 5)
        self.assertEqual(cm.exception.errno, errno.ECONNREFUSED)
        self.assertIn(str(pid), str(cm.exception))


@unittest.skipUnless(os.environ.get("ZPAR"), "ZPAR (the zpar program) is not set")
class TestSweepOffline(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="zpar-py-sweep.")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, text):
        path = os.path.join(self.dir, "s.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_bad_file_is_zpar_text(self):
        path = self.write("name: s\ncommand: [echo, '{x}']\nparms:\n  x: [1, 2]\n")
        with self.assertRaises(zpar.ZparError) as cm:
            zpar.Sweep(path).status()
        self.assertIn("did you mean 'params'", str(cm.exception))
        with self.assertRaises(zpar.ZparError) as cm:
            zpar.Sweep(path).run(timeout=30)
        self.assertIn("did you mean 'params'", str(cm.exception))

    def test_status_before_any_run(self):
        path = self.write("name: s\ncommand: [echo, '{x}']\nparams:\n  x: [1, 2, 3]\n")
        st = zpar.Sweep(path).status()
        self.assertEqual(st["sweep"], "s")
        self.assertEqual(st["points"], 3)
        self.assertEqual(st["succeeded"], 0)
        self.assertEqual(st["not_run"], 3)


if __name__ == "__main__":
    unittest.main()
