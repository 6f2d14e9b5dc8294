"""Where progress lines go: stdout inside a notebook kernel (so handouts do not show
them as error output), stderr on the command line (so stdout stays the result)."""

from __future__ import annotations

import sys


def in_kernel() -> bool:
    """Whether this process is a running Jupyter kernel (not merely one that imported ipykernel)."""
    zmqshell = sys.modules.get("ipykernel.zmqshell")
    return bool(zmqshell and zmqshell.ZMQInteractiveShell.initialized())


def stream():
    return sys.stdout if in_kernel() else sys.stderr
