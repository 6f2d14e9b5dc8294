"""fifo_consumer: the function an event source mapping on a FIFO queue invokes.

A batch from a FIFO queue holds messages of one or more message groups, each group's
in its order. A record fails when its body starts with ``poison``. On a FIFO queue a
failed record must not let later records of its group through, or they would be
processed before it: from the first failure in a group on, every later record of that
group is not processed (``skipped``) and is reported as failed too, so SQS keeps the
group's order. Records of other groups go on. The mapping takes partial batch
responses (ReportBatchItemFailures): the handler returns the ids it did not finish.

Logs one JSON line per invocation (``batch``) and one per record (``record``: message
id, group, sequence number, receive count, outcome ``ok``, ``failed`` or ``skipped``).
Standard library only.
"""

import json
import os
import time


def log(event, **fields):
    print(json.dumps({"event": event, "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"), **fields}))


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def lambda_handler(event, context):
    records = (event or {}).get("Records") or []
    request_id = getattr(context, "aws_request_id", None)
    log("batch", request_id=request_id, size=len(records), message_ids=[r.get("messageId") for r in records],
        groups=[(r.get("attributes") or {}).get("MessageGroupId") for r in records],
        time_ms=int(time.time() * 1000))
    stopped = set()  # groups with a failed record in this batch
    not_done = []
    for record in records:
        attrs = record.get("attributes") or {}
        group = attrs.get("MessageGroupId")
        body = record.get("body") if isinstance(record.get("body"), str) else ""
        if group in stopped:
            outcome = "skipped"
        elif body.lstrip().lower().startswith("poison"):
            outcome = "failed"
        else:
            outcome = "ok"
        if outcome != "ok":
            stopped.add(group)
            not_done.append(record.get("messageId"))
        log("record", request_id=request_id, message_id=record.get("messageId"), body=body, group=group,
            sequence_number=attrs.get("SequenceNumber"),
            approximate_receive_count=_int(attrs.get("ApproximateReceiveCount")),
            outcome=outcome, time_ms=int(time.time() * 1000))
    return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in not_done]}
