"""Where progress lines go: stdout inside a notebook kernel (so handouts do not show
them as error output), stderr on the command line (so stdout stays the result)."""

from __future__ import annotations

import sys


def stream():
    return sys.stdout if "ipykernel" in sys.modules else sys.stderr
