"""Queue attributes within SQS's ranges (SQS API Reference: CreateQueue, SetQueueAttributes).

The wiring that applies them on CreateQueue and SetQueueAttributes is
:mod:`sqslab.offline.patches.sqs`.
"""

from __future__ import annotations

QUEUE_ATTRIBUTE_LIMITS = {
    "DelaySeconds": (0, 900),  # 15 minutes
    "MaximumMessageSize": (1024, 1_048_576),  # 1 KiB to 1 MiB
    "MessageRetentionPeriod": (60, 1_209_600),  # 1 minute to 14 days
    "ReceiveMessageWaitTimeSeconds": (0, 20),
    "VisibilityTimeout": (0, 43_200),  # 12 hours
}


# SetQueueAttributes, Request Parameters: the attributes it sets (FifoQueue is CreateQueue's only)
SETTABLE = frozenset({
    "DelaySeconds", "MaximumMessageSize", "MessageRetentionPeriod", "Policy", "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout", "RedrivePolicy", "RedriveAllowPolicy", "KmsMasterKeyId", "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled", "ContentBasedDeduplication", "DeduplicationScope", "FifoThroughputLimit",
})
MAX_RECEIVE_COUNT = (1, 1000)  # a RedrivePolicy's maxReceiveCount (SQS Developer Guide, dead-letter queues)


def attribute_out_of_range(attributes: dict) -> str | None:
    """The first attribute SQS refuses for its value (not an integer, or out of
    :data:`QUEUE_ATTRIBUTE_LIMITS`; a ``Policy`` that is not a JSON object; a ``RedrivePolicy`` that
    is not one, or whose maxReceiveCount is not 1 to 1,000), or None."""
    import json

    for name in ("Policy", "RedrivePolicy", "RedriveAllowPolicy"):
        value = attributes.get(name)
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue  # an empty value removes the policy
        try:
            doc = json.loads(value) if isinstance(value, str) else value
        except ValueError:
            return name
        if not isinstance(doc, dict):
            return name
        if name == "RedrivePolicy":
            try:
                count = int(str(doc.get("maxReceiveCount")).strip())
            except ValueError:
                return name
            if not MAX_RECEIVE_COUNT[0] <= count <= MAX_RECEIVE_COUNT[1]:
                return name
    for name, (low, high) in QUEUE_ATTRIBUTE_LIMITS.items():
        if name not in attributes:
            continue
        value = attributes[name]
        if isinstance(value, bool):
            return name
        try:
            number = int(str(value).strip())
        except ValueError:
            return name
        if not low <= number <= high:
            return name
    return None
