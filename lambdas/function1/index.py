"""function1: send one message whose body is the current time (the article's Lambda1).

Configuration (environment): queue_name, region_name.
Logs one JSON line per SQS operation, so the run can be rebuilt from CloudWatch Logs.
"""

import datetime
import json
import os
import time

import boto3


def log(event, **fields):
    print(json.dumps({"event": event, "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"), **fields}))


def lambda_handler(event, context):
    queue_name = os.environ["queue_name"]
    region_name = os.environ["region_name"]
    sqs = boto3.resource("sqs", region_name=region_name)
    queue = sqs.get_queue_by_name(QueueName=queue_name)

    now = datetime.datetime.now()
    now_str = now.strftime("%Y%m%d%H%M%S%f")
    messages = [{"Id": now_str, "MessageBody": now_str}]
    response = queue.send_messages(Entries=messages)

    for ok in response.get("Successful", []):
        log("send", message_id=ok["MessageId"], body=now_str, time_ms=int(time.time() * 1000))
    return {"statusCode": 200, "body": json.dumps(response)}
