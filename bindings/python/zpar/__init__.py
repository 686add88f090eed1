"""zpar: the Python client of a zpar cluster (a thin layer over libzpar).

    import zpar
    with zpar.Client() as c:                 # the cluster the CLI would use
        f = c.submit(["hostname"])           # a concurrent.futures.Future
        print(f.result().stdout)
        for r in c.map(["echo", "{}"], range(3)):
            print(r.stdout)

See doc/python.md.
"""

from . import _lib
from .client import Client, Future, Output, OutputStream, Result
from .errors import ConnectError, ControllerLost, TaskFailed, ZparError
from .sweep import Sweep, SweepRun

__all__ = [
    "Client", "Future", "Output", "OutputStream", "Result", "Sweep", "SweepRun", "ZparError", "ConnectError",
    "ControllerLost", "TaskFailed", "library_path", "has_resources",
]
__version__ = "0.1.0"

#: the libzpar this package loaded
library_path = _lib.path
#: does that libzpar take cores=/gpus=/memory=/ranks= (zpar_task_set_resources)
has_resources = _lib.task_set_resources is not None
