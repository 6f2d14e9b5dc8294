"""The CloudWatch Logs patch: what a log stream keeps.

Upstream gap: moto keeps every log event for ever (LogStream.events only grows)
and ignores a log group's RetentionInDays. Under a long load that is most of the
server's growth. Here a stream drops the events older than its group's retention
("Change log data retention in CloudWatch Logs": events older than the retention
setting are deleted) and keeps at most EVENTS_KEPT_PER_STREAM events, the newest
(the series reads a few hundred; README: what is kept).
"""

from __future__ import annotations

import inspect

from sqslab.offline.patches.guards import mark_applied, mismatch_error, original_of

EVENTS_KEPT_PER_STREAM = 10_000
DAY_MS = 86_400_000


def apply_logs_retention_and_cap() -> str:
    from moto.logs.models import LogStream

    patch = "logs_retention_and_cap"
    put = original_of(LogStream, "put_log_events", patch, ("self", "log_events"))
    if put is None:
        return "already applied"
    source = inspect.getsource(LogStream)
    for attr in ("self.events", "self.log_group"):
        if attr not in source:
            raise mismatch_error(patch, f"LogStream no longer has {attr}")

    def put_log_events(self, log_events):
        token = put(self, log_events)
        events = self.events
        retention = getattr(self.log_group, "retention_in_days", None)
        if retention:
            from moto.core.utils import unix_time_millis

            horizon = unix_time_millis() - int(retention) * DAY_MS
            new = events[len(events) - len(log_events):] if log_events else []
            if (events and events[0].timestamp < horizon) or any(e.timestamp < horizon for e in new):
                events[:] = [e for e in events if e.timestamp >= horizon]
        if len(events) > EVENTS_KEPT_PER_STREAM:
            del events[: len(events) - EVENTS_KEPT_PER_STREAM]
        return token

    LogStream.put_log_events = mark_applied(put_log_events, patch, put)
    return f"events past the group's retention dropped; at most {EVENTS_KEPT_PER_STREAM} per stream"
