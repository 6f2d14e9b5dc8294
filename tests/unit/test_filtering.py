"""FilterCriteria rules (sqslab.offline.awslambda.filtering), without a server: Lambda Developer
Guide, "Control which events Lambda sends to your function" (the rule syntax, the JSON and plain
string body table, 5 filters per mapping) and "Using event filtering with an Amazon SQS event
source" (the body table; metadata properties beside the body key)."""


from __future__ import annotations

import json

import pytest

from sqslab.offline.awslambda import filtering


def crit(*patterns):
    return {"Filters": [{"Pattern": json.dumps(p)} for p in patterns]}


def record(body, **metadata):
    return {"messageId": "m-1", "body": body if isinstance(body, str) else json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs",
            **metadata}


def keeps(pattern, body, **metadata):
    return filtering.keeps(filtering.patterns(crit(pattern)), record(body, **metadata))


def test_equals_and_nested_and_or():
    order = {"kind": "order", "total": 42, "customer": {"tier": "gold"}, "tags": ["rush", "gift"]}
    assert keeps({"body": {"kind": ["order"]}}, order)
    assert not keeps({"body": {"kind": ["refund"]}}, order)
    assert keeps({"body": {"kind": ["order"], "customer": {"tier": ["gold"]}}}, order)  # and
    assert not keeps({"body": {"kind": ["order"], "customer": {"tier": ["silver"]}}}, order)
    assert keeps({"body": {"$or": [{"kind": ["refund"]}, {"total": [42]}]}}, order)
    assert keeps({"body": {"tags": ["gift"]}}, order)  # a list field matches when any element does
    assert keeps({"body": {"total": [42]}}, order)


def test_numbers_match_by_their_text_and_numeric_rules_by_value():
    # invocation-eventfiltering: "For numbers, Lambda also uses string representation. For example,
    # 300, 300.0, and 3.0e2 are not considered equal."
    for text in ("300.0", "3.0e2"):
        assert not keeps({"body": {"n": [300]}}, f'{{"n": {text}}}')
        assert keeps({"body": {"n": [{"numeric": ["=", 300]}]}}, f'{{"n": {text}}}')
    assert keeps({"body": {"n": [300]}}, '{"n": 300}')
    assert not keeps({"body": {"n": [{"anything-but": [300]}]}}, '{"n": 300}')
    assert keeps({"body": {"n": [{"anything-but": [300]}]}}, '{"n": 300.0}')
    assert not keeps({"body": {"n": ["300"]}}, '{"n": 300}')  # a string is not a number


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
    assert not keeps({"body": {"state": [{"anything-but": {"prefix": "pa"}}]}}, body)
    assert keeps({"body": {"state": [{"anything-but": {"suffix": "x"}}]}}, body)


def test_exists_works_on_leaf_nodes_only():
    # invocation-eventfiltering: "the Exists operator only works on leaf nodes ... It doesn't match
    # intermediate nodes."
    person = {"person": {"name": "John Doe", "address": {"city": "Anytown"}}}
    assert not keeps({"body": {"person": {"address": [{"exists": True}]}}}, person)
    assert keeps({"body": {"person": {"name": [{"exists": True}]}}}, person)
    assert keeps({"body": {"person": {"address": {"city": [{"exists": True}]}}}}, person)


def test_plain_string_bodies_and_metadata_properties():
    assert keeps({"body": [{"prefix": "order"}]}, "order 7")
    assert not keeps({"body": {"kind": ["order"]}}, "order 7")  # a JSON pattern drops a plain body
    assert not keeps({"body": ["order 7"]}, {"kind": "order"})  # a plain pattern drops a JSON body
    # invocation-eventfiltering: "Your filter pattern can include metadata properties, data
    # properties, or both"; the SQS record's metadata properties include its attributes.
    assert keeps({"attributes": {"ApproximateReceiveCount": ["1"]}}, "order 7")
    assert not keeps({"attributes": {"ApproximateReceiveCount": ["2"]}}, "order 7")
    assert keeps({"attributes": {"ApproximateReceiveCount": ["1"]}, "body": {"kind": ["order"]}}, {"kind": "order"})
    assert not keeps({"attributes": {"ApproximateReceiveCount": ["1"]}, "body": ["order 7"]}, {"kind": "order"})
    tagged = {"channel": {"stringValue": "web", "dataType": "String"}}
    assert keeps({"messageAttributes": {"channel": {"stringValue": ["web"]}}}, "x", messageAttributes=tagged)
    two = filtering.patterns(crit({"body": {"kind": ["order"]}}, {"body": {"kind": ["refund"]}}))
    assert filtering.keeps(two, record({"kind": "refund"})) and not filtering.keeps(two, record('{"kind": "x"}'))
    assert filtering.keeps([], record("anything"))


@pytest.mark.parametrize("criteria", [
    {"Filters": [{"Pattern": "not json"}]},
    {"Filters": [{"Pattern": json.dumps({"body": "order"})}]},  # a leaf must be a list
    {"Filters": [{"Pattern": json.dumps({"body": {"total": [{"numeric": [">>", 1]}]}})}]},
    {"Filters": [{"Pattern": json.dumps({"body": {"name": [{"wildcard": "*"}]}})}]},
    {"Filters": [{"Pattern": json.dumps({"body": {"n": [1]}})}] * 6},
    {"Filters": [{"Pattern": json.dumps({"body": {"n": ["x" * 5000]}})}]},
    {"Filters": [{"Pattern": json.dumps({"body": {"n": [{"anything-but": {"numeric": [">", 1]}}]}})}]},
    {"Filters": [{"Pattern": json.dumps({"body": {"n": [{"anything-but": [{"prefix": "a"}]}]}})}]},
])
def test_create_time_validation(criteria):
    with pytest.raises(filtering.FilterError):
        filtering.patterns(criteria)
