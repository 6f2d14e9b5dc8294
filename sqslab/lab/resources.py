"""The deployed resources as tables, and what is left after a teardown.

Each function takes a stack name and a target, or a :class:`~sqslab.lab.handle.Lab`
in place of the name."""

from __future__ import annotations

import json
import time

from sqslab.config import DEFAULT_STACK
from sqslab.deploy import scratch
from sqslab.lab.handle import Lab


def _frame(rows):
    import pandas as pd

    return pd.DataFrame(rows)


def queue_table(stack_name: str = DEFAULT_STACK, target=None):
    """The queue's polling and visibility settings, as SQS reports them."""
    lab = Lab.of(stack_name, target)
    sqs = lab.client("sqs")
    url = sqs.get_queue_url(QueueName=lab.queue_name)["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    keep = ["ReceiveMessageWaitTimeSeconds", "VisibilityTimeout", "MessageRetentionPeriod", "MaximumMessageSize",
            "DelaySeconds", "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    return _frame([{"attribute": k, "value": attrs.get(k)} for k in keep]).set_index("attribute")


def functions_table(stack_name: str = DEFAULT_STACK, target=None):
    lab = Lab.of(stack_name, target)
    lam = lab.client("lambda")
    rows = []
    for logical, name in lab.function_names().items():
        cfg = lam.get_function_configuration(FunctionName=name)
        rows.append({
            "function": logical, "name": cfg["FunctionName"], "runtime": cfg["Runtime"],
            "handler": cfg["Handler"], "memory_mb": cfg["MemorySize"], "timeout_s": cfg["Timeout"],
            "environment": json.dumps(cfg.get("Environment", {}).get("Variables", {}), sort_keys=True),
        })
    return _frame(rows).set_index("function")


def policies_table(stack_name: str = DEFAULT_STACK, target=None):
    """What each function's role may do on the queue, read back from IAM."""
    lab = Lab.of(stack_name, target)
    cfn, iam = lab.client("cloudformation"), lab.client("iam")
    resources = cfn.list_stack_resources(StackName=lab.name)["StackResourceSummaries"]
    roles = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::IAM::Role"}
    rows = []
    for i in (1, 2, 3):
        role = roles[f"Function{i}Role"].split("/")[-1]
        actions, on = [], []
        for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
            doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
            doc = json.loads(doc) if isinstance(doc, str) else doc
            for st in doc["Statement"]:
                actions += st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
                on += st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]]
        managed = [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
        rows.append({"function": f"function{i}", "sqs actions": ", ".join(sorted(actions)),
                     "on": ", ".join(sorted(set(on))), "managed policies": ", ".join(managed),
                     "may delete": "sqs:DeleteMessage" in actions})
    return _frame(rows).set_index("function")


def queue_count(sqs, queue_url: str) -> int:
    """Messages in the queue, visible or in flight (GetQueueAttributes)."""
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    attrs = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=names)["Attributes"]
    return sum(int(attrs.get(n, 0)) for n in names)


def empty_queue(sqs, queue_url: str) -> int:
    """Empty a queue (messages in flight too); returns how many were there. SQS allows one
    PurgeQueue per queue every 60 s, so an empty queue is left alone, and a queue whose
    messages are all visible is emptied by receiving and deleting them."""
    count = queue_count(sqs, queue_url)
    if count == 0:
        return 0
    # Visible messages are received and deleted (no wait); a purge, for the ones in flight, only if
    # some are left, so a chapter run twice within a minute does not meet the purge limit.
    for _ in range(100):
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
        for m in got:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])
        if not got:
            break
    if queue_count(sqs, queue_url) == 0:
        return count
    for attempt in range(13):
        try:
            sqs.purge_queue(QueueUrl=queue_url)
            break
        except sqs.exceptions.PurgeQueueInProgress:
            if attempt == 0:
                print("waiting for SQS's one-purge-per-60-s limit before emptying the queue")
            time.sleep(5)
    deadline = time.monotonic() + 60  # a purge takes up to 60 s on AWS
    while queue_count(sqs, queue_url) and time.monotonic() < deadline:
        time.sleep(0.2)
    return count


def purge(stack_name: str = DEFAULT_STACK, target=None) -> int:
    """Empty the stack's queue (messages in flight too) so a sequence starts clean; returns how
    many were there (:func:`empty_queue`)."""
    lab = Lab.of(stack_name, target)
    sqs = lab.client("sqs")
    return empty_queue(sqs, sqs.get_queue_url(QueueName=lab.queue_name)["QueueUrl"])


def leftovers(stack_name: str = DEFAULT_STACK, target=None, held: list | None = None) -> list[str]:
    """What still exists of the stack, one line each: the stack itself, any resource in ``held``
    ((type, physical id) pairs: what it held before its teardown, as :func:`sqslab.deploy.stack.teardown`
    reports them; by default, what it holds now), its functions' log groups, the scratch queues of
    its experiments and its artifacts. Resource types this cannot look up are counted, not guessed."""
    from sqslab.deploy.stack import artifact_bucket_name, describe, held_resources

    lab = Lab.of(stack_name, target)
    cfn = lab.client("cloudformation")
    found = []
    if describe(cfn, lab.name):
        found.append(f"stack {lab.name}")
        if held is None:
            held = held_resources(cfn, lab.name)
    unchecked = 0
    for rtype, physical_id in held or []:
        exists = _exists(lab, rtype, physical_id)
        if exists is None:
            unchecked += 1
        elif exists:
            found.append(f"{rtype} {physical_id}")
    for url in scratch.queues(lab.client("sqs"), lab.name):
        found.append(f"scratch queue {url.rsplit('/', 1)[-1]}")
    for name in scratch.functions(lab.client("lambda"), lab.name):
        found.append(f"scratch function {name}")
    for uuid_ in scratch.mappings(lab.client("lambda"), lab.name):
        found.append(f"event source mapping {uuid_} on a scratch queue")
    s3 = lab.client("s3")
    bucket = artifact_bucket_name(lab.target)
    try:
        keys = s3.list_objects_v2(Bucket=bucket, Prefix=f"{lab.name}/").get("KeyCount", 0)
        if keys:
            found.append(f"{keys} artifacts in s3://{bucket}/{lab.name}/")
    except s3.exceptions.ClientError:
        pass
    if unchecked:
        found.append(f"({unchecked} resources of types not looked up here; see the CloudFormation console)")
    return found


def _exists(lab: Lab, rtype: str, physical_id: str) -> bool | None:
    """Whether the resource is still there; None for a type this does not look up."""
    from botocore.exceptions import ClientError

    lookups = {
        "AWS::SQS::Queue": ("sqs", lambda c: c.get_queue_attributes(QueueUrl=physical_id, AttributeNames=["QueueArn"])),
        "AWS::Lambda::Function": ("lambda", lambda c: c.get_function_configuration(FunctionName=physical_id)),
        "AWS::Lambda::EventSourceMapping": ("lambda", lambda c: c.get_event_source_mapping(UUID=physical_id)),
        "AWS::IAM::Role": ("iam", lambda c: c.get_role(RoleName=physical_id)),
        "AWS::Logs::LogGroup": ("logs", lambda c: _log_group(c, physical_id)),
        "AWS::S3::Bucket": ("s3", lambda c: c.head_bucket(Bucket=physical_id)),
        "AWS::DynamoDB::Table": ("dynamodb", lambda c: c.describe_table(TableName=physical_id)),
        "AWS::SNS::Topic": ("sns", lambda c: c.get_topic_attributes(TopicArn=physical_id)),
        "AWS::Lambda::LayerVersion": ("lambda", lambda c: _layer_version(c, physical_id)),
    }
    if rtype not in lookups:
        return None
    service, look = lookups[rtype]
    try:
        look(lab.client(service))
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if "NotFound" in code or "NonExistent" in code or code in ("NoSuchEntity", "QueueDoesNotExist", "404",
                                                                    "NoSuchBucket"):
            return False
        raise
    return True


def _layer_version(lam, arn: str) -> None:
    """A layer version by its ARN (arn:...:layer:NAME:VERSION)."""
    layer, version = arn.rsplit(":", 1)
    lam.get_layer_version(LayerName=layer, VersionNumber=int(version))


def _log_group(logs, name: str) -> None:
    groups = logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    if not any(g["logGroupName"] == name for g in groups):
        raise _not_found("ResourceNotFoundException")


def _not_found(code: str):
    from botocore.exceptions import ClientError

    return ClientError({"Error": {"Code": code, "Message": "not found"}}, "lookup")
