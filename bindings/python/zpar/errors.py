"""The exceptions of the zpar client: each carries zpar's own one-line text."""

import errno as _errno


class ZparError(Exception):
    """A zpar call failed.  .errno is the C library's errno value (0 when
    none applies), .text zpar's explanation (what went wrong and, where
    there is one, the fix)."""

    def __init__(self, text, errno=0):
        super().__init__(text)
        self.errno = errno
        self.text = text

    def __str__(self):
        if self.errno:
            return "%s [%s]" % (self.text, _errno.errorcode.get(self.errno, self.errno))
        return self.text


class ConnectError(ZparError):
    """No cluster to connect to: no connection file (start one with `zpar
    cluster start`), a stale one, or a controller that does not answer."""


class ControllerLost(ZparError):
    """The controller stopped answering and did not come back within the
    client's reconnect timeout (EHOSTDOWN)."""


class TaskFailed(ZparError):
    """A task ended with a status other than ok (failed, signaled, timeout,
    engine-died, error, aborted, dependency).  .result is its Result; the
    text is zpar's summary of it."""

    def __init__(self, result):
        super().__init__(result.summary, 0)
        self.result = result


def from_c(err, code, what=None):
    """A ZparError (or the fitting subclass) from a zpar_error_t and errno."""
    text = err.text.decode("utf-8", "replace") if err is not None else ""
    if not text:
        text = _errno.errorcode.get(code, "error %d" % code) if code else "failed"
    if what:
        text = "%s: %s" % (what, text)
    if code == _errno.EHOSTDOWN:
        return ControllerLost(text, code)
    if code in (_errno.ENOENT, _errno.ECONNREFUSED, _errno.EHOSTUNREACH) and what == "connect":
        return ConnectError(text, code)
    return ZparError(text, code)
