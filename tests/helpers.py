"""Helpers shared by the tests: deploy a throwaway function from source text."""

from __future__ import annotations

import base64
import json
import textwrap
import uuid

from sqslab.smoke import zip_source


def make_function(lam, role_arn, source: str, *, name: str | None = None, handler="index.handler", **kwargs) -> str:
    name = name or f"t-{uuid.uuid4().hex[:10]}"
    lam.create_function(
        FunctionName=name,
        Runtime=kwargs.pop("Runtime", "python3.12"),
        Role=role_arn,
        Handler=handler,
        Code={"ZipFile": zip_source({"index.py": textwrap.dedent(source)})},
        **kwargs,
    )
    return name


def invoke(lam, name, payload=None, **kwargs):
    resp = lam.invoke(FunctionName=name, Payload=json.dumps(payload or {}), **kwargs)
    body = resp["Payload"].read()
    resp["body"] = json.loads(body) if body else None
    if "LogResult" in resp:
        resp["log"] = base64.b64decode(resp["LogResult"]).decode()
    return resp


def log_messages(logs, name) -> list[str]:
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return []
    return [e["message"] for e in events]
