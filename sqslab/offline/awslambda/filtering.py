"""FilterCriteria of SQS event source mappings (pure): Lambda's filter rules, checked when a
mapping is created or updated, and applied to each record before the function sees it
(Lambda Developer Guide, "Control which events Lambda sends to your function" and "Using
event filtering with an Amazon SQS event source").

- A mapping has at most 5 filters (the default quota); each ``Pattern`` is a JSON object of at
  most 4,096 characters whose leaves are lists of rules. A record is processed when any filter
  matches; Lambda deletes the others from the queue without invoking the function.
- SQS mappings filter on the ``body`` key only. A body that is JSON is matched by an object
  pattern (``{"body": {"kind": ["order"]}}``), a plain-string body by a list
  (``{"body": [{"prefix": "order"}]}``); a pattern of the other form drops the message.
- Rules: a value (string, number, ``null``; numbers compare as numbers), ``prefix``,
  ``suffix``, ``equals-ignore-case``, ``anything-but`` (a value or a list), ``numeric``
  (``["=", 5]``, ``[">", 0, "<=", 10]``), ``exists``; several keys must all match (and),
  ``$or`` takes a list of patterns, a field holding a list matches when any element does.
"""

from __future__ import annotations

import json
import numbers

MAX_FILTERS = 5
MAX_PATTERN_CHARS = 4096
INVALID = "Invalid filter pattern definition."
_OPERATORS = {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"}
_NUMERIC_OPS = {"=", "<", "<=", ">", ">="}


class FilterError(ValueError):
    """A FilterCriteria Lambda refuses (InvalidParameterValueException)."""


def patterns(criteria) -> list[dict]:
    """The parsed patterns of a FilterCriteria (``{"Filters": [{"Pattern": "..."}]}``), checked as
    Lambda checks them; [] for none."""
    if not criteria:
        return []
    filters = criteria.get("Filters") if isinstance(criteria, dict) else None
    if filters is None:
        return []
    if not isinstance(filters, list):
        raise FilterError(INVALID)
    if len(filters) > MAX_FILTERS:
        raise FilterError(f"The number of filters ({len(filters)}) exceeds the maximum of {MAX_FILTERS} per "
                          "event source mapping.")
    out = []
    for item in filters:
        text = item.get("Pattern") if isinstance(item, dict) else None
        if not isinstance(text, str) or len(text) > MAX_PATTERN_CHARS:
            raise FilterError(INVALID)
        try:
            pattern = json.loads(text)
        except ValueError:
            raise FilterError(INVALID) from None
        _check(pattern)
        out.append(pattern)
    return out


def _check(pattern) -> None:
    if not isinstance(pattern, dict) or not pattern:
        raise FilterError(INVALID)
    for key, rule in pattern.items():
        if key == "$or":
            if not isinstance(rule, list) or len(rule) < 2:
                raise FilterError(INVALID)
            for alternative in rule:
                _check(alternative)
        elif isinstance(rule, dict):
            _check(rule)
        elif isinstance(rule, list):
            for one in rule:
                _check_rule(one)
        else:
            raise FilterError(INVALID)


def _check_rule(rule) -> None:
    if rule is None or isinstance(rule, (str, numbers.Number)):
        return
    if not isinstance(rule, dict) or len(rule) != 1:
        raise FilterError(INVALID)
    (op, arg), = rule.items()
    if op not in _OPERATORS:
        raise FilterError(INVALID)
    if op in ("prefix", "suffix", "equals-ignore-case") and not isinstance(arg, str):
        raise FilterError(INVALID)
    if op == "exists" and not isinstance(arg, bool):
        raise FilterError(INVALID)
    if op == "numeric":
        if not isinstance(arg, list) or not arg or len(arg) % 2 or len(arg) > 4:
            raise FilterError(INVALID)
        for sign, number in zip(arg[::2], arg[1::2], strict=True):
            if sign not in _NUMERIC_OPS or isinstance(number, bool) or not isinstance(number, numbers.Number):
                raise FilterError(INVALID)


def keeps(filters: list[dict], body: str) -> bool:
    """Whether a record with this body reaches the function: no filters, or one that matches."""
    return not filters or any(_matches_record(p, body) for p in filters)


def _matches_record(pattern: dict, body: str) -> bool:
    for key, rule in pattern.items():
        if key == "$or":
            if not any(_matches_record(p, body) for p in rule):
                return False
        elif key != "body":
            return False  # SQS mappings filter on the body only
        elif isinstance(rule, dict):
            try:
                data = json.loads(body)
            except (TypeError, ValueError):
                return False  # a JSON pattern drops a plain-string body
            if not isinstance(data, dict) or not _matches(rule, data):
                return False
        else:
            try:
                json.loads(body)
                return False  # a plain-string pattern drops a JSON body
            except (TypeError, ValueError):
                pass
            if not _leaf(rule, True, body):
                return False
    return True


def _matches(pattern: dict, data: dict) -> bool:
    for key, rule in pattern.items():
        if key == "$or":
            if not any(_matches(p, data) for p in rule):
                return False
        elif isinstance(rule, dict):
            value = data.get(key)
            if not isinstance(value, dict) or not _matches(rule, value):
                return False
        elif not _leaf(rule, key in data, data.get(key)):
            return False
    return True


def _leaf(rules: list, present: bool, value) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_rule(rule, present, v) for rule in rules for v in values)


def _number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _rule(rule, present: bool, value) -> bool:
    if not isinstance(rule, dict):
        if not present:
            return False
        if _number(rule) and _number(value):
            return float(rule) == float(value)
        return rule == value and type(rule) is type(value) or (rule is None and value is None)
    (op, arg), = rule.items()
    if op == "exists":
        return present == arg
    if not present:
        return False
    if op == "prefix":
        return isinstance(value, str) and value.startswith(arg)
    if op == "suffix":
        return isinstance(value, str) and value.endswith(arg)
    if op == "equals-ignore-case":
        return isinstance(value, str) and value.lower() == arg.lower()
    if op == "anything-but":
        excluded = arg if isinstance(arg, list) else [arg]
        return not any(_rule(x, True, value) for x in excluded)
    if op == "numeric":
        if not _number(value):
            return False
        ops = {"=": float.__eq__, "<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
        return all(ops[sign](float(value), float(number)) for sign, number in zip(arg[::2], arg[1::2], strict=True))
    return False
