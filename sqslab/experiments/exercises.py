"""The chapters' exercises: each check runs the experiment on the learner's stack,
compares it with the learner's prediction or code, and says right or wrong and why.

A check returns True when the answer is right, False when it is wrong, and None
when nothing was answered yet (the notebook runs on either way). The worked
answers are in ``solutions/``; the tests run them through these same checks.
"""

from __future__ import annotations

import json
import time

from sqslab.base.clock import now_ms
from sqslab.lab import resources
from sqslab.lab.handle import Lab

UNANSWERED = "not answered yet: fill in the cell above, run it, then run this one again"


def _say(ok: bool | None, why: str) -> bool | None:
    mark = {True: "right", False: "not quite", None: "-"}[ok]
    print(f"{mark}: {why}" if ok is not None else f"{UNANSWERED}. ({why})")
    return ok


def _pair(prediction) -> tuple[int, int] | None:
    """A prediction written as two whole numbers, or None when it is not."""
    try:
        first, second = prediction
        return int(first), int(second)
    except (TypeError, ValueError):
        return None


def _empty(lab: Lab) -> None:
    resources.purge(lab)


def _send(lab: Lab, n: int) -> list[str]:
    """Send ``n`` messages with function1; their bodies."""

    return [lab.invoke("function1", progress=False).body["Successful"][0]["Id"] for _ in range(n)]


def check_02_1(lab: Lab, prediction) -> bool | None:
    """function1 three times, then function2 twice in a row: how many bodies does each call return?"""

    if prediction is None:
        return _say(None, "predict (first function2 call, second function2 call) as two numbers")
    if _pair(prediction) is None:
        return _say(False, f"{prediction!r} is not two numbers: write them like (1, 2)")
    _empty(lab)
    _send(lab, 3)
    first = lab.invoke("function2", progress=False)
    second = lab.invoke("function2", progress=False)
    got = (len(first.body), len(second.body))
    _empty(lab)  # the three are in flight: PurgeQueue removes those too
    print(f"measured: the first call returned {got[0]} bodies, the second {got[1]} "
          f"(after a {second.duration_ms / 1000:.1f} s long poll)")
    why = ("the first receive takes all three (up to 10 per call) without deleting them; for the visibility "
           "timeout they are invisible, so the second call finds the queue empty and waits out its long poll")
    return _say(_pair(prediction) == got, why)


class _ScratchQueue:
    """A queue of the check's own, on the lab's target, deleted afterwards: the learner's
    code is tried there, so nothing it leaves behind reaches the stack's queue."""

    def __init__(self, lab: Lab, visibility_timeout: int = 30, purpose: str = "exercise",
                 attributes: dict | None = None, fifo: bool = False):
        self.sqs = lab.client("sqs")
        attributes = {"VisibilityTimeout": str(visibility_timeout), **(attributes or {})}
        name = lab.scratch_queue_name(purpose)
        if fifo:  # a FIFO queue's name ends in .fifo
            name, attributes = f"{name}.fifo", {**attributes, "FifoQueue": "true"}
        self.url = self.sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]

    @property
    def arn(self) -> str:
        return self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def send(self, n: int) -> list[str]:
        bodies = [f"message-{i}-{time.time_ns()}" for i in range(n)]
        for body in bodies:
            self.sqs.send_message(QueueUrl=self.url, MessageBody=body)
        return bodies

    def count(self) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def receive_all(self) -> list[str]:
        """Every body a receive gets (deleting each), until a 1 s long poll comes back empty."""
        bodies = []
        while got := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10,
                                              WaitTimeSeconds=1).get("Messages", []):
            for m in got:
                bodies.append(m["Body"])
                self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=m["ReceiptHandle"])
        return bodies

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sqs.delete_queue(QueueUrl=self.url)


def check_02_2(lab: Lab, receive_and_delete) -> bool | None:
    """Write function3's job with boto3: receive up to 10 messages, delete each, return their bodies."""
    if receive_and_delete is None:
        return _say(None, "define receive_and_delete(sqs, queue_url) and run its cell")
    with _ScratchQueue(lab) as queue:
        sent = queue.send(2)
        bodies = receive_and_delete(queue.sqs, queue.url)
        left = queue.count()
    print(f"sent {len(sent)} messages to a queue of this check's own; your function returned "
          f"{len(bodies or [])} bodies; messages left in that queue: {left}")
    if not isinstance(bodies, list) or not all(isinstance(b, str) for b in bodies):
        return _say(False, "return a list of the bodies (each message's 'Body', a string)")
    if sorted(bodies) != sorted(sent):
        return _say(False, "it should return the two bodies just sent: receive_message with "
                           "MaxNumberOfMessages=10, then each message's 'Body'")
    if left:
        return _say(False, "the bodies are right, but the messages are still in the queue: a receive never "
                           "removes a message; delete_message with each message's ReceiptHandle does")
    return _say(True, "received both, deleted both: the queue is empty, as after function3")


def check_02_3(lab: Lab, make_visible_again) -> bool | None:
    """Right after a receive, make the message visible again, so the next receive gets it at once."""
    if make_visible_again is None:
        return _say(None, "define make_visible_again(sqs, queue_url, receipt_handle) and run its cell")
    with _ScratchQueue(lab, visibility_timeout=30) as queue:
        sent = queue.send(1)
        got = queue.sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1).get("Messages", [])
        make_visible_again(queue.sqs, queue.url, got[0]["ReceiptHandle"])
        again = queue.sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1).get("Messages", [])
    print(f"a queue of this check's own (visibility timeout 30 s): received the message, called your function, "
          f"received again at once: {len(again)} message(s)")
    if [m["Body"] for m in again] != sent:
        return _say(False, "the second receive should get the message at once: change_message_visibility with "
                           "VisibilityTimeout=0 ends the invisible window the first receive opened")
    return _say(True, "a visibility timeout of 0 ends the window: the message is visible again at once")


def check_03_1(lab: Lab, prediction) -> bool | None:
    """One message, a 3 s visibility timeout; A receives it at t=0 and never deletes it:
    how many messages does a receive at t=1 s get, and one at t=4 s?"""
    if prediction is None:
        return _say(None, "predict (at 1 s, at 4 s) as two numbers")
    if _pair(prediction) is None:
        return _say(False, f"{prediction!r} is not two numbers: write them like (1, 0)")
    with _ScratchQueue(lab, visibility_timeout=3) as queue:
        queue.send(1)
        queue.sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1)
        t0 = time.monotonic()
        time.sleep(1)
        at_1 = len(queue.sqs.receive_message(QueueUrl=queue.url).get("Messages", []))
        time.sleep(max(0.0, t0 + 4 - time.monotonic()))
        at_4 = len(queue.sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1).get("Messages", []))
    print(f"measured on a queue of this check's own: {at_1} message(s) at 1 s, {at_4} at 4 s")
    why = ("for 3 s after A's receive the message is invisible: the receive at 1 s gets nothing; A did not "
           "delete it, so at 3 s it is visible again and the receive at 4 s gets it (its receive count is 2)")
    return _say(_pair(prediction) == (at_1, at_4), why)


def check_03_2(lab: Lab, process_with_heartbeat) -> bool | None:
    """Keep a message hidden for 6 s of work on a queue with a 2 s visibility timeout, then delete it."""
    import threading

    if process_with_heartbeat is None:
        return _say(None, "define process_with_heartbeat(sqs, queue_url, message, seconds) and run its cell")
    with _ScratchQueue(lab, visibility_timeout=2) as queue:
        queue.send(1)
        message = queue.sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1)["Messages"][0]
        seen_by_b: list = []

        def other_consumer():
            end = time.monotonic() + 6.5
            while time.monotonic() < end:
                seen_by_b.extend(queue.sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1).get("Messages", []))

        b = threading.Thread(target=other_consumer)
        b.start()
        t0 = time.monotonic()
        try:
            process_with_heartbeat(queue.sqs, queue.url, message, 6)
            took = time.monotonic() - t0
        finally:
            b.join()  # before the queue goes
        left = queue.count()
    print(f"your function took {took:.1f} s; another consumer polling meanwhile received {len(seen_by_b)} "
          f"message(s); left in the queue: {left}")
    if took < 5.5:
        return _say(False, "it should work for the whole 6 s (time.sleep in steps shorter than the timeout)")
    if seen_by_b:
        return _say(False, "the other consumer got the message: extend the visibility timeout with "
                           "change_message_visibility before it runs out (every second or so here)")
    if left:
        return _say(False, "hidden all along, but not deleted at the end: delete_message when the work is done")
    return _say(True, "each change_message_visibility restarted the 2 s from that moment, so nobody else saw it")


def check_04_1(lab: Lab, prediction) -> bool | None:
    """A 5 s long poll on an empty queue; a message sent 2 s in: when does it return, with what?"""
    import threading

    if prediction is None:
        return _say(None, 'answer "a", "b" or "c"')
    with _ScratchQueue(lab) as queue:
        got: dict = {}

        def poll():
            t0 = time.monotonic()
            got["messages"] = queue.sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=5).get("Messages", [])
            got["after_s"] = time.monotonic() - t0

        listener = threading.Thread(target=poll)
        listener.start()
        time.sleep(2)
        queue.send(1)
        listener.join()
    measured = "a" if got["messages"] and got["after_s"] < 4 else ("b" if got["messages"] else "c")
    print(f"measured on a queue of this check's own: returned after {got['after_s']:.1f} s "
          f"with {len(got['messages'])} message(s): {measured}")
    why = ("a long poll returns as soon as a message is there (SQS Developer Guide, short and long polling: "
           "it sends a response after it collects at least one available message); it waits the full time "
           "only when nothing comes")
    return _say(str(prediction).strip().lower() == measured, why)


def check_04_2(lab: Lab, drain) -> bool | None:
    """Drain 25 messages in few requests: ten at a time, until the first empty long poll.

    Judged by the requests, not by their number alone: on AWS a receive may return fewer
    messages than asked for ("Amazon SQS short and long polling": with few messages in the
    queue, fewer than requested are likely), so a right drain can need more than 4."""
    from sqslab.experiments.calllog import CallLog

    if drain is None:
        return _say(None, "define drain(sqs, queue_url) and run its cell")
    with _ScratchQueue(lab) as queue:
        queue.send(25)
        calls = CallLog()
        counted = calls.client(lab, "your drain")
        deleted = drain(counted, queue.url)
        left = queue.count()
    events = calls.frame()
    receives = events[events["event"] == "receive_call"] if not events.empty else events
    print(f"25 messages in a queue of this check's own: you deleted {deleted}, {left} left, "
          f"with {len(receives)} receive_message requests")
    if left or deleted != 25:
        return _say(False, "every message must be received and deleted (delete_message with each ReceiptHandle), "
                           "and drain returns how many")
    if (receives["max_messages"] < 10).any():
        return _say(False, f"{len(receives)} requests: ask for up to 10 messages per receive (MaxNumberOfMessages=10), "
                           "the most one receive returns")
    empty = receives["messages"] == 0
    if not empty.iloc[-1] or empty.iloc[:-1].any():
        return _say(False, "stop at the first empty answer, and only there: a receive that returns fewer than 10 "
                           "does not mean the queue is empty")
    last_wait = receives["wait_s"].iloc[-1]
    if last_wait is None or last_wait != last_wait or last_wait < 1:
        return _say(False, "the empty answer that ends the drain should come from a long poll (WaitTimeSeconds=1 "
                           "or more): an empty short poll can miss messages that are there")
    return _say(True, f"{len(receives)} requests for 25 messages: ten at a time, then one empty long poll to be sure")


def _consumer_timeout(lab: Lab) -> int:
    return int(lab.client("lambda").get_function_configuration(FunctionName=lab.consumer_name)["Timeout"])


def check_05_1(lab: Lab, prediction) -> bool | None:
    """Queues with visibility timeouts T - 1, T and 6T for a function whose timeout is T:
    which mappings does Lambda accept?"""
    if prediction is None:
        return _say(None, "predict three booleans: (accepted at T - 1, at T, at 6 * T)")
    try:
        predicted = tuple(prediction)
    except TypeError:
        predicted = ()
    if len(predicted) != 3 or not all(isinstance(p, bool) for p in predicted):
        return _say(False, f"{prediction!r} is not three booleans: write them like (True, False, True)")
    lam = lab.client("lambda")
    timeout = _consumer_timeout(lab)
    got = []
    for vt in (timeout - 1, timeout, 6 * timeout):
        with _ScratchQueue(lab, visibility_timeout=max(vt, 0), purpose="mapping-check") as queue:
            try:
                uuid = lam.create_event_source_mapping(EventSourceArn=queue.arn, FunctionName=lab.consumer_name)["UUID"]
            except lam.exceptions.InvalidParameterValueException:
                got.append(False)
            else:
                got.append(True)
                lam.delete_event_source_mapping(UUID=uuid)
    print(f"function timeout T = {timeout} s; queues with visibility timeouts {timeout - 1}, {timeout} and "
          f"{6 * timeout} s: accepted {tuple(got)}")
    why = ("Lambda refuses a mapping when the function's timeout is longer than the queue's visibility timeout; "
           "equal is allowed, and six times the function timeout is what AWS recommends")
    return _say(predicted == tuple(got), why)


def check_05_2(lab: Lab, map_queue) -> bool | None:
    """Map a queue to the consumer with batches of at most 5 messages, gathered for up to 1 s."""
    from sqslab.experiments import polled

    if map_queue is None:
        return _say(None, "define map_queue(lam, sqs, queue_url, function_name) and run its cell")
    lam = lab.client("lambda")
    timeout = _consumer_timeout(lab)
    with _ScratchQueue(lab, visibility_timeout=6 * timeout, purpose="map-queue") as queue:
        uuid = map_queue(lam, queue.sqs, queue.url, lab.consumer_name)
        if not isinstance(uuid, str):
            return _say(False, "return the mapping's UUID (create_event_source_mapping(...)['UUID'])")
        try:
            mapping = lam.get_event_source_mapping(UUID=uuid)
            if mapping["EventSourceArn"] != queue.arn:
                return _say(False, "the mapping should read the queue given as queue_url: its ARN is the "
                                   "QueueArn attribute (get_queue_attributes)")
            since = now_ms()
            ids = [queue.sqs.send_message(QueueUrl=queue.url, MessageBody=f"order {n + 1}")["MessageId"]
                   for n in range(12)]
            run = polled.wait_processed(lab, since, ids, timeout=30).only(ids)
        finally:
            try:
                lam.delete_event_source_mapping(UUID=uuid)
            except lam.exceptions.ResourceNotFoundException:
                pass
    sizes = run.batches["size"].tolist()
    print(f"your mapping: BatchSize {mapping['BatchSize']}, window {mapping.get('MaximumBatchingWindowInSeconds', 0)} s; "
          f"12 messages sent at once made {len(sizes)} invocations with batches of {sizes}")
    if mapping["BatchSize"] != 5 or max(sizes) > 5:
        return _say(False, "at most 5 messages per invocation: BatchSize=5")
    if mapping.get("MaximumBatchingWindowInSeconds", 0) != 1:
        return _say(False, "gather for up to 1 s: MaximumBatchingWindowInSeconds=1")
    return _say(True, "BatchSize caps each batch at 5, and the 1 s window lets each batch fill before Lambda invokes")


def check_06_1(lab: Lab, prediction) -> bool | None:
    """maxReceiveCount 2, ReportBatchItemFailures on, one batch of four messages with one poison:
    how many invocations in all, and how many messages end in the dead-letter queue?"""
    from sqslab.experiments import polled

    if prediction is None:
        return _say(None, "predict (invocations, messages in the dead-letter queue) as two numbers")
    if _pair(prediction) is None:
        return _say(False, f"{prediction!r} is not two numbers: write them like (4, 2)")
    lam = lab.client("lambda")
    env = lam.get_function_configuration(FunctionName=lab.consumer_name).get("Environment", {}).get("Variables", {})
    if env.get("report_batch_item_failures") != "true":
        return _say(None, "the consumer does not report failed items now: run the chapter's cell that sets "
                          "report_batch_item_failures back to true, then this one")
    # as short as Lambda allows, plus the 1 s window and a margin: each attempt ends before its message returns
    timeout = _consumer_timeout(lab) + 2
    with _ScratchQueue(lab, visibility_timeout=timeout, purpose="dlq") as dlq:
        policy = json.dumps({"deadLetterTargetArn": dlq.arn, "maxReceiveCount": 2})
        with _ScratchQueue(lab, visibility_timeout=timeout, purpose="poison", attributes={"RedrivePolicy": policy}) as queue:
            uuid = lam.create_event_source_mapping(EventSourceArn=queue.arn, FunctionName=lab.consumer_name,
                                                   BatchSize=10, MaximumBatchingWindowInSeconds=1,
                                                   FunctionResponseTypes=["ReportBatchItemFailures"])["UUID"]
            try:
                since = now_ms()
                bodies = ["order 1", "order 2", "poison: order 3", "order 4"]
                sent = queue.sqs.send_message_batch(QueueUrl=queue.url, Entries=[
                    {"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)])["Successful"]
                ids = [m["MessageId"] for m in sent]
                polled.watch_queue(queue.sqs, dlq.url, until=1, timeout=4 * timeout + 30, say=lambda *_: None)
                run = polled.wait_processed(lab, since, ids, timeout=30).only(ids)
                in_dlq = resources.queue_count(queue.sqs, dlq.url)
            finally:
                lam.delete_event_source_mapping(UUID=uuid)
    got = (run.invocation_count(), in_dlq)
    print(f"measured on queues of this check's own: {got[0]} invocations, {got[1]} message(s) in the dead-letter queue")
    why = ("the first invocation gets all four; with ReportBatchItemFailures only the poison message stays, so the "
           "second invocation gets it alone; after its second receive (maxReceiveCount 2) SQS moves it to the "
           "dead-letter queue on the next receive, without another invocation")
    return _say(_pair(prediction) == got, why)


def check_06_2(lab: Lab, redrive) -> bool | None:
    """Move every message of a dead-letter queue back to its source queue, attributes and all."""
    if redrive is None:
        return _say(None, "define redrive(sqs, dead_letter_url, source_url) and run its cell")
    with _ScratchQueue(lab, visibility_timeout=30, purpose="redrive-dlq") as dlq, \
            _ScratchQueue(lab, visibility_timeout=30, purpose="redrive-source") as source:
        bodies = [f"order {n + 1}" for n in range(13)]
        for body in bodies[:-1]:
            dlq.sqs.send_message(QueueUrl=dlq.url, MessageBody=body)
        dlq.sqs.send_message(QueueUrl=dlq.url, MessageBody=bodies[-1],
                             MessageAttributes={"customer": {"DataType": "String", "StringValue": "42"}})
        moved = redrive(dlq.sqs, dlq.url, source.url)
        left = dlq.count()
        arrived = []
        while got := source.sqs.receive_message(QueueUrl=source.url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                                MessageAttributeNames=["All"]).get("Messages", []):
            for m in got:
                arrived.append(m)
                source.sqs.delete_message(QueueUrl=source.url, ReceiptHandle=m["ReceiptHandle"])
    print(f"13 messages in a dead-letter queue of this check's own: your function returned {moved}; "
          f"{len(arrived)} arrived in the source queue, {left} left in the dead-letter queue")
    if sorted(m["Body"] for m in arrived) != sorted(bodies):
        return _say(False, "every message must reach the source queue, once: receive up to 10 at a time until a "
                           "receive comes back empty, and send_message each body to the source queue")
    if left:
        return _say(False, "the messages are still in the dead-letter queue too: delete_message each one once it "
                           "has been sent to the source queue")
    last = [m for m in arrived if m["Body"] == bodies[-1]][0]
    if last.get("MessageAttributes", {}).get("customer", {}).get("StringValue") != "42":
        return _say(False, "one message had a message attribute (customer = 42) and lost it: receive with "
                           "MessageAttributeNames=['All'] and send it on with MessageAttributes")
    if moved != 13:
        return _say(False, "every message moved, but return how many you moved (13 here)")
    return _say(True, "received, sent on with its attributes, then deleted from the dead-letter queue: a redrive "
                      "by hand, what StartMessageMoveTask does for you, each message back to the queue it came from")


def _fifo(lab: Lab, purpose: str, **attributes) -> _ScratchQueue:
    return _ScratchQueue(lab, visibility_timeout=30, purpose=purpose, attributes=attributes, fifo=True)


def check_07_1(lab: Lab, prediction) -> bool | None:
    """Four sends to a FIFO queue with content-based deduplication: how many messages are delivered?"""
    if prediction is None:
        return _say(None, "predict how many of the four messages a consumer receives, as a whole number")
    if isinstance(prediction, bool) or not isinstance(prediction, int):
        return _say(False, f"{prediction!r} is not a whole number: write it like 3")
    run = f"{time.time_ns()}"
    with _fifo(lab, "dedup", ContentBasedDeduplication="true") as queue:
        sends = [{"MessageBody": f"x {run}", "MessageGroupId": "A"},
                 {"MessageBody": f"x {run}", "MessageGroupId": "B"},
                 {"MessageBody": f"y {run}", "MessageGroupId": "A", "MessageDeduplicationId": f"order-7-{run}"},
                 {"MessageBody": f"z {run}", "MessageGroupId": "B", "MessageDeduplicationId": f"order-7-{run}"}]
        for send in sends:
            queue.sqs.send_message(QueueUrl=queue.url, **send)
        got = queue.receive_all()
    print(f"measured: all four sends were accepted; {len(got)} message(s) delivered: "
          f"{[body.split()[0] for body in got]}")
    why = ("deduplication is per queue, not per group: the two x bodies have the same SHA-256, so the second "
           "is a duplicate though it names another group; an explicit MessageDeduplicationId wins over the "
           "content, so z (same id as y) is a duplicate too, though its body differs")
    return _say(prediction == len(got), why)


def check_07_2(lab: Lab, drain_in_order) -> bool | None:
    """Receive every message of a FIFO queue and return each group's bodies in the order received."""
    if drain_in_order is None:
        return _say(None, "define drain_in_order(sqs, queue_url) and run its cell")
    with _fifo(lab, "order") as queue:
        expected: dict[str, list[str]] = {}
        for n in range(1, 5):
            for group in ("A", "B", "C"):
                body = f"{group}{n}"
                expected.setdefault(group, []).append(body)
                queue.sqs.send_message(QueueUrl=queue.url, MessageBody=body, MessageGroupId=group,
                                       MessageDeduplicationId=f"{body}-{time.time_ns()}")
        got = drain_in_order(queue.sqs, queue.url)
        left = queue.count()
    print(f"12 messages in 3 groups sent interleaved to a FIFO queue of this check's own; your function "
          f"returned {got!r}; messages left: {left}")
    if not isinstance(got, dict):
        return _say(False, "return a dict: each MessageGroupId -> the list of its bodies, in the order received")
    if {k: list(v) for k, v in got.items()} != expected:
        return _say(False, "each group's bodies should come back in the order sent (A1, A2, A3, A4): receive with "
                           "MessageSystemAttributeNames=['MessageGroupId'] and append each body to its group's list")
    if left:
        return _say(False, "the order is right, but messages are still in the queue: delete each one once it is "
                           "handled, or its group stays held back and the next receive waits")
    return _say(True, "each group in its order, every message deleted: what a FIFO consumer does")


def check_08_1(lab: Lab, prediction) -> bool | None:
    """A standard queue keeps messages 4 days, its dead-letter queue 5; a message moved after 2 days:
    when is it deleted, in days after it was first sent?"""
    if prediction is None:
        return _say(None, "predict the day, counted from the first send, as a number")
    if isinstance(prediction, bool) or not isinstance(prediction, (int, float)):
        return _say(False, f"{prediction!r} is not a number of days: write it like 3")
    # Not run: SQS keeps a message 60 s at least, and days of waiting are no exercise. The rule
    # (developer guide, sqs-dead-letter-queues): on a standard queue the moved message keeps its
    # enqueue time, so the dead-letter queue's retention counts from the first send.
    print("not run (retention is counted in days here): the rule decides it")
    why = ("a message moved to a standard queue's dead-letter queue keeps its original enqueue time: the dead-letter "
           "queue's 5 days count from the first send, so it is deleted on day 5, 3 days after the move (on a FIFO "
           "queue the clock starts anew at the move: day 7)")
    return _say(float(prediction) == 5, why)


def check_08_2(lab: Lab, send_later) -> bool | None:
    """Send a message that no receive gets before ``seconds`` have passed (a message timer)."""
    if send_later is None:
        return _say(None, "define send_later(sqs, queue_url, body, seconds) and run its cell")
    with _ScratchQueue(lab, purpose="timer") as queue:
        body = f"later {time.time_ns()}"
        start = time.monotonic()
        send_later(queue.sqs, queue.url, body, 3)
        early = queue.sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1).get("Messages", [])
        got = queue.sqs.receive_message(QueueUrl=queue.url, WaitTimeSeconds=10).get("Messages", [])
        after = time.monotonic() - start
    print(f"your function sent to a queue of this check's own; a 1 s receive right after got {len(early)} "
          f"message(s); a long poll then got {len(got)}, {after:.1f} s after the send")
    if early:
        return _say(False, "the message was visible at once: pass DelaySeconds=seconds to send_message (a message "
                           "timer), or it is delivered as soon as it is sent")
    if [m["Body"] for m in got] != [body]:
        return _say(False, "the message never arrived: send_message with MessageBody=body to queue_url")
    if not 2.5 <= after <= 4.5:
        return _say(False, f"it arrived {after:.1f} s after the send, not after the 3 s asked: DelaySeconds=seconds")
    return _say(True, "DelaySeconds on the send: a timer for this message only, up to 900 s (a FIFO queue refuses "
                      "it: there only the queue's delay applies)")


def check_09_1(lab: Lab, prediction) -> bool | None:
    """The same order (one order id) sent as two messages, a second apart, to the idempotent consumer's
    queue: how many charges does the orders table end with?"""
    if prediction is None:
        return _say(None, "predict the number of charges, as a whole number")
    if isinstance(prediction, bool) or not isinstance(prediction, int):
        return _say(False, f"{prediction!r} is not a whole number: write it like 2")
    sqs, logs = lab.client("sqs"), lab.client("logs")
    order_id = f"check-{time.time_ns()}"
    since = now_ms()
    for _ in range(2):
        sqs.send_message(QueueUrl=lab.output("IdempotentQueueUrl"),
                         MessageBody=json.dumps({"order_id": order_id, "amount": 70}))
        time.sleep(1)
    group = f"/aws/lambda/{lab.output('IdempotentFunctionName')}"
    deadline, records = time.monotonic() + 60, 0
    while records < 2 and time.monotonic() < deadline:
        events = logs.filter_log_events(logGroupName=group, startTime=since, filterPattern=f'"{order_id}"')["events"]
        records = sum('"record"' in e["message"] for e in events)
        time.sleep(0.5)
    item = lab.client("dynamodb").get_item(TableName=lab.output("OrdersTableName"),
                                           Key={"order_id": {"S": order_id}}).get("Item", {})
    charges = int(item.get("charges", {}).get("N", 0))
    print(f"measured: two messages, {records} record(s) processed by the idempotent consumer, {charges} charge(s)")
    why = ("the idempotency key is the order id, not the message: the second message carries the same order, so "
           "Powertools returns the first charge's stored result (until the key expires, an hour here)")
    return _say(prediction == charges, why)


def check_09_2(lab: Lab, record_once) -> bool | None:
    """Record an order id in a table only if it is not there yet: True for the call that recorded it."""
    if record_once is None:
        return _say(None, "define record_once(dynamodb, table_name, order_id) and run its cell")
    dynamodb, table = lab.client("dynamodb"), lab.output("OrdersTableName")
    first_id, other_id = f"once-{time.time_ns()}", f"once-{time.time_ns()}-b"
    got = [record_once(dynamodb, table, first_id), record_once(dynamodb, table, first_id),
           record_once(dynamodb, table, other_id)]
    stored = [bool(dynamodb.get_item(TableName=table, Key={"order_id": {"S": i}}).get("Item"))
              for i in (first_id, other_id)]
    print(f"your function answered {got} for (a new id, the same id again, another new id); stored: {stored}")
    if stored != [True, True]:
        return _say(False, "each new order id must end up in the table: put_item with Item={'order_id': {'S': ...}}")
    if got != [True, False, True]:
        return _say(False, "the second call with the same id must not record it again, and answer False: "
                           "put_item with ConditionExpression='attribute_not_exists(order_id)', and catch "
                           "dynamodb.exceptions.ConditionalCheckFailedException")
    return _say(True, "a conditional write: DynamoDB refuses the second, atomically, however many consumers try "
                      "at once; Powertools' idempotency does the same on its own table, and keeps the result")


def check_10_1(lab: Lab, prediction) -> bool | None:
    """Others reserve 850 of the account's 1,000: the largest reservation this function may get."""
    if prediction is None:
        return _say(None, "predict the largest ReservedConcurrentExecutions, as a whole number")
    if isinstance(prediction, bool) or not isinstance(prediction, int):
        return _say(False, f"{prediction!r} is not a whole number: write it like 150")
    import contextlib

    from sqslab.lab import roles

    lam = lab.client("lambda")
    role = lam.get_function_configuration(FunctionName=lab.consumer_name)["Role"]
    results = {}
    with contextlib.ExitStack() as stack:  # two short-lived functions of the check's own reserve 425 each
        made = [stack.enter_context(roles.function_running_as(lab, role, runtime="python3.12")) for _ in range(2)]
        try:
            for name in made:
                lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=425)
            for wanted in (50, 51):
                try:
                    lam.put_function_concurrency(FunctionName=lab.consumer_name, ReservedConcurrentExecutions=wanted)
                    results[wanted] = "accepted"
                except lam.exceptions.InvalidParameterValueException:
                    results[wanted] = "refused"
        finally:
            lam.delete_function_concurrency(FunctionName=lab.consumer_name)
            for name in made:
                lam.delete_function_concurrency(FunctionName=name)
    print(f"measured, with two functions of this check's own reserving 425 each: 50 {results[50]}, 51 {results[51]}")
    why = "Lambda keeps at least 100 of the account's concurrency unreserved: 1,000 - 850 - 100 = 50"
    return _say(prediction == 50, why)


def check_10_2(lab: Lab, invoke_patiently) -> bool | None:
    """Retry a throttled synchronous invoke with backoff."""
    if invoke_patiently is None:
        return _say(None, "define invoke_patiently(lam, name, payload, attempts) and run its cell")
    import threading

    lam = lab.client("lambda", retries={"total_max_attempts": 1})  # no retries of the SDK's own: the learner's count
    name = lab.consumer_name
    lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=0)
    release = threading.Timer(1.0, lambda: lam.delete_function_concurrency(FunctionName=name))
    release.start()
    started = time.monotonic()
    try:
        got = invoke_patiently(lam, name, {"Records": []}, 6)
        error = None
    except Exception as exc:  # the learner's code may raise anything
        got, error = None, exc
    finally:
        release.join()
        lam.delete_function_concurrency(FunctionName=name)
    took = time.monotonic() - started
    print(f"the function was throttled for 1 s; your function returned {got!r} after {took:.1f} s"
          + (f", raising {type(error).__name__}" if error else ""))
    if error is not None:
        return _say(False, "catch the ClientError whose Error Code is TooManyRequestsException, sleep, and invoke "
                           "again; 6 attempts from 0.5 s doubling cover well over a second")
    if got != {"batchItemFailures": []} and got is not None and not isinstance(got, dict):
        return _say(False, "return the decoded payload: json.loads(response['Payload'].read())")
    if took < 0.9:
        return _say(False, "it returned before the throttling ended: did it invoke at all?")
    return _say(True, "retried with backoff until the reservation allowed it: what the SDKs do for a 429, a few "
                      "times, before they give up")


def check_11_1(lab: Lab, prediction) -> bool | None:
    """Four messages under an anything-but filter: how many reach the function?"""
    if prediction is None:
        return _say(None, "predict how many of the four reach the function, as a whole number")
    if isinstance(prediction, bool) or not isinstance(prediction, int):
        return _say(False, f"{prediction!r} is not a whole number: write it like 3")
    sqs, lam, logs = lab.client("sqs"), lab.client("lambda"), lab.client("logs")
    run = f"r{time.time_ns()}"
    pattern = {"body": {"status": [{"anything-but": ["test"]}]}}
    bodies = [json.dumps({"status": "live", "run": run}), json.dumps({"status": "test", "run": run}),
              json.dumps({"other": 1, "run": run}), f"status: live {run}"]
    lam.update_event_source_mapping(UUID=lab.mapping_id, FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    try:
        since = now_ms()
        sqs.send_message_batch(QueueUrl=lab.queue_url, Entries=[{"Id": str(i), "MessageBody": b}
                                                                 for i, b in enumerate(bodies)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and resources.queue_count(sqs, lab.queue_url):
            time.sleep(0.3)
        time.sleep(1)
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{lab.consumer_name}", startTime=since,
                                        filterPattern=f'"{run}"')["events"]
        got = sum('"record"' in e["message"] for e in events)
    finally:
        lam.update_event_source_mapping(UUID=lab.mapping_id, FilterCriteria={})
    print(f"measured: {got} of the four reached the function; the queue is empty")
    why = ("anything-but matches a status present and not 'test': only the live one; a message without the field "
           "does not match, and a plain-text body never matches an object pattern; the three are deleted unseen")
    return _say(prediction == got, why)


def check_11_2(lab: Lab, policy_for) -> bool | None:
    """A queue policy that lets one topic, and no other, send to the queue."""
    if policy_for is None:
        return _say(None, "define policy_for(queue_arn, topic_arn) and run its cell")
    sns = lab.client("sns")
    topic = lab.output("TopicArn")
    with _ScratchQueue(lab, purpose="policy") as queue:
        other = sns.create_topic(Name=lab.scratch_queue_name("other-topic"))["TopicArn"]
        subscriptions = []
        try:
            policy = policy_for(queue.arn, topic)
            queue.sqs.set_queue_attributes(QueueUrl=queue.url, Attributes={
                "Policy": json.dumps(policy) if isinstance(policy, dict) else str(policy)})
            for arn in (topic, other):
                subscriptions.append(sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue.arn,
                                                   Attributes={"RawMessageDelivery": "true"})["SubscriptionArn"])
                sns.publish(TopicArn=arn, Message=f"from {arn.rsplit(':', 1)[-1]}")
            got = queue.receive_all()
        finally:
            for arn in subscriptions:
                sns.unsubscribe(SubscriptionArn=arn)
            sns.delete_topic(TopicArn=other)
    mine = f"from {topic.rsplit(':', 1)[-1]}"
    print(f"a queue of this check's own, with your policy, subscribed to the stack's topic and another; it got {got}")
    if mine not in got:
        return _say(False, "the stack's topic could not send: allow sqs:SendMessage on the queue to the principal "
                           "{'Service': 'sns.amazonaws.com'}")
    if len(got) > 1:
        return _say(False, "another topic got in too: add a Condition {'ArnEquals': {'aws:SourceArn': topic_arn}}")
    return _say(True, "the service principal, the one action, the queue as the resource, and aws:SourceArn naming the "
                      "topic: what the SNS console writes when it subscribes a queue")
