"""`sqslab aws ...`: the AWS CLI (v1, from the test extras) on the offline server, for
every service the series uses, with every connection on loopback.

The proof: a sitecustomize on PYTHONPATH adds an audit hook (PEP 578: the
``socket.getaddrinfo`` and ``socket.connect`` events) to the CLI's Python; it writes
down every host looked up and every address connected to, and stops any that is not
loopback before a packet leaves. The control case shows why the command exists: AWS
CLI v1 given only AWS_ENDPOINT_URL tries the real SQS endpoint (its
``overridesslcommonname`` customization), and the hook stops it.
"""


from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sqslab import target

BIN = Path(sys.executable).parent

SPY = """
import os, sys

_LOG = os.environ["SQSLAB_SOCKET_LOG"]
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


def _hook(event, args):
    if event == "socket.getaddrinfo":
        host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
    elif event == "socket.connect":
        address = args[1]
        host = str(address[0]) if isinstance(address, tuple) else str(address)
    else:
        return
    with open(_LOG, "a") as f:
        f.write(f"{event} {host}\\n")
    if host not in _LOOPBACK and not host.startswith("/"):
        raise OSError(f"blocked by the test: {event} {host}")


sys.addaudithook(_hook)
"""

pytestmark = pytest.mark.skipif(shutil.which("aws", path=str(BIN)) is None, reason="the AWS CLI is in the test extras")


@pytest.fixture
def spied(tmp_path):
    """An environment whose Pythons log (and confine to loopback) every lookup and connection."""
    (tmp_path / "spy").mkdir()
    (tmp_path / "spy" / "sitecustomize.py").write_text(SPY)
    log = tmp_path / "sockets.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"PYTHONPATH": str(tmp_path / "spy"), "SQSLAB_SOCKET_LOG": str(log),
                "AWS_PROFILE": "someone-real", "HTTPS_PROXY": "http://10.255.255.1:9"})
    env["PATH"] = f"{BIN}:{env['PATH']}"
    return env, log


def sqslab_aws(env, *args, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "sqslab"), "aws", *args], capture_output=True, text=True, env=env, timeout=120,
                          cwd=cwd)


def test_every_service_through_sqslab_aws_stays_on_loopback(offline, spied, tmp_path):
    env, log = spied
    queue = f"cli-{os.getpid()}"
    bucket = f"cli-bucket-{os.getpid()}"
    (tmp_path / "file.txt").write_text("hello")
    runs = {
        "sqs": [["sqs", "create-queue", "--queue-name", queue],
                ["sqs", "send-message", "--queue-url", f"{offline.endpoint_url}/123456789012/{queue}",
                 "--message-body", "from the CLI"],
                ["sqs", "list-queues"]],
        "lambda": [["lambda", "list-functions"]],
        "logs": [["logs", "describe-log-groups"]],
        "cloudformation": [["cloudformation", "list-stacks"]],
        "s3": [["s3", "mb", f"s3://{bucket}"], ["s3", "cp", "file.txt", f"s3://{bucket}/file.txt"],
               ["s3api", "list-objects-v2", "--bucket", bucket]],
        "iam": [["iam", "list-roles"]],
        "sts": [["sts", "get-caller-identity"]],
    }
    out = {}
    for commands in runs.values():
        for args in commands:
            result = sqslab_aws(env, *args, cwd=tmp_path)
            assert result.returncode == 0, f"sqslab aws {' '.join(args)}: {result.stderr}"
            out[args[1]] = result.stdout
    assert any(u.endswith("/" + queue) for u in json.loads(out["list-queues"])["QueueUrls"])
    assert [o["Key"] for o in json.loads(out["list-objects-v2"])["Contents"]] == ["file.txt"]
    assert json.loads(out["get-caller-identity"])["Account"] == target.OFFLINE_ACCOUNT
    seen = log.read_text().splitlines()
    assert any(ln.startswith("socket.connect 127.0.0.1") for ln in seen), "the spy saw the CLI's connections"
    assert {ln.split()[1] for ln in seen} <= {"127.0.0.1"}, seen


def test_aws_cli_v1_with_only_the_endpoint_variable_would_leave_loopback(offline, spied):
    """The control: `eval "$(sqslab offline env)"` then plain `aws sqs list-queues` (CLI v1)
    looks up the real SQS endpoint; the hook stops it before any packet leaves."""
    env, log = spied
    env = {k: v for k, v in env.items() if k != "HTTPS_PROXY"}  # else the lookup would be the proxy's
    script = 'eval "$(sqslab offline env)"\naws --version\naws sqs list-queues'
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, timeout=120)
    if "aws-cli/1." not in result.stdout + result.stderr:
        pytest.skip("the AWS CLI here is not v1: it honours AWS_ENDPOINT_URL")
    assert result.returncode != 0
    hosts = {ln.split()[1] for ln in log.read_text().splitlines()}
    assert any(h.endswith("amazonaws.com") for h in hosts), hosts
    offline_env = subprocess.run(["bash", "-c", "sqslab offline env"], capture_output=True, text=True, env=env).stdout
    assert "sqslab aws" in offline_env, "sqslab offline env tells CLI v1 users what to use"


def test_sqslab_aws_gives_the_endpoint_itself(offline, spied):
    env, _ = spied
    result = sqslab_aws(env, "--endpoint-url", "http://example.com", "sqs", "list-queues")
    assert result.returncode == 2 and "gives the offline server's --endpoint-url itself" in result.stderr
    result = sqslab_aws(env)
    assert result.returncode == 2 and "sqslab aws sqs list-queues" in result.stderr
