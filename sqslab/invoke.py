"""Invoke the stack's functions by logical name (function1/2/3) or full name.

Returns the payload, the Duration from the REPORT line, and the log tail. While
a call is in flight an elapsed-time indicator runs, so a 20 s long poll does not
look like a hang.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass

from sqslab import checks
from sqslab.base import progress
from sqslab.base.errors import SqslabError
from sqslab.base.loglines import parse_report
from sqslab.config import DEFAULT_STACK, FUNCTIONS
from sqslab.handle import StackHandle


@dataclass
class Invocation:
    function: str
    status_code: int
    payload: object
    function_error: str | None
    report: dict | None
    log_tail: str
    elapsed_s: float
    started_at: float

    @property
    def duration_ms(self) -> float | None:
        return self.report["duration_ms"] if self.report else None

    @property
    def body(self):
        """The handler's ``body``, decoded from JSON (the article's return shape)."""
        if isinstance(self.payload, dict) and "body" in self.payload:
            try:
                return json.loads(self.payload["body"])
            except (TypeError, ValueError):
                return self.payload["body"]
        return self.payload

    def summary(self) -> str:
        dur = f"{self.duration_ms:.0f} ms" if self.duration_ms is not None else "n/a"
        err = f" [{self.function_error}]" if self.function_error else ""
        return f"{self.function}: Duration {dur}{err}"


def function_name(name: str, stack_name: StackHandle | str = DEFAULT_STACK, target=None) -> str:
    """``function1`` -> the stack's Function1Name; a full name is checked to exist."""
    name = checks.function_name(name)
    lab = StackHandle.of(stack_name, target)
    if name in FUNCTIONS:
        return lab.function_name(name)
    lam = lab.client("lambda")
    try:
        lam.get_function(FunctionName=name)
    except lam.exceptions.ResourceNotFoundException:
        raise SqslabError(
            f"no function named {name!r}: use function1, function2 or function3 (or a deployed function's full name)"
        ) from None
    return name


class _Elapsed:
    """A live elapsed-time line while a call is in flight (text, so handouts keep it)."""

    def __init__(self, label: str, enabled: bool):
        self.label, self.enabled = label, enabled
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=None, desc=self.label, bar_format="{desc}: waiting {elapsed}", mininterval=0.5,
                             file=progress.stream())
            self._thread = threading.Thread(target=self._tick, daemon=True)
            self._thread.start()
        return self

    def _tick(self):
        while not self._stop.wait(0.5):
            self._bar.refresh()

    def __exit__(self, *exc):
        if self._thread:
            self._stop.set()
            self._thread.join()
            self._bar.close()


def invoke(name: str, payload=None, stack_name: StackHandle | str = DEFAULT_STACK, target=None,
           progress: bool = True) -> Invocation:
    """Invoke a function and wait for it; returns payload, Duration and log tail."""
    data = checks.payload(payload)
    lab = StackHandle.of(stack_name, target)
    full = function_name(name, lab)
    lam = lab.client("lambda")
    started = time.time()
    t0 = time.perf_counter()
    with _Elapsed(f"{name} in flight", progress):
        resp = lam.invoke(FunctionName=full, Payload=data, LogType="Tail")
        raw = resp["Payload"].read()
    elapsed = time.perf_counter() - t0
    tail = base64.b64decode(resp.get("LogResult", "")).decode("utf-8", "replace")
    report = next((parse_report(line) for line in reversed(tail.splitlines()) if line.startswith("REPORT ")), None)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return Invocation(full, resp["StatusCode"], body, resp.get("FunctionError"), report, tail, elapsed, started)
