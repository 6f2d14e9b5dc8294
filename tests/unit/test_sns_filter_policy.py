"""Subscription filter policies (sqslab.offline.sns.filter_policy), without a server. Each test names
the SNS Developer Guide page its rules come from."""

from __future__ import annotations

import json

from sqslab.offline.sns.filter_policy import matches


def attrs(**values) -> dict:
    out = {}
    for name, value in values.items():
        if isinstance(value, bytes):
            out[name] = {"Type": "Binary", "Value": "eHk="}
        elif isinstance(value, (int, float)):
            out[name] = {"Type": "Number", "Value": str(value)}
        elif isinstance(value, list):
            out[name] = {"Type": "String.Array", "Value": json.dumps(value)}
        else:
            out[name] = {"Type": "String", "Value": value}
    return out


def on_attrs(policy, **values) -> bool:
    return matches(policy, None, "any body", attrs(**values))


def on_body(policy, body) -> bool:
    return matches(policy, "MessageBody", body if isinstance(body, str) else json.dumps(body), None)


def test_string_value_matching():
    """string-value-matching: exact (String.Array element by element), anything-but (a list, a
    value, a prefix, suffix or wildcard), equals-ignore-case, prefix, suffix, wildcard, cidr."""
    rule = {"customer_interests": ["rugby", "tennis"]}
    assert on_attrs(rule, customer_interests="rugby") and on_attrs(rule, customer_interests=["rugby", "tennis"])
    assert not on_attrs(rule, customer_interests="baseball") and not on_attrs(rule, customer_interests=["baseball"])
    assert on_body(rule, {"customer_interests": "tennis"}) and not on_body(rule, {"customer_interests": "baseball"})
    but = {"customer_interests": [{"anything-but": ["rugby", "tennis"]}]}
    assert on_attrs(but, customer_interests="baseball")
    assert on_attrs(but, customer_interests=["rugby", "baseball"])  # the page's example: one element is not excluded
    assert not on_attrs(but, customer_interests="rugby") and not on_attrs(but, customer_interests=["rugby"])
    assert not on_attrs({"event": [{"anything-but": "order_cancelled"}]}, event="order_cancelled")
    assert not on_attrs({"s": [{"anything-but": {"prefix": "bas"}}]}, s="baseball")
    assert on_attrs({"s": [{"anything-but": {"suffix": "ball"}}]}, s="rugby")
    assert not on_attrs({"s": [{"anything-but": {"wildcard": "*ball"}}]}, s="baseball")
    # "it will perform a case-insensitive match": a policy value with capitals included
    assert on_attrs({"s": [{"equals-ignore-case": "Sports"}]}, s="sports")
    assert on_attrs({"s": [{"equals-ignore-case": "sports"}]}, s="SPORTS")
    assert on_attrs({"s": [{"prefix": "bas"}]}, s="baseball") and not on_attrs({"s": [{"prefix": "bas"}]}, s="rugby")
    assert on_body({"s": [{"suffix": "ball"}]}, {"s": "baseball"})
    assert on_attrs({"s": [{"wildcard": "b*ll"}]}, s="baseball") and not on_attrs({"s": [{"wildcard": "b*ll"}]}, s="bat")
    cidr = {"source_ip": [{"cidr": "10.0.0.0/24"}]}  # 10.0.0.0 and 10.0.0.255 match, 10.1.1.0 does not
    assert on_attrs(cidr, source_ip="10.0.0.0") and on_attrs(cidr, source_ip="10.0.0.255")
    assert not on_attrs(cidr, source_ip="10.1.1.0") and not on_attrs(cidr, source_ip="not an address")
    # exact is exact: a string attribute holding JSON does not match the keys inside it
    assert not on_attrs({"k": ["k"]}, k='{"k": 1}')


def test_numeric_value_matching():
    """numeric-value-matching: equality by value (301.5 is 3.015e2), ranges, anything-but numbers;
    strings do not match numbers (no crossing is documented)."""
    assert on_attrs({"price_usd": [301.5]}, price_usd=3.015e2)
    assert on_body({"price_usd": [301.5]}, '{"price_usd": 3.015e2}')
    positive = {"price_usd": [{"numeric": [">", 0, "<=", 150]}]}
    assert on_attrs(positive, price_usd=150) and not on_attrs(positive, price_usd=150.5)
    assert not on_attrs(positive, price_usd=0)
    assert on_attrs({"n": [{"anything-but": [100, 500]}]}, n=101)
    assert not on_attrs({"n": [{"anything-but": [100, 500]}]}, n=100)
    assert not on_attrs({"n": ["100"]}, n=100) and not on_attrs({"n": [100]}, n="100")


def test_key_matching():
    """attribute-key-matching: exists on leaf values with a value; "exists": false "only matches if
    at least one attribute is present. An empty set of attributes results in the filter not
    matching"."""
    store = {"store": [{"exists": True}]}
    assert on_attrs(store, store="fans", customer_interests=["baseball"])
    assert not on_attrs(store, customer_interests=["baseball"])
    assert on_body(store, {"store": "fans"}) and not on_body(store, {"store": None})
    assert not on_body(store, {"store": {"name": "fans"}})  # an intermediate node
    absent = {"store": [{"exists": False}]}
    assert on_attrs(absent, customer_interests=["baseball"]) and not on_attrs(absent, store="fans")
    assert not matches(absent, None, "body", None) and not matches(absent, None, "body", {})
    assert on_attrs({"b": [{"exists": True}]}, b=b"binary")  # present, though no rule reads its value
    assert not on_attrs({"b": ["eHk="]}, b=b"binary")  # "Amazon SNS ignores ... the Binary data type"


def test_and_or_logic():
    """and-or-logic: keys AND, values OR, "$or" with two policies or more (nested, beside other
    keys); a "$or" of another shape is an ordinary key; on the body too."""
    policy = {"source": ["aws.cloudwatch"], "$or": [{"metricName": ["CPUUtilization"]}, {"namespace": ["AWS/EC2"]}]}
    assert on_attrs(policy, source="aws.cloudwatch", namespace="AWS/EC2")
    assert not on_attrs(policy, source="aws.cloudwatch", namespace="AWS/S3")
    assert not on_attrs(policy, namespace="AWS/EC2")
    assert on_body({"$or": [{"a": ["x"]}, {"b": ["y"]}]}, {"b": "y"})
    assert on_body({"$or": [{"a": ["x"]}, {"b": {"c": ["y"]}}]}, {"b": {"c": "y"}})
    assert not on_attrs({"$or": [{"a": ["x"]}]}, a="x")  # one policy: "$or" is then a key name
    assert on_attrs({"a": ["x"], "b": ["y"]}, a="x", b="y") and not on_attrs({"a": ["x"], "b": ["y"]}, a="x")


def test_scope_and_bodies():
    """sns-message-filtering: "Filter policies for the message body assume that the message payload
    is a well-formed JSON object" (anything else matches no policy); a policy nests on the body; no
    policy lets everything through."""
    assert on_body({"order": {"kind": ["refund"]}}, {"order": {"kind": "refund"}})
    assert not on_body({"order": {"kind": ["refund"]}}, {"order": {"kind": "sale"}})
    assert not on_body({"kind": ["refund"]}, "refund") and not on_body({"kind": ["refund"]}, '["refund"]')
    assert on_body({"tags": ["rush"]}, {"tags": ["gift", "rush"]})
    assert on_body({"n": [None]}, {"n": None}) and on_body({"b": [True]}, {"b": True})
    assert matches(None, None, "x", None) and matches({}, "MessageBody", "x", None)
    assert not matches({"kind": ["refund"]}, "MessageAttributes", '{"kind": "refund"}', None)
