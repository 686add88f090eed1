"""zpar.Sweep: parameter sweeps (doc/sweeps.md) from Python.

Sweeps are run by the zpar program (`zpar sweep run|status|report`: the
runner, its journal and its report live there, not in libzpar); this class
runs it and reads its JSON.  Rows are plain dicts: pandas.DataFrame(rows)
makes a table of them, pandas is never needed.
"""

import json
import os
import shutil
import subprocess

from .errors import ZparError


def zpar_program():
    """The zpar program: $ZPAR, else the one installed with this package,
    else zpar on PATH."""
    env = os.environ.get("ZPAR")
    if env:
        return env
    try:
        from . import _config

        p = os.path.join(_config.BINDIR, "zpar")
        if os.access(p, os.X_OK):
            return p
    except ImportError:
        pass
    p = shutil.which("zpar")
    if not p:
        raise ZparError("the zpar program is not found: set ZPAR to its path or add its "
                        "directory to PATH")
    return p


class SweepRun:
    """A sweep running in the background (Sweep.run(wait=False))."""

    def __init__(self, sweep, proc):
        self.sweep = sweep
        self.proc = proc

    def poll(self):
        """None while it runs, else its exit status."""
        return self.proc.poll()

    def done(self):
        return self.proc.poll() is not None

    def wait(self, timeout=None):
        """Wait for the end; the status dict (Sweep.status()).  Raises
        ZparError with the runner's message when it could not run the sweep
        (a point that failed is not an error: see status()['failed'])."""
        _, err = self.proc.communicate(timeout=timeout)
        return self.sweep._ended(self.proc.returncode, err)

    def stop(self):
        """Stop the runner (SIGTERM: it records what ran and stops its
        private cluster, if it started one)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        return self.proc.wait()


class Sweep:
    """A sweep file.  run() runs (or resumes) it, status() tells how far it
    got, report() gives one row per point."""

    # exit statuses of `zpar sweep run` that mean "ran": all succeeded, some
    # failed, the allocation's end stopped it (continued later)
    _RAN = (0, 1, 75)

    def __init__(self, path, *, journal=None, connection_file=None, zpar=None):
        self.path = os.fspath(path)
        self.journal = journal
        self.connection_file = connection_file
        self.zpar = zpar

    def _argv(self, cmd, *extra):
        argv = [self.zpar or zpar_program(), "sweep", cmd, self.path]
        if self.journal:
            argv += ["--journal", os.fspath(self.journal)]
        return argv + list(extra)

    def _out(self, argv):
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise ZparError(_text(p.stderr) or "%s exited with %d" % (argv[1:3], p.returncode))
        return p.stdout

    def run(self, wait=True, *, engines=None, retry_failed=False, window=None, end_time=None,
            margin=None, resubmit=None, timeout=None):
        """Run the points that have not succeeded yet, on the running
        cluster (the usual search, or connection_file), or on a private one
        of `engines` engines started for the run.  wait=True: return the
        status dict at the end; wait=False: return a SweepRun at once."""
        extra = ["--quiet"]
        if engines:
            extra += ["-n", str(int(engines))]
        if retry_failed:
            extra.append("--retry-failed")
        if window:
            extra += ["--window", str(int(window))]
        if self.connection_file:
            extra += ["--connection-file", os.fspath(self.connection_file)]
        if end_time:
            extra += ["--end-time", str(end_time)]
        if margin:
            extra += ["--margin", str(margin)]
        if resubmit is not None:
            extra.append("--resubmit" if resubmit is True else "--resubmit=%d" % resubmit)
        proc = subprocess.Popen(self._argv("run", *extra), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        r = SweepRun(self, proc)
        return r.wait(timeout) if wait else r

    def _ended(self, rc, err):
        if rc not in self._RAN:
            raise ZparError(_text(err) or "zpar sweep run exited with %d" % rc)
        st = self.status()
        st["exit_status"] = rc
        return st

    def status(self):
        """How far it got: {"sweep", "points", "succeeded", "failed",
        "running", "pending", "not_run", "removed": [...], "jobs": ...}."""
        return json.loads(self._out(self._argv("status", "--json")))

    def report(self):
        """One dict per point (its index, parameters, state, exit code,
        times, output files...): the rows of `zpar sweep report --format
        json`."""
        data = json.loads(self._out(self._argv("report", "--format", "json")) or b"[]")
        if isinstance(data, dict):
            for key in ("points", "rows"):
                if isinstance(data.get(key), list):
                    return data[key]
        return data

    def __repr__(self):
        return "<zpar.Sweep %s>" % self.path


def _text(b):
    t = b.decode("utf-8", "replace").strip()
    return t[5:] if t.startswith("zpar: ") else t
