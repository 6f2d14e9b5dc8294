"""Record the SQS calls a notebook cell makes, in the handlers' JSON log schema.

A chapter's experiment is written with plain boto3 calls; the clients it uses are
*watched*: each SendMessage, ReceiveMessage, DeleteMessage and
ChangeMessageVisibility is recorded as the same events the Lambda handlers log
(``send``, ``receive_call``, ``receive``, ``delete``, ``change_visibility``), so
:mod:`sqslab.analysis.timeline` and :mod:`sqslab.analysis.plots` draw them as they draw a run of the
functions. Nothing changes what the calls do or return.

    calls = CallLog()
    consumer_a = calls.client(lab, "consumer A")   # an SQS client of its own, watched
"""

from __future__ import annotations

import threading

from sqslab.base.clock import now_ms


class CallLog:
    def __init__(self):
        self.events: list[dict] = []
        self._lock = threading.Lock()
        self._ids: dict[str, str] = {}  # receipt handle -> message id
        self._queue_timeouts: dict[str, int] = {}

    def mark(self) -> int:
        """A point in the log: ``frame(since=mark)`` gives what was recorded after it."""
        with self._lock:
            return len(self.events)

    def frame(self, since: int = 0):
        import pandas as pd

        with self._lock:
            return pd.DataFrame(list(self.events[since:]))

    def client(self, lab, name: str):
        """A new SQS client on ``lab``'s target whose calls are recorded as made by ``name``."""
        from sqslab import target as targets

        return self.watch(targets.new_client("sqs", lab.target), name)

    def watch(self, sqs, name: str):
        """Record ``sqs``'s calls as made by ``name``; returns the same client. Watch only a
        client of its own (:meth:`client` makes one), never the shared one."""
        events = sqs.meta.events
        for op in ("SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility"):
            events.register(f"before-parameter-build.sqs.{op}", self._before, unique_id=f"sqslab-{op}-before-{id(self)}")
            events.register(f"after-call.sqs.{op}", self._after(sqs, name, op), unique_id=f"sqslab-{op}-after-{id(self)}")
        return sqs

    def _before(self, params, context, **_):
        context["sqslab_params"] = dict(params)
        context["sqslab_start_ms"] = now_ms()

    def _add(self, **event):
        with self._lock:
            self.events.append(event)

    def _timeout_of(self, sqs, url: str) -> int:
        if url not in self._queue_timeouts:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"]
            self._queue_timeouts[url] = int(attrs["VisibilityTimeout"])
        return self._queue_timeouts[url]

    def _after(self, sqs, name: str, op: str):
        def record(http_response, parsed, context, **_):
            if http_response.status_code >= 300 or "Error" in parsed:
                return
            params, end = context.get("sqslab_params", {}), now_ms()
            base = {"logical": name, "function": name}
            if op == "SendMessage":
                self._add(**base, event="send", message_id=parsed["MessageId"], body=params.get("MessageBody"),
                          time_ms=end)
            elif op == "ReceiveMessage":
                messages = parsed.get("Messages", [])
                wait = params.get("WaitTimeSeconds")
                self._add(**base, event="receive_call", start_ms=context.get("sqslab_start_ms", end), end_ms=end,
                          messages=len(messages), max_messages=int(params.get("MaxNumberOfMessages", 1)),
                          wait_s=int(wait) if wait is not None else None)
                timeout = params.get("VisibilityTimeout")
                timeout = int(timeout) if timeout is not None else self._timeout_of(sqs, params["QueueUrl"])
                for m in messages:
                    attrs = m.get("Attributes", {})
                    self._ids[m["ReceiptHandle"]] = m["MessageId"]
                    self._add(**base, event="receive", message_id=m["MessageId"], body=m.get("Body"),
                              approximate_receive_count=int(attrs.get("ApproximateReceiveCount", 0)),
                              sent_timestamp=int(attrs.get("SentTimestamp", 0)), received_ms=end,
                              visibility_timeout_s=timeout)
            else:
                message_id = self._ids.get(params.get("ReceiptHandle"), "?")
                if op == "DeleteMessage":
                    self._add(**base, event="delete", message_id=message_id, time_ms=end)
                else:
                    self._add(**base, event="change_visibility", message_id=message_id, time_ms=end,
                              visibility_timeout_s=int(params.get("VisibilityTimeout", 0)))

        return record
