"""consumer: the function an SQS event source mapping invokes with a batch of messages.

Lambda polls the queue, invokes this handler with up to BatchSize records, and
deletes the batch when the handler succeeds. A record fails when its body marks
it as poison:

- a body that starts with ``poison`` (``"poison: bad total"``), or
- a JSON object whose ``"poison"`` is true (``{"order": 7, "poison": true}``).

A JSON object may also ask for slow work: ``{"sleep_s": 2}`` sleeps that long
before the record is done (to meet the function's timeout or the queue's
visibility timeout on purpose).

Configuration (environment): ``report_batch_item_failures`` ("true" or "false",
the mapping's ReportBatchItemFailures). With "true" the handler returns the
failed records' ids as ``{"batchItemFailures": [{"itemIdentifier": id}, ...]}``
and only those come back to the queue; with "false" a failed record raises, so
the whole batch fails and every message in it comes back. Either way every
record is processed and logged first, so the logs show which good messages
were processed again.

Logs one JSON line per invocation (``batch``) and one per record (``record``:
message id, receive count, outcome). Standard library only.
"""

import json
import os
import time


def log(event, **fields):
    print(json.dumps({"event": event, "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"), **fields}))


class PoisonRecordsError(Exception):
    """Raised when records fail and the mapping does not take partial batch responses."""


def _as_object(body):
    try:
        doc = json.loads(body)
    except (TypeError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def is_poison(body) -> bool:
    """Whether a message body marks its record as one that always fails."""
    text = body if isinstance(body, str) else ""
    return text.lstrip().lower().startswith("poison") or _as_object(text).get("poison") is True


def _sleep_s(body) -> float:
    value = _as_object(body).get("sleep_s")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return 0.0
    return float(min(value, 900))


def _int(value) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def process(record) -> str:
    """Do the record's work: "ok", or "failed" for a poison record."""
    body = record.get("body")
    pause = _sleep_s(body)
    if pause:
        time.sleep(pause)
    return "failed" if is_poison(body) else "ok"


def lambda_handler(event, context):
    records = (event or {}).get("Records") or []
    report = os.environ.get("report_batch_item_failures", "false").strip().lower() == "true"
    log("batch", size=len(records), message_ids=[r.get("messageId") for r in records],
        report_batch_item_failures=report, time_ms=int(time.time() * 1000))
    failed = []
    for record in records:
        start_ms = int(time.time() * 1000)
        outcome = process(record)
        attrs = record.get("attributes") or {}
        log(
            "record",
            message_id=record.get("messageId"),
            body=record.get("body"),
            approximate_receive_count=_int(attrs.get("ApproximateReceiveCount")),
            sent_timestamp=_int(attrs.get("SentTimestamp")),
            outcome=outcome,
            start_ms=start_ms,
            time_ms=int(time.time() * 1000),
        )
        if outcome == "failed":
            failed.append(record.get("messageId"))
    if report:
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}
    if failed:
        raise PoisonRecordsError(
            f"{len(failed)} of {len(records)} records failed ({', '.join(map(str, failed))}): the whole batch comes back"
        )
    return None
