"""The suite in two parts. ``tests/unit/`` starts no server: pure modules, the committed
notebooks and files, moto in-process; a unit test that tries to start the offline
server fails. ``tests/integration/`` runs against the session's offline server (one
per test worker) on a free loopback port, or starts servers of its own. Either way the
state lives under a temporary directory: a user's running server, ~/.sqslab and real
AWS credentials are never touched."""

from __future__ import annotations

import os
import random
import socket
import tempfile

import pytest

_HOME = tempfile.mkdtemp(prefix="sqslab-test-")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        return low, high
    except (OSError, ValueError):
        return 32768, 65535


def free_port() -> int:
    """A free loopback port below the ephemeral range: a port the system hands out to outgoing
    connections could be taken by any client between a server's stop and its restart."""
    low, _ = _ephemeral_range()
    for _ in range(200):
        port = random.randrange(20000, max(20001, low))
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


os.environ["SQSLAB_HOME"] = _HOME
os.environ["SQSLAB_OFFLINE_PORT"] = str(free_port())
os.environ.pop("SQSLAB_TARGET", None)
os.environ["MPLBACKEND"] = "Agg"


@pytest.fixture(scope="session")
def offline():
    """The session's offline server (one per test worker): its Target (endpoint on loopback)."""
    from sqslab import target
    from sqslab.offline.server import control as server

    tgt = target.start_offline("offline")
    yield tgt
    server.stop()


def _is_integration(request) -> bool:
    return "integration" in request.node.path.relative_to(request.config.rootpath).parts


@pytest.fixture(autouse=True)
def _the_server_integration_tests_run_against(request, monkeypatch):
    """Integration tests get the session's server; a unit test that starts one fails."""
    if _is_integration(request):
        request.getfixturevalue("offline")
        return
    from sqslab.offline.server import control as server

    def refuse(*_args, **_kwargs):
        raise AssertionError("a unit test started the offline server: it belongs in tests/integration/")

    monkeypatch.setattr(server, "start", refuse)


@pytest.fixture(scope="session")
def clients(offline):
    from sqslab import target

    class Clients:
        def __getattr__(self, service):
            c = target.client(service, offline)
            setattr(self, service, c)
            return c

    return Clients()


@pytest.fixture(scope="session")
def role_arn(clients):
    from sqslab.deploy.smoke import ensure_role

    # Functions run as their role offline: the tests' functions may do everything
    # (tests/integration/test_iam_enforcement.py makes roles that may not).
    return ensure_role(clients.iam, "sqslab-test-role",
                       policy={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


@pytest.fixture(scope="session")
def lam(offline):
    from sqslab import target

    return target.client("lambda", offline)


@pytest.fixture
def own_home(tmp_path, monkeypatch):
    """A server home and port of the test's own, so the session's server is untouched;
    whatever server the test started there is stopped after it."""
    from sqslab.base.errors import SqslabError
    from sqslab.offline.server import control as server

    monkeypatch.setenv("SQSLAB_HOME", str(tmp_path / "sqslab"))
    port = free_port()
    monkeypatch.setenv("SQSLAB_OFFLINE_PORT", str(port))
    yield port
    try:
        server.stop()
    except SqslabError:
        pass
