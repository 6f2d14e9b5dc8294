"""Subscription filter policies (pure): whether a message published to a topic reaches one of
its subscriptions (SNS Developer Guide, "Amazon SNS message filtering" and the pages under it:
"Filter policy scope", "String value matching", "Numeric value matching", "Key matching",
"AND/OR logic").

- The policy's scope is the subscription's ``FilterPolicyScope`` when the message is published:
  ``MessageAttributes`` (the default) or ``MessageBody``. A body filtered on must be a JSON
  object; its policy may nest (an object within the policy names a property within the body).
- Every key of the policy must match (AND); the rules listed under a key are alternatives (OR);
  ``"$or": [policy, policy, ...]`` (two policies at least) matches when one of them does; a
  ``"$or"`` of any other shape is an ordinary key name ("AND/OR logic").
- Attribute values: a ``String`` attribute is one string; a ``Number`` one number; a
  ``String.Array`` each of its elements (strings, numbers, booleans, null); a ``Binary``
  attribute has no value a rule can match. A body property holding a list: each element.
- Rules: a string (exact), a number (numeric equality: 301.5 is 3.015e2), ``true``/``false``/
  ``null`` (body properties), ``prefix``, ``suffix``, ``wildcard`` (``*`` for any characters),
  ``equals-ignore-case``, ``cidr`` (an IP address within the block), ``numeric`` ranges,
  ``anything-but`` (a value, a list, or a ``prefix``, ``suffix`` or ``wildcard`` rule), and
  ``exists`` (on leaf values with a value; ``"exists": false`` matches a message with other
  attributes, never one with none). String rules match strings, numeric rules numbers (SNS
  documents no crossing). Like every rule, ``anything-but`` matches a list when one element
  does: the page's examples (``["rugby", "baseball"]`` passes ``anything-but ["rugby",
  "tennis"]``) are followed where its summary sentence says otherwise.
"""

from __future__ import annotations

import ipaddress
import json
import numbers
import re

ATTRIBUTES, BODY = "MessageAttributes", "MessageBody"
_ABSENT = object()


def matches(policy: dict | None, scope: str | None, message: str, attributes: dict | None) -> bool:
    """Whether a message published with ``attributes`` (moto's form: ``{name: {"Type": ...,
    "Value": ...}}``) and body ``message`` reaches a subscription with this filter policy."""
    if not policy:
        return True
    if (scope or ATTRIBUTES) == BODY:
        try:
            body = json.loads(message)
        except (TypeError, ValueError):
            return False
        return isinstance(body, dict) and _object(policy, body)
    values = {name: _attribute_values(attribute) for name, attribute in (attributes or {}).items()}
    if not values:
        return False  # "An empty set of attributes results in the filter not matching"
    return _object(policy, values, flat=True)


def _attribute_values(attribute) -> list:
    kind = str((attribute or {}).get("Type", "String"))
    value = (attribute or {}).get("Value")
    if kind.startswith("Binary"):
        return []
    if kind.startswith("Number"):
        try:
            return [float(value)]
        except (TypeError, ValueError):
            return []
    if kind == "String.Array":
        try:
            items = json.loads(value)
        except (TypeError, ValueError):
            return []
        return items if isinstance(items, list) else [items]
    return [value]


def _object(policy: dict, data: dict, flat: bool = False) -> bool:
    for key, rules in policy.items():
        if key == "$or" and is_or(rules):
            if not any(_object(alternative, data, flat) for alternative in rules):
                return False
        elif isinstance(rules, dict):
            inner = data.get(key, _ABSENT)
            if flat or not isinstance(inner, dict) or not _object(rules, inner):
                return False
        else:
            found = data.get(key, _ABSENT)
            if flat:  # an attribute, present even when a rule can match none of its values (Binary)
                exists, values = found is not _ABSENT, (found if found is not _ABSENT else [])
            else:  # "The key must have a non-null and non-empty value"; an object is no leaf
                exists = found not in (_ABSENT, None, "", []) and not isinstance(found, dict)
                values = [] if found is _ABSENT or isinstance(found, dict) else (
                    found if isinstance(found, list) else [found])
            if not any(_rule(rule, exists, values) for rule in rules):
                return False
    return True


def is_or(rules) -> bool:
    """Whether a ``"$or"`` key's value makes it the OR operator: a list of two policies or more,
    none of whose keys is a rule's keyword."""
    return (isinstance(rules, list) and len(rules) >= 2 and all(isinstance(r, dict) and r for r in rules)
            and not any(key in KEYWORDS for r in rules for key in r))


KEYWORDS = frozenset({"prefix", "suffix", "wildcard", "equals-ignore-case", "anything-but", "numeric", "exists",
                      "cidr"})


def _number(value) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _rule(rule, exists: bool, values: list) -> bool:
    if isinstance(rule, dict):
        (op, arg), = rule.items()
        if op == "exists":
            return exists == bool(arg)
        if op == "anything-but":
            excluded = arg if isinstance(arg, list) else [arg]
            return any(not any(_one(x, v) for x in excluded) for v in values)
    return any(_one(rule, v) for v in values)


def _one(rule, value) -> bool:
    """One rule (not ``exists`` or ``anything-but``) against one value."""
    if isinstance(rule, dict):
        (op, arg), = rule.items()
        if op == "prefix":
            return isinstance(value, str) and value.startswith(arg)
        if op == "suffix":
            return isinstance(value, str) and value.endswith(arg)
        if op == "wildcard":
            return isinstance(value, str) and isinstance(arg, str) and _wildcard(arg).fullmatch(value) is not None
        if op == "equals-ignore-case":
            return isinstance(value, str) and isinstance(arg, str) and value.lower() == arg.lower()
        if op == "cidr":
            try:
                return ipaddress.ip_address(value) in ipaddress.ip_network(arg, strict=False)
            except (TypeError, ValueError):
                return False
        if op == "numeric":
            if not _number(value):
                return False
            checks = {"=": float.__eq__, "<": float.__lt__, "<=": float.__le__, ">": float.__gt__,
                      ">=": float.__ge__}
            return all(checks[sign](float(value), float(bound)) for sign, bound in zip(arg[::2], arg[1::2], strict=False))
        return False
    if _number(rule):
        return _number(value) and float(value) == float(rule)
    if rule is None or isinstance(rule, bool):
        return value is rule
    return isinstance(value, str) and value == rule


def _wildcard(pattern: str) -> re.Pattern:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")), re.DOTALL)
