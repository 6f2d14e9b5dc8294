"""The user's AWS setup never reaches the offline emulator.

`sqslab offline start` runs with AWS_PROFILE=nosuch, real-looking keys, a proxy, and a
~/.aws/credentials and ~/.aws/config holding a marker secret. The server starts; no
process it starts (the server, its workers, what handlers run) opens anything under
~/.aws (traced with strace, following every child); a handler that reads the server's
/proc environ finds nothing of the user's.

strace is a Debian package that CI installs (.ci/run); elsewhere the test is skipped,
with its reason, when strace is missing or may not trace, unless SQSLAB_REQUIRE_STRACE
is set.
"""


from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
from helpers import invoke, make_function, run_sqslab

from sqslab import target
from sqslab.deploy.smoke import ensure_role
from sqslab.offline.server import control as server

MARKER = "MARKER-SECRET-8f3a1c"

READ_SERVER_ENVIRON = """
import os, boto3
def handler(event, context):
    boto3.client("sqs").list_queues()  # the handler's own SDK, under the trace as well
    return open(f"/proc/{os.getppid()}/environ", "rb").read().decode(errors="replace")
"""


def strace_or_skip() -> str:
    found = shutil.which("strace")
    reason = None
    if not found:
        reason = "strace is not installed (apt-get install strace; CI installs it)"
    else:
        probe = subprocess.run([found, "-f", "-o", os.devnull, "true"], capture_output=True, text=True)
        if probe.returncode != 0:
            reason = f"strace may not trace here: {probe.stderr.strip()[:200]}"
    if reason:
        if os.environ.get("SQSLAB_REQUIRE_STRACE"):
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def test_the_users_aws_setup_is_never_opened_nor_held(own_home, tmp_path):
    strace = strace_or_skip()
    home = tmp_path / "user"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text(
        f"[default]\naws_access_key_id = AKIAUSERKEY000000001\naws_secret_access_key = {MARKER}\n"
        f"[nosuch-not]\naws_secret_access_key = {MARKER}\n")
    (home / ".aws" / "config").write_text(f"[default]\nregion = eu-west-3\ncredential_process = echo {MARKER}\n")
    env = dict(os.environ)
    env.update({
        "HOME": str(home),
        "AWS_PROFILE": "nosuch",
        "AWS_ACCESS_KEY_ID": "AKIAUSERKEY000000002",
        "AWS_SECRET_ACCESS_KEY": MARKER + "-env",
        "AWS_SESSION_TOKEN": MARKER + "-token",
        "HTTPS_PROXY": "http://10.255.255.1:9",
    })
    log = tmp_path / "trace"
    traced = subprocess.Popen(
        [strace, "-f", "-qq", "--seccomp-bpf", "-e", "trace=open,openat,openat2,creat,execve", "-o", str(log),
         sys.executable, "-m", "sqslab.cli", "offline", "start"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not server.status()["running"]:
            assert traced.poll() is None or traced.returncode == 0, traced.stderr.read()
            assert time.monotonic() < deadline, "the server did not start under strace"
            time.sleep(0.2)
        tgt = target.resolve("offline")
        lam, iam = target.client("lambda", tgt), target.client("iam", tgt)
        # the handler lists queues: its role must allow it (functions run as their role)
        role = ensure_role(iam, policy={"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}]})
        name = make_function(lam, role, READ_SERVER_ENVIRON)
        environ = invoke(lam, name)["body"]
        assert "AWS_EC2_METADATA_DISABLED=true" in environ, "the handler read the server's environ"
        assert "MALLOC_ARENA_MAX=2" in environ, "glibc keeps two arenas in the server (its memory)"
        assert "MALLOC_MMAP_THRESHOLD_=131072" in environ, "glibc returns large blocks when freed (its memory)"
        assert MARKER not in environ and "AKIAUSERKEY" not in environ and "nosuch" not in environ
        assert "10.255.255.1" not in environ and f"HOME={home}" not in environ
    finally:
        stopped = run_sqslab("offline", "stop", env=env)
        traced.wait(timeout=30)
    assert stopped.returncode == 0, stopped.stderr
    trace = log.read_text()
    assert "sqslab/offline/awslambda/worker.py" in trace, "the trace followed the server down to its workers"
    assert "botocore/data/sqs/" in trace, "and into the handler's own SDK"
    opened = [ln for ln in trace.splitlines() if str(home / ".aws") in ln]
    assert not opened, "a sqslab process opened the user's ~/.aws:\n" + "\n".join(opened[:10])
