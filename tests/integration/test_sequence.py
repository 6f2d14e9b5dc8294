"""The article's sequence against the offline stack: function1 twice; function2 gets
both bodies; function3 at once gets none and lasts the wait (the visibility
timeout hides them); after the timeout function3 gets both and deletes them;
function2 then gets none and lasts the wait (the long poll). ``sqslab record`` exports
such a run's log events."""


from __future__ import annotations

import time
import uuid

import pytest

from sqslab.analysis import logs, timeline
from sqslab.deploy import stack
from sqslab.lab import article
from sqslab.lab.handle import Lab

pytestmark = pytest.mark.usefixtures("offline")


def article_sequence(visibility_timeout: int, wait: int):
    name, prefix = f"seq-{uuid.uuid4().hex[:6]}", f"q{uuid.uuid4().hex[:6]}"
    stack.deploy(
        stack_name=name,
        params={"Prefix": prefix, "VisibilityTimeout": visibility_timeout, "ReceiveMessageWaitTimeSeconds": wait},
        progress=False,
    )
    try:
        run = article.run_sequence(Lab.of(name), visibility_timeout, wait, progress=False)
    finally:
        stack.teardown(name, progress=False)
    sent1, sent2, first, hidden, deleted, empty = run.invocations
    return [sent1, sent2], first, hidden, deleted, empty


def check(result, wait: float):
    sent, first, hidden, deleted, empty = result
    assert all(s.function_error is None and s.payload["statusCode"] == 200 for s in sent)
    ids = [s.body["Successful"][0]["Id"] for s in sent]  # the Id is the body: the time it was sent
    assert sorted(first.body) == sorted(ids), "function2 returns both bodies"
    assert hidden.body == [], "function3 right after function2 sees nothing: the visibility timeout"
    assert hidden.duration_ms / 1000 == pytest.approx(wait, abs=0.5)
    assert sorted(deleted.body) == sorted(ids), "after the timeout function3 receives both"
    assert empty.body == [], "function3 deleted them: the queue is empty"
    assert empty.duration_ms / 1000 == pytest.approx(wait, abs=0.5), "an empty long poll lasts the wait time"
    assert first.duration_ms / 1000 < wait, "a poll with messages waiting returns at once"


@pytest.mark.slow
def test_article_sequence_short_profile():
    # The fast suite sees the sequence in notebook 02 (its cells) and in the record command
    # (sqslab.lab.article.run_sequence, tests/unit/test_timeline.py); this keeps the package's runner
    # checked call by call with short timings in the slow suite.
    check(article_sequence(visibility_timeout=4, wait=1), wait=1)


@pytest.mark.slow
def test_article_sequence_article_timings():
    t0 = time.monotonic()
    check(article_sequence(visibility_timeout=90, wait=20), wait=20)
    print(f"\nthe article's sequence took {time.monotonic() - t0:.1f} s")


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
