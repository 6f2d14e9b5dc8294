"""The SQS patches: SendMessage no longer runs mapped functions (the pollers of
:mod:`sqslab.offline.event_source` do); queue attributes, ChangeMessageVisibility,
long polls and FIFO deduplication behave as the SQS documentation says; dead-letter
queue redrives run as message move tasks (StartMessageMoveTask and its siblings)."""

from __future__ import annotations

import inspect
import time

from sqslab.offline.patches.guards import _mark, _mismatch, _original, _require, _require_params


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


# ---------------------------------------------------------------------------
# sqs_queue_attribute_limits
# Upstream gap: moto's CreateQueue and SetQueueAttributes store VisibilityTimeout,
# DelaySeconds, MessageRetentionPeriod and ReceiveMessageWaitTimeSeconds
# whatever their value (43201 is kept; text that is not a number is a server
# error), and check MaximumMessageSize on CreateQueue only. SQS refuses a value
# outside its range with InvalidAttributeValue, before it changes anything
# (SQS API reference, CreateQueue and SetQueueAttributes: request parameters
# and errors). Both requests reach Queue._set_attributes, checked here first.
QUEUE_ATTRIBUTE_LIMITS = {
    "DelaySeconds": (0, 900),  # 15 minutes
    "MaximumMessageSize": (1024, 1_048_576),  # 1 KiB to 1 MiB
    "MessageRetentionPeriod": (60, 1_209_600),  # 1 minute to 14 days
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43_200),  # 12 hours
}


def attribute_out_of_range(attributes: dict) -> str | None:
    """The first attribute SQS refuses for its value (not an integer, or out of
    :data:`QUEUE_ATTRIBUTE_LIMITS`), or None."""
    for name, (low, high) in QUEUE_ATTRIBUTE_LIMITS.items():
        if name not in attributes:
            continue
        value = attributes[name]
        if isinstance(value, bool):
            return name
        try:
            number = int(str(value).strip())
        except ValueError:
            return name
        if not low <= number <= high:
            return name
    return None


def _apply_sqs_queue_attribute_limits() -> str:
    import functools

    from moto.sqs import exceptions
    from moto.sqs.models import Queue

    patch = "sqs_queue_attribute_limits"
    original = _original(Queue, "_set_attributes", patch, ("self", "attributes", "now"))
    if original is None:
        return "already applied"
    refuse = _require(exceptions, "InvalidAttributeValue", patch)
    source = inspect.getsource(original)
    if "integer_fields" not in source or "setattr(self" not in source:
        raise _mismatch(patch, "no longer sets queue attributes in Queue._set_attributes as expected")

    @functools.wraps(original)
    def _set_attributes(self, attributes, now=None):
        bad = attribute_out_of_range(attributes or {})
        if bad is not None:
            raise refuse(bad)
        return original(self, attributes, now)

    Queue._set_attributes = _mark(_set_attributes, patch, original)
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


def _apply_sqs_change_visibility_in_flight() -> str:
    from moto.sqs import exceptions
    from moto.sqs.models import Message, Queue, SQSBackend

    patch = "sqs_change_visibility_in_flight"
    change = _original(SQSBackend, "change_message_visibility", patch,
                       ("self", "queue_name", "receipt_handle", "visibility_timeout"))
    if change is None:
        return "already applied"
    batch = _original(SQSBackend, "change_message_visibility_batch", patch, ("self", "queue_name", "entries"))
    sqs_error = _require(exceptions, "SQSException", patch)
    for attr in ("had_receipt_handle", "visible"):
        _require(Message, attr, patch)
    if "self.deleted_messages" not in inspect.getsource(Queue.__init__):
        raise _mismatch(patch, "Queue no longer keeps deleted_messages")

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

    SQSBackend.change_message_visibility = _mark(change_message_visibility, patch, change)
    SQSBackend.change_message_visibility_batch = _mark(change_message_visibility_batch, patch, batch)
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
# (sqslab.offline.event_source), the wait here sleeps on the same condition
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


def _apply_sqs_long_poll_wakes_on_visibility() -> str:
    from moto.sqs.models import Queue, SQSBackend

    patch = "sqs_long_poll_wakes_on_visibility"
    wait = _original(Queue, "wait_for_messages", patch, ("self", "timeout"))
    if wait is None:
        return "already applied"
    change = _original(SQSBackend, "change_message_visibility", patch,
                       ("self", "queue_name", "receipt_handle", "visibility_timeout"))
    if "_messages_lock" not in inspect.getsource(wait):
        raise _mismatch(patch, "no longer waits on Queue._messages_lock in wait_for_messages")
    if "wait_for_messages" not in inspect.getsource(SQSBackend.receive_message):
        raise _mismatch(patch, "no longer long-polls through Queue.wait_for_messages")
    _require(Queue, "messages", patch)

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

    Queue.wait_for_messages = _mark(wait_for_messages, patch, wait)
    SQSBackend.change_message_visibility = _mark(change_message_visibility, patch, change)
    return "long polls wake when a message's visibility timeout or delay ends, or its visibility changes"


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


def _apply_sqs_fifo_dedup_interval() -> str:
    import functools

    from moto.sqs import models

    patch = "sqs_fifo_dedup_interval"
    original = _original(models.Queue, "add_message", patch, ("self", "message"))
    if original is None:
        return "already applied"
    if "deduplication_id" not in inspect.getsource(original):
        raise _mismatch(patch, "no longer deduplicates FIFO sends in Queue.add_message")
    if getattr(models, "DEDUPLICATION_TIME_IN_SECONDS", None) != DEDUP_INTERVAL_MS // 1000:
        raise _mismatch(patch, "changed DEDUPLICATION_TIME_IN_SECONDS")
    init = inspect.getsource(models.Queue.__init__)
    for attr in ("_messages_lock", "fifo_queue"):
        if f"self.{attr}" not in init:
            raise _mismatch(patch, f"Queue no longer has {attr}")

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

    models.Queue.add_message = _mark(add_message, patch, original)
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
DEFAULT_MOVE_RATE = 500  # messages per second when MaxNumberOfMessagesPerSecond is not given
MOVE_TASKS_LISTED = 10
_SOURCE_ATTR = "_sqslab_dead_letter_source_arn"
_ARN_FORMAT = "You must use this format to specify the {}: arn:<partition>:<service>:<region>:<account-id>:<resource-id>"
_NO_RESOURCE = "The resource that you specified for the {} parameter doesn't exist."


def encode_task_handle(task_id: str, source_arn: str) -> str:
    """A TaskHandle as SQS makes it: base64 of ``{"taskId": ..., "sourceArn": ...}``."""
    import base64
    import json

    return base64.b64encode(json.dumps({"taskId": task_id, "sourceArn": source_arn}).encode()).decode()


def decode_task_handle(handle: str) -> tuple[str, str] | None:
    import base64
    import binascii
    import json

    try:
        doc = json.loads(base64.b64decode(handle.encode(), validate=True))
        return str(doc["taskId"]), str(doc["sourceArn"])
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeError):
        return None


class MoveTask:
    """One message move task: its state, read by ListMessageMoveTasks, and the thread that moves."""

    def __init__(self, source_arn: str, destination_arn: str | None, rate: int | None):
        import threading
        import uuid

        self.id = str(uuid.uuid4())
        self.source_arn = source_arn
        self.destination_arn = destination_arn
        self.rate = rate
        self.status = "RUNNING"
        self.moved = 0
        self.to_move = 0
        self.started_ms = int(time.time() * 1000)
        self.failure: str | None = None
        self.cancelled = threading.Event()
        self.thread: threading.Thread | None = None

    @property
    def handle(self) -> str:
        return encode_task_handle(self.id, self.source_arn)

    def entry(self) -> dict:
        out = {"SourceArn": self.source_arn, "Status": self.status, "StartedTimestamp": self.started_ms,
               "ApproximateNumberOfMessagesMoved": self.moved, "ApproximateNumberOfMessagesToMove": self.to_move}
        if self.destination_arn:
            out["DestinationArn"] = self.destination_arn
        if self.rate is not None:
            out["MaxNumberOfMessagesPerSecond"] = self.rate
        if self.status == "RUNNING":
            out["TaskHandle"] = self.handle
        if self.status == "FAILED":
            out["FailureReason"] = self.failure
        return out


class _TaskFailed(Exception):
    pass


_move_tasks: dict[str, list[MoveTask]] = {}  # source ARN -> its tasks, oldest first
_move_lock = None  # a threading.Lock, made when the patch is applied
_moving_from = None  # a threading.local: the queue a ReceiveMessage is reading


def queue_by_arn(arn: str | None):
    """The moto queue an ARN names, or None (also for a text that is not an SQS queue ARN)."""
    from moto.sqs.models import sqs_backends

    parts = (arn or "").split(":")
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sqs":
        return None
    _, _, _, region, account, name = parts
    try:
        return sqs_backends[account][region].queues.get(name)
    except (KeyError, ValueError):
        return None


def _is_arn(text: str | None) -> bool:
    parts = (text or "").split(":")
    return len(parts) == 6 and parts[0] == "arn" and all(parts[1:3]) and bool(parts[5])


def _is_dead_letter_queue(queue) -> bool:
    from moto.sqs.models import sqs_backends

    backend = sqs_backends[queue.account_id][queue.region]
    return any(q.dead_letter_queue is queue for q in list(backend.queues.values()))


def _check_start(error, source_arn, destination_arn, rate):
    """The queues of a StartMessageMoveTask request, or the SQS error for it."""
    if not _is_arn(source_arn):
        raise error("InvalidParameterValue", _ARN_FORMAT.format("SourceArn"))
    source = queue_by_arn(source_arn)
    if source is None:
        raise error("ResourceNotFoundException", _NO_RESOURCE.format("SourceArn"))
    if not _is_dead_letter_queue(source):
        raise error("InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
    destination = None
    if destination_arn:
        if not _is_arn(destination_arn):
            raise error("InvalidParameterValue", _ARN_FORMAT.format("DestinationArn"))
        destination = queue_by_arn(destination_arn)
        if destination is None:
            raise error("ResourceNotFoundException", _NO_RESOURCE.format("DestinationArn"))
        if bool(destination.fifo_queue) != bool(source.fifo_queue):
            raise error("InvalidParameterValue",
                        "The source queue and the destination queue must be of the same queue type.")
    if rate is not None and not (isinstance(rate, int) and 1 <= rate <= 500):
        raise error("InvalidParameterValue", "Value for parameter MaxNumberOfMessagesPerSecond is invalid. "
                                             "Reason: You must enter a number that's between 1 and 500.")
    return source, destination


def _move_one(task: MoveTask, source, message, destination) -> bool:
    """Move one message as a new message; False when it is no longer there or is in flight."""
    from moto.sqs.exceptions import QueueDoesNotExist
    from moto.sqs.models import sqs_backends

    target = destination
    if target is None:
        origin = getattr(message, _SOURCE_ATTR, None)
        if origin is None:
            raise _TaskFailed(f"Message {message.id} was not moved to {source.name} by a queue's RedrivePolicy: "
                              "it has no source queue to go back to (give a DestinationArn)")
        target = queue_by_arn(origin)
    if target is None:
        raise _TaskFailed("AWS.SimpleQueueService.NonExistentQueue")
    backend = sqs_backends[target.account_id][target.region]
    if backend.queues.get(target.name) is not target:
        raise _TaskFailed("AWS.SimpleQueueService.NonExistentQueue")
    with source._messages_lock:
        if message not in source._messages or not message.visible or message.delayed:
            return False
        source._messages.remove(message)
        source.pending_messages.discard(message)
    try:
        backend.send_message(
            target.name, message.body, message_attributes=dict(message.message_attributes),
            system_attributes=dict(message.system_attributes or {}),
            group_id=message.group_id if target.fifo_queue else None,
            deduplication_id=message.id if target.fifo_queue else None)  # as SQS does on the way in
    except QueueDoesNotExist:
        with source._messages_lock:
            source._messages.insert(0, message)
        raise _TaskFailed("AWS.SimpleQueueService.NonExistentQueue") from None
    return True


def _run_move_task(task: MoveTask, source, destination, messages) -> None:
    interval = 1.0 / (task.rate or DEFAULT_MOVE_RATE)
    next_at = time.monotonic()
    try:
        for message in messages:
            wait = next_at - time.monotonic()
            if task.cancelled.wait(max(wait, 0)) if wait > 0 else task.cancelled.is_set():
                break
            if _move_one(task, source, message, destination):
                task.moved += 1
                next_at = max(next_at + interval, time.monotonic() - interval)
    except _TaskFailed as exc:
        task.failure, task.status = str(exc), "FAILED"
        return
    except Exception as exc:  # noqa: BLE001 - reported in the task, as SQS reports a failure
        task.failure, task.status = f"InternalError: {exc}", "FAILED"
        return
    task.status = "CANCELLED" if task.cancelled.is_set() else "COMPLETED"


def start_move_task(error, source_arn, destination_arn=None, rate=None) -> MoveTask:
    import threading

    source, destination = _check_start(error, source_arn, destination_arn, rate)
    with _move_lock:
        tasks = _move_tasks.setdefault(source.queue_arn, [])
        if any(t.status in ("RUNNING", "CANCELLING") for t in tasks):
            raise error("InvalidParameterValue", "There is already a task running. Only one active task is "
                                                 "allowed for a source queue arn at a given time.")
        task = MoveTask(source.queue_arn, destination_arn or None, rate)
        with source._messages_lock:
            messages = [m for m in source._messages if m.visible and not m.delayed]
        task.to_move = len(messages)
        tasks.append(task)
        del tasks[:-MOVE_TASKS_LISTED]
    task.thread = threading.Thread(target=_run_move_task, args=(task, source, destination, messages),
                                   name=f"sqs-move-{source.name}", daemon=True)
    task.thread.start()
    return task


def list_move_tasks(error, source_arn, max_results=None) -> list[dict]:
    if not _is_arn(source_arn):
        raise error("InvalidParameterValue", _ARN_FORMAT.format("SourceArn"))
    if queue_by_arn(source_arn) is None:
        raise error("ResourceNotFoundException", _NO_RESOURCE.format("SourceArn"))
    limit = 1 if max_results is None else max_results
    if not (isinstance(limit, int) and 1 <= limit <= MOVE_TASKS_LISTED):
        raise error("InvalidParameterValue", "Value for parameter MaxResults is invalid. Reason: You must enter "
                                             "a number that's less than or equal to 10.")
    with _move_lock:
        tasks = list(_move_tasks.get(source_arn, []))
    return [t.entry() for t in reversed(tasks)][:limit]


def cancel_move_task(error, handle) -> MoveTask:
    decoded = decode_task_handle(handle or "")
    if decoded is None:
        raise error("InvalidParameterValue", "Value for parameter TaskHandle is invalid.")
    task_id, source_arn = decoded
    if queue_by_arn(source_arn) is None:
        raise error("ResourceNotFoundException", _NO_RESOURCE.format("SourceArn"))
    with _move_lock:
        task = next((t for t in _move_tasks.get(source_arn, []) if t.id == task_id), None)
        if task is None:
            raise error("ResourceNotFoundException", "Task does not exist.")
        if task.status != "RUNNING":
            raise error("UnsupportedOperation", f"The task is {task.status}: only a RUNNING task can be cancelled.")
        task.status = "CANCELLING"
        task.cancelled.set()
    return task


def _apply_sqs_message_move_tasks() -> str:
    import functools
    import threading

    from moto.core.responses import ActionResult
    from moto.sqs import exceptions, models, responses

    global _move_lock, _moving_from
    patch = "sqs_message_move_tasks"
    existing = getattr(responses.SQSResponse, "start_message_move_task", None)
    if existing is not None:
        if patch in getattr(existing, "_sqslab_patches", ()):
            return "already applied"
        raise _mismatch(patch, "implements StartMessageMoveTask itself; drop this patch")
    receive = _original(models.SQSBackend, "receive_message", patch,
                        ("self", "queue_name", "count", "wait_seconds_timeout", "visibility_timeout"))
    add = _original(models.Queue, "add_message", patch, ("self", "message"))
    _require_params(_require(models.SQSBackend, "send_message", patch),
                    ("self", "queue_name", "message_body", "message_attributes", "delay_seconds",
                     "deduplication_id", "group_id", "system_attributes"), patch)
    if "dead_letter_queue.add_message(message)" not in inspect.getsource(receive):
        raise _mismatch(patch, "no longer moves messages to the dead-letter queue in SQSBackend.receive_message")
    init = inspect.getsource(models.Queue.__init__)
    for attr in ("_messages_lock", "_messages", "dead_letter_queue", "queue_arn", "fifo_queue", "account_id",
                 "region"):
        if f"self.{attr}" not in init:
            raise _mismatch(patch, f"Queue no longer has {attr}")
    for attr in ("pending_messages",):
        _require(models.Queue, attr, patch)
    for attr in ("visible", "delayed", "message_attributes", "system_attributes"):
        if attr not in inspect.getsource(models.Message):
            raise _mismatch(patch, f"Message no longer has {attr}")
    error = _require(exceptions, "SQSException", patch)
    _require(responses.SQSResponse, "_get_param", patch)

    _move_lock = _move_lock or threading.Lock()
    _moving_from = _moving_from or threading.local()

    @functools.wraps(receive)
    def receive_message(self, queue_name, *args, **kwargs):
        _moving_from.queue = self.queues.get(queue_name)
        try:
            return receive(self, queue_name, *args, **kwargs)
        finally:
            _moving_from.queue = None

    @functools.wraps(add)
    def add_message(self, message):
        source = getattr(_moving_from, "queue", None)
        if source is not None and source is not self and source.dead_letter_queue is self:
            setattr(message, _SOURCE_ATTR, source.queue_arn)  # the queue whose RedrivePolicy moved it
        return add(self, message)

    def start_message_move_task(self):
        task = start_move_task(error, self._get_param("SourceArn"), self._get_param("DestinationArn"),
                               self._get_param("MaxNumberOfMessagesPerSecond"))
        return ActionResult({"TaskHandle": task.handle})

    def list_message_move_tasks(self):
        results = list_move_tasks(error, self._get_param("SourceArn"), self._get_param("MaxResults"))
        return ActionResult({"Results": results})

    def cancel_message_move_task(self):
        task = cancel_move_task(error, self._get_param("TaskHandle"))
        return ActionResult({"ApproximateNumberOfMessagesMoved": task.moved})

    models.SQSBackend.receive_message = _mark(receive_message, patch, receive)
    models.Queue.add_message = _mark(add_message, patch, add)
    for method in (start_message_move_task, list_message_move_tasks, cancel_message_move_task):
        setattr(responses.SQSResponse, method.__name__, _mark(method, patch))
    return (f"StartMessageMoveTask, ListMessageMoveTasks and CancelMessageMoveTask move dead letters in the "
            f"background ({DEFAULT_MOVE_RATE} messages/s unless MaxNumberOfMessagesPerSecond is given)")


# ---------------------------------------------------------------------------
# sqs_deleted_handles_bounded
# Upstream gap: moto remembers the receipt handle of every message ever deleted
# (Queue.deleted_messages, a set that only grows: about 10 MB for 30,000 messages),
# so that deleting a message again succeeds, as on SQS. Here each is remembered
# for DELETED_HANDLE_TTL_S after its message was deleted, and at most
# DELETED_HANDLES_KEPT per queue (the oldest go first): a second DeleteMessage
# within that time succeeds as before; later, a handle moto no longer knows is
# ReceiptHandleIsInvalid (README: what is kept).
DELETED_HANDLE_TTL_S = 15 * 60
DELETED_HANDLES_KEPT = 20_000


class ExpiringHandles:
    """A set of receipt handles that forgets each one after a time, and the oldest beyond a count."""

    def __init__(self, ttl_s: float = DELETED_HANDLE_TTL_S, cap: int = DELETED_HANDLES_KEPT, clock=None):
        import collections
        import time

        self._added: collections.OrderedDict[str, float] = collections.OrderedDict()
        self._ttl, self._cap, self._clock = ttl_s, cap, clock or time.monotonic

    def _prune(self) -> None:
        horizon = self._clock() - self._ttl
        while self._added and (len(self._added) > self._cap or next(iter(self._added.values())) < horizon):
            self._added.popitem(last=False)

    def add(self, handle: str) -> None:
        self._added[handle] = self._clock()
        self._added.move_to_end(handle)
        self._prune()

    def update(self, handles) -> None:
        for handle in handles:
            self.add(handle)

    def discard(self, handle: str) -> None:
        self._added.pop(handle, None)

    def __contains__(self, handle) -> bool:
        self._prune()
        return handle in self._added

    def __len__(self) -> int:
        return len(self._added)

    def __iter__(self):
        return iter(list(self._added))


def _apply_sqs_deleted_handles_bounded() -> str:
    from moto.sqs.models import Queue

    patch = "sqs_deleted_handles_bounded"
    init = _original(Queue, "__init__", patch, ("self", "name", "region", "account_id"))
    if init is None:
        return "already applied"
    if "self.deleted_messages: set[str] = set()" not in inspect.getsource(init):
        raise _mismatch(patch, "Queue no longer keeps deleted_messages as a set")

    def __init__(self, name, region, account_id, **kwargs):
        init(self, name, region, account_id, **kwargs)
        self.deleted_messages = ExpiringHandles()

    Queue.__init__ = _mark(__init__, patch, init)
    return (f"deleted messages' receipt handles kept {DELETED_HANDLE_TTL_S // 60} minutes, at most "
            f"{DELETED_HANDLES_KEPT} per queue")
