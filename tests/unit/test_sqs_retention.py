"""A message's retention as the emulator counts it (sqslab.offline.sqs.retention), on plain
objects: SQS API Reference, SetQueueAttributes (MessageRetentionPeriod: how long SQS retains a
message); developer guide, "Setting-up dead-letter queue retention in Amazon SQS" (a standard
queue's dead-letter queue keeps the original enqueue time, a FIFO one resets it)."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from sqslab.offline.sqs import retention


class Message:  # moto's messages are hashed by identity too (they sit in pending_messages, a set)
    def __init__(self, sent_ms: int):
        self.sent_timestamp = sent_ms


def message(sent_ms: int):
    return Message(sent_ms)


def queue(retention_s: int, *messages):
    return SimpleNamespace(message_retention_period=retention_s, _messages=list(messages),
                           _messages_lock=threading.Condition(), pending_messages=set())


def test_a_message_expires_its_retention_period_after_it_was_enqueued():
    m = message(1_000_000)
    assert not retention.is_expired(m, 60, now_ms=1_059_999)
    assert retention.is_expired(m, 60, now_ms=1_060_000)


def test_moving_into_a_fifo_queue_restarts_the_clock():
    m = message(1_000_000)
    retention.restart_clock(m, now_ms=1_050_000)
    assert retention.enqueued_ms(m) == 1_050_000
    assert not retention.is_expired(m, 60, now_ms=1_100_000) and retention.is_expired(m, 60, now_ms=1_110_000)


def test_expired_messages_are_deleted_in_flight_or_not():
    old, in_flight, young = message(0), message(1_000), message(100_000)
    q = queue(60, old, in_flight, young)
    q.pending_messages.add(in_flight)
    assert retention.drop_expired(q, now_ms=61_000) == 2
    assert q._messages == [young] and q.pending_messages == set()
    assert retention.drop_expired(q, now_ms=61_000) == 0
