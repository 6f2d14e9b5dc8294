"""Start, stop, status and env of the offline server, and its failure modes:
a taken port, a stale state file, a server that died. Each is one clear line.
(A stop, crash or hang followed by a start, and what handlers leave behind: test_faults.py.)"""


from __future__ import annotations

import socket
import subprocess
import time

from helpers import run_sqslab, write_server_state

from sqslab.offline.server import control as server

sqslab = run_sqslab


def test_port_taken_by_another_program(own_home):
    with socket.socket() as other:
        other.bind(("127.0.0.1", own_home))
        other.listen()
        t0 = time.monotonic()
        result = sqslab("offline", "start")
        assert time.monotonic() - t0 < 20
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"port {own_home}" in lines[0] and "taken" in lines[0]


def test_a_live_process_that_is_not_ours_is_never_signalled(own_home):
    """A state file naming a live process that is not this server (a reused pid, a
    hand-edited file): stop and start leave the process alone."""
    other = subprocess.Popen(["sleep", "60"])
    try:
        write_server_state(other.pid, own_home, token="0" * 32)
        stopped = sqslab("offline", "stop")
        assert stopped.returncode == 0 and "had already stopped unexpectedly" in stopped.stdout
        assert other.poll() is None, "a process that is not ours was signalled"
        assert not server.state_file().exists()
        write_server_state(other.pid, own_home, token="0" * 32)
        assert server.status()["state"] == "dead"
        assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_bad_port_is_one_line(own_home):
    result = sqslab("offline", "start", "--port", "80")
    assert result.returncode == 2 and result.stderr.count("\n") == 1 and "out of range" in result.stderr
