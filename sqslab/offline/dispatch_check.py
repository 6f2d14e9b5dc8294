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
(:mod:`sqslab.offline.iam_policy`); a denied request gets AWS's ``AccessDenied``
in that service's shape and never reaches the handler.
"""

from __future__ import annotations

import re
import time
from urllib.parse import unquote, urlsplit

from sqslab.offline import code_package, iam_policy
from sqslab.offline.auth import AuthError, Principal, count, error_response, policy_cost, request_of
from sqslab.offline.iam_policy import Call

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
    action = "sqs:" + iam_policy.SQS_BATCH.get(operation, operation)
    if operation in ("CreateQueue", "GetQueueUrl"):
        name = resp._get_param("QueueName") or ""
        if name and not _QUEUE_NAME.match(name) and operation == "GetQueueUrl":
            raise _no_queue()
        resource = f"arn:aws:sqs:{region}:{account}:{name}" if name else "*"
    elif operation in ("StartMessageMoveTask", "ListMessageMoveTasks"):
        resource = resp._get_param("SourceArn") or "*"
    elif operation == "CancelMessageMoveTask":
        resource = "*"
        from sqslab.offline.patches.sqs import decode_task_handle

        decoded = decode_task_handle(resp._get_param("TaskHandle") or "")
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
    action = "lambda:" + _LAMBDA_ACTIONS.get(operation, operation)
    if "FunctionName" in params:
        qualifier = resp._get_param("qualifier" if operation == "Invoke" else "Qualifier")
        resource = _function_arn(params["FunctionName"], "functionName", region, account,
                                 qualifier if isinstance(qualifier, str) and qualifier else None)
    elif operation == "CreateFunction":
        name = resp.json_body.get("FunctionName") if isinstance(resp.json_body, dict) else None
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
    return Call("lambda", operation, ((action, resource),))


# ---------------------------------------------------------------- the rest


def logs_call(resp, operation: str) -> Call:
    """CloudWatch Logs: ``logs:<Action>`` on the group or stream that ``_get_param`` gives the handler."""
    group = resp._get_param("logGroupName")
    stream = resp._get_param("logStreamName")
    params = {"logGroupName": group if isinstance(group, str) else None,
              "logStreamName": stream if isinstance(stream, str) else None}
    return iam_policy.logs_call(operation, params, resp.region, resp.current_account)


def _params(resp, *names: str) -> dict:
    out = {}
    for name in names:
        value = resp._get_param(name)
        if isinstance(value, str):
            out[name] = value
    return out


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
        return iam_policy.iam_call(operation, _params(resp, "PolicySourceArn", "RoleName", "PolicyArn", "UserName"),
                                   resp.current_account)
    if service == "cloudformation":
        return iam_policy.cloudformation_call(operation, _params(resp, "StackName"), resp.region,
                                              resp.current_account)
    if service == "sts":
        return iam_policy.sts_call(operation, _params(resp, "RoleArn"))
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
    call = iam_policy.s3_call(resp.method.upper(), path.replace("%", "%25"), urlsplit(resp.uri).query)
    return _authorize(environ, principal, call, resp.region)


def _authorize(environ: dict, principal: Principal, call: Call, region: str):
    decision = iam_policy.authorize(principal.role_arn, call, region)
    if decision is None:
        return None
    count("denied")
    caller = iam_policy.session_arn(principal.role_arn, principal.function_arn.split(":")[-1]) \
        if principal.role_arn else principal.function_arn
    if call.service == "s3":
        decision = iam_policy.Decision(decision.decision, decision.action, f'"{decision.resource}"',
                                       decision.statement)
    return _response(environ, AuthError("access_denied", iam_policy.denial_message(caller, decision)))


def _refusal(environ: dict, refused: Refused):
    return _response(environ, AuthError("service", refused.message, status=refused.status, code=refused.code))


def _response(environ: dict, err: AuthError) -> tuple[int, dict, bytes]:
    req = request_of(environ)
    req.scope = environ.get("sqslab.scope") or {}
    status, headers, body = error_response(err, req)
    return int(status.split()[0]), dict(headers), body
