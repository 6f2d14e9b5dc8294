"""One request, one reading (sqslab.offline.iam.dispatch_check, the patches in sqslab.offline.patches.dispatch).

The role check judges the operation and the resource that moto's handler then acts on. These tests
run the emulator's WSGI stack in this process (moto's dispatcher behind sqslab's signature check,
with the two dispatch patches), so that what the service executed can be recorded at moto's backends
and compared with what the check saw:

- for every operation the series and the tests use, the check's action is the operation the backend
  ran and its resource is the queue, function or log group the backend acted on;
- each bypass found by trying the emulator as a hostile handler would (two credentials in one
  Authorization header; a QueueUrl with ``?/victim`` or ``#/victim``; ``X-Amz-Target`` with
  ``?Action=``; a form parameter named twice; a Lambda path with more segments than its route; a
  CloudWatch Logs group named in the query string) is refused, or judged as what it runs, and
  changes nothing it may not.

AWS pages: IAM User Guide, "Policy evaluation logic"; SQS API Reference, "Common Errors" and
each action's errors (InvalidAddress, QueueDoesNotExist); Lambda API Reference, Invoke
(FunctionName pattern, ValidationException); "Elements of an AWS API request signature"
(one Credential in the Authorization header).
"""


from __future__ import annotations

import json
import threading
import uuid

import boto3
import pytest
import urllib3
from botocore.config import Config

from sqslab.offline.auth import keystore, middleware, sigv4
from sqslab.offline.iam import dispatch_check
from sqslab.offline.patches import dispatch
from tests.conftest import free_port

REGION = "us-east-1"

EMPTY_ZIP = b"PK\x05\x06" + b"\0" * 18

TRUST = {"Version": "2012-10-17",
         "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


class Recorder:
    """What the check saw (its Call per request) and what moto's backends did (method, resource)."""

    def __init__(self):
        self.checked: list = []
        self.executed: list[tuple[str, str]] = []

    def clear(self):
        self.checked.clear()
        self.executed.clear()


SQS_METHODS = ("create_queue", "get_queue_url", "list_queues", "send_message", "send_message_batch",
               "receive_message", "delete_message", "delete_message_batch", "change_message_visibility",
               "change_message_visibility_batch", "get_queue_attributes", "set_queue_attributes", "purge_queue",
               "delete_queue", "list_queue_tags", "tag_queue")

LAMBDA_METHODS = ("create_function", "get_function", "delete_function", "invoke", "update_function_configuration",
                  "update_function_code", "list_functions", "put_function_concurrency", "get_function_concurrency",
                  "delete_function_concurrency", "list_event_source_mappings")

RUN_BY = {"GetFunctionConfiguration": "get_function"}  # the backend method a handler runs, where not its name

ESM_METHODS = ("get_event_source_mapping", "update_event_source_mapping", "delete_event_source_mapping")

DYNAMODB_METHODS = ("put_item", "get_item", "update_item", "delete_item", "query", "describe_table")

LOGS_METHODS = ("create_log_group", "delete_log_group", "create_log_stream", "put_log_events", "filter_log_events",
                "get_log_events", "describe_log_streams", "put_retention_policy")


@pytest.fixture(scope="module")
def emulator():
    """moto's server stack in this process, behind sqslab's signature check, with the dispatch patches and
    recorders on the backends. Yields (endpoint, recorder, learner principal)."""
    from moto.awslambda.models import LambdaBackend
    from moto.dynamodb.models import DynamoDBBackend
    from moto.logs.models import LogsBackend
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
    from moto.sns.models import SNSBackend
    from moto.sqs.models import SQSBackend
    from werkzeug.serving import make_server

    dispatch.apply_dispatch_action_one_reading()
    dispatch.apply_dispatch_checked()
    rec = Recorder()
    mp = pytest.MonkeyPatch()

    original_call_of = dispatch_check.call_of

    def recording_call_of(resp):
        call = original_call_of(resp)
        rec.checked.append(call)
        return call

    mp.setattr(dispatch_check, "call_of", recording_call_of)

    def wrap(cls, name, resource_of):
        original = getattr(cls, name)

        def wrapper(self, *args, **kwargs):
            rec.executed.append((name, resource_of(self, args, kwargs)))
            return original(self, *args, **kwargs)

        mp.setattr(cls, name, wrapper)

    def queue(self, args, kwargs):
        name = kwargs.get("queue_name") or kwargs.get("name") or (args[0] if args else "")
        return f"arn:aws:sqs:{self.region_name}:{self.account_id}:{name}" if isinstance(name, str) and name else "*"

    def function(self, args, kwargs):
        name = kwargs.get("function_name") or (args[0] if args else None)
        if name is None and isinstance(kwargs.get("spec"), dict):
            name = kwargs["spec"].get("FunctionName")
        if isinstance(name, dict):  # create_function(spec)
            name = name.get("FunctionName")
        if not isinstance(name, str):
            return "*"
        if name.startswith("arn:"):
            return name
        return f"arn:aws:lambda:{self.region_name}:{self.account_id}:function:{name}"

    def group(self, args, kwargs):
        name = kwargs.get("log_group_name") or (args[0] if args and isinstance(args[0], str) else None)
        return f"arn:aws:logs:{self.region_name}:{self.account_id}:log-group:{name}" if name else "*"

    for name in SQS_METHODS:
        wrap(SQSBackend, name, queue if name != "list_queues" else (lambda s, a, k: "*"))
    def mapping(self, args, kwargs):
        uuid_ = kwargs.get("uuid") or (args[0] if args else "")
        return f"arn:aws:lambda:{self.region_name}:{self.account_id}:event-source-mapping:{uuid_}"

    for name in LAMBDA_METHODS:
        wrap(LambdaBackend, name, function)
    for name in ESM_METHODS:
        wrap(LambdaBackend, name, mapping)
    wrap(LambdaBackend, "create_event_source_mapping", lambda s, a, k: "*")
    for name in LOGS_METHODS:
        wrap(LogsBackend, name, group)

    def table(self, args, kwargs):
        name = kwargs.get("table_name") or kwargs.get("name") or (args[0] if args else None)
        return f"arn:aws:dynamodb:{self.region_name}:{self.account_id}:table/{name}" if name else "*"

    for name in DYNAMODB_METHODS:
        wrap(DynamoDBBackend, name, table)

    def topic(self, args, kwargs):
        arn = kwargs.get("arn") or kwargs.get("topic_arn") or (args[1] if len(args) > 1 and args[1] else None) \
            or (args[0] if args else None)
        name = kwargs.get("name")
        if name:
            return f"arn:aws:sns:{self.region_name}:{self.account_id}:{name}"
        if isinstance(arn, str) and arn.count(":") >= 6:  # a subscription: its topic
            return arn.rsplit(":", 1)[0]
        return arn if isinstance(arn, str) and arn.startswith("arn:") else f"arn:aws:sns:{self.region_name}:{self.account_id}:{arn}"

    wrap(SNSBackend, "create_topic", lambda s, a, k: topic(s, (), {"name": k.get("name") or a[0]}))
    for name in ("subscribe", "delete_topic", "list_subscriptions_by_topic", "unsubscribe"):
        wrap(SNSBackend, name, lambda s, a, k: topic(s, (k.get("topic_arn") or k.get("arn") or k.get("subscription_arn")
                                                        or a[0],), {}))
    wrap(SNSBackend, "publish", lambda s, a, k: topic(s, (), {"arn": k.get("arn") or (a[1] if len(a) > 1 else None)}))
    wrap(SNSBackend, "list_topics", lambda s, a, k: "*")
    wrap(DynamoDBBackend, "list_tables", lambda s, a, k: "*")

    def fake_invoke(self, function_name, qualifier, body, headers, response_headers):
        self.get_function(function_name, qualifier)  # the function moto's invoke would run
        return b'"ran"'

    original_invoke = LambdaBackend.invoke  # the recording wrapper; the run itself needs sqslab's runtime

    def invoke(self, function_name, qualifier, body, headers, response_headers):
        rec.executed.append(("invoke", function(self, (function_name,), {})))
        return fake_invoke(self, function_name, qualifier, body, headers, response_headers)

    mp.setattr(LambdaBackend, "invoke", invoke)
    del original_invoke

    learner = keystore.STORE.add(keystore.Principal(keystore.access_key_id(), keystore.secret_key(), kind="learner"))
    app = middleware.middleware(DomainDispatcherApplication(create_backend_app), sigv4.Verifier(keystore.STORE))
    server = make_server("127.0.0.1", free_port(), app, threaded=True, request_handler=MotoRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = f"http://127.0.0.1:{server.server_address[1]}"
    yield endpoint, rec, learner
    server.shutdown()
    mp.undo()


def client(endpoint, principal, service):
    return boto3.client(service, endpoint_url=endpoint, region_name=REGION, aws_access_key_id=principal.access_key,
                        aws_secret_access_key=principal.secret_key, aws_session_token=principal.token,
                        config=Config(retries={"max_attempts": 1}))


@pytest.fixture(scope="module")
def world(emulator):
    """Two queues, two functions and two log groups made by the learner; a role that may do everything
    and one that may only send to ``allowed`` and write its own log group; a principal for each, as an
    execution environment's credentials are issued."""
    endpoint, rec, learner = emulator
    tag = uuid.uuid4().hex[:6]
    sqs, iam, lam, logs = (client(endpoint, learner, s) for s in ("sqs", "iam", "lambda", "logs"))
    allowed = sqs.create_queue(QueueName=f"allowed-{tag}")["QueueUrl"]
    victim = sqs.create_queue(QueueName=f"victim-{tag}")["QueueUrl"]
    roles = {}
    for kind, statements in (
            ("all", [{"Effect": "Allow", "Action": "*", "Resource": "*"}]),
            ("narrow", [{"Effect": "Allow", "Action": "sqs:SendMessage",
                         "Resource": f"arn:aws:sqs:{REGION}:123456789012:allowed-{tag}"},
                        {"Effect": "Allow", "Action": "logs:*",
                         "Resource": f"arn:aws:logs:{REGION}:123456789012:log-group:/aws/lambda/own-{tag}:*"}]),
            ("mid", [{"Effect": "Allow", "Action": "lambda:*",
                      "Resource": f"arn:aws:lambda:{REGION}:123456789012:function:own-{tag}"},
                     {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::own-{tag}/*"},
                     {"Effect": "Allow", "Action": ["cloudformation:*", "logs:*"], "Resource": "*"}])):
        name = f"r-{kind}-{tag}"
        roles[kind] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
    functions = {}
    for n in ("own", "other"):
        functions[n] = lam.create_function(FunctionName=f"{n}-{tag}", Runtime="python3.12", Role=roles["all"],
                                           Handler="index.handler", Code={"ZipFile": EMPTY_ZIP},
                                           Timeout=3)["FunctionArn"]
        logs.create_log_group(logGroupName=f"/aws/lambda/{n}-{tag}")
        logs.create_log_stream(logGroupName=f"/aws/lambda/{n}-{tag}", logStreamName="s")
    client(endpoint, learner, "dynamodb").create_table(
        TableName=f"t-{tag}", BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}])
    principals = {k: keystore.STORE.issue(functions["own"], roles[k]) for k in roles}
    rec.clear()
    return {"endpoint": endpoint, "rec": rec, "tag": tag, "allowed": allowed, "victim": victim, "roles": roles,
            "functions": functions, "principals": principals, "learner": learner, "sqs": sqs, "lam": lam,
            "logs": logs}


def _count(sqs, url) -> int:
    return int(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"])


def _matches(checked_resource: str, executed: str) -> bool:
    if checked_resource == executed:
        return True
    if ":log-group:" in executed:  # a group's streams: log-group:G:* or log-group:G:log-stream:S
        return checked_resource.startswith(executed + ":")
    if ":function:" in checked_resource:  # a qualified function is that function's version
        return checked_resource.rsplit(":", 1)[0] == executed
    return False


def test_every_operation_is_checked_as_the_service_runs_it(world):
    """For each operation the series and the tests use, made with a function's credentials (a role that
    may do everything), the check's action is the operation the backend ran and its resource is the one
    the backend acted on."""
    w = world
    fn = client(w["endpoint"], w["principals"]["all"], "lambda")
    sqs = client(w["endpoint"], w["principals"]["all"], "sqs")
    logs = client(w["endpoint"], w["principals"]["all"], "logs")
    db = client(w["endpoint"], w["principals"]["all"], "dynamodb")
    tag, url = w["tag"], w["allowed"]
    key = {"id": {"S": "k"}}
    group = f"/aws/lambda/own-{tag}"

    mappings: list[str] = []
    topics: list[str] = []
    subscriptions: list[str] = []
    sns = client(w["endpoint"], w["principals"]["all"], "sns")

    def handle():
        sqs.send_message(QueueUrl=url, MessageBody="h")
        return sqs.receive_message(QueueUrl=url, VisibilityTimeout=30)["Messages"][0]["ReceiptHandle"]

    operations = [
        ("CreateQueue", lambda: sqs.create_queue(QueueName=f"made-{tag}")),
        ("GetQueueUrl", lambda: sqs.get_queue_url(QueueName=f"allowed-{tag}")),
        ("ListQueues", lambda: sqs.list_queues()),
        ("SendMessage", lambda: sqs.send_message(QueueUrl=url, MessageBody="x")),
        ("SendMessageBatch", lambda: sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "y"}])),
        ("ReceiveMessage", lambda: sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)),
        ("GetQueueAttributes", lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])),
        ("SetQueueAttributes", lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "0"})),
        ("ListQueueTags", lambda: sqs.list_queue_tags(QueueUrl=url)),
        ("TagQueue", lambda: sqs.tag_queue(QueueUrl=url, Tags={"k": "v"})),
        ("PurgeQueue", lambda: sqs.purge_queue(QueueUrl=url)),
        ("DeleteQueue", lambda: sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=f"made-{tag}")["QueueUrl"])),
        ("Invoke", lambda: fn.invoke(FunctionName=f"other-{tag}", Payload=b"{}")),
        ("Invoke", lambda: fn.invoke(FunctionName=w["functions"]["other"], Payload=b"{}")),
        ("GetFunction", lambda: fn.get_function(FunctionName=f"other-{tag}")),
        ("UpdateFunctionConfiguration", lambda: fn.update_function_configuration(FunctionName=f"other-{tag}",
                                                                                 Timeout=4)),
        ("ListFunctions", lambda: fn.list_functions()),
        ("PutFunctionConcurrency", lambda: fn.put_function_concurrency(FunctionName=f"other-{tag}",
                                                                       ReservedConcurrentExecutions=5)),
        ("GetFunctionConcurrency", lambda: fn.get_function_concurrency(FunctionName=f"other-{tag}")),
        ("DeleteFunctionConcurrency", lambda: fn.delete_function_concurrency(FunctionName=f"other-{tag}")),
        ("ListEventSourceMappings", lambda: fn.list_event_source_mappings()),
        ("GetFunctionConfiguration", lambda: fn.get_function_configuration(FunctionName=f"other-{tag}")),
        ("UpdateFunctionCode", lambda: fn.update_function_code(FunctionName=f"other-{tag}", ZipFile=EMPTY_ZIP)),
        ("CreateFunction", lambda: fn.create_function(FunctionName=f"made-{tag}", Runtime="python3.12",
                                                      Role=w["roles"]["all"], Handler="index.handler",
                                                      Code={"ZipFile": EMPTY_ZIP})),
        ("DeleteFunction", lambda: fn.delete_function(FunctionName=f"made-{tag}")),
        ("CreateEventSourceMapping", lambda: mappings.append(fn.create_event_source_mapping(
            EventSourceArn=f"arn:aws:sqs:{REGION}:123456789012:allowed-{tag}", FunctionName=f"other-{tag}",
            Enabled=False)["UUID"])),
        ("GetEventSourceMapping", lambda: fn.get_event_source_mapping(UUID=mappings[0])),
        ("UpdateEventSourceMapping", lambda: fn.update_event_source_mapping(UUID=mappings[0], BatchSize=5)),
        ("DeleteEventSourceMapping", lambda: fn.delete_event_source_mapping(UUID=mappings[0])),
        ("CreateLogStream", lambda: logs.create_log_stream(logGroupName=group, logStreamName=f"s2-{tag}")),
        ("PutLogEvents", lambda: logs.put_log_events(logGroupName=group, logStreamName="s",
                                                     logEvents=[{"timestamp": 1, "message": "m"}])),
        ("FilterLogEvents", lambda: logs.filter_log_events(logGroupName=group)),
        ("GetLogEvents", lambda: logs.get_log_events(logGroupName=group, logStreamName="s")),
        ("DescribeLogStreams", lambda: logs.describe_log_streams(logGroupName=group)),
        ("PutRetentionPolicy", lambda: logs.put_retention_policy(logGroupName=group, retentionInDays=1)),
        ("CreateLogGroup", lambda: logs.create_log_group(logGroupName=f"/made/{tag}")),
        ("DeleteLogGroup", lambda: logs.delete_log_group(logGroupName=f"/made/{tag}")),
        ("PutItem", lambda: db.put_item(TableName=f"t-{tag}", Item={**key, "n": {"N": "1"}})),
        ("GetItem", lambda: db.get_item(TableName=f"t-{tag}", Key=key)),
        ("UpdateItem", lambda: db.update_item(TableName=f"t-{tag}", Key=key, UpdateExpression="SET n = :v",
                                              ExpressionAttributeValues={":v": {"N": "2"}})),
        ("Query", lambda: db.query(TableName=f"t-{tag}", KeyConditionExpression="id = :k",
                                   ExpressionAttributeValues={":k": {"S": "k"}})),
        ("DescribeTable", lambda: db.describe_table(TableName=f"t-{tag}")),
        ("DeleteItem", lambda: db.delete_item(TableName=f"t-{tag}", Key=key)),
        ("ListTables", lambda: db.list_tables()),
        ("CreateTopic", lambda: topics.append(sns.create_topic(Name=f"topic-{tag}")["TopicArn"])),
        ("Subscribe", lambda: subscriptions.append(sns.subscribe(
            TopicArn=topics[0], Protocol="sqs", Endpoint=f"arn:aws:sqs:{REGION}:123456789012:allowed-{tag}")[
            "SubscriptionArn"])),
        ("ListSubscriptionsByTopic", lambda: sns.list_subscriptions_by_topic(TopicArn=topics[0])),
        ("Publish", lambda: sns.publish(TopicArn=topics[0], Message="m")),
        ("ListTopics", lambda: sns.list_topics()),
        ("Unsubscribe", lambda: sns.unsubscribe(SubscriptionArn=subscriptions[0])),
        ("DeleteTopic", lambda: sns.delete_topic(TopicArn=topics[0])),
    ]
    # the message-handle operations need a handle made first
    for op, make in (("DeleteMessage", lambda h: sqs.delete_message(QueueUrl=url, ReceiptHandle=h)),
                     ("DeleteMessageBatch", lambda h: sqs.delete_message_batch(
                         QueueUrl=url, Entries=[{"Id": "1", "ReceiptHandle": h}])),
                     ("ChangeMessageVisibility", lambda h: sqs.change_message_visibility(
                         QueueUrl=url, ReceiptHandle=h, VisibilityTimeout=0)),
                     ("ChangeMessageVisibilityBatch", lambda h: sqs.change_message_visibility_batch(
                         QueueUrl=url, Entries=[{"Id": "1", "ReceiptHandle": h, "VisibilityTimeout": 0}]))):
        operations.insert(6, (op, (lambda make=make: make(handle()))))
    seen = set()
    for op, call in operations:
        w["rec"].clear()
        call()
        checked = [c for c in w["rec"].checked if c.operation == op]
        assert len(checked) == 1, (op, w["rec"].checked)
        (action, resource), *more = checked[0].pairs
        if op == "CreateFunction":  # giving a function a role needs iam:PassRole on it (Lambda)
            assert more == [("iam:PassRole", w["roles"]["all"])]
        method = RUN_BY.get(op) or "".join("_" + c.lower() if c.isupper() else c for c in op).lstrip("_")
        ran = [r for m, r in w["rec"].executed if m == method]
        assert ran, f"{op}: the backend did not run {method} ({w['rec'].executed})"
        if resource == "*":
            assert action.split(":")[1] in ("ListQueues", "ListFunctions", "ListEventSourceMappings",
                                            "CreateEventSourceMapping", "ListTables", "ListTopics"), op
        else:
            assert all(_matches(resource, r) for r in ran), (op, resource, ran)
        seen.add(op)
    assert len(seen) >= 53


def _raw(w, method, path, body=b"", headers=None, principal=None, service="sqs", auth_header=None):
    principal = principal or w["principals"]["narrow"]
    url = w["endpoint"] + path
    signed = sigv4.sign(method, url, access_key=principal.access_key, secret=principal.secret_key, region=REGION,
                       service=service, body=body, headers=headers, token=principal.token)
    if auth_header is not None:
        signed["authorization"] = auth_header(signed["authorization"])
    resp = urllib3.PoolManager().request(method, url, body=body, headers=signed, retries=False)
    return resp.status, resp.data.decode("utf-8", "replace"), resp.headers


def _sqs_json(op, params):
    return json.dumps(params).encode(), {"X-Amz-Target": f"AmazonSQS.{op}",
                                         "Content-Type": "application/x-amz-json-1.0"}


@pytest.mark.parametrize("suffix", ["?/{victim}", "#/{victim}", "/{victim}", "/../{victim}"])
def test_a_queue_url_naming_another_queue_after_the_allowed_one_is_refused(world, suffix):
    """SQS API Reference (SendMessage errors: InvalidAddress, QueueDoesNotExist): a QueueUrl is
    https://HOST/ACCOUNT/NAME. One whose path goes on after the allowed queue's name (a query, a fragment,
    more segments) named, to moto, the queue after it; it is now refused and no message moves."""
    w = world
    victim_name = w["victim"].rsplit("/", 1)[-1]
    before = _count(w["sqs"], w["victim"]), _count(w["sqs"], w["allowed"])
    body, headers = _sqs_json("SendMessage", {"QueueUrl": w["allowed"] + suffix.format(victim=victim_name),
                                              "MessageBody": "smuggled"})
    status, text, _ = _raw(w, "POST", "/", body, headers)
    assert status == 400 and "InvalidAddress" in text and "is not valid for this endpoint" in text, text
    assert (_count(w["sqs"], w["victim"]), _count(w["sqs"], w["allowed"])) == before


def test_a_queue_of_another_account_or_an_impossible_name_does_not_exist(world):
    """SQS: a QueueUrl names its owner's account; offline there is one account, so another's queue does
    not exist (AWS.SimpleQueueService.NonExistentQueue), nor does a name CreateQueue would refuse."""
    w = world
    for url in (w["allowed"].replace("123456789012", "210987654321"), w["allowed"] + "%2F..%2Fx", "bad name"):
        body, headers = _sqs_json("SendMessage", {"QueueUrl": url, "MessageBody": "m"})
        status, text, hdrs = _raw(w, "POST", "/", body, headers, principal=w["learner"])
        assert status == 400 and "NonExistentQueue" in hdrs.get("x-amzn-query-error", ""), (url, text)


def test_an_action_in_the_url_does_not_replace_the_target(world):
    """AWS JSON protocol: X-Amz-Target names the operation. With ?Action=PurgeQueue in the URL, moto ran
    PurgeQueue while the check judged SendMessage; now SendMessage runs (allowed to this role) and the
    queue is not purged."""
    w = world
    w["sqs"].send_message(QueueUrl=w["allowed"], MessageBody="keep")
    before = _count(w["sqs"], w["allowed"])
    body, headers = _sqs_json("SendMessage", {"QueueUrl": w["allowed"], "MessageBody": "one more"})
    w["rec"].clear()
    status, text, _ = _raw(w, "POST", "/?Action=PurgeQueue", body, headers)
    assert status == 200, text
    assert [m for m, _ in w["rec"].executed] == ["send_message"]
    assert _count(w["sqs"], w["allowed"]) == before + 1
    # and a body whose text holds "&Action=" is a message, not an operation
    body, headers = _sqs_json("SendMessage", {"QueueUrl": w["allowed"], "MessageBody": "a&Action=PurgeQueue&b"})
    status, text, _ = _raw(w, "POST", "/", body, headers)
    assert status == 200 and _count(w["sqs"], w["allowed"]) == before + 2, text


def test_two_credentials_in_one_authorization_header_are_refused(world):
    """Elements of an AWS API request signature: the Authorization header has one Credential. A second one,
    placed first, routed the request (moto reads the first) while the signature and the role were checked
    on the last: a PutLogEvents-signed request carrying IAM's PutRolePolicy changed the role. Now refused
    (IncompleteSignature), and the role is unchanged."""
    w = world
    role_name = w["roles"]["narrow"].rsplit("/", 1)[-1]
    p = w["principals"]["narrow"]
    form = (f"Action=PutRolePolicy&Version=2010-05-08&RoleName={role_name}&PolicyName=p&PolicyDocument="
            "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action"
            "%22%3A%22*%22%2C%22Resource%22%3A%22*%22%7D%5D%7D").encode()

    def two_credentials(header):
        scope = header.split("Credential=", 1)[1].split(",", 1)[0]  # KEY/DATE/REGION/logs/aws4_request
        iam_scope = scope.replace("/logs/", "/iam/")
        return header.replace("Credential=", f"Credential={iam_scope}, Credential=", 1)

    status, text, _ = _raw(w, "POST", "/", form, {"Content-Type": "application/x-www-form-urlencoded"},
                           principal=p, service="logs", auth_header=two_credentials)
    assert status == 400 and "IncompleteSignature" in text and "more than once" in text, text
    iam = client(w["endpoint"], w["learner"], "iam")
    doc = iam.get_role_policy(RoleName=role_name, PolicyName="p")["PolicyDocument"]
    assert "logs:*" in json.dumps(doc) and '"*"' not in json.dumps(doc.get("Statement", [{}])[0].get("Action"))


def test_a_request_signed_for_one_service_is_not_run_by_another(world):
    """A request is routed by the service it was verified for; a target of another service is then an
    operation that service does not have: answered in its shape (400), never run elsewhere."""
    w = world
    before = _count(w["sqs"], w["allowed"])
    body, headers = _sqs_json("SendMessage", {"QueueUrl": w["allowed"], "MessageBody": "m"})
    status, text, _ = _raw(w, "POST", "/", body, headers, principal=w["principals"]["all"], service="logs")
    assert 400 <= status < 500, (status, text)
    assert _count(w["sqs"], w["allowed"]) == before


def test_a_parameter_named_twice_is_refused_to_everyone(world):
    """AWS Common Errors: InvalidQueryParameter (400), "The AWS query string is malformed". Which of two
    values the service acts on is not certain, so neither the learner nor a role gets it run."""
    w = world
    victim = w["sqs"].create_queue(QueueName=f"twice-{w['tag']}")["QueueUrl"]
    form = f"Action=DeleteQueue&QueueUrl={w['allowed']}&Version=2012-11-05".encode()
    for principal in (w["learner"], w["principals"]["all"]):
        status, text, _ = _raw(w, "POST", f"/?QueueUrl={victim}", form,
                               {"Content-Type": "application/x-www-form-urlencoded"}, principal=principal)
        assert status == 400 and "InvalidQueryParameter" in text, text
    assert w["sqs"].get_queue_url(QueueName=f"twice-{w['tag']}")["QueueUrl"]
    assert w["sqs"].get_queue_url(QueueName=f"allowed-{w['tag']}")["QueueUrl"]
    w["sqs"].delete_queue(QueueUrl=victim)


def test_a_lambda_path_is_read_as_its_route_reads_it(world):
    """Lambda API Reference: FunctionName is one path segment matching its pattern, else
    ValidationException. moto's handlers split the path themselves: /functions/A/B/invocations is routed to
    Invoke and ran B. A path no route serves is Lambda's 404, not a web page. A form body that says
    Action=DeleteFunction is an Invoke payload, not an operation."""
    w = world
    p = w["principals"]["all"]
    for path, status_code, code in ((f"/2015-03-31/functions/x/other-{w['tag']}/invocations", 404,
                                     "UnknownOperationException"),
                                    ("/2015-03-31/functions/other%25x/invocations", 400, "ValidationException"),
                                    (f"/2015-03-31/functions/x/other-{w['tag']}/configuration", 404,
                                     "UnknownOperationException")):
        w["rec"].clear()
        status, text, hdrs = _raw(w, "POST" if path.endswith("invocations") else "GET", path, b"{}",
                                  service="lambda", principal=p)
        assert not w["rec"].executed, "nothing ran"
        assert status == status_code and hdrs.get("x-amzn-ErrorType", "").startswith(code), (path, text)
    w["rec"].clear()
    status, text, _ = _raw(w, "POST", f"/2015-03-31/functions/other-{w['tag']}/invocations",
                           b"Action=DeleteFunction", {"Content-Type": "application/x-www-form-urlencoded"},
                           service="lambda", principal=p)
    assert "delete_function" not in [m for m, _ in w["rec"].executed]
    assert w["lam"].get_function(FunctionName=f"other-{w['tag']}")


def test_a_log_group_in_the_query_string_is_judged_as_the_group_written(world):
    """CloudWatch Logs reads logGroupName from the query string before the JSON body (moto); the check reads
    it the same way, so a role that may write only its own group cannot write another's by naming it in the
    URL (AccessDeniedException, nothing written)."""
    w = world
    other = f"/aws/lambda/other-{w['tag']}"
    body = json.dumps({"logGroupName": f"/aws/lambda/own-{w['tag']}", "logStreamName": "s",
                       "logEvents": [{"timestamp": 1, "message": "smuggled"}]}).encode()
    headers = {"X-Amz-Target": "Logs_20140328.PutLogEvents", "Content-Type": "application/x-amz-json-1.1"}
    status, text, _ = _raw(w, "POST", f"/?logGroupName={other}", body, headers, service="logs")
    assert status == 400 and "AccessDeniedException" in text and other in text, text
    events = w["logs"].filter_log_events(logGroupName=other)["events"]
    assert not [e for e in events if e["message"] == "smuggled"]


def test_no_function_request_passes_unchecked(world):
    """Every request a function made above was seen by the dispatch check."""
    assert middleware.describe().get("unchecked", 0) == 0


def _logs(op, body):
    return json.dumps(body).encode(), {"X-Amz-Target": f"Logs_20140328.{op}", "Content-Type": "application/x-amz-json-1.1"}


def test_logs_operations_are_judged_on_what_they_act_on_not_on_a_decoy_group(world):
    """Service Authorization Reference (CloudWatch Logs): each operation on its own resource. A logGroupName
    added to a request whose handler never reads it (the tag operations read resourceArn, StartLiveTail its
    logGroupIdentifiers, DescribeLogGroups every group) made the check judge the caller's own group."""
    w = world
    own, other = f"/aws/lambda/own-{w['tag']}", f"/aws/lambda/other-{w['tag']}"
    other_arn = f"arn:aws:logs:{REGION}:123456789012:log-group:{other}"
    for op, body in (("TagResource", {"logGroupName": own, "resourceArn": other_arn, "tags": {"k": "v"}}),
                     ("ListTagsForResource", {"logGroupName": own, "resourceArn": other_arn}),
                     ("StartLiveTail", {"logGroupName": own, "logGroupIdentifiers": [other_arn]}),
                     ("DescribeLogGroups", {"logGroupName": own}),
                     ("GetQueryResults", {"logGroupName": own, "queryId": "q"})):
        status, text, _ = _raw(w, "POST", "/", *_logs(op, body), service="logs")
        assert status == 400 and "AccessDeniedException" in text, (op, text)
    status, text, _ = _raw(w, "POST", "/", *_logs("ListTagsForResource", {"resourceArn": other_arn}), service="logs",
                           principal=w["principals"]["all"])
    assert status == 200, "a role that may tag any group reads the tags"


def test_requests_that_reach_other_services_through_logs_or_cloudformation_are_refused_to_roles(world):
    """A subscription filter invokes a function, an export writes a bucket, a stack creates resources: AWS
    also checks the destination's resource policy, or creates each resource with the caller's permissions;
    the emulator models neither, so a function's role may not make these requests (README)."""
    w = world
    own = f"/aws/lambda/own-{w['tag']}"
    p = w["principals"]["all"]  # even a role that may do everything
    for op, body in (("PutSubscriptionFilter", {"logGroupName": own, "filterName": "f", "filterPattern": "",
                                                "destinationArn": w["functions"]["other"]}),
                     ("CreateExportTask", {"logGroupName": own, "destination": "any-bucket", "from": 0, "to": 1})):
        status, text, _ = _raw(w, "POST", "/", *_logs(op, body), service="logs", principal=p)
        assert status == 400 and "AccessDeniedException" in text and "not emulated" in text, (op, text)
    template = json.dumps({"Resources": {"T": {"Type": "AWS::SQS::Queue"}}})
    form = f"Action=CreateStack&Version=2010-05-15&StackName=own-{w['tag']}&TemplateBody={template}".encode()
    status, text, _ = _raw(w, "POST", "/", form, {"Content-Type": "application/x-www-form-urlencoded"},
                           service="cloudformation", principal=p)
    assert status == 403 and "AccessDenied" in text, text


def test_giving_a_function_a_role_needs_pass_role(world):
    """Lambda: CreateFunction and UpdateFunctionConfiguration with a Role need iam:PassRole on that role."""
    w = world
    p = w["principals"]["mid"]
    body = json.dumps({"Role": w["roles"]["all"]}).encode()
    status, text, hdrs = _raw(w, "PUT", f"/2015-03-31/functions/own-{w['tag']}/configuration", body,
                              {"Content-Type": "application/json"}, service="lambda", principal=p)
    assert status == 403 and "iam:PassRole" in text, text
    assert w["lam"].get_function_configuration(FunctionName=f"own-{w['tag']}")["Role"] == w["roles"]["all"]


def test_a_copy_is_judged_on_its_source_too(world):
    """S3 CopyObject reads its x-amz-copy-source: s3:GetObject on it (Service Authorization Reference)."""
    w = world
    s3 = client(w["endpoint"], w["learner"], "s3")
    for bucket in (f"own-{w['tag']}", f"victim-{w['tag']}"):
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=f"victim-{w['tag']}", Key="secret.txt", Body=b"TOP-SECRET")
    status, text, _ = _raw(w, "PUT", f"/own-{w['tag']}/copied.txt", b"",
                           {"x-amz-copy-source": f"/victim-{w['tag']}/secret.txt"}, service="s3",
                           principal=w["principals"]["mid"])
    assert status == 403 and "s3:GetObject" in text, text
    assert "Contents" not in s3.list_objects_v2(Bucket=f"own-{w['tag']}")


def test_unreadable_and_unrouted_requests_are_4xx_in_the_services_shape(world):
    """Lambda's path with a trailing slash (moto's handler counted segments from the end and published to a
    layer named "versions"); a path with '//'; an operation the service does not have; a body of another
    protocol; a value of the wrong type; a partial ARN; an S3 request moto's S3 cannot read. Each is a 4xx in
    the service's shape, never an HTML page or a 500, and no function request passes unchecked."""
    w = world
    p = w["principals"]["all"]
    cases = [
        ("POST", "/2018-10-31/layers/mylayer/versions/", b"{}", {}, "lambda", 404),
        ("POST", "/2015-03-31//functions", b"{}", {}, "lambda", 404),
        ("POST", "/", b"{}", {"X-Amz-Target": "AmazonSQS.NoSuchOp", "Content-Type": "application/x-amz-json-1.0"},
         "sqs", 400),
        ("POST", "/", b'{"QueueName": 5}', {"X-Amz-Target": "AmazonSQS.GetQueueUrl",
                                             "Content-Type": "application/x-amz-json-1.0"}, "sqs", 400),
        ("POST", "/", b"Action=ListQueues", {"Content-Type": "application/json"}, "sqs", 400),
        ("POST", "/", b"Action=NoSuchOp&Version=2011-06-15", {"Content-Type": "application/x-www-form-urlencoded"},
         "sts", 400),
        ("POST", "/2015-03-31/functions", b"not json", {"Content-Type": "application/json"}, "lambda", 400),
        ("GET", "/2015-03-31/functions/123456789012:function:x", b"", {}, "lambda", 400),
        ("POST", "/some-bucket/key", b"x", {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"}, "s3", 400),
    ]
    before = middleware.describe().get("unchecked", 0)
    for method, path, body, headers, service, expected in cases:
        status, text, hdrs = _raw(w, method, path, body, headers, service=service, principal=p)
        assert status == expected and "<!doctype" not in text.lower(), (path, status, text[:200])
        assert "InternalFailure" not in text, (path, text)
    assert middleware.describe().get("unchecked", 0) == before
