"""Who may use the offline server: AWS Signature Version 4, checked on every request.

Each offline server has credentials of its own (:mod:`sqslab.offline.identity`
writes them, mode 0600, in its state directory): the learner's identity, which
may do everything, like the administrator of a personal account. Every execution
environment gets temporary credentials of its own (an access key id, a secret
and a session token, as Lambda gives them), issued here and revoked when the
environment ends.

:func:`middleware` wraps the server's WSGI application, so the check applies to
every service and to moto's own routes. A request is let through only if its
``Authorization`` header carries a SigV4 signature that this module computes
again from the request itself (method, path, query, the signed headers, the
payload's SHA-256) with the secret of the access key it names, following AWS's
"Signature Version 4 signing process" and "Elements of an AWS API request
signature"; signatures are compared in constant time. Anything else is answered
with the error AWS gives in that service's protocol, and nothing reaches moto:

- no signature: ``MissingAuthenticationToken`` (S3: ``AccessDenied``);
- an access key this server did not issue, or a session token that is not the
  key's: ``InvalidClientTokenId`` (Lambda and CloudWatch Logs:
  ``UnrecognizedClientException``; S3: ``InvalidAccessKeyId`` / ``InvalidToken``);
- a signature that does not match: ``SignatureDoesNotMatch`` (Lambda, Logs:
  ``InvalidSignatureException``);
- a request time more than 15 minutes away from the server's clock:
  ``SignatureDoesNotMatch`` with AWS's "Signature expired" / "Signature not yet
  current" message (S3: ``RequestTimeTooSkewed``);
- a malformed ``Authorization`` header: ``IncompleteSignature`` (S3:
  ``AuthorizationHeaderMalformed``);
- an S3 body whose SHA-256 is not the ``x-amz-content-sha256`` it was signed
  with: ``XAmzContentSHA256Mismatch``.

S3 payloads signed as ``UNSIGNED-PAYLOAD`` or streamed in signed chunks
(``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``) are accepted on their seed signature,
as botocore sends them. Presigned URLs (the signature in the query string) are
not accepted: nothing in the series makes them.

A request signed with an execution environment's credentials is then
authorized: it is mapped to its IAM action and resource and evaluated against
the policies of the function's execution role, recorded in the environment's
:class:`Principal` when its credentials are issued
(:mod:`sqslab.offline.iam.policy`). A request the role does not allow is
answered with AWS's ``AccessDenied`` (Lambda, CloudWatch Logs:
``AccessDeniedException``), naming the assumed role, the action and the
resource, and changes nothing. The learner's own requests are not evaluated.

The one exception is sqslab's own status route: unsigned, it answers with the
server's pid only (what ``ps`` shows anyone); signed, with the whole report.

Derived signing keys are cached per secret, date, region and service, so a
request costs two SHA-256 digests and one HMAC.
"""

from __future__ import annotations

import base64
import calendar
import collections
import hashlib
import hmac
import io
import json
import re
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, quote, unquote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW_S = 15 * 60  # AWS: a request must arrive within 15 minutes of its time stamp
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOADS = ("UNSIGNED-PAYLOAD", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
STREAMING_PREFIX = "STREAMING-"
_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
_AUTH_FIELD = re.compile(r"(\w+)=([^,\s]*)")


@dataclass(frozen=True)
class Principal:
    """Whom an access key stands for: the learner (``kind == "learner"``) or one
    execution environment of a function (``kind == "function"``)."""

    access_key: str
    secret_key: str
    kind: str = "learner"
    token: str | None = None
    function_arn: str = ""
    role_arn: str = ""


class AuthError(Exception):
    """A request that may not pass: ``kind`` decides the code each protocol gives."""

    def __init__(self, kind: str, message: str = "", **extra):
        super().__init__(message or kind)
        self.kind = kind
        self.message = message
        self.extra = extra


# ---------------------------------------------------------------- who holds a key


class KeyStore:
    """The access keys a server accepts, and whom each stands for."""

    def __init__(self):
        self._keys: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def add(self, principal: Principal) -> Principal:
        with self._lock:
            self._keys[principal.access_key] = principal
        return principal

    def get(self, access_key: str) -> Principal | None:
        return self._keys.get(access_key)

    def issue(self, function_arn: str = "", role_arn: str = "") -> Principal:
        """Temporary credentials for one execution environment (``ASIA...`` keys, as STS issues)."""
        return self.add(Principal(
            access_key="ASIA" + _key_chars(16),
            secret_key=secret_key(),
            kind="function",
            token=base64.b64encode(secrets.token_bytes(96)).decode("ascii"),
            function_arn=function_arn,
            role_arn=role_arn,
        ))

    def revoke(self, access_key: str) -> None:
        with self._lock:
            self._keys.pop(access_key, None)

    def __len__(self) -> int:
        return len(self._keys)


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def _key_chars(n: int) -> str:
    return "".join(secrets.choice(_B32) for _ in range(n))


def access_key_id() -> str:
    """A long-term access key id in AWS's form (``AKIA`` and 16 characters)."""
    return "AKIA" + _key_chars(16)


def secret_key() -> str:
    """A random 40-character secret access key (240 bits)."""
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")


# The server process's store: the learner's key is added at start, environments' keys as they start.
STORE = KeyStore()


def issue_for_environment(function_arn: str = "", role_arn: str = "") -> Principal:
    """Temporary credentials for one execution environment of ``function_arn``, standing for
    its execution role: ``role_arn``, or the function's Role as moto's Lambda backend holds it now."""
    if function_arn and not role_arn:
        from sqslab.offline.iam import policy as iam_policy

        role_arn = iam_policy.function_role(function_arn)
    return STORE.issue(function_arn, role_arn)


def revoke(access_key: str) -> None:
    STORE.revoke(access_key)


# ---------------------------------------------------------------- the signature


def amz_date(ts: float) -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ts))


def _parse_amz_date(value: str) -> float:
    return calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ"))


def canonical_uri(raw_path: str, service: str) -> str:
    """The path as the client sent it, encoded once more (every service but S3, whose
    path is used as sent), with dot segments and repeated slashes removed."""
    if service == "s3":
        return raw_path or "/"
    return quote(_remove_dot_segments(raw_path or "/"), safe="/~")


def _remove_dot_segments(path: str) -> str:
    out: list[str] = []
    for seg in path.split("/"):
        if seg in ("", "."):
            continue
        if seg == "..":
            if out:
                out.pop()
            continue
        out.append(seg)
    result = "/" + "/".join(out)
    if path.endswith("/") and result != "/":
        result += "/"
    return result


def canonical_query(raw_query: str, drop: tuple[str, ...] = ()) -> str:
    pairs = []
    for part in raw_query.split("&") if raw_query else ():
        if not part:
            continue
        key, _, value = part.partition("=")
        key, value = quote(unquote(key), safe="-_.~"), quote(unquote(value), safe="-_.~")
        if key not in drop:
            pairs.append((key, value))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def _trim(value: str) -> str:
    return " ".join(value.split())


def canonical_request(method: str, uri: str, query: str, headers: dict[str, str], signed: list[str],
                      payload_hash: str) -> str:
    lines = "".join(f"{name}:{_trim(headers.get(name, ''))}\n" for name in signed)
    return "\n".join([method.upper(), uri, query, lines, ";".join(signed), payload_hash])


def string_to_sign(timestamp: str, scope: str, creq: str) -> str:
    return "\n".join([ALGORITHM, timestamp, scope, hashlib.sha256(creq.encode("utf-8")).hexdigest()])


_KEYS: dict[tuple[str, str, str, str], bytes] = {}
_KEYS_MAX = 256


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"), cached."""
    cache_key = (secret, date, region, service)
    key = _KEYS.get(cache_key)
    if key is None:
        key = ("AWS4" + secret).encode("utf-8")
        for part in (date, region, service, "aws4_request"):
            key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
        if len(_KEYS) >= _KEYS_MAX:
            _KEYS.clear()
        _KEYS[cache_key] = key
    return key


def sign(method: str, url: str, *, access_key: str, secret: str, region: str, service: str,
         body: bytes = b"", headers: dict[str, str] | None = None, token: str | None = None,
         now: float | None = None) -> dict[str, str]:
    """Headers that sign a request to ``url`` (for sqslab's own status probe and the tests)."""
    parts = urlsplit(url)
    stamp = amz_date(time.time() if now is None else now)
    payload = hashlib.sha256(body).hexdigest()
    out = {k.lower(): v for k, v in (headers or {}).items()}
    out.update({"host": parts.netloc, "x-amz-date": stamp, "x-amz-content-sha256": payload})
    if token:
        out["x-amz-security-token"] = token
    signed = sorted(out)
    scope = f"{stamp[:8]}/{region}/{service}/aws4_request"
    creq = canonical_request(method, canonical_uri(parts.path, service), canonical_query(parts.query), out,
                             signed, payload)
    signature = hmac.new(signing_key(secret, stamp[:8], region, service),
                         string_to_sign(stamp, scope, creq).encode("utf-8"), hashlib.sha256).hexdigest()
    out["authorization"] = (f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={';'.join(signed)}, "
                            f"Signature={signature}")
    return out


# ---------------------------------------------------------------- checking a request


@dataclass
class Request:
    """What the check needs of a WSGI request."""

    method: str
    raw_path: str
    raw_query: str
    environ: dict
    authorization: str = ""
    scope: dict = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        if name == "content-type":
            return self.environ.get("CONTENT_TYPE")
        if name == "content-length":
            return self.environ.get("CONTENT_LENGTH")
        return self.environ.get("HTTP_" + name.upper().replace("-", "_"))


def request_of(environ: dict) -> Request:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        if "://" in raw.split("?", 1)[0]:
            parts = urlsplit(raw)
            path, query = parts.path, parts.query
        else:
            path, _, query = raw.partition("?")
    else:
        path, query = quote(environ.get("PATH_INFO", "/")), environ.get("QUERY_STRING", "")
    return Request(environ.get("REQUEST_METHOD", "GET"), path, query, environ,
                   environ.get("HTTP_AUTHORIZATION", ""))


def parse_authorization(value: str) -> dict:
    """``AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex``."""
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise AuthError("incomplete", f"Unsupported authorization type: {algorithm or 'none'}; "
                        "the offline server accepts AWS Signature Version 4 (AWS4-HMAC-SHA256) only")
    pairs = _AUTH_FIELD.findall(rest)
    fields = dict(pairs)
    if len(fields) != len(pairs):
        twice = next(k for i, (k, _) in enumerate(pairs) if k in dict(pairs[:i]))
        raise AuthError("incomplete", f"Authorization header names '{twice}' more than once. "
                        f"Authorization={value[:120]}")
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if not fields.get(k)]
    if missing:
        raise AuthError("incomplete", f"Authorization header requires '{missing[0]}' parameter. "
                        f"Authorization={value[:120]}")
    cred = fields["Credential"].split("/")
    if len(cred) != 5 or cred[4] != "aws4_request":
        raise AuthError("incomplete", f"Credential should be scoped to a valid scope: "
                        f"<key>/<date>/<region>/<service>/aws4_request, not {fields['Credential']!r}")
    return {"access_key": cred[0], "date": cred[1], "region": cred[2], "service": cred[3],
            "signed": fields["SignedHeaders"].split(";"), "signature": fields["Signature"]}


class Verifier:
    """Checks requests against a :class:`KeyStore`."""

    def __init__(self, store: KeyStore, clock=time.time):
        self.store = store
        self.clock = clock

    def check(self, req: Request, read_body) -> Principal:
        """The principal the request is signed by; raises :class:`AuthError` otherwise.
        ``read_body()`` returns the body (read only once the signature is to be computed)."""
        if not req.authorization:
            if "X-Amz-Signature=" in req.raw_query or "Signature=" in req.raw_query:
                raise AuthError("missing", "Query-string authentication (a presigned URL) is not accepted "
                                "by the offline server: sign the request's Authorization header")
            raise AuthError("missing")
        scope = req.scope = parse_authorization(req.authorization)
        principal = self.store.get(scope["access_key"])
        if principal is None:
            raise AuthError("unknown_key", access_key=scope["access_key"])
        token = req.header("x-amz-security-token")
        if (principal.token or token) and not hmac.compare_digest((token or "").encode(),
                                                                  (principal.token or "").encode()):
            raise AuthError("bad_token", access_key=scope["access_key"])
        timestamp = req.header("x-amz-date")
        if not timestamp:
            date_header = req.header("date")
            if not date_header:
                raise AuthError("incomplete", "Authorization header requires existence of either a "
                                "'X-Amz-Date' or a 'Date' header.")
            try:
                timestamp = amz_date(parsedate_to_datetime(date_header).timestamp())
            except (TypeError, ValueError):
                raise AuthError("incomplete", f"Date must be in ISO-8601 'basic format': {date_header!r}") from None
        try:
            when = _parse_amz_date(timestamp)
        except ValueError:
            raise AuthError("incomplete", f"Date must be in ISO-8601 'basic format'. Got '{timestamp}'. "
                            "See http://en.wikipedia.org/wiki/ISO_8601") from None
        if scope["date"] != timestamp[:8]:
            raise AuthError("signature", f"Date in Credential scope does not match YYYYMMDD from ISO-8601 "
                            f"version of date from HTTP: '{scope['date']}' != '{timestamp[:8]}', from "
                            f"'{timestamp}'.")
        now = self.clock()
        if when < now - MAX_SKEW_S:
            raise AuthError("skew", f"Signature expired: {timestamp} is now earlier than "
                            f"{amz_date(now - MAX_SKEW_S)} ({amz_date(now)} - 15 min.)",
                            request_time=timestamp, server_time=amz_date(now))
        if when > now + MAX_SKEW_S:
            raise AuthError("skew", f"Signature not yet current: {timestamp} is still later than "
                            f"{amz_date(now + MAX_SKEW_S)} ({amz_date(now)} + 15 min.)",
                            request_time=timestamp, server_time=amz_date(now))
        body = read_body()
        declared = req.header("x-amz-content-sha256")
        if declared and _HEX64.match(declared):
            if hashlib.sha256(body).hexdigest() != declared:
                if scope["service"] != "s3":  # elsewhere the payload's own digest is signed: it cannot match
                    raise AuthError("signature", access_key=scope["access_key"])
                raise AuthError("content_sha", "The provided 'x-amz-content-sha256' header does not match what "
                                "was computed.")
            payload_hash = declared
        elif declared and (declared in UNSIGNED_PAYLOADS or declared.startswith(STREAMING_PREFIX)):
            if scope["service"] != "s3":  # an unsigned or chunked payload is S3's alone
                raise AuthError("signature", access_key=scope["access_key"])
            payload_hash = declared
        elif scope["service"] == "s3":
            raise AuthError("incomplete", "Missing required header for this request: x-amz-content-sha256")
        else:
            payload_hash = hashlib.sha256(body).hexdigest()
        headers = {name: req.header(name) or "" for name in scope["signed"]}
        if "host" not in headers:
            raise AuthError("signature", "'Host' must be a signed header.")
        creq = canonical_request(req.method, canonical_uri(req.raw_path, scope["service"]),
                                 canonical_query(req.raw_query), headers, scope["signed"], payload_hash)
        credential_scope = f"{scope['date']}/{scope['region']}/{scope['service']}/aws4_request"
        sts = string_to_sign(timestamp, credential_scope, creq)
        key = signing_key(principal.secret_key, scope["date"], scope["region"], scope["service"])
        expected = hmac.new(key, sts.encode("utf-8"), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected.encode(), scope["signature"].encode()):
            raise AuthError("signature", access_key=scope["access_key"], string_to_sign=sts,
                            canonical_request=creq, signature=scope["signature"])
        return principal


# ---------------------------------------------------------------- AWS's error, in each protocol


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
    if err.kind == "service":  # a service's own error (sqslab.offline.dispatch_check): one code everywhere
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
                extra += f"<{tag}>{_xml(str(err.extra[key]))}</{tag}>"
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{s3_code}</Code>'
                f"<Message>{_xml(message)}</Message>{extra}<RequestId>{request_id}</RequestId>"
                f"<HostId>sqslab-offline</HostId></Error>").encode()
        headers += [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)]
    elif protocol == "query":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error><Type>Sender</Type>'
                f"<Code>{query_code}</Code><Message>{_xml(message)}</Message></Error>"
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


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# ---------------------------------------------------------------- the WSGI middleware


# What the check costs, per request (reading the body and verifying), for the status report and `make bench`.
_COSTS: collections.deque = collections.deque(maxlen=2000)
# What authorizing a function's request costs (mapping it to actions, evaluating its role's policies).
_EVAL_COSTS: collections.deque = collections.deque(maxlen=2000)
_COUNTS = {"passed": 0, "refused": 0, "denied": 0, "unchecked": 0}


def _median_p95(samples) -> tuple[float, float]:
    costs = sorted(samples)
    return (round(costs[len(costs) // 2] * 1e6, 1), round(costs[min(len(costs) - 1, int(0.95 * len(costs)))] * 1e6, 1))


def describe() -> dict:
    report = {"keys": len(STORE), **_COUNTS}
    if _COSTS:
        report["check_median_us"], report["check_p95_us"] = _median_p95(_COSTS)
    if _EVAL_COSTS:
        report["policy_median_us"], report["policy_p95_us"] = _median_p95(_EVAL_COSTS)
    return report


def _read_body(environ: dict) -> bytes:
    """The whole body, put back as a fresh stream for the application."""
    stream = environ.get("wsgi.input")
    length = environ.get("CONTENT_LENGTH")
    if stream is None:
        return b""
    if length:
        body = stream.read(int(length))
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


# Routes that are the emulator's, not AWS's: moto's own API (reset, state dump), its instance
# metadata stand-in, and sqslab's status. Never a function's.
EMULATOR_PATHS = ("/moto-api", "/_sqslab", "/latest/", "/favicon.ico")
# The services whose every request moto dispatches through sqslab.offline.dispatch_check (where a
# function's role is applied); a function's request for any other service is denied here.
ROLE_SERVICES = frozenset({"sqs", "lambda", "logs", "iam", "sts", "cloudformation", "s3"})


def policy_cost(seconds: float) -> None:
    """What authorizing one function request cost at dispatch (reading it, evaluating the role)."""
    _EVAL_COSTS.append(seconds)


# moto's own routes, served to no one: its reset and state dump are not AWS, and the dump fails on
# the functions of the local runtime. (A function asking gets AccessDenied, below.)
UNSERVED_PATHS = ("/moto-api", "/latest/", "/favicon.ico")
_REGIONS: dict[str, frozenset] = {}


def valid_regions() -> frozenset:
    """Every region of every partition botocore knows (its endpoints data), cached."""
    found = _REGIONS.get("all")
    if found is None:
        from botocore.loaders import create_loader  # botocore's data only: no configuration file is read

        data = create_loader().load_data("endpoints")
        found = _REGIONS["all"] = frozenset(r for p in data.get("partitions", []) for r in p.get("regions", {}))
    return found


def _unserved(req: Request) -> AuthError | None:
    """A signed request the emulator cannot serve, refused in the service's shape before moto sees it:
    moto's own routes, and a region that does not exist (AWS: "Credential should be scoped to a valid
    region")."""
    if req.environ.get("PATH_INFO", "").startswith(UNSERVED_PATHS):
        return AuthError("service", "The emulator's internal routes are not served.", status=404,
                         code="UnknownOperationException")
    service, region = req.scope.get("service", ""), req.scope.get("region", "")
    if service != "sqslab" and region not in valid_regions():
        return AuthError("signature", f"Credential should be scoped to a valid region, not '{region}'. ")
    return None


def count(what: str) -> None:
    _COUNTS[what] = _COUNTS.get(what, 0) + 1


def _canonical_authorization(scope: dict) -> str:
    """The Authorization header as verified, one field each: what moto routes the request by."""
    return (f"{ALGORITHM} Credential={scope['access_key']}/{scope['date']}/{scope['region']}/{scope['service']}"
            f"/aws4_request, SignedHeaders={';'.join(scope['signed'])}, Signature={scope['signature']}")


def _function_pre_check(principal: Principal, req: Request) -> AuthError | None:
    """What a function may never reach, whatever its role says: the emulator's own routes, services
    whose requests are not checked at dispatch, and S3 requests beyond plain bucket and object calls."""
    caller = principal.function_arn
    if req.environ.get("PATH_INFO", "").startswith(EMULATOR_PATHS):
        return AuthError("access_denied", f"User: {caller} is not authorized to use the emulator's own API")
    service = req.scope.get("service", "")
    if service not in ROLE_SERVICES:
        return AuthError("access_denied", f"User: {caller} is not authorized to perform: {service}:* "
                         "(the offline emulator applies roles to sqs, lambda, logs, iam, sts, cloudformation and "
                         "s3 only)")
    if service == "s3":
        from sqslab.offline.iam import actions

        call = actions.s3_call(req.method.upper(), unquote(req.raw_path), req.raw_query)
        if not call.mapped:
            action, resource = call.pairs[0]
            return AuthError("access_denied", f"User: {caller} is not authorized to perform: {action} on "
                             f'resource: "{resource}"')
    return None


def middleware(app, verifier: Verifier, open_paths: tuple[str, ...] = ()):
    """``app`` behind the signature check. Unsigned GETs of ``open_paths`` pass with no
    principal (``environ["sqslab.principal"] is None``): the route itself decides what to say.
    A signed request reaches ``app`` with ``environ["sqslab.principal"]`` and ``environ["sqslab.scope"]``
    (what was verified) and its Authorization header rewritten to exactly that."""

    def wrapped(environ, start_response):
        req = request_of(environ)
        if not req.authorization and environ.get("PATH_INFO") in open_paths and req.method == "GET":
            environ["sqslab.principal"] = None
            return app(environ, start_response)
        body: list[bytes] = []

        def read_body() -> bytes:
            if not body:
                body.append(_read_body(environ))
            return body[0]

        t0 = time.perf_counter()
        try:
            principal = environ["sqslab.principal"] = verifier.check(req, read_body)
        except AuthError as err:
            count("refused")
            status, headers, payload = error_response(err, req)
            start_response(status, headers)
            return [payload]
        _COSTS.append(time.perf_counter() - t0)
        environ["sqslab.scope"] = req.scope
        environ["HTTP_AUTHORIZATION"] = _canonical_authorization(req.scope)
        refused = _unserved(req)
        if refused is not None and (principal.kind != "function" or refused.kind != "service"):
            count("refused")
            status, headers, payload = error_response(refused, req)
            start_response(status, headers)
            return [payload]
        if principal.kind != "function":
            count("passed")
            return _in_service_shape(app, environ, start_response, req)
        denied = _function_pre_check(principal, req)
        if denied is not None:
            count("denied")
            status, headers, payload = error_response(denied, req)
            start_response(status, headers)
            return [payload]
        who = caller_identity(principal, req, read_body())
        if who is not None:
            count("passed")
            start_response("200 OK", [("Content-Type", "text/xml"), ("Content-Length", str(len(who)))])
            return [who]
        answered: list[str] = []
        result = _in_service_shape(app, environ, start_response, req, answered)
        count("passed")
        if not environ.get("sqslab.checked") and answered and answered[0][:1] == "2":
            count("unchecked")  # a function's request that no dispatch check saw: a gap to close, reported
            print(f"sqslab-offline: a function's request passed no role check: {req.method} {req.raw_path} "
                  f"({req.scope.get('service')})", flush=True)
        return result

    return wrapped


def _in_service_shape(app, environ, start_response, req: Request, answered: list | None = None):
    """``app``'s answer, except that a page of moto's web framework becomes the error the service would
    send, in its protocol: an HTML 404 or 405 for a path no route serves (no handler was reached)
    becomes UnknownOperationException (404); Flask's HTML page for a handler that raised becomes
    InternalFailure (500)."""
    held: list = []

    def catch(status, headers, exc_info=None):
        code = status.split()[0]
        if answered is not None:
            answered.append(code)
        kind = dict((k.lower(), v) for k, v in headers).get("content-type", "")
        unrouted = code in ("301", "308", "404", "405") and not environ.get("sqslab.checked")
        if kind.startswith("text/html") and (unrouted or code == "500"):
            held.append((status, headers, exc_info))
            return lambda data: None
        return start_response(status, headers, exc_info)

    try:
        result = app(environ, catch)
        if not held:
            return result
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        status, headers, exc_info = held[0]
    except Exception as exc:  # raised past moto's framework: unroutable if no handler was reached
        print(f"sqslab-offline: {req.method} {req.raw_path} ({req.scope.get('service')}): {exc!r}", flush=True)
        routed = environ.get("sqslab.checked")
        status, headers, exc_info, body = ("500 INTERNAL SERVER ERROR" if routed else "404 NOT FOUND"), [], None, \
            b"<!doctype html>"
    if status.startswith("500") and not body.lstrip().lower().startswith(b"<!doctype html"):
        start_response(status, headers, exc_info)  # a handler's own 500: as it is
        return [body]
    if status.startswith("500"):
        print(f"sqslab-offline: {req.method} {req.raw_path} ({req.scope.get('service')}): a handler failed; "
              "answered InternalFailure", flush=True)
        err = AuthError("service", "The request processing has failed because of an unknown error, exception or "
                        "failure.", status=500, code="InternalFailure")
    else:
        err = AuthError("service", f"No operation of {req.scope.get('service') or 'this service'} is served at "
                        f"{req.method} {req.raw_path}.", status=404, code="UnknownOperationException")
    status, headers, payload = error_response(err, req)
    start_response(status, headers)
    return [payload]


def caller_identity(principal: Principal, req: Request, body: bytes) -> bytes | None:
    """STS GetCallerIdentity made with a function's temporary credentials: the role's session, as
    AWS answers it inside Lambda (Arn ``arn:aws:sts::ACCOUNT:assumed-role/ROLE/FUNCTION``, UserId
    ``ROLE_ID:FUNCTION``; STS API reference, GetCallerIdentity). None for any other request (moto
    answers those, and knows nothing of these credentials)."""
    if req.scope.get("service") != "sts" or not principal.role_arn:
        return None
    form = parse_qs(req.raw_query) | parse_qs(body.decode("utf-8", "replace"))
    if form.get("Action", [""])[0] != "GetCallerIdentity":
        return None
    from sqslab.offline.iam import policy as iam_policy

    function = principal.function_arn.split(":")[-1]
    account = principal.role_arn.split(":")[4]
    role_id = iam_policy.role_id(principal.role_arn) or "AROA" + _key_chars(17)
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        f"<Arn>{_xml(iam_policy.session_arn(principal.role_arn, function))}</Arn>"
        f"<UserId>{_xml(role_id)}:{_xml(function)}</UserId><Account>{account}</Account>"
        f"</GetCallerIdentityResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()
