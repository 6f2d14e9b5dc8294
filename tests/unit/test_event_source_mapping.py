"""The pure parts of the SQS event source mappings (sqslab.offline.awslambda: mapping_checks,
batching): partial batch responses (services-sqs-errorhandling), when a batch is sent
(services-sqs-configure: BatchSize and the batching window), the concurrency
cap (services-sqs-scaling), Lambda's words for a refused mapping (services-sqs-parameters),
and a FIFO record's shape (with-sqs). tests/integration/test_event_source_mapping.py runs
the pollers against the offline endpoint."""

from __future__ import annotations

import hashlib
import json
import types

import pytest

from sqslab.offline.awslambda import batching, mapping_checks


def test_partial_response_rules():
    """services-sqs-errorhandling, "Implementing partial batch responses": success and failure conditions."""
    ids = ["a", "b", "c"]
    keep = batching.records_to_keep
    assert keep(b'{"batchItemFailures": [{"itemIdentifier": "b"}]}', ids) == {"b"}
    for success in (b'{"batchItemFailures": []}', b'{"batchItemFailures": null}', b"{}", b"null", b"", None,
                    b'{"statusCode": 200}'):
        assert keep(success, ids) == set(), success
    for failure in (b"not json", b'{"batchItemFailures": [{"itemIdentifier": ""}]}',
                    b'{"batchItemFailures": [{"itemIdentifier": null}]}', b'{"batchItemFailures": [{"id": "a"}]}',
                    b'{"batchItemFailures": [{"itemIdentifier": "zzz"}]}', b'{"batchItemFailures": "a"}',
                    b'"a string"', b"[1]"):
        assert keep(failure, ids) == set(ids), failure


def test_batching_decisions():
    """services-sqs-configure: invoke when full, when the window ends, or at the 6 MB payload limit."""
    plan = batching.BatchPlan(batch_size=100, window_s=2)
    assert plan.want(0) == 10 and plan.want(95) == 5 and plan.want(100) == 0
    assert not plan.ready(0, None, 10.0)
    assert not plan.ready(5, 10.0, 11.9) and plan.ready(5, 10.0, 12.0)
    assert plan.ready(100, 10.0, 10.0)
    assert batching.BatchPlan(batch_size=10, window_s=0).ready(1, 10.0, 10.0)
    big = 1024 * 1024
    assert batching.BatchPlan.fits([big] * 5, big - 100)
    assert not batching.BatchPlan.fits([big] * 6, 10)
    texts = ['{"a": 1}', '{"b": 2}']
    assert batching.event_size([len(t) for t in texts]) == len(batching.event_text(texts))
    assert json.loads(batching.event_text(texts)) == {"Records": [{"a": 1}, {"b": 2}]}
    assert batching.event_size([]) == len(batching.event_text([]))


def test_concurrency_limit():
    """services-sqs-scaling: five batches unless MaximumConcurrency says otherwise; the function's reserved
    concurrency does not enter ("Event source mappings don't account for reserved concurrency", AWS Knowledge
    Center, lambda-sqs-scaling)."""
    assert batching.concurrency_limit(None) == 5
    assert batching.concurrency_limit(2) == 2
    assert batching.concurrency_limit(1000, 1000) == batching.LOCAL_CEILING


def test_checks_in_lambdas_words():
    """services-sqs-parameters / CreateEventSourceMapping limits."""
    check = mapping_checks.check_sqs_mapping
    check({"BatchSize": 10}, fifo=False)
    check({"BatchSize": 10000, "MaximumBatchingWindowInSeconds": 300}, fifo=False)
    check({"BatchSize": 10}, fifo=True, visibility_timeout=30, function_timeout=30)
    cases = [
        ({"BatchSize": 0}, False, "greater than or equal to 1"),
        ({"MaximumBatchingWindowInSeconds": 301}, False, "less than or equal to 300"),
        ({"ScalingConfig": {"MaximumConcurrency": 1}}, False, "greater than or equal to 2"),
        ({"ScalingConfig": {"MaximumConcurrency": 1001}}, False, "less than or equal to 1000"),
        ({"FunctionResponseTypes": ["Other"]}, False, "enum value set: [ReportBatchItemFailures]"),
        ({"BatchSize": 20}, False, "greater than 0 if maximum batch size is greater than 10"),
        ({"MaximumBatchingWindowInSeconds": 1}, True, "not supported for FIFO"),
    ]
    for config, fifo, words in cases:
        with pytest.raises(mapping_checks.MappingError, match=None) as err:
            check(config, fifo=fifo)
        assert words in err.value.message, (config, err.value.message)
    with pytest.raises(mapping_checks.MappingError) as err:
        check({}, fifo=False, visibility_timeout=30, function_timeout=31)
    assert err.value.message == "Queue visibility timeout: 30 seconds is less than Function timeout: 31 seconds"
    assert mapping_checks.normalise({"BatchSize": "5", "Enabled": "false", "MaximumBatchingWindowInSeconds": "0"}) == {
        "BatchSize": 5, "Enabled": False, "MaximumBatchingWindowInSeconds": 0}


def test_record_shape_on_a_fifo_message():
    """with-sqs: the FIFO record's attributes, and message attributes in Lambda's shape."""
    message = types.SimpleNamespace(
        id="m-1", receipt_handle="rh", body="hi", approximate_receive_count=2, sent_timestamp=1000,
        approximate_first_receive_timestamp=1001, group_id="g", sequence_number="1" * 20, deduplication_id="d",
        sender_id="AIDA", system_attributes={}, body_md5=hashlib.md5(b"hi").hexdigest(),
        message_attributes={"n": {"DataType": "Number", "StringValue": "3"}},
    )
    rec = batching.record(message, "arn:aws:sqs:eu-west-1:123456789012:q.fifo", "eu-west-1")
    assert list(rec["attributes"]) == ["ApproximateReceiveCount", "SentTimestamp", "SequenceNumber", "MessageGroupId",
                                       "SenderId", "MessageDeduplicationId", "ApproximateFirstReceiveTimestamp"]
    assert rec["attributes"]["ApproximateReceiveCount"] == "2"
    assert rec["messageAttributes"] == {"n": {"stringValue": "3", "stringListValues": [], "binaryListValues": [],
                                              "dataType": "Number"}}
    assert rec["md5OfBody"] == "49f68a5c8493ec2c0bf489821c21fc3b"
    assert (rec["eventSource"], rec["awsRegion"]) == ("aws:sqs", "eu-west-1")


def test_scaling_starts_at_five_grows_300_a_minute_while_busy_and_falls_back_when_idle():
    """services-sqs-scaling: five concurrent batches when messages are available, up to 300 more a
    minute while messages are still available, at most 1,000; back to five when traffic is low."""
    s = batching.Scaling()
    assert s.level == 5
    assert s.observe(0.0, saturated=True, waiting=True) == 5  # the first sight starts the clock
    assert s.observe(1.0, saturated=True, waiting=True) == 10  # 300 a minute: 5 a second
    assert s.observe(2.0, saturated=False, waiting=True) == 10  # a free slot: no growth, no loss
    assert s.observe(60.0, saturated=True, waiting=True) == 10
    assert s.observe(260.0, saturated=True, waiting=True) == 1000  # the mapping's maximum
    s.observe(261.0, saturated=False, waiting=False)
    assert s.observe(261.0 + batching.SCALE_DOWN_AFTER_S, saturated=False, waiting=False) == 5
    assert batching.concurrency_limit(2, 500) == 2 and batching.concurrency_limit(None, 7.9) == 7
