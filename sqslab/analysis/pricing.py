"""What SQS requests cost: the request price with its source (data/sqs_pricing.json),
a request rate carried over a month, and the short-versus-long polling table.

Pure arithmetic, tested without AWS; notebook 04 counts the requests itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqslab.config import PRICING

SECONDS_PER_MONTH = 30 * 24 * 3600
PRICING_FILE = PRICING


def load_pricing(path: Path = PRICING_FILE) -> dict:
    return json.loads(Path(path).read_text())


def monthly_cost(requests: int, duration_s: float, price_per_million: float, free_requests: int = 0) -> dict:
    """Requests per month at the measured rate, and their cost in USD (after any free tier)."""
    per_month = requests / duration_s * SECONDS_PER_MONTH
    billable = max(0.0, per_month - free_requests)
    return {"requests_per_month": per_month, "cost_usd_per_month": billable / 1e6 * price_per_million}


def cost_table(tallies: dict[str, dict], duration_s: float, waits: dict[str, int], pricing: dict):
    """One row per polling mode: requests counted in ``duration_s`` and what one such
    consumer costs in a month at that rate. ``tallies``: {mode: {"requests", "empty", "received"}}."""
    import pandas as pd

    rows = []
    for mode, tally in tallies.items():
        row = {"mode": mode, "wait_s": waits[mode], "duration_s": duration_s, "requests": tally["requests"],
               "empty_receives": tally["empty"], "received": tally.get("received", 0)}
        row.update(monthly_cost(tally["requests"], duration_s, pricing["price_per_million_requests_usd"]))
        rows.append(row)
    return pd.DataFrame(rows)
