"""The experiments' short-lived queues: named by their stack, deleted by its teardown
when a failed cell left them, and nothing of another stack's touched; leftovers
looks every resource the stack held up again."""


from __future__ import annotations

import json
import uuid

import pytest

from sqslab.base.errors import SqslabError
from sqslab.deploy import scratch, stack
from sqslab.deploy.code_zip import zip_files
from sqslab.lab import resources
from sqslab.lab.handle import Lab

pytestmark = pytest.mark.usefixtures("offline")


def test_a_stack_never_claims_another_stacks_scratch_queues():
    assert not scratch.prefix("b-2").startswith(scratch.prefix("b"))
    assert scratch.queue_name("b", "slow-consumer").startswith("sqslab-scratch-b_slow-consumer-")
    long_a, long_b = "x" * 100 + "a", "x" * 100 + "b"
    assert scratch.prefix(long_a) != scratch.prefix(long_b)
    assert len(scratch.queue_name(long_a, "p" * 24)) <= 80  # SQS's limit on queue names


@pytest.mark.parametrize("purpose", ["", "Upper", "has space", "x" * 25, None])
def test_a_bad_purpose_is_one_clear_line(purpose):
    with pytest.raises(SqslabError, match="1-24 lower-case letters, digits and hyphens"):
        scratch.queue_name("sqslab", purpose)


def test_teardown_deletes_what_a_failed_cell_left_and_leftovers_finds_nothing(clients):
    name = f"scr{uuid.uuid4().hex[:6]}"
    stack.deploy(stack_name=name, params={"Prefix": f"p{uuid.uuid4().hex[:5]}"}, progress=False)
    lab = Lab.of(name, "offline")
    sqs = lab.client("sqs")
    left_by_a_cell = sqs.create_queue(QueueName=lab.scratch_queue_name("slow-consumer"))["QueueUrl"]
    another_stacks = sqs.create_queue(QueueName=scratch.queue_name(f"{name}-2", "exercise"))["QueueUrl"]
    before = resources.leftovers(lab)
    assert f"stack {name}" in before and f"scratch queue {left_by_a_cell.rsplit('/', 1)[-1]}" in before
    assert any(line.startswith("AWS::SQS::Queue ") for line in before)

    # a short-lived function (sqslab.lab.roles) that a kernel dying mid-cell would leave
    iam = lab.client("iam")
    role_name = f"{name}-poller"
    role = iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role_name, PolicyName="poll", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}]}))
    leftover = lab.client("lambda").create_function(
        FunctionName=f"{scratch.prefix(name)}probe-abc123", Runtime="python3.11", Role=role,
        Handler="index.lambda_handler", Code={"ZipFile": zip_files({"index.py": "def lambda_handler(e, c):\n    pass\n"})})
    queue_arn = sqs.get_queue_attributes(QueueUrl=left_by_a_cell, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    left_mapping = lab.client("lambda").create_event_source_mapping(EventSourceArn=queue_arn,
                                                                   FunctionName=leftover["FunctionName"])["UUID"]
    assert f"scratch function {leftover['FunctionName']}" in resources.leftovers(lab)
    assert f"event source mapping {left_mapping} on a scratch queue" in resources.leftovers(lab)
    report = stack.teardown(name, target=lab.target, progress=False)
    assert report["stack_deleted"] and report["scratch_queues_deleted"] == 1
    assert report["scratch_functions_deleted"] == 1 and report["scratch_mappings_deleted"] == 1
    types = {rtype for rtype, _ in report["resources"]}
    assert {"AWS::SQS::Queue", "AWS::Lambda::Function", "AWS::IAM::Role", "AWS::Logs::LogGroup"} <= types
    assert resources.leftovers(lab, held=report["resources"]) == []
    assert sqs.get_queue_attributes(QueueUrl=another_stacks, AttributeNames=["QueueArn"]), "not this stack's"
    sqs.delete_queue(QueueUrl=another_stacks)
    iam.delete_role_policy(RoleName=role_name, PolicyName="poll")
    iam.delete_role(RoleName=role_name)


def test_leftovers_names_a_resource_still_there_and_counts_types_it_cannot_look_up(clients):
    url = clients.sqs.create_queue(QueueName=f"still-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    gone = clients.sqs.create_queue(QueueName=f"gone-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    clients.sqs.delete_queue(QueueUrl=gone)
    held = [("AWS::SQS::Queue", url), ("AWS::SQS::Queue", gone), ("AWS::EC2::Instance", "i-0123456789abcdef0")]
    left = resources.leftovers(Lab.of("nosuchstack", "offline"), held=held)
    assert left == [f"AWS::SQS::Queue {url}", "(1 resources of types not looked up here; see the CloudFormation console)"]
    clients.sqs.delete_queue(QueueUrl=url)
