"""The fifo stack (infra/fifo.yaml, ``--template fifo``, chapter 07): FIFO queues as the
template declares them, a FIFO dead-letter queue, the consumer's least-privilege role and its
mapping; deployed and torn down offline with nothing left. Delivery is tested by chapter 07's
notebook test and by the documented-behaviour tests."""


from __future__ import annotations

import json
import uuid

from sqslab.deploy import stack
from sqslab.lab import resources


def test_deploy_read_back_and_teardown_leave_nothing(clients):
    """SQS Developer Guide, FIFO queues: a FIFO queue's name ends in .fifo and its dead-letter queue is a
    FIFO queue too (sqs-dead-letter-queues); Lambda's SQS mapping on it takes at most 10 per batch
    (services-sqs-parameters)."""
    name, prefix = f"ff-{uuid.uuid4().hex[:6]}", f"ff{uuid.uuid4().hex[:6]}"
    lam, sqs = getattr(clients, "lambda"), clients.sqs
    out = stack.deploy("fifo", name, {"Prefix": prefix, "VisibilityTimeout": 4}, progress=False).outputs
    try:
        attrs = {key: sqs.get_queue_attributes(QueueUrl=out[f"{key}Url"], AttributeNames=["All"])["Attributes"]
                 for key in ("Queue", "ContentQueue", "FairQueue", "JobsQueue", "DeadLetterQueue")}
        assert [a.get("FifoQueue") for a in attrs.values()] == ["true", "true", None, "true", "true"]
        assert attrs["Queue"]["ContentBasedDeduplication"] == "false"
        assert attrs["ContentQueue"]["ContentBasedDeduplication"] == "true"
        assert {a["VisibilityTimeout"] for k, a in attrs.items() if k != "DeadLetterQueue"} == {"4"}
        policy = json.loads(attrs["JobsQueue"]["RedrivePolicy"])
        assert policy == {"deadLetterTargetArn": out["DeadLetterQueueArn"], "maxReceiveCount": 3}
        mapping = lam.get_event_source_mapping(UUID=out["EventSourceMappingId"])
        assert mapping["EventSourceArn"] == out["JobsQueueArn"] and mapping["BatchSize"] == 10
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert out["QueueName"] == f"{prefix}-orders.fifo" and out["DeadLetterQueueName"] == f"{prefix}-dlq.fifo"
        # the consumer's role may poll the jobs queue only (and the chapter's scratch queues)
        role = lam.get_function_configuration(FunctionName=out["ConsumerFunctionName"])["Role"].rsplit("/", 1)[-1]
        iam = clients.iam
        statements = [st for pn in iam.list_role_policies(RoleName=role)["PolicyNames"]
                      for st in iam.get_role_policy(RoleName=role, PolicyName=pn)["PolicyDocument"]["Statement"]]
        assert [st["Resource"][0] for st in statements] == [out["JobsQueueArn"]]
        assert sorted(statements[0]["Action"]) == ["sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage"]
    finally:
        report = stack.teardown(name, progress=False)
    assert report["stack_deleted"] and len(report["resources"]) >= 9
    assert resources.leftovers(name, "offline", held=report["resources"]) == []
    assert sqs.list_queues(QueueNamePrefix=prefix).get("QueueUrls", []) == []
