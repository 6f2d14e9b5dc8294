"""Each function runs as its role (sqslab.offline.iam.policy, the hook in sqslab.offline.auth).

Unit tests of the evaluator follow the IAM User Guide: "Policy evaluation logic",
"Determining whether a request is allowed or denied within an account", "IAM JSON
policy elements: Action / Resource / NotAction / NotResource / Condition". End to
end, through boto3: code running with a role that lacks sqs:DeleteMessage gets
AccessDenied in AWS's shape; a role that has it deletes; the learner may do
everything; a mapping whose role may not poll is refused (Lambda, services-sqs-configure).
"""


from __future__ import annotations

import base64
import json
import time
import uuid

import pytest
from helpers import make_function

ACCOUNT, REGION = "123456789012", "us-east-1"


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


CALLER = '''
import boto3
from botocore.exceptions import ClientError


def handler(event, context):
    out = []
    for service, operation, kwargs in event["calls"]:
        try:
            getattr(boto3.client(service), operation)(**kwargs)
            out.append({"code": None})
        except ClientError as e:
            meta = e.response["ResponseMetadata"]
            out.append({"code": e.response["Error"]["Code"], "message": e.response["Error"]["Message"],
                        "status": meta["HTTPStatusCode"], "query_error": meta["HTTPHeaders"].get("x-amzn-query-error")})
    return out
'''

BASIC = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"

TRUST = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


@pytest.fixture(scope="module")
def stack(clients, lam):
    """A queue and, as in the article's template, function2's role (receive, no delete) and function3's
    (receive and delete), each with AWSLambdaBasicExecutionRole attached; a function per role."""
    tag = uuid.uuid4().hex[:6]
    iam, sqs = clients.iam, clients.sqs
    url = sqs.create_queue(QueueName=f"iam-q-{tag}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    out = {"url": url, "arn": arn, "tag": tag}
    for n, actions in ((2, ["sqs:GetQueueUrl", "sqs:ReceiveMessage"]),
                       (3, ["sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"])):
        role = f"iam-f{n}-role-{tag}"
        out[f"role{n}"] = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName=role, PolicyName="queue", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [allow(actions, arn)]}))
        iam.attach_role_policy(RoleName=role, PolicyArn=BASIC)
        out[f"f{n}"] = make_function(lam, out[f"role{n}"], CALLER, name=f"iam-f{n}-{tag}", Timeout=20)
    return out


def calls(lam, name, *calls_):
    resp = lam.invoke(FunctionName=name, Payload=json.dumps({"calls": [list(c) for c in calls_]}))
    assert "FunctionError" not in resp, resp["Payload"].read()
    return json.loads(resp["Payload"].read())


def test_function2_role_may_not_delete_and_gets_accessdenied(stack, lam, clients):
    """SQS API permissions reference and "Troubleshoot access denied error messages": DeleteMessage without
    sqs:DeleteMessage is AccessDenied (HTTP 403, x-amzn-query-error AccessDenied;Sender), naming the
    assumed role's session (the function's name), the action and the queue; nothing is deleted."""
    clients.sqs.send_message(QueueUrl=stack["url"], MessageBody="keep me")
    handle = clients.sqs.receive_message(QueueUrl=stack["url"], VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
    got, receive, batch = calls(lam, stack["f2"], ("sqs", "delete_message", {"QueueUrl": stack["url"], "ReceiptHandle": handle}),
                                ("sqs", "receive_message", {"QueueUrl": stack["url"], "VisibilityTimeout": 0}),
                                ("sqs", "delete_message_batch", {"QueueUrl": stack["url"],
                                                                 "Entries": [{"Id": "1", "ReceiptHandle": handle}]}))
    role_name = stack["role2"].rsplit("/", 1)[-1]
    assert got == {"code": "AccessDenied", "status": 403, "query_error": "AccessDenied;Sender", "message": (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role_name}/{stack['f2']} is not authorized to perform: "
        f"sqs:deletemessage on resource: {stack['arn']} because no identity-based policy allows the "
        "sqs:deletemessage action")}
    assert receive == {"code": None}
    assert batch["code"] == "AccessDenied" and "sqs:deletemessage on resource" in batch["message"]
    attrs = clients.sqs.get_queue_attributes(QueueUrl=stack["url"], AttributeNames=["ApproximateNumberOfMessages"])
    assert attrs["Attributes"]["ApproximateNumberOfMessages"] == "1"
    drain(clients.sqs, stack["url"])


def drain(sqs, url):
    """Delete every visible message (as the learner; PurgeQueue allows one call a minute)."""
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return
        for m in got:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def test_function3_role_deletes_and_the_learner_may_do_everything(stack, lam, clients):
    """Policy evaluation logic: an applicable Allow allows. The learner's own identity is the account's
    administrator: it is not evaluated against any role."""
    sqs = clients.sqs
    sqs.send_message(QueueUrl=stack["url"], MessageBody="delete me")
    handle = sqs.receive_message(QueueUrl=stack["url"], VisibilityTimeout=0)["Messages"][0]["ReceiptHandle"]
    assert calls(lam, stack["f3"], ("sqs", "get_queue_url", {"QueueName": stack["url"].rsplit("/", 1)[-1]}),
                 ("sqs", "delete_message", {"QueueUrl": stack["url"], "ReceiptHandle": handle})) == [{"code": None}] * 2
    assert sqs.get_queue_attributes(QueueUrl=stack["url"], AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "0"
    # the learner: anything, on any service
    sqs.list_queues()
    clients.iam.list_roles()
    lam.list_functions()
    clients.logs.describe_log_groups()


def test_other_services_answer_in_their_own_shape(stack, lam):
    """Lambda answers AccessDeniedException (HTTP 403), CloudWatch Logs AccessDeniedException; GetCallerIdentity
    needs no permission (STS API reference); the managed AWSLambdaBasicExecutionRole allows the log writes."""
    fn_list, logs_read, logs_write, who = calls(
        lam, stack["f2"], ("lambda", "list_functions", {}), ("logs", "describe_log_groups", {}),
        ("logs", "create_log_group", {"logGroupName": f"/iam-test/{stack['tag']}"}), ("sts", "get_caller_identity", {}))
    assert fn_list["code"] == "AccessDeniedException" and fn_list["status"] == 403
    assert "lambda:ListFunctions on resource: *" in fn_list["message"]
    assert logs_read["code"] == "AccessDeniedException" and "logs:DescribeLogGroups" in logs_read["message"]
    assert logs_write == {"code": None} and who == {"code": None}


def test_an_explicit_deny_takes_effect_at_once(stack, lam, clients):
    """Determining whether a request is allowed or denied: an explicit deny overrides the Allow; the cache
    is per version of the role's policies, so a changed policy applies to the next request."""
    role = stack["role3"].rsplit("/", 1)[-1]
    get_url = ("sqs", "get_queue_url", {"QueueName": stack["url"].rsplit("/", 1)[-1]})
    assert calls(lam, stack["f3"], get_url) == [{"code": None}]
    clients.iam.put_role_policy(RoleName=role, PolicyName="no-lookups", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [deny("sqs:Get*", "*")]}))
    try:
        [got] = calls(lam, stack["f3"], get_url)
        assert got["code"] == "AccessDenied" and got["message"].endswith(
            "sqs:getqueueurl on resource: " + stack["arn"] + " with an explicit deny in an identity-based policy")
    finally:
        clients.iam.delete_role_policy(RoleName=role, PolicyName="no-lookups")
    assert calls(lam, stack["f3"], get_url) == [{"code": None}]


def test_a_mapping_whose_role_may_not_poll(stack, lam, clients):
    """Lambda developer guide, services-sqs-configure ("Setting up Lambda execution role permissions"): the
    mapping reads the queue with the function's role (ReceiveMessage, DeleteMessage, GetQueueAttributes), and
    CreateEventSourceMapping refuses a role without them (InvalidParameterValueException); a role that loses
    sqs:ReceiveMessage later reads nothing."""
    with pytest.raises(lam.exceptions.InvalidParameterValueException,
                       match="The provided execution role does not have permissions to call DeleteMessage on SQS"):
        lam.create_event_source_mapping(EventSourceArn=stack["arn"], FunctionName=stack["f2"])
    role = stack["role3"].rsplit("/", 1)[-1]
    poll = {"Version": "2012-10-17", "Statement": [allow(["sqs:ReceiveMessage", "sqs:GetQueueAttributes"], stack["arn"])]}
    clients.iam.put_role_policy(RoleName=role, PolicyName="poll", PolicyDocument=json.dumps(poll))
    uid = lam.create_event_source_mapping(EventSourceArn=stack["arn"], FunctionName=stack["f3"], BatchSize=1)["UUID"]
    try:
        clients.iam.put_role_policy(RoleName=role, PolicyName="stop", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [deny("sqs:ReceiveMessage", stack["arn"])]}))
        clients.sqs.send_message(QueueUrl=stack["url"], MessageBody="not for the mapping")
        time.sleep(1.5)
        attrs = clients.sqs.get_queue_attributes(QueueUrl=stack["url"], AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        assert (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"]) == ("1", "0")
    finally:
        lam.delete_event_source_mapping(UUID=uid)
        for name in ("poll", "stop"):
            clients.iam.delete_role_policy(RoleName=role, PolicyName=name)
        drain(clients.sqs, stack["url"])


WHO = '''
import boto3


def handler(event, context):
    return boto3.client("sts").get_caller_identity()
'''


def test_get_caller_identity_in_a_function_names_its_role_session(stack, lam, clients):
    """STS API reference, GetCallerIdentity: with a role's temporary credentials the Arn is the assumed
    role's session, arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION, and UserId is ROLE_ID:SESSION; Lambda
    names the session after the function. No permission is needed."""
    name = make_function(lam, stack["role2"], WHO, name=f"iam-who-{stack['tag']}", Timeout=20)
    resp = lam.invoke(FunctionName=name, Payload=b"{}")
    assert "FunctionError" not in resp
    who = json.loads(resp["Payload"].read())
    role = clients.iam.get_role(RoleName=stack["role2"].rsplit("/", 1)[-1])["Role"]
    assert who["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/{role['RoleName']}/{name}"
    assert who["UserId"] == f"{role['RoleId']}:{name}" and who["Account"] == ACCOUNT
    assert clients.sts.get_caller_identity()["Arn"] != who["Arn"], "the learner is not the function"


def test_a_new_role_takes_effect_with_new_execution_environments(stack, lam, clients):
    """Lambda developer guide, "Understanding the Lambda execution environment lifecycle": a configuration
    change (the role too) means new execution environments, so the next invoke runs with the new role's
    credentials and is a cold start."""
    name = make_function(lam, stack["role2"], WHO, name=f"iam-swap-{stack['tag']}", Timeout=20)
    before = json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())["Arn"]
    lam.update_function_configuration(FunctionName=name, Role=stack["role3"])
    resp = lam.invoke(FunctionName=name, Payload=b"{}", LogType="Tail")
    after = json.loads(resp["Payload"].read())["Arn"]
    assert stack["role2"].rsplit("/", 1)[-1] in before and stack["role3"].rsplit("/", 1)[-1] in after
    assert "Init Duration" in base64.b64decode(resp["LogResult"]).decode(), "a new environment: a cold start"


RAW = '''
import base64
import os
import urllib.error
import urllib.request

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest


def handler(event, context):
    """One request made by hand with this function's credentials, signed for SQS."""
    url = os.environ["AWS_ENDPOINT_URL"] + event["path"]
    body = base64.b64decode(event["body"])
    request = AWSRequest(method="POST", url=url, data=body,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    SigV4Auth(boto3.Session().get_credentials().get_frozen_credentials(), "sqs", os.environ["AWS_REGION"]).add_auth(request)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, headers=dict(request.headers.items()),
                                                           method="POST")) as resp:
            return resp.status
    except urllib.error.HTTPError as error:
        return error.code
'''


def test_a_functions_credentials_cannot_reach_the_emulators_own_api_nor_hide_an_action(stack, lam, clients):
    """Policy evaluation logic: a role may do only what its policies allow, for the request the service acts
    on. The emulator's own routes (reset, state dump) are not AWS: a role may never call them, whatever the
    signed body claims; and a request naming a parameter twice (which the service would act on is not
    certain) is refused. Nothing changes in either case."""
    from urllib.parse import urlencode

    name = make_function(lam, stack["role2"], RAW, name=f"iam-raw-{stack['tag']}", Timeout=20)
    allowed = urlencode({"Action": "ReceiveMessage", "QueueUrl": stack["url"]})
    victim = clients.sqs.create_queue(QueueName=f"iam-victim-{stack['tag']}")["QueueUrl"]

    def raw(path, body):  # the body travels base64-encoded: moto reads "&Action=" in an Invoke payload as its own
        payload = {"path": path, "body": base64.b64encode(body.encode()).decode()}
        resp = lam.invoke(FunctionName=name, Payload=json.dumps(payload))
        return json.loads(resp["Payload"].read())

    assert raw("/", allowed) == 200, "the role's own allowed request passes"
    assert raw("/moto-api/reset", allowed) == 403
    hidden = urlencode([("Action", "DeleteQueue"), ("QueueUrl", victim), ("Action", "ReceiveMessage"),
                        ("QueueUrl", stack["url"])])
    assert raw("/", hidden) == 400  # InvalidQueryParameter, to anyone (tests/unit/test_one_reading.py)
    assert clients.sqs.get_queue_attributes(QueueUrl=victim, AttributeNames=["QueueArn"]), "nothing was reset"
    clients.sqs.delete_queue(QueueUrl=victim)


def test_a_role_reaches_only_the_dynamodb_tables_and_actions_it_allows(clients, lam):
    """Service Authorization Reference, "Actions, resources, and condition keys for Amazon DynamoDB":
    each operation is dynamodb:<Operation> on the table's ARN (arn:aws:dynamodb:region:account:table/
    name); a batch needs its action on every table it names, a transaction the item action (PutItem...)
    on each item's table. Denied, DynamoDB answers AccessDeniedException (HTTP 400), naming the action
    and the table; nothing is written."""
    tag = uuid.uuid4().hex[:6]
    db, iam = clients.dynamodb, clients.iam
    tables = {}
    for name in ("own", "other"):
        tables[name] = f"iam-{name}-{tag}"
        db.create_table(TableName=tables[name], BillingMode="PAY_PER_REQUEST",
                        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    own_arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{tables['own']}"
    role = f"iam-db-role-{tag}"
    role_arn = iam.create_role(RoleName=role, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=role, PolicyName="table", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [allow(["dynamodb:GetItem", "dynamodb:PutItem"], own_arn)]}))
    iam.attach_role_policy(RoleName=role, PolicyArn=BASIC)
    fn = make_function(lam, role_arn, CALLER, name=f"iam-db-{tag}", Timeout=20)
    key, item = {"id": {"S": "k"}}, {"id": {"S": "k"}, "n": {"N": "1"}}
    put_own, get_own, get_other, delete_own, batch, transact = calls(
        lam, fn,
        ("dynamodb", "put_item", {"TableName": tables["own"], "Item": item}),
        ("dynamodb", "get_item", {"TableName": tables["own"], "Key": key}),
        ("dynamodb", "get_item", {"TableName": tables["other"], "Key": key}),
        ("dynamodb", "delete_item", {"TableName": tables["own"], "Key": key}),
        ("dynamodb", "batch_write_item", {"RequestItems": {tables["own"]: [{"PutRequest": {"Item": item}}],
                                                           tables["other"]: [{"PutRequest": {"Item": item}}]}}),
        ("dynamodb", "transact_write_items", {"TransactItems": [{"Put": {"TableName": tables["other"], "Item": item}}]}),
    )
    assert put_own == {"code": None} and get_own == {"code": None}
    assert get_other["code"] == "AccessDeniedException" and get_other["status"] == 400
    assert get_other["message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{fn} is not authorized to perform: dynamodb:GetItem on "
        f"resource: arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{tables['other']} because no identity-based policy "
        "allows the dynamodb:GetItem action")
    assert delete_own["code"] == "AccessDeniedException" and "dynamodb:DeleteItem on resource" in delete_own["message"]
    assert batch["code"] == "AccessDeniedException" and "dynamodb:BatchWriteItem" in batch["message"]
    assert transact["code"] == "AccessDeniedException" and "dynamodb:PutItem" in transact["message"]
    assert db.scan(TableName=tables["other"])["Count"] == 0, "nothing reached the table it may not write"
    assert db.get_item(TableName=tables["own"], Key=key)["Item"]["n"] == {"N": "1"}, "the denied delete changed nothing"
    for name in tables.values():
        db.delete_table(TableName=name)
