"""Start, stop and inspect the offline server (the client side; the server itself is
:mod:`sqslab.offline.server.process`).

Every failure is one clear line: a port taken by another program, a server that
died (its state file is left behind as the evidence, and the next start says what
was lost), a server that does not answer. Nothing here waits without a deadline,
and nothing here signals a process that is not the server this state directory
started: the state file holds a random token that the server also carries on its
command line, and a process whose command line lacks it is never touched.

The server process gets an environment built from scratch (:func:`server_environment`):
none of the caller's AWS variables or proxy settings, HOME inside the state
directory and null AWS configuration files, so a user's AWS configuration (even a
broken one) is never read, and nothing of it is held by the server.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict
from pathlib import Path

from sqslab.base.errors import SqslabError
from sqslab.offline.server import info as _info
from sqslab.offline.server.info import (  # noqa: F401 (callers read these here too)
    DEFAULT_PORT,
    HOST,
    RECLAIM_PATH,
    STATUS_PATH,
    ServerInfo,
    check_port,
    default_port,
    log_file,
    state_dir,
    state_file,
)

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0
PROBE_TIMEOUT_S = 3.0  # a server that has not answered its status probe by then is hung
SERVER_MODULE = "sqslab.offline.server.process"
LOST = "its stacks, queues and messages are gone"


def read_state() -> ServerInfo | None:
    """The state file's server; when the file is damaged, the server found by its process instead
    (:func:`_find_own_server`), so a damaged file never leaves a running server out of reach."""
    return _info.read_state(recover=_find_own_server)


def _find_own_server() -> ServerInfo | None:
    """This state directory's server, found without its state file: a process whose command line is
    the server's and whose SQSLAB_HOME is this state directory's (Linux's /proc; None elsewhere)."""
    import importlib.metadata
    import platform

    proc, home = Path("/proc"), str(state_dir().resolve().parent)  # as server_environment gives it
    if not (proc / "self" / "environ").exists():
        return None
    for entry in proc.iterdir():
        if not entry.name.isdigit() or not _pid_alive(int(entry.name)):
            continue
        args = _command_line(int(entry.name))
        if SERVER_MODULE not in args or "--serve" not in args:
            continue
        try:
            env = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"SQSLAB_HOME={home}".encode() not in env:
            continue
        port = _listening_port(int(entry.name))
        if port is None:
            continue
        return ServerInfo(pid=int(entry.name), host=HOST, port=port, started=entry.stat().st_ctime,
                          moto_version=importlib.metadata.version("moto"), python=platform.python_version(),
                          state_dir=str(state_dir()),
                          token=next((a.split("=", 1)[1] for a in args if a.startswith("--token=")), ""))
    return None


def _listening_port(pid: int) -> int | None:
    """The loopback port process ``pid`` listens on, from its sockets and /proc/PID/net/tcp."""
    fds = Path(f"/proc/{pid}/fd")
    try:
        inodes = {os.readlink(fd)[8:-1] for fd in fds.iterdir() if os.readlink(fd).startswith("socket:[")}
        table = Path(f"/proc/{pid}/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return None
    for line in table:
        fields = line.split()
        if len(fields) > 9 and fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
            return int(fields[1].rsplit(":", 1)[1], 16)
    return None


def _remove_state(info: ServerInfo) -> None:
    """Remove the state file if it still describes ``info`` (a newer server may have replaced it)."""
    current = read_state()
    if current is not None and current.pid == info.pid and current.token == info.token:
        state_file().unlink(missing_ok=True)


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _pid_alive(pid: int) -> bool:
    _reap(pid)  # a server started by this very process stays a zombie until reaped
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie has ended; whoever adopted it (init, or a container's first process) may reap it late.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill(pid, 0) is all there is
    return stat.rpartition(")")[2].split()[:1] not in (["Z"], ["X"])


def _command_line(pid: int) -> list[str]:
    """The arguments of process ``pid``; empty when it is gone, a zombie or unreadable."""
    proc = Path("/proc")
    if (proc / "self" / "cmdline").exists():
        try:
            raw = (proc / str(pid) / "cmdline").read_bytes()
        except OSError:
            return []
        return [a.decode(errors="replace") for a in raw.split(b"\0") if a]
    try:  # no /proc (macOS): ask ps
        out = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return []
    return out.split()


def _is_ours(info: ServerInfo) -> bool:
    """Whether process ``info.pid`` is the server that wrote ``info``, known from its
    command line (it carries the state file's token), without asking it over HTTP."""
    args = _command_line(info.pid)
    if SERVER_MODULE not in args or "--serve" not in args:
        return False
    return not info.token or f"--token={info.token}" in args


def _http_json(url: str, timeout: float = 2.0, headers: dict | None = None, method: str = "GET") -> dict:
    # No proxy handler: a proxy in the environment must never see loopback traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    data = b"" if method == "POST" else None
    with opener.open(urllib.request.Request(url, data=data, headers=headers or {}, method=method),
                     timeout=timeout) as resp:
        return json.loads(resp.read().decode())


def _signed_headers(url: str, method: str = "GET") -> dict:
    """Headers signing a request to one of the server's own routes with this state directory's
    credentials (none when they cannot be read: the status route then tells the pid only)."""
    from sqslab.offline.auth import identity, sigv4

    try:
        creds = identity.load_credentials(state_dir())
    except SqslabError:
        return {}
    return sigv4.sign(method, url, access_key=creds.access_key, secret=creds.secret_key,
                     region=identity.REGION, service="sqslab")


def reclaim_idle(timeout: float = 10.0) -> int | None:
    """Ask the running server to stop its idle execution environments (their functions' next invokes
    are cold starts, as Lambda may make them at any time); how many it stopped, or None when no server
    of this state directory runs. A chapter's setup calls it, so a learner holds one chapter's
    environments at a time."""
    info = read_state()
    if info is None or not _pid_alive(info.pid):
        return None
    url = info.endpoint_url + RECLAIM_PATH
    try:
        return int(_http_json(url, timeout, _signed_headers(url, "POST"), method="POST").get("stopped", 0))
    except (OSError, ValueError, urllib.error.URLError):
        return None


def probe(info: ServerInfo, timeout: float = PROBE_TIMEOUT_S) -> dict | None:
    """The server's own status document, or None if what answers is not this server.

    The request is signed: the server answers an unsigned one with its pid only."""
    url = info.endpoint_url + STATUS_PATH
    try:
        doc = _http_json(url, timeout=timeout, headers=_signed_headers(url))
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return doc if doc.get("pid") == info.pid else None


def _check(info: ServerInfo, timeout: float = PROBE_TIMEOUT_S) -> tuple[str, dict | None]:
    """``("running", status)``, ``("hung", None)`` (alive and ours, but no answer in time)
    or ``("dead", None)`` (gone, or its pid now belongs to another program)."""
    if not _pid_alive(info.pid):
        return "dead", None
    doc = probe(info, timeout)
    if doc is not None:
        return "running", doc
    return ("hung", None) if _is_ours(info) else ("dead", None)


def _lost_line(info: ServerInfo) -> str:
    return f"the offline server (pid {info.pid}) had stopped unexpectedly; {LOST}: run `sqslab deploy` again"


def _hung_line(info: ServerInfo) -> str:
    return (
        f"the offline server (pid {info.pid}) does not answer within {PROBE_TIMEOUT_S:.0f} s: "
        "stop it with `sqslab offline stop`"
    )


def notice(line: str) -> None:
    """One line for the user, beside the command's own output (stderr; stdout in a notebook)."""
    from sqslab.base.progress import stream

    print(f"sqslab: {line}", file=stream(), flush=True)


def status() -> dict:
    """A status report: ``running`` plus endpoint, pid, uptime, versions and notes."""
    from sqslab.offline import state as private

    private.ensure(create=False)
    info = read_state()
    if info is None:
        return {"running": False, "state_dir": str(state_dir()), "note": "no offline server is running"}
    state, doc = _check(info)
    if state != "running":
        # A dead server's state file stays: it is how the next start knows what was lost.
        note = _hung_line(info) if state == "hung" else f"{_lost_line(info)} (its log: {log_file()})"
        return {"running": False, "state_dir": str(state_dir()), "pid": info.pid, "state": state, "note": note}
    report = {"running": True, **asdict(info), "endpoint_url": info.endpoint_url, "uptime_s": info.uptime_s}
    report.pop("token", None)
    report.update({k: v for k, v in doc.items() if k not in report})
    return report


def ensure_running(port: int | None = None) -> str:
    """The endpoint of a healthy server, starting one (and saying so) if none is running."""
    info, started, lost = _start(port, START_TIMEOUT_S)
    if lost is not None:
        notice(
            f"the offline server (pid {lost.pid}) had stopped unexpectedly; {LOST}: started a new one at "
            f"{info.endpoint_url} (pid {info.pid}); run `sqslab deploy` again"
        )
    elif started:
        notice(f"started the offline server at {info.endpoint_url} (pid {info.pid}); stop it with `sqslab offline stop`")
    return info.endpoint_url


def _port_in_use(port: int) -> bool:
    """Whether another program holds ``port`` on loopback.

    Binds as the server will (SO_REUSEADDR, which werkzeug sets), so the connections
    of an earlier server still in TIME_WAIT do not count; a listener does."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def start(port: int | None = None, timeout: float = START_TIMEOUT_S) -> ServerInfo:
    """Start the server in the background and wait until it answers.

    If an earlier server had died, says in one line what was lost."""
    info, _, lost = _start(port, timeout)
    if lost is not None:
        notice(_lost_line(lost))
    return info


def _start(port: int | None, timeout: float) -> tuple[ServerInfo, bool, ServerInfo | None]:
    """:func:`_start_unlocked` under a lock on the state directory: two entry points
    starting at the same moment (a notebook's setup cell and a command) get one server."""
    import fcntl

    from sqslab.offline import settings, state

    settings.check_all()  # a setting out of range is this start's one line, not the server's traceback
    sdir = state.ensure()
    with os.fdopen(os.open(sdir / "start.lock", os.O_WRONLY | os.O_CREAT, state.PRIVATE_FILE), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return _start_unlocked(port, timeout)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _start_unlocked(port: int | None, timeout: float) -> tuple[ServerInfo, bool, ServerInfo | None]:
    """(the server, whether this call started it, the dead server whose state file was found)."""
    lost = None
    asked = port
    if port is not None:
        check_port(port)
    current = read_state()
    if current is not None:
        state, _ = _check(current)
        if state == "running":
            if asked not in (None, 0, current.port):
                raise SqslabError(
                    f"the offline server already runs on port {current.port} (pid {current.pid}): "
                    f"stop it with `sqslab offline stop` to start one on port {asked}"
                )
            return current, False, None
        if state == "hung":
            raise SqslabError(_hung_line(current))
        lost = current  # its state file stays until the new server replaces it
    port = default_port() if port is None else port
    check_port(port)
    if port and _port_in_use(port):
        raise SqslabError(
            f"port {port} on {HOST} is taken by another program: "
            f"choose another with `sqslab offline start --port N` or SQSLAB_OFFLINE_PORT=N"
        )
    sdir = state_dir()
    from sqslab.offline import state
    from sqslab.offline.auth import identity

    identity.ensure_credentials(sdir)  # before the server: its clients and it read the same file
    token = secrets.token_hex(16)
    log = os.fdopen(os.open(log_file(), os.O_WRONLY | os.O_CREAT | os.O_APPEND, state.PRIVATE_FILE), "ab")
    log_start = log.seek(0, os.SEEK_END)  # this start's lines begin here: an earlier run's are not its cause
    proc = subprocess.Popen(
        [sys.executable, "-m", SERVER_MODULE, "--serve", "--port", str(port), f"--token={token}"],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=server_environment(),
        start_new_session=True,
        close_fds=True,
    )
    log.close()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                raise SqslabError(f"the offline server could not start: {_last_error_line(log_start, code)}")
            info = read_state()
            if info is not None and info.pid == proc.pid and probe(info, timeout=1.0) is not None:
                return info, True, lost
            time.sleep(0.05)
    except KeyboardInterrupt:  # a start interrupted leaves no server behind, half-started or not
        proc.terminate()
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
        current = read_state()
        if current is not None and current.pid == proc.pid:
            state_file().unlink(missing_ok=True)
        raise
    proc.kill()
    proc.wait(timeout=5)
    raise SqslabError(
        f"the offline server did not answer within {timeout:.0f} s; it was stopped (see {log_file()})"
    )


# What the server takes from the caller's environment: where programs are, the
# locale, the temporary folder, and how Python finds sqslab. Nothing else: no AWS_*
# variable, no proxy, not the caller's HOME.
_PASSED = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "TMPDIR", "PYTHONPATH", "SYSTEMROOT")


def server_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The server process's environment, built from scratch like the workers'.

    From the caller: only :data:`_PASSED` and the ``SQSLAB_*`` settings. Then HOME is
    a folder in the state directory (so ``~/.aws`` of the user is not even looked
    at), the AWS configuration and credentials files are the null device, the
    instance metadata service is off, and there are no credentials at all: moto's
    own boto3 sessions inside the server find nothing to read. The user's
    per-user site-packages stay importable (``PYTHONUSERBASE``) though HOME moves. glibc's malloc
    keeps two arenas (``MALLOC_ARENA_MAX``), not one per thread, and maps blocks of 128 KiB or more
    on their own (``MALLOC_MMAP_THRESHOLD_``), so they are returned when freed."""
    import site

    source = os.environ if base is None else base
    sdir = state_dir().resolve()
    env = {k: source[k] for k in _PASSED if k in source}
    env.update({k: v for k, v in source.items() if k.startswith("SQSLAB_")})
    home = sdir / "server-home"
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    env.update(
        {
            "HOME": str(home),
            "SQSLAB_HOME": str(sdir.parent),
            "PYTHONUSERBASE": source.get("PYTHONUSERBASE") or site.getuserbase(),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
            "PYTHONUNBUFFERED": "1",
            # glibc gives threads that allocate at once arenas of their own, and each keeps what it
            # freed; the server's threads (one per request, per mapping, per batch) held about 14 MB
            # more at a chapter's peak than with two arenas (`make workshop`)
            "MALLOC_ARENA_MAX": "2",
            # and a block of 128 KiB or more is mapped on its own and returned when freed: glibc's own
            # threshold rises with the first such block freed, after which blocks that size (AWS's
            # managed policies' text, a code package) stay in the heap once freed
            "MALLOC_MMAP_THRESHOLD_": "131072",
        }
    )
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return env


def _last_error_line(offset: int = 0, code: int | None = None) -> str:
    """What this start logged as its reason (from ``offset`` on): the server's own line, else the last
    line it wrote (an exception's), else that it wrote nothing."""
    try:
        with open(log_file(), "rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", "replace")
    except OSError:
        text = ""
    ends = ("sqslab-offline: stopped", "sqslab-offline: stopped on an error")
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and ln.strip() not in ends]
    for ln in reversed(lines):
        if ln.startswith("sqslab-offline: "):
            return ln[len("sqslab-offline: "):]
    if lines:
        return f"{lines[-1]} (see {log_file()})"
    exited = f"it exited with code {code}" if code is not None else "it exited"
    return f"{exited} and logged nothing (see {log_file()})"


def _signal(pid: int, sig: int) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def stop(timeout: float = STOP_TIMEOUT_S) -> str:
    """Stop the server; says what it did.

    The process is known to be this server from its command line, not by asking it
    over HTTP, so a server that does not answer (hung, or stopped with SIGSTOP) is
    stopped too: SIGTERM and SIGCONT (a stopped process handles SIGTERM only once
    continued), then SIGKILL if it has not gone in time. A process that is not
    provably ours is never signalled."""
    from sqslab.offline import state as private

    private.ensure(create=False)
    info = read_state()
    if info is None:
        return "no offline server is running"
    if not _pid_alive(info.pid) or not _is_ours(info):
        _remove_state(info)
        return f"the offline server (pid {info.pid}) had already stopped unexpectedly ({LOST}); removed its state file"
    _signal(info.pid, signal.SIGTERM)
    _signal(info.pid, signal.SIGCONT)
    if not _wait_gone(info.pid, timeout):
        _signal(info.pid, signal.SIGKILL)
        _wait_gone(info.pid, 5.0)
    _remove_state(info)
    return f"stopped the offline server (pid {info.pid}, {info.endpoint_url})"

