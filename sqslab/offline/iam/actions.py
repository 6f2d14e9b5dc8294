"""Each request in IAM's terms: the action(s) and resource(s) it needs.

:class:`Call` is what one request asks; the builders below make it for the services whose
resource is named by plain parameters (CloudWatch Logs groups and streams, S3 path-style
buckets and objects, IAM, CloudFormation, STS, SNS topics), following the Service Authorization
Reference. They are given the values moto's handler reads (:mod:`sqslab.offline.iam.dispatch_check`
calls them at dispatch), never a parse of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote


@dataclass(frozen=True)
class Call:
    """What one request asks, in IAM's terms."""

    service: str
    operation: str
    pairs: tuple[tuple[str, str], ...]  # (action, resource) to authorize, all of them
    mapped: bool = True  # False: not understood; a role is denied


SQS_BATCH = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
             "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}
ALWAYS_ALLOWED = {("sts", "GetCallerIdentity")}  # "no permissions are required to perform this operation"


def logs_call(operation: str, params: dict, region: str, account: str) -> Call:
    """CloudWatch Logs: ``logs:<Action>`` on the log group's or the log stream's ARN."""
    group = params.get("logGroupName")
    stream = params.get("logStreamName")
    base = f"arn:aws:logs:{region}:{account}:log-group:"
    if group and stream:
        resource = f"{base}{group}:log-stream:{stream}"
    elif group and operation == "CreateLogStream":
        resource = f"{base}{group}:log-stream:"
    elif group:
        resource = f"{base}{group}" if operation in ("CreateLogGroup", "DeleteLogGroup") else f"{base}{group}:*"
    else:
        resource = "*"
    return Call("logs", operation, ((f"logs:{operation}", resource),))


def s3_call(method: str, path: str, query: str) -> Call:
    """S3 (path style): the object and bucket actions of the Service Authorization Reference."""
    parts = unquote(path).lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    sub = [k for k, _ in parse_qsl(query, keep_blank_values=True) if k not in ("x-id", "prefix", "delimiter",
                                                                             "max-keys", "list-type",
                                                                             "continuation-token",
                                                                             "encoding-type", "start-after")]
    if not bucket:
        if method == "GET":
            return Call("s3", "ListBuckets", (("s3:ListAllMyBuckets", "*"),))
        return Call("s3", method, (("s3:Unknown", "*"),), mapped=False)
    if sub:
        return Call("s3", f"{method} ?{sub[0]}", ((f"s3:{method.title()}{sub[0].title()}", f"arn:aws:s3:::{bucket}"),),
                    mapped=False)
    if key:
        obj = f"arn:aws:s3:::{bucket}/{key}"
        action = {"GET": "GetObject", "HEAD": "GetObject", "PUT": "PutObject", "POST": "PutObject",
                  "DELETE": "DeleteObject"}.get(method)
        if action is None:
            return Call("s3", method, (("s3:Unknown", obj),), mapped=False)
        return Call("s3", action, ((f"s3:{action}", obj),))
    action = {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method)
    if action is None:
        return Call("s3", method, (("s3:Unknown", f"arn:aws:s3:::{bucket}"),), mapped=False)
    return Call("s3", action, ((f"s3:{action}", f"arn:aws:s3:::{bucket}"),))


def iam_call(operation: str, params: dict, account: str) -> Call:
    if params.get("PolicySourceArn"):
        resource = params["PolicySourceArn"]
    elif params.get("RoleName"):
        resource = f"arn:aws:iam::{account}:role/{params['RoleName']}"
    elif params.get("PolicyArn"):
        resource = params["PolicyArn"]
    elif params.get("UserName"):
        resource = f"arn:aws:iam::{account}:user/{params['UserName']}"
    else:
        resource = "*"
    return Call("iam", operation, ((f"iam:{operation}", resource),))


def cloudformation_call(operation: str, params: dict, region: str, account: str) -> Call:
    name = params.get("StackName") or ""
    if name.startswith("arn:"):
        resource = name
    elif name:
        resource = f"arn:aws:cloudformation:{region}:{account}:stack/{name}/*"
    else:
        resource = "*"
    return Call("cloudformation", operation, ((f"cloudformation:{operation}", resource),))


_SNS_ACCOUNT_WIDE = frozenset({"ListTopics", "ListSubscriptions", "CreatePlatformApplication",
                                "ListPlatformApplications", "GetSMSAttributes", "SetSMSAttributes",
                                "CheckIfPhoneNumberIsOptedOut", "ListPhoneNumbersOptedOut", "OptInPhoneNumber",
                                "GetSMSSandboxAccountStatus"})


def sns_call(operation: str, params: dict, region: str, account: str) -> Call:
    """SNS: ``sns:<Action>`` on the topic ("Actions, resources, and condition keys for Amazon SNS"):
    a subscription's operations on its topic, CreateTopic on the topic it names, the account-wide
    listings on ``*``."""
    action = f"sns:{operation}"
    if operation in _SNS_ACCOUNT_WIDE:
        return Call("sns", operation, ((action, "*"),))
    if operation == "CreateTopic" and params.get("Name"):
        return Call("sns", operation, ((action, f"arn:aws:sns:{region}:{account}:{params['Name']}"),))
    topic = params.get("TopicArn") or params.get("TargetArn") or params.get("ResourceArn")
    if not topic and params.get("SubscriptionArn", "").count(":") >= 6:
        topic = params["SubscriptionArn"].rsplit(":", 1)[0]  # a subscription's ARN is its topic's and an id
    if topic and topic.startswith("arn:"):
        return Call("sns", operation, ((action, topic),))
    return Call("sns", operation, ((action, "*"),), mapped=False)


def sts_call(operation: str, params: dict) -> Call:
    if ("sts", operation) in ALWAYS_ALLOWED:
        return Call("sts", operation, ())
    resource = params.get("RoleArn") or "*"
    return Call("sts", operation, ((f"sts:{operation}", resource),))
