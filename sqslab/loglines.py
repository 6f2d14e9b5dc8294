"""Pure parsing of Lambda log lines: REPORT lines and the handlers' JSON lines.

No boto3 here: these functions take strings and return plain values, so they are
tested without any AWS, emulated or real.
"""

from __future__ import annotations

import json
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
