"""Stacks side by side: nothing one stack owns is touched by another's deploy,
failure or teardown.

CloudFormation's create handlers fail with AlreadyExists when "the specified
resource already existed before the execution of this handler" (AWS CloudFormation
Extension development guide, "Resource type handler error codes"; the contract
test ``contract_create_create`` creates a resource twice and expects the second
to fail). A failed create therefore rolls back only what it made. moto takes the
existing resource over instead (patch ``cfn_create_refuses_existing_names``)."""


from __future__ import annotations

import json
import uuid

import pytest

from sqslab.base.errors import SqslabError
from sqslab.deploy import stack, template
from sqslab.deploy.code_zip import zip_files
from sqslab.lab.handle import Lab

pytestmark = pytest.mark.usefixtures("offline")


def unique(prefix):
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def counts(clients, queue_name) -> tuple[int, int]:
    url = clients.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    attrs = clients.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]), int(attrs["ApproximateNumberOfMessagesNotVisible"])


def functions(clients) -> set[str]:
    return {f["FunctionName"] for f in getattr(clients, "lambda").list_functions()["Functions"]}


def raw_create(clients, name: str, resources: dict) -> tuple[str, list[str]]:
    """CreateStack with plain boto3 (no sqslab pre-check): final status and failure reasons."""
    cfn = clients.cloudformation
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    status = stack.wait(cfn, name, progress=False)
    reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
               if e.get("ResourceStatus") == "CREATE_FAILED"]
    return status, reasons


@pytest.fixture(scope="module")
def first(clients):
    """Stack A with two messages waiting in its queue."""
    name, prefix = unique("coll-a-"), unique("ca")
    stack.deploy(stack_name=name, params={"Prefix": prefix, "ReceiveMessageWaitTimeSeconds": 1}, progress=False)
    for _ in range(2):
        Lab.of(name).invoke("function1", progress=False)
    yield {"stack": name, "prefix": prefix, "queue": f"{prefix}-queue"}
    stack.teardown(name, progress=False)


def test_same_prefix_is_refused_before_anything_is_created(clients, first):
    before = (counts(clients, first["queue"]), functions(clients))
    for layout in (template.DEFAULT_TEMPLATE, template.NESTED_TEMPLATE):
        name = unique("coll-dup-")
        with pytest.raises(SqslabError) as err:
            stack.deploy(layout, stack_name=name, params={"Prefix": first["prefix"]}, progress=False)
        line = str(err.value)
        assert "\n" not in line
        assert f"Prefix '{first['prefix']}' is taken: stack {first['stack']} already owns {first['queue']}" in line
        assert f"sqslab teardown --stack-name {first['stack']}" in line
        assert stack.describe(clients.cloudformation, name) is None
    assert (counts(clients, first["queue"]), functions(clients)) == before


def test_failed_create_deletes_only_what_it_made(clients, first, role_arn):
    """A create that reuses stack A's names fails on the first of them and rolls back
    only the resource it made before (the Other queue); A keeps its queue, messages and functions."""
    before = (counts(clients, first["queue"]), functions(clients))
    other = unique("coll-other-q-")
    status, reasons = raw_create(clients, unique("coll-raw-"), {
        "Other": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": other}},
        "Queue": {"Type": "AWS::SQS::Queue", "DependsOn": "Other", "Properties": {"QueueName": first["queue"]}},
        "Function": {"Type": "AWS::Lambda::Function", "DependsOn": "Queue", "Properties": {
            "FunctionName": f"{first['prefix']}-function1", "Runtime": "python3.12", "Handler": "index.handler",
            "Role": role_arn, "Code": {"ZipFile": "def handler(e, c):\n    return 'taken over'\n"}}},
    })
    assert status == "ROLLBACK_COMPLETE"
    assert reasons[0].startswith(f"{first['queue']} already exists in stack arn:aws:cloudformation:")
    assert first["stack"] in reasons[0]
    assert not any(u.endswith("/" + other) for u in clients.sqs.list_queues().get("QueueUrls", []))
    assert (counts(clients, first["queue"]), functions(clients)) == before
    got = Lab.of(first["stack"]).invoke("function1", progress=False)
    assert got.function_error is None and got.body != "taken over"
    # that send added a third message; take it back so the others see two
    url = clients.sqs.get_queue_url(QueueName=first["queue"])["QueueUrl"]
    body = got.payload["body"]
    for msg in clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]:
        if msg["MessageId"] in body:
            clients.sqs.delete_message(QueueUrl=url, ReceiptHandle=msg["ReceiptHandle"])
    assert counts(clients, first["queue"]) == before[0]


def test_resources_made_outside_any_stack_are_not_taken_over(clients, role_arn):
    lam = getattr(clients, "lambda")
    queue, fn = unique("coll-hand-q-"), unique("coll-hand-fn-")
    url = clients.sqs.create_queue(QueueName=queue)["QueueUrl"]
    clients.sqs.send_message(QueueUrl=url, MessageBody="keep me")
    lam.create_function(FunctionName=fn, Runtime="python3.12", Role=role_arn, Handler="index.handler",
                        Code={"ZipFile": zip_files({"index.py": "def handler(e, c):\n    return 'mine'\n"})})
    for logical, props, rtype in (
        ("Queue", {"QueueName": queue}, "AWS::SQS::Queue"),
        ("Function", {"FunctionName": fn, "Runtime": "python3.12", "Handler": "index.handler", "Role": role_arn,
                      "Code": {"ZipFile": "def handler(e, c):\n    return 'theirs'\n"}}, "AWS::Lambda::Function"),
    ):
        status, reasons = raw_create(clients, unique("coll-hand-"), {logical: {"Type": rtype, "Properties": props}})
        assert status == "ROLLBACK_COMPLETE"
        given = props[rtype.rsplit("::", 1)[-1] + "Name"]
        assert reasons == [f"Resource of type '{rtype}' with identifier '{given}' already exists."]
    assert counts(clients, queue) == (1, 0)
    out = lam.invoke(FunctionName=fn, Payload=b"{}")
    assert json.loads(out["Payload"].read()) == "mine"
    lam.delete_function(FunctionName=fn)
    clients.sqs.delete_queue(QueueUrl=url)


def test_nested_child_failure_fails_the_parent_and_goes_with_it(clients, first):
    name = unique("coll-nest-")
    cfn = clients.cloudformation
    before = {s["StackName"] for s in cfn.describe_stacks()["Stacks"]}
    # Through sqslab's packaging, without its pre-check: the child's queue name is taken.
    artifacts = template.Artifacts(template.PLACEHOLDER_BUCKET, name, "us-east-1")
    bucket = "sqslab-artifacts-123456789012-us-east-1"
    stack.ensure_bucket(clients.s3, bucket, "us-east-1", create=True)
    artifacts.bucket = bucket
    artifacts.put = lambda key, data: clients.s3.put_object(Bucket=bucket, Key=key, Body=data)
    doc, _ = template.package(template.NESTED_TEMPLATE, artifacts)
    cfn.create_stack(StackName=name, TemplateBody=template.render(doc), Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": "Prefix", "ParameterValue": first["prefix"]}])
    assert stack.wait(cfn, name, progress=False) == "ROLLBACK_COMPLETE"
    reasons = [e["ResourceStatusReason"] for e in cfn.describe_stack_events(StackName=name)["StackEvents"]
               if e["ResourceStatus"] == "CREATE_FAILED"]
    assert reasons[-1].startswith("Embedded stack arn:aws:cloudformation:")
    assert reasons[-1].endswith("was not successfully created: The following resource(s) failed to create: [Queue].")
    # sqslab's summary follows the nested stack to the resource at the root of it
    lines = stack.failure_summary(cfn, name)
    assert lines[0].startswith(f"SQSStack/Queue (AWS::SQS::Queue) failed: {first['queue']} already exists in stack ")
    assert stack.outputs_of(stack.describe(cfn, name)) == {}
    cfn.delete_stack(StackName=name)
    stack.wait(cfn, name, progress=False)
    for key in artifacts.keys:
        clients.s3.delete_object(Bucket=bucket, Key=key)
    assert {s["StackName"] for s in cfn.describe_stacks()["Stacks"]} == before
    assert counts(clients, first["queue"]) == (2, 0)


def test_two_stacks_side_by_side(clients, first):
    """Stack B's deploy, update, refused deploy and teardown leave stack A's messages where they were."""
    name, prefix = unique("coll-b-"), unique("cb")
    assert stack.deploy(stack_name=name, params={"Prefix": prefix}, progress=False).action == "created"
    Lab.of(name).invoke("function1", progress=False)
    assert stack.deploy(stack_name=name, params={"Prefix": prefix, "VisibilityTimeout": 30},
                        progress=False).action == "updated"
    with pytest.raises(SqslabError):
        stack.deploy(stack_name=name, params={"Prefix": first["prefix"]}, progress=False)
    assert counts(clients, f"{prefix}-queue") == (1, 0)
    assert counts(clients, first["queue"]) == (2, 0)
    stack.teardown(name, progress=False)
    assert counts(clients, first["queue"]) == (2, 0)
    assert {f"{first['prefix']}-function{i}" for i in (1, 2, 3)} <= functions(clients)
    got = Lab.of(first["stack"]).invoke("function3", progress=False)
    assert len(got.body) == 2
    for _ in range(2):
        Lab.of(first["stack"]).invoke("function1", progress=False)


def test_nested_update_keeps_the_queue_and_its_messages(clients):
    """Patch cfn_nested_stack_updates_in_place: CloudFormation updates nested stacks in place
    (AWS CloudFormation User Guide, "Nested stacks"); a queue's VisibilityTimeout changes
    without replacing the queue (AWS::SQS::Queue, VisibilityTimeout: Update requires no interruption)."""
    name, prefix = unique("coll-n-"), unique("cn")
    stack.deploy(template.NESTED_TEMPLATE, stack_name=name, params={"Prefix": prefix}, progress=False)
    Lab.of(name).invoke("function1", progress=False)
    before = clients.sqs.get_queue_attributes(
        QueueUrl=clients.sqs.get_queue_url(QueueName=f"{prefix}-queue")["QueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    result = stack.deploy(template.NESTED_TEMPLATE, stack_name=name, params={"Prefix": prefix, "VisibilityTimeout": 30},
                          progress=False)
    assert result.action == "updated"
    attrs = clients.sqs.get_queue_attributes(
        QueueUrl=clients.sqs.get_queue_url(QueueName=f"{prefix}-queue")["QueueUrl"], AttributeNames=["All"]
    )["Attributes"]
    assert attrs["VisibilityTimeout"] == "30" and attrs["CreatedTimestamp"] == before["CreatedTimestamp"]
    assert counts(clients, f"{prefix}-queue") == (1, 0)
    stack.teardown(name, progress=False)


@pytest.mark.parametrize("change", ["another template", "another Prefix", "the other layout"])
def test_an_update_that_would_delete_or_replace_a_queue_is_refused(clients, change):
    """An update deletes what the new template leaves out and replaces a queue whose QueueName
    changes ("Update requires: Replacement", AWS::SQS::Queue in the CloudFormation template
    reference): either loses the queue's messages, so the deploy is refused before it starts."""
    name, prefix = unique("keep-"), unique("kp")
    stack.deploy(stack_name=name, params={"Prefix": prefix}, progress=False)
    Lab.of(name).invoke("function1", progress=False)
    template, params = {
        "another template": ("retries", {"Prefix": unique("rt")}),
        "another Prefix": ("single", {"Prefix": unique("kq")}),
        "the other layout": ("nested", {"Prefix": prefix}),
    }[change]
    with pytest.raises(SqslabError, match=rf"would delete or replace stack {name}'s (queue|log group) .*"
                                          rf"under another --stack-name, or tear {name} down first"):
        stack.deploy(template, stack_name=name, params=params, progress=False)
    assert counts(clients, f"{prefix}-queue") == (1, 0), "the message is still there"
    assert "Function1Name" in stack.outputs(name), "the stack is still the article's"
    stack.teardown(name, progress=False)


def test_a_nested_stack_is_left_to_the_stack_that_owns_it(clients):
    """CloudFormation API reference, Stack: a nested stack's ParentId and RootId name the stacks it was
    created for. Tearing one down or deploying to it directly would leave its top-level stack
    describing resources it no longer has: both are refused in one line naming that stack, and
    nothing changes."""
    name, prefix = unique("own-"), unique("ow")
    stack.deploy("nested", stack_name=name, params={"Prefix": prefix}, progress=False)
    try:
        cfn = clients.cloudformation
        root = cfn.describe_stacks(StackName=name)["Stacks"][0]
        children = [s for s in cfn.describe_stacks()["Stacks"]
                    if s.get("ParentId") == root["StackId"] and s["StackStatus"] != "DELETE_COMPLETE"]
        assert len(children) == 4 and all(s["RootId"] == root["StackId"] for s in children)
        queue_stack = next(s["StackName"] for s in children if "SQS" in s["StackName"])
        with pytest.raises(SqslabError, match=rf"stack {queue_stack} is nested in stack {name}, which owns it: "
                                              rf"tear down {name} instead"):
            stack.teardown(queue_stack, progress=False)
        with pytest.raises(SqslabError, match=rf"deploy to {name} instead"):
            stack.deploy(stack_name=queue_stack, params={"Prefix": prefix}, progress=False)
        assert counts(clients, f"{prefix}-queue") == (0, 0), "the queue is still there"
        assert cfn.describe_stacks(StackName=queue_stack)["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    finally:
        stack.teardown(name, progress=False)


def test_an_update_a_resource_refuses_rolls_the_whole_stack_back(clients):
    """CloudFormation User Guide, "Monitor the progress of a stack update": a resource that fails its
    update (UPDATE_FAILED, with the service's reason) rolls every resource back to the previous
    template and parameters, and the stack ends UPDATE_ROLLBACK_COMPLETE. Here Lambda refuses the
    mapping's BatchSize 11 without a batching window (services-sqs-parameters), after the function's
    MemorySize was already changed: the deploy fails in one line and nothing keeps the new values."""
    from sqslab.base.errors import DeployError

    name, prefix = unique("upd-"), unique("up")
    base = {"Prefix": prefix, "BatchSize": 11, "MaximumBatchingWindowInSeconds": 1}
    stack.deploy("retries", stack_name=name, params=base, progress=False)
    try:
        with pytest.raises(DeployError, match=r"ConsumerMapping \(AWS::Lambda::EventSourceMapping\) failed: Maximum "
                                              r"batch window in seconds must be greater than 0.*UPDATE_ROLLBACK_COMPLETE"):
            stack.deploy("retries", stack_name=name, progress=False,
                         params={**base, "MaximumBatchingWindowInSeconds": 0, "MemorySize": 256})
        cfn, lam = clients.cloudformation, getattr(clients, "lambda")
        found = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert found["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        params = {p["ParameterKey"]: p["ParameterValue"] for p in found["Parameters"]}
        assert (params["MaximumBatchingWindowInSeconds"], params["MemorySize"]) == ("1", "128")
        assert lam.get_function_configuration(FunctionName=f"{prefix}-consumer")["MemorySize"] == 128
        mapping = lam.list_event_source_mappings(FunctionName=f"{prefix}-consumer")["EventSourceMappings"][0]
        assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (11, 1)
        assert stack.deploy("retries", stack_name=name, progress=False, params={**base, "MemorySize": 256}).action == "updated"
        assert lam.get_function_configuration(FunctionName=f"{prefix}-consumer")["MemorySize"] == 256
    finally:
        stack.teardown(name, progress=False)


def test_a_rollback_restores_what_the_update_changed_and_removes_what_it_added(clients):
    """CloudFormation User Guide, "Monitor the progress of a stack update": the rollback returns every
    resource to the previous template and parameters, whichever parameters the failed update named
    (a stack created on its defaults included), and deletes the resources the update added."""
    cfn, sqs, tag = clients.cloudformation, clients.sqs, unique("rb")
    def body(extra=False):
        doc = {"Parameters": {"Vt": {"Type": "Number", "Default": 30}, "Big": {"Type": "Number", "Default": 100}},
               "Resources": {
                   "One": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{tag}-one", "VisibilityTimeout": {"Ref": "Vt"}}},
                   "Two": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{tag}-two", "VisibilityTimeout": {"Ref": "Big"}}}}}
        if extra:  # a queue SQS refuses: 50,000 s is past the 12 hours VisibilityTimeout allows
            doc["Resources"]["Extra"] = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{tag}-extra",
                                                                                  "VisibilityTimeout": 50000}}
        return json.dumps(doc)

    def vt(name):
        url = sqs.get_queue_url(QueueName=f"{tag}-{name}")["QueueUrl"]
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]["VisibilityTimeout"]

    name = f"{tag}-stack"
    cfn.create_stack(StackName=name, TemplateBody=body())  # on the parameters' defaults
    try:
        cfn.update_stack(StackName=name, TemplateBody=body(), Parameters=[
            {"ParameterKey": "Vt", "ParameterValue": "60"}, {"ParameterKey": "Big", "ParameterValue": "50000"}])
        assert cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        assert (vt("one"), vt("two")) == ("30", "100")
        cfn.update_stack(StackName=name, TemplateBody=body(extra=True))
        found = cfn.describe_stacks(StackName=name)["Stacks"][0]
        assert found["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
        assert sorted(r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]) == ["One", "Two"]
        assert not any(u.endswith(f"{tag}-extra") for u in sqs.list_queues(QueueNamePrefix=tag).get("QueueUrls", []))
        failed = [e for e in cfn.describe_stack_events(StackName=name)["StackEvents"] if e["ResourceStatus"] == "CREATE_FAILED"]
        assert failed and failed[0]["LogicalResourceId"] == "Extra"
    finally:
        cfn.delete_stack(StackName=name)
