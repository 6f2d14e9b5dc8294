"""SQS message move tasks (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask),
which moto does not implement: dead letters moved back to the queue that moved them there, or
to a DestinationArn, in the background at a rate.

SQS API Reference (StartMessageMoveTask, ListMessageMoveTasks, CancelMessageMoveTask) and the
developer guide (sqs-configure-dead-letter-queue-redrive). A task moves the messages visible in
the source when it starts, at MaxNumberOfMessagesPerSecond (or DEFAULT_MOVE_RATE), one at a
time as a new message; only one task per source is active; the ten most recent are listed.
Which queue moved a message to its dead-letter queue is recorded on the message
(``SOURCE_ATTR``) by the wiring in :mod:`sqslab.offline.patches.sqs`, which also routes the
three actions here. Offline: messages in flight in the source when the task reaches them are
left there; messages that arrive after the start are not moved; cancelling a task that is no
longer RUNNING is UnsupportedOperation; a message sent to the dead-letter queue directly has no
source queue to return to, so a task without DestinationArn fails on it (FailureReason says why).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid

DEFAULT_MOVE_RATE = 500  # messages per second when MaxNumberOfMessagesPerSecond is not given
MOVE_TASKS_LISTED = 10
SOURCE_ATTR = "_sqslab_dead_letter_source_arn"
_ARN_FORMAT = "You must use this format to specify the {}: arn:<partition>:<service>:<region>:<account-id>:<resource-id>"
_NO_RESOURCE = "The resource that you specified for the {} parameter doesn't exist."


def encode_task_handle(task_id: str, source_arn: str) -> str:
    """A TaskHandle as SQS makes it: base64 of ``{"taskId": ..., "sourceArn": ...}``."""

    return base64.b64encode(json.dumps({"taskId": task_id, "sourceArn": source_arn}).encode()).decode()


def decode_task_handle(handle: str) -> tuple[str, str] | None:
    import binascii

    try:
        doc = json.loads(base64.b64decode(handle.encode(), validate=True))
        return str(doc["taskId"]), str(doc["sourceArn"])
    except (binascii.Error, ValueError, TypeError, KeyError, UnicodeError):
        return None


class MoveTask:
    """One message move task: its state, read by ListMessageMoveTasks, and the thread that moves."""

    def __init__(self, source_arn: str, destination_arn: str | None, rate: int | None):
        import threading

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
_move_lock = threading.Lock()
moving_from = threading.local()  # the queue a ReceiveMessage is reading, set by the patch


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
        origin = getattr(message, SOURCE_ATTR, None)
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
