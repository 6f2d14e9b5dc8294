"""A deployed stack as a notebook or a command uses it, made once and passed down:
the resolved target, its clients (made once per service), and the stack's outputs
(queue URL and name, the three functions' names), read once.

    lab = StackHandle.of("sqslab", "offline")
    sqs = lab.client("sqs")
    sqs.receive_message(QueueUrl=lab.queue_url, WaitTimeSeconds=20)
    lab.function_name("function2")   # -> "fa-021-function2"

Every helper that takes ``stack_name`` and ``target`` also takes a handle in
``stack_name``; given a name, it makes a handle for that one call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqslab import checks, scratch
from sqslab import target as targets
from sqslab.config import DEFAULT_STACK, FUNCTIONS
from sqslab.errors import SqslabError

_LOGICAL = re.compile(r"function([123])")


@dataclass
class StackHandle:
    name: str
    target: targets.Target
    _outputs: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def of(cls, stack: StackHandle | str | None = None, target=None) -> StackHandle:
        """``stack`` itself when it is a handle, else a handle for that stack name on ``target``."""
        if isinstance(stack, StackHandle):
            return stack
        return cls(checks.stack_name(DEFAULT_STACK if stack is None else stack), targets.resolve(target))

    def client(self, service: str, **config_overrides):
        """A boto3 client on this stack's target (made once, then reused)."""
        return targets.client(service, self.target, **config_overrides)

    @property
    def outputs(self) -> dict[str, str]:
        """The stack's Outputs, read once (:meth:`refresh` after a deploy that changed them)."""
        if self._outputs is None:
            from sqslab.stack import outputs

            self._outputs = outputs(self.name, self.target)
        return self._outputs

    def refresh(self) -> StackHandle:
        self._outputs = None
        return self

    @property
    def queue_name(self) -> str:
        return self.outputs["QueueName"]

    @property
    def queue_url(self) -> str:
        return self.outputs["QueueUrl"]

    def function_name(self, logical: str) -> str:
        """``function1`` -> the deployed name (the stack's ``Function1Name`` output)."""
        match = _LOGICAL.fullmatch(logical)
        if not match:
            raise SqslabError(f"{logical!r} is not one of the stack's functions: use {', '.join(FUNCTIONS)}")
        return self.outputs[f"Function{match.group(1)}Name"]

    def function_names(self) -> dict[str, str]:
        return {fn: self.function_name(fn) for fn in FUNCTIONS}

    def scratch_queue_name(self, purpose: str) -> str:
        """A name for a short-lived queue of an experiment on this stack (:mod:`sqslab.scratch`):
        the stack's teardown deletes any such queue a failed cell left behind."""
        return scratch.queue_name(self.name, purpose)
