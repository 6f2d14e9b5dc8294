"""The SQS patches: SendMessage no longer runs mapped functions (the pollers of
:mod:`sqslab.offline.awslambda.event_source` do); queue attributes, ChangeMessageVisibility,
long polls and FIFO deduplication behave as the SQS documentation says; dead-letter
queue redrives run as message move tasks (StartMessageMoveTask and its siblings)."""

from __future__ import annotations

import inspect
import re
import time

from sqslab.offline.patches.guards import mark_applied, mismatch_error, original_of, require_attr, require_params
from sqslab.offline.sqs import attributes as queue_attributes
from sqslab.offline.sqs import move_tasks, receipts, retention


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
def apply_sqs_no_push_on_send() -> str:
    from moto.sqs.models import Message, Queue, SQSBackend

    patch = "sqs_no_push_on_send"
    if isinstance(Queue.__dict__.get("lambda_event_source_mappings"), property):
        return "already applied"
    add_message = require_attr(Queue, "add_message", patch)
    source = inspect.getsource(add_message)
    if "lambda_event_source_mappings" not in source or "_messages_lock" not in source:
        raise mismatch_error(patch, "no longer runs mappings from Queue.add_message as expected")
    if "self.lambda_event_source_mappings" not in inspect.getsource(Queue.__init__):
        raise mismatch_error(patch, "no longer sets Queue.lambda_event_source_mappings")
    require_params(
        require_attr(SQSBackend, "receive_message", patch),
        ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout", "message_attribute_names"),
        patch,
    )
    require_params(require_attr(SQSBackend, "delete_message", patch), ("self", "queue_name", "receipt_handle"), patch)
    init = inspect.getsource(Queue.__init__)
    for attr in ("_messages_lock", "_messages", "dead_letter_queue"):
        if f"self.{attr}" not in init:
            raise mismatch_error(patch, f"Queue no longer has {attr}")
    message_init = inspect.getsource(Message.__init__)
    for attr in ("visible_at", "delayed_until", "approximate_receive_count", "approximate_first_receive_timestamp",
                 "sequence_number", "group_id", "deduplication_id", "sender_id", "system_attributes"):
        if f"self.{attr}" not in message_init:
            raise mismatch_error(patch, f"Message no longer has {attr}")

    def _none(self) -> dict:
        return {}

    def _ignore(self, value) -> None:
        pass

    Queue.lambda_event_source_mappings = property(_none, _ignore)
    return "SendMessage no longer invokes mapped functions; the offline pollers deliver"


# ---------------------------------------------------------------------------
# sqs_queue_attribute_limits
# Upstream gap: moto's CreateQueue and SetQueueAttributes store VisibilityTimeout,
# DelaySeconds, MessageRetentionPeriod and ReceiveMessageWaitTimeSeconds
# whatever their value (43201 is kept; text that is not a number is a server
# error), and check MaximumMessageSize on CreateQueue only. SQS refuses a value
# outside its range with InvalidAttributeValue, before it changes anything
# (SQS API reference, CreateQueue and SetQueueAttributes: request parameters
# and errors). Both requests reach Queue._set_attributes, checked here first.
def apply_sqs_queue_attribute_limits() -> str:
    import functools

    from moto.sqs import exceptions
    from moto.sqs.models import Queue

    patch = "sqs_queue_attribute_limits"
    original = original_of(Queue, "_set_attributes", patch, ("self", "attributes", "now"))
    if original is None:
        return "already applied"
    refuse = require_attr(exceptions, "InvalidAttributeValue", patch)
    source = inspect.getsource(original)
    if "integer_fields" not in source or "setattr(self" not in source:
        raise mismatch_error(patch, "no longer sets queue attributes in Queue._set_attributes as expected")

    @functools.wraps(original)
    def _set_attributes(self, attributes, now=None):
        bad = queue_attributes.attribute_out_of_range(attributes or {})
        if bad is not None:
            raise refuse(bad)
        return original(self, attributes, now)

    from moto.sqs.models import SQSBackend

    set_attributes = original_of(SQSBackend, "set_queue_attributes", patch, ("self", "queue_name", "attributes"))
    unknown = require_attr(exceptions, "InvalidAttributeName", patch)

    @functools.wraps(set_attributes)
    def set_queue_attributes(self, queue_name, attributes):
        # SetQueueAttributes knows the attributes its API reference lists, and no others; FifoQueue is
        # not one of them (CreateQueue: "you can't change an existing queue into a FIFO queue", nor back)
        for name in attributes or {}:
            if name not in queue_attributes.SETTABLE:
                raise unknown(name)
        return set_attributes(self, queue_name, attributes)

    from moto.sqs.responses import SQSResponse

    create = original_of(SQSResponse, "create_queue", patch, ("self",))

    @functools.wraps(create)
    def create_queue(self):
        # CreateQueue, Attributes: those SetQueueAttributes sets, and FifoQueue; no others
        for name in self._get_param("Attributes", {}) or {}:
            if name not in queue_attributes.SETTABLE and name != "FifoQueue":
                raise unknown(name)
        return create(self)

    Queue._set_attributes = mark_applied(_set_attributes, patch, original)
    SQSBackend.set_queue_attributes = mark_applied(set_queue_attributes, patch, set_attributes)
    SQSResponse.create_queue = mark_applied(create_queue, patch, create)
    return "queue attributes out of SQS's ranges are refused with InvalidAttributeValue"


# ---------------------------------------------------------------------------
# sqs_change_visibility_in_flight
# Upstream gap: moto's ChangeMessageVisibility changes any message that ever had
# the receipt handle, in flight or not, and answers ReceiptHandleIsInvalid for
# the handle of a deleted message. The SQS API reference (ChangeMessageVisibility,
# Errors) answers MessageNotInflight for a message that is not in flight: it
# was received, but its visibility timeout has ended (or was set to 0) and
# nobody has received it since. For a handle of a message deleted meanwhile SQS
# answers InvalidParameterValue "... Reason: Message does not exist or is not
# available for visibility timeout change." A handle SQS never issued stays
# ReceiptHandleIsInvalid (moto's answer). ChangeMessageVisibilityBatch reports
# the same codes per entry, in Failed.
NOT_IN_FLIGHT = ("MessageNotInflight", "The specified message isn't in flight.")


def _gone_message(receipt_handle: str) -> str:
    return (f"Value {receipt_handle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or "
            "is not available for visibility timeout change.")


def _visibility_refusal(queue, receipt_handle: str) -> tuple[str, str] | None:
    """(code, message) SQS answers a visibility change of this handle with, or None to let moto act."""
    for message in list(queue._messages):
        if message.had_receipt_handle(receipt_handle):
            return NOT_IN_FLIGHT if message.visible else None
    if receipt_handle in queue.deleted_messages:
        return "InvalidParameterValue", _gone_message(receipt_handle)
    return None  # moto answers ReceiptHandleIsInvalid


def apply_sqs_change_visibility_in_flight() -> str:
    from moto.sqs import exceptions
    from moto.sqs.models import Message, Queue, SQSBackend

    patch = "sqs_change_visibility_in_flight"
    change = original_of(SQSBackend, "change_message_visibility", patch,
                       ("self", "queue_name", "receipt_handle", "visibility_timeout"))
    if change is None:
        return "already applied"
    batch = original_of(SQSBackend, "change_message_visibility_batch", patch, ("self", "queue_name", "entries"))
    sqs_error = require_attr(exceptions, "SQSException", patch)
    for attr in ("had_receipt_handle", "visible"):
        require_attr(Message, attr, patch)
    if "self.deleted_messages" not in inspect.getsource(Queue.__init__):
        raise mismatch_error(patch, "Queue no longer keeps deleted_messages")

    def change_message_visibility(self, queue_name, receipt_handle, visibility_timeout):
        refusal = _visibility_refusal(self.get_queue(queue_name), receipt_handle)
        if refusal is not None:
            raise sqs_error(*refusal)
        return change(self, queue_name, receipt_handle, visibility_timeout)

    def change_message_visibility_batch(self, queue_name, entries):
        queue = self.get_queue(queue_name)
        success, failed = [], []
        for entry in entries:  # one at a time, so each entry gets its own answer
            refusal = _visibility_refusal(queue, entry.get("ReceiptHandle", ""))
            if refusal is None:
                try:
                    done, errors = batch(self, queue_name, [entry])
                except sqs_error as exc:  # the message changed state meanwhile
                    done, errors = [], [{"Id": entry["Id"], "SenderFault": True, "Code": exc.code,
                                         "Message": exc.message}]
                success += done
                failed += errors
            else:
                failed.append({"Id": entry["Id"], "SenderFault": True, "Code": refusal[0], "Message": refusal[1]})
        return success, failed

    SQSBackend.change_message_visibility = mark_applied(change_message_visibility, patch, change)
    SQSBackend.change_message_visibility_batch = mark_applied(change_message_visibility_batch, patch, batch)
    return "ChangeMessageVisibility answers MessageNotInflight / InvalidParameterValue as SQS does"


# ---------------------------------------------------------------------------
# sqs_long_poll_wakes_on_visibility
# Upstream gap: moto's ReceiveMessage long poll (SQSBackend.receive_message)
# sleeps in Queue.wait_for_messages(1) on the queue's condition, which only a
# new message signals: a message whose visibility timeout or delay ends while a
# poll waits is returned up to a second late (measured 0.51 s), and one made
# visible by ChangeMessageVisibility 0 likewise. SQS returns a message to a
# waiting long poll as soon as it is visible (developer guide,
# sqs-short-and-long-polling). As the event source pollers do
# (sqslab.offline.awslambda.event_source), the wait here sleeps on the same condition
# but no longer than until the queue's next visibility timeout or delay ends,
# and a visibility change signals the condition, which wakes long polls and
# the pollers alike.
WAKE_MARGIN_S = 0.002  # moto counts a message visible strictly after visible_at


def next_change_in(queue) -> float | None:
    """Seconds until the next message of ``queue`` stops being in flight or delayed, or None."""
    now = time.time() * 1000
    soonest = None
    for m in list(queue._messages):
        for at in (m.delayed_until, m.visible_at):
            if at and at > now:
                soonest = at if soonest is None else min(soonest, at)
    return None if soonest is None else (soonest - now) / 1000 + WAKE_MARGIN_S


def apply_sqs_long_poll_wakes_on_visibility() -> str:
    from moto.sqs.models import Queue, SQSBackend

    patch = "sqs_long_poll_wakes_on_visibility"
    wait = original_of(Queue, "wait_for_messages", patch, ("self", "timeout"))
    if wait is None:
        return "already applied"
    change = original_of(SQSBackend, "change_message_visibility", patch,
                       ("self", "queue_name", "receipt_handle", "visibility_timeout"))
    if "_messages_lock" not in inspect.getsource(wait):
        raise mismatch_error(patch, "no longer waits on Queue._messages_lock in wait_for_messages")
    if "wait_for_messages" not in inspect.getsource(SQSBackend.receive_message):
        raise mismatch_error(patch, "no longer long-polls through Queue.wait_for_messages")
    require_attr(Queue, "messages", patch)

    def wait_for_messages(self, timeout):
        with self._messages_lock:
            if self.messages:
                return
            left = next_change_in(self)
            self._messages_lock.wait(timeout if left is None else min(timeout, left))

    def change_message_visibility(self, queue_name, receipt_handle, visibility_timeout):
        result = change(self, queue_name, receipt_handle, visibility_timeout)
        cond = self.get_queue(queue_name)._messages_lock
        with cond:
            cond.notify_all()
        return result

    Queue.wait_for_messages = mark_applied(wait_for_messages, patch, wait)
    SQSBackend.change_message_visibility = mark_applied(change_message_visibility, patch, change)
    return "long polls wake when a message's visibility timeout or delay ends, or its visibility changes"


# ---------------------------------------------------------------------------
# sqs_fifo_long_poll_sees_freed_groups
# Upstream gap: moto's ReceiveMessage on a FIFO queue reads which message groups
# are in flight once, when the call starts, so a group freed while a long poll
# waits (its received message deleted, or visible again) is not delivered until
# a later ReceiveMessage (measured: 8.5 s late in a 10 s poll); and while a group
# held back has visible messages, the wait returns at once and the poll spins.
# SQS: messages of a group are not returned to later requests "unless the
# currently received messages are deleted, or they become visible again"
# (developer guide, FIFO-queues-understanding-logic, "Receiving messages"), and
# a long poll returns as soon as a message is available (sqs-short-and-long-polling).
# Here a FIFO long poll is a series of moto's own receives without a wait, each
# reading the groups afresh, with sleeps between them on the queue's condition
# until a send, a delete, a visibility change or an expiry signals it, or the
# queue's next visibility timeout or delay ends; a delete now signals the
# condition too. No lock is held across a receive (which may move messages to a
# dead-letter queue, whose own lock it takes).
def receive_original(patch: str):
    """SQSBackend.receive_message as the patches before ``patch`` left it (None if ``patch`` is in
    place), with the parameters every receive patch relies on."""
    from moto.sqs.models import SQSBackend

    return original_of(SQSBackend, "receive_message", patch,
                       ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout"))


def deliverable(queue) -> bool:
    """Whether a FIFO ReceiveMessage would find a message now: one visible and not delayed whose
    group has no message in flight (a message visible again no longer holds its group)."""
    held = {m.group_id for m in list(queue.pending_messages) if not m.visible}
    return any(m.group_id not in held for m in queue.messages)


# ---------------------------------------------------------------------------
# sqs_fifo_visible_again_keeps_order
# Upstream gap: when several messages of one FIFO group come back together (their
# visibility timeout ran out), moto's ReceiveMessage frees the group one message
# at a time as it walks them: the first ones still see the group held by the
# others and are skipped, and the group's last message is delivered first (B3
# before B1 and B2). SQS keeps the order within a group (developer guide,
# FIFO-queues-understanding-logic: "messages that belong to the same message group
# are always processed one by one, in a strict order relative to the group"), and a
# message visible again no longer holds its group. Here every message visible again
# is released from the pending set before the walk.
def apply_sqs_fifo_visible_again_keeps_order() -> str:
    import functools

    from moto.sqs.models import Queue, SQSBackend

    patch = "sqs_fifo_visible_again_keeps_order"
    receive = receive_original(patch)
    if receive is None:
        return "already applied"
    if "queue.pending_messages.remove(message)" not in inspect.getsource(receive):
        raise mismatch_error(patch, "ReceiveMessage no longer releases a pending message visible again")
    if not isinstance(Queue.__dict__.get("pending_messages"), property):
        raise mismatch_error(patch, "Queue.pending_messages is no longer a property")

    @functools.wraps(receive)
    def receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout, *args, **kwargs):
        queue = self.get_queue(queue_name)
        if queue.fifo_queue:
            for message in [m for m in list(queue.pending_messages) if m.visible]:
                queue.pending_messages.discard(message)
        return receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, *args, **kwargs)

    SQSBackend.receive_message = mark_applied(receive_message, patch, receive)
    return "messages of a FIFO group visible again come back in their order"


def apply_sqs_fifo_long_poll_sees_freed_groups() -> str:
    import functools

    from moto.sqs.models import Queue, SQSBackend

    patch = "sqs_fifo_long_poll_sees_freed_groups"
    receive = receive_original(patch)
    if receive is None:
        return "already applied"
    delete = original_of(Queue, "delete_message", patch, ("self", "receipt_handle"))
    source = inspect.getsource(receive)
    if "currently_pending_groups" not in source or "if wait_seconds_timeout == 0:" not in source:
        raise mismatch_error(patch, "no longer reads the pending groups once per ReceiveMessage, or answers "
                                    "WaitTimeSeconds 0 with one pass")
    init = inspect.getsource(Queue.__init__)
    for attr in ("_messages_lock", "fifo_queue"):
        if f"self.{attr}" not in init:
            raise mismatch_error(patch, f"Queue no longer has {attr}")

    @functools.wraps(receive)
    def receive_message(self, queue_name, count, wait_seconds_timeout, visibility_timeout, *args, **kwargs):
        queue = self.get_queue(queue_name)
        if not queue.fifo_queue or not wait_seconds_timeout:
            return receive(self, queue_name, count, wait_seconds_timeout, visibility_timeout, *args, **kwargs)
        deadline = time.time() + wait_seconds_timeout
        cond = queue._messages_lock
        while True:
            found = receive(self, queue_name, count, 0, visibility_timeout, *args, **kwargs)
            left = deadline - time.time()
            if found or left <= 0:
                return found
            with cond:  # every change that frees a message signals under this lock: none falls in between
                if not deliverable(queue):
                    change = next_change_in(queue)
                    cond.wait(left if change is None else min(left, change))

    @functools.wraps(delete)
    def delete_message(self, receipt_handle):
        result = delete(self, receipt_handle)
        with self._messages_lock:
            self._messages_lock.notify_all()  # the message's group may be free now
        return result

    SQSBackend.receive_message = mark_applied(receive_message, patch, receive)
    Queue.delete_message = mark_applied(delete_message, patch, delete)
    return "a FIFO long poll returns a message of a group freed while it waits, as soon as it is freed"


# ---------------------------------------------------------------------------
# sqs_fifo_receive_fills_from_one_group
# Upstream gap: moto's ReceiveMessage on a FIFO queue takes the available messages
# in the order they were sent, so messages of interleaved groups come mixed (one of
# each group per call). SQS "attempts to return as many messages with the same
# message group ID as possible in a single call", and fills the rest from other
# groups, each keeping its order (developer guide, FIFO-queues-understanding-logic,
# "Receiving messages"). Here a FIFO queue's available messages are listed group by
# group (the group of the oldest message first, each group in its order), which is
# the order moto's ReceiveMessage walks them in.
def apply_sqs_fifo_receive_fills_from_one_group() -> str:
    from moto.sqs.models import Queue, SQSBackend

    patch = "sqs_fifo_receive_fills_from_one_group"
    current = Queue.__dict__.get("messages")
    if not isinstance(current, property):
        raise mismatch_error(patch, "Queue.messages is no longer a property")
    if patch in getattr(current.fget, "_sqslab_patches", ()):
        return "already applied"
    listed = current.fget
    if "for message in queue.messages" not in inspect.getsource(SQSBackend.receive_message):
        raise mismatch_error(patch, "ReceiveMessage no longer walks Queue.messages")

    def messages(self):
        found = listed(self)
        if not self.fifo_queue or len(found) < 2:
            return found
        rank: dict = {}
        for m in found:
            rank.setdefault(m.group_id, len(rank))
        return sorted(found, key=lambda m: rank[m.group_id])  # stable: each group keeps its order

    Queue.messages = property(mark_applied(messages, patch, listed))
    return "a FIFO ReceiveMessage returns as many messages of one group as it can, then fills from others"


# ---------------------------------------------------------------------------
# sqs_retention_expiry
# Upstream gap: moto checks MessageRetentionPeriod only while ReceiveMessage walks
# the queue, after marking the expired message received, and never deletes it: an
# expired message stays in the queue, in flight, and in ApproximateNumberOfMessages.
# And it counts from SentTimestamp, where a FIFO queue restarts the clock of a
# message moved into it. SQS deletes a message older than the retention period,
# received or not (API reference, SetQueueAttributes, MessageRetentionPeriod); a
# message moved to a dead-letter queue keeps its enqueue time on a standard queue,
# and gets a new one on a FIFO queue (developer guide,
# setting-up-dead-letter-queue-retention). The rule is sqslab.offline.sqs.retention;
# here expired messages are deleted whenever a queue is read.
def apply_sqs_retention_expiry() -> str:
    import functools

    from moto.sqs.models import Queue, SQSBackend

    patch = "sqs_retention_expiry"
    receive = receive_original(patch)
    if receive is None:
        return "already applied"
    attributes = original_of(SQSBackend, "get_queue_attributes", patch, ("self", "queue_name", "attribute_names"))
    valid = original_of(SQSBackend, "is_message_valid_based_on_retention_period", patch,
                        ("self", "queue_name", "message"))
    add = original_of(Queue, "add_message", patch, ("self", "message"))
    if "is_message_valid_based_on_retention_period" not in inspect.getsource(receive):
        raise mismatch_error(patch, "no longer checks the retention period in ReceiveMessage")
    init = inspect.getsource(Queue.__init__)
    for attr in ("_messages_lock", "_messages", "fifo_queue"):
        if f"self.{attr}" not in init:
            raise mismatch_error(patch, f"Queue no longer has {attr}")
    if '"MessageRetentionPeriod"' not in inspect.getsource(Queue):
        raise mismatch_error(patch, "Queue no longer keeps MessageRetentionPeriod")

    @functools.wraps(receive)
    def receive_message(self, queue_name, *args, **kwargs):
        retention.drop_expired(self.get_queue(queue_name))
        return receive(self, queue_name, *args, **kwargs)

    @functools.wraps(attributes)
    def get_queue_attributes(self, queue_name, attribute_names):
        retention.drop_expired(self.get_queue(queue_name))
        return attributes(self, queue_name, attribute_names)

    @functools.wraps(valid)
    def is_message_valid_based_on_retention_period(self, queue_name, message):
        queue = self.get_queue(queue_name)
        if retention.is_expired(message, retention.retention_s(queue)):
            retention.drop_expired(queue)  # the message too, though moto has just marked it received
            return False
        return True

    @functools.wraps(add)
    def add_message(self, message):
        if self.fifo_queue and message.approximate_receive_count:  # moved here from another queue
            retention.restart_clock(message)
        return add(self, message)

    SQSBackend.receive_message = mark_applied(receive_message, patch, receive)
    SQSBackend.get_queue_attributes = mark_applied(get_queue_attributes, patch, attributes)
    SQSBackend.is_message_valid_based_on_retention_period = mark_applied(
        is_message_valid_based_on_retention_period, patch, valid)
    Queue.add_message = mark_applied(add_message, patch, add)
    return ("messages older than MessageRetentionPeriod are deleted, received or not; a message moved into a "
            "FIFO queue starts its retention anew")


# ---------------------------------------------------------------------------
# sqs_fifo_dedup_interval
# Upstream gap: moto's Queue.add_message deduplicates a FIFO send only against
# the messages still in the queue, so a deduplication id is forgotten as soon
# as its message is deleted. SQS keeps it for the 5-minute deduplication
# interval after the send that was accepted, "even after the message has been
# received and deleted" (developer guide: FIFO-key-terms, "Using the message
# deduplication ID", "Exactly-once processing"): a later send with that id is
# accepted but not delivered. The ids are kept per queue (per message group
# with DeduplicationScope messageGroup); a message moved to a dead-letter queue
# (received before) is not a send and is not checked.
DEDUP_INTERVAL_MS = 300_000  # moto.sqs.models.DEDUPLICATION_TIME_IN_SECONDS, in ms
_DEDUP_ATTR = "_sqslab_dedup_ids"


def apply_sqs_fifo_dedup_interval() -> str:
    import functools

    from moto.sqs import models

    patch = "sqs_fifo_dedup_interval"
    original = original_of(models.Queue, "add_message", patch, ("self", "message"))
    if original is None:
        return "already applied"
    if "deduplication_id" not in inspect.getsource(original):
        raise mismatch_error(patch, "no longer deduplicates FIFO sends in Queue.add_message")
    if getattr(models, "DEDUPLICATION_TIME_IN_SECONDS", None) != DEDUP_INTERVAL_MS // 1000:
        raise mismatch_error(patch, "changed DEDUPLICATION_TIME_IN_SECONDS")
    init = inspect.getsource(models.Queue.__init__)
    for attr in ("_messages_lock", "fifo_queue"):
        if f"self.{attr}" not in init:
            raise mismatch_error(patch, f"Queue no longer has {attr}")

    @functools.wraps(original)
    def add_message(self, message):
        dedup_id = getattr(message, "deduplication_id", None)
        if not (self.fifo_queue and dedup_id and not message.approximate_receive_count):
            return original(self, message)
        scope = str(getattr(self, "deduplication_scope", "queue") or "queue")
        key = (message.group_id if scope == "messageGroup" else None, dedup_id)
        sent = int(message.sent_timestamp or time.time() * 1000)
        with self._messages_lock:
            seen = self.__dict__.setdefault(_DEDUP_ATTR, {})
            for old in [k for k, at in seen.items() if sent - at >= DEDUP_INTERVAL_MS]:
                del seen[old]
            if key in seen:
                return  # accepted, not delivered
            seen[key] = sent  # before moto stores it: a consumer may delete it at once
        return original(self, message)

    models.Queue.add_message = mark_applied(add_message, patch, original)
    return "FIFO deduplication ids are kept for 5 minutes, deleted or not"


# ---------------------------------------------------------------------------
# sqs_message_move_tasks
# Upstream gap: moto has no StartMessageMoveTask, ListMessageMoveTasks or
# CancelMessageMoveTask (the server answers 500 "action has not been
# implemented"), and does not remember which queue moved a message to a
# dead-letter queue. SQS API reference (StartMessageMoveTask,
# ListMessageMoveTasks, CancelMessageMoveTask, ListMessageMoveTasksResultEntry)
# and developer guide (sqs-configure-dead-letter-queue-redrive):
# - the source must be a dead-letter queue of another SQS queue; without a
#   DestinationArn each message goes back to the queue whose RedrivePolicy
#   moved it; a destination must be of the source's type (standard / FIFO);
# - MaxNumberOfMessagesPerSecond is 1 to 500; without it SQS picks the rate
#   (offline: DEFAULT_MOVE_RATE);
# - one active task per source queue; the task runs asynchronously, oldest
#   message first; ApproximateNumberOfMessagesToMove is taken at the start;
# - a redriven message is a new message: new MessageId, new SentTimestamp
#   (enqueue time, so a new retention period), receive count from 0; body and
#   message attributes are kept;
# - ListMessageMoveTasks returns the most recent tasks (MaxResults, default 1,
#   up to 10), TaskHandle only while RUNNING, FailureReason only when FAILED;
# - a task can be cancelled only while RUNNING; messages already moved stay moved.
# The error codes and messages are the ones SQS answers, as recorded against AWS
# (InvalidParameterValue, ResourceNotFoundException). Not documented, chosen
# offline: messages in flight in the source when the task reaches them are
# left there; messages that arrive after the start are not moved; cancelling a
# task that is no longer RUNNING is UnsupportedOperation; a message sent to the
# dead-letter queue directly has no source queue to return to, so a task
# without DestinationArn fails on it (FailureReason says why).
def apply_sqs_message_move_tasks() -> str:
    import functools

    from moto.core.responses import ActionResult
    from moto.sqs import exceptions, models, responses

    patch = "sqs_message_move_tasks"
    existing = getattr(responses.SQSResponse, "start_message_move_task", None)
    if existing is not None:
        if patch in getattr(existing, "_sqslab_patches", ()):
            return "already applied"
        raise mismatch_error(patch, "implements StartMessageMoveTask itself; drop this patch")
    receive = receive_original(patch)
    add = original_of(models.Queue, "add_message", patch, ("self", "message"))
    require_params(require_attr(models.SQSBackend, "send_message", patch),
                    ("self", "queue_name", "message_body", "message_attributes", "delay_seconds",
                     "deduplication_id", "group_id", "system_attributes"), patch)
    if "dead_letter_queue.add_message(message)" not in inspect.getsource(receive):
        raise mismatch_error(patch, "no longer moves messages to the dead-letter queue in SQSBackend.receive_message")
    init = inspect.getsource(models.Queue.__init__)
    for attr in ("_messages_lock", "_messages", "dead_letter_queue", "queue_arn", "fifo_queue", "account_id",
                 "region"):
        if f"self.{attr}" not in init:
            raise mismatch_error(patch, f"Queue no longer has {attr}")
    for attr in ("pending_messages",):
        require_attr(models.Queue, attr, patch)
    for attr in ("visible", "delayed", "message_attributes", "system_attributes"):
        if attr not in inspect.getsource(models.Message):
            raise mismatch_error(patch, f"Message no longer has {attr}")
    error = require_attr(exceptions, "SQSException", patch)
    require_attr(responses.SQSResponse, "_get_param", patch)


    @functools.wraps(receive)
    def receive_message(self, queue_name, *args, **kwargs):
        move_tasks.moving_from.queue = self.queues.get(queue_name)
        try:
            return receive(self, queue_name, *args, **kwargs)
        finally:
            move_tasks.moving_from.queue = None

    @functools.wraps(add)
    def add_message(self, message):
        source = getattr(move_tasks.moving_from, "queue", None)
        if source is not None and source is not self and source.dead_letter_queue is self:
            setattr(message, move_tasks.SOURCE_ATTR, source.queue_arn)  # the queue whose RedrivePolicy moved it
        return add(self, message)

    def start_message_move_task(self):
        task = move_tasks.start_move_task(error, self._get_param("SourceArn"), self._get_param("DestinationArn"),
                               self._get_param("MaxNumberOfMessagesPerSecond"))
        return ActionResult({"TaskHandle": task.handle})

    def list_message_move_tasks(self):
        results = move_tasks.list_move_tasks(error, self._get_param("SourceArn"), self._get_param("MaxResults"))
        return ActionResult({"Results": results})

    def cancel_message_move_task(self):
        task = move_tasks.cancel_move_task(error, self._get_param("TaskHandle"))
        return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})

    models.SQSBackend.receive_message = mark_applied(receive_message, patch, receive)
    models.Queue.add_message = mark_applied(add_message, patch, add)
    for method in (start_message_move_task, list_message_move_tasks, cancel_message_move_task):
        setattr(responses.SQSResponse, method.__name__, mark_applied(method, patch))
    return (f"StartMessageMoveTask, ListMessageMoveTasks and CancelMessageMoveTask move dead letters in the "
            f"background ({move_tasks.DEFAULT_MOVE_RATE} messages/s unless MaxNumberOfMessagesPerSecond is given)")


# ---------------------------------------------------------------------------
# sqs_deleted_handles_bounded
# Upstream gap: moto remembers the receipt handle of every message ever deleted
# (Queue.deleted_messages, a set that only grows: about 10 MB for 30,000 messages),
# so that deleting a message again succeeds, as on SQS. Here each is remembered
# for DELETED_HANDLE_TTL_S after its message was deleted, and at most
# DELETED_HANDLES_KEPT per queue (the oldest go first): a second DeleteMessage
# within that time succeeds as before; later, a handle moto no longer knows is
# ReceiptHandleIsInvalid (README: what is kept).
def apply_sqs_deleted_handles_bounded() -> str:
    from moto.sqs.models import Queue

    patch = "sqs_deleted_handles_bounded"
    init = original_of(Queue, "__init__", patch, ("self", "name", "region", "account_id"))
    if init is None:
        return "already applied"
    if "self.deleted_messages: set[str] = set()" not in inspect.getsource(init):
        raise mismatch_error(patch, "Queue no longer keeps deleted_messages as a set")

    def __init__(self, name, region, account_id, **kwargs):
        init(self, name, region, account_id, **kwargs)
        self.deleted_messages = receipts.ExpiringHandles()

    Queue.__init__ = mark_applied(__init__, patch, init)
    return (f"deleted messages' receipt handles kept {receipts.DELETED_HANDLE_TTL_S // 60} minutes, at most "
            f"{receipts.DELETED_HANDLES_KEPT} per queue")


# ---------------------------------------------------------------------------
# sqs_request_values_as_documented
# Upstream gaps in what moto's SQS takes (SQS API reference, SendMessage and ReceiveMessage):
# an empty MessageBody and one with characters outside SQS's allowed set are queued (SQS:
# MissingParameter, InvalidMessageContents); a MessageDeduplicationId on a standard queue is
# taken (SQS: InvalidParameterValue, "not valid for this queue type"); ReceiveMessage with a
# VisibilityTimeout of -1 returns a message, and its WaitTimeSeconds error reads "must be <= 0
# and >= 20", HTML-escaped, inside a second "An error occurred" (SQS: "Value 21 for parameter
# WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.").
def apply_sqs_request_values_as_documented() -> str:
    import functools

    from moto.sqs import exceptions
    from moto.sqs.models import SQSBackend
    from moto.sqs.responses import SQSResponse

    from sqslab.offline.sqs import requests

    patch = "sqs_request_values_as_documented"
    validate = original_of(SQSBackend, "_validate_message", patch, ("self", "queue", "message_body"))
    if validate is None:
        return "already applied"
    receive = original_of(SQSResponse, "receive_message", patch, ("self",))
    error = require_attr(exceptions, "SQSException", patch)
    require_attr(SQSResponse, "_get_param", patch)

    send_batch = original_of(SQSBackend, "send_message_batch", patch, ("self", "queue_name", "entries"))
    batch_errors = [require_attr(exceptions, name, patch) for name in
                    ("InvalidBatchEntryId", "BatchEntryIdsNotDistinct", "TooManyEntriesInBatchRequest")]

    @functools.wraps(validate)
    def _validate_message(self, queue, message_body, *args, **kwargs):
        problem = requests.message_problem(message_body, kwargs.get("deduplication_id", args[1] if len(args) > 1
                                                                     else None), queue.fifo_queue)
        if problem:
            raise error(*problem)
        return validate(self, queue, message_body, *args, **kwargs)

    @functools.wraps(send_batch)
    def send_message_batch(self, queue_name, entries):
        # SendMessageBatch: "the result of each message is reported individually": an entry SQS refuses
        # is Failed (SenderFault), the others are sent; the request itself fails only as a whole
        fifo = self.get_queue(queue_name).fifo_queue
        ids = [str(entry.get("Id", "")) for entry in entries.values()]
        if any(not re.fullmatch(r"[\w-]{1,80}", i) for i in ids):
            raise batch_errors[0]()
        if len(set(ids)) < len(ids):
            raise batch_errors[1](next(i for i in ids if ids.count(i) > 1))
        if len(ids) > 10:
            raise batch_errors[2](len(ids))
        refused = {key: requests.message_problem(entry.get("MessageBody"), entry.get("MessageDeduplicationId"), fifo)
                   for key, entry in entries.items()}
        failed = [{"Id": entries[key]["Id"], "SenderFault": True, "Code": problem[0], "Message": problem[1]}
                  for key, problem in refused.items() if problem]
        kept = {key: entry for key, entry in entries.items() if not refused[key]}
        if not kept:
            return [], failed
        messages, more = send_batch(self, queue_name, kept)
        return messages, list(more) + failed

    @functools.wraps(receive)
    def receive_message(self):
        problem = requests.receive_problem({name: self._get_param(name) for name in requests.RECEIVE_RANGES})
        if problem:
            raise error("InvalidParameterValue", problem)
        return receive(self)

    SQSBackend._validate_message = mark_applied(_validate_message, patch, validate)
    SQSBackend.send_message_batch = mark_applied(send_message_batch, patch, send_batch)
    SQSResponse.receive_message = mark_applied(receive_message, patch, receive)
    return "empty or ill-formed bodies, deduplication ids on standard queues and receive values out of range refused"
