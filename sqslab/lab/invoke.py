"""One synchronous invoke and what it returned: the payload, the Duration from the
REPORT line, and the log tail (:meth:`sqslab.lab.handle.Lab.invoke` resolves the
function's name and calls :func:`call`). While a call is in flight an elapsed-time
indicator runs, so a 20 s long poll does not look like a hang.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass

from sqslab.base import progress
from sqslab.base.loglines import parse_report


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


def call(lam, function_name: str, data: bytes, label: str | None = None, progress: bool = True) -> Invocation:
    """Invoke ``function_name`` with the payload ``data`` (``LogType="Tail"``) and wait for it;
    returns payload, Duration and log tail. ``label`` names it on the elapsed-time line."""
    started = time.time()
    t0 = time.perf_counter()
    with _Elapsed(f"{label or function_name} in flight", progress):
        resp = lam.invoke(FunctionName=function_name, Payload=data, LogType="Tail")
        raw = resp["Payload"].read()
    elapsed = time.perf_counter() - t0
    tail = base64.b64decode(resp.get("LogResult", "")).decode("utf-8", "replace")
    report = next((parse_report(line) for line in reversed(tail.splitlines()) if line.startswith("REPORT ")), None)
    try:
        body = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    return Invocation(function_name, resp["StatusCode"], body, resp.get("FunctionError"), report, tail, elapsed,
                      started)
