"""Lambda's concurrency rules (sqslab.offline.awslambda.concurrency), without a server: Lambda
Developer Guide, "Configuring reserved concurrency" and "Lambda function scaling"; Lambda API
reference, Invoke (TooManyRequestsException Reasons) and PutFunctionConcurrency."""


from __future__ import annotations

import pytest

from sqslab.offline.awslambda import concurrency


def test_a_reservation_is_a_ceiling_and_zero_throttles_everything():
    gate = concurrency.Gate()
    first = gate.enter("arn:f", 2, 2)
    gate.enter("arn:f", 2, 2)
    with pytest.raises(concurrency.Throttled) as third:
        gate.enter("arn:f", 2, 2)
    assert third.value.reason == "ReservedFunctionConcurrentInvocationLimitExceeded"
    gate.leave(first)
    gate.enter("arn:f", 2, 2)  # a slot freed
    with pytest.raises(concurrency.Throttled):
        gate.enter("arn:zero", 0, 2)
    assert gate.throttles == 2 and gate.running("arn:f") == 2


def test_unreserved_functions_share_what_reservations_leave():
    gate = concurrency.Gate(limit=10)
    tokens = [gate.enter(f"arn:u{i}", None, 7) for i in range(3)]  # 10 - 7 reserved = 3 unreserved
    with pytest.raises(concurrency.Throttled) as more:
        gate.enter("arn:u9", None, 7)
    assert more.value.reason == "ConcurrentInvocationLimitExceeded"
    gate.enter("arn:r", 7, 7)  # a reserved function is not held back by them
    gate.leave(tokens[0])
    gate.enter("arn:u9", None, 7)


def test_reservations_leave_at_least_100_unreserved():
    assert concurrency.reservation_refusal(900, 0) is None
    assert concurrency.reservation_refusal(901, 0).endswith("below its minimum value of [100].")
    assert concurrency.reservation_refusal(450, 451) is not None and concurrency.reservation_refusal(450, 450) is None
    assert concurrency.reserved_of(None) is None and concurrency.reserved_of("") is None
    assert concurrency.reserved_of("0") == 0 and concurrency.reserved_of(3) == 3
