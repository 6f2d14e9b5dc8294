"""The retries stack (infra/retries.yaml, ``--template retries``): a queue with a
dead-letter queue, polled by a consumer function through an event source mapping.

Its template's parameters and AWS's limits, its roles, tags and outputs; the
consumer handler as a unit (a synthetic SQS event, with and without partial batch
responses); deploy, update and teardown offline, side by side with the article's
stack. Delivery by the mapping (when batches arrive) is not tested here."""


from __future__ import annotations

import json
import time
import uuid

import pytest
from helpers import load_consumer

from sqslab.base.errors import SqslabError
from sqslab.deploy import stack


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:6]}"


@pytest.fixture
def consumer(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "r-consumer")
    return load_consumer()


def mapping_of(lam, uuid_):
    """The mapping once it has settled: its State is Creating or Updating for a moment first,
    then Enabled (EventSourceMappingConfiguration, State, in the Lambda API reference)."""
    deadline = time.monotonic() + 5
    while (m := lam.get_event_source_mapping(UUID=uuid_))["State"] in ("Creating", "Updating", "Enabling") \
            and time.monotonic() < deadline:
        time.sleep(0.02)
    return {k: m.get(k) for k in ("BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "State",
                                  "EventSourceArn", "FunctionArn")}


def queue_attrs(sqs, url):
    return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


@pytest.fixture(scope="module")
def side_by_side(clients):
    """The article's stack and the retries stack, each with its default Prefix."""
    article, retries = unique("rt-article-"), unique("rt-retries-")
    made = {"article": stack.deploy(stack_name=article, progress=False),
            "retries": stack.deploy("retries", retries, progress=False)}
    yield made
    for name in (article, retries):
        stack.teardown(name, progress=False)


def test_both_stacks_deploy_side_by_side_with_their_default_prefixes(side_by_side, clients):
    article, retries = side_by_side["article"], side_by_side["retries"]
    assert (article.status, retries.status) == ("CREATE_COMPLETE", "CREATE_COMPLETE")
    assert retries.warnings == []
    assert article.outputs["QueueName"] == "fa-021-queue"
    out = retries.outputs
    assert {k: v for k, v in out.items() if k != "EventSourceMappingId"} == {
        "QueueName": "fa-021-retries-queue",
        "QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/fa-021-retries-queue",
        "QueueArn": "arn:aws:sqs:us-east-1:123456789012:fa-021-retries-queue",
        "DeadLetterQueueName": "fa-021-retries-dlq",
        "DeadLetterQueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/fa-021-retries-dlq",
        "DeadLetterQueueArn": "arn:aws:sqs:us-east-1:123456789012:fa-021-retries-dlq",
        "ConsumerFunctionName": "fa-021-retries-consumer",
    }
    assert str(uuid.UUID(out["EventSourceMappingId"])) == out["EventSourceMappingId"]


def test_deployed_queue_mapping_and_function(side_by_side, clients):
    out = side_by_side["retries"].outputs
    lam = getattr(clients, "lambda")
    attrs = queue_attrs(clients.sqs, out["QueueUrl"])
    assert attrs["VisibilityTimeout"] == "30"
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": out["DeadLetterQueueArn"], "maxReceiveCount": 3}
    assert "RedrivePolicy" not in queue_attrs(clients.sqs, out["DeadLetterQueueUrl"])
    assert mapping_of(lam, out["EventSourceMappingId"]) == {
        "BatchSize": 10, "MaximumBatchingWindowInSeconds": 0, "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "State": "Enabled", "EventSourceArn": out["QueueArn"],
        "FunctionArn": f"arn:aws:lambda:us-east-1:123456789012:function:{out['ConsumerFunctionName']}",
    }
    fn = lam.get_function_configuration(FunctionName=out["ConsumerFunctionName"])
    assert (fn["Timeout"], fn["Runtime"], fn["Handler"]) == (5, "python3.13", "index.lambda_handler")
    assert fn["Environment"]["Variables"] == {"report_batch_item_failures": "true"}
    groups = clients.logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{out['ConsumerFunctionName']}")
    assert [g.get("retentionInDays") for g in groups["logGroups"]] == [1]
    role = fn["Role"].rsplit("/", 1)[-1]
    names = clients.iam.list_role_policies(RoleName=role)["PolicyNames"]
    doc = clients.iam.get_role_policy(RoleName=role, PolicyName=names[0])["PolicyDocument"]
    doc = json.loads(doc) if isinstance(doc, str) else doc
    assert doc["Statement"][0]["Action"] == ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]
    assert doc["Statement"][0]["Resource"][0] == out["QueueArn"]


def test_a_taken_prefix_is_refused_across_templates(side_by_side, clients):
    retries_stack = side_by_side["retries"].stack_name
    cases = [("retries", {}, "fa-021-retries-dlq"),
             ("single", {"Prefix": "fa-021-retries"}, "fa-021-retries-queue"),
             ("retries", {"Prefix": "fa-021"}, "fa-021-queue")]
    for word, params, taken in cases:
        name = unique("rt-dup-")
        with pytest.raises(SqslabError) as err:
            stack.deploy(word, name, params, progress=False)
        line = str(err.value)
        assert "is taken: stack " in line and f"already owns {taken}" in line and "\n" not in line, line
        assert stack.describe(clients.cloudformation, name) is None
    owner = side_by_side["retries"].outputs["QueueName"]
    assert owner == "fa-021-retries-queue" and stack.describe(clients.cloudformation, retries_stack)


def test_update_then_teardown(clients):
    """An update changes the mapping, queue and function in place (same mapping, same queue);
    ReportBatchItemFailures off and on again goes through the template's Condition."""
    name, prefix = unique("rt-upd-"), unique("rt")
    lam = getattr(clients, "lambda")
    first = stack.deploy("retries", name, {"Prefix": prefix}, progress=False)
    out = first.outputs
    created = queue_attrs(clients.sqs, out["QueueUrl"])["CreatedTimestamp"]
    changed = {"Prefix": prefix, "BatchSize": 50, "MaximumBatchingWindowInSeconds": 2, "ReportBatchItemFailures": "false",
               "MaxReceiveCount": 5, "FunctionTimeout": 3, "VisibilityTimeout": 18}
    second = stack.deploy("retries", name, changed, progress=False)
    assert second.action == "updated" and second.outputs == out
    got = mapping_of(lam, out["EventSourceMappingId"])
    assert (got["BatchSize"], got["MaximumBatchingWindowInSeconds"], got["FunctionResponseTypes"] or []) == (50, 2, [])
    attrs = queue_attrs(clients.sqs, out["QueueUrl"])
    assert attrs["VisibilityTimeout"] == "18" and attrs["CreatedTimestamp"] == created
    assert json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] == 5
    fn = lam.get_function_configuration(FunctionName=out["ConsumerFunctionName"])
    assert fn["Timeout"] == 3 and fn["Environment"]["Variables"] == {"report_batch_item_failures": "false"}
    # only the Condition's parameter changes: the mapping follows it
    third = stack.deploy("retries", name, {**changed, "ReportBatchItemFailures": "true"}, progress=False)
    assert third.action == "updated"
    assert mapping_of(lam, out["EventSourceMappingId"])["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stack.deploy("retries", name, {**changed, "ReportBatchItemFailures": "true"},
                        progress=False).action == "unchanged"

    report = stack.teardown(name, progress=False)
    assert report["stack_deleted"] and report["artifacts_deleted"] >= 1
    assert stack.describe(clients.cloudformation, name) is None
    assert lam.list_event_source_mappings(FunctionName=out["ConsumerFunctionName"])["EventSourceMappings"] == []
    assert not [u for u in clients.sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", [])]
    assert prefix not in json.dumps(lam.list_functions()["Functions"])
    assert clients.logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{prefix}")["logGroups"] == []


def test_the_command_line_deploys_and_tears_down_by_name(clients, capsys):
    from sqslab import cli

    name, prefix = unique("rt-cli-"), unique("rc")
    capsys.readouterr()
    assert cli.main(["deploy", "--template", "retries", "--stack-name", name, "--param", f"Prefix={prefix}",
                     "--param", "BatchSize=5"]) == 0
    out = capsys.readouterr().out
    assert f"{name}: created (CREATE_COMPLETE)" in out
    assert f"ConsumerFunctionName {prefix}-consumer" in " ".join(out.split())
    uuid_ = stack.outputs(name)["EventSourceMappingId"]
    assert getattr(clients, "lambda").get_event_source_mapping(UUID=uuid_)["BatchSize"] == 5
    assert cli.main(["teardown", "--stack-name", name]) == 0
    assert stack.describe(clients.cloudformation, name) is None
