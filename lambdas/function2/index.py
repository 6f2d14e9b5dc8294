"""function2: receive up to max_number_of_messages and return their bodies (the article's Lambda2).

It does not delete: each message it receives stays in the queue, invisible to
other consumers for the queue's visibility timeout, then visible again.

Configuration (environment): queue_name, region_name, max_number_of_messages,
visibility_timeout (the queue's, for the log only).
Logs one JSON line per receive call and one per message received.
"""

import json
import os
import time

import boto3

SYSTEM_ATTRIBUTES = ["SentTimestamp", "ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"]


def log(event, **fields):
    print(json.dumps({"event": event, "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"), **fields}))


def receive(queue):
    """One ReceiveMessage call, logged: when it started and ended, and each message."""
    start_ms = int(time.time() * 1000)
    messages = queue.receive_messages(
        MaxNumberOfMessages=int(os.environ["max_number_of_messages"]),
        MessageSystemAttributeNames=SYSTEM_ATTRIBUTES,
    )
    end_ms = int(time.time() * 1000)
    log("receive_call", start_ms=start_ms, end_ms=end_ms, messages=len(messages))
    for msg in messages:
        attrs = msg.attributes or {}
        log(
            "receive",
            message_id=msg.message_id,
            body=msg.body,
            sent_timestamp=int(attrs.get("SentTimestamp", 0)),
            approximate_receive_count=int(attrs.get("ApproximateReceiveCount", 0)),
            approximate_first_receive_timestamp=int(attrs.get("ApproximateFirstReceiveTimestamp", 0)),
            received_ms=end_ms,
            visibility_timeout_s=int(os.environ.get("visibility_timeout", "0")),
        )
    return messages


def lambda_handler(event, context):
    sqs = boto3.resource("sqs", region_name=os.environ["region_name"])
    queue = sqs.get_queue_by_name(QueueName=os.environ["queue_name"])
    results = [msg.body for msg in receive(queue)]
    return {"statusCode": 200, "body": json.dumps(results, indent=2)}
