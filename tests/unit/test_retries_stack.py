"""The retries stack (infra/retries.yaml, ``--template retries``): a queue with a
dead-letter queue, polled by a consumer function through an event source mapping.

Its template's parameters and AWS's limits, its roles, tags and outputs; the
consumer handler as a unit (a synthetic SQS event, with and without partial batch
responses); deploy, update and teardown offline, side by side with the article's
stack. Delivery by the mapping (when batches arrive) is not tested here."""


from __future__ import annotations

import json
import time

import pytest
from helpers import load_consumer

from sqslab import config
from sqslab.base.errors import SqslabError
from sqslab.deploy import checks, stack, template

RETRIES = config.RETRIES_TEMPLATE



def test_the_word_retries_names_the_template_everywhere():
    assert list(config.TEMPLATES) == ["single", "nested", "retries", "fifo", "lifetime", "idempotency", "concurrency", "fanout"]
    assert template.resolve_template("retries") == RETRIES and RETRIES.is_file()
    assert template.resolve_template(None) == config.DEFAULT_TEMPLATE
    for word, path in config.TEMPLATES.items():
        assert template.resolve_template(word) == path
    with pytest.raises(SqslabError, match="template not found: retry .*'single' / 'nested' / 'retries' / 'fifo' / 'lifetime' / 'idempotency' / 'concurrency' / 'fanout'"):
        template.resolve_template("retry")
    with pytest.raises(SqslabError, match="or 'single' / 'nested' / 'retries' / 'fifo' / 'lifetime' / 'idempotency' / 'concurrency' / 'fanout'"):
        checks.template_path(123)
    # the Python API takes the word as the command line does
    assert stack.check_deploy_inputs("retries", "x", None, None)[0] == RETRIES
    assert template.validate("retries").template == RETRIES
    assert template.excerpt("ConsumerMapping", "retries").startswith("  ConsumerMapping:\n    Type: AWS::Lambda::EventSourceMapping")


def test_parameters_carry_aws_limits():
    doc = template.load_template(RETRIES)
    p = doc["Parameters"]
    article = template.load_template(config.DEFAULT_TEMPLATE)["Parameters"]
    limits = {name: (spec.get("MinValue"), spec.get("MaxValue"), spec.get("Default")) for name, spec in p.items()}
    assert limits["FunctionTimeout"] == (1, 900, 5)  # Lambda: 1 to 900 s
    assert limits["VisibilityTimeout"] == (0, 43200, 30)  # SQS: 0 to 12 hours
    assert limits["MaxReceiveCount"] == (1, 1000, 3)  # SQS RedrivePolicy: 1 to 1000
    assert limits["BatchSize"] == (1, 10000, 10)  # Lambda, standard queue: 1 to 10000
    assert limits["MaximumBatchingWindowInSeconds"] == (0, 300, 0)  # Lambda: 0 to 300 s
    assert limits["MemorySize"] == (128, 10240, 128)
    # AWS recommends a visibility timeout of six times the function's timeout
    assert p["VisibilityTimeout"]["Default"] == 6 * p["FunctionTimeout"]["Default"]
    assert p["ReportBatchItemFailures"]["AllowedValues"] == ["true", "false"]
    assert p["ReportBatchItemFailures"]["Default"] == "true"
    for same in ("Runtime", "LogRetentionInDays"):
        assert p[same] == article[same]
    assert p["Prefix"]["AllowedPattern"] == article["Prefix"]["AllowedPattern"]
    assert p["Prefix"]["Default"] != article["Prefix"]["Default"]
    mapping = doc["Resources"]["ConsumerMapping"]["Properties"]
    assert doc["Conditions"]["ReportFailures"] == {"Fn::Equals": [{"Ref": "ReportBatchItemFailures"}, "true"]}
    assert mapping["FunctionResponseTypes"] == {
        "Fn::If": ["ReportFailures", ["ReportBatchItemFailures"], {"Ref": "AWS::NoValue"}]}
    assert {k: mapping[k] for k in ("BatchSize", "MaximumBatchingWindowInSeconds")} == {
        "BatchSize": {"Ref": "BatchSize"}, "MaximumBatchingWindowInSeconds": {"Ref": "MaximumBatchingWindowInSeconds"}}
    redrive = doc["Resources"]["Queue"]["Properties"]["RedrivePolicy"]
    assert redrive == {"deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]},
                       "maxReceiveCount": {"Ref": "MaxReceiveCount"}}


def test_defaults_validate_clean_and_lint_clean():
    checked = template.validate("retries")
    assert checked.warnings == [] and checked.lint_warnings == []
    assert checked.parameters["Prefix"] == "fa-021-retries"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"MaxReceiveCount": "0"}, "MaxReceiveCount 0 is out of range: AWS allows 1 to 1000"),
        ({"MaxReceiveCount": "1001"}, "MaxReceiveCount 1001 is out of range: AWS allows 1 to 1000"),
        ({"BatchSize": "10001"}, "BatchSize 10001 is out of range: AWS allows 1 to 10000"),
        ({"BatchSize": "0"}, "BatchSize 0 is out of range: AWS allows 1 to 10000"),
        ({"MaximumBatchingWindowInSeconds": "301"}, "MaximumBatchingWindowInSeconds 301 is out of range: AWS allows 0 to 300"),
        ({"FunctionTimeout": "901"}, "FunctionTimeout 901 is out of range: AWS allows 1 to 900"),
        ({"VisibilityTimeout": "43201"}, "VisibilityTimeout 43201 is out of range: AWS allows 0 to 43200"),
        ({"BatchSize": "2.5"}, "BatchSize must be a whole number"),
        ({"ReportBatchItemFailures": "yes"}, "ReportBatchItemFailures 'yes' is not allowed: choose one of true, false"),
        ({"ReportBatchItemFailures": "True"}, "ReportBatchItemFailures 'True' is not allowed"),
        ({"Prefix": "Retries"}, "Prefix 'Retries' is not allowed: lower-case letters"),
        ({"Timeout": "30"}, "unknown parameter 'Timeout'"),
    ],
)
def test_parameters_outside_aws_limits_are_refused(params, expected):
    with pytest.raises(SqslabError) as err:
        template.check_stack_parameters(template.load_template(RETRIES), params)
    assert expected in str(err.value) and "\n" not in str(err.value)


def test_settings_lambda_refuses_are_warned_of():
    doc = template.load_template(RETRIES)
    _, warnings = template.check_stack_parameters(doc, {"FunctionTimeout": 60})
    assert warnings == ["FunctionTimeout 60 s is longer than VisibilityTimeout 30 s: Lambda refuses the mapping; "
                        "AWS recommends a visibility timeout of six times the function's (360 s)"]
    _, warnings = template.check_stack_parameters(doc, {"FunctionTimeout": 10})
    assert len(warnings) == 1 and "less than six times FunctionTimeout 10 s (60 s)" in warnings[0]
    _, warnings = template.check_stack_parameters(doc, {"BatchSize": 100})
    assert warnings == ["BatchSize 100 needs MaximumBatchingWindowInSeconds of at least 1 s (it is 0): "
                        "Lambda refuses the mapping on a standard queue"]
    assert template.check_stack_parameters(doc, {"BatchSize": 100, "MaximumBatchingWindowInSeconds": 1})[1] == []
    # the article's template has no such parameters: its warnings are unchanged
    assert template.check_stack_parameters(template.load_template(config.DEFAULT_TEMPLATE), {"Timeout": 25})[1] == []


def test_one_least_privilege_role_tags_log_group_outputs():
    doc = template.load_template(RETRIES)
    res = doc["Resources"]
    roles = [k for k, r in res.items() if r["Type"] == "AWS::IAM::Role"]
    assert roles == ["ConsumerRole"]
    role = res["ConsumerRole"]["Properties"]
    statements = [s for pol in role["Policies"] for s in pol["PolicyDocument"]["Statement"]]
    # what the mapping needs to poll on the function's behalf, on the queue and chapter 05's scratch
    # queues (Lambda refuses a mapping whose role may not poll), not the dead-letter queue
    assert statements == [{"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage",
                                                         "sqs:GetQueueAttributes"],
                           "Resource": [{"Fn::GetAtt": ["Queue", "Arn"]}, {"Fn::Sub": (
                               "arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:sqslab-scratch-*")}]}]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}]
    log_group = res["ConsumerLogGroup"]["Properties"]
    assert log_group["RetentionInDays"] == {"Ref": "LogRetentionInDays"}
    assert log_group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${Prefix}-consumer"}
    assert res["ConsumerFunction"]["DependsOn"] == "ConsumerLogGroup"
    for name, r in res.items():
        assert {"Key": "project", "Value": "sqslab"} in r["Properties"]["Tags"], name
    assert set(doc["Outputs"]) == {"QueueUrl", "QueueArn", "QueueName", "DeadLetterQueueUrl", "DeadLetterQueueArn",
                                   "DeadLetterQueueName", "ConsumerFunctionName", "EventSourceMappingId"}


def test_planned_names_follow_the_prefix_and_miss_the_articles():
    ctx = ("s", "us-east-1", "123456789012")
    names = {p.logical_id: (p.name, p.parameters) for p in template.planned_names(
        RETRIES, template.check_stack_parameters(template.load_template(RETRIES), {"Prefix": "r1"})[0], *ctx)}
    assert names == {"DeadLetterQueue": ("r1-dlq", ("Prefix",)), "Queue": ("r1-queue", ("Prefix",)),
                     "ConsumerLogGroup": ("/aws/lambda/r1-consumer", ("Prefix",)),
                     "ConsumerFunction": ("r1-consumer", ("Prefix",))}

    def defaults(path):
        values, _ = template.check_stack_parameters(template.load_template(path), None)
        return {p.name for p in template.planned_names(path, values, *ctx)}

    assert defaults(RETRIES).isdisjoint(defaults(config.DEFAULT_TEMPLATE))


@pytest.fixture
def consumer(monkeypatch):
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "r-consumer")
    return load_consumer()


def sqs_event(*bodies, receive_count=1):
    return {"Records": [{
        "messageId": f"m{i}", "receiptHandle": f"h{i}", "body": body, "md5OfBody": "",
        "attributes": {"ApproximateReceiveCount": str(receive_count), "SentTimestamp": str(1_700_000_000_000 + i),
                       "SenderId": "AIDA", "ApproximateFirstReceiveTimestamp": "1700000000500"},
        "messageAttributes": {}, "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:r-queue", "awsRegion": "us-east-1",
    } for i, body in enumerate(bodies)]}


def lines_of(capsys) -> list[dict]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


BODIES = ("order 1", "poison: bad total", json.dumps({"order": 3, "poison": True}), json.dumps({"order": 4}))


def test_with_partial_batch_responses_only_poison_records_are_returned(consumer, monkeypatch, capsys):
    monkeypatch.setenv("report_batch_item_failures", "true")
    t0 = int(time.time() * 1000)
    got = consumer.lambda_handler(sqs_event(*BODIES, receive_count=2), None)
    assert got == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    batch, *records = lines_of(capsys)
    assert batch == {"event": "batch", "function": "r-consumer", "size": 4, "message_ids": ["m0", "m1", "m2", "m3"],
                     "report_batch_item_failures": True, "time_ms": batch["time_ms"]}
    assert batch["time_ms"] >= t0
    assert [(r["event"], r["message_id"], r["outcome"]) for r in records] == [
        ("record", "m0", "ok"), ("record", "m1", "failed"), ("record", "m2", "failed"), ("record", "m3", "ok")]
    first = records[0]
    assert set(first) == {"event", "function", "message_id", "body", "approximate_receive_count", "sent_timestamp",
                          "outcome", "start_ms", "time_ms"}
    assert first["function"] == "r-consumer" and first["body"] == "order 1"
    assert first["approximate_receive_count"] == 2 and first["sent_timestamp"] == 1_700_000_000_000
    assert t0 <= first["start_ms"] <= first["time_ms"]


def test_all_good_with_partial_batch_responses_returns_an_empty_list(consumer, monkeypatch, capsys):
    monkeypatch.setenv("report_batch_item_failures", "true")
    assert consumer.lambda_handler(sqs_event("a", "b"), None) == {"batchItemFailures": []}
    assert [r.get("outcome") for r in lines_of(capsys)] == [None, "ok", "ok"]


def test_without_partial_batch_responses_a_poison_record_fails_the_batch(consumer, monkeypatch, capsys):
    monkeypatch.setenv("report_batch_item_failures", "false")
    with pytest.raises(consumer.PoisonRecordsError, match=r"2 of 4 records failed \(m1, m2\): the whole batch"):
        consumer.lambda_handler(sqs_event(*BODIES), None)
    batch, *records = lines_of(capsys)
    assert batch["report_batch_item_failures"] is False
    # every record is processed and logged before the batch fails
    assert [r["outcome"] for r in records] == ["ok", "failed", "failed", "ok"]
    monkeypatch.delenv("report_batch_item_failures")  # unset: off, as the mapping's default
    assert consumer.lambda_handler(sqs_event("fine"), None) is None


def test_what_counts_as_poison(consumer):
    poison = ["poison", "Poison: x", "  poison!", json.dumps({"poison": True}), json.dumps({"poison": True, "n": 1})]
    fine = ["", "not poison", json.dumps({"poison": False}), json.dumps({"poison": "yes"}), json.dumps(["poison"]),
            "{broken json", None]
    assert [consumer.is_poison(b) for b in poison] == [True] * len(poison)
    assert [consumer.is_poison(b) for b in fine] == [False] * len(fine)


def test_sleep_s_makes_a_record_slow(consumer, monkeypatch, capsys):
    monkeypatch.setenv("report_batch_item_failures", "true")
    consumer.lambda_handler(sqs_event(json.dumps({"sleep_s": 0.2}), json.dumps({"sleep_s": "long"})), None)
    slow, bad = lines_of(capsys)[1:]
    assert slow["time_ms"] - slow["start_ms"] >= 200 and slow["outcome"] == "ok"
    assert bad["time_ms"] - bad["start_ms"] < 100


def test_an_empty_or_odd_event_is_an_empty_batch(consumer, monkeypatch, capsys):
    monkeypatch.setenv("report_batch_item_failures", "true")
    assert consumer.lambda_handler({}, None) == {"batchItemFailures": []}
    assert consumer.lambda_handler(None, None) == {"batchItemFailures": []}
    record = {"Records": [{"messageId": "x", "body": "ok"}]}  # no attributes
    consumer.lambda_handler(record, None)
    *_, line = lines_of(capsys)
    assert line["approximate_receive_count"] == 0 and line["sent_timestamp"] == 0


@pytest.mark.parametrize("apply", ["apply_update_follows_conditions", "apply_mapping_update_resets_removed_properties",
                                   "apply_queue_update_sets_attributes"])
def test_each_patch_refuses_a_moto_whose_internals_changed(apply, monkeypatch):
    from moto.awslambda.models import EventSourceMapping
    from moto.cloudformation.parsing import ResourceMap
    from moto.sqs.models import Queue

    from sqslab.offline import patches
    from sqslab.offline.patches import cloudformation

    owner, attr = {"apply_update_follows_conditions": (ResourceMap, "build_resource_diff"),
                   "apply_mapping_update_resets_removed_properties": (EventSourceMapping,
                                                                       "update_from_cloudformation_json"),
                   "apply_queue_update_sets_attributes": (Queue, "update_from_cloudformation_json")}[apply]
    monkeypatch.setattr(owner, attr, lambda *changed: None)
    with pytest.raises(patches.PatchError, match=r"moto .* changed .*Install moto"):
        getattr(cloudformation, apply)()
