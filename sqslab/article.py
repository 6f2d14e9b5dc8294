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

from sqslab import invoke as invoking
from sqslab.base.progress import stream as progress_stream
from sqslab.stack import DEFAULT_STACK

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
class Run:
    """What a sequence run saw: one Invocation per function step."""

    visibility_timeout: int
    wait: int
    invocations: list = field(default_factory=list)
    started_ms: int = 0


def run_sequence(visibility_timeout: int, wait: int, stack_name: str = DEFAULT_STACK, target=None,
                 progress: bool = True) -> Run:
    """Run the whole sequence against a deployed stack."""
    run = Run(visibility_timeout, wait, started_ms=int(time.time() * 1000))
    received = None
    for fn, _ in STEPS:
        if fn == "wait":
            countdown(visibility_timeout - (time.monotonic() - received) + 0.5, progress=progress)
            continue
        inv = invoking.invoke(fn, stack_name=stack_name, target=target, progress=progress)
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
    from sqslab import timeline

    if messages is None or messages.empty:
        return False
    per = timeline.per_message(messages)
    win = timeline.windows(messages)
    return (len(per) >= 2 and bool((per["receives"] >= 2).all()) and bool(per["deleted"].all())
            and set(win["visibility_timeout_s"]) == {int(visibility_timeout)})


def live_run(lab, visibility_timeout: int, wait: int):
    """(invocations, message events) of the latest complete run of the article's sequence
    in this stack's logs (``lab``: a deployed :class:`~sqslab.handle.StackHandle`) with
    these timings; runs the sequence first if there is none."""
    from sqslab import logs, resources

    every_function_twice = {"function1": 2, "function2": 2, "function3": 2}
    invocations, messages = logs.frames_from_events(logs.fetch_stack(lab))
    latest = latest_run(messages)
    if _complete(latest, visibility_timeout):
        print("drawing the latest run of the sequence found in the logs")
        # On AWS the last invocations' lines may still be arriving: wait until all six REPORT lines are in.
        start = int(latest["timestamp_ms"].min())
        events = logs.fetch_stack(lab, since_ms=start, expect_reports=every_function_twice)
        return logs.frames_from_events(events)
    print("no complete run with these timings in the logs yet: running the sequence now")
    resources.purge(lab)
    run = run_sequence(visibility_timeout, wait, lab)
    events = logs.fetch_stack(lab, since_ms=run.started_ms - 1000, expect_reports=every_function_twice)
    return logs.frames_from_events(events)
