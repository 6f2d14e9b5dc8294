"""The emulator's settings from the environment, each checked where it is read.

A setting out of its range is one line naming the variable, what it holds, the valid
range and the default, never a silent fallback (a memory poll of -5 ms would turn the
MemorySize limit off) nor a traceback in the server's log. The command that starts the
server checks them all first (:func:`check_all`), so the line reaches the user who set
them; the server reads them again with the same checks.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from sqslab.base.errors import SqslabError


@dataclass(frozen=True)
class Number:
    name: str
    default: float
    low: float
    high: float
    unit: str
    what: str

    def read(self, environ=None) -> float:
        raw = (os.environ if environ is None else environ).get(self.name)
        if raw is None or not raw.strip():
            return self.default
        advice = f"use {self.low:g} to {self.high:g} {self.unit} ({self.what}; default {self.default:g})"
        try:
            value = float(raw)
        except ValueError:
            raise SqslabError(f"{self.name}={raw!r} is not a number: {advice}") from None
        if not math.isfinite(value) or not self.low <= value <= self.high:
            raise SqslabError(f"{self.name}={raw!r} is out of range: {advice}")
        return value


IDLE_TTL = Number("SQSLAB_IDLE_TTL_S", 900, 1, 86_400, "seconds",
                  "how long an idle execution environment stays warm")
MEMORY_POLL = Number("SQSLAB_MEMORY_POLL_MS", 5, 1, 1000, "milliseconds",
                     "how often a running environment's memory is measured against its MemorySize")
NUMBERS = (IDLE_TTL, MEMORY_POLL)


def check_all(environ=None) -> None:
    """Every numeric setting within its range; SqslabError (one line) for the first that is not."""
    for setting in NUMBERS:
        setting.read(environ)
