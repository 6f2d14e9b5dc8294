"""Watched clients record a cell's SQS calls in the handlers' log schema, and the
timeline reads a ChangeMessageVisibility as the Amazon SQS API Reference describes
it (ChangeMessageVisibility: the new timeout counts from the time of the call)."""


from __future__ import annotations

import time
import uuid

from sqslab import target
from sqslab.analysis import timeline
from sqslab.experiments.calllog import CallLog
from sqslab.lab.handle import Lab


def test_a_heartbeat_keeps_the_message_hidden_and_is_drawn_so(offline):
    calls = CallLog()
    lab = Lab("unused", offline)
    a, b = calls.client(lab, "consumer A"), calls.client(lab, "consumer B")
    assert target.client("sqs", offline).meta.events is not a.meta.events, "the shared client is not watched"
    url = a.create_queue(QueueName=f"calllog-{uuid.uuid4().hex[:8]}", Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
    a.send_message(QueueUrl=url, MessageBody="order 1")
    got = a.receive_message(QueueUrl=url, MessageSystemAttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    time.sleep(1.5)
    a.change_message_visibility(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"], VisibilityTimeout=2)
    time.sleep(1.0)  # 2.5 s after the receive: without the heartbeat it would be visible again
    assert b.receive_message(QueueUrl=url).get("Messages", []) == []
    a.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
    a.delete_queue(QueueUrl=url)

    events = calls.frame()
    assert list(events["event"]) == ["send", "receive_call", "receive", "change_visibility", "receive_call", "delete"]
    assert list(events["logical"]) == ["consumer A"] * 4 + ["consumer B", "consumer A"]
    win = timeline.windows(events)
    assert len(win) == 1 and win.loc[0, "ended_by"] == "delete" and win.loc[0, "receive_count"] == 1
    change = events[events["event"] == "change_visibility"].iloc[0]
    assert win.loc[0, "timeout_end_ms"] == change["time_ms"] + 2000
