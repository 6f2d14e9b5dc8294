"""The SQS patch: SendMessage no longer runs mapped functions (the pollers of
:mod:`sqslab.offline.event_source` do)."""

from __future__ import annotations

import inspect

from sqslab.offline.patches.guards import _mismatch, _require, _require_params


# ---------------------------------------------------------------------------
# sqs_no_push_on_send
# Upstream gap: moto's Queue.add_message runs every enabled event source mapping
# of the queue inside the sender's SendMessage: one ReceiveMessage and one
# synchronous invoke per sent message, the message made visible again at once
# on an error. Lambda instead polls the queue independently of senders
# (Lambda developer guide, with-sqs). Queue.lambda_event_source_mappings, the
# dict add_message walks, becomes an empty view that ignores writes, so that
# path finds nothing to run; the mappings themselves stay in the Lambda
# backend, where the pollers read them. The poller reads the queue through
# SQSBackend.receive_message / delete_message and sleeps on Queue._messages_lock,
# the condition add_message signals: those are checked here too.
def _apply_sqs_no_push_on_send() -> str:
    from moto.sqs.models import Message, Queue, SQSBackend

    patch = "sqs_no_push_on_send"
    if isinstance(Queue.__dict__.get("lambda_event_source_mappings"), property):
        return "already applied"
    add_message = _require(Queue, "add_message", patch)
    source = inspect.getsource(add_message)
    if "lambda_event_source_mappings" not in source or "_messages_lock" not in source:
        raise _mismatch(patch, "no longer runs mappings from Queue.add_message as expected")
    if "self.lambda_event_source_mappings" not in inspect.getsource(Queue.__init__):
        raise _mismatch(patch, "no longer sets Queue.lambda_event_source_mappings")
    _require_params(
        _require(SQSBackend, "receive_message", patch),
        ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"),
        patch,
    )
    _require_params(_require(SQSBackend, "delete_message", patch), ("self", "queue_name", "receipt_handle"), patch)
    init = inspect.getsource(Queue.__init__)
    for attr in ("_messages_lock", "_messages", "dead_letter_queue"):
        if f"self.{attr}" not in init:
            raise _mismatch(patch, f"Queue no longer has {attr}")
    message_init = inspect.getsource(Message.__init__)
    for attr in ("visible_at", "delayed_until", "approximate_receive_count", "approximate_first_receive_timestamp",
                 "sequence_number", "group_id", "deduplication_id", "sender_id", "system_attributes"):
        if f"self.{attr}" not in message_init:
            raise _mismatch(patch, f"Message no longer has {attr}")

    def _none(self) -> dict:
        return {}

    def _ignore(self, value) -> None:
        pass

    Queue.lambda_event_source_mappings = property(_none, _ignore)
    return "SendMessage no longer invokes mapped functions; the offline pollers deliver"
