"""A refused request answered as AWS answers it, in the protocol of the service it was for."""

from __future__ import annotations

import json
import re
import uuid

from sqslab.offline.auth.sigv4 import AuthError, Request

_LAMBDA_PATH = re.compile(r"/20\d\d-\d\d-\d\d/")
_QUERY_SERVICES = ("sqs", "cloudformation", "iam", "sts")

# kind -> (status, code in query/XML and SQS, code in JSON (Lambda, Logs), code in S3, default message)
_ERRORS = {
    "missing": (403, "MissingAuthenticationToken", "MissingAuthenticationTokenException", "AccessDenied",
                "Request is missing Authentication Token"),
    "unknown_key": (403, "InvalidClientTokenId", "UnrecognizedClientException", "InvalidAccessKeyId",
                    "The security token included in the request is invalid."),
    "bad_token": (403, "InvalidClientTokenId", "UnrecognizedClientException", "InvalidToken",
                  "The security token included in the request is invalid."),
    "signature": (403, "SignatureDoesNotMatch", "InvalidSignatureException", "SignatureDoesNotMatch",
                  "The request signature we calculated does not match the signature you provided. Check your "
                  "AWS Secret Access Key and signing method. Consult the service documentation for details."),
    "skew": (403, "SignatureDoesNotMatch", "InvalidSignatureException", "RequestTimeTooSkewed", ""),
    "incomplete": (400, "IncompleteSignature", "IncompleteSignatureException", "AuthorizationHeaderMalformed",
                   "The request signature does not conform to AWS standards."),
    "content_sha": (400, "SignatureDoesNotMatch", "InvalidSignatureException", "XAmzContentSHA256Mismatch", ""),
    # A signed request the caller's role does not allow (sqslab.offline.iam.policy).
    "access_denied": (403, "AccessDenied", "AccessDeniedException", "AccessDenied", "Access Denied"),
}
_S3_MESSAGES = {
    "missing": "Access Denied",
    "unknown_key": "The AWS Access Key Id you provided does not exist in our records.",
    "bad_token": "The provided token is malformed or otherwise invalid.",
    "signature": "The request signature we calculated does not match the signature you provided. "
                 "Check your key and signing method.",
    "skew": "The difference between the request time and the current time is too large.",
}


def protocol_of(req: Request) -> str:
    """``query``, ``sqs-json``, ``json``, ``rest-json`` or ``s3``: how the service asked answers errors."""
    service = req.scope.get("service") if req.scope else None
    target = req.header("x-amz-target") or ""
    if service == "s3":
        return "s3"
    if target:
        return "sqs-json" if target.startswith("AmazonSQS") else "json"
    if service == "lambda" or (service is None and _LAMBDA_PATH.match(req.raw_path)):
        return "rest-json"
    if service in _QUERY_SERVICES or "Action=" in req.raw_query or \
            (req.header("content-type") or "").startswith("application/x-www-form-urlencoded"):
        return "query"
    if service in ("logs",):
        return "json"
    return "s3" if service is None else "query"


def error_response(err: AuthError, req: Request) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of AWS's answer to a request that may not pass."""
    if err.kind == "service":  # a service's own error (sqslab.offline.iam.dispatch_check): one code everywhere
        status, default = err.extra["status"], err.message
        query_code = json_code = s3_code = err.extra["code"]
    else:
        status, query_code, json_code, s3_code, default = _ERRORS[err.kind]
    protocol = protocol_of(req)
    if err.kind == "access_denied" and protocol == "json":
        status = 400  # AWS JSON 1.1 services (CloudWatch Logs) answer AccessDeniedException with 400
    request_id = str(uuid.uuid4())
    message = err.message or default
    reason = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 500: "Internal Server Error"}.get(status, "Error")
    headers = [("x-amzn-RequestId", request_id)]
    if protocol == "s3":
        message = err.message if err.kind in ("content_sha",) else _S3_MESSAGES.get(err.kind, message)
        if err.kind == "incomplete":
            message = err.message or default
        extra = ""
        for tag, key in (("AWSAccessKeyId", "access_key"), ("StringToSign", "string_to_sign"),
                         ("SignatureProvided", "signature"), ("CanonicalRequest", "canonical_request"),
                         ("RequestTime", "request_time"), ("ServerTime", "server_time")):
            if key in err.extra:
                extra += f"<{tag}>{xml_escape(str(err.extra[key]))}</{tag}>"
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{s3_code}</Code>'
                f"<Message>{xml_escape(message)}</Message>{extra}<RequestId>{request_id}</RequestId>"
                f"<HostId>sqslab-offline</HostId></Error>").encode()
        headers += [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif protocol == "query":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
                f"<Code>{query_code}</Code><Message>{xml_escape(message)}</Message></Error>"
                f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
        headers.append(("Content-Type", "text/xml"))
    elif protocol == "sqs-json":
        json_type = "AccessDeniedException" if err.kind == "access_denied" else query_code
        if err.kind == "service" and "." in query_code:  # AWS.SimpleQueueService.NonExistentQueue
            json_type = "QueueDoesNotExist"
        body = json.dumps({"__type": f"com.amazon.coral.service#{json_type}", "message": message}).encode()
        headers += [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-query-error", f"{query_code};Sender")]
    elif protocol == "json":
        body = json.dumps({"__type": json_code, "message": message}).encode()
        headers.append(("Content-Type", "application/x-amz-json-1.1"))
    else:  # rest-json (Lambda)
        body = json.dumps({"Type": "User", "message": message}).encode()
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", f"{json_code}:")]
    headers.append(("Content-Length", str(len(body))))
    return f"{status} {reason}", headers, body


def xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
