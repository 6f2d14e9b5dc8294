"""Lambda's memory limit offline: an environment that holds more than its function's
MemorySize is stopped, as Lambda stops it.

On Lambda an execution environment cannot use more memory than the function's
MemorySize; one that tries is killed (SIGKILL), the invoke fails with
``Runtime.OutOfMemory`` and the REPORT line says ``Status: error  Error Type:
Runtime.OutOfMemory`` with Max Memory Used at the limit.

Offline, one thread of the server (:class:`MemoryWatcher`) reads the resident
memory of each environment that is running an init or an invoke, every
``SQSLAB_MEMORY_POLL_MS`` milliseconds (5 by default): the worker's RSS plus that
of every process it started (found through ``/proc/PID/task/TID/children``, looked
up every tenth poll). When
the sum passes the limit it kills the environment's process group at once (the
worker and what the handler started) and marks the watch as exceeded; the
runtime then answers Lambda's error and the environment is not reused.

Why polling from outside: it needs no privilege (cgroups would need a delegated
hierarchy, rarely writable on a laptop, in a container or on Binder);
``setrlimit(RLIMIT_AS)`` caps address space, not memory, so Python's thread
stacks and arenas would hit it long before 128 MB of use, and it raises a
catchable MemoryError where Lambda kills. A poll is a few small reads of
``/proc``, off the invoke's path, so a warm invoke is not slowed; a handler
allocating a few GB/s overshoots the limit by at most a few milliseconds' worth
before it is stopped.

Between invokes Lambda freezes an environment, so nothing is watched while one
is idle; a process a handler left running and allocating is caught at the next
invoke. Where there is no ``/proc`` (macOS, Windows) memory is measured (Max
Memory Used) but not capped: :data:`SUPPORTED` says which.
"""

from __future__ import annotations

import os
import sys
import threading
import time

from sqslab.offline import settings

CHILDREN_EVERY = 10  # polls between two looks for the processes a handler started
SUPPORTED = sys.platform.startswith("linux") and os.path.isdir("/proc/self/task")
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def descendants(pid: int) -> list[int]:
    """The processes ``pid`` started, and theirs, through ``/proc/PID/task/TID/children``."""
    found, stack = [], [pid]
    while stack:
        p = stack.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/children", "rb") as fh:
                    kids = [int(c) for c in fh.read().split()]
            except (OSError, ValueError):
                continue
            found.extend(kids)
            stack.extend(kids)
    return found


def rss(pids: list[int]) -> int | None:
    """Resident bytes of the processes ``pids`` together; None once the first one is gone."""
    total = 0
    for i, p in enumerate(pids):
        try:
            with open(f"/proc/{p}/statm", "rb") as fh:
                total += int(fh.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            if i == 0:
                return None
    return total


def tree_rss(pid: int) -> int | None:
    """Resident bytes of process ``pid`` and all its descendants (None once ``pid`` is gone)."""
    return rss([pid, *descendants(pid)])


def peak_rss_mb(pid: int) -> int | None:
    """The peak resident memory of process ``pid`` in MB (VmHWM), while it lives; None elsewhere."""
    try:
        with open(f"/proc/{pid}/status", "rb") as fh:
            for line in fh:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) // 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


class Watch:
    """One environment under watch while it runs an init or an invoke."""

    __slots__ = ("env", "limit_bytes", "exceeded", "peak_bytes", "pids", "polls")

    def __init__(self, env, limit_mb: int):
        self.env = env
        self.limit_bytes = int(limit_mb) * 1024 * 1024
        self.exceeded = False
        self.peak_bytes = 0
        self.pids = [env.proc.pid]
        self.polls = 0


class MemoryWatcher:
    """The server's one memory poller; it sleeps while no environment is running."""

    def __init__(self, poll_s: float | None = None):
        self.poll_s = settings.MEMORY_POLL.read() / 1000.0 if poll_s is None else poll_s
        self._watches: set[Watch] = set()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None
        self.stopped = 0  # environments stopped for going over their memory

    def watch(self, env, limit_mb: int) -> Watch:
        w = Watch(env, limit_mb)
        if not SUPPORTED:
            return w
        with self._cond:
            self._watches.add(w)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="memory-watcher", daemon=True)
                self._thread.start()
            self._cond.notify()
        return w

    def unwatch(self, w: Watch) -> None:
        with self._cond:
            self._watches.discard(w)

    def check(self, w: Watch) -> None:
        """One look at ``w``'s environment: stop it when it holds more than its limit."""
        if w.polls % CHILDREN_EVERY == 0:  # the process tree changes rarely: looked up every 50 ms
            w.pids = [w.env.proc.pid, *descendants(w.env.proc.pid)]
        w.polls += 1
        used = rss(w.pids)
        if used is None:
            return
        w.peak_bytes = max(w.peak_bytes, used)
        if used > w.limit_bytes and not w.exceeded:
            with self._cond:  # only while its invoke is still running: unwatch() ends that
                if w not in self._watches:
                    return
                w.exceeded = True
                self.stopped += 1
                w.env._kill_group()  # the worker and all it started, at once (SIGKILL)

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._watches:
                    self._cond.wait()
                watches = list(self._watches)
            for w in watches:
                if not w.exceeded:
                    self.check(w)
            time.sleep(self.poll_s)
