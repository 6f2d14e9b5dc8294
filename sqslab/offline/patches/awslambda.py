"""The Lambda patches: environment values as strings, and invokes run by the local runtime."""

from __future__ import annotations

import inspect

from sqslab.offline.patches.guards import _mark, _mismatch, _original, _require


# ---------------------------------------------------------------------------
# lambda_env_strings
# Upstream gap: moto keeps Lambda environment variables as CloudFormation gave
# them, so a Number parameter arrives as int 10 and a boolean as True. AWS
# stores and delivers every value as a string ("10", "true").
def _to_env_string(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


def _apply_lambda_env_strings() -> str:
    from moto.awslambda.models import LambdaFunction

    if isinstance(LambdaFunction.__dict__.get("environment_vars"), property):
        return "already applied"
    _require(LambdaFunction, "__init__", "lambda_env_strings")
    source = inspect.getsource(LambdaFunction.__init__)
    if "self.environment_vars" not in source:
        raise _mismatch("lambda_env_strings", "no longer sets LambdaFunction.environment_vars")

    def _get(self):
        return self.__dict__.get("_sqslab_environment_vars", {})

    def _set(self, variables):
        self.__dict__["_sqslab_environment_vars"] = {
            str(k): _to_env_string(v) for k, v in (variables or {}).items()
        }

    LambdaFunction.environment_vars = property(_get, _set)
    return "LambdaFunction.environment_vars stores strings"


# ---------------------------------------------------------------------------
# lambda_local_runtime
# Upstream gap: moto runs Lambda code only in Docker (LambdaFunction.invoke ->
# _invoke_lambda -> docker), answering "error running docker" without it. This
# routes LambdaFunction.invoke, which direct, asynchronous and event-source
# invokes all go through, to sqslab's local runtime of worker processes.
def _apply_lambda_local_runtime() -> str:
    from moto.awslambda.models import LambdaFunction

    params = ("self", "body", "request_headers", "response_headers")
    if _original(LambdaFunction, "invoke", "lambda_local_runtime", params) is None:
        return "already applied"
    for attr in ("code_bytes", "handler", "run_time", "timeout", "memory_size", "logs_backend"):
        if attr not in inspect.getsource(LambdaFunction):
            raise _mismatch("lambda_local_runtime", f"LambdaFunction no longer has {attr}")

    def invoke(self, body, request_headers, response_headers):
        from sqslab.offline import lambda_service

        return lambda_service.get().invoke(self, body, request_headers, response_headers)

    _mark(invoke, "lambda_local_runtime")
    LambdaFunction.invoke = invoke
    return "LambdaFunction.invoke runs handlers in local worker processes"
