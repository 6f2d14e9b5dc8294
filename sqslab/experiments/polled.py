"""What Lambda's SQS event source mapping did, read back from the consumer's CloudWatch Logs,
for chapters 05 and 06 and their exercises.

The consumer (``lambdas/consumer``) logs a ``batch`` line per invocation and a ``record``
line per message; each invocation also ends with its REPORT line. The helpers here wait
for those lines (on AWS they arrive seconds late) instead of sleeping, and turn them into
frames with :mod:`sqslab.analysis.timeline`. The SQS and Lambda calls a chapter teaches stay in
its cells; this is the plumbing around them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import pandas as pd

from sqslab.analysis import logs, timeline
from sqslab.base.clock import now_ms
from sqslab.base.errors import SqslabError
from sqslab.lab.resources import empty_queue, queue_count

POLL_S = 0.2  # how often the logs and the queues are looked at while waiting
# On AWS, log lines arrive seconds after they are written: a function's lines count as all in
# once they have not changed for this long. Offline they are in before the invoke returns.
LOGS_QUIET_S = 5.0


@dataclass
class ConsumerRun:
    """What the consumer logged from ``since_ms`` on: invocations (REPORT lines), its JSON
    lines, and the frames built from them."""

    invocations: pd.DataFrame
    messages: pd.DataFrame

    @property
    def batches(self) -> pd.DataFrame:
        return timeline.batches(self.messages)

    @property
    def attempts(self) -> pd.DataFrame:
        return timeline.attempts(self.messages)

    def only(self, message_ids) -> ConsumerRun:
        """The part of the run that concerns these messages: their record lines and the batch
        lines that held them (the REPORT lines are kept whole)."""
        ids = set(message_ids)
        msg = self.messages
        if msg.empty:
            return self
        keep = msg.apply(lambda r: (r.get("event") == "record" and r.get("message_id") in ids)
                         or (r.get("event") == "batch" and bool(ids & set(r.get("message_ids") or []))), axis=1)
        return ConsumerRun(self.invocations, msg[keep].reset_index(drop=True))

    def invocation_count(self) -> int:
        """Invocations that logged a batch line (each ends with one REPORT line)."""
        return len(self.batches)


def read(lab, since_ms: int, function: str = "consumer") -> ConsumerRun:
    """The consumer's log lines from ``since_ms`` on, as a :class:`ConsumerRun`."""
    name = lab.function_name(function)
    events = logs.fetch(name, lab.target, since_ms)
    for ev in events:
        ev["logical"] = function
    invocations, messages = logs.frames_from_events(events)
    return ConsumerRun(invocations, messages)


def wait_for(lab, since_ms: int, done, timeout: float = 60.0, what: str = "the consumer's log lines") -> ConsumerRun:
    """Read the consumer's logs until ``done(run)`` is true, and every batch line has its REPORT
    line; a :class:`~sqslab.base.errors.SqslabError` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        run = read(lab, since_ms)
        if done(run) and len(run.invocations) >= run.invocation_count():
            return run
        if time.monotonic() > deadline:
            raise SqslabError(f"{what} did not come within {timeout:.0f} s: is the mapping enabled "
                              f"(lambda get_event_source_mapping) and the consumer deployed?")
        time.sleep(POLL_S)


def wait_processed(lab, since_ms: int, message_ids, attempts: int = 1, timeout: float = 60.0) -> ConsumerRun:
    """Wait until each message has been processed ``attempts`` times (its record lines)."""
    wanted = list(message_ids)

    def done(run: ConsumerRun) -> bool:
        seen = run.attempts["message_id"].value_counts() if not run.attempts.empty else pd.Series(dtype=int)
        return all(seen.get(m, 0) >= attempts for m in wanted)

    return wait_for(lab, since_ms, done, timeout, f"{len(wanted)} messages' record lines")


def watch_queue(sqs, queue_url: str, until: int, timeout: float, say=print) -> list[tuple[int, int]]:
    """Look at a queue's message count every 0.2 s until it holds ``until`` messages; returns
    (time in ms, count) each time the count grew. For a dead-letter queue: when messages arrived."""
    deadline = time.monotonic() + timeout
    rises: list[tuple[int, int]] = []
    last = queue_count(sqs, queue_url)
    while last < until:
        if time.monotonic() > deadline:
            raise SqslabError(f"the queue held {last} messages after {timeout:.0f} s, not {until}")
        time.sleep(POLL_S)
        count = queue_count(sqs, queue_url)
        if count > last:
            rises.append((now_ms(), count))
            say(f"  {time.strftime('%H:%M:%S')}  {count} message(s) in {queue_url.rsplit('/', 1)[-1]}")
        last = count
    return rises


def start_clean(lab, queues: dict[str, str] | None = None) -> None:
    """Empty a chapter's queues (name -> URL; by default the stack's queue and dead-letter queue)
    of the messages an earlier run, or an earlier section of the page, left in them."""
    sqs = lab.client("sqs")
    queues = queues or {lab.queue_name: lab.queue_url, lab.dead_letter_queue_name: lab.dead_letter_queue_url}
    found = {name: empty_queue(sqs, url) for name, url in queues.items()}
    held = ", ".join(f"{name} {n}" for name, n in found.items())
    print(f"messages already there: {held}; {'both queues are' if len(found) == 2 else 'all are'} empty now")


def sweep_table(runs: dict, sent: int) -> pd.DataFrame:
    """One row per mapping setting of a sweep: ``runs`` maps (BatchSize, window) -> :class:`ConsumerRun`."""
    rows = []
    for (batch_size, window), run in runs.items():
        sizes = run.batches["size"].tolist()
        rows.append({"BatchSize": batch_size, "window_s": window, "messages": sent,
                     "invocations": run.invocation_count(), "batch_sizes": sizes,
                     "processed": len(run.attempts)})
    return pd.DataFrame(rows)


def reprocessing_table(runs: dict) -> pd.DataFrame:
    """Per setting (label -> :class:`ConsumerRun`): how often good and poison messages were processed."""
    rows = []
    for label, run in runs.items():
        att = run.attempts
        poison = att[att["body"].str.lower().str.startswith("poison")]
        good = att.drop(poison.index)
        good_messages = good["message_id"].nunique()
        rows.append({"setting": label, "good_messages": good_messages, "good_processed": len(good),
                     "good_again": len(good) - good_messages, "poison_attempts": len(poison),
                     "invocations": run.invocation_count()})
    return pd.DataFrame(rows)


def wait_settled(lab, record_lines, since_ms: int, sent: int, timeout: float = 90) -> None:
    """Wait until each of ``sent`` messages was processed (a line in ``record_lines(since_ms)``, the
    chapter's own reader of the consumer's logs) or moved to the dead-letter queue, and the queue is empty."""
    sqs = lab.client("sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = record_lines(since_ms)
        processed = lines["message_id"].nunique() if len(lines) else 0
        if processed + queue_count(sqs, lab.dead_letter_queue_url) >= sent and queue_count(sqs, lab.queue_url) == 0:
            return
        time.sleep(POLL_S)
    raise SqslabError(f"the {sent} messages were not all processed or moved after {timeout:.0f} s")


def wait_drained(lab, queue_url: str, since_ms: int, timeout: float = 60.0) -> None:
    """Wait until the queue holds no message, visible or in flight (each one processed by the
    stack's consumer, or deleted unseen by its mapping's filter), and every invocation of the
    consumer since ``since_ms`` has logged its REPORT line. Offline, an invocation's lines are
    written before the mapping deletes its messages; on AWS they must also have stayed unchanged
    for ``LOGS_QUIET_S``."""
    sqs, cwl = lab.client("sqs"), lab.client("logs")
    group = f"/aws/lambda/{lab.consumer_name}"
    deadline = time.monotonic() + timeout
    last, since_change = None, time.monotonic()
    while time.monotonic() < deadline:
        if queue_count(sqs, queue_url) == 0:
            pages = cwl.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=since_ms)
            lines = [e["message"] for page in pages for e in page["events"]]
            counts = (sum(m.startswith("START ") for m in lines), sum(m.startswith("REPORT ") for m in lines))
            if counts != last:
                last, since_change = counts, time.monotonic()
            quiet = lab.target.offline or time.monotonic() - since_change >= LOGS_QUIET_S
            if counts[0] == counts[1] and quiet:
                return
        time.sleep(POLL_S)
    raise SqslabError(f"the queue was not drained, or the consumer's log lines not all in, after {timeout:.0f} s: "
                      "is the mapping enabled (lambda get_event_source_mapping)?")


def reset_fanout(lab) -> None:
    """Undo what chapter 11's fan-out cells did on an earlier run: the topic's subscriptions, and the
    queues' access policies, so the run starts as the stack was deployed."""
    sns, sqs = lab.client("sns"), lab.client("sqs")
    topic = lab.output("TopicArn")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
    for sub in subscriptions:
        if sub["SubscriptionArn"].startswith("arn:"):
            sns.unsubscribe(SubscriptionArn=sub["SubscriptionArn"])
    for key in ("RawQueueUrl", "RefundsQueueUrl", "AuditQueueUrl"):
        sqs.set_queue_attributes(QueueUrl=lab.output(key), Attributes={"Policy": ""})
    print(f"subscriptions removed: {len(subscriptions)}; the three queues have no access policy now")
