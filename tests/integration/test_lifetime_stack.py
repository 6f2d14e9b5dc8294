"""The lifetime stack (infra/lifetime.yaml, ``--template lifetime``, chapter 08): its queues'
delays and retention as declared, the payload bucket, a body over 1 MiB sent with the SQS
Extended Client Library through the one client factory and read back by the payload reader,
and a teardown that empties the bucket and leaves nothing."""


from __future__ import annotations

import hashlib
import json
import time
import uuid

from sqslab import target
from sqslab.deploy import stack
from sqslab.lab import resources


def test_a_body_over_1_mib_goes_through_s3_and_the_teardown_empties_the_bucket(clients):
    """SQS Developer Guide, extended-client-library-python (a body over the threshold stored in S3, the
    message a pointer) and quotas-messages (1 MiB); CloudFormation deletes no non-empty bucket
    (AWS::S3::Bucket, DeletionPolicy): the teardown empties it first."""
    name, prefix = f"lt-{uuid.uuid4().hex[:6]}", f"lt{uuid.uuid4().hex[:6]}"
    out = stack.deploy("lifetime", name, {"Prefix": prefix, "DelaySeconds": 1}, progress=False).outputs
    sqs, s3, logs = clients.sqs, clients.s3, clients.logs
    try:
        attrs = {key: sqs.get_queue_attributes(QueueUrl=out[f"{key}Url"], AttributeNames=["All"])["Attributes"]
                 for key in ("Queue", "RetentionQueue", "ShortDeadLetterQueue", "LongDeadLetterQueue", "TrapQueue")}
        assert attrs["Queue"]["DelaySeconds"] == "1"
        assert [attrs[k]["MessageRetentionPeriod"] for k in ("RetentionQueue", "ShortDeadLetterQueue",
                                                             "LongDeadLetterQueue")] == ["60", "60", "1209600"]
        assert json.loads(attrs["TrapQueue"]["RedrivePolicy"])["maxReceiveCount"] == 1
        body = "z" * (1024 * 1024 + 1)
        sent_ms = int(time.time() * 1000)
        extended = target.extended_sqs_client(out["PayloadBucketName"], "offline")
        assert extended.s3_client is target.client("s3", "offline")  # never the library's endpoint-less one
        extended.send_message(QueueUrl=out["LargeQueueUrl"], MessageBody=body)
        assert [o["Size"] for o in s3.list_objects_v2(Bucket=out["PayloadBucketName"])["Contents"]] == [len(body)]
        group = f"/aws/lambda/{out['ReaderFunctionName']}"
        deadline, lines = time.monotonic() + 20, []
        while not lines and time.monotonic() < deadline:
            lines = [json.loads(e["message"]) for e in logs.filter_log_events(
                logGroupName=group, startTime=sent_ms, filterPattern='"payload"')["events"]]
            time.sleep(0.2)
        assert len(lines) == 1 and lines[0]["from_s3"] is True
        assert lines[0]["sha256"] == hashlib.sha256(body.encode()).hexdigest()
    finally:
        report = stack.teardown(name, progress=False)
    assert report["stack_deleted"] and report["objects_deleted"] == 1
    assert resources.leftovers(name, "offline", held=report["resources"]) == []
    assert out["PayloadBucketName"] not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
