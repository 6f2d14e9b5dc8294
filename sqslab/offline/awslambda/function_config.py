"""A function's environment variables, as Lambda accepts them.

"Working with Lambda environment variables" (Lambda developer guide): keys start with a
letter, are at least two characters and hold only letters, digits and underscores; the
variables together may take at most 4 KB; and the keys Lambda sets itself ("Defined runtime
environment variables") are reserved: a function that sets one is refused with
InvalidParameterValueException, "Lambda was unable to configure your environment variables
because the environment variables you have provided contains reserved keys that are
currently not supported for modification. Reserved keys used in this request: ...". The
unreserved ones among Lambda's own (PATH, PYTHONPATH, LANG, LD_LIBRARY_PATH, TZ, ...) stay
settable.
"""

from __future__ import annotations

import json
import re

RESERVED = (
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR",
)
_KEY = re.compile(r"[a-zA-Z][a-zA-Z0-9_]+\Z")
MAX_BYTES = 4096


def environment_problem(variables) -> tuple[str, str] | None:
    """(error code, message) Lambda would answer for these variables, or None."""
    if not variables:
        return None
    if not isinstance(variables, dict):
        return "InvalidParameterValueException", "Environment variables must be a map of strings to strings."
    reserved = [k for k in variables if isinstance(k, str) and k in RESERVED]
    if reserved:
        return ("InvalidParameterValueException", "Lambda was unable to configure your environment variables "
                "because the environment variables you have provided contains reserved keys that are currently "
                f"not supported for modification. Reserved keys used in this request: {', '.join(reserved)}")
    bad = [k for k in variables if not isinstance(k, str) or not _KEY.match(k)]
    if bad:
        return ("ValidationException", f"1 validation error detected: Value '{bad[0]}' at 'environment.variables' "
                "failed to satisfy constraint: Map keys must satisfy constraint: [Member must satisfy regular "
                "expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]")
    measured = json.dumps({str(k): str(v) for k, v in variables.items()}, separators=(",", ":"))
    if len(measured.encode("utf-8")) > MAX_BYTES:
        return ("InvalidParameterValueException", "Lambda was unable to configure your environment variables "
                "because the environment variables you have provided exceeded the 4KB limit. String measured: "
                f"{measured[:200]}")
    return None
