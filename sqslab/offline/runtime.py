"""The local Lambda runtime inside the offline server: handlers run in worker processes.

An *execution environment* is one worker process (:mod:`sqslab.offline.worker`)
for one function configuration. Like Lambda:

- the first invoke, an invoke after a code or configuration change, and an invoke
  that finds every environment busy start a new one (a cold start: module-level
  code runs, and the REPORT line carries ``Init Duration``);
- an idle environment is reused while warm (module-level state survives);
- the function's Timeout is enforced by stopping the worker;
- errors come back in Lambda's shape with ``X-Amz-Function-Error: Unhandled``;
- every environment writes its own log stream in ``/aws/lambda/NAME``, with
  START / END / REPORT lines around the handler's output;
- ``Event`` invokes return 202 at once and run in the background; ``DryRun``
  returns 204 and runs nothing;
- what a handler starts ends with its environment: each worker leads a process
  group of its own, and stopping the environment (timeout, crash, eviction,
  server shutdown) kills the whole group. If the server itself is killed, each
  worker sees its request pipe close and kills its own group
  (see :mod:`sqslab.offline.worker`). A child that leaves the group on purpose
  (``setsid``) is beyond reach, though it never holds up the runtime.

What it does not emulate: memory limits (Max Memory Used is measured, not
capped), the Lambda OS image, and runtimes other than Python (the host's
Python runs the handler, whatever version the function declares: a mismatch is
reported once in the server's log and status).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

WORKER = Path(__file__).with_name("worker.py")
INIT_TIMEOUT_S = 10.0
TAIL_BYTES = 4096
MAX_IDLE_PER_FUNCTION = 8
MAX_IDLE_TOTAL = 32  # beyond this, the environments idle longest are stopped first
IDLE_TTL_S = float(os.environ.get("SQSLAB_IDLE_TTL_S", "900"))  # Lambda reclaims idle environments too
FAKE_KEY = "testing"


def _utc_iso(ts: float | None = None) -> str:
    dt = datetime.fromtimestamp(ts if ts is not None else time.time(), tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _now_ms() -> int:
    return int(time.time() * 1000)


def format_report(
    request_id: str,
    duration_ms: float,
    memory_mb: int,
    max_used_mb: int,
    init_ms: float | None = None,
    status: str | None = None,
) -> str:
    """A REPORT line as Lambda writes it (tab separated, trailing tab).

    Billed Duration is rounded up to the millisecond and, as Lambda has done for
    managed runtimes since August 2025, includes the init phase of a cold start.
    """
    billed = math.ceil(duration_ms + (init_ms or 0.0))
    parts = [
        f"REPORT RequestId: {request_id}",
        f"Duration: {duration_ms:.2f} ms",
        f"Billed Duration: {billed} ms",
        f"Memory Size: {memory_mb} MB",
        f"Max Memory Used: {max_used_mb} MB",
    ]
    if init_ms is not None:
        parts.append(f"Init Duration: {init_ms:.2f} ms")
    if status:
        parts.append(f"Status: {status}")
    return "\t".join(parts) + "\t"


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

    @property
    def fingerprint(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()

    @property
    def log_group(self) -> str:
        return f"/aws/lambda/{self.name}"

    @classmethod
    def from_model(cls, fn) -> FunctionSpec:
        code = getattr(fn, "code_bytes", b"") or b""
        return cls(
            name=fn.function_name,
            arn=fn.function_arn,
            region=fn.region,
            handler=fn.handler or "",
            runtime=fn.run_time or "",
            timeout=float(fn.timeout or 3),
            memory_mb=int(fn.memory_size or 128),
            variables=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
            code_sha=hashlib.sha256(code).hexdigest(),
        )


@dataclass
class Outcome:
    """What one invoke produced."""

    request_id: str
    payload: bytes
    errored: bool
    log_lines: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    init_ms: float | None = None


class Environment:
    """One execution environment: a worker process and its log stream."""

    def __init__(self, spec: FunctionSpec, task_root: Path, rt: Runtime):
        self.spec = spec
        self.rt = rt
        self.id = uuid.uuid4().hex
        now = datetime.now(tz=timezone.utc)
        self.log_stream = f"{now:%Y/%m/%d}/[$LATEST]{self.id}"
        self.messages: queue.Queue = queue.Queue()
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-u", str(WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=str(task_root),
            env=rt.worker_environment(spec, task_root, self.log_stream),
            close_fds=True,
            start_new_session=True,  # its own process group: what the handler starts ends with it
        )
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
                lines.append((_now_ms(), msg.get("text", "")))
                continue
            if msg.get("op") == "exit":
                # Let stderr drain so a crash's traceback reaches the log.
                time.sleep(0.05)
                while not self.messages.empty():
                    extra = self.messages.get_nowait()
                    if extra.get("op") == "log":
                        lines.append((_now_ms(), extra.get("text", "")))
                code = self.proc.wait(timeout=5)
                self._kill_group()  # what the handler started goes with the worker
                return {"op": "exit", "code": code}
            return msg

    def init(self, lines: list[tuple[int, str]]) -> tuple[float, dict | None]:
        """Import the handler. Returns (init duration ms, error or None)."""
        self._send({"op": "init", "handler": self.spec.handler, "task_root": str(self.task_root)})
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
        deadline_ms = _now_ms() + int(self.spec.timeout * 1000)
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


class Runtime:
    """Pools of execution environments, keyed by function ARN."""

    def __init__(self, endpoint_url: str, state_dir: Path):
        self.endpoint_url = endpoint_url
        self.state_dir = Path(state_dir)
        self.code_dir = self.state_dir / "code"
        self.home_dir = self.state_dir / "home"
        self.home_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._logs_lock = threading.Lock()
        self._idle: dict[str, list[Environment]] = {}
        self._busy: set[Environment] = set()
        self._background = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-event")
        self.counts = {"invokes": 0, "cold_starts": 0, "timeouts": 0, "errors": 0, "events": 0, "dry_runs": 0}
        self.notes: dict[str, str] = {}

    # ------------------------------------------------------------ environments

    def task_root(self, spec: FunctionSpec, code: bytes) -> Path:
        """The unpacked deployment package, one directory per code digest."""
        root = self.code_dir / spec.code_sha[:32]
        if root.is_dir():
            return root
        tmp = self.code_dir / f".{spec.code_sha[:32]}.{uuid.uuid4().hex[:8]}"
        tmp.mkdir(parents=True)
        try:
            with zipfile.ZipFile(io.BytesIO(code)) as zf:
                zf.extractall(tmp)
        except zipfile.BadZipFile:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        try:
            os.replace(tmp, root)
        except OSError:  # another thread unpacked the same code first
            shutil.rmtree(tmp, ignore_errors=True)
        return root

    def worker_environment(self, spec: FunctionSpec, task_root: Path, log_stream: str) -> dict[str, str]:
        """The worker's whole environment: nothing of the server's own is passed on,
        so a user's real AWS credentials, profile or proxy can never reach a handler."""
        env = dict(spec.variables)
        env.update(
            {
                "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
                "LANG": "C.UTF-8",
                "TZ": ":UTC",
                "HOME": str(self.home_dir),
                "LAMBDA_TASK_ROOT": str(task_root),
                "LAMBDA_RUNTIME_DIR": str(WORKER.parent),
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
                "AWS_ACCESS_KEY_ID": FAKE_KEY,
                "AWS_SECRET_ACCESS_KEY": FAKE_KEY,
                "AWS_SESSION_TOKEN": FAKE_KEY,
                "AWS_ENDPOINT_URL": self.endpoint_url,
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_EC2_METADATA_DISABLED": "true",
            }
        )
        return env

    def _acquire(self, spec: FunctionSpec, code: bytes) -> tuple[Environment, bool]:
        stale: list[Environment] = []
        with self._lock:
            pool = self._idle.setdefault(spec.arn, [])
            found = None
            while pool:
                env = pool.pop()
                if env.spec.fingerprint == spec.fingerprint and env.alive():
                    found = env
                    break
                stale.append(env)
            if found is not None:
                self._busy.add(found)
        for env in stale:
            env.kill()
        if found is not None:
            return found, False
        env = Environment(spec, self.task_root(spec, code), self)
        with self._lock:
            self._busy.add(env)
        return env, True

    def _release(self, env: Environment, keep: bool) -> None:
        with self._lock:
            self._busy.discard(env)
            pool = self._idle.setdefault(env.spec.arn, [])
            kept = keep and env.alive() and len(pool) < MAX_IDLE_PER_FUNCTION
            if kept:
                env.idle_since = time.monotonic()
                pool.append(env)
            evicted = self._evict_locked()
        if not kept:
            env.kill()
        for old in evicted:
            old.kill()

    def _evict_locked(self) -> list[Environment]:
        """Idle environments past their time, and the longest idle beyond the total cap."""
        now = time.monotonic()
        idle = sorted((e for pool in self._idle.values() for e in pool), key=lambda e: e.idle_since)
        doomed = [e for e in idle if now - e.idle_since > IDLE_TTL_S]
        survivors = [e for e in idle if e not in doomed]
        doomed += survivors[: max(0, len(survivors) - MAX_IDLE_TOTAL)]
        for e in doomed:
            self._idle[e.spec.arn].remove(e)
        return doomed

    # ------------------------------------------------------------ invoking

    def invoke(self, fn, body, request_headers, response_headers) -> bytes:
        """moto's LambdaFunction.invoke, answered by a local worker."""
        invocation_type = _header(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
        if isinstance(body, (bytes, bytearray)):
            body = body.decode("utf-8")
        body = body or "{}"
        response_headers["x-amz-executed-version"] = "$LATEST"
        if invocation_type == "DryRun":
            self.counts["dry_runs"] += 1
            return b""
        if invocation_type == "Event":
            self.counts["events"] += 1
            future = self._background.submit(self.run, fn, body)
            future.add_done_callback(_report_background_failure)
            return b""
        outcome = self.run(fn, body)
        if outcome.errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        tail = "\n".join(outcome.log_lines).encode("utf-8")[-TAIL_BYTES:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode("ascii")
        return outcome.payload

    def run(self, fn, event: str) -> Outcome:
        spec = FunctionSpec.from_model(fn)
        request_id = str(uuid.uuid4())
        self.counts["invokes"] += 1
        if not spec.runtime.startswith("python"):
            err = {
                "errorType": "Runtime.InvalidRuntime",
                "errorMessage": f"the offline runtime runs Python handlers only, not {spec.runtime or 'an image'}",
            }
            return Outcome(request_id, json.dumps(err).encode(), True)
        self._note_runtime(spec)
        lines: list[tuple[int, str]] = []
        env, cold = self._acquire(spec, fn.code_bytes)
        init_ms = None
        keep = False
        try:
            init_err = None
            if cold:
                self.counts["cold_starts"] += 1
                init_ms, init_err = env.init(lines)
            lines.append((_now_ms(), f"START RequestId: {request_id} Version: $LATEST"))
            if init_err:  # the init error's lines come before START, as on Lambda
                self.counts["errors"] += 1
                return self._finish(env, request_id, lines, init_err, 0.0, init_ms, 0, "error")
            reply, duration_ms = env.invoke(request_id, event, lines)
            used = int((reply or {}).get("max_rss_mb", 0))
            if reply is None:
                self.counts["timeouts"] += 1
                message = f"Task timed out after {spec.timeout:.2f} seconds"
                lines.append((_now_ms(), f"{_utc_iso()} {request_id} {message}"))
                err = {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: {request_id} Error: {message}"}
                return self._finish(env, request_id, lines, err, spec.timeout * 1000, init_ms, used, "timeout")
            if reply["op"] == "result":
                keep = True
                return self._finish(env, request_id, lines, None, duration_ms, init_ms, used, None, reply["payload"])
            if reply["op"] == "error":
                keep = True
                self.counts["errors"] += 1
                return self._finish(env, request_id, lines, reply["error"], duration_ms, init_ms, used, None)
            self.counts["errors"] += 1
            err = {
                "errorType": "Runtime.ExitError",
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: exit status {reply.get('code')}",
            }
            lines.append((_now_ms(), err["errorMessage"]))
            return self._finish(env, request_id, lines, err, duration_ms, init_ms, used, "error")
        finally:
            self._release(env, keep)

    def _finish(self, env, request_id, lines, error, duration_ms, init_ms, used_mb, status, payload=None) -> Outcome:
        lines.append((_now_ms(), f"END RequestId: {request_id}"))
        if status == "error" and error:
            status = f"error\tError Type: {error.get('errorType')}"
        lines.append(
            (_now_ms(), format_report(request_id, duration_ms, env.spec.memory_mb, used_mb, init_ms, status))
        )
        self._write_logs(env, lines)
        if error is not None:
            body = json.dumps(error).encode("utf-8")
        else:
            body = payload.encode("utf-8") if isinstance(payload, str) else (payload or b"null")
        return Outcome(request_id, body, error is not None, [t for _, t in lines], duration_ms, init_ms)

    def _write_logs(self, env: Environment, lines: list[tuple[int, str]]) -> None:
        from moto.logs.models import logs_backends

        backend = logs_backends[self.account_id_of(env.spec)][env.spec.region]
        events, last = [], 0
        for ts, text in lines:
            last = max(last, ts)  # PutLogEvents wants chronological order
            events.append({"timestamp": last, "message": text})
        with self._logs_lock:
            backend.ensure_log_group(env.spec.log_group)
            backend.ensure_log_stream(env.spec.log_group, env.log_stream)
            if events:
                backend.put_log_events(env.spec.log_group, env.log_stream, events)

    @staticmethod
    def account_id_of(spec: FunctionSpec) -> str:
        return spec.arn.split(":")[4]

    def _note_runtime(self, spec: FunctionSpec) -> None:
        host = f"python{sys.version_info.major}.{sys.version_info.minor}"
        if spec.runtime != host and spec.name not in self.notes:
            note = (
                f"{spec.name} declares {spec.runtime}; the offline runtime runs it on the host's "
                f"Python {'.'.join(map(str, sys.version_info[:3]))}"
            )
            self.notes[spec.name] = note
            print(f"sqslab-offline: note: {note}", flush=True)

    # ------------------------------------------------------------ lifecycle

    def describe(self) -> dict:
        with self._lock:
            idle = sum(len(p) for p in self._idle.values())
            busy = len(self._busy)
        return {
            "python": ".".join(map(str, sys.version_info[:3])),
            "environments": {"idle": idle, "busy": busy},
            "counts": dict(self.counts),
            "notes": list(self.notes.values()),
        }

    def shutdown(self) -> None:
        self._background.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            envs = [e for pool in self._idle.values() for e in pool] + list(self._busy)
            self._idle.clear()
            self._busy.clear()
        for env in envs:
            env.kill()


def _report_background_failure(future) -> None:
    exc = future.exception()
    if exc is not None:
        print(f"sqslab-offline: an Event invocation failed inside the runtime: {exc!r}", flush=True)


def _header(headers, name: str) -> str | None:
    if not headers:
        return None
    getter = getattr(headers, "get", None)
    if getter is None:
        return None
    value = getter(name)
    if value is None and isinstance(headers, dict):
        lowered = {str(k).lower(): v for k, v in headers.items()}
        value = lowered.get(name.lower())
    return value


_RUNTIME: Runtime | None = None


def install(endpoint_url: str, state_dir: Path) -> Runtime:
    """Create the process-wide runtime (the lambda_local_runtime patch routes invokes here)."""
    global _RUNTIME
    from sqslab.offline import patches

    patches.apply_all()
    _RUNTIME = Runtime(endpoint_url, Path(state_dir))
    return _RUNTIME


def get() -> Runtime:
    if _RUNTIME is None:
        raise RuntimeError("the local Lambda runtime is not installed in this process")
    return _RUNTIME


def describe() -> dict:
    info = _RUNTIME.describe() if _RUNTIME else {"installed": False}
    from sqslab.offline import patches

    info["patches"] = patches.applied()
    return info


def shutdown() -> None:
    if _RUNTIME is not None:
        _RUNTIME.shutdown()
