"""What Lambda checks when an SQS event source mapping is created or updated (pure, but for the
role look-up): BatchSize, the batching window and MaximumConcurrency within their ranges, the
function timeout against the queue's visibility timeout, one mapping per queue and function, and
an execution role that may poll the queue (services-sqs-configure, services-sqs-parameters,
CreateEventSourceMapping). Lambda's own wording in each :class:`MappingError`.
"""

from __future__ import annotations

from sqslab.offline.awslambda import filtering


class MappingError(Exception):
    """A request Lambda refuses: ``code`` is the error type, the text its message."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


def _bound(field: str, value: int, low: int, high: int) -> None:
    """AWS's own validation error for a number out of its range."""
    if value < low:
        raise MappingError("ValidationException", f"1 validation error detected: Value '{value}' at '{field}' "
                           f"failed to satisfy constraint: Member must have value greater than or equal to {low}")
    if value > high:
        raise MappingError("ValidationException", f"1 validation error detected: Value '{value}' at '{field}' "
                           f"failed to satisfy constraint: Member must have value less than or equal to {high}")


def check_sqs_mapping(
    config: dict, *, fifo: bool, visibility_timeout: int | None = None, function_timeout: int | None = None
) -> None:
    """Raise :class:`MappingError` as Lambda does for an SQS mapping's settings.

    ``config`` holds the mapping's settings after the request (BatchSize,
    MaximumBatchingWindowInSeconds, ScalingConfig, FunctionResponseTypes);
    ``visibility_timeout`` and ``function_timeout`` are compared when given.
    Limits: services-sqs-parameters and the CreateEventSourceMapping API
    reference; messages as Lambda words them."""
    batch = config.get("BatchSize")
    window = config.get("MaximumBatchingWindowInSeconds")
    if batch is not None:
        _bound("batchSize", int(batch), 1, 10000)
    if window is not None:
        _bound("maximumBatchingWindowInSeconds", int(window), 0, 300)
    if fifo:
        if batch is not None and int(batch) > 10:
            raise MappingError("InvalidParameterValueException", "Maximum batch size must be between 1 and 10 inclusive")
        if window:
            raise MappingError("InvalidParameterValueException", "Batching window is not supported for FIFO queues")
    elif batch is not None and int(batch) > 10 and not window:
        raise MappingError(
            "InvalidParameterValueException",
            "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater than 10",
        )
    scaling = config.get("ScalingConfig") or {}
    if scaling.get("MaximumConcurrency") is not None:
        _bound("scalingConfig.maximumConcurrency", int(scaling["MaximumConcurrency"]), 2, 1000)
    types = config.get("FunctionResponseTypes") or []
    if any(t != "ReportBatchItemFailures" for t in types):
        raise MappingError(
            "ValidationException",
            f"1 validation error detected: Value '{list(types)}' at 'functionResponseTypes' failed to satisfy "
            "constraint: Member must satisfy constraint: [Member must satisfy enum value set: [ReportBatchItemFailures]]",
        )
    try:
        filtering.patterns(config.get("FilterCriteria"))
    except filtering.FilterError as err:
        raise MappingError("InvalidParameterValueException", str(err)) from None
    if visibility_timeout is not None and function_timeout is not None and function_timeout > visibility_timeout:
        raise MappingError(
            "InvalidParameterValueException",
            f"Queue visibility timeout: {visibility_timeout} seconds is less than Function timeout: "
            f"{function_timeout} seconds",
        )


POLLING_ACTIONS = ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes")  # AWSLambdaSQSQueueExecutionRole's


def check_role_can_poll(role_arn: str, queue_arn: str, region: str = "") -> None:
    """Raise :class:`MappingError` as Lambda does when the function's execution role may not
    poll the queue: the mapping reads the queue with the function's role (services-sqs-configure,
    "Setting up Lambda execution role permissions"), and CreateEventSourceMapping checks it."""
    from sqslab.offline.iam import policy as iam_policy

    for action in POLLING_ACTIONS:
        if not iam_policy.role_allows(role_arn, f"sqs:{action}", queue_arn, region).allowed:
            raise MappingError("InvalidParameterValueException",
                               f"The provided execution role does not have permissions to call {action} on SQS")


def role_may(fn, action: str, queue_arn: str, region: str = "") -> bool:
    """Whether the function's execution role allows ``sqs:<action>`` on the queue (the poller's own check)."""
    from sqslab.offline.iam import policy as iam_policy

    return iam_policy.role_allows(str(getattr(fn, "role", "") or ""), f"sqs:{action}", queue_arn, region).allowed


def queue_missing() -> MappingError:
    """What Lambda answers when the mapping's queue does not exist."""
    return MappingError(
        "InvalidParameterValueException",
        "Error occurred while ReceiveMessage. SQS Error Code: AWS.SimpleQueueService.NonExistentQueue. "
        "SQS Error Message: The specified queue does not exist for this wsdl version.",
    )


def already_mapped(queue_arn: str, function_name: str, uuid: str) -> MappingError:
    return MappingError(
        "ResourceConflictException",
        f'An event source mapping with SQS arn (" {queue_arn} ") and function (" {function_name} ") already exists. '
        f"Please update or delete the existing mapping with UUID {uuid}",
        status=409,
    )


def normalise(spec: dict) -> dict:
    """CloudFormation passes numbers and booleans as text at times; the API takes them typed."""
    out = dict(spec)
    for key in ("BatchSize", "MaximumBatchingWindowInSeconds"):
        if isinstance(out.get(key), str) and out[key].strip().lstrip("-").isdigit():
            out[key] = int(out[key])
    if isinstance(out.get("Enabled"), str):
        out["Enabled"] = out["Enabled"].strip().lower() == "true"
    scaling = out.get("ScalingConfig")
    if isinstance(scaling, dict) and isinstance(scaling.get("MaximumConcurrency"), str):
        out["ScalingConfig"] = {**scaling, "MaximumConcurrency": int(scaling["MaximumConcurrency"])}
    return out
