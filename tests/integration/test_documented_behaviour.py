"""AWS behaviours the offline endpoint keeps as AWS documents them, checked with plain
boto3 against it. Each test names the AWS page it comes from; the patches that make
them hold are in sqslab.offline.patches (sqs.py, awslambda.py)."""


from __future__ import annotations

import json
import threading
import time
import uuid

import pytest
from botocore.exceptions import ClientError

# A loaded 2-core machine (other suites running) delays a wake-up by far more than
# the emulator does; unpatched, moto's long poll was up to 1 s late (0.51 s measured).
LATE_S = 0.3


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def _error(excinfo) -> tuple[str, int, str]:
    err = excinfo.value.response
    return err["Error"]["Code"], err["ResponseMetadata"]["HTTPStatusCode"], err["Error"].get("Message", "")


@pytest.fixture(scope="module")
def echo(lam, role_arn):
    """A function that returns its event."""
    from helpers import make_function

    return make_function(lam, role_arn, "def handler(event, context):\n    return event\n", Timeout=10)


def test_reserved_concurrency_zero_throttles_a_synchronous_invoke(lam, echo):
    """Lambda API reference, Invoke, Errors: TooManyRequestsException (429), Reason
    ReservedFunctionConcurrentInvocationLimitExceeded; PutFunctionConcurrency refuses a reservation that
    leaves fewer than 100 of the account's 1,000 unreserved (Lambda Developer Guide, "Configuring reserved
    concurrency")."""
    lam.put_function_concurrency(FunctionName=echo, ReservedConcurrentExecutions=0)
    try:
        with pytest.raises(ClientError) as throttled:
            lam.invoke(FunctionName=echo, Payload=b"{}")
        assert _error(throttled)[:2] == ("TooManyRequestsException", 429)
        assert throttled.value.response["Reason"] == "ReservedFunctionConcurrentInvocationLimitExceeded"
        assert lam.invoke(FunctionName=echo, Payload=b"{}", InvocationType="Event")["StatusCode"] == 202
        with pytest.raises(ClientError) as refused:
            lam.put_function_concurrency(FunctionName=echo, ReservedConcurrentExecutions=901)
        assert _error(refused)[0] == "InvalidParameterValueException"
        assert "below its minimum value of [100]" in _error(refused)[2]
    finally:
        lam.delete_function_concurrency(FunctionName=echo)
    assert json.loads(lam.invoke(FunctionName=echo, Payload=b'{"a": 1}')["Payload"].read()) == {"a": 1}
    # any JSON is a payload, a list too, for InvokeAsync as for Invoke
    assert lam.invoke_async(FunctionName=echo, InvokeArgs=b"[1, 2]")["Status"] == 202
    assert json.loads(lam.invoke(FunctionName=echo, Payload=b"[1, 2]")["Payload"].read()) == [1, 2]


def test_account_settings_show_what_reservations_leave(lam, echo):
    """Lambda API reference, GetAccountSettings (AccountLimit: ConcurrentExecutions, "the maximum
    number of simultaneous function executions, minus the capacity that's reserved for individual
    functions with PutFunctionConcurrency" as UnreservedConcurrentExecutions, the code size quotas;
    AccountUsage: FunctionCount, TotalCodeSize)."""
    before = lam.get_account_settings()
    assert before["AccountLimit"]["ConcurrentExecutions"] == 1000
    assert before["AccountLimit"]["CodeSizeZipped"] == 52_428_800
    assert before["AccountLimit"]["CodeSizeUnzipped"] == 262_144_000
    assert before["AccountUsage"]["FunctionCount"] >= 1 and before["AccountUsage"]["TotalCodeSize"] > 0
    lam.put_function_concurrency(FunctionName=echo, ReservedConcurrentExecutions=7)
    try:
        after = lam.get_account_settings()["AccountLimit"]["UnreservedConcurrentExecutions"]
        assert after == before["AccountLimit"]["UnreservedConcurrentExecutions"] - 7
    finally:
        lam.delete_function_concurrency(FunctionName=echo)


def test_sns_fans_out_to_queues_whose_policy_allows_the_topic(clients):
    """SNS Developer Guide, "Fanout to Amazon SQS queues" and "Sending Amazon SNS messages to an Amazon SQS
    queue" (the queue's policy must allow sqs:SendMessage to sns.amazonaws.com, here for the topic by
    aws:SourceArn; a queue without it gets nothing); "Amazon SNS raw message delivery" (the body alone)
    against the JSON envelope (Type Notification, Message, TopicArn); "Amazon SNS message filtering"
    (a subscription filter policy on message attributes, and one on the body, FilterPolicyScope MessageBody)."""
    sqs, sns, tag = clients.sqs, clients.sns, _tag()
    topic = sns.create_topic(Name=f"orders-{tag}")["TopicArn"]

    def queue(name, allow):
        url = sqs.create_queue(QueueName=f"{name}-{tag}")["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        if allow:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
                    "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": allow}}}]})})
        return url, arn

    raw, raw_arn = queue("raw", topic)
    refunds, refunds_arn = queue("refunds", topic)
    closed, closed_arn = queue("closed", None)
    other, other_arn = queue("other-topic", topic.replace(f"orders-{tag}", f"other-{tag}"))
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=refunds_arn,
                  Attributes={"FilterPolicy": json.dumps({"kind": ["refund"]})})
    big, big_arn = queue("big", topic)  # a filter policy on the message body ("FilterPolicyScope")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=big_arn, Attributes={
        "RawMessageDelivery": "true", "FilterPolicyScope": "MessageBody",
        "FilterPolicy": json.dumps({"total": [{"numeric": [">=", 100]}]})})
    for arn in (closed_arn, other_arn):
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    try:
        for kind in ("order", "refund"):
            sns.publish(TopicArn=topic, Message=f"{kind} 7",
                        MessageAttributes={"kind": {"DataType": "String", "StringValue": kind}})
        for total in (50, 150):
            sns.publish(TopicArn=topic, Message=json.dumps({"total": total}))

        def bodies(url):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            return [m["Body"] for m in got]

        assert sorted(bodies(raw)) == sorted(['{"total": 150}', '{"total": 50}', "order 7", "refund 7"])
        assert bodies(big) == ['{"total": 150}']
        envelope = [json.loads(b) for b in bodies(refunds)]
        assert [(e["Type"], e["Message"], e["TopicArn"]) for e in envelope] == [("Notification", "refund 7", topic)]
        assert bodies(closed) == [] and bodies(other) == []  # no policy; a policy for another topic
    finally:
        sns.delete_topic(TopicArn=topic)
        for url in (raw, refunds, closed, other, big):
            sqs.delete_queue(QueueUrl=url)


def _open_queue(sqs, name: str, topic: str) -> tuple[str, str]:
    """A queue whose policy lets ``topic`` send to it (Fanout to Amazon SQS queues)."""
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
            "Resource": arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic}}}]})})
    return url, arn


def _drain(sqs, url: str) -> list[dict]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                               MessageAttributeNames=["All"]).get("Messages", [])


def test_sns_filter_policies_are_read_when_the_message_is_published(clients):
    """SNS Developer Guide, "AND/OR logic" ("$or" on the message body), "Filter policy scope" (the
    scope the subscription has when the message is published), "String value matching" (cidr,
    wildcard, equals-ignore-case), "Key matching" ("exists": false never matches a message with no
    attributes). A publish answers once, and each queue gets the message once."""
    sqs, sns, tag = clients.sqs, clients.sns, _tag()
    topic = sns.create_topic(Name=f"policies-{tag}")["TopicArn"]
    urls = {}

    def subscribe(name, **attributes):
        urls[name], arn = _open_queue(sqs, f"{name}-{tag}", topic)
        return sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn,
                             Attributes={"RawMessageDelivery": "true", **attributes})["SubscriptionArn"]

    try:
        subscribe("all")
        subscribe("either", FilterPolicyScope="MessageBody",
                  FilterPolicy=json.dumps({"$or": [{"kind": ["refund"]}, {"total": [{"numeric": [">", 100]}]}]}))
        later = subscribe("later", FilterPolicy=json.dumps({"kind": ["refund"]}))
        sns.set_subscription_attributes(SubscriptionArn=later, AttributeName="FilterPolicyScope",
                                        AttributeValue="MessageBody")
        subscribe("office", FilterPolicy=json.dumps({"ip": [{"cidr": "10.0.0.0/24"}], "desk": [{"wildcard": "D-*"}]}))
        subscribe("absent", FilterPolicy=json.dumps({"store": [{"exists": False}]}))
        subscribe("caps", FilterPolicy=json.dumps({"sport": [{"equals-ignore-case": "Rugby"}]}))
        for body in ({"kind": "sale", "total": 150}, {"kind": "refund", "total": 5}, {"kind": "sale", "total": 5}):
            answer = sns.publish(TopicArn=topic, Message=json.dumps(body))
            assert answer["ResponseMetadata"]["RetryAttempts"] == 0
        for ip in ("10.0.0.7", "10.0.1.7"):
            sns.publish(TopicArn=topic, Message=f"from {ip}", MessageAttributes={
                "ip": {"DataType": "String", "StringValue": ip}, "desk": {"DataType": "String", "StringValue": "D-12"},
                "sport": {"DataType": "String", "StringValue": "rugby"}})
        got = {name: sorted(m["Body"] for m in _drain(sqs, url)) for name, url in urls.items()}
        assert len(got["all"]) == 5
        assert sorted(json.loads(b)["total"] for b in got["either"]) == [5, 150]  # refund 5, total 150
        assert [json.loads(b)["kind"] for b in got["later"]] == ["refund"]
        assert got["office"] == ["from 10.0.0.7"]
        assert got["absent"] == ["from 10.0.0.7", "from 10.0.1.7"]  # the bodies had no attributes at all
        assert got["caps"] == ["from 10.0.0.7", "from 10.0.1.7"]
        with pytest.raises(ClientError) as bad:
            subscribe("bad", FilterPolicy=json.dumps({"ip": [{"cidr": "ten"}]}))
        assert _error(bad)[0] == "InvalidParameter"
    finally:
        sns.delete_topic(TopicArn=topic)
        for url in urls.values():
            sqs.delete_queue(QueueUrl=url)


def test_a_fifo_topic_feeds_fifo_and_standard_queues(clients):
    """SNS Developer Guide, "Message ordering and deduplication (FIFO topics)" and its fan-out examples: a
    FIFO topic delivers to FIFO queues with the message's group and deduplication id, and to standard
    queues too, which take neither."""
    sqs, sns, tag = clients.sqs, clients.sns, _tag()
    topic = sns.create_topic(Name=f"prices-{tag}.fifo", Attributes={"FifoTopic": "true"})["TopicArn"]
    standard, standard_arn = _open_queue(sqs, f"analytics-{tag}", topic)
    fifo_url = sqs.create_queue(QueueName=f"orders-{tag}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    fifo_arn = sqs.get_queue_attributes(QueueUrl=fifo_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.set_queue_attributes(QueueUrl=fifo_url, Attributes={"Policy": json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"},
                                                "Action": "sqs:SendMessage", "Resource": fifo_arn}]})})
    try:
        for arn in (standard_arn, fifo_arn):
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        sns.publish(TopicArn=topic, Message="price 7", MessageGroupId="item-1", MessageDeduplicationId="d1")
        assert [m["Body"] for m in _drain(sqs, standard)] == ["price 7"]
        got = sqs.receive_message(QueueUrl=fifo_url, WaitTimeSeconds=1, MessageSystemAttributeNames=["All"])["Messages"]
        assert [(m["Body"], m["Attributes"]["MessageGroupId"]) for m in got] == [("price 7", "item-1")]
    finally:
        sns.delete_topic(TopicArn=topic)
        sqs.delete_queue(QueueUrl=standard)
        sqs.delete_queue(QueueUrl=fifo_url)


def test_a_subscription_sns_refuses_is_not_made(clients):
    """SNS API reference, Subscribe and SetSubscriptionAttributes, Errors: InvalidParameter for an attribute
    value SNS does not take (a FilterPolicy that is not a JSON object, a FilterPolicyScope other than
    MessageAttributes or MessageBody, a RawMessageDelivery other than true or false, a protocol SNS does not
    have), and nothing made; Publish, SetTopicAttributes and Unsubscribe, Errors: InvalidParameter for an empty
    message, an attribute name SNS does not list or a policy that is no JSON object, and a malformed ARN."""
    sqs, sns, tag = clients.sqs, clients.sns, _tag()
    topic = sns.create_topic(Name=f"refused-{tag}")["TopicArn"]
    url, arn = _open_queue(sqs, f"refused-{tag}", topic)
    try:
        for attributes in ({"FilterPolicy": "{x"}, {"FilterPolicy": "[1]"}, {"FilterPolicyScope": "Nope"},
                           {"RawMessageDelivery": "maybe"}):
            with pytest.raises(ClientError) as refused:
                sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes=attributes)
            assert _error(refused)[:2] == ("InvalidParameter", 400), attributes
        with pytest.raises(ClientError) as refused:
            sns.subscribe(TopicArn=topic, Protocol="carrier-pigeon", Endpoint=arn)
        assert "does not support this protocol string: carrier-pigeon" in _error(refused)[2]
        assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
        sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)["SubscriptionArn"]
        with pytest.raises(ClientError) as refused:
            sns.publish(TopicArn=topic, Message="")
        assert _error(refused)[:3] == ("InvalidParameter", 400, "Invalid parameter: Empty message")
        for name, value in (("Bogus", "1"), ("Policy", "{not json")):
            with pytest.raises(ClientError) as refused:
                sns.set_topic_attributes(TopicArn=topic, AttributeName=name, AttributeValue=value)
            assert _error(refused)[:2] == ("InvalidParameter", 400)
        sns.set_topic_attributes(TopicArn=topic, AttributeName="DisplayName", AttributeValue="orders")
        with pytest.raises(ClientError) as refused:
            sns.unsubscribe(SubscriptionArn="garbage")
        assert "An ARN must have at least 6 elements, not 1" in _error(refused)[2]
        with pytest.raises(ClientError) as refused:
            sns.set_subscription_attributes(SubscriptionArn=sub, AttributeName="FilterPolicy", AttributeValue="{x")
        assert _error(refused)[0] == "InvalidParameter"
        assert "FilterPolicy" not in sns.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]
    finally:
        sns.delete_topic(TopicArn=topic)
        sqs.delete_queue(QueueUrl=url)


def test_sns_hands_a_queue_what_sns_documents(clients):
    """SNS Developer Guide, "Amazon SNS message attributes": "Messages with more than 10 message
    attributes directed towards Raw Message Delivery enabled Amazon SQS subscriptions will be
    discarded"; "Message attributes are sent only when the message structure is String, not JSON";
    "Amazon SNS raw message delivery": a Binary attribute arrives as itself. "Parsing message
    formats": the envelope's UnsubscribeURL names the subscription. A queue that cannot take the
    message costs no one else anything: Publish answers, the other queues get one copy."""
    sqs, sns, tag = clients.sqs, clients.sns, _tag()
    topic = sns.create_topic(Name=f"hands-{tag}")["TopicArn"]
    raw, raw_arn = _open_queue(sqs, f"raw-{tag}", topic)
    wrapped, wrapped_arn = _open_queue(sqs, f"wrapped-{tag}", topic)
    gone, gone_arn = _open_queue(sqs, f"gone-{tag}", topic)
    try:
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=raw_arn, Attributes={"RawMessageDelivery": "true"})
        envelope_sub = sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=wrapped_arn)["SubscriptionArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=gone_arn)
        sqs.delete_queue(QueueUrl=gone)
        sns.publish(TopicArn=topic, Message="picture", MessageAttributes={
            "thumb": {"DataType": "Binary", "BinaryValue": b"\x89PNG"}})
        eleven = {f"a{i}": {"DataType": "String", "StringValue": str(i)} for i in range(11)}
        sns.publish(TopicArn=topic, Message="eleven", MessageAttributes=eleven)
        answer = sns.publish(TopicArn=topic, MessageStructure="json", Message=json.dumps({"default": "structured"}),
                             MessageAttributes={"kind": {"DataType": "String", "StringValue": "x"}})
        assert answer["ResponseMetadata"]["RetryAttempts"] == 0
        got = {m["Body"]: m.get("MessageAttributes") for m in _drain(sqs, raw)}
        assert got == {"picture": {"thumb": {"BinaryValue": b"\x89PNG", "DataType": "Binary"}}, "structured": None}
        envelopes = {e["Message"]: e for e in (json.loads(m["Body"]) for m in _drain(sqs, wrapped))}
        assert sorted(envelopes) == ["eleven", "picture", "structured"]
        assert len(envelopes["eleven"]["MessageAttributes"]) == 11 and "MessageAttributes" not in envelopes["structured"]
        assert envelopes["picture"]["UnsubscribeURL"].endswith(f"SubscriptionArn={envelope_sub}")
    finally:
        sns.delete_topic(TopicArn=topic)
        for url in (raw, wrapped):
            sqs.delete_queue(QueueUrl=url)


def test_a_template_reservation_meets_the_same_rule(clients, role_arn):
    """CloudFormation template reference, AWS::Lambda::Function ReservedConcurrentExecutions; Lambda Developer
    Guide, "Configuring reserved concurrency": a reservation leaving fewer than 100 unreserved is refused, so
    the stack fails and rolls back; one within the rule is reserved, and enforced on invoke."""
    from sqslab.deploy.code_zip import zip_files

    cfn, lam, tag = clients.cloudformation, getattr(clients, "lambda"), _tag()
    bucket = f"res-{tag}"
    clients.s3.create_bucket(Bucket=bucket)
    clients.s3.put_object(Bucket=bucket, Key="f.zip", Body=zip_files({"index.py": "def handler(e, c):\n    return 1\n"}))

    def template(reserved):
        return json.dumps({"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
            "FunctionName": f"res-{tag}-{reserved}", "Runtime": "python3.12", "Handler": "index.handler",
            "Role": role_arn, "Code": {"S3Bucket": bucket, "S3Key": "f.zip"},
            "ReservedConcurrentExecutions": reserved}}}})

    def status(name):
        return cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]

    cfn.create_stack(StackName=f"res-big-{tag}", TemplateBody=template(901))
    cfn.create_stack(StackName=f"res-zero-{tag}", TemplateBody=template(0))
    try:
        assert status(f"res-big-{tag}") in ("ROLLBACK_COMPLETE", "CREATE_FAILED", "ROLLBACK_IN_PROGRESS")
        reasons = [e.get("ResourceStatusReason", "") for e in cfn.describe_stack_events(StackName=f"res-big-{tag}")[
            "StackEvents"]]
        assert any("below its minimum value of [100]" in r for r in reasons), reasons
        assert status(f"res-zero-{tag}") == "CREATE_COMPLETE"
        with pytest.raises(ClientError) as throttled:
            lam.invoke(FunctionName=f"res-{tag}-0", Payload=b"{}")
        assert _error(throttled)[:2] == ("TooManyRequestsException", 429)
    finally:
        for name in (f"res-big-{tag}", f"res-zero-{tag}"):
            cfn.delete_stack(StackName=name)


def test_invoke_refuses_a_payload_that_is_not_json(lam, echo):
    """Lambda API reference, Invoke, Errors: InvalidRequestContentException (400),
    "The request body could not be parsed as JSON"; the handler does not run."""
    with pytest.raises(ClientError) as excinfo:
        lam.invoke(FunctionName=echo, Payload=b"not json")
    code, status, message = _error(excinfo)
    assert (code, status) == ("InvalidRequestContentException", 400)
    assert message.startswith("Could not parse request body into json: ")
    assert excinfo.value.response["ResponseMetadata"]["HTTPHeaders"]["x-amzn-errortype"] == code
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=echo, Payload=b'{"a": 1', InvocationType="Event")
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=echo, Payload=b"NaN")  # not JSON, though Python's json reads it
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=echo, Payload=b"\xff\xfe")  # not even text
    # Any JSON value is an event, and no payload at all is allowed.
    assert json.loads(lam.invoke(FunctionName=echo, Payload=b'"text"')["Payload"].read()) == "text"
    assert lam.invoke(FunctionName=echo)["StatusCode"] == 200


def test_invoke_refuses_payloads_over_the_quota(lam, echo):
    """Lambda quotas, "Invocation payload (request and response)": 6 MB synchronous,
    and the Invoke API reference: 1 MB for asynchronous (Event) invokes. Lambda answers
    413 with the error type RequestEntityTooLargeException."""
    big = json.dumps({"data": "x" * int(6.3 * 1024 * 1024)}).encode()
    with pytest.raises(ClientError) as excinfo:
        lam.invoke(FunctionName=echo, Payload=big)
    code, status, message = _error(excinfo)
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert message == "Request must be smaller than 6291456 bytes for the InvokeFunction operation"

    fits = json.dumps({"data": "x" * (6 * 1024 * 1024 - 20)}).encode()
    assert len(fits) <= 6 * 1024 * 1024
    assert lam.invoke(FunctionName=echo, Payload=fits)["StatusCode"] == 200

    event = json.dumps({"data": "x" * (1024 * 1024)}).encode()
    with pytest.raises(ClientError) as excinfo:
        lam.invoke(FunctionName=echo, Payload=event, InvocationType="Event")
    code, status, message = _error(excinfo)
    assert (code, status) == ("RequestEntityTooLargeException", 413)
    assert message == f"{len(event)} byte payload is too large for the Event invocation type (limit 1048576 bytes)"
    small = json.dumps({"data": "x" * 1000}).encode()
    assert lam.invoke(FunctionName=echo, Payload=small, InvocationType="Event")["StatusCode"] == 202


@pytest.mark.parametrize("name,bad,good", [
    ("VisibilityTimeout", ["43201", "-1", "abc"], ["0", "43200"]),
    ("ReceiveMessageWaitTimeSeconds", ["21", "-1"], ["0", "20"]),
    ("MessageRetentionPeriod", ["59", "1209601"], ["60", "1209600"]),
    ("DelaySeconds", ["901", "-1"], ["0", "900"]),
    ("MaximumMessageSize", ["1023", "1048577"], ["1024", "1048576"]),
    ("Policy", ["{not json", "[1]"], ['{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": '
                                      '{"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage", "Resource": "*"}]}']),
    ("RedrivePolicy", ['{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:d", "maxReceiveCount": 0}',
                       '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:d", "maxReceiveCount": 1001}',
                       "{x"], []),
])
def test_queue_attributes_out_of_range_are_refused(clients, name, bad, good):
    """SQS API reference, CreateQueue and SetQueueAttributes: the attributes' valid
    values (VisibilityTimeout 0 to 43,200, ReceiveMessageWaitTimeSeconds 0 to 20,
    MessageRetentionPeriod 60 to 1,209,600, DelaySeconds 0 to 900, MaximumMessageSize
    1,024 to 1,048,576, a Policy that is a JSON policy document, a RedrivePolicy whose
    maxReceiveCount is 1 to 1,000) and the error InvalidAttributeValue."""
    sqs = clients.sqs
    for value in bad:
        with pytest.raises(sqs.exceptions.InvalidAttributeValue) as excinfo:
            sqs.create_queue(QueueName=f"attr-{_tag()}", Attributes={name: value})
        assert _error(excinfo)[2] == f"Invalid value for the parameter {name}."
    url = sqs.create_queue(QueueName=f"attr-{_tag()}")["QueueUrl"]
    try:
        before = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        beside = ("DelaySeconds", "7") if name == "VisibilityTimeout" else ("VisibilityTimeout", "77")
        for value in bad:
            with pytest.raises(sqs.exceptions.InvalidAttributeValue):
                # Nothing of a refused request is applied, the valid attribute beside it neither.
                sqs.set_queue_attributes(QueueUrl=url, Attributes={name: value, beside[0]: beside[1]})
        after = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert after.get(name) == before.get(name) and after[beside[0]] == before[beside[0]]
        for value in good:
            sqs.set_queue_attributes(QueueUrl=url, Attributes={name: value})
            assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[name])["Attributes"][name] == value
            sqs.create_queue(QueueName=f"attr-{_tag()}", Attributes={name: value})
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_what_send_and_receive_refuse(clients):
    """SQS API reference, SendMessage (MessageBody: at least one character, only the allowed Unicode set;
    MessageDeduplicationId applies to FIFO queues only) and ReceiveMessage (MaxNumberOfMessages 1 to 10,
    WaitTimeSeconds 0 to 20, VisibilityTimeout 0 to 43,200), each refused in SQS's words; nothing is
    queued and nothing is received. SendMessageBatch reports each entry on its own."""
    sqs = clients.sqs
    url = sqs.create_queue(QueueName=f"refuse-{_tag()}")["QueueUrl"]
    try:
        for body, code in (("", "MissingParameter"), ("nul \x00 here", "InvalidMessageContents"),
                           ("bell \x07", "InvalidMessageContents")):
            with pytest.raises(ClientError) as refused:
                sqs.send_message(QueueUrl=url, MessageBody=body)
            assert _error(refused)[0] == code, body
        assert "Invalid binary character '#x0'" in _error(refused)[2] or "#x7" in _error(refused)[2]
        with pytest.raises(ClientError) as refused:
            sqs.send_message(QueueUrl=url, MessageBody="x", MessageDeduplicationId="d1")
        assert _error(refused)[0] == "InvalidParameterValue" and "not valid for this queue type" in _error(refused)[2]
        sqs.send_message(QueueUrl=url, MessageBody="tab\tand newline\n and \u00e9 \U0001F600")
        for name, value, rule in (("WaitTimeSeconds", 21, "Must be >= 0 and <= 20, if provided."),
                                  ("MaxNumberOfMessages", 11, "Must be between 1 and 10, if provided."),
                                  ("VisibilityTimeout", -1, "Must be >= 0 and <= 43200, if provided.")):
            with pytest.raises(ClientError) as refused:
                sqs.receive_message(QueueUrl=url, **{name: value})
            assert _error(refused)[:3] == ("InvalidParameterValue", 400,
                                           f"Value {value} for parameter {name} is invalid. Reason: {rule}")
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)["Messages"]
        assert [m["Body"] for m in got] == ["tab\tand newline\n and \u00e9 \U0001F600"]
        # SendMessageBatch: each entry's result on its own; the refused ones in Failed, the rest sent
        answer = sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": "good", "MessageBody": "fine"}, {"Id": "empty", "MessageBody": ""},
            {"Id": "nul", "MessageBody": "a\x00b"}, {"Id": "dedup", "MessageBody": "x", "MessageDeduplicationId": "d"}])
        assert [e["Id"] for e in answer["Successful"]] == ["good"]
        assert sorted((f["Id"], f["Code"], f["SenderFault"]) for f in answer["Failed"]) == [
            ("dedup", "InvalidParameterValue", True), ("empty", "MissingParameter", True),
            ("nul", "InvalidMessageContents", True)]
        with pytest.raises(ClientError) as refused:
            sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": "a", "MessageBody": "1"}, {"Id": "a", "MessageBody": "2"}])
        assert _error(refused)[0] == "AWS.SimpleQueueService.BatchEntryIdsNotDistinct"
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_a_queue_keeps_its_type(clients):
    """SQS API reference, CreateQueue, FifoQueue: "You can't change an existing queue into a FIFO queue";
    SetQueueAttributes lists no FifoQueue, so it answers InvalidAttributeName, either way, and the queue
    keeps its type; an attribute it does not list at all is refused the same way, and nothing is set."""
    sqs, tag = clients.sqs, _tag()
    standard = sqs.create_queue(QueueName=f"kind-{tag}")["QueueUrl"]
    fifo = sqs.create_queue(QueueName=f"kind-{tag}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    try:
        for url, value in ((standard, "true"), (fifo, "false")):
            with pytest.raises(ClientError) as refused:
                sqs.set_queue_attributes(QueueUrl=url, Attributes={"FifoQueue": value})
            assert _error(refused)[0] == "InvalidAttributeName"
        with pytest.raises(ClientError) as refused:
            sqs.set_queue_attributes(QueueUrl=standard, Attributes={"Bogus": "1", "VisibilityTimeout": "5"})
        assert _error(refused)[:3] == ("InvalidAttributeName", 400, "Unknown Attribute Bogus.")
        with pytest.raises(ClientError) as refused:
            sqs.create_queue(QueueName=f"kind-{tag}-bogus", Attributes={"Bogus": "1"})
        assert _error(refused)[:3] == ("InvalidAttributeName", 400, "Unknown Attribute Bogus.")
        assert not sqs.list_queues(QueueNamePrefix=f"kind-{tag}-bogus").get("QueueUrls")
        assert sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["VisibilityTimeout"])["Attributes"] == {
            "VisibilityTimeout": "30"}
        sqs.send_message(QueueUrl=standard, MessageBody="still standard")
        with pytest.raises(ClientError):
            sqs.send_message(QueueUrl=fifo, MessageBody="still FIFO: a group is needed")
    finally:
        sqs.delete_queue(QueueUrl=standard)
        sqs.delete_queue(QueueUrl=fifo)


def test_change_visibility_of_a_message_not_in_flight(clients):
    """SQS API reference, ChangeMessageVisibility, Errors: MessageNotInflight for a
    message that is not in flight (received, then visible again: its timeout ended or
    was set to 0), InvalidParameterValue for a message deleted meanwhile, and
    ReceiptHandleIsInvalid for a handle SQS never issued."""
    sqs = clients.sqs
    url = sqs.create_queue(QueueName=f"cmv-{_tag()}", Attributes={"VisibilityTimeout": "30"})["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="m")
        handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=1)["Messages"][0]["ReceiptHandle"]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=1)  # in flight: fine
        time.sleep(1.3)  # the timeout ends; nobody receives it
        with pytest.raises(sqs.exceptions.MessageNotInflight) as excinfo:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=30)
        assert _error(excinfo)[1] == 400

        handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)  # released
        with pytest.raises(sqs.exceptions.MessageNotInflight):
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)

        handle = sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
        with pytest.raises(ClientError) as excinfo:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=10)
        code, status, message = _error(excinfo)
        assert (code, status) == ("InvalidParameterValue", 400)
        assert message.endswith("Reason: Message does not exist or is not available for visibility timeout change.")

        with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle="never-issued", VisibilityTimeout=10)
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_change_visibility_batch_answers_per_entry(clients):
    """SQS API reference, ChangeMessageVisibilityBatch: each entry's result, the
    failures in Failed with their own codes."""
    sqs = clients.sqs
    url = sqs.create_queue(QueueName=f"cmvb-{_tag()}")["QueueUrl"]
    try:
        sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": str(i)} for i in range(3)])
        got = []
        while len(got) < 3:
            got += sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
        handles = [m["ReceiptHandle"] for m in got]
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles[1], VisibilityTimeout=0)
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[2])
        resp = sqs.change_message_visibility_batch(QueueUrl=url, Entries=[
            {"Id": f"e{i}", "ReceiptHandle": h, "VisibilityTimeout": 5} for i, h in enumerate(handles)])
        assert [s["Id"] for s in resp["Successful"]] == ["e0"]
        assert {f["Id"]: f["Code"] for f in resp["Failed"]} == {"e1": "MessageNotInflight",
                                                                "e2": "InvalidParameterValue"}
    finally:
        sqs.delete_queue(QueueUrl=url)


def _poll(sqs, url, wait: int, out: dict) -> None:
    out["messages"] = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=wait).get("Messages", [])
    out["at"] = time.monotonic()


def test_long_poll_returns_a_message_as_soon_as_its_visibility_timeout_ends(clients):
    """SQS developer guide, sqs-short-and-long-polling: a long poll returns as soon as
    a message is available; visibility timeout: the message becomes visible again
    when its timeout ends. The poll starts half a second after the receive, so a
    once-a-second re-check would answer about 0.5 s late."""
    sqs = clients.sqs
    url = sqs.create_queue(QueueName=f"lp-{_tag()}")["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="m")
        lateness = []
        for _ in range(2):
            sqs.receive_message(QueueUrl=url, VisibilityTimeout=2)
            visible_by = time.monotonic() + 2.0  # the receive returned: the timeout ends before this
            time.sleep(0.5)
            out: dict = {}
            _poll(sqs, url, 10, out)
            assert [m["Body"] for m in out["messages"]] == ["m"]
            lateness.append(out["at"] - visible_by)
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=out["messages"][0]["ReceiptHandle"],
                                          VisibilityTimeout=0)  # for the next round
        assert max(lateness) < LATE_S, lateness
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_long_poll_wakes_when_a_message_is_released_or_its_delay_ends(clients):
    """SQS developer guide, visibility timeout ("terminating a message's visibility
    timeout": ChangeMessageVisibility 0 makes it visible at once) and delay queues
    (a delayed message becomes visible when its delay ends)."""
    sqs = clients.sqs
    url = sqs.create_queue(QueueName=f"lpw-{_tag()}")["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="m")
        handle = sqs.receive_message(QueueUrl=url, VisibilityTimeout=60)["Messages"][0]["ReceiptHandle"]
        out: dict = {}
        poll = threading.Thread(target=_poll, args=(sqs, url, 10, out))
        poll.start()
        time.sleep(0.7)
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handle, VisibilityTimeout=0)
        released = time.monotonic()
        poll.join(15)
        assert [m["Body"] for m in out["messages"]] == ["m"]
        assert out["at"] - released < LATE_S
        sqs.delete_message(QueueUrl=url, ReceiptHandle=out["messages"][0]["ReceiptHandle"])

        sent = time.monotonic()
        sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=2)
        time.sleep(0.5)
        out = {}
        _poll(sqs, url, 10, out)
        assert [m["Body"] for m in out["messages"]] == ["later"]
        assert 2.0 - 0.05 <= out["at"] - sent < 2.0 + LATE_S + 0.1
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_fifo_deduplication_id_outlives_its_deleted_message(clients):
    """SQS developer guide, "Using the message deduplication ID" and FIFO key terms:
    a send with an id seen in the last 5 minutes is accepted but not delivered, and
    SQS "continues tracking the deduplication ID even after the message has been
    received and deleted" ("Exactly-once processing")."""
    sqs = clients.sqs
    url = sqs.create_queue(QueueName=f"dedup-{_tag()}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="first", MessageGroupId="g", MessageDeduplicationId="d1")
        got = sqs.receive_message(QueueUrl=url)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        resp = sqs.send_message(QueueUrl=url, MessageBody="again", MessageGroupId="g", MessageDeduplicationId="d1")
        assert resp["MessageId"]  # accepted ...
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=1)  # ... not delivered
        sqs.send_message(QueueUrl=url, MessageBody="other", MessageGroupId="g", MessageDeduplicationId="d2")
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=url)["Messages"]] == ["other"]
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_content_based_deduplication_outlives_its_deleted_message(clients):
    """SQS API reference, SendMessage, MessageDeduplicationId: with
    ContentBasedDeduplication the id is the body's SHA-256, kept for the interval."""
    sqs = clients.sqs
    url = sqs.create_queue(QueueName=f"cbd-{_tag()}.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    try:
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
        got = sqs.receive_message(QueueUrl=url)["Messages"]
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
        sqs.send_message(QueueUrl=url, MessageBody="same", MessageGroupId="g")
        assert "Messages" not in sqs.receive_message(QueueUrl=url)
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_filter_log_events_as_the_series_reads_logs(clients):
    """CloudWatch Logs API reference, FilterLogEvents: events with a timestamp before startTime
    or after endTime are not returned (both ends inclusive); CloudWatch Logs User Guide, "Filter
    pattern syntax for metric filters, subscription filters, filter log events, and Live Tail":
    terms are case sensitive and every term must appear; a term holding characters other than
    letters, digits and underscores is put in double quotes. (Other pattern syntaxes are not
    emulated: README.)"""
    logs, group, stream = clients.logs, f"/aws/lambda/doc-{_tag()}", "2026/01/01/[$LATEST]0"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    t0 = int(time.time() * 1000)
    lines = ["START RequestId: 1 Version: $LATEST", '{"event": "receive_call", "messages": 0}',
             '{"event": "receive", "body": "x"}', "END RequestId: 1",
             "REPORT RequestId: 1\tDuration: 2.00 ms\tBilled Duration: 3 ms\t"]
    logs.put_log_events(logGroupName=group, logStreamName=stream,
                        logEvents=[{"timestamp": t0 + i, "message": m} for i, m in enumerate(lines)])

    def messages(**kwargs):
        pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, **kwargs)
        return [e["message"] for page in pages for e in page["events"]]

    assert messages(startTime=t0 + 1, endTime=t0 + 3) == lines[1:4]
    assert messages(filterPattern="REPORT") == [lines[4]]
    assert messages(filterPattern="report") == []
    assert messages(filterPattern="RequestId Duration") == [lines[4]]
    assert messages(filterPattern="receive_call") == messages(filterPattern='"receive_call"') == [lines[1]]
    logs.delete_log_group(logGroupName=group)


def test_fifo_long_poll_returns_a_group_freed_while_it_waits(clients):
    """SQS Developer Guide, "FIFO queue delivery logic in Amazon SQS" (Receiving messages): later
    requests get no more messages of a group "unless the currently received messages are deleted,
    or they become visible again"; "Amazon SQS short and long polling": a long poll returns as soon
    as a message is available. A group freed by a delete, or by a ChangeMessageVisibility to 0,
    while a long poll waits is returned to it at once."""
    sqs = clients.sqs
    url = sqs.create_queue(QueueName=f"doc-fifo-{_tag()}.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true",
                                       "VisibilityTimeout": "30"})["QueueUrl"]
    try:
        for body in ("g-1", "g-2", "g-3"):
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="g")
        for free in ("delete", "change_visibility"):
            held = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
            got, returned = [], []

            def poll(got=got, returned=returned):
                got.extend(sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=10)
                           .get("Messages", []))
                returned.append(time.monotonic())

            waiter = threading.Thread(target=poll)
            waiter.start()
            time.sleep(1.0)
            assert got == [], "the group is held back while its message is in flight"
            freed = time.monotonic()
            if free == "delete":
                sqs.delete_message(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"])
            else:
                sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"], VisibilityTimeout=0)
            waiter.join(15)
            assert len(got) == 1 and returned[0] - freed < LATE_S, (free, got, returned[0] - freed)
            # deleted, the next of the group comes; made visible again, the same message comes again
            assert got[0]["Body"] == ("g-2" if free == "delete" else held["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_fifo_group_visible_again_comes_back_in_order_then_moves_in_order(clients):
    """SQS Developer Guide, "FIFO queue delivery logic in Amazon SQS": messages of one group are
    "processed one by one, in a strict order relative to the group", and a group's messages that
    "become visible again" can be received again. Three messages of a group received together and
    not deleted come back together in their order (moto gave the last one alone first); "Using
    dead-letter queues": past maxReceiveCount they move to the FIFO dead-letter queue, in order."""
    sqs, tag = clients.sqs, _tag()
    dlq = sqs.create_queue(QueueName=f"ord-dlq-{tag}.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName=f"ord-{tag}.fifo", Attributes={
        "FifoQueue": "true", "VisibilityTimeout": "1",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})})["QueueUrl"]
    try:
        for body in ("B1", "B2", "B3"):
            sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId="B", MessageDeduplicationId=body)
        seen = []
        for _ in range(2):
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=5,
                                      MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"]
            seen.append([(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in got])
        assert seen == [[("B1", "1"), ("B2", "1"), ("B3", "1")], [("B1", "2"), ("B2", "2"), ("B3", "2")]]
        assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages") is None
        moved = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
        assert [m["Body"] for m in moved] == ["B1", "B2", "B3"]
    finally:
        sqs.delete_queue(QueueUrl=url)
        sqs.delete_queue(QueueUrl=dlq)


@pytest.mark.slow
def test_retention_deletes_messages_and_a_dead_letter_queue_keeps_or_resets_the_clock(clients):
    """SQS API Reference, SetQueueAttributes: MessageRetentionPeriod (60 s at least) is how long
    SQS retains a message: an unreceived message is gone after it. Developer guide, "Setting-up
    dead-letter queue retention in Amazon SQS": a standard queue's message moved to its dead-letter
    queue keeps its original enqueue time (so a dead-letter queue with the same retention loses it
    as soon as the source would have); a FIFO queue's enqueue time resets when it is moved."""
    sqs, tag = clients.sqs, _tag()

    def queue(name, **attributes):
        return sqs.create_queue(QueueName=name, Attributes={"MessageRetentionPeriod": "60", **attributes})["QueueUrl"]

    def arn(url):
        return sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]

    def count(url):
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return sum(int(got[n]) for n in names)

    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    plain = queue(f"ret-plain-{tag}")
    dlq, fifo_dlq = queue(f"ret-dlq-{tag}"), queue(f"ret-dlq-{tag}.fifo", **fifo)
    source = queue(f"ret-src-{tag}", RedrivePolicy=json.dumps({"deadLetterTargetArn": arn(dlq), "maxReceiveCount": 1}))
    fifo_source = queue(f"ret-src-{tag}.fifo", **fifo,
                        RedrivePolicy=json.dumps({"deadLetterTargetArn": arn(fifo_dlq), "maxReceiveCount": 1}))
    urls = [plain, dlq, fifo_dlq, source, fifo_source]
    try:
        t0 = time.monotonic()
        sqs.send_message(QueueUrl=plain, MessageBody="never received")
        sqs.send_message(QueueUrl=source, MessageBody="standard")
        sqs.send_message(QueueUrl=fifo_source, MessageBody="fifo", MessageGroupId="g")
        time.sleep(20)
        for url in (source, fifo_source):  # received once, then moved at the next receive
            assert len(sqs.receive_message(QueueUrl=url, VisibilityTimeout=0)["Messages"]) == 1
            assert sqs.receive_message(QueueUrl=url).get("Messages", []) == []
        assert (count(plain), count(dlq), count(fifo_dlq), count(source), count(fifo_source)) == (1, 1, 1, 0, 0)
        time.sleep(max(0.0, t0 + 62 - time.monotonic()))
        assert count(plain) == 0 and sqs.receive_message(QueueUrl=plain).get("Messages", []) == []
        assert count(dlq) == 0, "the standard dead-letter queue counted from the original send: expired"
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=fifo_dlq)["Messages"]] == ["fifo"], \
            "the FIFO dead-letter queue counts from the move, 20 s later: still there"
    finally:
        for url in urls:
            sqs.delete_queue(QueueUrl=url)


def test_a_message_timer_is_refused_on_a_fifo_queue(clients):
    """SQS API Reference, SendMessage, DelaySeconds: "When you set FifoQueue, you can't set
    DelaySeconds per message. You can set this parameter only on a queue level." (moto refuses
    it as InvalidParameterValue, 400; this keeps it so.) The queue's own DelaySeconds applies."""
    sqs = clients.sqs
    url = sqs.create_queue(QueueName=f"doc-timer-{_tag()}.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true",
                                       "DelaySeconds": "1"})["QueueUrl"]
    try:
        with pytest.raises(ClientError) as refused:
            sqs.send_message(QueueUrl=url, MessageBody="timer", MessageGroupId="g", DelaySeconds=5)
        code, status, message = _error(refused)
        assert (code, status) == ("InvalidParameterValue", 400) and "DelaySeconds" in message
        sent = time.monotonic()
        sqs.send_message(QueueUrl=url, MessageBody="queue delay", MessageGroupId="g")
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
        assert [m["Body"] for m in got] == ["queue delay"] and 1.0 <= time.monotonic() - sent < 1.0 + 0.5
    finally:
        sqs.delete_queue(QueueUrl=url)


def test_a_fifo_receive_returns_one_groups_messages_first(clients):
    """SQS Developer Guide, "FIFO queue delivery logic in Amazon SQS" (Receiving messages, batch
    retrieval): SQS "attempts to return as many messages with the same message group ID as possible"
    in one call; with fewer of that group available it may add messages of other groups, each group
    in its order."""
    sqs = clients.sqs
    fifo = {"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue(QueueName=f"doc-groups-{_tag()}.fifo", Attributes=fifo)["QueueUrl"]
    few = sqs.create_queue(QueueName=f"doc-groups-{_tag()}.fifo", Attributes=fifo)["QueueUrl"]
    try:
        for i in (1, 2, 3):  # interleaved: a1 b1 c1 a2 b2 c2 a3 b3 c3
            sqs.send_message_batch(QueueUrl=url, Entries=[
                {"Id": g, "MessageBody": f"{g}{i}", "MessageGroupId": g} for g in "abc"])
        got = [[m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3)["Messages"]]
               for _ in range(3)]
        assert got == [["a1", "a2", "a3"], ["b1", "b2", "b3"], ["c1", "c2", "c3"]]
        for body, group in (("a1", "a"), ("b1", "b"), ("a2", "a")):
            sqs.send_message(QueueUrl=few, MessageBody=body, MessageGroupId=group)
        assert [m["Body"] for m in sqs.receive_message(QueueUrl=few, MaxNumberOfMessages=10)["Messages"]] == \
            ["a1", "a2", "b1"], "group a whole first, then b to fill the call"
    finally:
        for queue_url in (url, few):
            sqs.delete_queue(QueueUrl=queue_url)
