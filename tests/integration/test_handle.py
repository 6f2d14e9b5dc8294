"""The stack handle: made once, it holds the target, reuses its clients and reads the
stack's outputs once, so a helper's invoke costs what the bare boto3 call costs."""


from __future__ import annotations

import uuid

import pytest

from sqslab import target
from sqslab.base.errors import SqslabError
from sqslab.deploy import stack
from sqslab.lab.handle import Lab


@pytest.fixture(scope="module")
def lab(offline):
    name, prefix = f"h-{uuid.uuid4().hex[:6]}", f"h{uuid.uuid4().hex[:6]}"
    stack.deploy(stack_name=name, params={"Prefix": prefix, "ReceiveMessageWaitTimeSeconds": 1}, progress=False)
    yield Lab.of(name, "offline"), prefix
    stack.teardown(name, progress=False)


def test_names_and_clients(lab):
    handle, prefix = lab
    assert handle.queue_name == f"{prefix}-queue" and handle.queue_url.endswith(f"/{prefix}-queue")
    assert handle.function_names() == {f"function{i}": f"{prefix}-function{i}" for i in (1, 2, 3)}
    assert handle.client("sqs") is handle.client("sqs") is target.client("sqs", handle.target)
    assert Lab.of(handle) is handle
    with pytest.raises(SqslabError, match="'function4' is not one of the stack's functions"):
        handle.function_name("function4")


def test_outputs_are_read_once(lab):
    """Ten invokes through the handle call DescribeStacks at most once (none if already read)."""
    handle, _ = lab
    calls = []
    cfn = handle.client("cloudformation")
    cfn.meta.events.register("before-call.cloudformation.DescribeStacks", lambda **kw: calls.append(1))
    try:
        for _ in range(10):
            assert handle.invoke("function1", progress=False).function_error is None
    finally:
        cfn.meta.events.unregister("before-call.cloudformation.DescribeStacks")
    assert len(calls) <= 1
    sqs = handle.client("sqs")
    sqs.purge_queue(QueueUrl=sqs.get_queue_url(QueueName=handle.queue_name)["QueueUrl"])


def test_a_name_that_is_not_deployed_is_one_line():
    with pytest.raises(SqslabError, match="stack never-there is not deployed offline: run `sqslab deploy` first"):
        Lab.of("never-there", "offline").outputs  # noqa: B018


def test_the_retries_stack_names_its_consumer_queues_and_mapping():
    """function_names() follows the outputs (logs.fetch_stack reads every function through it): the
    retries stack's consumer is ``consumer``; its dead-letter queue and mapping have properties too."""
    name, prefix = f"hr-{uuid.uuid4().hex[:6]}", f"hr{uuid.uuid4().hex[:6]}"
    stack.deploy("retries", stack_name=name, params={"Prefix": prefix}, progress=False)
    try:
        handle = Lab.of(name, "offline")
        assert handle.function_names() == {"consumer": f"{prefix}-consumer"}
        assert handle.function_name("consumer") == handle.consumer_name == f"{prefix}-consumer"
        assert handle.dead_letter_queue_name == f"{prefix}-dlq" and handle.dead_letter_queue_url.endswith(f"/{prefix}-dlq")
        assert handle.dead_letter_queue_arn.endswith(f":{prefix}-dlq") and handle.queue_arn.endswith(f":{prefix}-queue")
        mapping = handle.client("lambda").get_event_source_mapping(UUID=handle.mapping_id)
        assert mapping["EventSourceArn"] == handle.queue_arn
        with pytest.raises(SqslabError, match="'function1' is not one of the stack's functions: use consumer"):
            handle.function_name("function1")
    finally:
        stack.teardown(name, progress=False)


def test_the_articles_stack_has_no_dead_letter_queue(lab):
    handle, _ = lab
    with pytest.raises(SqslabError, match="has no dead-letter queue .*--template retries"):
        handle.dead_letter_queue_url  # noqa: B018
    assert "consumer" not in handle.function_names()
