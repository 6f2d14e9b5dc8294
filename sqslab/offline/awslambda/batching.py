"""The event Lambda builds from SQS messages, and how a batch is gathered (pure).

Each record as Lambda writes it (with-sqs: the message's id, receipt handle, body, attributes,
message attributes in Lambda's shape, md5OfBody, eventSource, eventSourceARN, awsRegion); the
event's size against the 6 MB synchronous payload limit; which records a partial batch response
keeps ("Implementing partial batch responses"); when a batch is full (BatchSize, the batching
window); and how many batches may run at once (MaximumConcurrency).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass

PAYLOAD_LIMIT = 6 * 1024 * 1024  # bytes: the synchronous invoke payload limit
RECEIVE_MAX = 10  # messages per ReceiveMessage
DEFAULT_CONCURRENCY = 5  # Lambda starts five concurrent batches for a queue
LOCAL_CEILING = 32  # execution environments one mapping may hold at once here

_EVENT_HEAD = '{"Records": ['
_EVENT_TAIL = "]}"
_SEP = ", "


def lambda_message_attributes(attributes: dict) -> dict:
    """SQS message attributes in the shape Lambda's SQS event gives them."""
    out = {}
    for name, value in (attributes or {}).items():
        item: dict = {}
        if value.get("StringValue") is not None:
            item["stringValue"] = value["StringValue"]
        if value.get("BinaryValue") is not None:
            raw = value["BinaryValue"]
            item["binaryValue"] = base64.b64encode(raw).decode("ascii") if isinstance(raw, bytes) else raw
        item["stringListValues"] = list(value.get("StringListValues") or [])
        item["binaryListValues"] = list(value.get("BinaryListValues") or [])
        item["dataType"] = value.get("DataType")
        out[name] = item
    return out


def record(message, queue_arn: str, region: str) -> dict:
    """The event record of one received message (moto's ``Message`` as ReceiveMessage returned it)."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": str(message.sent_timestamp),
    }
    if message.group_id is not None:  # FIFO queues
        if message.sequence_number is not None:
            attributes["SequenceNumber"] = str(message.sequence_number)
        attributes["MessageGroupId"] = message.group_id
    attributes["SenderId"] = message.sender_id
    if message.group_id is not None and message.deduplication_id is not None:
        attributes["MessageDeduplicationId"] = message.deduplication_id
    attributes["ApproximateFirstReceiveTimestamp"] = str(message.approximate_first_receive_timestamp)
    trace = (message.system_attributes or {}).get("AWSTraceHeader")
    if trace:
        attributes["AWSTraceHeader"] = trace.get("StringValue") if isinstance(trace, dict) else str(trace)
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": lambda_message_attributes(message.message_attributes),
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def event_size(record_sizes: list[int]) -> int:
    """Bytes of the event holding records of these serialized sizes (see :func:`event_text`)."""
    if not record_sizes:
        return len(_EVENT_HEAD) + len(_EVENT_TAIL)
    return len(_EVENT_HEAD) + len(_EVENT_TAIL) + sum(record_sizes) + len(_SEP) * (len(record_sizes) - 1)


def event_text(record_texts: list[str]) -> str:
    return _EVENT_HEAD + _SEP.join(record_texts) + _EVENT_TAIL


def records_to_keep(payload: bytes | str | None, message_ids: list[str]) -> set[str]:
    """The messages a partial batch response leaves in the queue (ReportBatchItemFailures).

    As "Implementing partial batch responses" (services-sqs-errorhandling) says:
    an empty or null ``batchItemFailures`` list, and an empty or null response,
    mean the whole batch succeeded; a response that is not valid JSON (or not an
    object), an empty or null ``itemIdentifier``, an item without that key, or an
    identifier that is not a message of the batch fail the whole batch."""
    everything = set(message_ids)
    if payload is None:
        return set()
    if isinstance(payload, (bytes, bytearray)):
        payload = payload.decode("utf-8", "replace")
    if not payload.strip():
        return set()
    try:
        doc = json.loads(payload)
    except ValueError:
        return everything
    if doc is None:
        return set()
    if not isinstance(doc, dict):
        return everything
    failures = doc.get("batchItemFailures")
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return everything
    keep = set()
    for item in failures:
        if not isinstance(item, dict) or "itemIdentifier" not in item:
            return everything
        ident = item["itemIdentifier"]
        if not isinstance(ident, str) or not ident or ident not in everything:
            return everything
        keep.add(ident)
    return keep


@dataclass(frozen=True)
class BatchPlan:
    """When a batch being gathered is invoked: full, window over, or payload limit."""

    batch_size: int
    window_s: float

    def want(self, have: int) -> int:
        """How many messages the next read asks for."""
        return max(0, min(RECEIVE_MAX, self.batch_size - have))

    def ready(self, have: int, first_at: float | None, now: float) -> bool:
        if have == 0:
            return False
        if have >= self.batch_size or self.window_s <= 0:
            return True
        return first_at is not None and now >= first_at + self.window_s

    @staticmethod
    def fits(record_sizes: list[int], size: int) -> bool:
        """Whether one more record of ``size`` bytes keeps the event within the payload limit."""
        return event_size(record_sizes + [size]) <= PAYLOAD_LIMIT


def concurrency_limit(maximum_concurrency: int | None, scaled: float = DEFAULT_CONCURRENCY) -> int:
    """Batches one mapping may have in flight now (services-sqs-scaling): what its scaling has
    reached (:class:`Scaling`), never more than MaximumConcurrency when set, within this
    emulator's ceiling. Not the function's reserved concurrency: "event source mappings don't
    account for reserved concurrency" (AWS Knowledge Center, lambda-sqs-scaling); batches past it
    are throttled."""
    limit = int(scaled)
    if maximum_concurrency:
        limit = min(limit, int(maximum_concurrency))
    return max(0, min(limit, LOCAL_CEILING))


SCALE_UP_PER_S = 300 / 60  # "up to 300 more instances per minute"
SCALE_DOWN_AFTER_S = 10.0  # here: an empty queue for this long takes the mapping back to five
MAPPING_MAXIMUM = 1000  # "the maximum number of batches that an event source mapping can process simultaneously"


class Scaling:
    """How many batches a standard queue's mapping may run at once (services-sqs-scaling): five when
    messages arrive; while messages still wait with every batch busy, up to 300 more a minute, to at
    most 1,000; back to five when traffic stops (AWS gives no time for that; here, once the queue has
    been empty for :data:`SCALE_DOWN_AFTER_S`). Times are ``time.monotonic()`` seconds."""

    def __init__(self):
        self.level = float(DEFAULT_CONCURRENCY)
        self._busy_since: float | None = None
        self._empty_since: float | None = None

    def observe(self, now: float, saturated: bool, waiting: bool) -> float:
        """Update with what the poller sees now: every batch slot busy (``saturated``) and messages
        waiting in the queue (``waiting``); returns the level."""
        if saturated and waiting:
            if self._busy_since is not None:
                self.level = min(MAPPING_MAXIMUM, self.level + SCALE_UP_PER_S * (now - self._busy_since))
            self._busy_since = now
        else:
            self._busy_since = None
        if waiting or saturated:
            self._empty_since = None
        elif self._empty_since is None:
            self._empty_since = now
        elif now - self._empty_since >= SCALE_DOWN_AFTER_S:
            self.level = float(DEFAULT_CONCURRENCY)
        return self.level
