"""The offline server after a stop, a crash (SIGKILL) or a hang (SIGSTOP):

- the next start succeeds at once, even with the last server's connections in TIME_WAIT;
- after a crash, the next start says in one line what was lost; after a stop it says nothing;
- a hung server is reported within seconds, and `sqslab offline stop` still stops it;
- a start a command makes on its own says so in one line;
- nothing a handler started outlives its execution environment or the server;
- the caller's AWS configuration (even a broken one) and proxies never reach the server.
"""


from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest
from helpers import invoke, make_function, run_sqslab

from sqslab import target
from sqslab.base.errors import SqslabError
from sqslab.deploy.smoke import ensure_role
from sqslab.offline.server import control as server

SPAWN_SLEEP = """
import subprocess
def handler(event, context):
    return {"pid": subprocess.Popen(["sleep", "3600"]).pid}
"""


@pytest.fixture
def hostile_env(tmp_path):
    """The caller's environment with a real-looking identity, an unknown profile,
    unreadable AWS config files and a proxy that leads nowhere."""
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "config").write_text("[default\nregion = = =\n\x00garbage")
    bad = tmp_path / "bad-config"
    bad.write_text("this is [not an ini file\n")
    env = dict(os.environ)
    env.update({
        "HOME": str(home),
        "AWS_PROFILE": "nosuch",
        "AWS_ACCESS_KEY_ID": "AKIAREALLOOKINGKEY07",
        "AWS_SECRET_ACCESS_KEY": "real-looking-secret",
        "AWS_CONFIG_FILE": str(bad),
        "HTTP_PROXY": "http://10.255.255.1:9",
        "https_proxy": "http://10.255.255.1:9",
    })
    return env


def run(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(args, capture_output=True, text=True, env=env, timeout=120)


def sqslab(*args: str, env: dict) -> subprocess.CompletedProcess:
    return run_sqslab(*args, env=env)


def wait_gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while server._pid_alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def in_time_wait(port: int) -> int:
    """Sockets whose local port is ``port`` in TIME_WAIT: connections the server closed."""
    count = 0
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        fields = line.split()
        if int(fields[1].split(":")[1], 16) == port and fields[3] == "06":
            count += 1
    return count


def request_the_server_closes(port: int) -> None:
    """One request that the server answers and then closes first, as it does when asked
    to: its end of the connection stays in TIME_WAIT for a minute."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"GET {server.STATUS_PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        while conn.recv(65536):
            pass  # until the server's FIN


def assert_clean_environment(pid: int, env: dict) -> None:
    entries = set(open(f"/proc/{pid}/environ", "rb").read().decode().split("\0"))
    leaked = [e for e in entries if any(v in e for v in (env["AWS_ACCESS_KEY_ID"], "nosuch", "10.255.255.1",
                                                        env["AWS_CONFIG_FILE"], env["AWS_SECRET_ACCESS_KEY"]))]
    assert not leaked, f"the caller's AWS settings reached the server: {leaked}"
    assert {f"AWS_CONFIG_FILE={os.devnull}", f"AWS_SHARED_CREDENTIALS_FILE={os.devnull}"} <= entries
    assert not [e for e in entries if e.startswith(("AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_PROFILE="))]
    assert f"HOME={server.state_dir().resolve() / 'server-home'}" in entries
    assert not [e for e in entries if e.split("=")[0].lower().endswith("_proxy")]


def spawn_sleep_in_a_handler(lam, iam) -> int:
    pid = invoke(lam, make_function(lam, ensure_role(iam), SPAWN_SLEEP))["body"]["pid"]
    assert server._pid_alive(pid)
    return pid


def test_start_after_every_kind_of_end(own_home, hostile_env):
    """Four servers in a row, each ended another way (SIGKILL, stop, SIGSTOP then
    stop), with the last server's connections lingering: each start succeeds at
    once, says what a crash lost and nothing else, and each end takes what the
    handlers started with it. Every command runs with a hostile AWS configuration."""
    port = own_home
    ends = ["kill", "stop", "hang", "stop"]
    fixed = target.Target("offline", target.OFFLINE_REGION, endpoint_url=f"http://127.0.0.1:{port}")
    lam, iam = target.client("lambda", fixed), target.client("iam", fixed)  # outlive the servers
    previous, last_pid = None, None
    for n, end in enumerate(ends):
        t0 = time.monotonic()
        if n == 0:  # a command that needs the server starts it, and says so
            started = run([sys.executable, "-c", "from sqslab import target; "
                           "target.client('sqs', target.start_offline('offline')).list_queues()"], hostile_env)
        elif previous == "kill":  # after a crash, deploy works at once and says what was lost
            started = sqslab("deploy", "--stack-name", "after-crash", "--param", "Prefix=after-crash",
                             env=hostile_env)
            assert "after-crash: created (CREATE_COMPLETE)" in started.stdout, started.stderr
        else:
            started = sqslab("offline", "start", env=hostile_env)
        seconds = time.monotonic() - t0
        assert started.returncode == 0, f"round {n}: {started.stderr}"
        assert seconds < 20, f"round {n}: the start took {seconds:.1f} s"
        info = server.read_state()
        lines = started.stderr.splitlines()
        if n == 0:
            assert lines == [f"sqslab: started the offline server at http://127.0.0.1:{port} (pid {info.pid}); "
                             "stop it with `sqslab offline stop`"]
        elif previous == "kill":
            assert lines == [f"sqslab: the offline server (pid {last_pid}) had stopped unexpectedly; "
                             "its stacks, queues and messages are gone: started a new one at "
                             f"http://127.0.0.1:{port} (pid {info.pid}); run `sqslab deploy` again"]
        else:
            assert lines == [], f"round {n}: after a {previous}, a start has nothing to report"
        assert_clean_environment(info.pid, hostile_env)

        child = spawn_sleep_in_a_handler(lam, iam) if n < len(ends) - 1 else None  # the last stop is as the second
        request_the_server_closes(port)

        if end == "kill":
            os.kill(info.pid, signal.SIGKILL)
        else:
            if end == "hang":
                os.kill(info.pid, signal.SIGSTOP)
                t0 = time.monotonic()
                with pytest.raises(SqslabError) as err:
                    target.resolve("offline")
                assert time.monotonic() - t0 < server.PROBE_TIMEOUT_S + 3
                assert str(err.value) == (f"the offline server (pid {info.pid}) does not answer within 3 s: "
                                          "stop it with `sqslab offline stop`")
            stopped = sqslab("offline", "stop", env=hostile_env)
            assert stopped.returncode == 0 and stopped.stdout.startswith(f"stopped the offline server (pid {info.pid}")
        assert wait_gone(info.pid, 10), f"round {n}: the server survived its {end}"
        assert child is None or wait_gone(child, 5), f"round {n}: a handler's child outlived the server's {end}"
        assert in_time_wait(port), "the test meant to leave a connection of the last server in TIME_WAIT"
        with socket.socket() as plain, pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))  # what the start's check used to trip on
        previous, last_pid = end, info.pid


def test_a_handlers_children_end_with_a_timeout(lam, role_arn):
    name = make_function(lam, role_arn, """
        import subprocess, time
        def handler(event, context):
            print(json.dumps({"pid": subprocess.Popen(["sleep", "3600"]).pid}))
            time.sleep(30)
        import json
        """, Timeout=1)
    resp = invoke(lam, name, LogType="Tail")
    assert resp["body"]["errorType"] == "Sandbox.Timedout"
    pid = next(json.loads(ln)["pid"] for ln in resp["log"].splitlines() if ln.startswith('{"pid"'))
    assert wait_gone(pid, 5), "a handler's child outlived the environment its timeout stopped"


def test_a_child_that_leaves_the_group_does_not_hold_up_the_runtime(offline, role_arn):
    """Beyond reach (it left the group), it still must not keep the runtime waiting
    on the pipes it inherited."""
    lam = target.client("lambda", offline, read_timeout=20, retries={"max_attempts": 1})
    name = make_function(lam, role_arn, """
        import subprocess, time
        def handler(event, context):
            if event.get("escape"):
                print("pid", subprocess.Popen(["sleep", "3600"], start_new_session=True).pid)
                time.sleep(30)
            return "ok"
        """, Timeout=1)
    t0 = time.monotonic()
    resp = invoke(lam, name, {"escape": True}, LogType="Tail")
    pid = int(next(ln.split()[1] for ln in resp["log"].splitlines() if ln.startswith("pid ")))
    try:
        assert resp["body"]["errorType"] == "Sandbox.Timedout" and time.monotonic() - t0 < 5
        assert invoke(lam, name)["body"] == "ok"
    finally:
        os.kill(pid, signal.SIGKILL)


def test_a_handlers_children_do_not_read_its_requests(lam, role_arn):
    """A child that reads stdin gets end of input, not the runtime's next request."""
    name = make_function(lam, role_arn, """
        import subprocess
        def handler(event, context):
            return subprocess.run(["cat"], capture_output=True, timeout=5).stdout.decode()
        """)
    assert invoke(lam, name)["body"] == ""
    assert invoke(lam, name)["body"] == "", "the second invoke must reach the warm environment"


def test_a_worker_killed_mid_invoke(lam, role_arn, tmp_path):
    """The invoke in flight ends with Lambda's Runtime.ExitError; the next one gets a new environment."""
    name = make_function(lam, role_arn, """
        import os, time
        def handler(event, context):
            open(event["pidfile"], "w").write(str(os.getpid()))
            time.sleep(event.get("sleep", 0))
            return os.getpid()
        """, Timeout=30)
    pidfile = tmp_path / "pid"
    killer = threading.Thread(target=lambda: (wait_for(pidfile), os.kill(int(pidfile.read_text()), signal.SIGKILL)))
    killer.start()
    resp = invoke(lam, name, {"pidfile": str(pidfile), "sleep": 20})
    killer.join()
    assert resp["FunctionError"] == "Unhandled" and resp["body"]["errorType"] == "Runtime.ExitError"
    assert "Runtime exited with error" in resp["body"]["errorMessage"]
    killed = int(pidfile.read_text())
    again = invoke(lam, name, {"pidfile": str(pidfile)})
    assert again.get("FunctionError") is None and again["body"] != killed


def wait_for(path, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_a_handler_timing_out_with_messages_loses_none(lam, role_arn, clients):
    """A handler that receives ten messages and times out before deleting them: after the
    visibility timeout all ten are there again (SQS Developer Guide, "Amazon SQS
    visibility timeout": a message not deleted becomes visible again)."""
    url = clients.sqs.create_queue(QueueName=f"fault-{os.getpid()}-{time.monotonic_ns()}",
                                   Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    for i in range(10):
        clients.sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    name = make_function(lam, role_arn, """
        import boto3, time
        def handler(event, context):
            sqs = boto3.client("sqs")
            got = []
            while len(got) < 10:
                got += sqs.receive_message(QueueUrl=event["url"], MaxNumberOfMessages=10)["Messages"]
            print("holding", len(got))
            time.sleep(30)
        """, Timeout=2)
    resp = invoke(lam, name, {"url": url}, LogType="Tail")
    assert resp["body"]["errorType"] == "Sandbox.Timedout" and "holding 10" in resp["log"]
    time.sleep(2.5)
    counts = {}
    deadline = time.monotonic() + 10
    while len(counts) < 10 and time.monotonic() < deadline:
        for msg in clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                               AttributeNames=["ApproximateReceiveCount"]).get("Messages", []):
            counts[msg["Body"]] = msg["Attributes"]["ApproximateReceiveCount"]
    assert counts == {f"m{i}": "2" for i in range(10)}, "each message once by the handler, once here"
    clients.sqs.delete_queue(QueueUrl=url)


@pytest.mark.parametrize("damage", ["", '{"pid": "x", garbage', "[1, 2]"])
def test_a_damaged_state_file_never_hides_a_running_server(own_home, damage):
    """server.json emptied, truncated or edited while its server runs: status finds the server by its
    process (command line and SQSLAB_HOME), writes the file again and keeps the damaged one beside it;
    stop then stops it, so the port is never left held by a server no command can reach."""
    info = server.start()
    server.state_file().write_text(damage)
    report = server.status()
    assert report["running"] is True and report["pid"] == info.pid and report["port"] == info.port
    assert server.state_file().with_name("server.json.damaged").read_text() == damage
    assert "stopped the offline server" in server.stop()
    assert wait_gone(info.pid, 10)


def test_a_start_interrupted_leaves_no_server(own_home):
    """Ctrl-C while `sqslab offline start` waits for the server: the command ends (130) and takes the
    half-started server with it; nothing holds the port, and the next start is a plain start."""
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "sqslab.cli", "offline", "start"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 20
    while not (server.state_dir() / "server.log").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)  # the server process is starting (its imports take longer than this)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "interrupted" in err, err
    assert server._find_own_server() is None and not server.state_file().exists()
    assert not server._port_in_use(own_home)
