"""A recorded run of the article's sequence: made offline with ``sqslab record``
(deploy, run, export the three functions' log events, tear down) and read back by
notebooks 03 and 04 when their parameter ``source`` is ``"recorded"``."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sqslab.config import RECORDING
from sqslab.lab.article import run_sequence

__all__ = ["RECORDING", "record", "load_recording", "load_events"]


def record(path: Path, visibility_timeout: int = 90, wait: int = 20, stack_name: str = "sqslab-record") -> dict:
    """Deploy, run the sequence, export the three functions' log events to ``path``, tear down."""
    import moto

    from sqslab import target
    from sqslab.analysis import logs
    from sqslab.deploy import stack
    from sqslab.lab.handle import Lab

    tgt = target.resolve("offline")
    # Its own prefix, so a recording never collides with the tutorial's stack (fa-021).
    params = {"Prefix": "fa-021-rec", "VisibilityTimeout": visibility_timeout, "ReceiveMessageWaitTimeSeconds": wait}
    stack.deploy(stack_name=stack_name, params=params, target=tgt, progress=False)
    try:
        lab = Lab.of(stack_name, tgt)
        run = run_sequence(lab, visibility_timeout, wait, progress=False)
        events = logs.fetch_stack(lab.function_names(), tgt, since_ms=run.started_ms - 1000)
    finally:
        stack.teardown(stack_name, target=tgt, progress=False)
    doc = {
        "about": "A recorded log export of one full offline run of the article's sequence. "
                 "Recorded with sqslab's embedded emulator, not on AWS. Regenerate with: sqslab record.",
        "emulator": f"moto {moto.__version__} with the sqslab local Lambda runtime",
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "parameters": {k: v for k, v in params.items() if k != "Prefix"},
        "events": [
            {k: ev[k] for k in ("logical", "function", "timestamp", "logStreamName", "message") if k in ev}
            for ev in events
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    partial.replace(path)  # whole or not at all: an interrupted write leaves the earlier recording
    return doc


def is_recording(path: Path) -> bool:
    """Whether ``path`` holds a recording :func:`record` wrote (which a new one may replace)."""
    try:
        with open(path, encoding="utf-8") as handle:
            doc = json.loads(handle.read(64 * 1024 * 1024))
    except (OSError, ValueError, UnicodeDecodeError):
        return False
    return isinstance(doc, dict) and isinstance(doc.get("events"), list) and str(doc.get("about", "")).startswith(
        "A recorded log export")


def load_recording(path: Path = RECORDING) -> dict:
    return json.loads(Path(path).read_text())


def load_events(path: Path = RECORDING) -> list[dict]:
    """The recorded run's log events as ``filter_log_events`` returns them (``timestamp``,
    ``logStreamName``, ``message``), each with the stack's name for its ``function``
    (``function1``...), as the notebooks' own fetch gives them."""
    return [{"function": ev["logical"], **{k: ev[k] for k in ("timestamp", "logStreamName", "message") if k in ev}}
            for ev in load_recording(path)["events"]]
