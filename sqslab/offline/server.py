"""Start, stop and inspect the embedded offline AWS: moto's server in a background process.

The server process applies :mod:`sqslab.offline.patches`, installs the local Lambda
runtime (:mod:`sqslab.offline.runtime`) and serves moto's WSGI application on
loopback only. Its state (pid, port, start time) lives in ``server.json`` under
the state directory (``$SQSLAB_HOME/offline``, default ``~/.sqslab/offline``);
its log is ``server.log`` beside it.

Every failure is one clear line: a port taken by another program, a stale state
file, a server that died. Nothing here waits without a deadline.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from sqslab.errors import SqslabError

HOST = "127.0.0.1"
DEFAULT_PORT = 5151
STATUS_PATH = "/_sqslab/status"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 10.0


def state_dir() -> Path:
    home = os.environ.get("SQSLAB_HOME") or os.path.join(os.path.expanduser("~"), ".sqslab")
    return Path(home) / "offline"


def state_file() -> Path:
    return state_dir() / "server.json"


def log_file() -> Path:
    return state_dir() / "server.log"


def default_port() -> int:
    raw = os.environ.get("SQSLAB_OFFLINE_PORT")
    if not raw:
        return DEFAULT_PORT
    try:
        port = int(raw)
    except ValueError:
        raise SqslabError(f"SQSLAB_OFFLINE_PORT={raw!r} is not a port number: use 1024-65535") from None
    _check_port(port)
    return port


def _check_port(port: int) -> None:
    if not (port == 0 or 1024 <= port <= 65535):
        raise SqslabError(f"port {port} is out of range: choose one in 1024-65535 (or 0 for any free port)")


@dataclass
class ServerInfo:
    pid: int
    host: str
    port: int
    started: float
    moto_version: str
    python: str
    state_dir: str

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def uptime_s(self) -> float:
        return max(0.0, time.time() - self.started)


# ---------------------------------------------------------------- client side


def _read_state() -> ServerInfo | None:
    path = state_file()
    try:
        data = json.loads(path.read_text())
        return ServerInfo(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError):
        path.unlink(missing_ok=True)
        return None


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _http_get_json(url: str, timeout: float = 2.0) -> dict:
    # No proxy handler: a proxy in the environment must never see loopback traffic.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=timeout) as resp:
        return json.loads(resp.read().decode())


def probe(info: ServerInfo, timeout: float = 2.0) -> dict | None:
    """The server's own status document, or None if what answers is not this server."""
    try:
        doc = _http_get_json(info.endpoint_url + STATUS_PATH, timeout=timeout)
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return doc if doc.get("pid") == info.pid else None


def status() -> dict:
    """A status report: ``running`` plus endpoint, pid, uptime, versions and notes."""
    info = _read_state()
    if info is None:
        return {"running": False, "state_dir": str(state_dir()), "note": "no offline server is running"}
    if not _pid_alive(info.pid):
        state_file().unlink(missing_ok=True)
        return {
            "running": False,
            "state_dir": str(state_dir()),
            "note": f"the last offline server (pid {info.pid}) is gone; removed its stale state file "
            f"(its log: {log_file()})",
        }
    doc = probe(info)
    if doc is None:
        return {
            "running": False,
            "state_dir": str(state_dir()),
            "note": f"pid {info.pid} is alive but does not answer as an sqslab server on port {info.port}; "
            f"stop it or remove {state_file()}",
        }
    report = {"running": True, **asdict(info), "endpoint_url": info.endpoint_url, "uptime_s": info.uptime_s}
    report.update({k: v for k, v in doc.items() if k not in report})
    return report


def ensure_running(port: int | None = None) -> str:
    """The endpoint of a healthy server, starting one if none is running."""
    info = _read_state()
    if info is not None and _pid_alive(info.pid) and probe(info) is not None:
        return info.endpoint_url
    return start(port=port).endpoint_url


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def start(port: int | None = None, timeout: float = START_TIMEOUT_S) -> ServerInfo:
    """Start the server in the background and wait until it answers."""
    port = default_port() if port is None else port
    _check_port(port)
    current = _read_state()
    if current is not None:
        if _pid_alive(current.pid) and probe(current) is not None:
            return current
        if _pid_alive(current.pid):
            raise SqslabError(
                f"pid {current.pid} from {state_file()} is alive but does not answer on port "
                f"{current.port}: stop it (`sqslab offline stop`) and start again"
            )
        state_file().unlink(missing_ok=True)  # stale: the process is gone
    if port and not _port_free(port):
        raise SqslabError(
            f"port {port} on {HOST} is taken by another program: "
            f"choose another with `sqslab offline start --port N` or SQSLAB_OFFLINE_PORT=N"
        )
    sdir = state_dir()
    sdir.mkdir(parents=True, exist_ok=True)
    log = open(log_file(), "ab")
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, "-m", "sqslab.offline.server", "--serve", "--port", str(port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
        close_fds=True,
    )
    log.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise SqslabError(f"the offline server could not start: {_last_error_line()}")
        info = _read_state()
        if info is not None and info.pid == proc.pid and probe(info, timeout=1.0) is not None:
            return info
        time.sleep(0.05)
    proc.terminate()
    raise SqslabError(
        f"the offline server did not answer within {timeout:.0f} s; it was stopped (see {log_file()})"
    )


def _last_error_line() -> str:
    try:
        lines = [ln.strip() for ln in log_file().read_text(errors="replace").splitlines() if ln.strip()]
    except FileNotFoundError:
        return "no log was written"
    for ln in reversed(lines):
        if ln.startswith("sqslab-offline: "):
            return ln[len("sqslab-offline: "):]
    return lines[-1] if lines else f"no reason was logged (see {log_file()})"


def stop(timeout: float = STOP_TIMEOUT_S) -> str:
    """Stop the server; says what it did."""
    info = _read_state()
    if info is None:
        return "no offline server is running"
    if not _pid_alive(info.pid):
        state_file().unlink(missing_ok=True)
        return f"the offline server (pid {info.pid}) was already gone; removed its stale state file"
    if probe(info) is None:
        raise SqslabError(
            f"pid {info.pid} named in {state_file()} does not answer as an sqslab server; "
            "not stopping a process that may not be ours: remove the file if it is stale"
        )
    os.kill(info.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and _pid_alive(info.pid):
        _reap(info.pid)
        time.sleep(0.05)
    if _pid_alive(info.pid):
        os.kill(info.pid, signal.SIGKILL)
        _reap(info.pid)
    state_file().unlink(missing_ok=True)
    return f"stopped the offline server (pid {info.pid}, {info.endpoint_url})"


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def env_lines(endpoint: str) -> list[str]:
    """Shell lines that point the AWS CLI and SDKs at ``endpoint``."""
    from sqslab.target import OFFLINE_UNSET, offline_environment

    lines = [f"export {k}={v}" for k, v in offline_environment(endpoint).items()]
    lines.append("unset " + " ".join(OFFLINE_UNSET))
    return lines


# ---------------------------------------------------------------- server side


def _say(msg: str) -> None:
    print(f"sqslab-offline: {msg}", flush=True)


def serve(port: int) -> int:
    """The server process's main: patch moto, install the runtime, serve on loopback."""
    import logging
    import threading

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    # AWS managed policies (AWSLambdaBasicExecutionRole) exist in every account.
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    try:
        from sqslab.offline import patches

        patches.apply_all()
        import moto
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server
    except patches.PatchError as exc:
        _say(str(exc))
        return 4
    except ImportError as exc:
        _say(f"cannot import moto's server ({exc}); reinstall with `make test` or `pip install -e .`")
        return 4

    try:
        server = make_server(
            HOST,
            port,
            _with_status(DomainDispatcherApplication(create_backend_app)),
            threaded=True,
            request_handler=MotoRequestHandler,
        )
    except (OSError, SystemExit) as exc:  # werkzeug exits on a bind failure
        _say(
            f"port {port} on {HOST} is taken by another program ({getattr(exc, 'strerror', None) or 'address in use'}): "
            "choose another with `sqslab offline start --port N`"
        )
        return 3
    actual_port = server.server_address[1]
    os.environ["MOTO_PORT"] = str(actual_port)
    from sqslab.offline import runtime

    runtime.install(endpoint_url=f"http://{HOST}:{actual_port}", state_dir=state_dir())

    info = ServerInfo(
        pid=os.getpid(),
        host=HOST,
        port=actual_port,
        started=time.time(),
        moto_version=moto.__version__,
        python=".".join(map(str, sys.version_info[:3])),
        state_dir=str(state_dir()),
    )
    _STATUS.update(asdict(info))
    tmp = state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info)))
    os.replace(tmp, state_file())
    _say(f"serving on {info.endpoint_url} (pid {info.pid}, moto {info.moto_version})")

    def _term(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _term)
    signal.signal(signal.SIGINT, _term)
    try:
        server.serve_forever()
    finally:
        runtime.shutdown()
        try:
            current = _read_state()
            if current is not None and current.pid == os.getpid():
                state_file().unlink(missing_ok=True)
        finally:
            _say("stopped")
    return 0


_STATUS: dict = {}


def _with_status(app):
    """Wrap moto's WSGI app with one read-only route: this server's status."""

    def wrapped(environ, start_response):
        if environ.get("PATH_INFO") == STATUS_PATH:
            from sqslab.offline import runtime

            doc = dict(_STATUS)
            doc["runtime"] = runtime.describe()
            body = json.dumps(doc).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return app(environ, start_response)

    return wrapped


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sqslab.offline.server")
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    return serve(args.port)


if __name__ == "__main__":
    sys.exit(main())
