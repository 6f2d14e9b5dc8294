"""Small helpers the notebooks call, so their cells stay about the concept."""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass

from sqslab.config import FUNCTIONS, LAMBDAS, PROFILES
from sqslab.handle import StackHandle

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


@dataclass
class Lab(StackHandle):
    """The notebook's stack on its target (clients, names), with the timings it runs with."""

    profile: str = "article"
    visibility_timeout: int = 90
    wait: int = 20

    def invoke(self, function: str, payload=None, progress: bool = True):
        """Invoke one of the stack's functions (``"function1"``...) with ``LogType="Tail"`` and wait
        for it: an :class:`~sqslab.invoke.Invocation` with ``.body``, ``.duration_ms``, ``.summary()``."""
        from sqslab.invoke import invoke

        return invoke(function, payload, stack_name=self, progress=progress)


def setup(target: str, stack_name: str, profile: str, visibility_timeout=None, wait=None, deploy: bool = False,
          **extra) -> Lab:
    """A notebook's setup, in one call: its parameters checked (see :func:`check_parameters`),
    the offline emulator started if none is running, the stack deployed with these timings
    when ``deploy`` (nothing happens if it already is), and the versions in use shown."""
    from sqslab.target import start_offline

    vt, wt = check_parameters(target, stack_name, profile, visibility_timeout, wait, **extra)
    lab = Lab(stack_name, start_offline(target), profile=profile, visibility_timeout=vt, wait=wt)
    if deploy:
        ensure_stack(lab)
    show_versions(lab.target.name)
    return lab


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


def ensure_stack(lab: Lab, progress: bool = True) -> dict:
    """Deploy the lab's stack with its timings unless it is already there as asked; returns its outputs."""
    from sqslab import stack

    params = {"VisibilityTimeout": lab.visibility_timeout, "ReceiveMessageWaitTimeSeconds": lab.wait}
    result = stack.deploy(stack_name=lab.name, params=params, target=lab.target, progress=progress)
    print(f"stack {lab.name}: {result.action} ({result.status}), VisibilityTimeout {lab.visibility_timeout} s, "
          f"long-poll wait {lab.wait} s")
    for w in result.warnings:
        print("warning:", w)
    lab.refresh()
    return result.outputs


def show_handlers(*logical: str) -> None:
    """Show the handlers' source as deployed (read from lambdas/, so it is never a copy)."""
    from IPython.display import Code, Markdown, display

    for name in logical or FUNCTIONS:
        display(Markdown(f"**`lambdas/{name}/index.py`**"))
        display(Code((LAMBDAS / name / "index.py").read_text().rstrip(), language="python"))


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
