"""Helpers shared by the tests: the sqslab command in a subprocess, a throwaway
function from source text, its invoke and logs, and the REPORT line of a log tail.
(The free loopback port and the per-test server home are fixtures in conftest.)"""

from __future__ import annotations

import base64
import io
import json
import subprocess
import sys
import textwrap
import uuid
import zipfile

from sqslab.base.loglines import parse_report
from sqslab.deploy.code_zip import zip_files


def run_sqslab(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    """``sqslab ARGS`` as a user runs it, in its own process; output captured as text."""
    return subprocess.run([sys.executable, "-m", "sqslab.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout)


def server_status(endpoint_url: str) -> dict:
    """The offline server's whole status report: a GET of its status route signed with its
    credentials (unsigned, the route says the server's pid and nothing else)."""
    from sqslab.offline.server import control as server

    url = endpoint_url + server.STATUS_PATH
    return server._http_json(url, timeout=5, headers=server._signed_headers(url))


def report_of(log_text: str) -> dict:
    """The parsed REPORT line of a log tail (the last one)."""
    return parse_report([ln for ln in log_text.splitlines() if ln.startswith("REPORT")][-1])



def make_function(lam, role_arn, source: str, *, name: str | None = None, handler="index.handler", **kwargs) -> str:
    name = name or f"t-{uuid.uuid4().hex[:10]}"
    lam.create_function(
        FunctionName=name,
        Runtime=kwargs.pop("Runtime", "python3.12"),
        Role=role_arn,
        Handler=handler,
        Code={"ZipFile": zip_files({"index.py": textwrap.dedent(source)})},
        **kwargs,
    )
    return name


def invoke(lam, name, payload=None, **kwargs):
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}), **kwargs)
    body = resp["Payload"].read()
    resp["body"] = json.loads(body) if body else None
    if "LogResult" in resp:
        resp["log"] = base64.b64decode(resp["LogResult"]).decode()
    return resp


def log_messages(logs, name) -> list[str]:
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [e["message"] for e in events]


HANDLER = "def handler(event, context):\n    return 'ran'\n"


def zeros_zip(name: str, size: int, extra: dict[str, str] | None = None) -> bytes:
    """A small zip (deflated zeros) that unpacks to ``size`` bytes, plus ``extra`` files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for fname, text in (extra or {}).items():
            zf.writestr(fname, text)
        info = zipfile.ZipInfo(name)
        info.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(info, "w", force_zip64=True) as out:
            chunk = b"\0" * (1 << 20)
            left = size
            while left:
                out.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))
    return buf.getvalue()


def load_consumer():
    """The retries stack's consumer handler (lambdas/consumer/index.py), imported as a module."""
    import importlib.util

    from sqslab.config import LAMBDAS

    spec = importlib.util.spec_from_file_location("retries_consumer_index", LAMBDAS / "consumer" / "index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_server_state(pid: int, port: int, **extra) -> None:
    """A server state file (server.json) as a server writes it, naming ``pid`` and ``port``."""
    import time

    from sqslab.offline.server import control as server

    server.state_dir().mkdir(parents=True, exist_ok=True)
    server.state_file().write_text(json.dumps({
        "pid": pid, "host": "127.0.0.1", "port": port, "started": time.time(),
        "moto_version": "5", "python": "3", "state_dir": str(server.state_dir()), **extra,
    }))
