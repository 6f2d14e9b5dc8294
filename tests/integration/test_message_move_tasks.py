"""Dead-letter queue redrive through plain boto3 against the offline endpoint: StartMessageMoveTask,
ListMessageMoveTasks and CancelMessageMoveTask, each test naming the AWS page it follows.

Pages: SQS API Reference, API_StartMessageMoveTask.html, API_ListMessageMoveTasks.html,
API_CancelMessageMoveTask.html, API_ListMessageMoveTasksResultEntry.html; SQS Developer Guide,
sqs-configure-dead-letter-queue-redrive.html. Messages reach the dead-letter queue the way SQS puts
them there: received past the source queue's maxReceiveCount (1 here, received with VisibilityTimeout 0).
"""


from __future__ import annotations

import json
import time
import uuid

import pytest
from botocore.exceptions import ClientError


@pytest.fixture
def sqs(clients):
    return clients.sqs


def arn_of(sqs, url: str) -> str:
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def pipe(sqs, n: int, tag: str | None = None, dlq_url: str | None = None):
    """A source queue whose RedrivePolicy (maxReceiveCount 1) names a dead-letter queue, and ``n`` of its
    messages moved there; returns (source url, dead-letter url, dead-letter arn, bodies)."""
    tag = tag or uuid.uuid4().hex[:8]
    dlq_url = dlq_url or sqs.create_queue(QueueName=f"mv-dlq-{tag}")["QueueUrl"]
    dlq_arn = arn_of(sqs, dlq_url)
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})
    url = sqs.create_queue(QueueName=f"mv-src-{tag}", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    bodies = [f"{tag} message {i}" for i in range(n)]
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body,
                         MessageAttributes={"order": {"DataType": "String", "StringValue": body}})
    while count(sqs, url):  # each message received once (count 1), then moved at the next receive
        sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    assert count(sqs, dlq_url) >= n
    return url, dlq_url, dlq_arn, bodies


def count(sqs, url: str) -> int:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return sum(int(attrs[n]) for n in names)


def wait_status(sqs, dlq_arn: str, statuses=("COMPLETED", "CANCELLED", "FAILED"), timeout: float = 5.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        task = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
        if task["Status"] in statuses or time.monotonic() > deadline:
            return task
        time.sleep(0.02)


def receive_all(sqs, url: str, n: int) -> list[dict]:
    got: list[dict] = []
    deadline = time.monotonic() + 5
    while len(got) < n and time.monotonic() < deadline:
        got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                   MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
    return got


def test_start_moves_to_the_original_source_queue_by_default(sqs):
    """API_StartMessageMoveTask: "If this field [DestinationArn] is left blank, the messages will be redriven
    back to their respective original source queues." Developer guide (redrive): "All redriven messages are
    considered new messages" with a new messageID and enqueue time; the body and message attributes stay."""
    url, dlq_url, dlq_arn, bodies = pipe(sqs, 3)
    old_ids = {m["MessageId"] for m in sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10,
                                                           VisibilityTimeout=0).get("Messages", [])}
    before_ms = int(time.time() * 1000)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn)["TaskHandle"]
    assert handle
    task = wait_status(sqs, dlq_arn)
    assert task["Status"] == "COMPLETED" and task["ApproximateNumberOfMessagesMoved"] == 3
    assert "DestinationArn" not in task and "TaskHandle" not in task
    moved = receive_all(sqs, url, 3)
    assert sorted(m["Body"] for m in moved) == bodies
    assert all(m["MessageAttributes"]["order"]["StringValue"] == m["Body"] for m in moved)
    assert not {m["MessageId"] for m in moved} & old_ids, "a redriven message is a new message"
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in moved} == {"1"}
    assert all(int(m["Attributes"]["SentTimestamp"]) >= before_ms for m in moved)
    assert count(sqs, dlq_url) == 0


def test_default_destination_with_two_source_queues(sqs):
    """API_StartMessageMoveTask: "their respective original source queues": two queues share one
    dead-letter queue, and each message goes back to the queue whose RedrivePolicy moved it."""
    tag = uuid.uuid4().hex[:8]
    url_a, dlq_url, dlq_arn, bodies_a = pipe(sqs, 2, tag=f"{tag}a")
    url_b, _, _, bodies_b = pipe(sqs, 2, tag=f"{tag}b", dlq_url=dlq_url)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    assert wait_status(sqs, dlq_arn)["ApproximateNumberOfMessagesMoved"] == 4
    assert sorted(m["Body"] for m in receive_all(sqs, url_a, 2)) == bodies_a
    assert sorted(m["Body"] for m in receive_all(sqs, url_b, 2)) == bodies_b


def test_explicit_destination_and_list_entry(sqs):
    """API_StartMessageMoveTask (DestinationArn) and API_ListMessageMoveTasksResultEntry: DestinationArn and
    MaxNumberOfMessagesPerSecond are listed when the request gave them; StartedTimestamp; the counts."""
    url, dlq_url, dlq_arn, bodies = pipe(sqs, 2)
    other = sqs.create_queue(QueueName=f"mv-other-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    started = int(time.time() * 1000)
    sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=arn_of(sqs, other), MaxNumberOfMessagesPerSecond=50)
    task = wait_status(sqs, dlq_arn)
    assert task["Status"] == "COMPLETED" and task["SourceArn"] == dlq_arn
    assert task["DestinationArn"] == arn_of(sqs, other) and task["MaxNumberOfMessagesPerSecond"] == 50
    assert task["ApproximateNumberOfMessagesMoved"] == task["ApproximateNumberOfMessagesToMove"] == 2
    assert abs(task["StartedTimestamp"] - started) < 2000
    assert sorted(m["Body"] for m in receive_all(sqs, other, 2)) == bodies
    assert count(sqs, url) == 0


def test_rate_limit_and_cancel(sqs):
    """API_StartMessageMoveTask: MaxNumberOfMessagesPerSecond fixes the rate. API_CancelMessageMoveTask: only a
    RUNNING task can be cancelled, and what was moved stays moved. API_ListMessageMoveTasksResultEntry:
    TaskHandle is listed only while RUNNING."""
    url, dlq_url, dlq_arn, _ = pipe(sqs, 10)
    t0 = time.monotonic()
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=10)["TaskHandle"]
    running = sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"][0]
    assert running["Status"] == "RUNNING" and running["TaskHandle"] == handle
    assert running["ApproximateNumberOfMessagesToMove"] == 10
    while count(sqs, url) < 4:
        time.sleep(0.01)
    elapsed = time.monotonic() - t0
    assert 0.25 <= elapsed < 0.8, f"4 messages at 10 per second took {elapsed:.2f} s"
    moved = sqs.cancel_message_move_task(TaskHandle=handle)["ApproximateNumberOfMessagesMoved"]
    assert 4 <= moved <= 6
    task = wait_status(sqs, dlq_arn)
    assert task["Status"] == "CANCELLED" and "TaskHandle" not in task
    time.sleep(0.3)  # no more moves after the cancel
    assert count(sqs, url) == task["ApproximateNumberOfMessagesMoved"] and count(sqs, dlq_url) == 10 - count(sqs, url)
    with pytest.raises(sqs.exceptions.UnsupportedOperation):
        sqs.cancel_message_move_task(TaskHandle=handle)


def test_one_active_task_per_source_queue(sqs):
    """API_StartMessageMoveTask: "Only one active message movement task is supported per queue at any given
    time"; ListMessageMoveTasks lists the most recent first, MaxResults up to 10 (default 1)."""
    _, _, dlq_arn, _ = pipe(sqs, 3)
    handle = sqs.start_message_move_task(SourceArn=dlq_arn, MaxNumberOfMessagesPerSecond=1)["TaskHandle"]
    with pytest.raises(ClientError) as refused:
        sqs.start_message_move_task(SourceArn=dlq_arn)
    assert refused.value.response["Error"]["Code"] == "InvalidParameterValue"
    assert "Only one active task" in refused.value.response["Error"]["Message"]
    sqs.cancel_message_move_task(TaskHandle=handle)
    wait_status(sqs, dlq_arn)
    sqs.start_message_move_task(SourceArn=dlq_arn)
    wait_status(sqs, dlq_arn)
    tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=10)["Results"]
    assert [t["Status"] for t in tasks] == ["COMPLETED", "CANCELLED"]
    assert len(sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"]) == 1
    with pytest.raises(ClientError, match="MaxResults"):
        sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=11)


def test_refusals(sqs):
    """API_StartMessageMoveTask: "only ARNs of dead-letter queues (DLQs) whose sources are other Amazon SQS
    queues are accepted"; MaxNumberOfMessagesPerSecond at most 500. Errors of the three actions:
    ResourceNotFoundException for a queue or task that does not exist; InvalidParameterValue otherwise."""
    url, dlq_url, dlq_arn, _ = pipe(sqs, 1)
    src_arn = arn_of(sqs, url)

    def code(call, **kwargs):
        with pytest.raises(ClientError) as err:
            call(**kwargs)
        return err.value.response["Error"]["Code"], err.value.response["Error"]["Message"]

    assert code(sqs.start_message_move_task, SourceArn=src_arn) == (
        "InvalidParameterValue", "Source queue must be configured as a Dead Letter Queue.")
    assert code(sqs.start_message_move_task, SourceArn=dlq_arn + "-gone")[0] == "ResourceNotFoundException"
    assert code(sqs.start_message_move_task, SourceArn=dlq_arn, DestinationArn=src_arn + "-gone")[0] == \
        "ResourceNotFoundException"
    assert code(sqs.start_message_move_task, SourceArn="not-an-arn")[0] == "InvalidParameterValue"
    assert "MaxNumberOfMessagesPerSecond" in code(sqs.start_message_move_task, SourceArn=dlq_arn,
                                                  MaxNumberOfMessagesPerSecond=501)[1]
    assert code(sqs.cancel_message_move_task, TaskHandle="foobared") == (
        "InvalidParameterValue", "Value for parameter TaskHandle is invalid.")
    from sqslab.offline.sqs.move_tasks import encode_task_handle

    assert code(sqs.cancel_message_move_task, TaskHandle=encode_task_handle(str(uuid.uuid4()), dlq_arn)) == (
        "ResourceNotFoundException", "Task does not exist.")
    assert code(sqs.list_message_move_tasks, SourceArn=dlq_arn + "-gone")[0] == "ResourceNotFoundException"
    assert sqs.list_message_move_tasks(SourceArn=dlq_arn)["Results"] == []
    assert count(sqs, dlq_url) == 1, "nothing moved by a refused request"
