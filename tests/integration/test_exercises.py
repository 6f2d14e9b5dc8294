"""The exercises' checks, run with the worked answers in solutions/ (each must be
judged right) and with a wrong answer (each must be judged wrong): the solutions
stay true, and the checks can tell."""


from __future__ import annotations

import importlib.util
import json
import time
import uuid

import pytest

from sqslab.config import ROOT
from sqslab.deploy import stack
from sqslab.experiments import exercises
from sqslab.lab.handle import Lab


def solutions(chapter: str):
    spec = importlib.util.spec_from_file_location(f"solutions_{chapter}", ROOT / "solutions" / f"{chapter}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def lab():
    """A stack per test: each check of exercise 1 ends with a PurgeQueue, which SQS allows once a minute."""
    name, prefix = f"ex-{uuid.uuid4().hex[:6]}", f"ex{uuid.uuid4().hex[:6]}"
    stack.deploy(stack_name=name, params={"Prefix": prefix, "VisibilityTimeout": 30,
                                          "ReceiveMessageWaitTimeSeconds": 1}, progress=False)
    yield Lab.of(name, "offline")
    stack.teardown(name, progress=False)


def test_02_solutions_are_right(lab, capsys):
    answers = solutions("02_invoke")
    assert exercises.check_02_1(lab, answers.prediction_1) is True
    assert exercises.check_02_2(lab, answers.receive_and_delete) is True
    assert exercises.check_02_3(lab, answers.make_visible_again) is True
    assert capsys.readouterr().out.count("right: ") == 3


def test_02_wrong_answers_are_wrong(lab, capsys):
    def receive_only(sqs, queue_url):
        return [m["Body"] for m in sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                                       WaitTimeSeconds=1).get("Messages", [])]

    assert exercises.check_02_1(lab, (3, 3)) is False
    assert exercises.check_02_2(lab, receive_only) is False
    assert "delete_message" in capsys.readouterr().out
    assert exercises.check_02_3(lab, lambda sqs, url, handle: None) is False
    assert exercises.check_02_1(lab, None) is None and "not answered yet" in capsys.readouterr().out


def test_03_solutions_are_right_and_wrong_answers_wrong(lab, capsys):
    answers = solutions("03_visibility_timeout")
    assert exercises.check_03_1(lab, answers.prediction_1) is True
    assert exercises.check_03_2(lab, answers.process_with_heartbeat) is True
    assert exercises.check_03_1(lab, (1, 1)) is False

    def no_heartbeat(sqs, queue_url, message, seconds):
        time.sleep(seconds)
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])

    assert exercises.check_03_2(lab, no_heartbeat) is False
    assert "change_message_visibility" in capsys.readouterr().out


def test_04_solutions_are_right_and_wrong_answers_wrong(lab, capsys):
    answers = solutions("04_long_polling")
    assert exercises.check_04_1(lab, answers.prediction_1) is True
    assert exercises.check_04_2(lab, answers.drain) is True
    assert exercises.check_04_1(lab, "c") is False

    def one_at_a_time(sqs, queue_url):
        deleted = 0
        while messages := sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get("Messages", []):
            for message in messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                deleted += 1
        return deleted

    assert exercises.check_04_2(lab, one_at_a_time) is False
    assert "MaxNumberOfMessages=10" in capsys.readouterr().out

    def stops_on_a_short_answer(sqs, queue_url):  # 25 = 10 + 10 + 5: right offline, loses messages on AWS
        deleted = 0
        while True:
            messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=1).get("Messages", [])
            for message in messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                deleted += 1
            if len(messages) < 10:
                return deleted

    assert exercises.check_04_2(lab, stops_on_a_short_answer) is False
    assert "stop at the first empty answer, and only there" in capsys.readouterr().out

    def ends_on_a_short_poll(sqs, queue_url):
        deleted = 0
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in messages:
                sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                deleted += 1
        return deleted

    assert exercises.check_04_2(lab, ends_on_a_short_poll) is False
    assert "should come from a long poll" in capsys.readouterr().out


@pytest.fixture
def retries_lab():
    """A retries stack of its own: a consumer with a 1 s timeout polled through a mapping."""
    name, prefix = f"exr-{uuid.uuid4().hex[:6]}", f"exr{uuid.uuid4().hex[:6]}"
    stack.deploy("retries", stack_name=name, params={"Prefix": prefix, "FunctionTimeout": 1, "VisibilityTimeout": 6,
                                                     "MaximumBatchingWindowInSeconds": 1}, progress=False)
    yield Lab.of(name, "offline")
    stack.teardown(name, progress=False)


def test_05_solutions_are_right_and_wrong_answers_wrong(retries_lab, capsys):
    answers = solutions("05_event_source_mapping")
    assert exercises.check_05_1(retries_lab, answers.prediction_1) is True
    assert exercises.check_05_2(retries_lab, answers.map_queue) is True
    assert capsys.readouterr().out.count("right: ") == 2
    assert exercises.check_05_1(retries_lab, (False, False, True)) is False
    assert exercises.check_05_1(retries_lab, (0, 1, 1)) is False and "three booleans" in capsys.readouterr().out

    def batches_of_ten(lam, sqs, queue_url, function_name):
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function_name,
                                               MaximumBatchingWindowInSeconds=1)["UUID"]

    assert exercises.check_05_2(retries_lab, batches_of_ten) is False
    assert "BatchSize=5" in capsys.readouterr().out

    def no_window(lam, sqs, queue_url, function_name):
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function_name, BatchSize=5)["UUID"]

    assert exercises.check_05_2(retries_lab, no_window) is False
    assert "MaximumBatchingWindowInSeconds=1" in capsys.readouterr().out
    assert exercises.check_05_2(retries_lab, lambda lam, sqs, url, fn: None) is False
    assert not retries_lab.client("lambda").list_event_source_mappings(FunctionName=retries_lab.consumer_name)[
        "EventSourceMappings"][1:], "each check deletes the learner's mapping; only the stack's is left"


def test_06_solutions_are_right_and_wrong_answers_wrong(retries_lab, capsys):
    answers = solutions("06_failures_and_dead_letter_queues")
    assert exercises.check_06_1(retries_lab, answers.prediction_1) is True
    assert exercises.check_06_2(retries_lab, answers.redrive) is True
    assert capsys.readouterr().out.count("right: ") == 2
    assert exercises.check_06_1(retries_lab, (2, 4)) is False
    assert exercises.check_06_1(retries_lab, "two") is False

    def send_only(sqs, dead_letter_url, source_url):
        moved = 0
        while messages := sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                              MessageAttributeNames=["All"], VisibilityTimeout=30).get("Messages", []):
            for message in messages:
                sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"],
                                 MessageAttributes=message.get("MessageAttributes", {}))
                moved += 1
        return moved

    capsys.readouterr()
    assert exercises.check_06_2(retries_lab, send_only) is False
    assert "delete_message" in capsys.readouterr().out

    def loses_attributes(sqs, dead_letter_url, source_url):
        moved = 0
        while messages := sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10,
                                              WaitTimeSeconds=1).get("Messages", []):
            for message in messages:
                sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"])
                sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
                moved += 1
        return moved

    assert exercises.check_06_2(retries_lab, loses_attributes) is False
    assert "MessageAttributes" in capsys.readouterr().out

    def one_receive(sqs, dead_letter_url, source_url):
        messages = sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10,
                                       MessageAttributeNames=["All"]).get("Messages", [])
        for message in messages:
            sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"],
                             MessageAttributes=message.get("MessageAttributes", {}))
            sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages)

    assert exercises.check_06_2(retries_lab, one_receive) is False
    assert "until a receive comes back empty" in capsys.readouterr().out


def test_07_solutions_are_right_and_wrong_answers_wrong(capsys):
    """The checks make FIFO queues of their own (scratch names of a stack that need not exist)."""
    lab = Lab.of(f"ex-{uuid.uuid4().hex[:6]}", "offline")
    answers = solutions("07_fifo_queues")
    assert exercises.check_07_1(lab, answers.prediction_1) is True
    assert exercises.check_07_2(lab, answers.drain_in_order) is True
    assert capsys.readouterr().out.count("right: ") == 2
    # deduplication per group would give 3; no deduplication 4
    assert exercises.check_07_1(lab, 3) is False and exercises.check_07_1(lab, "2") is False

    def keeps_messages(sqs, queue_url):
        groups = {}
        while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                              MessageSystemAttributeNames=["MessageGroupId"]).get("Messages", []):
            for message in messages:
                groups.setdefault(message["Attributes"]["MessageGroupId"], []).append(message["Body"])
        return groups

    capsys.readouterr()
    assert exercises.check_07_2(lab, keeps_messages) is False  # one receive of each group, then all held
    assert "order" in capsys.readouterr().out
    assert exercises.check_07_2(lab, lambda sqs, url: {"A": ["A1"]}) is False
    assert exercises.check_07_1(lab, None) is None and exercises.check_07_2(lab, None) is None


def test_08_solutions_are_right_and_wrong_answers_wrong(capsys):
    lab = Lab.of(f"ex-{uuid.uuid4().hex[:6]}", "offline")
    answers = solutions("08_message_lifetime")
    assert exercises.check_08_1(lab, answers.prediction_1) is True
    assert exercises.check_08_2(lab, answers.send_later) is True
    assert capsys.readouterr().out.count("right: ") == 2
    assert exercises.check_08_1(lab, 7) is False and exercises.check_08_1(lab, "5") is False
    capsys.readouterr()
    assert exercises.check_08_2(lab, lambda sqs, url, body, seconds: sqs.send_message(QueueUrl=url, MessageBody=body)) \
        is False
    assert "DelaySeconds" in capsys.readouterr().out
    assert exercises.check_08_1(lab, None) is None and exercises.check_08_2(lab, None) is None


@pytest.fixture(scope="module")
def idempotency_lab(offline):
    name = f"ex-{uuid.uuid4().hex[:6]}-idempotency"
    stack.deploy("idempotency", name, {"Prefix": f"ex{uuid.uuid4().hex[:6]}", "VisibilityTimeout": 5}, progress=False)
    yield Lab.of(name, "offline")
    stack.teardown(name, progress=False)


def test_09_solutions_are_right_and_wrong_answers_wrong(idempotency_lab, capsys):
    lab = idempotency_lab
    answers = solutions("09_duplicates_and_idempotency")
    assert exercises.check_09_1(lab, answers.prediction_1) is True
    assert exercises.check_09_2(lab, answers.record_once) is True
    assert capsys.readouterr().out.count("right: ") == 2
    assert exercises.check_09_1(lab, 2) is False

    def records_always(dynamodb, table_name, order_id):
        dynamodb.put_item(TableName=table_name, Item={"order_id": {"S": order_id}})
        return True

    capsys.readouterr()
    assert exercises.check_09_2(lab, records_always) is False
    assert "ConditionExpression" in capsys.readouterr().out
    assert exercises.check_09_1(lab, None) is None and exercises.check_09_2(lab, None) is None


@pytest.fixture(scope="module")
def concurrency_lab(offline):
    name = f"ex-{uuid.uuid4().hex[:6]}-concurrency"
    stack.deploy("concurrency", name, {"Prefix": f"ex{uuid.uuid4().hex[:6]}"}, progress=False)
    yield Lab.of(name, "offline")
    stack.teardown(name, progress=False)


def test_10_solutions_are_right_and_wrong_answers_wrong(concurrency_lab, capsys):
    lab = concurrency_lab
    answers = solutions("10_concurrency_and_throttling")
    assert exercises.check_10_1(lab, answers.prediction_1) is True
    assert exercises.check_10_2(lab, answers.invoke_patiently) is True
    assert capsys.readouterr().out.count("right: ") == 2
    assert exercises.check_10_1(lab, 150) is False

    def once(lam, name, payload, attempts):
        return json.loads(lam.invoke(FunctionName=name, Payload=json.dumps(payload))["Payload"].read())

    capsys.readouterr()
    assert exercises.check_10_2(lab, once) is False
    assert "TooManyRequestsException" in capsys.readouterr().out
    assert exercises.check_10_1(lab, None) is None and exercises.check_10_2(lab, None) is None


@pytest.fixture(scope="module")
def fanout_lab(offline):
    name = f"ex-{uuid.uuid4().hex[:6]}-fanout"
    stack.deploy("fanout", name, {"Prefix": f"ex{uuid.uuid4().hex[:6]}"}, progress=False)
    yield Lab.of(name, "offline")
    stack.teardown(name, progress=False)


def test_11_solutions_are_right_and_wrong_answers_wrong(fanout_lab, capsys):
    lab = fanout_lab
    answers = solutions("11_filtering_and_fan_out")
    assert exercises.check_11_1(lab, answers.prediction_1) is True
    assert exercises.check_11_2(lab, answers.policy_for) is True
    assert capsys.readouterr().out.count("right: ") == 2
    assert exercises.check_11_1(lab, 3) is False

    def any_topic(queue_arn, topic_arn):
        return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                        "Action": "sqs:SendMessage", "Resource": queue_arn}]}

    capsys.readouterr()
    assert exercises.check_11_2(lab, any_topic) is False
    assert "aws:SourceArn" in capsys.readouterr().out
    assert exercises.check_11_2(lab, lambda q, t: {}) is False
    assert exercises.check_11_1(lab, None) is None and exercises.check_11_2(lab, None) is None
