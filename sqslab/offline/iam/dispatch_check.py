"""One request, one reading: requests are judged as the service is about to run them.

The signature is checked in front of moto (:mod:`sqslab.offline.auth`); everything
else about a request is decided here, at the point where moto has routed and
parsed it and is about to call the handler: the operation is moto's own
``_get_action()`` (the one ``call_action`` dispatches on) and every name the IAM
resource is built from is read with the accessor the handler itself uses
(``_get_queue_name()``, ``_get_param(...)``, the Lambda router's URI parameters).
So no request can be checked as one thing and run as another.

Here, for every caller:

- the service moto routed the request to must be the service it was signed for
  (AWS: ``SignatureDoesNotMatch``, "Credential should be scoped to correct service");
- a query-protocol request may name each parameter once, across its query string
  and its form body (``InvalidQueryParameter``, 400: which value the service would
  act on is not certain);
- an SQS ``QueueUrl`` must be exactly ``scheme://host/ACCOUNT/NAME`` (no query, no
  fragment, no further path): else ``InvalidAddress`` ("The address ... is not
  valid for this endpoint."); a queue of another account, or a name SQS would never
  accept, does not exist here (``AWS.SimpleQueueService.NonExistentQueue``);
- a Lambda path parameter (a function name, a mapping's UUID, a layer) must be one
  path segment that Lambda accepts (``ValidationException``, as Lambda answers a
  name outside its pattern); a function ARN of another account or region is not
  found (``ResourceNotFoundException``).

And for a request signed with an execution environment's credentials, the action
and resource so read are evaluated against the function's role
(:mod:`sqslab.offline.iam.policy`); a denied request gets AWS's ``AccessDenied``
in that service's shape and never reaches the handler.
"""

from __future__ import annotations

import re
import time
from urllib.parse import unquote, urlsplit

from sqslab.offline.auth.keystore import Principal
from sqslab.offline.auth.middleware import count, policy_cost
from sqslab.offline.auth.refusals import error_response
from sqslab.offline.auth.sigv4 import AuthError, request_of
from sqslab.offline.awslambda import code_package, request_shapes
from sqslab.offline.iam import actions
from sqslab.offline.iam import policy as iam_policy
from sqslab.offline.iam.actions import Call
from sqslab.offline.sqs import move_tasks

# moto's name of a service -> the name requests are signed for (SigV4 credential scope)
SIGNING_NAMES = {"awslambda": "lambda"}

_ACCOUNT = re.compile(r"\d{12}\Z")
# CreateQueue: "up to 80 characters: alphanumeric characters, hyphens (-) and underscores (_)";
# a FIFO queue's name ends with .fifo, counted in the 80.
_QUEUE_NAME = re.compile(r"(?=[^\n]{1,80}\Z)[A-Za-z0-9_-]+(\.fifo)?\Z")
# Lambda API reference, FunctionName (Invoke and others): a name, a partial ARN or an ARN, with a qualifier.
_FUNCTION = re.compile(
    r"(?:arn:aws[a-zA-Z-]*:lambda:(?P<region>[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):(?P<account>\d{12}):function:"
    r"|(?P<paccount>\d{12}):function:)?(?P<name>[a-zA-Z0-9_.-]{1,140})(?::(?P<qualifier>\$LATEST|[a-zA-Z0-9_-]+))?\Z")
_SEGMENT = re.compile(r"[^/?#]+\Z")
_LAMBDA_ACTIONS = {"Invoke": "InvokeFunction", "InvokeWithResponseStream": "InvokeFunction"}


class Refused(Exception):
    """A request refused before its handler runs: (HTTP status, error code, message)."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def signing_name(resp) -> str:
    name = getattr(resp, "service_name", "") or ""
    return SIGNING_NAMES.get(name, name)


# ---------------------------------------------------------------- SQS


def _queue_url_problem(url: str, account: str) -> Refused | None:
    """What is wrong with a QueueUrl (or a bare queue name, which SQS also takes), or None."""
    if "://" not in url:
        return None if _QUEUE_NAME.match(url) else _no_queue()
    parts = urlsplit(url)
    segments = parts.path.split("/")
    if (parts.query or parts.fragment or "?" in url or "#" in url or len(segments) != 3 or segments[0]
            or not _ACCOUNT.match(segments[1]) or not segments[2]):
        return Refused(400, "InvalidAddress", f"The address {url} is not valid for this endpoint.")
    if segments[1] != account or not _QUEUE_NAME.match(unquote(segments[2])) or unquote(segments[2]) != segments[2]:
        return _no_queue()
    return None


def _no_queue() -> Refused:
    return Refused(400, "AWS.SimpleQueueService.NonExistentQueue", "The specified queue does not exist.")


def sqs_call(resp, operation: str) -> Call:
    """``sqs:<Action>`` on the queue moto acts on: ``_get_queue_name()`` in the request's account and
    region (SQS API permissions reference; batch actions as their single forms; ListQueues on ``*``)."""
    region, account = resp.region, resp.current_account
    action = "sqs:" + actions.SQS_BATCH.get(operation, operation)
    for param in ("QueueName", "QueueUrl", "SourceArn", "DestinationArn", "TaskHandle"):
        _strings(resp, param, code="InvalidParameterValue")  # each a string, or absent
    if operation in ("CreateQueue", "GetQueueUrl"):
        name = resp._get_param("QueueName") or ""
        if name and not _QUEUE_NAME.match(name) and operation == "GetQueueUrl":
            raise _no_queue()
        resource = f"arn:aws:sqs:{region}:{account}:{name}" if name else "*"
    elif operation in ("StartMessageMoveTask", "ListMessageMoveTasks"):
        resource = resp._get_param("SourceArn") or "*"
    elif operation == "CancelMessageMoveTask":
        resource = "*"
        decoded = move_tasks.decode_task_handle(resp._get_param("TaskHandle") or "")
        if decoded:
            resource = decoded[1]
    elif operation == "ListQueues":
        resource = "*"
    else:
        url = resp._get_param("QueueUrl")
        if isinstance(url, str):
            problem = _queue_url_problem(url, account)
            if problem is not None:
                raise problem
        elif resp.path.strip("/"):
            problem = _queue_url_problem("http://host" + resp.path, account)
            if problem is not None:
                raise problem
        name = resp._get_queue_name()
        resource = f"arn:aws:sqs:{region}:{account}:{name}"
    return Call("sqs", operation, ((action, resource),))


# ---------------------------------------------------------------- Lambda


def _function_arn(value: str, param: str, region: str, account: str, qualifier: str | None) -> str:
    hit = _FUNCTION.match(value)
    if hit is None:
        raise Refused(400, "ValidationException",
                      f"1 validation error detected: Value '{value}' at '{param}' failed to satisfy constraint: "
                      "Member must satisfy regular expression pattern: (arn:(aws[a-zA-Z-]*)?:lambda:)?"
                      "([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?([a-zA-Z0-9-_\\.]+)"
                      "(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
    if hit.group("paccount"):
        raise Refused(400, "InvalidParameterValueException", f"The offline emulator does not take a partial ARN "
                      f"({value}): give the function's name or its full ARN")
    other_account = hit.group("account") or hit.group("paccount")
    if (hit.group("region") and hit.group("region") != region) or (other_account and other_account != account):
        raise Refused(404, "ResourceNotFoundException", f"Function not found: {value}")
    qualifier = hit.group("qualifier") or qualifier
    arn = f"arn:aws:lambda:{region}:{account}:function:{hit.group('name')}"
    return f"{arn}:{qualifier}" if qualifier else arn


def lambda_call(resp, operation: str) -> Call:
    """``lambda:<Action>`` on the function, mapping or layer the router's URI parameters name, each
    checked to be one path segment that Lambda accepts (so moto's handlers, which split the path,
    read the same name)."""
    region, account = resp.region, resp.current_account
    if resp.path.endswith("/") and resp.path.strip("/"):
        # moto's handlers count path segments from the end: a trailing slash shifts them (a layer's
        # versions route then published to a layer named "versions"); the SDKs never send one
        raise Refused(404, "UnknownOperationException", f"No operation of lambda is served at {resp.method} "
                      f"{resp.path} (no trailing slash).")
    params = dict(getattr(resp, "uri_match", None) or {})
    for key, value in params.items():
        if not isinstance(value, str) or not _SEGMENT.match(value) or value in (".", ".."):
            raise Refused(400, "ValidationException", f"1 validation error detected: Value '{value}' at "
                          f"'{key[:1].lower() + key[1:]}' failed to satisfy constraint: Member must be one path "
                          "segment")
    if operation in ("CreateFunction", "UpdateFunctionCode", "PublishLayerVersion"):
        body = getattr(resp, "raw_body", None) or b""
        if len(body) > code_package.DIRECT_UPLOAD_LIMIT:  # Lambda quotas: 50 MB zipped, uploaded directly
            raise Refused(413, "RequestEntityTooLargeException", f"Request must be smaller than "
                          f"{code_package.DIRECT_UPLOAD_LIMIT} bytes for the {operation} operation")
    shape_problem = request_shapes.problems(operation, lambda: _json_body(resp),
                                            getattr(resp, "querystring", None) or {}, getattr(resp, "headers", None))
    if shape_problem:
        raise Refused(400, "ValidationException", shape_problem)
    action = "lambda:" + _LAMBDA_ACTIONS.get(operation, operation)
    if "FunctionName" in params:
        qualifier = resp._get_param("qualifier" if operation == "Invoke" else "Qualifier")
        resource = _function_arn(params["FunctionName"], "functionName", region, account,
                                 qualifier if isinstance(qualifier, str) and qualifier else None)
    elif operation == "CreateFunction":
        name = _json_body(resp).get("FunctionName")
        if not isinstance(name, str):
            resource = "*"
        else:
            _function_arn(name, "functionName", region, account, None)
            resource = f"arn:aws:lambda:{region}:{account}:function:{name.rsplit(':', 1)[-1]}"
    elif "UUID" in params:
        resource = f"arn:aws:lambda:{region}:{account}:event-source-mapping:{params['UUID']}"
    elif "LayerName" in params:
        layer = params["LayerName"]
        if not layer.startswith("arn:"):
            layer = f"arn:aws:lambda:{region}:{account}:layer:{layer}"
        resource = f"{layer}:{params['VersionNumber']}" if "VersionNumber" in params else layer
    elif "Resource" in params:
        resource = params["Resource"]
    else:
        resource = "*"
    pairs = [(action, resource)]
    if operation in ("CreateFunction", "UpdateFunctionConfiguration"):
        role = _json_body(resp).get("Role")
        if role is not None:  # Lambda: giving a function a role needs iam:PassRole on it
            if not isinstance(role, str):
                raise Refused(400, "ValidationException", "1 validation error detected: Value at 'role' failed to "
                              "satisfy constraint: Member must be a string")
            pairs.append(("iam:PassRole", role))
    return Call("lambda", operation, tuple(pairs))


def _json_body(resp) -> dict:
    """A Lambda request's JSON body, as moto's handlers read it; Lambda's error for one that is not JSON."""
    if not (resp.body or ""):
        return {}
    try:
        body = resp.json_body
    except (ValueError, TypeError):
        raise Refused(400, "InvalidRequestContentException", "Could not parse request body into json") from None
    if not isinstance(body, dict):
        raise Refused(400, "InvalidRequestContentException", "Could not parse request body into json: the body is "
                      "not an object")
    return body


# ---------------------------------------------------------------- the rest


# CloudWatch Logs operations whose handler acts on the group (and stream) named by logGroupName (and
# logStreamName); every other operation is judged on "*" unless listed below.
_LOGS_BY_GROUP = frozenset({
    "CreateLogGroup", "DeleteLogGroup", "PutRetentionPolicy", "DeleteRetentionPolicy", "ListTagsLogGroup",
    "TagLogGroup", "UntagLogGroup", "DescribeSubscriptionFilters", "DeleteSubscriptionFilter", "FilterLogEvents",
    "CreateLogStream", "DeleteLogStream", "PutLogEvents", "GetLogEvents", "DescribeLogStreams", "StartQuery",
    "DescribeQueries"})
_LOGS_BY_ARN = frozenset({"TagResource", "UntagResource", "ListTagsForResource"})
# Operations that make CloudWatch Logs act on another service or account (invoke a function, write a
# bucket, accept another account's logs). AWS also checks the destination's resource policy, which the
# emulator does not model: refused to a function's role (README).
_LOGS_CROSS_SERVICE = frozenset({
    "PutSubscriptionFilter", "CreateExportTask", "PutDestination", "PutDestinationPolicy", "PutResourcePolicy",
    "PutDeliverySource", "PutDeliveryDestination", "PutDeliveryDestinationPolicy", "CreateDelivery",
    "PutAccountPolicy", "PutDataProtectionPolicy"})


def _strings(resp, name: str, many: bool = False, code: str = "InvalidParameterException") -> list[str]:
    """A parameter as moto's handler reads it (``_get_param``): absent, a string, or (``many``) a list of
    strings; anything else is the service's validation error."""
    value = resp._get_param(name)
    if value is None:
        return []
    values = value if many and isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise Refused(400, code, f"1 validation error detected: Value at '{name}' failed to "
                      "satisfy constraint: Member must be a string" + (" or a list of strings" if many else ""))
    return values


def logs_call(resp, operation: str) -> Call:
    """CloudWatch Logs: ``logs:<Action>`` on exactly the groups and streams the handler acts on, read with
    its own ``_get_param``: the Service Authorization Reference's log-group and log-stream ARNs."""
    region, account = resp.region, resp.current_account
    action = f"logs:{operation}"
    if operation in _LOGS_CROSS_SERVICE:
        return Call("logs", operation, ((action, "*"),), mapped=False)
    if operation in _LOGS_BY_ARN:
        return Call("logs", operation, tuple((action, arn) for arn in _strings(resp, "resourceArn")) or ((action, "*"),))
    if operation == "StartLiveTail":
        groups = [_group_of(g) for g in _strings(resp, "logGroupIdentifiers", many=True)]
    elif operation in _LOGS_BY_GROUP:
        groups = _strings(resp, "logGroupName")
        if operation in ("GetLogEvents", "DescribeLogStreams"):
            groups += [_group_of(g) for g in _strings(resp, "logGroupIdentifier")]
        if operation == "StartQuery":
            groups += _strings(resp, "logGroupNames", many=True)
    else:
        return Call("logs", operation, ((action, "*"),))
    streams = _strings(resp, "logStreamName")
    pairs = []
    for group in dict.fromkeys(groups):
        call = actions.logs_call(operation, {"logGroupName": group, "logStreamName": streams[0] if streams else None},
                                    region, account)
        pairs.extend(call.pairs)
    return Call("logs", operation, tuple(pairs) or ((action, "*"),))


def _group_of(identifier: str) -> str:
    """A log group's name from a logGroupIdentifier (a name or an ARN, with or without ``:*``)."""
    if identifier.startswith("arn:") and ":log-group:" in identifier:
        name = identifier.split(":log-group:", 1)[1]
        return name[:-2] if name.endswith(":*") else name
    return identifier


def _params(resp, *names: str) -> dict:
    out = {}
    for name in names:
        value = resp._get_param(name)
        if isinstance(value, str):
            out[name] = value
    return out


# DynamoDB: the Service Authorization Reference's dynamodb:<Action> on the table's ARN, for the tables
# the handler reads from its parsed body (DynamoHandler.body: TableName; RequestItems' keys for the
# batch operations; each item's TableName for the transactions, whose items need the item action:
# "Actions, resources, and condition keys for Amazon DynamoDB").
_DYNAMODB_ACCOUNT_WIDE = frozenset({"ListTables", "DescribeLimits", "DescribeEndpoints", "ListBackups",
                                    "ListGlobalTables", "ListExports", "ListImports"})
_DYNAMODB_TRANSACT_ITEM = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem",
                           "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}


def dynamodb_call(resp, operation: str) -> Call:
    body = resp.body if isinstance(resp.body, dict) else {}
    action = f"dynamodb:{operation}"

    def table(name) -> str:
        if not isinstance(name, str) or not name:
            raise Refused(400, "ValidationException", "1 validation error detected: Value at 'tableName' failed to "
                          "satisfy constraint: Member must be a string")
        return name if name.startswith("arn:") else f"arn:aws:dynamodb:{resp.region}:{resp.current_account}:table/{name}"

    if operation in _DYNAMODB_ACCOUNT_WIDE:
        return Call("dynamodb", operation, ((action, "*"),))
    if operation in ("BatchGetItem", "BatchWriteItem"):
        items = body.get("RequestItems")
        names = list(items) if isinstance(items, dict) else []
        return Call("dynamodb", operation, tuple((action, table(n)) for n in names) or ((action, "*"),),
                    mapped=bool(names))
    if operation in ("TransactWriteItems", "TransactGetItems"):
        pairs = []
        for item in body.get("TransactItems") or []:
            for kind, spec in (item.items() if isinstance(item, dict) else ()):
                item_action = _DYNAMODB_TRANSACT_ITEM.get(kind)
                if item_action is None or not isinstance(spec, dict):
                    return Call("dynamodb", operation, ((action, "*"),), mapped=False)
                pairs.append((f"dynamodb:{item_action}", table(spec.get("TableName"))))
        return Call("dynamodb", operation, tuple(dict.fromkeys(pairs)) or ((action, "*"),), mapped=bool(pairs))
    if "TableName" in body:
        return Call("dynamodb", operation, ((action, table(body["TableName"])),))
    return Call("dynamodb", operation, ((action, "*"),), mapped=False)


_CFN_MAKES_RESOURCES = frozenset({"CreateStack", "UpdateStack", "DeleteStack", "CreateChangeSet", "ExecuteChangeSet",
                                   "CreateStackSet", "UpdateStackSet", "CreateStackInstances", "ContinueUpdateRollback",
                                   "RollbackStack", "ImportStacksToStackSet"})


def call_of(resp) -> Call:
    """The IAM action(s) and resource(s) of the request moto is about to dispatch."""
    service = signing_name(resp)
    operation = resp._get_action() or "Unknown"
    if service == "sqs":
        return sqs_call(resp, operation)
    if service == "lambda":
        return lambda_call(resp, operation)
    if service == "logs":
        return logs_call(resp, operation)
    if service == "iam":
        return actions.iam_call(operation, _params(resp, "PolicySourceArn", "RoleName", "UserName", "GroupName",
                                                      "PolicyArn"), resp.current_account)
    if service == "cloudformation":
        call = actions.cloudformation_call(operation, _params(resp, "StackName"), resp.region,
                                              resp.current_account)
        if operation in _CFN_MAKES_RESOURCES:
            # CloudFormation would create each resource with the caller's permissions (or a service role's);
            # the emulator creates them with its own: refused to a function's role (README)
            return Call(call.service, operation, call.pairs, mapped=False)
        return call
    if service == "sts":
        return actions.sts_call(operation, _params(resp, "RoleArn"))
    if service == "dynamodb":
        return dynamodb_call(resp, operation)
    if service == "sns":
        return actions.sns_call(operation, _params(resp, "Name", "TopicArn", "TargetArn", "ResourceArn",
                                                   "SubscriptionArn"), resp.region, resp.current_account)
    return Call(service, operation, ((f"{service}:{operation}", "*"),), mapped=False)


# ---------------------------------------------------------------- the check


def _environ(resp) -> dict:
    request = getattr(resp, "normalized_request", None)
    return getattr(request, "environ", None) or {}


def _ambiguity(resp, environ: dict) -> Refused | None:
    scope = environ.get("sqslab.scope") or {}
    signed_for = scope.get("service")
    if signed_for and signed_for != signing_name(resp):
        return Refused(403, "SignatureDoesNotMatch", f"Credential should be scoped to correct service: "
                       f"'{signing_name(resp)}'. ")
    request = getattr(resp, "normalized_request", None)
    if request is not None and not (resp.headers.get("X-Amz-Target") or "").strip():
        content_type = (resp.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        names = [k for k, _ in request.args.items(multi=True)]
        if content_type == "application/x-www-form-urlencoded":
            names += [k for k, _ in request.form.items(multi=True)]
        seen: set[str] = set()
        for name in names:
            if name in seen:
                return Refused(400, "InvalidQueryParameter", f"The request names the parameter {name} more than "
                               "once; name each parameter once.")
            seen.add(name)
    return None


def _known_operation(resp) -> None:
    """An operation the service does not have is a 400 in its shape (moto would raise, a 500)."""
    from moto.core.utils import camelcase_to_underscores, method_names_from_class

    operation = resp._get_action() or ""
    if operation and camelcase_to_underscores(operation) in method_names_from_class(type(resp)):
        return
    if not operation and signing_name(resp) == "lambda":
        raise Refused(404, "UnknownOperationException", f"No operation of lambda is served at {resp.method} "
                      f"{resp.path}.")
    if (resp.headers.get("X-Amz-Target") or "").strip():
        raise Refused(400, "UnknownOperationException", f"The operation {operation} is not known to this service.")
    raise Refused(400, "InvalidAction", f"The action {operation or '(none)'} is not valid for this web service.")


def check(resp) -> tuple[int, dict, bytes] | None:
    """None if the request may run; else the response that refuses it. Marks the request checked."""
    environ = _environ(resp)
    environ["sqslab.checked"] = True
    principal: Principal | None = environ.get("sqslab.principal")
    t0 = time.perf_counter()
    try:
        problem = _ambiguity(resp, environ)
        if problem is not None:
            raise problem
        _known_operation(resp)
        call = call_of(resp)
    except Refused as refused:
        return _refusal(environ, refused)
    if principal is None or principal.kind != "function":
        return None
    try:
        return _authorize(environ, principal, call, resp.region)
    finally:
        policy_cost(time.perf_counter() - t0)


def check_s3(resp, bucket_name: str | None, key_name: str | None) -> tuple[int, dict, bytes] | None:
    """The same for S3, from the bucket and key moto's S3 handler passes to its own authorization hook."""
    environ = _environ(resp)
    environ["sqslab.checked"] = True
    principal: Principal | None = environ.get("sqslab.principal")
    problem = _ambiguity(resp, environ)
    if problem is not None:
        return _refusal(environ, problem)
    if principal is None or principal.kind != "function":
        return None
    path = f"/{bucket_name}/{key_name}" if bucket_name and key_name else (f"/{bucket_name}" if bucket_name else "/")
    call = actions.s3_call(resp.method.upper(), path.replace("%", "%25"), urlsplit(resp.uri).query)
    extra = []
    source = resp.headers.get("x-amz-copy-source")
    if source:  # CopyObject / UploadPartCopy also read the source: s3:GetObject on it
        source = unquote(source.split("?", 1)[0]).lstrip("/")
        extra.append(("s3:GetObject", f"arn:aws:s3:::{source}"))
    if key_name and resp.headers.get("x-amz-tagging"):
        extra.append(("s3:PutObjectTagging", f"arn:aws:s3:::{bucket_name}/{key_name}"))
    if any(h.lower() == "x-amz-acl" or h.lower().startswith("x-amz-grant-") for h in resp.headers.keys()):
        extra.append(("s3:PutObjectAcl" if key_name else "s3:PutBucketAcl",
                      f"arn:aws:s3:::{bucket_name}/{key_name}" if key_name else f"arn:aws:s3:::{bucket_name}"))
    if extra:
        call = Call(call.service, call.operation, call.pairs + tuple(extra), call.mapped)
    return _authorize(environ, principal, call, resp.region)


def _authorize(environ: dict, principal: Principal, call: Call, region: str):
    decision = iam_policy.authorize(principal.role_arn, call, region)
    if decision is None:
        return None
    count("denied")
    caller = iam_policy.session_arn(principal.role_arn, principal.function_arn.split(":")[-1]) \
        if principal.role_arn else principal.function_arn
    if not call.mapped:
        return _response(environ, AuthError("access_denied", f"User: {caller} is not authorized to perform: "
                                            f"{decision.action} on resource: {decision.resource}: the offline emulator "
                                            "does not let a function's role make this request (what AWS would also "
                                            "check, such as a destination's resource policy, is not emulated)"))
    if call.service == "s3":
        decision = iam_policy.Decision(decision.decision, decision.action, f'"{decision.resource}"',
                                       decision.statement)
    return _response(environ, AuthError("access_denied", iam_policy.denial_message(caller, decision)))


def unreadable(resp, request, exc: Exception) -> tuple[int, dict, bytes]:
    """The answer to a request moto could not parse: an operation the service does not have, or a body that
    is not of its protocol; in the service's shape (400)."""
    from botocore.model import OperationNotFoundError

    environ = getattr(request, "environ", None) or {}
    targeted = bool((request.headers.get("X-Amz-Target") or "").strip())
    if isinstance(exc, OperationNotFoundError):
        code = "UnknownOperationException" if targeted else "InvalidAction"
        return refusal_in(environ, 400, code, "The action or operation requested is not valid for this service.")
    if targeted:
        return refusal_in(environ, 400, "SerializationException", f"The request could not be read: {exc}")
    if getattr(resp, "service_name", "") == "awslambda":
        return refusal_in(environ, 400, "InvalidRequestContentException", f"The request could not be read: {exc}")
    return refusal_in(environ, 400, "InvalidQueryParameter", "The AWS query string is malformed or does not adhere "
                      f"to AWS standards: {exc}")


def refusal_in(environ: dict, status: int, code: str, message: str):
    """The response refusing a request, in its service's shape."""
    return _refusal(environ, Refused(status, code, message))


def _refusal(environ: dict, refused: Refused):
    return _response(environ, AuthError("service", refused.message, status=refused.status, code=refused.code))


def _response(environ: dict, err: AuthError) -> tuple[int, dict, bytes]:
    req = request_of(environ)
    req.scope = environ.get("sqslab.scope") or {}
    status, headers, body = error_response(err, req)
    return int(status.split()[0]), dict(headers), body
