"""Lambda's SQS event source mappings inside the offline server: one poller per mapping.

moto's own mapping runs the function inside the sender's SendMessage, one
record per call, with fixed record values; the ``sqs_no_push_on_send`` patch
(:mod:`sqslab.offline.patches.sqs`) turns that path off and the
``lambda_esm_sqs_*`` patches (:mod:`sqslab.offline.patches.awslambda`) route
Create/Update/DeleteEventSourceMapping here. What is emulated, as the Lambda
developer guide describes it (pages with-sqs, services-sqs-configure,
services-sqs-errorhandling, services-sqs-scaling, services-sqs-parameters):

- a poller per mapping reads the queue in the server process, independently of
  senders: SendMessage never waits for a handler. It sleeps on the queue's own
  condition (signalled by every send) and wakes when a message's visibility
  timeout or delay ends, so a new or returning message is picked up at once;
- batches: up to BatchSize records (1-10000 standard, 1-10 FIFO), read 10 at a
  time as ReceiveMessage allows; with MaximumBatchingWindowInSeconds 0 a batch
  is whatever one read returns, otherwise records are gathered until the batch
  is full, the window (counted from the first record) ends, or the next record
  would take the event past the 6 MB invoke payload limit (that record opens the
  next batch);
- the event is Lambda's: each record carries the message's own id, receipt
  handle, body, attributes (ApproximateReceiveCount, SentTimestamp, SenderId,
  ApproximateFirstReceiveTimestamp; MessageGroupId, MessageDeduplicationId and
  SequenceNumber on FIFO queues; AWSTraceHeader when sent), message attributes
  in Lambda's shape, md5OfBody, eventSource, eventSourceARN and awsRegion;
- the function is invoked synchronously by the local runtime
  (:mod:`sqslab.offline.awslambda.service`), each batch in an execution
  environment of its own; success deletes the batch; an error or a timeout
  deletes nothing, so the messages return after the visibility timeout with a
  higher ApproximateReceiveCount, until the queue's RedrivePolicy moves them to
  the dead-letter queue (moto's ReceiveMessage does the move);
- FunctionResponseTypes ReportBatchItemFailures: only the listed records stay;
  the response rules are those of "Implementing partial batch responses"
  (:func:`sqslab.offline.awslambda.batching.records_to_keep`);
- several batches in flight at once: five to start, more while messages wait
  with every batch busy (:class:`~sqslab.offline.awslambda.batching.Scaling`: up to
  300 more a minute), never more than ScalingConfig.MaximumConcurrency, whatever the
  function's reserved concurrency: the mapping does not account for it, and a
  batch past it is throttled (:mod:`sqslab.offline.awslambda.concurrency`), tried
  again with backoff while the function's timeout still fits in the visibility
  timeout, and otherwise left to come back with a higher receive count (so a low
  maxReceiveCount sends it to the dead-letter queue unprocessed); FIFO queues
  deliver one batch per message group at a time, in order;
- Create/Update/DeleteEventSourceMapping and Enabled false take effect within
  about 50 ms here (on AWS, seconds: the states are there to be waited on);
  State moves Creating -> Enabled, Enabling -> Enabled, Updating -> Enabled,
  Disabling -> Disabled (once in-flight batches end), with
  StateTransitionReason USER_INITIATED; the create-time checks are AWS's
  (:mod:`sqslab.offline.awslambda.mapping_checks`: the function's
  execution role must allow sqs:ReceiveMessage, DeleteMessage and
  GetQueueAttributes on the queue);
- the poller reads and deletes with the function's role, as Lambda does: its
  receives and deletes are authorized in-process against the role's policies
  (:mod:`sqslab.offline.iam.policy`), so a role that loses sqs:ReceiveMessage
  after the mapping is created reads nothing more, and one without
  sqs:DeleteMessage leaves each processed batch to return.

What it does not emulate: how Lambda reports a mapping whose role lost its
permissions after creation (here it stays Enabled and says so once in the
server log), concurrency past ``batching.LOCAL_CEILING`` environments a mapping (AWS
goes to 1,000), the backoff of the mapping's
concurrency after function errors and throttles, ProvisionedPollerConfig,
MetricsConfig, KMS. FilterCriteria apply (:mod:`sqslab.offline.awslambda.filtering`):
records that match no filter are deleted without an invocation.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass

from sqslab.offline.awslambda import filtering
from sqslab.offline.awslambda.batching import (
    BatchPlan,
    Scaling,
    concurrency_limit,
    event_text,
    record,
    records_to_keep,
)
from sqslab.offline.awslambda.concurrency import Throttled
from sqslab.offline.awslambda.mapping_checks import role_may

IDLE_WAIT_S = 1.0  # a poller with nothing to wait for re-checks its mapping this often
RECHECK_S = 0.05  # while messages are in flight elsewhere (another consumer may release them)
SCALE_CHECK_S = 0.2  # with every batch busy and messages waiting, the scaling is looked at this often
THROTTLE_RETRY_S = 0.5  # a throttled batch is tried again after this, doubling
THROTTLE_RETRY_MAX_S = 4.0
SETTLE_S = 0.05  # how long a transitional State (Creating, Updating...) is reported
STATE_REASON = "USER_INITIATED"

# ---------------------------------------------------------------- moto's side


def _backends(account: str, region: str):
    from moto.awslambda.models import lambda_backends
    from moto.sqs.models import sqs_backends

    return lambda_backends[account][region], sqs_backends[account][region]


def _parse_queue_arn(arn: str) -> tuple[str, str, str]:
    """(region, account, queue name) of an SQS queue ARN."""
    parts = arn.split(":")
    return parts[3], parts[4], parts[5]


def find_queue(arn: str):
    """moto's Queue for ``arn``, or None."""
    from moto.sqs.models import sqs_backends

    try:
        region, account, name = _parse_queue_arn(arn)
    except IndexError:
        return None
    queue = sqs_backends[account][region].queues.get(name)
    return queue if queue is not None and queue.queue_arn == arn else None


def is_sqs(arn: str | None) -> bool:
    return bool(arn) and arn.split(":")[2:3] == ["sqs"]


@dataclass
class _Batch:
    texts: list[str]
    ids: list[str]
    handles: dict[str, str]
    retries: int
    received: float  # time.monotonic() of its first receive: its visibility timeout runs from there


class Poller:
    """One mapping's poller: a thread that gathers batches, and one thread per batch in flight."""

    def __init__(self, manager: EventSources, esm, account: str, region: str):
        self.manager = manager
        self.esm = esm
        self.account = account
        self.region = region
        self.in_flight = 0
        self.scaling = Scaling()  # how many batches may run at once (grows while messages wait)
        self._lock = threading.Lock()
        self._own = threading.Condition()
        self._queue_cond: threading.Condition | None = None
        self._dirty = False
        self._stopped = False
        self._carry: list[tuple[str, str, str, int]] = []
        self._said: set[str] = set()
        self._thread = threading.Thread(target=self._run, name=f"esm-{esm.uuid[:8]}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped = True
        self.nudge()

    def nudge(self) -> None:
        """Wake the poller: a setting changed, a batch ended, or it should stop."""
        for cond in (self._own, self._queue_cond):
            if cond is None:
                continue
            with cond:
                self._dirty = True
                cond.notify_all()

    def _may_receive(self, queue, fn=None) -> bool:
        """Lambda reads the queue with the function's role: without sqs:ReceiveMessage it reads nothing."""
        fn = fn if fn is not None else self._function()
        if fn is None:
            self._say_once("function", f"its function {self.esm.function_arn} does not exist (deleted?): the "
                           "mapping reads nothing; delete the mapping, or create the function again")
            return False
        if role_may(fn, "ReceiveMessage", queue.queue_arn, self.region):
            return True
        self._say_once("receive", f"the function's role may not sqs:ReceiveMessage on {queue.queue_arn}: "
                       "the mapping reads nothing")
        return False

    def _say_once(self, what: str, text: str) -> None:
        if what not in self._said:
            self._said.add(what)
            print(f"sqslab-offline: event source mapping {self.esm.uuid}: {text}", flush=True)

    # ------------------------------------------------------------ the loop

    def _alive(self) -> bool:
        if self._stopped:
            return False
        try:
            lam, _ = _backends(self.account, self.region)
        except Exception:
            return False
        # A reset of moto's state, or a delete this poller was not told of, ends it.
        return getattr(lam, "_event_source_mappings", {}).get(self.esm.uuid) is self.esm

    def _run(self) -> None:
        while self._alive():
            try:
                self._step()
            except Exception as exc:  # never let one mapping's trouble end its poller silently
                print(f"sqslab-offline: event source mapping {self.esm.uuid}: {exc!r}", flush=True)
                self._wait(None, IDLE_WAIT_S)
        self.manager._forget(self)

    def _step(self) -> None:
        esm = self.esm
        if not esm.enabled:
            self._carry.clear()
            self._wait(None, IDLE_WAIT_S)
            return
        queue = find_queue(esm.event_source_arn)
        fn = self._function()
        if queue is None or fn is None:
            if fn is None:
                self._may_receive(queue, None)  # says once that the function is gone
            self._wait(None, IDLE_WAIT_S)
            return
        self._queue_cond = _condition_of(queue)
        scaling = esm.scaling_config or {}
        now = time.monotonic()
        waiting = bool(queue.messages)
        limit = concurrency_limit(scaling.get("MaximumConcurrency"), self.scaling.level)
        level = self.scaling.observe(now, self.in_flight >= limit, waiting)
        limit = concurrency_limit(scaling.get("MaximumConcurrency"), level)
        if self.in_flight >= limit:
            self._wait(queue, SCALE_CHECK_S if waiting else IDLE_WAIT_S)
            return
        if not self._may_receive(queue, fn):
            self._wait(None, IDLE_WAIT_S)
            return
        batch = self._gather(queue)
        if batch is None:
            return
        with self._lock:
            self.in_flight += 1
        threading.Thread(target=self._process, args=(queue, batch), name=f"esm-batch-{esm.uuid[:8]}",
                         daemon=True).start()

    def _function(self):
        lam, _ = _backends(self.account, self.region)
        try:
            return lam.get_function(self.esm.function_arn)
        except Exception:
            return None

    def _gather(self, queue) -> _Batch | None:
        esm = self.esm
        texts: list[str] = []
        sizes: list[int] = []
        ids: list[str] = []
        handles: dict[str, str] = {}
        retries = 0
        first_at = None

        def take(text: str, mid: str, handle: str, count: int) -> None:
            nonlocal retries, first_at
            if mid in handles:
                # Read again within the window (a visibility timeout shorter than the window):
                # one record per message, with the newest receipt handle.
                texts[ids.index(mid)] = text
                sizes[ids.index(mid)] = len(text.encode("utf-8"))
                handles[mid] = handle
                return
            texts.append(text)
            sizes.append(len(text.encode("utf-8")))
            ids.append(mid)
            handles[mid] = handle
            retries += count > 1
            if first_at is None:
                first_at = time.monotonic()

        for item in self._carry:
            take(*item)
        self._carry = []
        while self._alive() and esm.enabled:
            plan = BatchPlan(int(esm.batch_size or 10), float(esm.max_batch_window or 0))
            if plan.ready(len(texts), first_at, time.monotonic()):
                break
            if not self._may_receive(queue):
                break  # the role lost sqs:ReceiveMessage: what was read is processed, nothing more is read
            got = self._receive(queue, plan.want(len(texts)))
            full = False
            # "If you're using batching windows, Lambda applies your filter criteria to each new event
            # to determine whether to add it to the current batch" (invocation-eventfiltering): a
            # message no filter keeps is deleted here, unseen, and takes no place in the batch.
            filters = filtering.patterns(esm.filter_criteria)
            for message in got:
                event_record = record(message, queue.queue_arn, queue.region)
                if not filtering.keeps(filters, event_record):
                    self._drop_filtered(queue, message.receipt_handle)
                    continue
                text = json.dumps(event_record)
                item = (text, message.id, message.receipt_handle, int(message.approximate_receive_count))
                if full or (texts and not BatchPlan.fits(sizes, len(text.encode("utf-8")))):
                    full = True  # the payload limit: this record opens the next batch
                    self._carry.append(item)
                else:
                    take(*item)
            if full or plan.ready(len(texts), first_at, time.monotonic()):
                break
            if not got:
                if not texts:  # nothing to read: traffic has stopped, and the scaling may fall back
                    self.scaling.observe(time.monotonic(), saturated=False, waiting=False)
                deadline = first_at + plan.window_s if texts and first_at is not None else None
                self._wait(queue, IDLE_WAIT_S, deadline)
        else:
            return None  # stopped, disabled or deleted: what was read returns after its visibility timeout
        if not texts:
            return None
        return _Batch(texts, ids, handles, retries, first_at if first_at is not None else time.monotonic())

    def _receive(self, queue, count: int) -> list:
        """One ReceiveMessage on moto's backend, counting the messages it moves to a dead-letter queue."""
        _, sqs = _backends(self.account, self.region)
        dlq = queue.dead_letter_queue
        doomed: set[str] = set()
        if dlq is not None and queue.redrive_policy:
            limit = int(queue.redrive_policy.get("maxReceiveCount", 0) or 0)
            doomed = {m.id for m in list(queue._messages) if m.approximate_receive_count >= limit and m.visible}
        got = sqs.receive_message(queue.name, count, 0, int(queue.visibility_timeout or 0), ["All"])
        if doomed:
            remaining = {m.id for m in list(queue._messages)}
            moved = len(doomed - remaining)
            if moved:
                self.manager._count("moved_to_dlq", moved)
        return got

    def _wait(self, queue, timeout: float, deadline: float | None = None) -> None:
        """Sleep until something may have changed: a send (the queue's condition), a nudge,
        the end of a visibility timeout or delay, ``deadline`` (monotonic), or ``timeout``."""
        cond = _condition_of(queue) if queue is not None else self._own
        with cond:
            if self._dirty:
                self._dirty = False
                return
            if queue is not None:
                # 0 means a message looks receivable though the last read got none (another
                # consumer's FIFO group, a read racing this one): look again shortly.
                timeout = min(timeout, _quiet_for(queue) or RECHECK_S)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                timeout = min(timeout, left)
            cond.wait(timeout)
            self._dirty = False

    # ------------------------------------------------------------ one batch

    def _invoke_retrying_throttles(self, queue, fn, event: str, started: float):
        """Invoke the function with the batch. A throttled invocation (the function's reserved
        concurrency, or the account's pool, in use: the mapping does not look at either) is tried
        again with backoff while the function's timeout still fits in what is left of the queue's
        visibility timeout; None when it never ran, and the messages return when it ends."""
        from sqslab.offline.awslambda import service as lambda_service

        pause = THROTTLE_RETRY_S
        while True:
            try:
                return lambda_service.get().run(fn, event)
            except Throttled:
                left = float(queue.visibility_timeout or 0) - (time.monotonic() - started)
                if left - pause < float(fn.timeout or 3) or not self._alive():
                    return None
                time.sleep(pause)
                pause = min(pause * 2, THROTTLE_RETRY_MAX_S)

    def _drop_filtered(self, queue, handle: str) -> None:
        """Delete a message that matches none of the mapping's FilterCriteria, as Lambda deletes it
        (with-sqs-filtering: "Lambda automatically removes the message from the queue")."""
        self.manager._count("filtered", 1)
        _, sqs = _backends(self.account, self.region)
        try:
            sqs.delete_message(queue.name, handle)
        except Exception:
            pass  # the queue was purged or deleted meanwhile

    def _process(self, queue, batch: _Batch) -> None:
        esm = self.esm
        keep: set[str] = set(batch.ids)
        started = batch.received
        try:
            fn = self._function()
            if fn is None:
                return
            self.manager._count("batches", 1)
            self.manager._count("records", len(batch.ids))
            self.manager._count("retries", batch.retries)
            outcome = self._invoke_retrying_throttles(queue, fn, event_text(batch.texts), started)
            if outcome is None:
                self.manager._count("throttled_batches", 1)  # not deleted: back after the visibility timeout
            elif outcome.errored:
                self.manager._count("failed_batches", 1)
            elif "ReportBatchItemFailures" in (esm.function_response_types or []):
                keep = records_to_keep(outcome.payload, batch.ids)
                if keep:
                    self.manager._count("failed_batches" if keep == set(batch.ids) else "partial_batches", 1)
            else:
                keep = set()
            _, sqs = _backends(self.account, self.region)
            if not role_may(fn, "DeleteMessage", queue.queue_arn, self.region):
                # Deleted with the function's role, as Lambda does: without sqs:DeleteMessage the batch returns.
                self._say_once("delete", f"the function's role may not sqs:DeleteMessage on {queue.queue_arn}: "
                               "processed messages return after the visibility timeout")
                keep = set(batch.ids)
            for mid in batch.ids:
                if mid in keep:
                    continue
                try:
                    sqs.delete_message(queue.name, batch.handles[mid])
                except Exception:
                    pass  # the queue was purged or deleted meanwhile
        except Exception as exc:
            print(f"sqslab-offline: event source mapping {esm.uuid}: a batch failed in the runtime: {exc!r}",
                  flush=True)
        finally:
            with self._lock:
                self.in_flight -= 1
            self.nudge()


def _condition_of(queue) -> threading.Condition:
    """The condition moto's SQS queue signals on every new message."""
    return queue._messages_lock


def _quiet_for(queue) -> float:
    """Seconds until a message of ``queue`` may become receivable without a send:
    0 if one is now, the time to the next end of a visibility timeout or delay, at
    most :data:`RECHECK_S` while messages are in flight (a consumer may release
    them early) and :data:`IDLE_WAIT_S` otherwise. Called holding the queue's condition."""
    now = time.time() * 1000
    soonest = None
    in_flight = False
    busy_groups = set()
    visible = []
    for m in list(queue._messages):
        if m.delayed_until > now:
            soonest = m.delayed_until if soonest is None else min(soonest, m.delayed_until)
        elif m.visible_at >= now:
            in_flight = True
            soonest = m.visible_at if soonest is None else min(soonest, m.visible_at)
            if m.group_id is not None:
                busy_groups.add(m.group_id)
        else:
            visible.append(m)
    if any(m.group_id is None or m.group_id not in busy_groups for m in visible):
        return 0.0
    wait = IDLE_WAIT_S
    if soonest is not None:
        wait = min(wait, max(0.0, (soonest - now) / 1000) + 0.002)
    if in_flight:
        wait = min(wait, RECHECK_S)
    return wait


class EventSources:
    """The pollers of the server's SQS event source mappings, and what they did."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pollers: dict[str, Poller] = {}
        self.counts = {"batches": 0, "records": 0, "retries": 0, "failed_batches": 0, "partial_batches": 0,
                       "moved_to_dlq": 0, "throttled_batches": 0, "filtered": 0}

    def _count(self, key: str, n: int) -> None:
        if n:
            with self._lock:
                self.counts[key] += n

    # ------------------------------------------------------------ what the API patches call

    def created(self, esm, account: str, region: str) -> None:
        mark(esm, "Creating")
        poller = Poller(self, esm, account, region)
        with self._lock:
            old = self._pollers.pop(esm.uuid, None)
            self._pollers[esm.uuid] = poller
        if old is not None:
            old.stop()
        poller.start()

    def updated(self, esm, was_enabled: bool) -> None:
        if esm.enabled and not was_enabled:
            mark(esm, "Enabling")
        elif was_enabled and not esm.enabled:
            mark(esm, "Disabling")
        else:
            mark(esm, "Updating")
        poller = self._pollers.get(esm.uuid)
        if poller is not None:
            poller.nudge()

    def deleted(self, esm) -> None:
        with self._lock:
            poller = self._pollers.pop(esm.uuid, None)
        if poller is not None:
            poller.stop()

    def _forget(self, poller: Poller) -> None:
        with self._lock:
            if self._pollers.get(poller.esm.uuid) is poller:
                del self._pollers[poller.esm.uuid]

    def state(self, esm) -> str:
        """The State GetEventSourceMapping reports now."""
        noted, since = getattr(esm, "_sqslab_state", ("Creating", 0.0))
        if time.monotonic() - since < SETTLE_S:
            return noted
        if esm.enabled:
            return "Enabled"
        poller = self._pollers.get(esm.uuid)
        return "Disabling" if poller is not None and poller.in_flight else "Disabled"

    # ------------------------------------------------------------ lifecycle

    def describe(self) -> dict:
        with self._lock:
            pollers = list(self._pollers.values())
            counts = dict(self.counts)
        return {
            "mappings": len(pollers),
            "enabled": sum(1 for p in pollers if p.esm.enabled),
            "in_flight": sum(p.in_flight for p in pollers),
            "counts": counts,
        }

    def shutdown(self) -> None:
        with self._lock:
            pollers = list(self._pollers.values())
            self._pollers.clear()
        for poller in pollers:
            poller.stop()


def mark(esm, state: str) -> None:
    """Record a transitional State on moto's mapping object, reported for :data:`SETTLE_S`."""
    esm._sqslab_state = (state, time.monotonic())


# ---------------------------------------------------------------- the server's one instance

_SOURCES: EventSources | None = None


def install() -> EventSources:
    """Create the process-wide pollers' home; the server calls it after installing the runtime."""
    global _SOURCES
    _SOURCES = EventSources()
    return _SOURCES


def get() -> EventSources | None:
    return _SOURCES


def describe() -> dict:
    return _SOURCES.describe() if _SOURCES else {"installed": False}


def shutdown() -> None:
    if _SOURCES is not None:
        _SOURCES.shutdown()
