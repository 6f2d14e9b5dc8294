"""A small end-to-end check of the offline AWS: a queue, a function that uses it,
one invoke, and the REPORT line Lambda wrote for it."""

from __future__ import annotations

import json

from sqslab import target
from sqslab.deploy.code_zip import zip_files

SMOKE_HANDLER = '''
import os
import boto3

def lambda_handler(event, context):
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=os.environ["queue_name"])["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody=event.get("text", "hello"))
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1).get("Messages", [])
    for m in got:
        sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    return {"statusCode": 200, "body": [m["Body"] for m in got]}
'''

NAME = "sqslab-smoke"


def ensure_role(iam, name: str = f"{NAME}-role", policy: dict | None = None) -> str:
    """A role Lambda may assume; ``policy``, if given, is its inline policy ``sqslab`` (a function
    runs as its role, offline as on AWS: what the role does not allow, the code may not do)."""
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
        arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    if policy is not None:
        iam.put_role_policy(RoleName=name, PolicyName="sqslab", PolicyDocument=json.dumps(policy))
    return arn


def run(say=print) -> dict:
    """Run the smoke flow offline; returns what it saw."""
    from sqslab.base.loglines import parse_report

    tgt = target.resolve("offline")
    say(f"offline AWS at {tgt.endpoint_url}")
    sqs, lam, iam = (target.client(s, tgt) for s in ("sqs", "lambda", "iam"))
    url = sqs.create_queue(QueueName=f"{NAME}-queue")["QueueUrl"]
    say(f"queue     {url}")
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    role = ensure_role(iam, policy={"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Resource": queue_arn,
        "Action": ["sqs:GetQueueUrl", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage"]}]})
    try:
        lam.delete_function(FunctionName=NAME)
    except lam.exceptions.ResourceNotFoundException:
        pass
    lam.create_function(
        FunctionName=NAME,
        Runtime="python3.12",
        Role=role,
        Handler="index.lambda_handler",
        Code={"ZipFile": zip_files({"index.py": SMOKE_HANDLER})},
        Environment={"Variables": {"queue_name": f"{NAME}-queue"}},
        Timeout=10,
    )
    say(f"function  {NAME}")
    resp = lam.invoke(FunctionName=NAME, Payload=json.dumps({"text": "hello from the smoke flow"}), LogType="Tail")
    payload = json.loads(resp["Payload"].read())
    import base64

    tail = base64.b64decode(resp["LogResult"]).decode()
    report = next(line for line in tail.splitlines() if line.startswith("REPORT "))
    say(f"returned  {payload}")
    say(f"log tail  {report}")
    parsed = parse_report(report)
    if resp.get("FunctionError") or payload.get("body") != ["hello from the smoke flow"] or parsed is None:
        raise RuntimeError(f"smoke flow failed: {resp.get('FunctionError')} {payload}")
    return {"payload": payload, "report": parsed}
