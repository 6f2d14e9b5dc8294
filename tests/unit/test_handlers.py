"""The three handlers, unit-tested against moto in this process (no server)."""


from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

LAMBDAS = Path(__file__).resolve().parents[2] / "lambdas"


def load(fn: str):
    spec = importlib.util.spec_from_file_location(f"handler_{fn}", LAMBDAS / fn / "index.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def queue(monkeypatch):
    for k in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("queue_name", "unit-queue")
    monkeypatch.setenv("region_name", "us-east-1")
    monkeypatch.setenv("max_number_of_messages", "10")
    monkeypatch.setenv("visibility_timeout", "90")
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "unit")
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="unit-queue", Attributes={"VisibilityTimeout": "90"})["QueueUrl"]
        yield sqs, url


def json_lines(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]


def test_function1_sends_the_current_time(queue, capsys):
    sqs, url = queue
    result = load("function1").lambda_handler({}, None)
    assert result["statusCode"] == 200
    sent = json.loads(result["body"])["Successful"]
    assert len(sent) == 1
    body = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    assert len(body) == 20 and body.isdigit()
    logged = json_lines(capsys)
    assert [d["event"] for d in logged] == ["send"] and logged[0]["body"] == body
    assert logged[0]["message_id"] == sent[0]["MessageId"]


def test_empty_queue(queue, capsys):
    for fn in ("function2", "function3"):
        result = load(fn).lambda_handler({}, None)
        assert result == {"statusCode": 200, "body": "[]"}
    calls = json_lines(capsys)
    assert [c["event"] for c in calls] == ["receive_call", "receive_call"]
    assert all(c["messages"] == 0 and c["end_ms"] >= c["start_ms"] for c in calls)


def test_more_messages_than_max_number_of_messages(queue, monkeypatch, capsys):
    sqs, url = queue
    monkeypatch.setenv("max_number_of_messages", "3")
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    first = json.loads(load("function3").lambda_handler({}, None)["body"])
    assert len(first) == 3
    rest = json.loads(load("function3").lambda_handler({}, None)["body"])
    assert sorted(first + rest) == [f"m{i}" for i in range(5)]
    events = json_lines(capsys)
    assert sum(e["event"] == "delete" for e in events) == 5
    received = [e for e in events if e["event"] == "receive"]
    assert all(e["approximate_receive_count"] == 1 and e["sent_timestamp"] > 0 for e in received)
    assert all(e["approximate_first_receive_timestamp"] >= e["sent_timestamp"] for e in received)
    assert all(e["visibility_timeout_s"] == 90 for e in received)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


def test_non_ascii_body(queue, capsys):
    sqs, url = queue
    text = "こんにちは SQS — ünïcødé ✓"
    sqs.send_message(QueueUrl=url, MessageBody=text)
    result = load("function2").lambda_handler({}, None)
    assert json.loads(result["body"]) == [text]
    logged = [e for e in json_lines(capsys) if e["event"] == "receive"]
    assert logged[0]["body"] == text


def test_function2_does_not_delete(queue, capsys):
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody="keep me")
    load("function2").lambda_handler({}, None)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert not any(e["event"] == "delete" for e in json_lines(capsys))


def test_fifo_consumer_stops_a_group_at_its_first_failure_and_lets_the_others_go_on(capsys, monkeypatch):
    """Lambda Developer Guide, services-sqs-errorhandling: with partial batch responses on a FIFO queue the
    function stops at the first failure and returns the failed and unprocessed messages; here per group,
    so a later record of the failed group is reported (not processed) and other groups are processed."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "f-consumer")
    consumer = load("fifo_consumer")
    records = [{"messageId": f"m{i}", "body": body, "attributes": {"MessageGroupId": body[-2], "SequenceNumber": str(i),
                                                                    "ApproximateReceiveCount": "1"}}
               for i, body in enumerate(["A1", "B1", "poison B2", "A2", "B3", "C1"])]

    class Context:
        aws_request_id = "req-1"

    result = consumer.lambda_handler({"Records": records}, Context())
    assert result == {"batchItemFailures": [{"itemIdentifier": "m2"}, {"itemIdentifier": "m4"}]}
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0]["event"] == "batch" and lines[0]["groups"] == ["A", "B", "B", "A", "B", "C"]
    assert [(r["body"], r["outcome"]) for r in lines[1:]] == [
        ("A1", "ok"), ("B1", "ok"), ("poison B2", "failed"), ("A2", "ok"), ("B3", "skipped"), ("C1", "ok")]
    assert {r["request_id"] for r in lines} == {"req-1"}
    assert consumer.lambda_handler({"Records": []}, Context()) == {"batchItemFailures": []}
