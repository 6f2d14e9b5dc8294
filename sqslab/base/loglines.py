"""Lambda's log lines, written and read: REPORT lines and the handlers' JSON lines.

The offline runtime writes its REPORT lines with :func:`format_report`; the log
readers parse them (and Lambda's own) with :func:`parse_report`, so the line's
format lives in one place.

No boto3 here: these functions take strings and return plain values, so they are
tested without any AWS, emulated or real.
"""

from __future__ import annotations

import json
import math
import re

# The REPORT line as Lambda writes it: tab-separated fields after the request id;
# Init Duration only on a cold start; newer runtimes may append Status fields.
REPORT_RE = re.compile(
    r"^REPORT RequestId: (?P<request_id>[0-9a-fA-F-]{36})\s+"
    r"Duration: (?P<duration_ms>\d+(?:\.\d+)?) ms\s+"
    r"Billed Duration: (?P<billed_ms>\d+) ms\s+"
    r"Memory Size: (?P<memory_mb>\d+) MB\s+"
    r"Max Memory Used: (?P<max_memory_used_mb>\d+) MB"
    r"(?:\s+Init Duration: (?P<init_ms>\d+(?:\.\d+)?) ms)?"
    r"(?:\s+Status: (?P<status>\w+))?"
)
START_RE = re.compile(r"^START RequestId: (?P<request_id>[0-9a-fA-F-]{36}) Version: (?P<version>\S+)")
END_RE = re.compile(r"^END RequestId: (?P<request_id>[0-9a-fA-F-]{36})")


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


def parse_report(line: str) -> dict | None:
    """The fields of a REPORT line (numbers as float/int), or None if it is not one."""
    m = REPORT_RE.match(line.strip("\n"))
    if not m:
        return None
    d = m.groupdict()
    return {
        "request_id": d["request_id"],
        "duration_ms": float(d["duration_ms"]),
        "billed_ms": int(d["billed_ms"]),
        "memory_mb": int(d["memory_mb"]),
        "max_memory_used_mb": int(d["max_memory_used_mb"]),
        "init_ms": float(d["init_ms"]) if d["init_ms"] is not None else None,
        "cold_start": d["init_ms"] is not None,
        "status": d["status"] or "success",
    }


def parse_json_line(line: str) -> dict | None:
    """A handler's structured log line (a JSON object with an ``event`` key), else None."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) and "event" in doc else None
