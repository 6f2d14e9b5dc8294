"""Start, stop, status and env of the offline server, and its failure modes:
a taken port, a stale state file, a server that died. Each is one clear line.
(A stop, crash or hang followed by a start, and what handlers leave behind: test_faults.py.)"""


from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

from helpers import run_sqslab, write_server_state

from sqslab.base.errors import SqslabError
from sqslab.offline.auth import identity
from sqslab.offline.server import control as server

sqslab = run_sqslab


def test_start_status_env_stop(own_home):
    started = sqslab("offline", "start")
    assert started.returncode == 0, started.stderr
    assert f"127.0.0.1:{own_home}" in started.stdout
    status = json.loads(sqslab("offline", "status", "--json").stdout)
    assert status["running"] and status["port"] == own_home
    assert status["moto_version"].startswith("5.")
    assert status["uptime_s"] >= 0 and status["pid"] > 0
    text = sqslab("offline", "status").stdout
    for word in ("endpoint", "pid", "uptime", "moto"):
        assert word in text
    env_out = sqslab("offline", "env").stdout
    assert f"export AWS_ENDPOINT_URL=http://127.0.0.1:{own_home}" in env_out
    creds = identity.load_credentials(server.state_dir())
    assert f"export AWS_ACCESS_KEY_ID={creds.access_key}" in env_out and "unset AWS_PROFILE" in env_out
    assert f"export AWS_SECRET_ACCESS_KEY={creds.secret_key}" in env_out and "sqslab aws" in env_out
    # start again: the running server is kept, and nothing is said about it
    again = sqslab("offline", "start")
    assert again.returncode == 0 and str(status["pid"]) in again.stdout and again.stderr == ""
    stopped = sqslab("offline", "stop")
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not server.state_file().exists()
    after = sqslab("offline", "status")
    assert after.returncode == 1 and "no offline server is running" in after.stdout


def test_server_process_itself_reports_a_taken_port(own_home):
    # The race the pre-check cannot close: the port is taken after the check.
    with socket.socket() as other:
        other.bind(("127.0.0.1", own_home))
        other.listen()
        proc = subprocess.run(
            [sys.executable, "-m", "sqslab.offline.server.process", "--serve", "--port", str(own_home)],
            capture_output=True, text=True, timeout=120,
        )
    assert proc.returncode == 3
    assert f"sqslab-offline: port {own_home} on 127.0.0.1 is taken" in proc.stdout


def test_stale_state_file(own_home):
    server.state_dir().mkdir(parents=True)
    server.state_file().write_text("{not json")
    status = sqslab("offline", "status")
    assert status.returncode == 1 and "no offline server is running" in status.stdout
    assert not server.state_file().exists()
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    write_server_state(dead.pid, own_home)
    status = sqslab("offline", "status")
    assert status.returncode == 1 and f"(pid {dead.pid}) had stopped unexpectedly" in status.stdout
    assert server.state_file().exists(), "status keeps the evidence for the next start"
    started = sqslab("offline", "start")
    assert started.returncode == 0, started.stderr
    assert started.stderr.splitlines() == [
        f"sqslab: the offline server (pid {dead.pid}) had stopped unexpectedly; "
        "its stacks, queues and messages are gone: run `sqslab deploy` again"
    ]


def test_server_that_died(own_home, capsys):
    info = server.start()
    assert capsys.readouterr().err == "", "a first start has nothing to report"
    os.kill(info.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while server._pid_alive(info.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    status = sqslab("offline", "status")
    assert status.returncode == 1 and f"(pid {info.pid}) had stopped unexpectedly" in status.stdout
    # Asking for an offline endpoint brings a new server up, and says in one line what was lost.
    endpoint = server.ensure_running()
    assert endpoint.endswith(f":{own_home}")
    new = server.read_state()
    assert capsys.readouterr().err.splitlines() == [
        f"sqslab: the offline server (pid {info.pid}) had stopped unexpectedly; its stacks, queues and "
        f"messages are gone: started a new one at {endpoint} (pid {new.pid}); run `sqslab deploy` again"
    ]
    # Once said, not again; and a clean stop leaves nothing to report.
    assert server.ensure_running() == endpoint and capsys.readouterr().err == ""
    assert server.stop().startswith(f"stopped the offline server (pid {new.pid}")
    assert not server.state_file().exists()


def test_two_starts_at_once_get_one_server(own_home):
    """A notebook's setup cell and a command starting together: one server, no false 'port taken'."""
    import threading

    results, errors = [], []

    def start():
        try:
            results.append(server.ensure_running())
        except SqslabError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=start) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(results)) == 1 and results[0].endswith(f":{own_home}")
