"""A message's lifetime in a queue: MessageRetentionPeriod counted from its enqueue time.

SQS deletes a message once it has been in its queue longer than the queue's
MessageRetentionPeriod, received or not (SQS API Reference, SetQueueAttributes:
"MessageRetentionPeriod – The length of time, in seconds, for which Amazon SQS
retains a message"). A message moved to a dead-letter queue keeps its original
enqueue time on a standard queue; on a FIFO queue the enqueue time resets when it
is moved (developer guide, setting-up-dead-letter-queue-retention).

The emulator deletes expired messages when a queue is read (ReceiveMessage,
GetQueueAttributes), which is when a client can tell. The wiring into moto is
:mod:`sqslab.offline.patches.sqs` (patch ``sqs_retention_expiry``).
"""

from __future__ import annotations

import time

ENQUEUED_ATTR = "_sqslab_enqueued_ms"  # set when a message's enqueue time is not its SentTimestamp


def enqueued_ms(message) -> int:
    """When ``message`` entered its current queue, epoch ms (its SentTimestamp unless reset)."""
    reset = getattr(message, ENQUEUED_ATTR, None)
    return int(reset if reset is not None else message.sent_timestamp)


def restart_clock(message, now_ms: int | None = None) -> None:
    """A message moved into a FIFO queue starts its retention there anew."""
    setattr(message, ENQUEUED_ATTR, int(time.time() * 1000) if now_ms is None else now_ms)


def retention_s(queue) -> int:
    return int(queue.message_retention_period)


def is_expired(message, retention_seconds: int, now_ms: int | None = None) -> bool:
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return enqueued_ms(message) + retention_seconds * 1000 <= now_ms


def drop_expired(queue, now_ms: int | None = None) -> int:
    """Delete ``queue``'s expired messages, in flight or not; returns how many."""
    limit = retention_s(queue)
    with queue._messages_lock:
        gone = [m for m in queue._messages if is_expired(m, limit, now_ms)]
        if not gone:
            return 0
        queue._messages = [m for m in queue._messages if m not in gone]
        for m in gone:
            queue.pending_messages.discard(m)
        queue._messages_lock.notify_all()  # an expired message in flight held its FIFO group
        return len(gone)
