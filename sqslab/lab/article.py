"""The article's sequence of invocations, step by step, and a recorder for whole runs.

1. function1, twice: two messages, each body the time it was sent.
2. function2: receives both; they stay in the queue, invisible for the visibility timeout.
3. function3 at once: nothing (the messages are invisible); it waits out the long poll.
4. after the visibility timeout: function3 receives both and deletes them.
5. function2 again: nothing, after a full long poll (the queue is empty).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqslab.base.progress import stream as progress_stream

STEPS = (
    ("function1", "sends the current time"),
    ("function1", "sends the current time again"),
    ("function2", "receives both bodies: they stay in the queue, invisible"),
    ("function3", "right away: nothing, the visibility timeout hides them; waits out the long poll"),
    ("wait", "until the visibility timeout has passed"),
    ("function3", "receives both and deletes them"),
    ("function2", "nothing: the queue is empty; the call lasts the long-poll wait"),
)


def countdown(seconds: float, label: str = "visibility timeout", progress: bool = True) -> None:
    """Sleep ``seconds``, showing a countdown bar (text, so handouts keep it)."""
    from tqdm import tqdm

    if seconds <= 0:
        return
    steps = max(1, int(seconds * 2))
    with tqdm(total=steps, desc=f"waiting for the {label}", bar_format="{desc}: {bar} {remaining} left",
              disable=not progress, file=progress_stream()) as bar:
        end = time.monotonic() + seconds
        for _ in range(steps):
            time.sleep(max(0.0, min(0.5, end - time.monotonic())))
            bar.update(1)


@dataclass
class SequenceRun:
    """What a sequence run saw: one Invocation per function step."""

    visibility_timeout: int
    wait: int
    invocations: list = field(default_factory=list)
    started_ms: int = 0


def run_sequence(lab, visibility_timeout: int, wait: int, progress: bool = True) -> SequenceRun:
    """Run the whole sequence against a deployed stack (``lab``: its :class:`~sqslab.lab.handle.Lab`)."""
    run = SequenceRun(visibility_timeout, wait, started_ms=int(time.time() * 1000))
    received = None
    for fn, _ in STEPS:
        if fn == "wait":
            countdown(visibility_timeout - (time.monotonic() - received) + 0.5, progress=progress)
            continue
        inv = lab.invoke(fn, progress=progress)
        if fn == "function2" and received is None:
            received = time.monotonic() - inv.elapsed_s + (inv.duration_ms or 0) / 1000
        run.invocations.append(inv)
    return run


def latest_run(messages):
    """The message events of the most recent sequence: from its first function1 send on.

    A sequence starts with two sends by function1; the events from the earlier of
    the last two sends onward are returned (an empty frame when there is none)."""
    if messages is None or messages.empty or "event" not in messages:
        return messages
    sends = messages[(messages["event"] == "send") & (messages["logical"] == "function1")]
    if len(sends) < 2:
        return messages.iloc[0:0]
    start = sends["timestamp_ms"].iloc[-2]
    return messages[messages["timestamp_ms"] >= start].reset_index(drop=True)



def _complete(messages, visibility_timeout: int) -> bool:
    from sqslab.analysis import timeline

    if messages is None or messages.empty:
        return False
    per = timeline.per_message(messages)
    win = timeline.windows(messages)
    return (len(per) >= 2 and bool((per["receives"] >= 2).all()) and bool(per["deleted"].all())
            and set(win["visibility_timeout_s"]) == {int(visibility_timeout)})


def _span(events: list[dict], first_send_ms: int) -> tuple[int, int]:
    """(first, last) timestamp of the run whose first send is logged at ``first_send_ms``: from the
    START line of the invocation that sent it to the REPORT line of the sequence's last invocation."""
    starts = [ev["timestamp"] for ev in events if ev["logical"] == "function1"
              and ev["message"].startswith("START ") and ev["timestamp"] <= first_send_ms]
    first = max(starts) if starts else first_send_ms
    reports: dict[str, list[int]] = {}
    for ev in events:
        if ev["message"].startswith("REPORT ") and ev["timestamp"] >= first:
            reports.setdefault(ev["logical"], []).append(ev["timestamp"])
    # the sequence invokes each function twice: its end is the last of those six REPORT lines
    last = max(sorted(times)[:2][-1] for times in reports.values())
    return first, last


def logged_run(lab, visibility_timeout: int | None = None, wait: int | None = None) -> tuple[int, int]:
    """Where the latest whole run of the article's sequence with these timings lies in this stack's
    logs (``lab``: a deployed :class:`~sqslab.lab.handle.Lab`): its first and last log event's
    time, epoch ms, for ``filter_log_events``'s ``startTime`` and ``endTime``. When the logs hold no
    such run, the queue is emptied and the sequence runs first. On AWS, log events arrive some
    seconds late: this returns once all six invocations' REPORT lines are in."""
    from sqslab.analysis import logs
    from sqslab.lab import resources

    visibility_timeout = lab.visibility_timeout if visibility_timeout is None else visibility_timeout
    wait = lab.wait if wait is None else wait
    every_function_twice = {"function1": 2, "function2": 2, "function3": 2}
    events = logs.fetch_stack(lab.function_names(), lab.target)
    _, messages = logs.frames_from_events(events)
    latest = latest_run(messages)
    if _complete(latest, visibility_timeout):
        print("the logs hold a whole run of the sequence: its events are the ones below")
        start = int(latest["timestamp_ms"].min())
    else:
        print("no whole run with these timings in the logs yet: running the sequence now")
        resources.purge(lab)
        run = run_sequence(lab, visibility_timeout, wait)
        start = run.started_ms
    events = logs.fetch_stack(lab.function_names(), lab.target, since_ms=start - 1000, expect_reports=every_function_twice)
    first_send = int(latest_run(logs.frames_from_events(events)[1])["timestamp_ms"].min())
    return _span(events, first_send)
