"""libzpar through ctypes: finding the library and the prototypes.

Only what the Python client calls is declared.  Ids (zpar_task_id_t,
zpar_engine_id_t) are one-member structs in C and are declared as such, so
that ctypes passes them as the platform's ABI says.
"""

import ctypes
import ctypes.util
import errno as _errno
import os

from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char,
    c_char_p,
    c_double,
    c_int,
    c_int64,
    c_long,
    c_size_t,
    c_uint,
    c_uint32,
    c_uint64,
    c_void_p,
)

ERROR_TEXT_MAX = 256


CLIENT_NO_STALE_CHECK = 1
CLIENT_NO_BATCH = 2
CLIENT_WAKEABLE = 4


class Error(Structure):
    _fields_ = [("text", c_char * ERROR_TEXT_MAX)]


class TaskId(Structure):
    _fields_ = [("id", c_uint64)]


class EngineId(Structure):
    _fields_ = [("id", c_uint32)]


class ClientOpts(Structure):
    _fields_ = [
        ("size", c_size_t),
        ("connection_file", c_char_p),
        ("cluster_dir", c_char_p),
        ("connect_timeout", c_double),
        ("replay_window", c_double),
        ("ping_period", c_double),
        ("flags", c_uint),
        ("reconnect_timeout", c_double),
    ]


class EngineInfo(Structure):
    _fields_ = [
        ("id", EngineId),
        ("host", c_char * 256),
        ("pid", c_int),
        ("rank", c_int),
        ("state", c_char * 16),
        ("outstanding", c_uint),
    ]


class QueueStatus(Structure):
    _fields_ = [
        ("pending", c_uint64),
        ("running", c_uint64),
        ("completed", c_uint64),
        ("failed", c_uint64),
        ("dropped", c_uint64),
        ("records_unsaved_since_us", c_uint64),
        ("records_unsaved", c_uint64),
        ("records_unsaved_bytes", c_uint64),
        ("records_limit_bytes", c_uint64),
        ("records_refusing", c_int),
        ("records_error", c_char * 256),
        ("duplicates", c_uint64),
    ]


class Resources(Structure):
    """zpar_resources_t (zpar_task_set_resources), when the library has it."""

    _fields_ = [
        ("cores", c_uint),
        ("gpus", c_uint),
        ("memory", c_uint64),
        ("ranks", c_uint),
        ("nodes", c_uint),
        ("ranks_per_node", c_uint),
    ]


DONE_F = CFUNCTYPE(None, c_void_p, c_void_p)
OUTPUT_F = CFUNCTYPE(None, c_void_p, EngineId, TaskId, c_int, c_void_p, c_size_t)


def _candidates():
    env = os.environ.get("ZPAR_LIBRARY")
    if env:
        yield env
        return
    try:
        from . import _config  # written by make install

        yield os.path.join(_config.LIBDIR, "libzpar.so.0")
    except ImportError:
        pass
    yield "libzpar.so.0"
    found = ctypes.util.find_library("zpar")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path, use_errno=True), path
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
    raise ImportError(
        "zpar: cannot load libzpar: tried " + "; ".join(tried) + ": install zpar "
        "(make install), set LD_LIBRARY_PATH to its lib directory, or ZPAR_LIBRARY "
        "to the library's path"
    )


lib, path = _load()
# the same library again, for the calls that never wait: through PyDLL they
# keep the GIL (no release and re-acquire around each of them, and the
# program's threads and the client's do not hand the GIL to each other at
# every call); the calls that may wait on the network go through lib
quick = ctypes.PyDLL(path, use_errno=True)


def _proto(name, restype, *argtypes, optional=False, blocking=False):
    try:
        fn = getattr(lib if blocking else quick, name)
    except AttributeError:
        if optional:
            return None
        raise
    fn.restype = restype
    fn.argtypes = list(argtypes)
    return fn


E = POINTER(Error)
vp = c_void_p

status_name = _proto("zpar_status_name", c_char_p, c_int)
task_id_format = _proto("zpar_task_id_format", None, TaskId, c_char_p, c_size_t)
task_id_parse = _proto("zpar_task_id_parse", c_int, c_char_p, POINTER(TaskId))

client_opts_init = _proto("zpar_client_opts_init", None, POINTER(ClientOpts))
client_connect_opts = _proto("zpar_client_connect_opts", vp, POINTER(ClientOpts), E, blocking=True)
client_connection_file = _proto("zpar_client_connection_file", c_char_p, vp)
client_destroy = _proto("zpar_client_destroy", None, vp, blocking=True)
client_id = _proto("zpar_client_id", c_uint32, vp)
client_poll = _proto("zpar_client_poll", c_int, vp, c_double, E, blocking=True)
client_on_output = _proto("zpar_client_on_output", c_int, vp, OUTPUT_F, vp, c_int)
client_output_offset = _proto("zpar_client_output_offset", c_int64, vp)
client_on_done = _proto("zpar_client_on_done", c_int, vp, DONE_F, vp)
client_wake = _proto("zpar_client_wake", c_int, vp)

task_command = _proto("zpar_task_command", vp, POINTER(c_char_p))
task_function = _proto("zpar_task_function", vp, c_char_p, c_char_p, c_char_p, c_size_t)
task_destroy = _proto("zpar_task_destroy", None, vp)
task_setenv = _proto("zpar_task_setenv", c_int, vp, c_char_p, c_char_p)
task_set_cwd = _proto("zpar_task_set_cwd", c_int, vp, c_char_p)
task_set_timeout = _proto("zpar_task_set_timeout", c_int, vp, c_double)
task_set_stop_signal = _proto("zpar_task_set_stop_signal", c_int, vp, c_int, c_double)
task_set_retries = _proto("zpar_task_set_retries", c_int, vp, c_uint)
task_add_after = _proto("zpar_task_add_after", c_int, vp, TaskId)
task_add_target = _proto("zpar_task_add_target", c_int, vp, EngineId)
task_set_priority = _proto("zpar_task_set_priority", c_int, vp, c_int)
task_set_inline = _proto("zpar_task_set_inline", c_int, vp, c_int)
task_set_output_cap = _proto("zpar_task_set_output_cap", c_int, vp, c_size_t)
task_set_resources = _proto(
    "zpar_task_set_resources", c_int, vp, POINTER(Resources), optional=True
)

submit = _proto("zpar_submit", vp, vp, vp, E)
submit_to = _proto("zpar_submit_to", vp, vp, EngineId, vp, E)
flush = _proto("zpar_flush", c_int, vp, E)
# ids as plain uint64s: zpar_task_id_t is one uint64_t
submit_many = _proto("zpar_submit_many", c_size_t, vp, vp, c_size_t, vp, vp, E)
client_collect_done = _proto("zpar_client_collect_done", c_int, vp, c_int)
client_take_done = _proto("zpar_client_take_done", c_size_t, vp, vp, vp, c_size_t)
future_id = _proto("zpar_future_id", TaskId, vp)
future_done = _proto("zpar_future_done", c_int, vp)
future_wait = _proto("zpar_future_wait", c_int, vp, c_double, E, blocking=True)
future_result = _proto("zpar_future_result", vp, vp)
future_destroy = _proto("zpar_future_destroy", None, vp)
client_future_for = _proto("zpar_client_future_for", vp, vp, TaskId, E, blocking=True)
client_sync = _proto("zpar_client_sync", c_int, vp, c_double, E, blocking=True)

result_status = _proto("zpar_result_status", c_int, vp)

# zpar_status_t -> its name, as the library spells it ("ok", "failed"...)
STATUS_NAMES = {i: status_name(i).decode() for i in range(16) if status_name(i)}
result_exit_code = _proto("zpar_result_exit_code", c_int, vp)
result_signal = _proto("zpar_result_signal", c_int, vp)
result_wall = _proto("zpar_result_wall", c_double, vp)
result_cpu = _proto("zpar_result_cpu", c_double, vp)
result_maxrss_kb = _proto("zpar_result_maxrss_kb", c_long, vp)
result_engine = _proto("zpar_result_engine", EngineId, vp)
result_host = _proto("zpar_result_host", c_char_p, vp)
result_attempts = _proto("zpar_result_attempts", c_uint, vp)
result_error = _proto("zpar_result_error", c_char_p, vp)
result_stdout = _proto("zpar_result_stdout", c_void_p, vp, POINTER(c_size_t))
result_stderr = _proto("zpar_result_stderr", c_void_p, vp, POINTER(c_size_t))
result_output = _proto("zpar_result_output", c_void_p, vp, POINTER(c_size_t))
result_truncated = _proto("zpar_result_truncated", c_int, vp)
result_summary = _proto("zpar_result_summary", c_int, vp, c_char_p, c_size_t)

client_engines = _proto(
    "zpar_client_engines", c_int, vp, POINTER(POINTER(EngineInfo)), POINTER(c_size_t), E
, blocking=True)
client_queue_status = _proto("zpar_client_queue_status", c_int, vp, POINTER(QueueStatus), E, blocking=True)
client_wait_engines = _proto("zpar_client_wait_engines", c_int, vp, c_uint, c_double, E, blocking=True)
client_abort = _proto("zpar_client_abort", c_int, vp, TaskId, E, blocking=True)
client_interrupt = _proto("zpar_client_interrupt", c_int, vp, EngineId, E, blocking=True)
client_shutdown = _proto("zpar_client_shutdown", c_int, vp, E, blocking=True)

_libc = ctypes.CDLL(None)
free = _libc.free
free.restype = None
free.argtypes = [c_void_p]


def errcode():
    """The errno the last call through lib left (ctypes' private copy)."""
    return ctypes.get_errno()


def errname(code):
    return _errno.errorcode.get(code, str(code))
