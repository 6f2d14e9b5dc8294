"""The WSGI middleware in front of moto: every request's signature checked, requests the
emulator does not serve refused, functions kept to their services, and the counts and
costs the status report shows."""

from __future__ import annotations

import collections
import io
import time
import uuid
from urllib.parse import parse_qs, unquote

from sqslab.offline.auth.keystore import STORE, Principal, key_chars
from sqslab.offline.auth.refusals import error_response, xml_escape
from sqslab.offline.auth.sigv4 import ALGORITHM, AuthError, Request, Verifier, request_of

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
# The services whose every request moto dispatches through sqslab.offline.iam.dispatch_check (where a
# function's role is applied); a function's request for any other service is denied here.
ROLE_SERVICES = frozenset({"sqs", "lambda", "logs", "iam", "sts", "cloudformation", "s3", "dynamodb", "sns"})


def policy_cost(seconds: float) -> None:
    """What authorizing one function request cost at dispatch (reading it, evaluating the role)."""
    _EVAL_COSTS.append(seconds)


# moto's own routes, served to no one: its reset and state dump are not AWS, and the dump fails on
# the functions of the local runtime. (A function asking gets AccessDenied, below.)
UNSERVED_PATHS = ("/moto-api", "/latest/", "/favicon.ico")
_REGIONS: dict[str, frozenset] = {}


def valid_regions() -> frozenset:
    """Every region of every partition botocore knows (:mod:`sqslab.offline.regions`), cached."""
    found = _REGIONS.get("all")
    if found is None:
        from sqslab.offline import regions

        found = _REGIONS["all"] = regions.TABLE.all_regions()
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
                         f"(the offline emulator applies roles to {', '.join(sorted(ROLE_SERVICES))} only)")
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
    role_id = iam_policy.role_id(principal.role_arn) or "AROA" + key_chars(17)
    return (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        f"<Arn>{xml_escape(iam_policy.session_arn(principal.role_arn, function))}</Arn>"
        f"<UserId>{xml_escape(role_id)}:{xml_escape(function)}</UserId><Account>{account}</Account>"
        f"</GetCallerIdentityResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    ).encode()
