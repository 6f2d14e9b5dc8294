"""FilterCriteria of SQS event source mappings (pure): Lambda's filter rules, checked when a
mapping is created or updated, and applied to each record before the function sees it
(Lambda Developer Guide, "Control which events Lambda sends to your function" and "Using
event filtering with an Amazon SQS event source").

- A mapping has at most 5 filters (the default quota); each ``Pattern`` is a JSON object of at
  most 4,096 characters whose leaves are lists of rules. A record is processed when any filter
  matches; Lambda deletes the others from the queue without invoking the function.
- A pattern matches the record as the function would get it: its data property ``body``, and
  metadata properties such as ``attributes`` or ``messageAttributes``. A body that is JSON is
  matched by an object pattern (``{"body": {"kind": ["order"]}}``), a plain-string body by a list
  (``{"body": [{"prefix": "order"}]}``); a pattern of the other form drops the message.
- Rules: a value (string, number, ``null``; "for numbers, Lambda also uses string
  representation": 300, 300.0 and 3.0e2 are not equal), ``prefix``, ``suffix``,
  ``equals-ignore-case``, ``anything-but`` (a value, a list, or one of the string operators),
  ``numeric`` (``["=", 5]``, ``[">", 0, "<=", 10]``, compared by value), ``exists`` (on leaf
  values only: an object is an intermediate node); several keys must all match (and), ``$or``
  takes a list of patterns, a field holding a list matches when any element does.
"""

from __future__ import annotations

import json

MAX_FILTERS = 5
MAX_PATTERN_CHARS = 4096
INVALID = "Invalid filter pattern definition."
_OPERATORS = {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"}
_NUMERIC_OPS = {"=", "<", "<=", ">", ">="}


class Number:
    """A JSON number with its text: exact matches compare the text, ``numeric`` rules the value."""

    __slots__ = ("text", "value")

    def __init__(self, text: str):
        self.text, self.value = text, float(text)

    def __eq__(self, other):
        return isinstance(other, Number) and other.text == self.text

    def __hash__(self):
        return hash(self.text)

    def __repr__(self):
        return self.text


def load(text: str):
    """JSON text parsed with its numbers as :class:`Number`."""
    return json.loads(text, parse_int=Number, parse_float=Number)


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
            pattern = load(text)
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
    if rule is None or isinstance(rule, (str, bool, Number)):
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
    if op == "anything-but":
        if isinstance(arg, dict):  # anything but a prefix, a suffix, a case-insensitive value
            if len(arg) != 1 or next(iter(arg)) not in ("prefix", "suffix", "equals-ignore-case"):
                raise FilterError(INVALID)
            _check_rule(arg)
        elif not all(x is None or isinstance(x, (str, Number)) for x in (arg if isinstance(arg, list) else [arg])):
            raise FilterError(INVALID)
    if op == "numeric":
        if not isinstance(arg, list) or not arg or len(arg) % 2 or len(arg) > 4:
            raise FilterError(INVALID)
        for sign, number in zip(arg[::2], arg[1::2], strict=True):
            if sign not in _NUMERIC_OPS or not isinstance(number, Number):
                raise FilterError(INVALID)


def keeps(filters: list[dict], record: dict) -> bool:
    """Whether an SQS record (the dict the function would get) reaches the function: no filters,
    or one that matches."""
    return not filters or any(_matches_record(p, record) for p in filters)


def _matches_record(pattern: dict, record: dict) -> bool:
    for key, rule in pattern.items():
        if key == "$or":
            if not any(_matches_record(p, record) for p in rule):
                return False
        elif key != "body":
            if not _matches({key: rule}, record):
                return False
        else:
            body = record.get("body", "")
            try:
                data, is_json = load(body), True
            except (TypeError, ValueError):
                data, is_json = body, False
            if isinstance(rule, dict):
                if not is_json or not isinstance(data, dict) or not _matches(rule, data):
                    return False  # a JSON pattern drops a plain-string body
            elif is_json or not _leaf(rule, True, body):
                return False  # a plain-string pattern drops a JSON body
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
        else:
            value = data.get(key)
            if not _leaf(rule, key in data and not isinstance(value, dict), value):
                return False
    return True


def _leaf(rules: list, present: bool, value) -> bool:
    values = value if isinstance(value, list) else [value]
    return any(_rule(rule, present, v) for rule in rules for v in values)


def _rule(rule, present: bool, value) -> bool:
    if not isinstance(rule, dict):
        if not present:
            return False
        return rule == value and type(rule) is type(value)
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
        if not isinstance(value, Number):
            return False
        ops = {"=": float.__eq__, "<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__}
        return all(ops[sign](value.value, number.value) for sign, number in zip(arg[::2], arg[1::2], strict=True))
    return False
