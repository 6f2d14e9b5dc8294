"""Log parsing, the timeline and the figures, on the recorded offline run in data/ (no AWS, no server)."""


from __future__ import annotations

import matplotlib

matplotlib.use("Agg")


import pytest  # noqa: E402

from sqslab.analysis import logs, timeline
from sqslab.config import RECORDING  # noqa: E402
from sqslab.series import recording  # noqa: E402


@pytest.fixture(scope="module")
def recorded():
    doc = recording.load_recording(RECORDING)
    inv, msg = logs.frames_from_events(doc["events"])
    return doc, inv, msg


def test_record_command_exports_a_labelled_run(offline, tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "run.json"
    result = subprocess.run(
        [sys.executable, "-m", "sqslab.cli", "record", "--out", str(out), "--visibility-timeout", "3", "--wait", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    doc = json.loads(out.read_text())
    assert doc["parameters"] == {"VisibilityTimeout": 3, "ReceiveMessageWaitTimeSeconds": 1}
    inv, msg = logs.frames_from_events(doc["events"])
    assert list(inv["function"]) == ["function1", "function1", "function2", "function3", "function3", "function2"]
    per = timeline.per_message(msg)
    assert list(per["receives"]) == [2, 2] and bool(per["deleted"].all())
    assert list(per["receivers"]) == ["function2 -> function3"] * 2, "hidden from function3, then its own"
    polls = timeline.polls(msg)
    assert list(zip(polls["function"], polls["messages"], strict=True)) == [
        ("function2", 2), ("function3", 0), ("function3", 2), ("function2", 0)]
    empty = polls[polls["messages"] == 0]["duration_s"]
    assert all(abs(d - 1) < 0.5 for d in empty), "an empty long poll lasts its 1 s wait"
