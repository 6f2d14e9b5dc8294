"""One Lambda execution environment: a worker process, and the protocol spoken with it.

An environment is one process running :mod:`sqslab.offline.awslambda.worker` (a script,
never imported) for one function configuration (a :class:`FunctionSpec`). The
two sides speak JSON lines, one message per line; the worker's module docstring
lists the messages. Here: ``init`` imports the handler (module-level code runs:
the init phase of a cold start), ``invoke`` runs it once within the function's
Timeout, ``kill`` stops the environment. Every line the worker writes that is
not a protocol message, and everything on its stderr, is kept as a log line.

What a handler starts ends with its environment: each worker leads a process
group of its own, and stopping the environment (timeout, crash, eviction, server
shutdown) kills the whole group. If the server itself is killed, each worker
sees its request pipe close and kills its own group (see
:mod:`sqslab.offline.awslambda.worker`). A child that leaves the group on purpose
(``setsid``) is beyond reach, though it never holds up the runtime.

The worker's environment holds nothing of the server's own (see
:func:`worker_environment`). Its credentials are its own too: temporary ones
(access key id, secret, session token, as Lambda sets them) issued by
:mod:`sqslab.offline.auth` when the environment starts and revoked when it ends.
"""

from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqslab.base.clock import now_ms
from sqslab.offline.auth import keystore

WORKER = Path(__file__).with_name("worker.py")
INIT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class FunctionSpec:
    """A snapshot of what an environment is built from; its fingerprint decides reuse."""

    name: str
    arn: str
    region: str
    handler: str
    runtime: str
    timeout: float
    memory_mb: int
    variables: tuple[tuple[str, str], ...]
    code_sha: str
    layers: tuple[str, ...] = ()  # layer version ARNs with their code digests, in the function's order
    role: str = ""  # the execution role: a new one means new environments, with that role's credentials

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"


def worker_environment(
    spec: FunctionSpec, task_root: Path, log_stream: str, endpoint_url: str, home_dir: Path,
    credentials: keystore.Principal | None = None, runtime_dir: Path | None = None,
) -> dict[str, str]:
    """The worker's whole environment: nothing of the server's own is passed on,
    so a user's real AWS credentials, profile or proxy can never reach a handler.
    ``credentials`` are the environment's temporary ones (see :mod:`sqslab.offline.auth`);
    ``runtime_dir`` holds the libraries Lambda's runtime ships (:mod:`sqslab.offline.awslambda.runtime_libs`)."""
    env = dict(spec.variables)
    env.update(
        {
            "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "HOME": str(home_dir),
            "LAMBDA_TASK_ROOT": str(task_root),
            "LAMBDA_RUNTIME_DIR": str(runtime_dir or WORKER.parent),
            "_HANDLER": spec.handler,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(spec.timeout)),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "AWS_LAMBDA_LOG_STREAM_NAME": log_stream,
            "AWS_REGION": spec.region,
            "AWS_DEFAULT_REGION": spec.region,
            "AWS_ENDPOINT_URL": endpoint_url,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    if runtime_dir is not None:
        env["PYTHONPATH"] = str(runtime_dir)  # as Lambda sets it; the worker itself runs with -I
    if credentials is not None:
        env.update(
            {
                "AWS_ACCESS_KEY_ID": credentials.access_key,
                "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
                "AWS_SESSION_TOKEN": credentials.token or "",
            }
        )
    return env


class Environment:
    """One execution environment: a worker process and its log stream."""

    def __init__(self, spec: FunctionSpec, task_root: Path, endpoint_url: str, home_dir: Path,
                 runtime_dir: Path | None = None, layer_paths: tuple[str, ...] = ()):
        self.spec = spec
        # The handler's import path, Lambda's order: task root, layers, the runtime's libraries.
        self.import_path = [str(task_root), *layer_paths] + ([str(runtime_dir)] if runtime_dir else [])
        self.id = uuid.uuid4().hex
        now = datetime.now(tz=timezone.utc)
        self.log_stream = f"{now:%Y/%m/%d}/[$LATEST]{self.id}"
        self.messages: queue.Queue = queue.Queue()
        self.started = time.perf_counter()
        self.credentials = keystore.issue_for_environment(spec.arn, spec.role)
        try:
            self.proc = subprocess.Popen(
                # -I: no script directory, user site or PYTHON* variables; -S: no site-packages
                [sys.executable, "-I", "-S", "-u", str(WORKER)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=str(task_root),
                env=worker_environment(spec, task_root, self.log_stream, endpoint_url, home_dir, self.credentials,
                                       runtime_dir),
                close_fds=True,
                start_new_session=True,  # its own process group: what the handler starts ends with it
            )
        except BaseException:
            keystore.revoke(self.credentials.access_key)  # no environment, no credentials
            raise
        self._group_killed = False
        self.task_root = task_root
        self.idle_since = time.monotonic()
        threading.Thread(target=self._read_protocol, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # Two reader threads feed one queue, so a wait on the queue has a deadline. Each
    # closes its own pipe at end of input: closing it from another thread would wait
    # for the read in progress, which a process that escaped the group can hold open.
    def _read_protocol(self) -> None:
        with self.proc.stdout:
            for raw in self.proc.stdout:
                try:
                    self.messages.put(json.loads(raw.decode("utf-8")))
                except ValueError:
                    self.messages.put({"op": "log", "text": raw.decode("utf-8", "replace").rstrip("\n")})
        self.messages.put({"op": "exit"})

    def _read_stderr(self) -> None:
        with self.proc.stderr:
            for raw in self.proc.stderr:
                self.messages.put({"op": "log", "text": raw.decode("utf-8", "replace").rstrip("\n")})

    def _send(self, msg: dict) -> bool:
        try:
            self.proc.stdin.write((json.dumps(msg) + "\n").encode("utf-8"))
            self.proc.stdin.flush()
            return True
        except (BrokenPipeError, OSError):
            return False

    def _collect(self, deadline: float, lines: list[tuple[int, str]]) -> dict | None:
        """Gather log lines until a reply arrives; None when the deadline passes."""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                msg = self.messages.get(timeout=remaining)
            except queue.Empty:
                return None
            if msg.get("op") == "log":
                lines.append((now_ms(), msg.get("text", "")))
                continue
            if msg.get("op") == "exit":
                # Let stderr drain so a crash's traceback reaches the log.
                time.sleep(0.05)
                while not self.messages.empty():
                    extra = self.messages.get_nowait()
                    if extra.get("op") == "log":
                        lines.append((now_ms(), extra.get("text", "")))
                code = self.proc.wait(timeout=5)
                self._kill_group()  # what the handler started goes with the worker
                return {"op": "exit", "code": code}
            return msg

    def init(self, lines: list[tuple[int, str]]) -> tuple[float, dict | None]:
        """Import the handler. Returns (init duration ms, error or None)."""
        self._send({"op": "init", "handler": self.spec.handler, "task_root": str(self.task_root),
                    "path": self.import_path})
        reply = self._collect(time.monotonic() + INIT_TIMEOUT_S, lines)
        init_ms = (time.perf_counter() - self.started) * 1000
        if reply is None:
            return init_ms, {
                "errorType": "Runtime.InitTimeout",
                "errorMessage": f"Init timed out after {INIT_TIMEOUT_S:.2f} seconds",
            }
        if reply["op"] == "ready":
            return init_ms, None
        if reply["op"] == "exit":
            return init_ms, {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"Runtime exited with error: exit status {reply['code']}",
            }
        return init_ms, reply.get("error") or {"errorType": "Runtime.Unknown", "errorMessage": str(reply)}

    def invoke(self, request_id: str, event: str, lines: list[tuple[int, str]]) -> tuple[dict | None, float]:
        """Run the handler. Returns (reply or None on timeout, duration ms)."""
        t0 = time.perf_counter()
        deadline_ms = now_ms() + int(self.spec.timeout * 1000)
        sent = self._send(
            {
                "op": "invoke",
                "request_id": request_id,
                "event": event,
                "deadline_ms": deadline_ms,
                "invoked_function_arn": self.spec.arn,
                "trace_id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            }
        )
        reply = self._collect(time.monotonic() + self.spec.timeout, lines) if sent else {"op": "exit", "code": -1}
        return reply, (time.perf_counter() - t0) * 1000

    def alive(self) -> bool:
        if self.proc.poll() is None:
            return True
        self._kill_group()
        return False

    def _kill_group(self) -> None:
        """SIGKILL the worker's process group: the worker and every process it started.

        Done once, right when the worker is found dead or is to be stopped: the group id
        is the worker's pid, which cannot be reused while any member of the group lives."""
        if self._group_killed:
            return
        self._group_killed = True
        keystore.revoke(self.credentials.access_key)  # what the environment held opens nothing any more
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def kill(self) -> None:
        self._kill_group()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        try:
            self.proc.stdin.close()
        except OSError:
            pass
