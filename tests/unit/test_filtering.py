"""FilterCriteria rules (sqslab.offline.awslambda.filtering), without a server: Lambda Developer
Guide, "Control which events Lambda sends to your function" (the rule syntax, the JSON and plain
string body table, 5 filters per mapping) and "Using event filtering with an Amazon SQS event
source" (SQS mappings filter on the body key only)."""


from __future__ import annotations

import json

import pytest

from sqslab.offline.awslambda import filtering


def crit(*patterns):
    return {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}


def keeps(pattern, body):
    return filtering.keeps(filtering.patterns(crit(pattern)), body if isinstance(body, str) else json.dumps(body))


def test_equals_and_nested_and_or():
    order = {"kind": "order", "total": 42, "customer": {"tier": "gold"}, "tags": ["rush", "gift"]}
    assert keeps({"body": {"kind": ["order"]}}, order)
    assert not keeps({"body": {"kind": ["refund"]}}, order)
    assert keeps({"body": {"kind": ["order"], "customer": {"tier": ["gold"]}}}, order)  # and
    assert not keeps({"body": {"kind": ["order"], "customer": {"tier": ["silver"]}}}, order)
    assert keeps({"body": {"$or": [{"kind": ["refund"]}, {"total": [42]}]}}, order)
    assert keeps({"body": {"tags": ["gift"]}}, order)  # a list field matches when any element does
    assert keeps({"body": {"total": [42.0]}}, order)  # numbers compare as numbers


def test_comparison_operators():
    body = {"name": "Order-7.PNG", "total": 15, "state": "paid", "note": None}
    assert keeps({"body": {"name": [{"prefix": "Order-"}]}}, body)
    assert keeps({"body": {"name": [{"suffix": ".PNG"}]}}, body) and not keeps({"body": {"name": [{"suffix": ".png"}]}}, body)
    assert keeps({"body": {"name": [{"equals-ignore-case": "order-7.png"}]}}, body)
    assert keeps({"body": {"state": [{"anything-but": ["new", "cancelled"]}]}}, body)
    assert not keeps({"body": {"state": [{"anything-but": "paid"}]}}, body)
    assert keeps({"body": {"total": [{"numeric": [">", 10, "<=", 20]}]}}, body)
    assert not keeps({"body": {"total": [{"numeric": ["<", 10]}]}}, body)
    assert keeps({"body": {"total": [{"exists": True}]}}, body) and keeps({"body": {"coupon": [{"exists": False}]}}, body)
    assert keeps({"body": {"note": [None]}}, body)


def test_plain_string_bodies_and_the_body_key_only():
    assert keeps({"body": [{"prefix": "order"}]}, "order 7")
    assert not keeps({"body": {"kind": ["order"]}}, "order 7")  # a JSON pattern drops a plain body
    assert not keeps({"body": ["order 7"]}, {"kind": "order"})  # a plain pattern drops a JSON body
    assert not keeps({"attributes": {"ApproximateReceiveCount": ["1"]}}, "order 7")
    two = filtering.patterns(crit({"body": {"kind": ["order"]}}, {"body": {"kind": ["refund"]}}))
    assert filtering.keeps(two, json.dumps({"kind": "refund"})) and not filtering.keeps(two, '{"kind": "x"}')
    assert filtering.keeps([], "anything")


@pytest.mark.parametrize("criteria", [
    {"Filters": [{"Pattern": "not json"}]},
    {"Filters": [{"Pattern": json.dumps({"body": "order"})}]},  # a leaf must be a list
    {"Filters": [{"Pattern": json.dumps({"body": {"total": [{"numeric": [">>", 1]}]}})}]},
    {"Filters": [{"Pattern": json.dumps({"body": {"name": [{"wildcard": "*"}]}})}]},
    {"Filters": [{"Pattern": json.dumps({"body": {"n": [1]}})}] * 6},
    {"Filters": [{"Pattern": json.dumps({"body": {"n": ["x" * 5000]}})}]},
])
def test_create_time_validation(criteria):
    with pytest.raises(filtering.FilterError):
        filtering.patterns(criteria)
