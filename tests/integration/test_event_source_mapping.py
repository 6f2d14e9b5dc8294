"""SQS event source mappings offline: a poller per mapping, as the Lambda developer
guide describes it. Each test names the AWS page its behaviour comes from:

- with-sqs: "Using Lambda with Amazon SQS" (polling, the event's shape)
- services-sqs-configure: "Creating and configuring an Amazon SQS event source mapping"
  (batching window, visibility timeout against function timeout)
- services-sqs-errorhandling: "Handling errors for an SQS event source in Lambda"
  (retries, partial batch responses)
- services-sqs-scaling: "Configuring scaling behavior for SQS event source mappings"
- services-sqs-parameters: "Lambda parameters for Amazon SQS event source mappings"
- SQS developer guide, sqs-dead-letter-queues: "Using dead-letter queues in Amazon SQS"

Through plain boto3 against the offline endpoint, plus units of the pure parts.
Visibility timeouts are 1-3 s so that the file stays short.
"""


from __future__ import annotations

import hashlib
import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError
from helpers import log_messages, make_function, run_sqslab, server_status

HANDLER = """
import json, os, time

def handler(event, context):
    t0 = time.time()
    records = event["Records"]
    bodies = [r["body"] for r in records]
    for body in bodies:
        if body.startswith("sleep:"):
            time.sleep(float(body.split(":")[1]))
    print(json.dumps({"batch": {"t0": t0, "t1": time.time(), "records": records,
                                "stream": os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]}}))
    if any(b.startswith("fail") for b in bodies):
        raise RuntimeError("failing on purpose")
    return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records if r["body"].startswith("bad")]}
"""


def batches(logs, name) -> list[dict]:
    """Every batch the handler saw, in start order."""
    out = []
    for line in log_messages(logs, name):
        if line.startswith('{"batch"'):
            out.append(json.loads(line)["batch"])
    return sorted(out, key=lambda b: b["t0"])


def wait_until(predicate, timeout: float, step: float = 0.05):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(step)


def bodies(batch) -> list[str]:
    return [r["body"] for r in batch["records"]]


class Mapped:
    """A queue, a function running HANDLER and a mapping between them."""

    def __init__(self, clients, lam, role_arn, *, visibility=1, timeout=1, fifo=False, dlq_max=None,
                 reserved=None, **mapping):
        self.sqs, self.lam, self.logs = clients.sqs, lam, clients.logs
        tag = uuid.uuid4().hex[:8]
        attrs = {"VisibilityTimeout": str(visibility)}
        if fifo:
            attrs.update({"FifoQueue": "true", "ContentBasedDeduplication": "true"})
        self.dlq_url = None
        if dlq_max is not None:
            self.dlq_url = self.sqs.create_queue(QueueName=f"esm-dlq-{tag}" + (".fifo" if fifo else ""),
                                                 Attributes={"FifoQueue": "true"} if fifo else {})["QueueUrl"]
            attrs["RedrivePolicy"] = json.dumps({"deadLetterTargetArn": self.arn_of(self.dlq_url),
                                                 "maxReceiveCount": str(dlq_max)})
        self.url = self.sqs.create_queue(QueueName=f"esm-{tag}" + (".fifo" if fifo else ""),
                                         Attributes=attrs)["QueueUrl"]
        self.arn = self.arn_of(self.url)
        self.name = make_function(lam, role_arn, HANDLER, Timeout=timeout)
        if reserved is not None:
            lam.put_function_concurrency(FunctionName=self.name, ReservedConcurrentExecutions=reserved)
        self.mapping = lam.create_event_source_mapping(EventSourceArn=self.arn, FunctionName=self.name, **mapping)
        self.uuid = self.mapping["UUID"]

    def arn_of(self, url):
        return self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def send(self, body, **kwargs) -> float:
        """Send one message; returns how long SendMessage took (s)."""
        t0 = time.perf_counter()
        self.sqs.send_message(QueueUrl=self.url, MessageBody=body, **kwargs)
        return time.perf_counter() - t0

    def batches(self):
        return batches(self.logs, self.name)

    def wait_batches(self, n, timeout):
        return wait_until(lambda: (lambda b: b if len(b) >= n else None)(self.batches()), timeout) or self.batches()

    def count(self, url=None) -> int:
        attrs = self.sqs.get_queue_attributes(QueueUrl=url or self.url, AttributeNames=["All"])["Attributes"]
        return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])

    def close(self):
        try:
            self.lam.delete_event_source_mapping(UUID=self.uuid)
        except ClientError:
            pass


@pytest.fixture
def mapped(clients, lam, role_arn):
    made = []

    def make(**kwargs) -> Mapped:
        m = Mapped(clients, lam, role_arn, **kwargs)
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


def status(offline) -> dict:
    return server_status(offline.endpoint_url)["event_sources"]


def test_send_never_waits_for_the_handler_and_the_record_is_the_messages_own(mapped):
    """with-sqs: Lambda polls the queue; the event carries the message's own values."""
    m = mapped(visibility=3, timeout=3)
    m.sqs.get_queue_attributes(QueueUrl=m.url, AttributeNames=["QueueArn"])  # a warm connection
    sent_at = time.time()
    took = m.send("sleep:2", MessageAttributes={
        "colour": {"DataType": "String", "StringValue": "blue"},
        "blob": {"DataType": "Binary", "BinaryValue": b"\x00\x01"},
    })
    assert took < 0.05, f"SendMessage took {took * 1000:.0f} ms with a handler sleeping 2 s"
    [batch] = m.wait_batches(1, 6)
    [rec] = batch["records"]
    assert rec["body"] == "sleep:2"
    assert rec["md5OfBody"] == hashlib.md5(b"sleep:2").hexdigest()
    attrs = rec["attributes"]
    assert attrs["ApproximateReceiveCount"] == "1"
    assert abs(int(attrs["SentTimestamp"]) / 1000 - sent_at) < 1.0
    assert int(attrs["ApproximateFirstReceiveTimestamp"]) >= int(attrs["SentTimestamp"])
    assert set(attrs) == {"ApproximateReceiveCount", "SentTimestamp", "SenderId", "ApproximateFirstReceiveTimestamp"}
    assert rec["eventSource"] == "aws:sqs" and rec["eventSourceARN"] == m.arn and rec["awsRegion"] == m.arn.split(":")[3]
    assert rec["messageAttributes"]["colour"] == {"stringValue": "blue", "stringListValues": [], "binaryListValues": [],
                                                  "dataType": "String"}
    assert rec["messageAttributes"]["blob"]["binaryValue"] == "AAE="
    # success deleted it
    assert wait_until(lambda: m.count() == 0, 2)


def test_a_failed_batch_returns_after_the_visibility_timeout_then_goes_to_the_dead_letter_queue(mapped, offline):
    """services-sqs-errorhandling: an error deletes nothing, the message returns after the
    visibility timeout with a higher ApproximateReceiveCount; sqs-dead-letter-queues: after
    maxReceiveCount receives it moves to the dead-letter queue and is not delivered again."""
    before = status(offline)["counts"]
    m = mapped(visibility=1, timeout=1, dlq_max=2)
    m.send("fail: poison")
    seen = m.wait_batches(2, 4)
    assert [b["records"][0]["attributes"]["ApproximateReceiveCount"] for b in seen] == ["1", "2"]
    first, second = seen
    visible_again = int(first["records"][0]["attributes"]["ApproximateFirstReceiveTimestamp"]) / 1000 + 1
    assert second["t0"] - visible_again < 1.0, f"redelivered {second['t0'] - visible_again:.2f} s late"
    assert wait_until(lambda: m.count(m.dlq_url) == 1, 3), "not moved to the dead-letter queue"
    time.sleep(1.2)  # one more visibility timeout: nothing comes back
    assert len(m.batches()) == 2 and m.count() == 0
    [moved] = m.sqs.receive_message(QueueUrl=m.dlq_url, MessageAttributeNames=["All"])["Messages"]
    assert moved["Body"] == "fail: poison"
    after = status(offline)["counts"]
    assert after["retries"] - before["retries"] >= 1
    assert after["moved_to_dlq"] - before["moved_to_dlq"] >= 1
    assert after["failed_batches"] - before["failed_batches"] >= 2
    shown = run_sqslab("offline", "status").stdout
    assert "retries" in shown and "moved to a dead-letter queue" in shown, shown


def test_partial_batch_response_keeps_only_the_listed_record(mapped):
    """services-sqs-errorhandling, "Implementing partial batch responses". (The visibility
    timeout covers the batching window plus the function's run, as services-sqs-configure advises.)"""
    m = mapped(visibility=2, timeout=1, MaximumBatchingWindowInSeconds=1, FunctionResponseTypes=["ReportBatchItemFailures"])
    m.sqs.send_message_batch(QueueUrl=m.url, Entries=[{"Id": b, "MessageBody": b} for b in ("good1", "bad1", "good2")])
    seen = m.wait_batches(2, 6)
    assert sorted(bodies(seen[0])) == ["bad1", "good1", "good2"]
    assert bodies(seen[1]) == ["bad1"]
    assert seen[1]["records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    m.close()


def test_without_report_batch_item_failures_a_returned_list_is_ignored(mapped):
    """services-sqs-errorhandling: Lambda processes the response only when ReportBatchItemFailures is on."""
    m = mapped(visibility=1, timeout=1)
    m.send("bad-but-unread")
    assert m.wait_batches(1, 3)
    assert wait_until(lambda: m.count() == 0, 2)


def test_batching_window_and_batch_size(mapped):
    """services-sqs-configure: a batch is invoked when full or when the window ends;
    UpdateEventSourceMapping's BatchSize is followed."""
    m = mapped(visibility=3, BatchSize=3, MaximumBatchingWindowInSeconds=2)
    t0 = time.time()
    m.sqs.send_message_batch(QueueUrl=m.url, Entries=[{"Id": f"m{i}", "MessageBody": f"m{i}"} for i in range(3)])
    [full] = m.wait_batches(1, 3)
    assert sorted(bodies(full)) == ["m0", "m1", "m2"]
    assert full["t0"] - t0 < 1.0, "a full batch waited for the window"
    t1 = time.time()
    m.send("alone")
    seen = m.wait_batches(2, 4)
    assert bodies(seen[1]) == ["alone"]
    assert 1.9 <= seen[1]["t0"] - t1 < 3.0, f"window ended after {seen[1]['t0'] - t1:.2f} s"
    m.lam.update_event_source_mapping(UUID=m.uuid, BatchSize=1)
    m.sqs.send_message_batch(QueueUrl=m.url, Entries=[{"Id": f"n{i}", "MessageBody": f"n{i}"} for i in range(2)])
    seen = m.wait_batches(4, 3)
    assert [len(b["records"]) for b in seen[2:]] == [1, 1]


def test_fifo_groups_in_order_one_batch_per_group_at_a_time(mapped):
    """with-sqs / services-sqs-scaling: FIFO messages of a group arrive in order, one batch per group in flight."""
    m = mapped(fifo=True, BatchSize=2)
    for i in range(4):
        for group in ("a", "b"):
            m.sqs.send_message(QueueUrl=m.url, MessageBody=f"{group}{i}", MessageGroupId=group)
    seen = wait_until(lambda: (lambda b: b if sum(len(x["records"]) for x in b) >= 8 else None)(m.batches()), 5)
    assert seen, m.batches()
    for group in ("a", "b"):
        order = [r["body"] for b in seen for r in b["records"] if r["attributes"]["MessageGroupId"] == group]
        assert order == [f"{group}{i}" for i in range(4)]
        spans = sorted((b["t0"], b["t1"]) for b in seen if any(r["attributes"]["MessageGroupId"] == group
                                                              for r in b["records"]))
        assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False)), "two batches of one group overlapped"
    attrs = seen[0]["records"][0]["attributes"]
    assert {"MessageGroupId", "MessageDeduplicationId"} <= set(attrs)


def test_concurrent_batches_up_to_maximum_concurrency_in_separate_environments(mapped):
    """services-sqs-scaling: ScalingConfig.MaximumConcurrency caps the batches in flight."""
    m = mapped(visibility=3, timeout=3, BatchSize=1, ScalingConfig={"MaximumConcurrency": 2})
    m.sqs.send_message_batch(QueueUrl=m.url, Entries=[{"Id": f"s{i}", "MessageBody": "sleep:0.6"} for i in range(4)])
    seen = m.wait_batches(4, 6)
    assert len(seen) == 4
    events = sorted([(b["t0"], 1) for b in seen] + [(b["t1"], -1) for b in seen])
    peak = level = 0
    for _, step in events:
        level += step
        peak = max(peak, level)
    assert peak == 2
    assert len({b["stream"] for b in seen}) >= 2  # one execution environment, one log stream, per concurrent batch


def test_reserved_concurrency_throttles_the_mapping_and_maximum_concurrency_prevents_it(mapped):
    """AWS Knowledge Center, lambda-sqs-scaling: "Event source mappings don't account for reserved
    concurrency and can process more messages off your queue than can be sent to your function"; the
    throttled messages come back after the visibility timeout with a higher receive count, so with
    maxReceiveCount 1 they reach the dead-letter queue unprocessed. services-sqs-scaling: MaximumConcurrency
    no higher than the reserved concurrency prevents it."""
    def run(**kwargs):
        m = mapped(visibility=1, timeout=1, BatchSize=1, reserved=2, dlq_max=1, **kwargs)
        m.sqs.send_message_batch(QueueUrl=m.url,
                                 Entries=[{"Id": f"s{i}", "MessageBody": "sleep:0.5"} for i in range(10)])
        assert wait_until(lambda: m.count() == 0, 20), "every message processed or moved"
        processed = {r["messageId"] for b in m.batches() for r in b["records"]}
        return m, processed, m.count(m.dlq_url)

    trap, processed, dead = run()
    assert dead >= 1 and len(processed) + dead == 10, (len(processed), dead)
    moved = trap.sqs.receive_message(QueueUrl=trap.dlq_url, MaxNumberOfMessages=10)["Messages"]
    assert not {msg["MessageId"] for msg in moved} & processed, "the dead letters never ran"
    fixed, processed, dead = run(ScalingConfig={"MaximumConcurrency": 2})
    assert dead == 0 and len(processed) == 10


def test_the_mapping_starts_at_five_batches_and_grows_while_messages_wait(mapped):
    """services-sqs-scaling: "Lambda starts processing five batches at a time with five concurrent
    invocations"; "if messages are still available, Lambda increases the number of processes that are
    reading batches by up to 300 more instances per minute". Read from the function's own log lines:
    each batch's start and end, and its execution environment's log stream."""
    m = mapped(visibility=30, timeout=5, BatchSize=1)
    for start in range(0, 50, 10):  # fifty waiting messages, two seconds each
        m.sqs.send_message_batch(QueueUrl=m.url, Entries=[{"Id": f"s{start + i}", "MessageBody": "sleep:2"}
                                                          for i in range(10)])
    seen = m.wait_batches(50, 40)
    assert len(seen) == 50
    first = min(b["t0"] for b in seen)
    starts = sorted(b["t0"] - first for b in seen)
    assert sum(t < 0.15 for t in starts) >= 5, starts  # five at once to begin with

    def running_at(t):
        return sum(b["t0"] <= t < b["t1"] for b in seen)

    # then at most 300 a minute (5 a second) more at once; a handler's start also waits for its cold
    # start, so a batch begun later can log its start first: a little slack
    assert all(running_at(b["t0"]) <= 5 + 5 * (b["t0"] - first) + 2 for b in seen), starts

    peak = max(running_at(b["t0"]) for b in seen)
    assert peak > 5, starts  # more batches at once while messages still waited
    assert len({b["stream"] for b in seen}) >= peak


@pytest.mark.slow
def test_the_mapping_falls_back_to_five_batches_once_traffic_stops(mapped):
    """services-sqs-scaling: "When traffic is low, Lambda scales back the processing". AWS gives no
    time for it; the emulator falls back to five once the queue has been empty for SCALE_DOWN_AFTER_S
    (README). A mapping that grew in a first burst starts the next one, after a quiet spell, at five."""
    from sqslab.offline.awslambda.batching import SCALE_DOWN_AFTER_S

    m = mapped(visibility=30, timeout=5, BatchSize=1)

    def burst(tag, n):
        for start in range(0, n, 10):
            m.sqs.send_message_batch(QueueUrl=m.url, Entries=[{"Id": f"{tag}{start + i}", "MessageBody": "sleep:1"}
                                                              for i in range(min(10, n - start))])

    def within_growth(batches):
        """Five at once to begin with, then at most 5 more a second (a little slack: a handler logs its
        start after its cold start, so a batch begun later can log its start first)."""
        first = min(b["t0"] for b in batches)
        return all(sum(x["t0"] <= b["t0"] < x["t1"] for x in batches) <= 5 + 5 * (b["t0"] - first) + 2
                   for b in batches)

    burst("a", 30)
    grown = m.wait_batches(30, 30)
    assert len(grown) == 30
    starts = sorted(b["t0"] for b in grown)
    assert max(sum(b["t0"] <= t < b["t1"] for b in grown) for t in starts) > 5, "the first burst grew"
    assert within_growth(grown)
    time.sleep(SCALE_DOWN_AFTER_S + 2)  # the queue empty all along
    burst("b", 15)
    quiet_from = max(b["t1"] for b in grown)
    second = [b for b in m.wait_batches(45, 30) if b["t0"] > quiet_from]
    assert len(second) == 15
    assert within_growth(second), sorted(b["t0"] for b in second)


def test_filter_criteria_deliver_matching_messages_and_delete_the_rest_unseen(mapped):
    """Lambda Developer Guide, with-sqs-filtering and invocation-eventfiltering: a mapping's FilterCriteria
    decide which messages reach the function; Lambda deletes the others without invoking it. Invalid
    patterns are refused when the mapping is created or updated (InvalidParameterValueException)."""
    pattern = {"body": {"kind": ["order"], "total": [{"numeric": [">=", 10]}]}}
    m = mapped(visibility=5, timeout=3, BatchSize=10, MaximumBatchingWindowInSeconds=1,
               FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    sent = [{"kind": "order", "total": 12}, {"kind": "order", "total": 5}, {"kind": "refund", "total": 50},
            {"kind": "order", "total": 10}]
    m.sqs.send_message_batch(QueueUrl=m.url, Entries=[{"Id": str(i), "MessageBody": json.dumps(b)}
                                                       for i, b in enumerate(sent)] + [{"Id": "p", "MessageBody": "plain"}])
    assert wait_until(lambda: m.count() == 0, 10), "every message processed or deleted"
    time.sleep(0.5)
    got = sorted(json.loads(body)["total"] for b in m.batches() for body in bodies(b))
    assert got == [10, 12]
    assert m.lam.get_event_source_mapping(UUID=m.uuid)["FilterCriteria"]["Filters"][0]["Pattern"] == json.dumps(pattern)
    with pytest.raises(ClientError) as refused:
        m.lam.update_event_source_mapping(UUID=m.uuid, FilterCriteria={"Filters": [{"Pattern": '{"body": "order"}'}]})
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValueException"


def test_filtered_messages_take_no_place_in_a_batch(mapped):
    """Lambda Developer Guide, invocation-eventfiltering: "If you're using batching windows, Lambda
    applies your filter criteria to each new event to determine whether to add it to the current
    batch": two kept orders among six messages make one batch of two (BatchSize 2), not batches
    filled and then emptied by the filter."""
    pattern = {"body": {"kind": ["order"]}}
    m = mapped(visibility=5, timeout=3, BatchSize=2, MaximumBatchingWindowInSeconds=2,
               FilterCriteria={"Filters": [{"Pattern": json.dumps(pattern)}]})
    kinds = ["refund", "order", "refund", "refund", "order", "refund"]
    m.sqs.send_message_batch(QueueUrl=m.url, Entries=[{"Id": str(i), "MessageBody": json.dumps({"kind": k, "n": i})}
                                                       for i, k in enumerate(kinds)])
    assert wait_until(lambda: m.count() == 0, 10), "every message processed or deleted"
    time.sleep(0.5)
    assert [sorted(json.loads(body)["n"] for body in bodies(b)) for b in m.batches()] == [[1, 4]]


def test_disable_and_delete_stop_the_poller(mapped):
    """services-sqs-configure / UpdateEventSourceMapping, DeleteEventSourceMapping: the poller follows; State as Lambda reports it."""
    m = mapped()
    assert m.mapping["State"] == "Creating" and m.mapping["StateTransitionReason"] == "USER_INITIATED"
    assert wait_until(lambda: m.lam.get_event_source_mapping(UUID=m.uuid)["State"] == "Enabled", 1)
    resp = m.lam.update_event_source_mapping(UUID=m.uuid, Enabled=False)
    assert resp["State"] == "Disabling"
    assert wait_until(lambda: m.lam.get_event_source_mapping(UUID=m.uuid)["State"] == "Disabled", 1)
    m.send("while disabled")
    time.sleep(1.0)
    assert m.batches() == [] and m.count() == 1
    assert m.lam.update_event_source_mapping(UUID=m.uuid, Enabled=True)["State"] == "Enabling"
    assert m.wait_batches(1, 3)
    assert wait_until(lambda: m.count() == 0, 2)
    assert m.lam.delete_event_source_mapping(UUID=m.uuid)["State"] == "Deleting"
    m.send("after delete")
    time.sleep(1.0)
    assert len(m.batches()) == 1 and m.count() == 1
    # UpdateEventSourceMapping, DeleteEventSourceMapping, Errors: ResourceNotFoundException (404)
    wait_until(lambda: not any(e["UUID"] == m.uuid for e in m.lam.list_event_source_mappings()["EventSourceMappings"]), 2)
    for call in (lambda: m.lam.update_event_source_mapping(UUID=m.uuid, BatchSize=5),
                 lambda: m.lam.delete_event_source_mapping(UUID=m.uuid)):
        with pytest.raises(ClientError) as gone:
            call()
        assert gone.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert gone.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_create_time_checks(clients, lam, role_arn):
    """services-sqs-configure, services-sqs-parameters, CreateEventSourceMapping: what Lambda refuses, in its words."""
    sqs = clients.sqs
    tag = uuid.uuid4().hex[:8]
    url = sqs.create_queue(QueueName=f"chk-{tag}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    furl = sqs.create_queue(QueueName=f"chk-{tag}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    farn = sqs.get_queue_attributes(QueueUrl=furl, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    slow = make_function(lam, role_arn, HANDLER, Timeout=60)
    quick = make_function(lam, role_arn, HANDLER, Timeout=3)

    def refused(code, message, **kwargs):
        with pytest.raises(ClientError) as err:
            lam.create_event_source_mapping(**kwargs)
        assert err.value.response["Error"]["Code"] == code
        assert err.value.response["Error"]["Message"] == message

    refused("InvalidParameterValueException", "Queue visibility timeout: 30 seconds is less than Function timeout: 60 seconds",
            EventSourceArn=arn, FunctionName=slow)
    refused("InvalidParameterValueException",
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
            EventSourceArn=arn, FunctionName=quick, BatchSize=11)
    refused("InvalidParameterValueException", "Batching window is not supported for FIFO queues",
            EventSourceArn=farn, FunctionName=quick, MaximumBatchingWindowInSeconds=5)
    refused("InvalidParameterValueException", "Maximum batch size must be between 1 and 10 inclusive",
            EventSourceArn=farn, FunctionName=quick, BatchSize=11)
    refused("ValidationException", "1 validation error detected: Value '10001' at 'batchSize' failed to satisfy "
            "constraint: Member must have value less than or equal to 10000",
            EventSourceArn=arn, FunctionName=quick, BatchSize=10001, MaximumBatchingWindowInSeconds=1)
    with pytest.raises(ClientError) as err:
        lam.create_event_source_mapping(EventSourceArn=arn + "-missing", FunctionName=quick)
    assert "NonExistentQueue" in err.value.response["Error"]["Message"]
    made = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=quick, BatchSize=100,
                                           MaximumBatchingWindowInSeconds=1)
    try:
        assert made["BatchSize"] == 100 and made["MaximumBatchingWindowInSeconds"] == 1
        with pytest.raises(ClientError) as err:
            lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=quick)
        assert err.value.response["Error"]["Code"] == "ResourceConflictException"
        assert made["UUID"] in err.value.response["Error"]["Message"]
        with pytest.raises(ClientError) as err:
            lam.update_event_source_mapping(UUID=made["UUID"], MaximumBatchingWindowInSeconds=0)
        assert "greater than 10" in err.value.response["Error"]["Message"]
        # services-sqs-configure: "Lambda validates this requirement when you create or update an event
        # source mapping": an update that names no function is checked against the mapped one.
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "0"})
        try:
            with pytest.raises(ClientError) as err:
                lam.update_event_source_mapping(UUID=made["UUID"], BatchSize=50)
            assert "is less than Function timeout" in err.value.response["Error"]["Message"]
        finally:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"VisibilityTimeout": "30"})
    finally:
        lam.delete_event_source_mapping(UUID=made["UUID"])


TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {QueueName: QNAME, VisibilityTimeout: 2}
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: "sts:AssumeRole"}]
      Policies:  # what Lambda needs to poll the queue with the function's role
        - PolicyName: poll
          PolicyDocument:
            Statement:
              - Effect: Allow
                Action: [sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes]
                Resource: !GetAtt Queue.Arn
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: FNAME
      Runtime: python3.12
      Handler: index.handler
      Timeout: 2
      Role: !GetAtt Role.Arn
      Code:
        ZipFile: |
          import json
          def handler(event, context):
              print(json.dumps({"batch": {"t0": 0, "t1": 0, "records": event["Records"], "stream": ""}}))
  Mapping:
    Type: AWS::Lambda::EventSourceMapping
    Properties:
      EventSourceArn: !GetAtt Queue.Arn
      FunctionName: !Ref Fn
      BatchSize: "5"
      Enabled: "true"
"""


def test_a_mapping_made_by_cloudformation_is_polled_and_stops_with_its_stack(clients):
    """AWS::Lambda::EventSourceMapping behaves as CreateEventSourceMapping does."""
    tag = uuid.uuid4().hex[:8]
    qname, fname, stack = f"cfn-q-{tag}", f"cfn-f-{tag}", f"esm-{tag}"
    cfn, sqs = clients.cloudformation, clients.sqs
    cfn.create_stack(StackName=stack, TemplateBody=TEMPLATE.replace("QNAME", qname).replace("FNAME", fname),
                     Capabilities=["CAPABILITY_IAM"])
    url = sqs.get_queue_url(QueueName=qname)["QueueUrl"]
    [mapping] = clients.__getattr__("lambda").list_event_source_mappings(FunctionName=fname)["EventSourceMappings"]
    assert mapping["BatchSize"] == 5
    sqs.send_message(QueueUrl=url, MessageBody="from a stack")
    assert wait_until(lambda: batches(clients.logs, fname), 3)
    cfn.delete_stack(StackName=stack)
    assert wait_until(lambda: not clients.__getattr__("lambda").list_event_source_mappings(
        FunctionName=fname)["EventSourceMappings"], 3)
