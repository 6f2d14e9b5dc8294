"""The IAM evaluator each function's role is judged by (sqslab.offline.iam), without a
server. It follows the IAM User Guide: "Policy evaluation logic", "Determining whether a
request is allowed or denied within an account", "IAM JSON policy elements: Action /
Resource / NotAction / NotResource / Condition"; requests map to IAM's actions and
resources, and a denial reads as AWS's. tests/integration/test_iam_enforcement.py runs
code with a role end to end."""

from __future__ import annotations

import json

import pytest

from sqslab.offline.auth import refusals, sigv4
from sqslab.offline.awslambda import mapping_checks
from sqslab.offline.iam import actions as rq
from sqslab.offline.iam import policy as ip

ACCOUNT, REGION = "123456789012", "us-east-1"

Q = f"arn:aws:sqs:{REGION}:{ACCOUNT}:orders"


def policy(*statements) -> list[ip.Statement]:
    return ip.parse_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}))


def allow(action, resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def test_nothing_allowed_means_denied():
    """Policy evaluation logic: "By default, all requests are implicitly denied"."""
    assert ip.evaluate([], "sqs:SendMessage", Q).decision == ip.IMPLICIT_DENY
    assert ip.evaluate(policy(allow("sqs:ReceiveMessage", Q)), "sqs:DeleteMessage", Q).decision == ip.IMPLICIT_DENY


def test_an_explicit_deny_wins_over_any_allow():
    """Determining whether a request is allowed or denied within an account: an explicit deny in
    any policy overrides any allow, in whichever policy and order they come."""
    statements = policy(allow("sqs:*")) + policy(deny("sqs:DeleteMessage", Q)) + policy(allow("*"))
    d = ip.evaluate(statements, "sqs:DeleteMessage", Q)
    assert d.decision == ip.EXPLICIT_DENY and d.statement.effect == "Deny"
    assert ip.evaluate(statements, "sqs:SendMessage", Q).allowed


def test_action_wildcards_and_case():
    """IAM JSON policy elements: Action: wildcards (* and ?) and action names are case-insensitive."""
    st = policy(allow(["sqs:Receive*", "SQS:deletemessage", "logs:Put?ogEvents"]))
    assert ip.evaluate(st, "sqs:ReceiveMessage", Q).allowed
    assert ip.evaluate(st, "sqs:DeleteMessage", Q).allowed
    assert ip.evaluate(st, "logs:PutLogEvents", "*").allowed
    assert not ip.evaluate(st, "sqs:SendMessage", Q).allowed
    assert not ip.evaluate(st, "sqs:DeleteMessageBatch", Q).allowed  # a batch action is authorized as DeleteMessage
    assert ip.evaluate(policy(allow("*")), "lambda:InvokeFunction", "arn:x").allowed


def test_resource_wildcards_are_case_sensitive():
    """IAM JSON policy elements: Resource: * any run of characters, ? one; ARNs compared with case."""
    st = policy(allow("sqs:SendMessage", [f"arn:aws:sqs:{REGION}:{ACCOUNT}:order?", "arn:aws:sqs:*:*:fa-*"]))
    assert ip.evaluate(st, "sqs:SendMessage", Q).allowed
    assert ip.evaluate(st, "sqs:SendMessage", f"arn:aws:sqs:eu-west-1:{ACCOUNT}:fa-021-queue").allowed
    assert not ip.evaluate(st, "sqs:SendMessage", Q.upper()).allowed
    assert not ip.evaluate(st, "sqs:SendMessage", Q + "-dlq").allowed
    log = policy(allow("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/f:*"))
    assert ip.evaluate(log, "logs:PutLogEvents",
                       f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:2026/x").allowed


def test_not_action_and_not_resource():
    """IAM JSON policy elements: NotAction and NotResource match everything but what they list."""
    st = policy({"Effect": "Allow", "NotAction": "sqs:DeleteMessage", "Resource": Q})
    assert ip.evaluate(st, "sqs:ReceiveMessage", Q).allowed
    assert not ip.evaluate(st, "sqs:DeleteMessage", Q).allowed
    st = policy(allow("sqs:*"), {"Effect": "Deny", "Action": "sqs:*", "NotResource": Q})
    assert ip.evaluate(st, "sqs:SendMessage", Q).allowed
    assert ip.evaluate(st, "sqs:SendMessage", Q + "-other").decision == ip.EXPLICIT_DENY
    # a statement must have exactly one of Action/NotAction and of Resource/NotResource: otherwise it grants nothing
    assert ip.parse_policy({"Statement": [{"Effect": "Allow", "Action": "*"}]}) == []


def test_conditions_supported_and_not():
    """IAM JSON policy elements: Condition operators. Supported keys are evaluated; a statement with a
    key or operator the emulator does not support does not apply (documented in iam_policy)."""
    st = policy(allow("sqs:*", Condition={"StringEquals": {"aws:RequestedRegion": "us-east-1"}}))
    ctx = {"aws:requestedregion": "us-east-1"}
    assert ip.evaluate(st, "sqs:SendMessage", Q, ctx).allowed
    assert not ip.evaluate(st, "sqs:SendMessage", Q, {"aws:requestedregion": "eu-west-1"}).allowed
    unknown_allow = policy(allow("sqs:*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}}))
    assert not ip.evaluate(unknown_allow, "sqs:SendMessage", Q, ctx).allowed
    unknown_deny = policy(allow("sqs:*"), deny("sqs:*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    assert ip.evaluate(unknown_deny, "sqs:SendMessage", Q, ctx).allowed
    if_exists = policy(allow("sqs:*", Condition={"StringEqualsIfExists": {"aws:RequestedRegion": "eu-west-1"}}))
    assert ip.evaluate(if_exists, "sqs:SendMessage", Q, {}).allowed


def test_requests_map_to_actions_and_resources():
    """The Service Authorization Reference for CloudWatch Logs (a stream's ARN, a group's ``:*``), and
    GetCallerIdentity ("No permissions are required to perform this operation"). The mapping of each
    request as moto dispatches it is tested end to end in tests/unit/test_one_reading.py."""
    put = rq.logs_call("PutLogEvents", {"logGroupName": "/aws/lambda/f", "logStreamName": "s"}, REGION, ACCOUNT)
    assert put.pairs == (("logs:PutLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/f:log-stream:s"),)
    read = rq.logs_call("FilterLogEvents", {"logGroupName": "/aws/lambda/f"}, REGION, ACCOUNT)
    assert read.pairs == (("logs:FilterLogEvents", f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/f:*"),)
    who = rq.sts_call("GetCallerIdentity", {})
    assert ip.authorize("arn:aws:iam::123456789012:role/none", who) is None
    assert ip.authorize("arn:aws:iam::123456789012:role/none", rq.sts_call("AssumeRole", {})) is not None
    assert not rq.s3_call("PUT", "/bucket", "policy").mapped


def test_denial_messages_and_the_query_shape():
    """Troubleshoot access denied error messages (IAM User Guide): "User: ... is not authorized to perform:
    ... on resource: ... because no identity-based policy allows the ... action" / "with an explicit deny in
    an identity-based policy"; the query protocol's ErrorResponse, HTTP 403."""
    caller = ip.session_arn(f"arn:aws:iam::{ACCOUNT}:role/service/r2", "f2")
    assert caller == f"arn:aws:sts::{ACCOUNT}:assumed-role/r2/f2"
    implicit = ip.denial_message(caller, ip.Decision(ip.IMPLICIT_DENY, "sqs:DeleteMessage", Q))
    assert implicit == (f"User: {caller} is not authorized to perform: sqs:deletemessage on resource: {Q} "
                        "because no identity-based policy allows the sqs:deletemessage action")
    lam_denied = ip.denial_message(caller, ip.Decision(ip.IMPLICIT_DENY, "lambda:ListFunctions", "*"))
    assert "perform: lambda:ListFunctions on resource: *" in lam_denied, "other services keep IAM's case"
    explicit = ip.denial_message(caller, ip.Decision(ip.EXPLICIT_DENY, "sqs:DeleteMessage", Q))
    assert explicit.endswith("on resource: " + Q + " with an explicit deny in an identity-based policy")
    req = sigv4.Request("POST", "/", "", {"CONTENT_TYPE": "application/x-www-form-urlencoded"},
                       scope={"service": "sqs"})
    status, headers, body = refusals.error_response(sigv4.AuthError("access_denied", implicit), req)
    assert status == "403 Forbidden" and b"<Code>AccessDenied</Code>" in body and b"<Type>Sender</Type>" in body


def test_a_role_that_does_not_exist_may_do_nothing():
    """Policy evaluation logic: no policy, no allow. (A role deleted while its function runs.)"""
    with pytest.raises(mapping_checks.MappingError, match="call ReceiveMessage on SQS"):
        mapping_checks.check_role_can_poll(f"arn:aws:iam::{ACCOUNT}:role/does-not-exist", Q)
