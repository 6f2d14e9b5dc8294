"""Wall-clock time as AWS writes it in logs and attributes: epoch milliseconds."""

from __future__ import annotations

import time


def now_ms() -> int:
    """Now, in epoch milliseconds (CloudWatch Logs timestamps, SQS SentTimestamp)."""
    return int(time.time() * 1000)
