"""A Lambda request's parameters against the constraints of Lambda's API model (pure): each
top-level parameter's length or value range, its enum and its pattern, as Lambda's front end
checks them before any handler runs. A request outside them gets Lambda's ValidationException,
in its words: "1 validation error detected: Value 'python9' at 'runtime' failed to satisfy
constraint: Member must satisfy enum value set: [...]" (Lambda API reference, Common Errors,
ValidationException; the constraints are each parameter's in the API reference, as botocore's
model carries them).
"""

from __future__ import annotations

import re


def _model():
    """Lambda's service model, the one moto already keeps for its own parsing (one copy, not two)."""
    from moto.core.utils import get_service_model

    return get_service_model("lambda")


def problems(operation: str, body, query: dict, headers) -> str | None:
    """The ValidationException message for ``operation``'s parameters (``body()``: its JSON body, read
    only where the body is the parameters, not a payload such as Invoke's; its ``query`` string
    values; its ``headers``) outside the model's constraints; None when all hold. The URI's
    parameters are checked where the route is read (one path segment each)."""
    try:
        shape = _model().operation_model(operation).input_shape
    except Exception:  # an operation the model does not know: the dispatch refuses it elsewhere
        return None
    if shape is None:
        return None
    if shape.serialization.get("payload"):  # Invoke, InvokeAsync, ...: the body is the caller's payload
        body = {}
    elif callable(body):
        body = body()
    found = []
    for name, member in shape.members.items():
        where = member.serialization.get("location")
        key = member.serialization.get("name", name)
        if where == "uri":
            continue
        if where == "querystring":
            value = (query or {}).get(key)
            value = value[0] if isinstance(value, list) and value else value
        elif where == "header":
            value = headers.get(key) if headers is not None else None
        else:
            value = (body or {}).get(name)
        if value is None:
            continue
        problem = _constraint(member, value)
        if problem:
            found.append(f"Value '{value}' at '{name[:1].lower() + name[1:]}' failed to satisfy constraint: {problem}")
    if not found:
        return None
    count = len(found)
    return f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(found)


def _constraint(member, value) -> str | None:
    meta = member.metadata
    kind = member.type_name
    if kind == "string" and isinstance(value, str):
        enum = getattr(member, "enum", None) or []
        if enum and value not in enum:
            return f"Member must satisfy enum value set: [{', '.join(enum)}]"
        if "min" in meta and len(value) < meta["min"]:
            return f"Member must have length greater than or equal to {meta['min']}"
        if "max" in meta and len(value) > meta["max"]:
            return f"Member must have length less than or equal to {meta['max']}"
        if "pattern" in meta:
            try:
                if re.fullmatch(meta["pattern"], value) is None:
                    return f"Member must satisfy regular expression pattern: {meta['pattern']}"
            except re.error:
                return None  # a pattern Python reads otherwise: not judged here
    if kind in ("integer", "long") and isinstance(value, int) and not isinstance(value, bool):
        if "min" in meta and value < meta["min"]:
            return f"Member must have value greater than or equal to {meta['min']}"
        if "max" in meta and value > meta["max"]:
            return f"Member must have value less than or equal to {meta['max']}"
    return None
