"""The named moto patches: nested stack outputs in both YAML forms, environment
values as strings, and the guards that fail loudly on changed moto internals."""


from __future__ import annotations

import json
import uuid

import pytest

from sqslab.offline import patches
from sqslab.offline.patches import awslambda, cloudformation
from sqslab.offline.sqs import attributes as queue_attributes
from sqslab.offline.sqs import move_tasks


def test_env_string_conversion():
    assert [awslambda._to_env_string(v) for v in (10, True, False, 0.5, "x", None)] == ["10", "true", "false", "0.5", "x", ""]


def test_guard_fails_loudly_when_moto_internals_change(monkeypatch):
    from moto.cloudformation import models

    monkeypatch.delattr(models, "yaml_tag_constructor")
    with pytest.raises(patches.PatchError, match=r"cfn_getatt_short_form: moto .* has no .*yaml_tag_constructor.*Install moto"):
        cloudformation.apply_getatt_short_form()


def test_guard_checks_the_invoke_signature(monkeypatch):
    from moto.awslambda.models import LambdaFunction

    monkeypatch.setattr(LambdaFunction, "invoke", lambda self, payload: None)
    with pytest.raises(patches.PatchError, match="lambda_local_runtime: moto .* changed"):
        awslambda.apply_lambda_local_runtime()


def test_guard_fails_when_send_message_no_longer_runs_mappings_as_expected(monkeypatch):
    """sqs_no_push_on_send depends on moto's Queue.add_message walking lambda_event_source_mappings."""
    from moto.sqs.models import Queue

    from sqslab.offline.patches import sqs

    monkeypatch.setattr(Queue, "add_message", lambda self, message: None)
    with pytest.raises(patches.PatchError, match="sqs_no_push_on_send: moto .* no longer runs mappings"):
        sqs.apply_sqs_no_push_on_send()
    assert not isinstance(Queue.__dict__.get("lambda_event_source_mappings"), property)


def test_guard_checks_the_mapping_signatures(monkeypatch):
    from moto.awslambda.models import LambdaBackend

    monkeypatch.setattr(LambdaBackend, "create_event_source_mapping", lambda self, body: None)
    with pytest.raises(patches.PatchError, match="lambda_esm_sqs_checks: moto .* changed"):
        awslambda.apply_lambda_esm_sqs_checks()
    with pytest.raises(patches.PatchError, match="lambda_esm_sqs_poller: moto .* changed"):
        awslambda.apply_lambda_esm_sqs_poller()


def test_guard_checks_the_invoke_api_path(monkeypatch):
    from moto.awslambda.models import LambdaBackend

    monkeypatch.setattr(LambdaBackend, "invoke", lambda self, function_name, body: None)
    with pytest.raises(patches.PatchError, match="lambda_invoke_request_checks: moto .* changed"):
        awslambda.apply_lambda_invoke_request_checks()


def test_guards_of_the_sqs_patches(monkeypatch):
    import inspect

    from moto.sqs import models

    from sqslab.offline.patches import sqs

    monkeypatch.setattr(models.Queue, "_set_attributes", lambda self, attributes: None)
    with pytest.raises(patches.PatchError, match="sqs_queue_attribute_limits: moto .* changed"):
        sqs.apply_sqs_queue_attribute_limits()
    monkeypatch.undo()

    monkeypatch.setattr(models.SQSBackend, "change_message_visibility", lambda self, queue_name, handle: None)
    with pytest.raises(patches.PatchError, match="sqs_change_visibility_in_flight: moto .* changed"):
        sqs.apply_sqs_change_visibility_in_flight()
    monkeypatch.undo()

    monkeypatch.setattr(models.Queue, "wait_for_messages", lambda self, timeout: None)
    with pytest.raises(patches.PatchError, match="sqs_long_poll_wakes_on_visibility: moto .* no longer waits"):
        sqs.apply_sqs_long_poll_wakes_on_visibility()
    monkeypatch.undo()

    monkeypatch.setattr(models.Queue, "add_message", inspect.unwrap(models.Queue.add_message))
    monkeypatch.setattr(models, "DEDUPLICATION_TIME_IN_SECONDS", 600)
    with pytest.raises(patches.PatchError, match="sqs_fifo_dedup_interval: moto .* changed DEDUPLICATION_TIME"):
        sqs.apply_sqs_fifo_dedup_interval()


def test_invoke_request_error_is_lambdas():
    """The checks of lambda_invoke_request_checks, pure: JSON first read as Lambda's
    parser does (no NaN), sizes by invocation type."""
    check = awslambda.invoke_request_error
    assert check("", None) is None and check(b"", "Event") is None
    assert check('{"a": [1, 2.5, null, true]}', "RequestResponse") is None
    assert check('"text"', None) is None
    for body in ("not json", '{"a": 1', "NaN", "[Infinity]", "1 2", b"\xff\xfe"):
        code, message, status = check(body, None)
        assert (code, status) == ("InvalidRequestContentException", 400)
        assert message.startswith("Could not parse request body into json: Could not parse payload into json: ")
    sync = '"' + "x" * (6 * 1024 * 1024 - 2) + '"'
    assert check(sync, None) is None and check(sync, "DryRun") is None
    assert check(sync + " ", None)[0::2] == ("RequestEntityTooLargeException", 413)
    event = '"' + "x" * (1024 * 1024 - 2) + '"'
    assert check(event, "Event") is None
    code, message, status = check(event + " ", "Event")
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert message == "1048577 byte payload is too large for the Event invocation type (limit 1048576 bytes)"


def test_attribute_out_of_range():

    assert queue_attributes.attribute_out_of_range({"VisibilityTimeout": "43200", "DelaySeconds": 0, "Policy": "{}"}) is None
    # SetQueueAttributes, Errors: InvalidAttributeValue for a policy that is no JSON object; the SQS
    # Developer Guide's dead-letter queues: maxReceiveCount 1 to 1,000
    for bad in ("{not json", "[1]", "x"):
        assert queue_attributes.attribute_out_of_range({"Policy": bad}) == "Policy"
    assert queue_attributes.attribute_out_of_range({"Policy": ""}) is None  # removes the policy
    dlq = "arn:aws:sqs:us-east-1:123456789012:dlq"
    for count in (0, 1001, "x", None):
        policy = {"deadLetterTargetArn": dlq, "maxReceiveCount": count}
        assert queue_attributes.attribute_out_of_range({"RedrivePolicy": json.dumps(policy)}) == "RedrivePolicy"
    assert queue_attributes.attribute_out_of_range({"RedrivePolicy": {"deadLetterTargetArn": dlq, "maxReceiveCount": "5"}}) is None
    assert queue_attributes.attribute_out_of_range({"VisibilityTimeout": "43201"}) == "VisibilityTimeout"
    assert queue_attributes.attribute_out_of_range({"DelaySeconds": "5", "MessageRetentionPeriod": "59"}) == "MessageRetentionPeriod"
    assert queue_attributes.attribute_out_of_range({"ReceiveMessageWaitTimeSeconds": "1.5"}) == "ReceiveMessageWaitTimeSeconds"
    assert queue_attributes.attribute_out_of_range({"MaximumMessageSize": True}) == "MaximumMessageSize"


def test_fifo_dedup_id_is_kept_for_five_minutes_exactly(monkeypatch):
    """sqs_fifo_dedup_interval on moto's own models, with sent times set by hand: an id
    is refused within 300 s of the accepted send, deleted or not, and taken after."""
    import inspect

    from moto.sqs import models

    from sqslab.offline.patches import sqs

    monkeypatch.setattr(models.Queue, "add_message", inspect.unwrap(models.Queue.add_message))
    sqs.apply_sqs_fifo_dedup_interval()
    queue = models.Queue("dedup-check.fifo", region="us-east-1", account_id="123456789012", FifoQueue="true")

    def send(body: str, at_ms: int, dedup="d", group="g"):
        message = models.Message(uuid.uuid4().hex, body)
        message.deduplication_id, message.group_id, message.sent_timestamp = dedup, group, at_ms
        queue.add_message(message)
        return [m.body for m in queue._messages]

    t = 1_700_000_000_000
    assert send("first", t) == ["first"]
    queue._messages.clear()  # received and deleted
    assert send("dup", t + 299_999) == []
    assert send("other id", t + 1000, dedup="e") == ["other id"]
    queue._messages.clear()
    assert send("after", t + 300_000) == ["after"]
    moved = models.Message(uuid.uuid4().hex, "from a source queue")  # a dead-letter move is not a send
    moved.deduplication_id, moved.group_id, moved.sent_timestamp = "after-dlq", "g", t
    moved.approximate_receive_count = 3
    queue.add_message(moved)
    assert [m.body for m in queue._messages][-1] == "from a source queue"


def test_long_poll_wait_is_bounded_by_the_next_visibility_end():
    """next_change_in: the soonest end of a visibility timeout or delay, in seconds."""
    import time

    from moto.sqs import models

    from sqslab.offline.patches import sqs

    queue = models.Queue("wake-check", region="us-east-1", account_id="123456789012")
    assert sqs.next_change_in(queue) is None
    now = time.time() * 1000
    for visible_at, delayed_until in ((now + 5000, 0), (now - 10, now + 1200), (0, 0)):
        message = models.Message(uuid.uuid4().hex, "m")
        message.visible_at, message.delayed_until = visible_at, delayed_until
        queue._messages.append(message)
    assert 1.1 < sqs.next_change_in(queue) <= 1.2 + sqs.WAKE_MARGIN_S


def test_guards_of_the_message_move_tasks_patch(monkeypatch):
    """sqs_message_move_tasks records a dead letter's source where moto's receive_message moves it, and steps
    aside (loudly) once moto implements StartMessageMoveTask itself."""
    from moto.sqs import models, responses

    from sqslab.offline.patches import sqs

    monkeypatch.setattr(responses.SQSResponse, "start_message_move_task", lambda self: None, raising=False)
    with pytest.raises(patches.PatchError, match="sqs_message_move_tasks: moto .* implements StartMessageMoveTask"):
        sqs.apply_sqs_message_move_tasks()
    monkeypatch.undo()

    monkeypatch.delattr(responses.SQSResponse, "start_message_move_task", raising=False)
    monkeypatch.setattr(models.SQSBackend, "receive_message",
                        lambda self, queue_name, count, wait_seconds_timeout, visibility_timeout: [])
    with pytest.raises(patches.PatchError, match="sqs_message_move_tasks: moto .* no longer moves messages"):
        sqs.apply_sqs_message_move_tasks()


def test_move_task_handle_round_trip():

    arn = "arn:aws:sqs:us-east-1:123456789012:dlq"
    assert move_tasks.decode_task_handle(move_tasks.encode_task_handle("t-1", arn)) == ("t-1", arn)
    assert move_tasks.decode_task_handle("foobared") is None and move_tasks.decode_task_handle("") is None


def test_deleted_receipt_handles_are_kept_for_a_time_and_a_count():
    """sqs_deleted_handles_bounded: a handle is known for its time, then forgotten; the oldest go first
    beyond the count."""
    from sqslab.offline.sqs.receipts import ExpiringHandles

    now = [0.0]
    handles = ExpiringHandles(ttl_s=60, cap=3, clock=lambda: now[0])
    handles.update(["a", "b"])
    now[0] = 30
    handles.add("c")
    assert "a" in handles and "c" in handles and len(handles) == 3
    now[0] = 40
    handles.add("d")  # over the count: the oldest goes
    assert "a" not in handles and list(handles) == ["b", "c", "d"]
    now[0] = 61  # b was deleted at 0: past its time
    assert "b" not in handles and "c" in handles
    now[0] = 95
    assert "c" not in handles and "d" in handles


def test_model_instances_are_not_kept_but_s3_objects_are():
    """models_untracked: moto's BaseModel no longer keeps every instance (every message, every log event)."""
    from moto.s3.models import FakeKey
    from moto.sqs.models import Message

    from sqslab.offline.patches import core

    core.apply_models_untracked()
    before = len(FakeKey.instances_tracked)
    for i in range(100):
        Message(str(i), "body")
    assert len(Message.instances_tracked) == 0
    FakeKey("k", b"v", account_id="123456789012", region_name="us-east-1")
    assert len(FakeKey.instances_tracked) == before + 1


def test_a_log_stream_keeps_its_newest_events_and_its_groups_retention(monkeypatch):
    """logs_retention_and_cap: events older than the group's RetentionInDays are dropped ("Change log data
    retention in CloudWatch Logs"); a stream keeps at most EVENTS_KEPT_PER_STREAM, the newest."""
    import time

    import boto3
    from moto import mock_aws

    from sqslab.offline.patches import logs as logs_patch

    logs_patch.apply_logs_retention_and_cap()
    monkeypatch.setattr(logs_patch, "EVENTS_KEPT_PER_STREAM", 5)
    with mock_aws():
        logs = boto3.client("logs", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
        logs.create_log_group(logGroupName="g")
        logs.create_log_stream(logGroupName="g", logStreamName="s")
        now = int(time.time() * 1000)
        for i in range(8):
            logs.put_log_events(logGroupName="g", logStreamName="s", logEvents=[{"timestamp": now + i, "message": str(i)}])
        got = [e["message"] for e in logs.get_log_events(logGroupName="g", logStreamName="s")["events"]]
        assert got == ["3", "4", "5", "6", "7"]
        logs.put_retention_policy(logGroupName="g", retentionInDays=1)
        logs.put_log_events(logGroupName="g", logStreamName="s", logEvents=[
            {"timestamp": now - 2 * logs_patch.DAY_MS, "message": "old"}, {"timestamp": now + 9, "message": "new"}])
        got = [e["message"] for e in logs.get_log_events(logGroupName="g", logStreamName="s")["events"]]
        assert "old" not in got and got[-1] == "new"
