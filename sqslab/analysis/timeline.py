"""What happened to each message, rebuilt from the handlers' JSON log lines.

Pure functions: they take the message-event frame built by
:func:`sqslab.analysis.logs.frames_from_events` (or any frame with the same columns) and
return frames. No AWS client is imported here.

A *window* is the time a message stays invisible after a receive: it opens when
a consumer receives it and closes when the visibility timeout runs out, or
earlier when the consumer deletes it. A ChangeMessageVisibility made while the
message is hidden sets the timeout anew, counted from that call (Amazon SQS API
Reference, ChangeMessageVisibility: "the 10 seconds begin to count from the time
that you make the ChangeMessageVisibility call").
"""

from __future__ import annotations

import pandas as pd

WINDOW_COLUMNS = [
    "message_id", "body", "receiver", "receive_count", "received_ms", "timeout_end_ms",
    "end_ms", "ended_by", "visibility_timeout_s",
]
POLL_COLUMNS = ["function", "start_ms", "end_ms", "duration_s", "messages"]


def _of(events: pd.DataFrame, kind: str) -> pd.DataFrame:
    if events is None or events.empty or "event" not in events:
        return pd.DataFrame()
    return events[events["event"] == kind]


def sends(events: pd.DataFrame) -> pd.DataFrame:
    """One row per message sent: message_id, body, sent_ms, sender."""
    rows = _of(events, "send")
    if rows.empty:
        return pd.DataFrame(columns=["message_id", "body", "sent_ms", "sender"])
    out = pd.DataFrame({
        "message_id": rows["message_id"], "body": rows["body"].astype(str),
        "sent_ms": rows["time_ms"].astype("int64"), "sender": rows["logical"],
    })
    return out.sort_values("sent_ms").reset_index(drop=True)


def deletes(events: pd.DataFrame) -> pd.DataFrame:
    rows = _of(events, "delete")
    if rows.empty:
        return pd.DataFrame(columns=["message_id", "deleted_ms", "deleter"])
    out = pd.DataFrame({"message_id": rows["message_id"], "deleted_ms": rows["time_ms"].astype("int64"),
                        "deleter": rows["logical"]})
    return out.sort_values("deleted_ms").reset_index(drop=True)


def changes(events: pd.DataFrame) -> pd.DataFrame:
    """One row per ChangeMessageVisibility: message_id, time_ms, visibility_timeout_s, by."""
    rows = _of(events, "change_visibility")
    if rows.empty:
        return pd.DataFrame(columns=["message_id", "time_ms", "visibility_timeout_s", "by"])
    out = pd.DataFrame({"message_id": rows["message_id"], "time_ms": rows["time_ms"].astype("int64"),
                        "visibility_timeout_s": rows["visibility_timeout_s"].astype(int), "by": rows["logical"]})
    return out.sort_values("time_ms").reset_index(drop=True)


def windows(events: pd.DataFrame) -> pd.DataFrame:
    """One row per receive of a message: the invisible window it opened and how it ended."""
    recv = _of(events, "receive")
    if recv.empty:
        return pd.DataFrame(columns=WINDOW_COLUMNS)
    dels = deletes(events)
    changed = changes(events)
    rows = []
    for r in recv.sort_values("received_ms").itertuples(index=False):
        received = int(r.received_ms)
        timeout_end = received + int(r.visibility_timeout_s) * 1000
        # ChangeMessageVisibility while the message is still hidden restarts the clock from that moment.
        if not changed.empty:
            mine = changed[(changed["message_id"] == r.message_id) & (changed["time_ms"] >= received)]
            for c in mine.itertuples(index=False):
                if int(c.time_ms) <= timeout_end:
                    timeout_end = int(c.time_ms) + int(c.visibility_timeout_s) * 1000
        own = dels[(dels["message_id"] == r.message_id) & (dels["deleted_ms"] >= received)
                   & (dels["deleted_ms"] <= timeout_end)]
        if not own.empty:
            end, how = int(own["deleted_ms"].iloc[0]), "delete"
        else:
            end, how = timeout_end, "timeout"
        rows.append({
            "message_id": r.message_id, "body": str(r.body), "receiver": r.logical,
            "receive_count": int(r.approximate_receive_count), "received_ms": received,
            "timeout_end_ms": timeout_end, "end_ms": end, "ended_by": how,
            "visibility_timeout_s": int(r.visibility_timeout_s),
        })
    return pd.DataFrame(rows, columns=WINDOW_COLUMNS)


def polls(events: pd.DataFrame) -> pd.DataFrame:
    """One row per ReceiveMessage call: when it started and ended, and what it got."""
    calls = _of(events, "receive_call")
    if calls.empty:
        return pd.DataFrame(columns=POLL_COLUMNS)
    out = pd.DataFrame({
        "function": calls["logical"], "start_ms": calls["start_ms"].astype("int64"),
        "end_ms": calls["end_ms"].astype("int64"), "messages": calls["messages"].astype(int),
    })
    out["duration_s"] = (out["end_ms"] - out["start_ms"]) / 1000.0
    return out[POLL_COLUMNS].sort_values("start_ms").reset_index(drop=True)


def per_message(events: pd.DataFrame) -> pd.DataFrame:
    """A summary per message: receives, receivers in order, first window length, deleted or not."""
    win, snd = windows(events), sends(events)
    rows = []
    for s in snd.itertuples(index=False):
        mine = win[win["message_id"] == s.message_id]
        first = mine.iloc[0] if not mine.empty else None
        rows.append({
            "body": s.body,
            "receives": len(mine),
            "receivers": " -> ".join(mine["receiver"]),
            "max_receive_count": int(mine["receive_count"].max()) if not mine.empty else 0,
            "first_window_s": (first["end_ms"] - first["received_ms"]) / 1000 if first is not None else None,
            "hidden_until_reappears_s": ((mine.iloc[1]["received_ms"] - first["received_ms"]) / 1000
                                         if len(mine) > 1 else None),
            "deleted": bool((mine["ended_by"] == "delete").any()),
        })
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- a consumer polled by Lambda
# The retries stack's consumer (lambdas/consumer) logs one ``batch`` line per invocation
# (its size and message ids) and one ``record`` line per message it processed (message id,
# body, ApproximateReceiveCount, SentTimestamp, outcome ok/failed, start and end times).

BATCH_COLUMNS = ["batch", "time_ms", "size", "message_ids", "report"]
ATTEMPT_COLUMNS = ["message_id", "body", "receive_count", "outcome", "sent_ms", "start_ms", "time_ms", "batch", "kept"]


def batches(events: pd.DataFrame) -> pd.DataFrame:
    """One row per invocation of the consumer, numbered from 1 in time order: when its
    handler started (``time_ms``), how many records it got, their message ids, and whether it
    reported failed records one by one (``report``: ReportBatchItemFailures) or failed whole."""
    rows = _of(events, "batch")
    if rows.empty:
        return pd.DataFrame(columns=BATCH_COLUMNS)
    rows = rows.sort_values("time_ms", kind="stable")
    out = pd.DataFrame({
        "batch": range(1, len(rows) + 1), "time_ms": rows["time_ms"].astype("int64").to_numpy(),
        "size": rows["size"].astype(int).to_numpy(), "message_ids": list(rows["message_ids"]),
        "report": [bool(r) if r == r else False for r in rows["report_batch_item_failures"]]
        if "report_batch_item_failures" in rows else [False] * len(rows),
    })
    return out[BATCH_COLUMNS].reset_index(drop=True)


def attempts(events: pd.DataFrame) -> pd.DataFrame:
    """One row per record the consumer processed (an attempt at a message), in time order,
    with the invocation it came in (``batch``, numbered as :func:`batches` numbers them) and
    whether the message stayed in the queue after it (``kept``): a failed record of a batch that
    reports failures one by one, or any record of a batch in which one failed when it does not."""
    rows = _of(events, "record")
    if rows.empty:
        return pd.DataFrame(columns=ATTEMPT_COLUMNS)
    found = batches(events)
    out = []
    for r in rows.sort_values("start_ms", kind="stable").itertuples(index=False):
        mine = [b for b in found.itertuples(index=False) if r.message_id in b.message_ids and b.time_ms <= r.start_ms]
        out.append({
            "message_id": r.message_id, "body": str(r.body), "receive_count": int(r.approximate_receive_count),
            "outcome": r.outcome, "sent_ms": int(r.sent_timestamp), "start_ms": int(r.start_ms),
            "time_ms": int(r.time_ms), "batch": mine[-1].batch if mine else None,
            "report": bool(mine[-1].report) if mine else True,
        })
    frame = pd.DataFrame(out)
    failed_batches = set(frame.loc[frame["outcome"] != "ok", "batch"].dropna())
    frame["kept"] = [(o != "ok") if rep else (b in failed_batches)
                     for o, rep, b in zip(frame["outcome"], frame["report"], frame["batch"], strict=True)]
    return frame[ATTEMPT_COLUMNS]


def per_message_attempts(attempted: pd.DataFrame) -> pd.DataFrame:
    """A row per message (in the order they were sent): how many times it was processed,
    the receive counts seen, how its last attempt ended, and whether the message stayed in the
    queue after it (``kept``, see :func:`attempts`)."""
    rows = []
    if attempted.empty:
        return pd.DataFrame(columns=["message_id", "body", "attempts", "receive_counts", "last_outcome", "kept"])
    for message_id, mine in attempted.groupby("message_id", sort=False):
        rows.append({"message_id": message_id, "body": mine["body"].iloc[0], "sent_ms": int(mine["sent_ms"].iloc[0]),
                     "attempts": len(mine), "receive_counts": mine["receive_count"].tolist(),
                     "last_outcome": mine["outcome"].iloc[-1], "kept": bool(mine["kept"].iloc[-1])})
    return pd.DataFrame(rows).sort_values("sent_ms", kind="stable").drop(columns="sent_ms").reset_index(drop=True)


def dead_letter_arrivals(attempted: pd.DataFrame, rises: list[tuple[int, int]], max_receive_count: int) -> pd.DataFrame:
    """Which message reached the dead-letter queue when. ``rises``: (time_ms, count) each time the
    dead-letter queue's message count was seen to grow. The messages that were processed
    ``max_receive_count`` times and stayed in the queue after the last time take those places in
    the order of their last attempt: SQS moves a message on the first receive after its last
    visibility timeout, so the one that failed first arrives first."""
    summary = per_message_attempts(attempted)
    if summary.empty:
        return pd.DataFrame(columns=["message_id", "body", "arrived_ms"])
    last = attempted.groupby("message_id")["start_ms"].max()
    out = summary[(summary["attempts"] >= max_receive_count) & summary["kept"]].copy()
    out["last_ms"] = out["message_id"].map(last)
    out = out.sort_values("last_ms", kind="stable").reset_index(drop=True)
    times, seen = [], 0
    for time_ms, count in sorted(rises):
        times += [time_ms] * max(0, count - seen)
        seen = max(seen, count)
    out["arrived_ms"] = [times[i] if i < len(times) else None for i in range(len(out))]
    return out[["message_id", "body", "arrived_ms"]]
