"""Short versus long polling on a sparse stream of messages: requests counted, cost estimated.

A producer sends one message every ``message_every_s`` seconds; a consumer
drains the queue for ``duration_s`` seconds, either with short polling
(WaitTimeSeconds=0, sleeping ``short_interval_s`` after an empty answer, as a
typical loop does) or with long polling (WaitTimeSeconds=``wait_s``). Every
ReceiveMessage call is counted, and so are the empty ones.

The cost arithmetic is pure (:func:`monthly_cost`), tested without AWS.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import asdict, dataclass
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


@dataclass
class PollingResult:
    mode: str  # "short" or "long"
    wait_s: int
    duration_s: float
    sent: int
    received: int
    requests: int
    empty_receives: int
    median_latency_s: float | None

    def as_row(self) -> dict:
        return asdict(self)


def run(mode: str, duration_s: float, message_every_s: float, wait_s: int = 20, short_interval_s: float = 1.0,
        target=None) -> PollingResult:
    """Run one consumer against a fresh queue for ``duration_s``; the queue is deleted after."""
    from sqslab import target as targets

    if mode not in ("short", "long"):
        raise ValueError("mode is 'short' or 'long'")
    sqs = targets.client("sqs", target)
    url = sqs.create_queue(QueueName=f"sqslab-polling-{mode}-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    sent_at: dict[str, float] = {}
    stop = threading.Event()
    start = time.monotonic()
    deadline = start + duration_s

    def produce():
        n = 0
        while not stop.wait(message_every_s if n else min(message_every_s / 2, 1.0)):
            if time.monotonic() >= deadline:
                return
            body = f"m{n}"
            sent_at[body] = time.monotonic()
            sqs.send_message(QueueUrl=url, MessageBody=body)
            n += 1

    producer = threading.Thread(target=produce, daemon=True)
    producer.start()
    requests = empties = received = 0
    latencies = []
    try:
        while time.monotonic() < deadline:
            wait = 0 if mode == "short" else max(1, min(wait_s, int(deadline - time.monotonic() + 0.999)))
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait).get("Messages", [])
            requests += 1
            now = time.monotonic()
            if not got:
                empties += 1
                if mode == "short":
                    time.sleep(min(short_interval_s, max(0.0, deadline - now)))
                continue
            for m in got:
                received += 1
                if m["Body"] in sent_at:
                    latencies.append(now - sent_at[m["Body"]])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    finally:
        stop.set()
        producer.join()
        sqs.delete_queue(QueueUrl=url)
    latencies.sort()
    median = latencies[len(latencies) // 2] if latencies else None
    return PollingResult(mode, 0 if mode == "short" else wait_s, duration_s, len(sent_at), received, requests, empties,
                         median)


def compare(duration_s: float, message_every_s: float, wait_s: int = 20, short_interval_s: float = 1.0,
            target=None, pricing: dict | None = None):
    """Both consumers, one after the other, as a DataFrame with the monthly cost per consumer."""
    import pandas as pd

    pricing = pricing or load_pricing()
    rows = []
    for mode in ("short", "long"):
        res = run(mode, duration_s, message_every_s, wait_s, short_interval_s, target)
        row = res.as_row()
        row.update(monthly_cost(res.requests, res.duration_s, pricing["price_per_million_requests_usd"]))
        rows.append(row)
    return pd.DataFrame(rows)
