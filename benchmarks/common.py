"""What the benchmarks share: the role their functions run as, how a timing is printed,
and running against the offline server (started, and then stopped, if none was running)."""

from __future__ import annotations

import socket
import statistics

# What the benchmarks' functions and mappings do, on the benchmarks' queues only
# (each function runs as its role, and a mapping polls with it).
BENCH_POLICY = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Resource": "arn:aws:sqs:*:*:bench-*",
    "Action": ["sqs:GetQueueUrl", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
               "sqs:GetQueueAttributes"]}]}


def free_port() -> int:
    """A loopback port no one listens on now: a benchmark's offline server of its own."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def line(label: str, values: list[float], unit: str = "ms", scale: float = 1000.0, width: int = 52) -> None:
    """One timing: its count, median, 95th percentile and extremes."""
    v = [x * scale for x in values]
    print(f"{label:<{width}} n={len(v):<4} median {statistics.median(v):8.2f} {unit}   p95 {pct(v, 0.95):8.2f} {unit}"
          f"   min {min(v):8.2f} {unit}   max {max(v):8.2f} {unit}")


def on_offline_server(run, args) -> int:
    """``run(args)`` with the offline server running; a server started here is stopped afterwards."""
    from sqslab.offline.server import control as server

    started_here = not server.status()["running"]
    try:
        return run(args)
    finally:
        if started_here:
            server.stop()
