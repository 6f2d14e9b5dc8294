"""What SQS refuses in a message or a receive, in its words (SQS API reference: SendMessage,
SendMessageBatch and ReceiveMessage, their parameters and errors). Pure; the wiring is
:mod:`sqslab.offline.patches.sqs` (``sqs_request_values_as_documented``)."""

from __future__ import annotations

import re

ALLOWED = "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
# SendMessage, MessageBody: "A message can include only XML, JSON, and unformatted text. The
# following Unicode characters are allowed" (the set above); anything else is refused.
_NOT_ALLOWED = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")

RECEIVE_RANGES = {  # ReceiveMessage's parameters, and how SQS words each range
    "MaxNumberOfMessages": (1, 10, "Must be between 1 and 10, if provided."),
    "WaitTimeSeconds": (0, 20, "Must be >= 0 and <= 20, if provided."),
    "VisibilityTimeout": (0, 43_200, "Must be >= 0 and <= 43200, if provided."),
}


def body_problem(body) -> tuple[str, str] | None:
    """(error code, message) for a message body SQS refuses: none or empty (MissingParameter), or a
    character outside the allowed set (InvalidMessageContents); None when SQS takes it."""
    if body is None or body == "":
        return "MissingParameter", "The request must contain the parameter MessageBody."
    bad = _NOT_ALLOWED.search(body)
    if bad:
        return ("InvalidMessageContents", f"Invalid binary character '#x{ord(bad.group()):X}' was found in the "
                f"message body, the set of allowed characters is {ALLOWED}")
    return None


def message_problem(body, deduplication_id, fifo: bool) -> tuple[str, str] | None:
    """(error code, message) for a message SQS refuses on this queue: its body (:func:`body_problem`),
    or a MessageDeduplicationId on a standard queue ("not valid for this queue type"); None if taken."""
    problem = body_problem(body)
    if problem:
        return problem
    if deduplication_id is not None and not fifo:
        return ("InvalidParameterValue", f"Value {deduplication_id} for parameter MessageDeduplicationId is invalid. "
                "Reason: The request includes a parameter that is not valid for this queue type.")
    return None


def receive_problem(values: dict) -> str | None:
    """The InvalidParameterValue message for a ReceiveMessage parameter out of its range (``values``:
    parameter name -> the value as given, None when absent); None when all are in range."""
    for name, (low, high, rule) in RECEIVE_RANGES.items():
        value = values.get(name)
        if value is None:
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            return f"Value {value} for parameter {name} is invalid. Reason: {rule}"
        if not low <= number <= high:
            return f"Value {number} for parameter {name} is invalid. Reason: {rule}"
    return None
