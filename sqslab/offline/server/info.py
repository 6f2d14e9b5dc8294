"""What both sides know of an offline server: where its state file and log are, its
port, and the :class:`ServerInfo` the process writes to ``server.json`` when it serves."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

from sqslab.base.errors import SqslabError

HOST = "127.0.0.1"
DEFAULT_PORT = 5151
STATUS_PATH = "/_sqslab/status"
# A signed POST (the learner's credentials only) stops the execution environments waiting idle.
RECLAIM_PATH = "/_sqslab/reclaim-idle"


def state_dir() -> Path:
    """The state directory's path (:mod:`sqslab.offline.state` checks that it is the user's own)."""
    from sqslab.offline import state

    return state.directory()


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
    if not (port == 0 or 1024 <= port <= 65535):
        raise SqslabError(f"SQSLAB_OFFLINE_PORT={port} is out of range: choose one in 1024-65535 (or 0 for any "
                          "free port)")
    return port


def check_port(port: int) -> None:
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
    token: str = ""  # also on the server's command line: how a process is known to be this server

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def uptime_s(self) -> float:
        return max(0.0, time.time() - self.started)


class DamagedState(Exception):
    """``server.json`` exists but is not what a server wrote (emptied, truncated, edited)."""


def read_state(recover=None) -> ServerInfo | None:
    """The running (or last) server's :class:`ServerInfo`; None when there is no state file. A
    damaged one is set aside (``server.json.damaged``) and, when ``recover`` finds this state
    directory's server by other means, written again from what it found."""
    path = state_file()
    try:
        data = json.loads(path.read_text())
        if not isinstance(data, dict):
            raise TypeError("not an object")
        return ServerInfo(**data)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, UnicodeDecodeError):
        found = recover() if recover is not None else None
        try:
            os.replace(path, path.with_name(path.name + ".damaged"))
        except FileNotFoundError:
            pass  # another command set it aside first
        if found is not None:
            write_state(found)
        return found


def write_state(info: ServerInfo) -> None:
    from dataclasses import asdict

    tmp = state_file().with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info)))
    os.replace(tmp, state_file())

