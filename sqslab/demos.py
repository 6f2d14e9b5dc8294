"""What goes wrong when processing takes longer than the visibility timeout.

Two consumers share a queue with a short visibility timeout. Consumer A receives
a message and takes longer than the timeout to process it; the message becomes
visible again and consumer B receives it too: the same message is processed
twice, and the second receive carries ApproximateReceiveCount 2. Both write
events in the same shape as the Lambda handlers' JSON log lines, so
:mod:`sqslab.timeline` and :mod:`sqslab.plots` draw them the same way.
"""

from __future__ import annotations

import threading
import time
import uuid

SYSTEM_ATTRIBUTES = ["SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"]


def _now_ms() -> int:
    return int(time.time() * 1000)


def slow_consumer(visibility_timeout: int = 4, processing_s: float = 6.0, other_starts_after_s: float = 1.0,
                  target=None) -> dict:
    """Run the two-consumer experiment on a fresh queue; returns events and what each consumer saw."""
    from sqslab import target as targets

    if processing_s <= visibility_timeout:
        raise ValueError("processing_s must be longer than the visibility timeout to show the problem")
    sqs = targets.client("sqs", target)
    url = sqs.create_queue(
        QueueName=f"sqslab-slow-consumer-{uuid.uuid4().hex[:8]}",
        Attributes={"VisibilityTimeout": str(visibility_timeout)},
    )["QueueUrl"]
    events: list[dict] = []
    lock = threading.Lock()

    def log(logical, event, **fields):
        with lock:
            events.append({"logical": logical, "event": event, "function": logical, "timestamp_ms": _now_ms(), **fields})

    def receive(logical, wait):
        start = _now_ms()
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=wait,
                                   MessageSystemAttributeNames=SYSTEM_ATTRIBUTES).get("Messages", [])
        end = _now_ms()
        log(logical, "receive_call", start_ms=start, end_ms=end, messages=len(msgs))
        for m in msgs:
            a = m.get("Attributes", {})
            log(logical, "receive", message_id=m["MessageId"], body=m["Body"],
                sent_timestamp=int(a.get("SentTimestamp", 0)),
                approximate_receive_count=int(a.get("ApproximateReceiveCount", 0)),
                approximate_first_receive_timestamp=int(a.get("ApproximateFirstReceiveTimestamp", 0)),
                received_ms=end, visibility_timeout_s=visibility_timeout)
        return msgs

    outcome = {}

    def consumer_a():
        msgs = receive("consumer A", 1)
        time.sleep(processing_s)  # the slow part: longer than the visibility timeout
        for m in msgs:
            try:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                log("consumer A", "delete", message_id=m["MessageId"], time_ms=_now_ms())
                outcome["a_delete"] = "accepted"
            except sqs.exceptions.ClientError as exc:
                outcome["a_delete"] = f"refused: {exc.response['Error'].get('Code')}"
        outcome["a_processed"] = [m["Body"] for m in msgs]

    def consumer_b():
        time.sleep(other_starts_after_s)
        processed = []
        deadline = time.monotonic() + processing_s + 2
        while time.monotonic() < deadline and not processed:
            for m in receive("consumer B", 1):
                processed.append(m["Body"])
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
                log("consumer B", "delete", message_id=m["MessageId"], time_ms=_now_ms())
        outcome["b_processed"] = processed

    body = f"order-{uuid.uuid4().hex[:6]}"
    mid = sqs.send_message(QueueUrl=url, MessageBody=body)["MessageId"]
    log("producer", "send", message_id=mid, body=body, time_ms=_now_ms())
    threads = [threading.Thread(target=consumer_a), threading.Thread(target=consumer_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sqs.delete_queue(QueueUrl=url)
    return {"events": events, "body": body, "visibility_timeout": visibility_timeout,
            "processing_s": processing_s, **outcome}
