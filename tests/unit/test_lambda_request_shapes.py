"""Lambda requests against the constraints of Lambda's API model (sqslab.offline.awslambda.request_shapes):
Lambda API reference, each parameter's "Valid Values", "Length Constraints", "Valid Range" and
"Pattern", and Common Errors, ValidationException ("1 validation error detected: ...")."""

from __future__ import annotations

from sqslab.offline.awslambda.request_shapes import problems

ROLE = "arn:aws:iam::123456789012:role/r"
GOOD = {"FunctionName": "f", "Role": ROLE, "Handler": "h.handler", "Runtime": "python3.11", "MemorySize": 128}


def test_a_request_within_the_constraints_passes():
    assert problems("CreateFunction", GOOD, {}, {}) is None
    assert problems("CreateFunction", lambda: GOOD, {}, {}) is None
    assert problems("Invoke", {}, {}, {"X-Amz-Invocation-Type": "Event"}) is None
    assert problems("NoSuchOperation", {"x": 1}, {}, {}) is None


def test_each_constraint_in_lambdas_words():
    assert problems("CreateFunction", {**GOOD, "Runtime": "python9"}, {}, {}).startswith(
        "1 validation error detected: Value 'python9' at 'runtime' failed to satisfy constraint: Member must "
        "satisfy enum value set: [")
    assert problems("CreateFunction", {**GOOD, "MemorySize": 64}, {}, {}) == (
        "1 validation error detected: Value '64' at 'memorySize' failed to satisfy constraint: Member must have "
        "value greater than or equal to 128")
    assert "Member must satisfy regular expression pattern: [^\\s]+" in problems("CreateFunction",
                                                                                {**GOOD, "Handler": ""}, {}, {})
    assert "Member must have length less than or equal to 256" in problems("CreateFunction",
                                                                          {**GOOD, "Description": "d" * 257}, {}, {})
    two = problems("CreateFunction", {**GOOD, "Runtime": "python9", "Handler": "a b"}, {}, {})
    assert two.startswith("2 validation errors detected: ") and "'runtime'" in two and "'handler'" in two
    assert "at 'invocationType'" in problems("Invoke", {}, {}, {"X-Amz-Invocation-Type": "Bogus"})


def test_a_payload_is_the_callers_not_parameters():
    """Invoke and InvokeAsync carry the caller's payload as their body (any JSON, a list included): it is
    never read as parameters."""
    def unread():
        raise AssertionError("the payload was read as parameters")

    for operation in ("Invoke", "InvokeAsync", "InvokeWithResponseStream"):
        assert problems(operation, unread, {}, {}) is None
