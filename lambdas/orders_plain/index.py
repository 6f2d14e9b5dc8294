"""orders_plain: an order consumer with a side effect and no idempotency.

Each record's body is an order (JSON: ``order_id``, ``amount``, and ``flaky`` for an order
whose receipt fails the first time). For each record the consumer charges the order (the
side effect: one more charge on the order's item in the orders table, DynamoDB ``ADD``),
then sends its receipt. A flaky order's receipt fails on its first receive; the consumer
then raises, as a function without partial batch responses does, and the whole batch
comes back after the visibility timeout: every order in it is charged again.

Logs one JSON line per charge (``charged``) and one per record (``record``: order id,
receive count, outcome). boto3 (in the Lambda runtime) only.
"""

import json
import os
import time

import boto3

_orders = None


def orders():
    global _orders
    if _orders is None:
        _orders = boto3.resource("dynamodb").Table(os.environ["ORDERS_TABLE"])
    return _orders


def log(event, **fields):
    print(json.dumps({"event": event, "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
                      "time_ms": int(time.time() * 1000), **fields}))


class ReceiptError(Exception):
    """The receipt could not be sent (the first time, for a flaky order)."""


def charge(order):
    """The side effect: each call charges the order once more."""
    orders().update_item(Key={"order_id": order["order_id"]}, UpdateExpression="ADD charges :one",
                         ExpressionAttributeValues={":one": 1})
    log("charged", order_id=order["order_id"], amount=order.get("amount"))


def send_receipt(order, receive_count):
    if order.get("flaky") and receive_count == 1:
        raise ReceiptError(f"receipt for {order['order_id']} failed")


def lambda_handler(event, context):
    failed = []
    for record in (event or {}).get("Records") or []:
        order = json.loads(record["body"])
        count = int((record.get("attributes") or {}).get("ApproximateReceiveCount", 1))
        charge(order)
        try:
            send_receipt(order, count)
            outcome = "ok"
        except ReceiptError:
            outcome = "failed"
            failed.append(order["order_id"])
        log("record", order_id=order["order_id"], message_id=record.get("messageId"),
            approximate_receive_count=count, outcome=outcome)
    if failed:
        raise ReceiptError(f"{len(failed)} receipt(s) failed ({', '.join(failed)}): the whole batch comes back")
