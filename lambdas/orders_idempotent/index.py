"""orders_idempotent: the same order consumer, made idempotent with Powertools for AWS Lambda.

Same orders, same side effect and same flaky receipt as ``orders_plain``, with two changes,
both from Powertools (imported from the stack's layer, as on Lambda):

- ``charge`` is an idempotent function: its key is the order's business key (``order_id``),
  kept in the idempotency table with its result. A second call with the same order id, from
  any duplicate of the message or from another message of the same order, returns the
  stored result instead of charging again, until the key expires (``expires_after_seconds``).
- the batch goes through Powertools' ``BatchProcessor``: a record that raises is reported in
  ``batchItemFailures`` (the mapping has ReportBatchItemFailures), so only it comes back.

Logs one JSON line per charge (``charged``, only when it really charges) and one per record
(``record``: order id, receive count, outcome).
"""

import json
import os
import time

import boto3
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

persistence = DynamoDBPersistenceLayer(table_name=os.environ["IDEMPOTENCY_TABLE"])
config = IdempotencyConfig(event_key_jmespath="order_id", expires_after_seconds=3600)
processor = BatchProcessor(event_type=EventType.SQS)
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


@idempotent_function(data_keyword_argument="order", config=config, persistence_store=persistence)
def charge(order):
    """The side effect, at most once per order id while its idempotency key lives."""
    orders().update_item(Key={"order_id": order["order_id"]}, UpdateExpression="ADD charges :one",
                         ExpressionAttributeValues={":one": 1})
    log("charged", order_id=order["order_id"], amount=order.get("amount"))
    return {"order_id": order["order_id"], "charged": True}


def send_receipt(order, receive_count):
    if order.get("flaky") and receive_count == 1:
        raise ReceiptError(f"receipt for {order['order_id']} failed")


def record_handler(record):
    order = json.loads(record.body)
    count = int(record.attributes.approximate_receive_count)
    try:
        charge(order=order)
        send_receipt(order, count)
    except ReceiptError:
        log("record", order_id=order["order_id"], message_id=record.message_id,
            approximate_receive_count=count, outcome="failed")
        raise
    log("record", order_id=order["order_id"], message_id=record.message_id,
        approximate_receive_count=count, outcome="ok")


def lambda_handler(event, context):
    config.register_lambda_context(context)  # a key's in-progress lock lasts no longer than the invocation
    return process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                    context=context)
