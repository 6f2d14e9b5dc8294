"""Lambda's invoke semantics inside the offline server, answered by local worker processes.

The ``lambda_local_runtime`` patch (:mod:`sqslab.offline.patches.awslambda`)
routes moto's ``LambdaFunction.invoke`` to the one :class:`LambdaService` of the
server process (:func:`install`, :func:`get`); each invoke runs in an execution
environment (:mod:`sqslab.offline.awslambda.environment`) taken from a pool
(:mod:`sqslab.offline.awslambda.pool`). Like Lambda:

- a cold start runs the module-level code, and its REPORT line carries
  ``Init Duration``;
- the function's Timeout is enforced by stopping the worker;
- errors come back in Lambda's shape with ``X-Amz-Function-Error: Unhandled``;
- every environment writes its own log stream in ``/aws/lambda/NAME``, with
  START / END / REPORT lines (:func:`sqslab.base.loglines.format_report`) around the
  handler's output;
- ``Event`` invokes return 202 at once and run in the background; ``DryRun``
  returns 204 and runs nothing;
- a handler imports from its task root, its layers and the libraries Lambda's
  runtime ships, nothing else (:mod:`sqslab.offline.awslambda.runtime_libs`); an init that
  fails is logged as Lambda logs it (``INIT_REPORT``, then a REPORT line with the
  error type);
- an environment that holds more than the function's MemorySize is stopped
  (:mod:`sqslab.offline.awslambda.memory`): ``Runtime.OutOfMemory``, and the next invoke
  is a cold start.

What it does not emulate: the Lambda OS image, and runtimes other than Python
(the host's Python runs the handler, whatever version the function declares: a
mismatch is reported once in the server's log and status).
"""

from __future__ import annotations

import base64
import hashlib
import json
import signal
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from sqslab.base.clock import now_ms
from sqslab.base.loglines import format_report
from sqslab.offline.awslambda import code_package, concurrency, memory, runtime_libs
from sqslab.offline.awslambda.environment import Environment, FunctionSpec
from sqslab.offline.awslambda.pool import Pool

TAIL_BYTES = 4096
EVENT_RETRY_S = 1.0  # a throttled asynchronous invocation is tried again after this
EVENT_MAX_AGE_S = 6 * 3600  # Lambda keeps an event at most six hours


def _utc_iso(ts: float | None = None) -> str:
    dt = datetime.fromtimestamp(ts if ts is not None else time.time(), tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


# Layer versions by ARN, as published: on Lambda a deleted layer version keeps working for the
# functions that already use it ("Managing Lambda dependencies with layers": DeleteLayerVersion).
_LAYERS: dict[str, object] = {}


def remember_layer(layer_version) -> None:
    _LAYERS[layer_version.arn] = layer_version


def _layer_versions(fn) -> list:
    """moto's LayerVersion objects of ``fn``'s layers, in the function's order (deleted ones included)."""
    layers = getattr(fn, "layers", None) or []
    if not layers:
        return []
    from moto.awslambda.utils import get_backend  # the backend moto's own API uses

    backend = get_backend(fn.account_id, fn.region)
    found = []
    for layer in layers:
        arn = layer["Arn"] if isinstance(layer, dict) else str(layer)
        lv = backend.layers_versions_by_arn(arn) or _LAYERS.get(arn)
        if lv is not None:
            found.append(lv)
    return found


def layer_codes(fn) -> list[bytes]:
    return [lv.code_bytes or b"" for lv in _layer_versions(fn)]


def functions_in_use() -> list:
    """Every function moto holds now, in every account and region ($LATEST and published versions)."""
    from moto.awslambda.models import lambda_backends

    out = []
    for _account, regions in list(lambda_backends.items()):
        for _region, backend in list(regions.items()):
            for group in list(backend._lambdas._functions.values()):
                out.append(group["latest"])
                out.extend(group["versions"])
    return out


def reserved_total(fn) -> int:
    """The reservations of every function in ``fn``'s account and Region."""
    from moto.awslambda.utils import get_backend

    backend = get_backend(fn.account_id, fn.region)
    return sum(concurrency.reserved_of(group["latest"].reserved_concurrency) or 0
               for group in list(backend._lambdas._functions.values()))


def _still_there(fn) -> bool:
    from moto.awslambda.utils import get_backend

    try:
        get_backend(fn.account_id, fn.region).get_function(fn.function_arn)
        return True
    except Exception:
        return False


def throttle_error(reason: str):
    """Invoke's answer to a throttled invocation: 429 TooManyRequestsException with its Reason
    (Lambda API reference, Invoke, Errors)."""
    from moto.awslambda.exceptions import LambdaClientError

    exc = LambdaClientError("TooManyRequestsException", "Rate Exceeded.")
    exc.code = 429
    exc.description = json.dumps({"__type": "TooManyRequestsException", "message": "Rate Exceeded.",
                                  "Reason": reason, "Type": "User"})
    return exc


def function_spec(fn) -> FunctionSpec:
    """The :class:`FunctionSpec` of moto's ``LambdaFunction`` ``fn``, as it is now."""
    code = getattr(fn, "code_bytes", b"") or b""
    return FunctionSpec(
        name=fn.function_name,
        arn=fn.function_arn,
        region=fn.region,
        handler=fn.handler or "",
        runtime=fn.run_time or "",
        timeout=float(fn.timeout or 3),
        memory_mb=int(fn.memory_size or 128),
        variables=tuple(sorted((str(k), str(v)) for k, v in (fn.environment_vars or {}).items())),
        code_sha=hashlib.sha256(code).hexdigest(),
        layers=tuple(f"{lv.arn}@{hashlib.sha256(lv.code_bytes or b'').hexdigest()}" for lv in _layer_versions(fn)),
        role=str(getattr(fn, "role", "") or ""),
    )


def _exit_reason(code) -> str:
    """How Lambda words a runtime's exit (Go's ProcessState): "exit status 3", "signal: killed"."""
    if isinstance(code, int) and code < 0:
        names = {signal.SIGKILL: "killed", signal.SIGSEGV: "segmentation fault", signal.SIGABRT: "aborted",
                 signal.SIGTERM: "terminated", signal.SIGBUS: "bus error"}
        return f"signal: {names.get(-code, f'signal {-code}')}"
    return f"exit status {code}"


@dataclass
class Outcome:
    """What one invoke produced."""

    request_id: str
    payload: bytes
    errored: bool
    log_lines: list[str] = field(default_factory=list)
    duration_ms: float = 0.0
    init_ms: float | None = None


class LambdaService:
    """Invokes, in Lambda's terms, on a pool of execution environments."""

    def __init__(self, endpoint_url: str, state_dir: Path):
        self.pool = Pool(endpoint_url, state_dir)
        self.memory = memory.MemoryWatcher()
        self._logs_lock = threading.Lock()
        self._background = ThreadPoolExecutor(max_workers=8, thread_name_prefix="lambda-event")
        self.gate = concurrency.Gate()
        self.counts = {"invokes": 0, "cold_starts": 0, "timeouts": 0, "errors": 0, "events": 0, "dry_runs": 0,
                       "out_of_memory": 0, "throttles": 0}
        self.notes: dict[str, str] = {}

    # ------------------------------------------------------------ invoking

    def invoke(self, fn, body, request_headers, response_headers) -> bytes:
        """moto's LambdaFunction.invoke, answered by a local worker."""
        invocation_type = header_value(request_headers, "X-Amz-Invocation-Type") or "RequestResponse"
        if isinstance(body, (bytes, bytearray)):
            body = body.decode("utf-8")
        body = body or "{}"
        response_headers["x-amz-executed-version"] = "$LATEST"
        if invocation_type == "DryRun":
            self.counts["dry_runs"] += 1
            return b""
        if invocation_type == "Event":
            self.counts["events"] += 1
            future = self._background.submit(self._run_event, fn, body)
            future.add_done_callback(_report_background_failure)
            return b""
        try:
            outcome = self.run(fn, body)
        except concurrency.Throttled as throttled:
            raise throttle_error(throttled.reason) from None
        except code_package.PackageError as err:  # Invoke: InvalidZipFileException (502)
            from moto.awslambda.exceptions import LambdaClientError

            exc = LambdaClientError(err.code, err.message)
            exc.code = err.status
            raise exc from None
        if outcome.errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        tail = "\n".join(outcome.log_lines).encode("utf-8")[-TAIL_BYTES:]
        response_headers["x-amz-log-result"] = base64.b64encode(tail).decode("ascii")
        return outcome.payload

    def sweep_packages(self) -> list[str]:
        """Remove unpacked packages that no function uses any longer (:meth:`Pool.sweep`), and forget
        deleted layer versions that no function uses."""
        functions = functions_in_use()
        specs = []
        for fn in functions:
            try:
                specs.append(function_spec(fn))
            except Exception:
                continue
        used = {lv.arn for fn in functions for lv in _layer_versions(fn)}
        from moto.awslambda.utils import get_backend

        for arn in list(_LAYERS):
            parts = arn.split(":")
            try:
                published = get_backend(parts[4], parts[3]).layers_versions_by_arn(arn)
            except Exception:
                published = None
            if arn not in used and published is None:
                _LAYERS.pop(arn, None)
        removed = self.pool.sweep(specs)
        if removed:
            self.counts["packages_removed"] = self.counts.get("packages_removed", 0) + len(removed)
        return removed

    def _run_event(self, fn, event: str) -> Outcome | None:
        """An asynchronous invocation: throttled, it waits in Lambda's internal queue and is tried
        again (Lambda Developer Guide, "Asynchronous invocation": throttles are retried for up to
        six hours); here every second, as long as the server runs."""
        give_up = time.monotonic() + EVENT_MAX_AGE_S
        while True:
            try:
                return self.run(fn, event)
            except concurrency.Throttled:
                if time.monotonic() > give_up or not _still_there(fn):
                    return None  # as Lambda discards an event past its maximum age
                time.sleep(EVENT_RETRY_S)

    def run(self, fn, event: str) -> Outcome:
        """Run one invocation; :class:`~sqslab.offline.awslambda.concurrency.Throttled` when the
        function's reserved concurrency, or the account's unreserved pool, is in use."""
        reserved = concurrency.reserved_of(fn.reserved_concurrency)
        try:
            token = self.gate.enter(fn.function_arn, reserved, reserved_total(fn))
        except concurrency.Throttled:
            self.counts["throttles"] += 1
            raise
        try:
            return self._run(fn, event)
        finally:
            self.gate.leave(token)

    def _run(self, fn, event: str) -> Outcome:
        spec = function_spec(fn)
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
        env, cold = self.pool.acquire(spec, fn.code_bytes, layer_codes(fn))
        watch = self.memory.watch(env, spec.memory_mb)
        init_ms = None
        keep = False
        try:
            init_err = None
            if cold:
                self.counts["cold_starts"] += 1
                init_ms, init_err = env.init(lines)
                if watch.exceeded:
                    init_err = self._out_of_memory(request_id)
                if init_err:
                    return self._init_failed(env, request_id, lines, init_err, init_ms, watch)
            lines.append((now_ms(), f"START RequestId: {request_id} Version: $LATEST"))
            reply, duration_ms = env.invoke(request_id, event, lines)
            used = int((reply or {}).get("max_rss_mb", 0))
            if watch.exceeded:  # stopped for its memory, whatever the worker managed to send first
                self.counts["errors"] += 1
                err = self._out_of_memory(request_id)
                lines.append((now_ms(), f"{err['errorMessage']}\n{err['errorType']}"))
                return self._finish(env, request_id, lines, err, duration_ms, init_ms, spec.memory_mb, "error")
            if reply is None:
                self.counts["timeouts"] += 1
                message = f"Task timed out after {spec.timeout:.2f} seconds"
                lines.append((now_ms(), f"{_utc_iso()} {request_id} {message}"))
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
                "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: {_exit_reason(reply.get('code'))}",
            }
            lines.append((now_ms(), f"{err['errorMessage']}\n{err['errorType']}"))
            return self._finish(env, request_id, lines, err, duration_ms, init_ms, used, "error")
        finally:
            self.memory.unwatch(watch)
            self.pool.release(env, keep and not watch.exceeded)

    def _out_of_memory(self, request_id: str) -> dict:
        """Lambda's answer for an environment stopped for going over its MemorySize."""
        self.counts["out_of_memory"] += 1
        return {
            "errorType": "Runtime.OutOfMemory",
            "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
        }

    def _init_failed(self, env, request_id, lines, err, init_ms, watch) -> Outcome:
        """An init that failed, logged as Lambda logs it: the error, ``INIT_REPORT`` with its
        status, then START / END and a REPORT line with ``Status: error`` and the error type.

        Lambda retries a failed init within the invoke (``Phase: invoke``), and that init's
        time is the invoke's Duration, with no Init Duration field; offline the one init
        stands for both."""
        self.counts["errors"] += 1
        status = "timeout" if err.get("errorType") == "Runtime.InitTimeout" else "error"
        init_report = f"INIT_REPORT Init Duration: {init_ms:.2f} ms\tPhase: invoke\tStatus: {status}"
        if status == "error":
            init_report += f"\tError Type: {err.get('errorType')}"
        lines.append((now_ms(), init_report))
        lines.append((now_ms(), f"START RequestId: {request_id} Version: $LATEST"))
        if watch.exceeded:
            used = env.spec.memory_mb
            lines.append((now_ms(), f"{err['errorMessage']}\n{err['errorType']}"))
        else:
            used = memory.peak_rss_mb(env.proc.pid) or watch.peak_bytes // (1024 * 1024)
        return self._finish(env, request_id, lines, err, init_ms, None, used, status)

    def _finish(self, env, request_id, lines, error, duration_ms, init_ms, used_mb, status, payload=None) -> Outcome:
        lines.append((now_ms(), f"END RequestId: {request_id}"))
        if status == "error" and error:
            status = f"error\tError Type: {error.get('errorType')}"
        lines.append(
            (now_ms(), format_report(request_id, duration_ms, env.spec.memory_mb, used_mb, init_ms, status))
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
        return {
            "python": ".".join(map(str, sys.version_info[:3])),
            "environments": self.pool.describe(),
            "counts": dict(self.counts),
            "notes": list(self.notes.values()),
            "runtime_libraries": runtime_libs.versions(),
            "memory_limit_enforced": memory.SUPPORTED,
        }

    def shutdown(self) -> None:
        self._background.shutdown(wait=False, cancel_futures=True)
        self.pool.shutdown()


def _report_background_failure(future) -> None:
    exc = future.exception()
    if exc is not None:
        print(f"sqslab-offline: an Event invocation failed inside the runtime: {exc!r}", flush=True)


def header_value(headers, name: str) -> str | None:
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


# ---------------------------------------------------------------- the server's one service

_SERVICE: LambdaService | None = None


def install(endpoint_url: str, state_dir: Path) -> LambdaService:
    """Create the process-wide service, where the lambda_local_runtime patch routes invokes.

    The server applies the patches (:func:`sqslab.offline.patches.apply_all`) first."""
    global _SERVICE
    _SERVICE = LambdaService(endpoint_url, Path(state_dir))
    return _SERVICE


def installed() -> LambdaService | None:
    """The process-wide service, or None when none is installed."""
    return _SERVICE


def get() -> LambdaService:
    if _SERVICE is None:
        raise RuntimeError("the local Lambda runtime is not installed in this process")
    return _SERVICE


def describe() -> dict:
    return _SERVICE.describe() if _SERVICE else {"installed": False}


def reclaim_idle() -> int:
    """Stop the environments waiting idle, as Lambda may at any time: a learner's next chapter calls
    this as it starts, so the last chapter's environments do not hold memory (README)."""
    return _SERVICE.pool.stop_idle() if _SERVICE else 0


def shutdown() -> None:
    if _SERVICE is not None:
        _SERVICE.shutdown()
