"""Patches to moto's request dispatch, for every service: one reading of each request.

- ``dispatch_action_one_reading``: moto's ``BaseResponse._get_action`` prefers an
  ``Action`` parameter, read from the query string, the form, or any body that
  parses as a form, over the ``X-Amz-Target`` header of the JSON protocols and
  over the REST route of Lambda. A JSON request whose message body holds
  ``&Action=PurgeQueue``, or an SQS JSON request with ``?Action=PurgeQueue`` in its
  URL, would run another operation than the one it names. AWS's JSON protocols name
  the operation in ``X-Amz-Target`` and its REST-JSON services (Lambda) by method and
  path; so does moto after this patch.
- ``dispatch_checked``: every request moto dispatches (``BaseResponse.call_action``,
  and S3's own authorization hook) first passes :func:`sqslab.offline.iam.dispatch_check.check`,
  which refuses ambiguous requests and applies the caller's role to the operation
  and resource the handler is about to act on. Upstream, moto's
  ``_authenticate_and_authorize_*`` hooks only run its global IAM emulation.
"""

from __future__ import annotations

import functools
import inspect

from sqslab.offline.patches.guards import mark_applied, mismatch_error, original_of, require_attr


class _S3Refused(Exception):
    """Carries a finished response out of an S3 handler (moto serializes S3ClientError only with
    the status of its own error model, which has no AccessDenied)."""

    def __init__(self, response):
        super().__init__("refused")
        self.response = response


def _answering_refusals(handler):
    """An S3 entry point that answers a refusal raised by the authorization hook inside it, and a request
    moto's S3 cannot read (it fails before the hook, where no handler has acted) with S3's 400."""

    @functools.wraps(handler)
    def wrapper(self, request, full_url, headers):
        try:
            return handler(self, request, full_url, headers)
        except _S3Refused as refused:
            return refused.response
        except Exception as exc:
            from sqslab.offline.iam import dispatch_check

            environ = getattr(request, "environ", None) or {}
            if environ.get("sqslab.checked"):
                raise  # a handler that failed after the check: the server's own failure
            return dispatch_check.refusal_in(environ, 400, "InvalidRequest",
                                             f"The request could not be read ({type(exc).__name__}).")

    return wrapper


def apply_dispatch_action_one_reading() -> str:
    from moto.core.responses import BaseResponse

    patch = "dispatch_action_one_reading"
    original = original_of(BaseResponse, "_get_action", patch, ("self",))
    if original is None:
        return "already applied"
    require_attr(BaseResponse, "_get_action_from_method_and_request_uri", patch)

    @functools.wraps(original)
    def _get_action(self) -> str:
        target = (self.headers.get("X-Amz-Target") or "").strip()
        if target:
            return target.split(".")[-1]
        if getattr(self, "service_name", None) == "awslambda":
            return self._get_action_from_method_and_request_uri(self.normalized_request)
        return original(self)

    BaseResponse._get_action = mark_applied(_get_action, patch, original)
    return "the operation is the X-Amz-Target header's (JSON protocols) or the route's (Lambda)"


def apply_dispatch_checked() -> str:
    from moto.core.responses import BaseResponse
    from moto.s3.responses import S3Response

    from sqslab.offline.iam import dispatch_check

    patch = "dispatch_checked"
    call_action = original_of(BaseResponse, "call_action", patch, ("self",))
    if call_action is None:
        return "already applied"
    s3_hook = original_of(S3Response, "_authenticate_and_authorize_s3_action", patch,
                        ("self", "bucket_name", "key_name"))
    source = inspect.getsource(BaseResponse.setup_class)
    for attr in ("normalized_request", "headers", "region", "current_account", "method", "uri"):
        if f"self.{attr} =" not in source and f"self.{attr}:" not in source:
            raise mismatch_error(patch, f"BaseResponse.setup_class no longer sets {attr}")

    @functools.wraps(call_action)
    def checked_call_action(self):
        refused = dispatch_check.check(self)
        if refused is not None:
            return refused
        return call_action(self)

    @functools.wraps(s3_hook)
    def checked_s3_hook(self, bucket_name=None, key_name=None):
        refused = dispatch_check.check_s3(self, bucket_name, key_name)
        if refused is not None:
            raise _S3Refused(refused)
        return s3_hook(self, bucket_name=bucket_name, key_name=key_name)

    dispatch = original_of(BaseResponse, "_dispatch", patch, ("self", "request", "full_url", "headers"))
    if "self.setup_class(request, full_url, headers)" not in inspect.getsource(dispatch):
        raise mismatch_error(patch, "BaseResponse._dispatch no longer reads the request with setup_class")

    @functools.wraps(dispatch)
    def reading_dispatch(self, request, full_url=None, headers=None):
        # moto parses the request before call_action: one it cannot parse (an operation the service does not
        # have, a body of the wrong protocol) is the service's 400, not a server error
        try:
            self.setup_class(request, full_url, headers)
        except Exception as exc:
            return dispatch_check.unreadable(self, request, exc)
        return self.call_action()

    BaseResponse._dispatch = mark_applied(reading_dispatch, patch, dispatch)
    BaseResponse.call_action = mark_applied(checked_call_action, patch, call_action)
    S3Response._authenticate_and_authorize_s3_action = mark_applied(checked_s3_hook, patch, s3_hook)
    for name in ("ambiguous_response", "bucket_response", "key_response"):
        entry = original_of(S3Response, name, patch, ("self", "request", "full_url", "headers"))
        setattr(S3Response, name, mark_applied(_answering_refusals(entry), patch, entry))
    return "every request is checked as moto dispatches it: ambiguity refused, a function's role applied"
