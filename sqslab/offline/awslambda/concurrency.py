"""Lambda's concurrency rules: reserved concurrency and the account's pool (pure; the wiring is
:mod:`sqslab.offline.awslambda.service` and the ``lambda_reserved_concurrency`` patch).

- An account has 1,000 concurrent executions by default in a Region; reservations may not
  leave fewer than 100 unreserved ("Lambda function scaling", "Configuring reserved
  concurrency": PutFunctionConcurrency is refused with InvalidParameterValueException).
- A function with reserved concurrency runs at most that many invocations at once; one
  more is throttled (Invoke: 429 TooManyRequestsException, Reason
  ReservedFunctionConcurrentInvocationLimitExceeded). Reserved concurrency 0 throttles every
  invocation. Functions without a reservation share what is left of the account's pool;
  past it: Reason ConcurrentInvocationLimitExceeded.
"""

from __future__ import annotations

import threading

ACCOUNT_LIMIT = 1000  # concurrent executions per account and Region, by default
UNRESERVED_MINIMUM = 100  # what reservations must leave unreserved

RESERVED_REASON = "ReservedFunctionConcurrentInvocationLimitExceeded"
ACCOUNT_REASON = "ConcurrentInvocationLimitExceeded"


class Throttled(Exception):
    """An invocation Lambda would not start: ``reason`` is the TooManyRequestsException Reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def reserved_of(value) -> int | None:
    """A function's reserved concurrency as moto keeps it (None, "", a string or an int)."""
    if value is None or str(value).strip() == "":
        return None
    return int(value)


def reservation_refusal(wanted: int, others_reserved: int, limit: int = ACCOUNT_LIMIT) -> str | None:
    """Lambda's message when reserving ``wanted`` beside ``others_reserved`` (the other functions'
    reservations) would leave fewer than the minimum unreserved; None when it may."""
    if limit - others_reserved - wanted < UNRESERVED_MINIMUM:
        return ("Specified ReservedConcurrentExecutions for function decreases account's "
                f"UnreservedConcurrentExecution below its minimum value of [{UNRESERVED_MINIMUM}].")
    return None


class Gate:
    """How many invocations of each function run now; who may start one more."""

    def __init__(self, limit: int = ACCOUNT_LIMIT):
        self.limit = limit
        self._running: dict[str, int] = {}
        self._unreserved_running = 0
        self._lock = threading.Lock()
        self.throttles = 0

    def enter(self, function_arn: str, reserved: int | None, reserved_total: int) -> tuple[str, bool]:
        """Count one more invocation of the function, or raise :class:`Throttled`. ``reserved_total``:
        the account's reservations (this function's included). Returns the token :meth:`leave` takes."""
        with self._lock:
            running = self._running.get(function_arn, 0)
            if reserved is not None:
                if running >= reserved:
                    self.throttles += 1
                    raise Throttled(RESERVED_REASON)
            elif self._unreserved_running >= self.limit - reserved_total:
                self.throttles += 1
                raise Throttled(ACCOUNT_REASON)
            else:
                self._unreserved_running += 1
            self._running[function_arn] = running + 1
            return function_arn, reserved is None

    def leave(self, token: tuple[str, bool]) -> None:
        function_arn, unreserved = token
        with self._lock:
            self._running[function_arn] = max(0, self._running.get(function_arn, 0) - 1)
            if unreserved:
                self._unreserved_running = max(0, self._unreserved_running - 1)

    def running(self, function_arn: str) -> int:
        with self._lock:
            return self._running.get(function_arn, 0)
