"""Small helpers the notebooks call, so their cells stay about the concept."""

from __future__ import annotations

import json
import platform

from sqslab.config import PROFILES, RECORDING  # noqa: F401 - the notebooks read nb.PROFILES, nb.RECORDING

OBSERVATIONS_MIME = "application/vnd.sqslab.observations+json"



def check_parameters(target: str, stack_name: str, profile: str, visibility_timeout=None, wait=None,
                     **extra) -> tuple[int, int]:
    """Check a notebook's parameters (as papermill or a reader set them) before anything runs;
    returns (visibility timeout, long-poll wait) in seconds, the profile's where not given.

    Each problem stops the notebook with one line: from here on, an error sqslab raises
    shows as ``sqslab: ...`` without a traceback.
    """
    from sqslab import checks
    from sqslab.target import target_name

    _one_line_errors()
    target_name(target)
    checks.stack_name(stack_name)
    checks.choice("profile", profile, PROFILES)
    chosen = PROFILES[profile]
    # SQS Developer Guide: visibility timeout 0 s to 12 hours; long-poll wait 0 to 20 s.
    vt = checks.seconds("visibility_timeout", chosen["VisibilityTimeout"] if visibility_timeout is None
                        else visibility_timeout, 0, 43200, "SQS")
    wt = checks.seconds("wait", chosen["ReceiveMessageWaitTimeSeconds"] if wait is None else wait, 0, 20, "SQS")
    for name, value in extra.items():
        if name == "source":
            checks.choice("source", value, ("live", "recorded"))
        elif value is not None:
            checks.seconds(name, value, 1, 3600, "this notebook")
    return vt, wt


def setup(target: str, stack_name: str, profile: str, visibility_timeout=None, wait=None, **extra) -> tuple[int, int]:
    """A notebook's setup: its parameters checked (see :func:`check_parameters`), then,
    offline, the emulator started if none is running. Returns (visibility timeout, wait)."""
    from sqslab.target import start_offline

    timings = check_parameters(target, stack_name, profile, visibility_timeout, wait, **extra)
    start_offline(target)
    return timings


def _one_line_errors() -> None:
    from IPython import get_ipython

    from sqslab.errors import SqslabError

    shell = get_ipython()
    if shell is None:
        return

    def show(shell, etype, value, tb, tb_offset=None):
        shell._showtraceback(etype, value, [f"sqslab: {value}"])

    shell.set_custom_exc((SqslabError,), show)


def versions(target_name: str) -> str:
    import boto3
    import moto

    import sqslab

    return (f"sqslab {sqslab.__version__} · target **{target_name}** · Python {platform.python_version()} · "
            f"boto3 {boto3.__version__} · moto {moto.__version__} (offline emulator)")


def show_versions(target_name: str) -> None:
    from IPython.display import Markdown, display

    display(Markdown(versions(target_name)))


def ensure_stack(target_name: str, stack_name: str, visibility_timeout: int, wait: int, progress: bool = True) -> dict:
    """Deploy the stack with these timings unless it is already there as asked; returns its outputs."""
    from sqslab import stack

    params = {"VisibilityTimeout": visibility_timeout, "ReceiveMessageWaitTimeSeconds": wait}
    result = stack.deploy(stack_name=stack_name, params=params, target=target_name, progress=progress)
    print(f"stack {stack_name}: {result.action} ({result.status}), VisibilityTimeout {visibility_timeout} s, "
          f"long-poll wait {wait} s")
    for w in result.warnings:
        print("warning:", w)
    return result.outputs


def observe(**values) -> None:
    """Show what this notebook measured, as a table, and keep it machine-readable for the tests."""
    from IPython.display import display

    clean = json.loads(json.dumps(values, default=str))
    rows = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in clean.items())
    display({OBSERVATIONS_MIME: clean, "text/html": f"<table><tr><th>observed</th><th>value</th></tr>{rows}</table>",
             "text/plain": json.dumps(clean)}, raw=True)


def observations(nb) -> dict:
    """Every value a notebook passed to :func:`observe`, merged (for the tests)."""
    found = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if OBSERVATIONS_MIME in data:
                found.update(data[OBSERVATIONS_MIME])
    return found




def _complete(messages, visibility_timeout: int) -> bool:
    from sqslab import timeline

    if messages is None or messages.empty:
        return False
    per = timeline.per_message(messages)
    win = timeline.windows(messages)
    return (len(per) >= 2 and bool((per["receives"] >= 2).all()) and bool(per["deleted"].all())
            and set(win["visibility_timeout_s"]) == {int(visibility_timeout)})


def live_run(target_name: str, stack_name: str, visibility_timeout: int, wait: int):
    """(invocations, message events) of the latest complete run of the article's sequence
    in this stack's logs, with these timings; runs the sequence first if there is none."""
    from sqslab import article, logs, resources

    every_function_twice = {"function1": 2, "function2": 2, "function3": 2}
    ensure_stack(target_name, stack_name, visibility_timeout, wait)
    invocations, messages = logs.frames_from_events(logs.fetch_stack(stack_name, target_name))
    latest = article.latest_run(messages)
    if _complete(latest, visibility_timeout):
        print("drawing the latest run of the sequence found in the logs")
        # On AWS the last invocations' lines may still be arriving: wait until all six REPORT lines are in.
        start = int(latest["timestamp_ms"].min())
        events = logs.fetch_stack(stack_name, target_name, since_ms=start, expect_reports=every_function_twice)
        return logs.frames_from_events(events)
    print("no complete run with these timings in the logs yet: running the sequence now")
    resources.purge(stack_name, target_name)
    run = article.run_sequence(visibility_timeout, wait, stack_name, target_name)
    events = logs.fetch_stack(stack_name, target_name, since_ms=run.started_ms - 1000,
                              expect_reports=every_function_twice)
    return logs.frames_from_events(events)
