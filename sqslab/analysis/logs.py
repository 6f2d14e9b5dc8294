"""CloudWatch Logs of the stack's functions, fetched and turned into pandas frames.

The fetching lives here; the parsing is pure (:mod:`sqslab.base.loglines`) and the
frames are built by :func:`frames_from_events`, which takes plain event dicts,
so recorded exports and live logs go through the same code.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from sqslab import target as targets
from sqslab.base.errors import SqslabError
from sqslab.base.loglines import parse_json_line, parse_report


def parse_since(text: str | None, now: float | None = None) -> int | None:
    """``--since``: ``90s``, ``15m``, ``2h``, ``1d`` ago, or an ISO 8601 time; epoch ms."""
    if text is None or text == "":
        return None
    if not isinstance(text, str):
        raise SqslabError(f"--since must be text like 90s, 15m or an ISO time, not {type(text).__name__}")
    now = time.time() if now is None else now
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text)
    if m:
        seconds = float(m.group(1)) * {"s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]
        if seconds > now:
            raise SqslabError(f"--since {text} reaches back before 1970: give a shorter span, like 1d")
        return int((now - seconds) * 1000)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if dt.tzinfo is None:
            dt = dt.replace(tzinfo=timezone.utc)
        ms = int(dt.timestamp() * 1000)
    except (ValueError, OverflowError, OSError):
        raise SqslabError(f"--since {text!r} is not a time: use 90s, 15m, 2h, 1d or an ISO time like 2026-01-31T09:00") from None
    if ms < 0:
        raise SqslabError(f"--since {text} is before 1970: give a later time")
    return ms


def fetch(function_name: str, target=None, since_ms: int | None = None) -> list[dict]:
    """Every log event of one function (all streams), oldest first."""
    logs = targets.client("logs", target)
    group = f"/aws/lambda/{function_name}"
    kwargs = {"logGroupName": group}
    if since_ms is not None:
        kwargs["startTime"] = since_ms
    events: list[dict] = []
    try:
        for page in logs.get_paginator("filter_log_events").paginate(**kwargs):
            events.extend(page.get("events", []))
    except logs.exceptions.ResourceNotFoundException:
        return []
    for ev in events:
        ev["function"] = function_name
    events.sort(key=lambda e: (e["timestamp"], e.get("ingestionTime", 0)))
    return events


def fetch_stack(names: dict[str, str], target, since_ms: int | None = None,
                expect_reports: dict[str, int] | None = None, timeout: float = 60.0) -> list[dict]:
    """The events of a stack's functions (``names``: {logical name: deployed name}, as a lab's
    ``function_names()`` gives them), each marked with its ``logical`` name. On AWS, logs arrive
    seconds late: with ``expect_reports`` ({function: REPORT lines expected}) this polls until
    they are there."""
    tgt = target
    deadline = time.monotonic() + timeout
    while True:
        events = []
        for fn, name in names.items():
            for ev in fetch(name, tgt, since_ms):
                ev["logical"] = fn
                events.append(ev)
        if not expect_reports or _reports_present(events, expect_reports) or time.monotonic() > deadline:
            return events
        time.sleep(2.0)


def _reports_present(events: list[dict], expected: dict[str, int]) -> bool:
    counts: dict[str, int] = {}
    for ev in events:
        if ev["message"].startswith("REPORT "):
            counts[ev["logical"]] = counts.get(ev["logical"], 0) + 1
    return all(counts.get(fn, 0) >= n for fn, n in expected.items())


def frames_from_events(events: list[dict]):
    """(invocations, message events) as DataFrames from raw log events.

    invocations: one row per REPORT line (function, request_id, time, duration_ms, ...).
    message events: one row per handler JSON line (send, receive_call, receive, delete).
    """
    import pandas as pd

    invocations, messages = [], []
    for ev in events:
        fn = ev.get("logical") or ev.get("function")
        rep = parse_report(ev["message"])
        if rep:
            invocations.append({"function": fn, "timestamp_ms": ev["timestamp"], "log_stream": ev.get("logStreamName"), **rep})
            continue
        doc = parse_json_line(ev["message"])
        if doc:
            messages.append({"logical": fn, "timestamp_ms": ev["timestamp"], **doc})
    inv = pd.DataFrame(invocations)
    msg = pd.DataFrame(messages)
    if not inv.empty:
        inv = inv.sort_values("timestamp_ms", kind="stable").reset_index(drop=True)
    if not msg.empty:
        msg = msg.sort_values("timestamp_ms", kind="stable").reset_index(drop=True)
    return inv, msg


def iso_ms(ms: int) -> str:
    dt = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
