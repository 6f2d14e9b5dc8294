"""The lab: a deployed stack as a notebook or a command uses it, made once and passed
down: the resolved target, its clients (made once per service), the stack's outputs
(queue URL and name, the functions' names), read once, and, in a notebook, the timings
it runs with. The same lab serves the article's stack (function1-3) and the retries
stack (``--template retries``: a consumer polled through an event source mapping, a
dead-letter queue).

    lab = Lab.of("sqslab", "offline")
    sqs = lab.client("sqs")
    sqs.receive_message(QueueUrl=lab.queue_url, WaitTimeSeconds=20)
    lab.function_name("function2")   # -> "fa-021-function2"

Every helper that takes ``stack_name`` and ``target`` also takes a lab in
``stack_name``; given a name, it makes a lab for that one call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqslab import target as targets
from sqslab.base.errors import SqslabError
from sqslab.config import DEFAULT_STACK, FUNCTIONS, RETRIES_BATCH_SIZE, RETRIES_MAX_RECEIVE_COUNT
from sqslab.deploy import checks, scratch
from sqslab.lab import invoke as invoking

# Outputs that name a function: Function{N}Name -> functionN, ConsumerFunctionName -> consumer.
_FUNCTION_OUTPUT = re.compile(r"Function(\d+)Name|(Consumer)FunctionName")


@dataclass
class Lab:
    """A deployed stack on its target (clients, outputs, names). A notebook's lab also carries
    the timings it runs with (:func:`sqslab.lab.notebook.setup` sets them): the profile, the
    visibility timeout and long-poll wait; on the retries stack (``template="retries"``) the
    consumer's timeout, the mapping's batching window and BatchSize, the queue's maxReceiveCount,
    and how often the chapters' producers send (``send_every``, seconds). A lab made from a stack
    name alone (:meth:`of`) has the article profile's."""

    name: str
    target: targets.Target
    _outputs: dict[str, str] | None = field(default=None, repr=False)
    profile: str = "article"
    visibility_timeout: int = 90
    wait: int = 20
    template: str = "single"
    function_timeout: int = 0
    batching_window: int = 0
    batch_size: int = RETRIES_BATCH_SIZE
    max_receive_count: int = RETRIES_MAX_RECEIVE_COUNT
    send_every: float = 0.0
    delay_seconds: int = 0

    @classmethod
    def of(cls, stack: Lab | str | None = None, target=None) -> Lab:
        """``stack`` itself when it is a lab, else a lab for that stack name on ``target``."""
        if isinstance(stack, Lab):
            return stack
        return cls(checks.stack_name(DEFAULT_STACK if stack is None else stack), targets.resolve(target))

    def client(self, service: str, **config_overrides):
        """A boto3 client on this stack's target (made once, then reused)."""
        return targets.client(service, self.target, **config_overrides)

    @property
    def outputs(self) -> dict[str, str]:
        """The stack's Outputs, read once (:meth:`refresh` after a deploy that changed them)."""
        if self._outputs is None:
            from sqslab.deploy.stack import outputs

            self._outputs = outputs(self.name, self.target)
        return self._outputs

    def refresh(self) -> Lab:
        self._outputs = None
        return self

    @property
    def queue_name(self) -> str:
        return self.outputs["QueueName"]

    @property
    def queue_url(self) -> str:
        return self.outputs["QueueUrl"]

    @property
    def queue_arn(self) -> str:
        return self.outputs["QueueArn"]

    def _output(self, key: str, what: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise SqslabError(f"stack {self.name} has no {what} (output {key}): it is a chapter stack's "
                              f"(`sqslab deploy --template retries`, or fifo, lifetime, idempotency, concurrency, fanout)") from None

    def output(self, key: str) -> str:
        """One of the stack's outputs by its key (``"JobsQueueUrl"``); one line if it has none."""
        return self._output(key, key)

    @property
    def dead_letter_queue_url(self) -> str:
        return self._output("DeadLetterQueueUrl", "dead-letter queue")

    @property
    def dead_letter_queue_name(self) -> str:
        return self._output("DeadLetterQueueName", "dead-letter queue")

    @property
    def dead_letter_queue_arn(self) -> str:
        return self._output("DeadLetterQueueArn", "dead-letter queue")

    @property
    def consumer_name(self) -> str:
        """The deployed name of the function the event source mapping invokes."""
        return self._output("ConsumerFunctionName", "consumer function")

    @property
    def mapping_id(self) -> str:
        """The event source mapping's UUID (for get/update_event_source_mapping)."""
        return self._output("EventSourceMappingId", "event source mapping")

    def function_names(self) -> dict[str, str]:
        """Logical name -> deployed name of every function the stack's outputs name:
        ``Function{N}Name`` -> ``functionN``, ``ConsumerFunctionName`` -> ``consumer``."""
        found = {}
        for key, value in self.outputs.items():
            match = _FUNCTION_OUTPUT.fullmatch(key)
            if match:
                found["consumer" if match.group(2) else f"function{match.group(1)}"] = value
        order = {fn: i for i, fn in enumerate(FUNCTIONS)}
        return dict(sorted(found.items(), key=lambda kv: (order.get(kv[0], len(order)), kv[0])))

    def function_name(self, logical: str) -> str:
        """``function1`` -> the deployed name (the stack's ``Function1Name`` output); ``consumer``
        on the retries stack (``ConsumerFunctionName``)."""
        if not isinstance(logical, str) or not re.fullmatch(r"function\d+|consumer", logical):
            raise SqslabError(f"{logical!r} is not one of the stack's functions: use {', '.join(FUNCTIONS)}")
        names = self.function_names()
        if logical not in names:
            raise SqslabError(f"{logical!r} is not one of the stack's functions: use {', '.join(names)}")
        return names[logical]

    def scratch_queue_name(self, purpose: str) -> str:
        """A name for a short-lived queue of an experiment on this stack (:mod:`sqslab.deploy.scratch`):
        the stack's teardown deletes any such queue a failed cell left behind."""
        return scratch.queue_name(self.name, purpose)

    def resolve_function(self, name: str) -> str:
        """``function1`` -> the stack's deployed name (:meth:`function_name`); a full name is
        checked to exist."""
        name = checks.function_name(name)
        if name in FUNCTIONS or re.fullmatch(r"function\d+|consumer", name):
            return self.function_name(name)  # one of the stack's, or a line naming the stack's own
        lam = self.client("lambda")
        try:
            lam.get_function(FunctionName=name)
        except lam.exceptions.ResourceNotFoundException:
            raise SqslabError(f"no function named {name!r}: use {', '.join(self.function_names()) or 'function1'} "
                              "(stack " + self.name + "'s), or a deployed function's full name") from None
        return name

    def invoke(self, function: str, payload=None, progress: bool = True) -> invoking.Invocation:
        """Invoke one of the stack's functions (``"function1"``..., or a full name) with
        ``LogType="Tail"`` and wait for it: an :class:`~sqslab.lab.invoke.Invocation` with
        ``.body``, ``.duration_ms``, ``.summary()``."""
        data = checks.payload(payload)
        return invoking.call(self.client("lambda"), self.resolve_function(function), data, label=function,
                             progress=progress)

    def extended_client(self, bucket: str):
        """An SQS client of the SQS Extended Client Library on this lab's target, bodies over its
        threshold put in ``bucket`` (:func:`sqslab.target.extended_sqs_client`)."""
        return targets.extended_sqs_client(bucket, self.target)

    def parameters(self, **overrides) -> dict:
        """The stack parameters this lab deploys with (``overrides`` replace some)."""
        if self.template == "retries":
            params = {"VisibilityTimeout": self.visibility_timeout, "FunctionTimeout": self.function_timeout,
                      "BatchSize": self.batch_size, "MaximumBatchingWindowInSeconds": self.batching_window,
                      "MaxReceiveCount": self.max_receive_count, "ReportBatchItemFailures": "true"}
        elif self.template == "idempotency":
            params = {"VisibilityTimeout": self.visibility_timeout, "FunctionTimeout": self.function_timeout}
        elif self.template == "lifetime":
            params = {"DelaySeconds": self.delay_seconds}
        elif self.template in ("concurrency", "fanout"):
            params = {}  # the template's own settings, in both profiles
        elif self.template == "fifo":
            params = {"VisibilityTimeout": self.visibility_timeout, "FunctionTimeout": self.function_timeout,
                      "BatchSize": self.batch_size, "MaxReceiveCount": self.max_receive_count}
        else:
            params = {"VisibilityTimeout": self.visibility_timeout, "ReceiveMessageWaitTimeSeconds": self.wait}
        return {**params, **overrides}
