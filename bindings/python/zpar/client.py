"""zpar.Client: tasks on a zpar cluster from Python, as concurrent.futures.

libzpar's client is single-threaded: every call happens in the thread that
owns it.  Here that thread is the client's own driver thread ("zpar-client"):
it connects, submits, polls the network and completes the futures, so that
futures finish (and their callbacks run) while the program does something
else, as concurrent.futures.as_completed and wait expect.  Other threads
(the program's) hand it work through a queue and wake it with
zpar_client_wake; they never call the C client themselves.

Per task, the work stays in few calls into libzpar: the submits queued
meanwhile go as one zpar_submit_many, the futures that ended are taken as
a block (zpar_client_take_done, with their statuses) after each poll
instead of a callback per future, a result's fields are read when asked,
and the futures of a client share one threading.Condition (making one per
future cost more than the rest of the submit).
"""

import atexit
import collections
import concurrent.futures as cf
import concurrent.futures._base as _cfb
import ctypes
import errno as _errno
import signal
import threading
import time
import weakref

from . import _lib as L
from .errors import TaskFailed, ZparError, from_c

# the states of a concurrent.futures.Future (set directly: see Future)
_PENDING, _FINISHED = _cfb.PENDING, _cfb.FINISHED
_ENDED = frozenset((_cfb.CANCELLED, _cfb.CANCELLED_AND_NOTIFIED, _cfb.FINISHED))
_CANCELLED = frozenset((_cfb.CANCELLED, _cfb.CANCELLED_AND_NOTIFIED))
_BUF = 1024  # futures per zpar_submit_many / zpar_client_take_done

_clients = weakref.WeakSet()  # closed at exit: what they queued leaves first


@atexit.register
def _close_all():
    for c in list(_clients):
        try:
            c.close()
        except Exception:
            pass


_Output = collections.namedtuple("Output", "engine task stream data offset", defaults=(None,))


def _fail(fut, exc):
    """Give fut the exception exc, unless it ended meanwhile (a user
    thread may cancel it at any moment: that is no error of the loop)."""
    try:
        if not fut.done():
            fut.set_exception(exc)
    except cf.InvalidStateError:
        pass


class Output(_Output):
    """One piece of a task's output as the engine streamed it: engine (int),
    task (id text "3.17"), stream (1 stdout, 2 stderr), data (bytes), offset
    (the bytes of that stream before data, None when the engine did not
    say).  Output is published, not queued: pieces can be missed (the
    first ones while a new subscription reaches the engines, any when the
    reader is too slow); a piece whose offset is beyond what arrived shows
    the gap, and the task's result has all of it."""

    __slots__ = ()


def _bytes_of(getter, r):
    n = ctypes.c_size_t(0)
    p = getter(r, ctypes.byref(n))
    return ctypes.string_at(p, n.value) if p and n.value else b""


def _id_text(tid):
    return "%d.%d" % (tid >> 32, tid & 0xFFFFFFFF)


def _id_value(task):
    """A task id from a Future, "3.17" or an int."""
    if isinstance(task, Future):
        return task._tid()
    if isinstance(task, int):
        return task
    t = L.TaskId()
    if L.task_id_parse(str(task).encode(), ctypes.byref(t)) < 0:
        raise ValueError("not a task id: %r" % (task,))
    return t.id


class Result:
    """A finished task: status ("ok", "failed", "signaled", "timeout",
    "engine-died", "error", "aborted", "dependency-failed"), exit_code
    (None if none), signal, wall and cpu seconds, maxrss_kb, engine, host,
    attempts, error (zpar's text, "" if none), stdout, stderr and output
    (bytes: a function task's output), truncated (bit 0 stdout, bit 1
    stderr) and summary (zpar's one line about it).

    The fields are read from libzpar's result when asked (a result nobody
    looks at costs no copy); the result is freed with this object."""

    __slots__ = ("_f", "_rp", "_client", "_tid", "_st", "_summary")

    def __init__(self, client, f, tid, st):
        self._client = client
        self._f = f  # the C future: it owns the result
        self._rp = None  # the C result, looked up when a field is first read
        self._tid = tid
        self._st = st
        self._summary = None

    @property
    def _r(self):
        r = self._rp
        if r is None:
            r = self._rp = L.future_result(self._f)
        return r

    def __del__(self):
        f, self._f = self._f, None
        if f:
            self._client._release(f)

    id = property(lambda self: _id_text(self._tid), doc="the task id, \"3.17\"")
    status = property(lambda self: L.STATUS_NAMES.get(self._st, str(self._st)))
    ok = property(lambda self: self._st == 1, doc="status is ok")
    signal = property(lambda self: L.result_signal(self._r))
    wall = property(lambda self: L.result_wall(self._r))
    cpu = property(lambda self: L.result_cpu(self._r))
    maxrss_kb = property(lambda self: L.result_maxrss_kb(self._r))
    engine = property(lambda self: L.result_engine(self._r).id or None)
    host = property(lambda self: (L.result_host(self._r) or b"").decode("utf-8", "replace"))
    attempts = property(lambda self: L.result_attempts(self._r))
    error = property(lambda self: (L.result_error(self._r) or b"").decode("utf-8", "replace"))
    stdout = property(lambda self: _bytes_of(L.result_stdout, self._r))
    stderr = property(lambda self: _bytes_of(L.result_stderr, self._r))
    output = property(lambda self: _bytes_of(L.result_output, self._r))
    truncated = property(lambda self: L.result_truncated(self._r))

    @property
    def exit_code(self):
        code = L.result_exit_code(self._r)
        return None if code < 0 else code

    @property
    def summary(self):
        if self._summary is None:
            buf = ctypes.create_string_buffer(1024)
            L.result_summary(self._r, buf, len(buf))
            self._summary = buf.value.decode("utf-8", "replace")
        return self._summary

    FIELDS = ("id", "status", "exit_code", "signal", "wall", "cpu", "maxrss_kb", "engine",
              "host", "attempts", "error", "stdout", "stderr", "output", "truncated", "summary")

    def as_dict(self):
        """The result as a plain dict (a row for pandas.DataFrame)."""
        return {k: getattr(self, k) for k in self.FIELDS}

    def __str__(self):
        return self.summary

    def __repr__(self):
        return "<zpar.Result %s>" % self.summary


class Future(cf.Future):
    """The future of one task (concurrent.futures.Future): result() gives
    its Result, or raises TaskFailed (carrying the Result and zpar's text)
    when the task did not succeed (unless submitted with check=False);
    other failures (the controller lost...) raise ZparError.  Works with
    concurrent.futures.as_completed and wait.  Waiting is interrupted by
    Ctrl-C (KeyboardInterrupt) without harm: the task goes on, the future
    can be waited for again."""

    def __init__(self, client, check=True):
        # concurrent.futures.Future's fields, with the client's Condition
        # (shared: result() and exception() wait through others' wake-ups)
        self._condition = client._cond
        self._state = _PENDING
        self._result = None
        self._exception = None
        self._waiters = []
        self._done_callbacks = []
        self._client = client
        self._check = check
        self._cid = 0  # the task id once the driver has submitted it

    def _tid(self):
        if not self._cid and not self.done():
            self._client._barrier()  # submits go in order: ours has gone
        return self._cid

    @property
    def id(self):
        """The task id as zpar prints it ("3.17"); None if the submit failed."""
        tid = self._tid()
        return _id_text(tid) if tid else None

    def _wait(self, timeout):
        c = self._client
        c._check_thread()
        if self.done():
            return timeout
        end = None if timeout is None else time.monotonic() + timeout
        c._wait_driving(self.done, timeout)
        if self._state not in _ENDED and not (end is not None and end <= time.monotonic()):
            # the client closes, or another thread drives: its end is near
            cond = self._condition
            with cond:
                while self._state not in _ENDED:
                    left = None if end is None else end - time.monotonic()
                    if left is not None and left <= 0:
                        break
                    cond.wait(left)
        return 0

    def result(self, timeout=None):
        return super().result(self._wait(timeout))

    def exception(self, timeout=None):
        return super().exception(self._wait(timeout))

    def cancel(self):
        """Abort the task if it has not started (queued in the controller or
        not sent yet); a running task goes on, its result is dropped."""
        if not super().cancel():
            return False
        self._client._push(self._client._do_abort, self)
        return True

    def __repr__(self):
        return "<zpar.Future %s %s>" % (self.id if self._cid else "-", self._state.lower())


_TAKEN = object()  # a map's result handed to the caller
# kept from the threads that are inside libzpar, so that Ctrl-C reaches the
# thread that waits, between two polls.  Only SIGINT: a signal that ends the
# process (SIGTERM...) must end it whatever a thread is doing.
_SIGNALS = {signal.SIGINT}


class _Batch:
    """The tasks of one map() without options: results by index."""

    __slots__ = ("n", "results", "tids", "cond", "closed", "__weakref__")

    def __init__(self, n):
        self.n = n
        self.results = [None] * n  # a Result, an exception, or _TAKEN
        self.tids = [0] * n
        self.cond = threading.Condition()
        self.closed = False


def _result_of(f):
    """The Result of a done future, whatever its status (None: it has none,
    e.g. the controller was lost)."""
    try:
        return f.result(0)
    except TaskFailed as e:
        return e.result
    except Exception:
        return None


class OutputStream:
    """The output of the engines as an iterator (Client.output())."""

    _CLOSED_MAX = 65536  # streams completed from results, remembered

    def __init__(self, client, mine_only):
        import queue

        self._client = client
        self._q = queue.SimpleQueue()
        self._open = True
        # (task, stream) -> bytes of it yielded, in order, from offset 0;
        # the streams where a piece was missed (the rest comes from the
        # result); the streams completed from their results, whose late
        # pieces are dropped
        self._have = {}
        self._gap = set()
        self._closed = collections.OrderedDict()
        client.on_output(self._q.put, mine_only)

    def _take(self, item, mine):
        """item as it is to be yielded (None: not to be): for the tasks of
        mine, only what follows what was yielded, until a gap."""
        key = (item.task, item.stream)
        if key in self._closed:
            return None
        if item.task not in mine:
            return item
        if item.offset is None:  # an engine that does not say: the next bytes
            item = item._replace(offset=self._have.get(key, 0))
        if key in self._gap:
            return None
        have = self._have.get(key, 0)
        if item.offset > have:  # a piece was missed: the result has it
            self._gap.add(key)
            return None
        end = item.offset + len(item.data)
        if end <= have:
            return None
        if item.offset < have:
            item = item._replace(data=item.data[have - item.offset :], offset=have)
        self._have[key] = end
        return item

    def _rest(self, f):
        """What f's result has of its stdout and stderr beyond what was
        yielded (pieces that came late, or never)."""
        r = _result_of(f)
        for stream in (1, 2):
            key = (f.id, stream)
            have = self._have.pop(key, 0)
            self._gap.discard(key)
            self._closed[key] = True
            while len(self._closed) > self._CLOSED_MAX:
                self._closed.popitem(last=False)
            if r is None:
                continue
            data = r.stdout if stream == 1 else r.stderr
            if len(data) > have:
                yield Output(r.engine or 0, f.id, stream, data[have:], have)

    def until(self, futures=(), timeout=None):
        """Iterate until every one of futures is done, then give the rest of
        their output, or until nothing came for timeout seconds (None: no
        limit).  Each future's stdout and stderr come whole, each byte once
        and in order: pieces that did not arrive (missed, or still on their
        way when the result came) are given from its result, with their
        offset."""
        import queue

        q, futs = self._q, list(futures)
        mine = {f.id for f in futs} - {None}
        for f in futs:
            f.add_done_callback(lambda _f: q.put(None))
        while self._open:
            if futs and all(f.done() for f in futs):
                self._client._barrier()  # the output that came before the ends
                while not q.empty():
                    item = q.get()
                    item = self._take(item, mine) if item is not None else None
                    if item is not None:
                        yield item
                for f in futs:
                    if f.id is not None:
                        yield from self._rest(f)
                return
            try:
                item = q.get(timeout=timeout)
            except queue.Empty:
                return
            item = self._take(item, mine) if item is not None else None
            if item is not None:
                yield item

    def __iter__(self):
        return self.until()

    def close(self):
        if self._open:
            self._open = False
            self._client.on_output(None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Client:
    """A connection to a zpar cluster, found as the CLI finds it: the given
    connection file, else $ZPAR_CONNECTION_FILE, else this job's or this
    machine's cluster under $ZPAR_DIR (~/.zpar).  Raises ConnectError (no
    cluster: zpar's text says how to start one) or ZparError.

    Use it as a context manager, or call close()."""

    def __init__(self, connection_file=None, *, cluster_dir=None, connect_timeout=0.0,
                 reconnect_timeout=0.0):
        opts = L.ClientOpts()
        L.client_opts_init(ctypes.byref(opts))
        keep = []
        if connection_file is not None:
            keep.append(str(connection_file).encode())
            opts.connection_file = keep[-1]
        if cluster_dir is not None:
            keep.append(str(cluster_dir).encode())
            opts.cluster_dir = keep[-1]
        opts.connect_timeout = connect_timeout
        opts.reconnect_timeout = reconnect_timeout
        opts.flags = L.CLIENT_WAKEABLE
        err = L.Error()
        c = L.client_connect_opts(ctypes.byref(opts), ctypes.byref(err))
        if not c:
            raise from_c(err, L.errcode(), "connect")
        self._c = c
        self._err = L.Error()  # the driver's
        self._ops = collections.deque()
        self._pending = {}  # C future -> Future
        self._asleep = False
        self._closing = False
        self._closed = False
        self._lost = None
        self._out_cb = None
        self._lock = threading.Lock()  # held by the thread that drives the C client
        self._turn = threading.Condition()  # the client's thread waits here while
        self._want = 0  # ... this many waiting threads drive instead
        self._local = threading.local()  # .driving: this thread holds _lock
        self._cond = threading.Condition()  # the futures' (see Future)
        self._tb = (ctypes.c_void_p * _BUF)()  # tasks to submit
        self._fb = (ctypes.c_void_p * _BUF)()  # futures submitted / ended
        self._ib = (ctypes.c_uint64 * _BUF)()  # their ids
        self._sb = (ctypes.c_int * _BUF)()  # statuses of the ended
        self._output_c = L.OUTPUT_F(self._on_output)
        L.client_collect_done(c, 1)
        self.connection_file = L.client_connection_file(c).decode()
        self.id = L.client_id(c)
        self._thread = threading.Thread(target=self._drive, name="zpar-client", daemon=True)
        self._thread.start()
        _clients.add(self)

    # ------------------------------------------------------------ driver

    def _drive(self):
        # Ctrl-C goes to the program's threads, never to this one
        try:
            signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
        except (AttributeError, ValueError, OSError):
            pass
        local, turn = self._local, self._turn
        while True:
            with turn:  # a thread that waits drives meanwhile (_wait_driving)
                while self._want and not self._closing:
                    turn.wait()
                    # a program that waits for one result after another
                    # drives in turns: let it, not a hand-off at each
                    while not self._want and not self._closing and turn.wait(0.02):
                        pass
            with self._lock:
                local.driving = True
                try:
                    if self._step(1.0, True):
                        break
                finally:
                    local.driving = False
        with self._lock:
            c, ops = self._c, self._ops
            self._fail_pending(ZparError("the client was closed", _errno.ENOTCONN))
            L.client_on_output(c, ctypes.cast(None, L.OUTPUT_F), None, 0)
            L.client_destroy(c)
            self._c = None
            while ops:  # results freed meanwhile: their futures outlive the client
                op = ops.popleft()
                if op[0] is L.future_destroy:
                    op[0](*op[1:])

    def _step(self, timeout, driver):
        """One turn of the client (self._lock held): the queued work, then
        a poll of at most timeout seconds.  True once the client closes."""
        ops = self._ops
        subs = None  # load-balanced submits in a row: one zpar_submit_many
        while ops:
            op = ops.popleft()
            if op[0] is None:  # (None, task, future)
                if subs is None:
                    subs = [op]
                else:
                    subs.append(op)
                    if len(subs) == _BUF:
                        self._do_submits(subs)
                        subs = None
                continue
            if subs is not None:
                self._do_submits(subs)
                subs = None
            try:
                op[0](*op[1:])
            except BaseException as e:  # an op's own future gets it; never the loop
                if len(op) > 1 and isinstance(op[-1], cf.Future) and not op[-1].done():
                    op[-1].set_exception(e)
        if subs is not None:
            self._do_submits(subs)
        self._complete()
        if self._closing:
            return True
        self._asleep = True
        if ops or (driver and self._want):
            self._asleep = False
            return False
        n = L.client_poll(self._c, timeout, ctypes.byref(self._err))
        self._asleep = False
        if n < 0:
            self._poll_failed(L.errcode(), self._err)
        self._complete()
        return False

    def _wait_driving(self, done, timeout):
        """Wait for done() by driving the client in this thread (no hand-off
        to the client's thread for each result).  Returns when done(), when
        timeout seconds (None: no limit) have passed, or when the client
        closes; the caller then looks at done() itself.  Signals stay
        blocked while this thread is inside libzpar: a Ctrl-C waits at most
        a poll (0.2 s) and is raised here, between two turns."""
        if done() or self._closing:
            return
        end = None if timeout is None else time.monotonic() + timeout
        turn, local = self._turn, self._local
        with turn:
            self._want += 1
        try:
            if self._asleep:  # the client's thread leaves its poll
                self._asleep = False
                L.client_wake(self._c)
            while not done() and not self._closing:
                left = None if end is None else end - time.monotonic()
                if left is not None and left <= 0:
                    return
                if not self._lock.acquire(timeout=0.05):
                    continue  # another waiter drives: it completes ours too
                try:
                    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
                    local.driving = True
                    try:
                        while not done():
                            left = None if end is None else end - time.monotonic()
                            if left is not None and left <= 0:
                                break
                            if self._step(0.2 if left is None else min(left, 0.2), False):
                                break
                            if signal.sigpending() & _SIGNALS:
                                break  # delivered once the mask is back: Ctrl-C
                    finally:
                        local.driving = False
                        signal.pthread_sigmask(signal.SIG_SETMASK, old)
                finally:
                    self._lock.release()
                return
        finally:
            with turn:
                self._want -= 1
                turn.notify()

    def _complete(self):
        """Complete the futures that ended (taken from libzpar's done queue
        as blocks, with their statuses)."""
        c, fb, sb, pending, err = self._c, self._fb, self._sb, self._pending, self._err
        batches = None
        while True:
            k = L.client_take_done(c, fb, sb, _BUF)
            if not k:
                break
            for f, st in zip(fb[:k], sb[:k]):
                fut = pending.pop(f, None)
                if fut is None:
                    continue
                if type(fut) is tuple:  # an item of a map
                    batch, i, tid = fut
                    if st:
                        res = Result(self, f, tid, st)
                    else:  # a final error without a result
                        L.future_wait(f, 0, ctypes.byref(err))
                        res = from_c(err, L.errcode())
                        L.future_destroy(f)
                    if not batch.closed:
                        batch.results[i] = res
                    if batches is None:
                        batches = {batch}
                    else:
                        batches.add(batch)
                    continue
                if st:
                    res = Result(self, f, fut._cid, st)  # owns f from here
                    exc = TaskFailed(res) if fut._check and st != 1 else None
                else:
                    L.future_wait(f, 0, ctypes.byref(err))
                    res, exc = None, from_c(err, L.errcode())
                    L.future_destroy(f)
                try:
                    if exc is None:
                        fut.set_result(res)
                    else:
                        fut.set_exception(exc)
                except cf.InvalidStateError:  # cancelled meanwhile: dropped
                    pass
            if k < _BUF:
                break
        if batches:
            for batch in batches:
                with batch.cond:
                    batch.cond.notify_all()

    def _poll_failed(self, code, err):
        e = from_c(err, code)
        if code == _errno.EHOSTDOWN and self._pending:
            # lost for longer than the reconnect timeout: the waits end
            self._lost = e
            self._fail_pending(e)
        elif code != _errno.EHOSTDOWN:
            self._lost = e

    def _fail_pending(self, exc):
        pending, self._pending = self._pending, {}
        batches = set()
        for f, fut in pending.items():
            L.future_destroy(f)
            if type(fut) is tuple:
                fut[0].results[fut[1]] = exc
                batches.add(fut[0])
            elif not fut.done():
                fut.set_exception(exc)
        for batch in batches:
            with batch.cond:
                batch.cond.notify_all()

    def _release(self, f):
        """Free C future f (a Result's) in the driver, or at once when the
        client is gone (libzpar's futures outlive their client)."""
        if self._c is None:
            L.future_destroy(f)
        else:
            self._ops.append((L.future_destroy, f))

    def _push(self, *op):
        if self._closing:
            raise ZparError("the client is closed", _errno.ENOTCONN)
        self._ops.append(op)
        if self._asleep:  # one wake-up per sleep, however many submits
            self._asleep = False
            L.client_wake(self._c)

    def _check_thread(self):
        if threading.current_thread() is self._thread or getattr(self._local, "driving", False):
            raise ZparError("a zpar wait inside a callback of the same client would never end",
                            _errno.EDEADLK)

    def _call(self, fn, *args):
        """Run fn(*args) in the driver and return what it returns."""
        if threading.current_thread() is self._thread or getattr(self._local, "driving", False):
            return fn(*args)  # a callback: this thread holds the client already
        box = cf.Future()
        self._push(self._run_into, fn, args, box)
        return box.result()

    @staticmethod
    def _run_into(fn, args, box):
        try:
            box.set_result(fn(*args))
        except BaseException as e:
            box.set_exception(e)

    def _barrier(self):
        self._call(lambda: None)

    # ------------------------------------------------------------ tasks

    def _task(self, t, retries, timeout, after, targets, env, cwd, priority, stop_signal,
              output_cap, resources):
        try:
            bad = None
            if retries is not None and L.task_set_retries(t, int(retries)) < 0:
                bad = "retries"
            if timeout is not None and L.task_set_timeout(t, float(timeout)) < 0:
                bad = "timeout"
            if stop_signal is not None:
                sig, grace = stop_signal if isinstance(stop_signal, tuple) else (stop_signal, 1.0)
                if L.task_set_stop_signal(t, int(sig), float(grace)) < 0:
                    bad = "stop_signal"
            for dep in ([after] if isinstance(after, (Future, str, int)) else after or ()):
                if L.task_add_after(t, L.TaskId(_id_value(dep))) < 0:
                    bad = "after"
            for e in ([targets] if isinstance(targets, int) else targets or ()):
                if L.task_add_target(t, L.EngineId(int(e))) < 0:
                    bad = "targets"
            for k, v in (env or {}).items():
                if L.task_setenv(t, str(k).encode(), str(v).encode()) < 0:
                    bad = "env %s" % k
            if cwd is not None and L.task_set_cwd(t, str(cwd).encode()) < 0:
                bad = "cwd"
            if priority is not None and L.task_set_priority(t, int(priority)) < 0:
                bad = "priority"
            if output_cap is not None and L.task_set_output_cap(t, int(output_cap)) < 0:
                bad = "output_cap"
            if resources:
                self._resources(t, resources)
            if bad:
                raise ValueError("zpar: bad task option %s" % bad)
        except BaseException:
            L.task_destroy(t)
            raise
        return t

    @staticmethod
    def _resources(t, res):
        if L.task_set_resources is None:
            raise ZparError("this libzpar has no zpar_task_set_resources: cores=, gpus=, "
                            "memory=, ranks=, nodes=, ranks_per_node= need a newer zpar",
                            _errno.ENOSYS)
        r = L.Resources()
        for k, v in res.items():
            setattr(r, k, int(v))
        if L.task_set_resources(t, ctypes.byref(r)) < 0:
            raise ValueError("zpar: bad resources %r" % (res,))

    def submit(self, argv, *, retries=None, timeout=None, after=None, targets=None, env=None,
               cwd=None, priority=None, stop_signal=None, output_cap=None, engine=None,
               check=True, cores=None, gpus=None, memory=None, ranks=None, nodes=None,
               ranks_per_node=None):
        """Submit a command (argv: a list of strings; argv[0] searched in
        the engine's PATH) and return its Future.  Load-balanced unless
        engine= names one engine (a direct task).  retries: extra attempts;
        timeout: seconds; after: futures/ids that must succeed first;
        targets: the engines allowed; env: a dict added to the
        environment; cwd; priority (higher first); stop_signal: what the
        timeout sends first (signum, or (signum, grace seconds));
        output_cap: bytes of stdout/stderr kept; cores, gpus, memory
        (bytes), ranks, nodes, ranks_per_node: what the task needs (see
        doc/sweeps.md).  check=False: a task that fails gives its Result
        instead of raising TaskFailed."""
        if isinstance(argv, (str, bytes)):
            raise TypeError("argv must be a list of strings, e.g. ['sh', '-c', %r]" % (argv,))
        args = [a if isinstance(a, bytes) else str(a).encode() for a in argv]
        if not args:
            raise ValueError("argv is empty")
        arr = (ctypes.c_char_p * (len(args) + 1))(*args)
        t = L.task_command(arr)
        if not t:
            raise ZparError("cannot make the task", L.errcode())
        if (retries is None and timeout is None and after is None and targets is None
                and env is None and cwd is None and priority is None and stop_signal is None
                and output_cap is None and cores is None and gpus is None and memory is None
                and ranks is None and nodes is None and ranks_per_node is None):
            return self._submit(t, engine, check)  # the common case, kept short
        res = {k: v for k, v in (("cores", cores), ("gpus", gpus), ("memory", memory),
                                 ("ranks", ranks), ("nodes", nodes),
                                 ("ranks_per_node", ranks_per_node)) if v is not None}
        return self._submit(self._task(t, retries, timeout, after, targets, env, cwd, priority,
                                       stop_signal, output_cap, res), engine, check)

    def function(self, lib, symbol, input=b"", *, inline=False, engine=None, check=True,
                 **options):
        """Submit a C function task: the engine dlopen()s lib and calls
        symbol (a zpar_task_fn) with input (bytes); Result.output holds
        what it wrote with zpar_fn_output.  inline=True runs it in the
        engine's own process.  Other options as submit()."""
        data = bytes(input)
        t = L.task_function(str(lib).encode(), str(symbol).encode(), data, len(data))
        if not t:
            raise ZparError("cannot make the function task", L.errcode())
        if inline and L.task_set_inline(t, 1) < 0:
            L.task_destroy(t)
            raise ValueError("zpar: bad option inline")
        if not options:
            return self._submit(t, engine, check)
        res = {k: options.pop(k) for k in ("cores", "gpus", "memory", "ranks", "nodes",
                                            "ranks_per_node") if options.get(k) is not None}
        keys = ("retries", "timeout", "after", "targets", "env", "cwd", "priority",
                "stop_signal", "output_cap")
        for k in options:
            if k not in keys:
                raise TypeError("function() got an unexpected keyword argument %r" % k)
        return self._submit(self._task(t, *(options.get(k) for k in keys), res), engine, check)

    def _submit(self, t, engine, check):
        fut = Future(self, check)
        try:
            if engine is None:
                self._push(None, t, fut)  # with the others in a row (_do_submits)
            else:
                self._push(self._do_submit, t, engine, fut)
        except BaseException:
            L.task_destroy(t)
            raise
        return fut

    def _do_submits(self, subs):
        """Submit load-balanced tasks [(None, task, future)...] with one
        zpar_submit_many; each future gets its id, or the error of its own
        submit."""
        destroy, tb, fb, ib, pending = L.task_destroy, self._tb, self._fb, self._ib, self._pending
        lost = self._lost
        if lost is not None and lost.errno == _errno.EHOSTDOWN:
            lost = None
        todo = []
        for op in subs:
            fut = op[2]
            if fut._state in _CANCELLED or lost is not None:
                destroy(op[1])
                if lost is not None:
                    _fail(fut, lost)
            else:
                todo.append(op)
        while todo:
            n = len(todo)
            tb[:n] = [op[1] for op in todo]
            k = L.submit_many(self._c, tb, n, fb, ib, ctypes.byref(self._err))
            for op, f, tid in zip(todo, fb[:k], ib[:k]):
                fut = op[2]
                fut._cid = tid
                pending[f] = fut
                destroy(op[1])
            if k < n:  # todo[k] failed: it gets its error, the rest go on
                fut = todo[k][2]
                destroy(todo[k][1])
                _fail(fut, from_c(self._err, L.errcode(), "submit"))
                k += 1
            todo = todo[k:]

    def _do_submit(self, t, engine, fut):
        err = self._err
        try:
            if fut.cancelled():
                return
            if self._lost is not None and self._lost.errno != _errno.EHOSTDOWN:
                raise self._lost
            if engine is None:
                f = L.submit(self._c, t, ctypes.byref(err))
            else:
                f = L.submit_to(self._c, L.EngineId(int(engine)), t, ctypes.byref(err))
            if not f:
                raise from_c(err, L.errcode(), "submit")
        finally:
            L.task_destroy(t)
        fut._cid = L.future_id(f).id
        self._pending[f] = fut  # done at once (a held task aborted): in the done queue

    def _do_abort(self, fut):
        if fut._cid:
            L.client_abort(self._c, L.TaskId(fut._cid), ctypes.byref(self._err))

    def map(self, argv_template, iterable, *, timeout=None, **options):
        """Run argv_template once per item, like Executor.map: every task is
        submitted at once, results come back in order (an iterator of
        Results; the first task that failed raises TaskFailed there, the
        ones after it still run).  Each string of the template is
        formatted with the item: a dict fills {name} fields, a tuple {0}
        {1}..., anything else {} / {0}.  Options as submit(); with none,
        the tasks go without a Future each (less work per task).  Closing
        the iterator early (or Ctrl-C in it) aborts the tasks not started."""
        argvs = []
        for item in iterable:
            if isinstance(item, dict):
                argv = [a.format(**item) for a in argv_template]
            elif isinstance(item, tuple):
                argv = [a.format(*item) for a in argv_template]
            else:
                argv = [a.format(item) for a in argv_template]
            argvs.append(argv)
        if options:
            futs = [self.submit(argv, **options) for argv in argvs]
            return self._map_futures(futs, timeout)
        batch = _Batch(len(argvs))
        self._push(self._do_map, [[a.encode() for a in argv] for argv in argvs], batch)
        return self._map_batch(batch, timeout)

    @staticmethod
    def _map_futures(futs, timeout):
        try:
            for f in futs:
                yield f.result(timeout)
        finally:
            for f in futs:
                f.cancel()

    def _map_batch(self, batch, timeout):
        self._check_thread()
        end = None if timeout is None else time.monotonic() + timeout
        results, cond, k = batch.results, batch.cond, 0
        try:
            for k in range(batch.n):
                res = results[k]
                if res is None:
                    left = None if end is None else max(0.0, end - time.monotonic())
                    self._wait_driving(lambda: results[k] is not None, left)
                    with cond:
                        while results[k] is None:
                            left = None if end is None else end - time.monotonic()
                            if left is not None and left <= 0:
                                raise cf.TimeoutError()
                            cond.wait(left)
                        res = results[k]
                results[k] = _TAKEN  # the caller owns it now
                if isinstance(res, BaseException):
                    raise res
                if res._st != 1:
                    raise TaskFailed(res)
                yield res
            k = batch.n
        finally:
            if k < batch.n:
                batch.closed = True
                self._push(self._do_map_abort, batch)

    def _do_map(self, argvs, batch):
        try:
            self._do_map_items(argvs, batch)
        except BaseException as e:  # what was not submitted fails with it
            for i in range(batch.n):
                if not batch.tids[i] and batch.results[i] is None:
                    batch.results[i] = e
        with batch.cond:
            batch.cond.notify_all()

    def _do_map_items(self, argvs, batch):
        pending, tb, fb, ib = self._pending, self._tb, self._fb, self._ib
        destroy, command = L.task_destroy, L.task_command
        arrays = {}
        i, n = 0, len(argvs)
        while i < n:
            if batch.closed:
                batch.tids[i:] = [0] * (batch.n - i)
                break
            idx, ts = [], []
            for j in range(i, min(n, i + _BUF)):
                argv = argvs[j]
                arr_t = arrays.get(len(argv))
                if arr_t is None:
                    arr_t = arrays[len(argv)] = ctypes.c_char_p * (len(argv) + 1)
                t = command(arr_t(*argv))
                if t:
                    idx.append(j)
                    ts.append(t)
                else:
                    batch.results[j] = ZparError("cannot make the task", L.errcode())
            i = min(n, i + _BUF)
            while ts:
                m = len(ts)
                tb[:m] = ts
                k = L.submit_many(self._c, tb, m, fb, ib, ctypes.byref(self._err))
                for j, f, tid in zip(idx, fb[:k], ib[:k]):
                    batch.tids[j] = tid
                    pending[f] = (batch, j, tid)
                for t in ts[:k]:
                    destroy(t)
                if k < m:  # ts[k] failed: its item gets the error, the rest go on
                    batch.results[idx[k]] = from_c(self._err, L.errcode(), "submit")
                    destroy(ts[k])
                    k += 1
                idx, ts = idx[k:], ts[k:]

    def _do_map_abort(self, batch):
        for i, tid in enumerate(batch.tids):
            if tid and batch.results[i] is None:
                L.client_abort(self._c, L.TaskId(tid), ctypes.byref(self._err))

    def px(self, argv, *, targets=None, timeout=None, **options):
        """Run argv on every live engine (or on the engines listed in
        targets) at once; wait for all and return {engine: Result}, in
        engine order (failed tasks included: check result.ok)."""
        engines = targets if targets is not None else [
            e["id"] for e in self.engines() if e["state"] != "dead"]
        futs = {e: self.submit(argv, engine=e, check=False, **options) for e in engines}
        done, _ = cf.wait(list(futs.values()), timeout=timeout)
        return {e: f.result(0) for e, f in sorted(futs.items()) if f in done}

    # ------------------------------------------------------------ queries

    def _q_engines(self):
        lst = ctypes.POINTER(L.EngineInfo)()
        n = ctypes.c_size_t(0)
        if L.client_engines(self._c, ctypes.byref(lst), ctypes.byref(n),
                            ctypes.byref(self._err)) < 0:
            raise from_c(self._err, L.errcode(), "engines")
        try:
            return [{"id": lst[i].id.id, "host": lst[i].host.decode("utf-8", "replace"),
                     "pid": lst[i].pid, "rank": lst[i].rank, "state": lst[i].state.decode(),
                     "outstanding": lst[i].outstanding} for i in range(n.value)]
        finally:
            L.free(lst)

    def engines(self):
        """The engines the controller knows, as dicts (id, host, pid, rank,
        state "idle"/"busy"/"dead", outstanding)."""
        return self._call(self._q_engines)

    def _q_status(self):
        st = L.QueueStatus()
        if L.client_queue_status(self._c, ctypes.byref(st), ctypes.byref(self._err)) < 0:
            raise from_c(self._err, L.errcode(), "status")
        d = {k: getattr(st, k) for k, _ in L.QueueStatus._fields_}
        d["records_error"] = st.records_error.decode("utf-8", "replace")
        d["engines"] = self._q_engines()
        d["outstanding"] = len(self._pending)
        return d

    def status(self):
        """The controller's counts (pending, running, completed, failed,
        dropped, duplicates, records_*), the engines (a list of dicts) and
        this client's unfinished tasks (outstanding), as one dict."""
        return self._call(self._q_status)

    def _q_wait_engines(self, n, timeout):
        k = L.client_wait_engines(self._c, n, timeout, ctypes.byref(self._err))
        if k < 0:
            raise from_c(self._err, L.errcode())
        return k

    def wait_engines(self, n, timeout=60.0):
        """Wait until n engines are alive; their number, or ZparError
        (ETIMEDOUT: zpar says how many came)."""
        return self._call(self._q_wait_engines, int(n), float(timeout))

    def abort(self, task):
        """Abort a queued task (a Future, or an id "3.17" of any client)."""
        tid = _id_value(task)

        def op():
            if L.client_abort(self._c, L.TaskId(tid), ctypes.byref(self._err)) < 0:
                raise from_c(self._err, L.errcode(), "abort")

        self._call(op)

    def interrupt(self, engine):
        """Interrupt (SIGINT, then kill) the task engine runs now."""

        def op():
            if L.client_interrupt(self._c, L.EngineId(int(engine)), ctypes.byref(self._err)) < 0:
                raise from_c(self._err, L.errcode(), "interrupt")

        self._call(op)

    def shutdown(self):
        """Stop the whole cluster (controller and engines)."""

        def op():
            if L.client_shutdown(self._c, ctypes.byref(self._err)) < 0:
                raise from_c(self._err, L.errcode(), "shutdown")

        self._call(op)

    # ------------------------------------------------------------ output

    def _on_output(self, arg, engine, task, stream, data, n):
        cb = self._out_cb
        if cb is not None:
            try:
                off = L.client_output_offset(self._c)
                cb(
                    Output(
                        engine.id,
                        _id_text(task.id),
                        stream,
                        ctypes.string_at(data, n),
                        off if off >= 0 else None,
                    )
                )
            except Exception:  # a callback's error must not stop the client
                pass

    def on_output(self, callback, mine_only=False):
        """Call callback(Output) for every piece of output the engines
        stream (this client's tasks only with mine_only), from the
        client's thread: keep it short, and do not wait on futures in it.
        None unsubscribes."""

        def op():
            self._out_cb = callback
            cb = self._output_c if callback is not None else ctypes.cast(None, L.OUTPUT_F)
            if L.client_on_output(self._c, cb, None, 1 if mine_only else 0) < 0:
                raise ZparError("cannot subscribe to the output", L.errcode())

        self._call(op)

    def output(self, mine_only=True):
        """An OutputStream: subscribes at once (make it before submitting;
        the first pieces can still be missed while the subscription
        reaches the engines: see Output.offset), yields Output tuples as
        they arrive, unsubscribes when closed:

            with c.output() as out:
                fs = [c.submit(...) for ...]
                for o in out.until(fs):
                    print(o.engine, o.data)
        """
        return OutputStream(self, mine_only)

    # ------------------------------------------------------------ the end

    def close(self):
        """Send what is queued, disconnect and stop the client's thread.
        Futures not done fail with ZparError (ENOTCONN)."""
        if self._closed:
            return
        self._closed = True
        if threading.current_thread() is self._thread or getattr(self._local, "driving", False):
            self._closing = True  # from a callback: the client's thread ends it
            return
        self._ops.append((self._set_closing,))
        if self._asleep and self._c:
            L.client_wake(self._c)
        self._thread.join()

    def _set_closing(self):
        self._closing = True

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return "<zpar.Client %s %s>" % (self.id, self.connection_file)
