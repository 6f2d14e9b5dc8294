"""What happened to each message, rebuilt from the handlers' JSON log lines.

Pure functions: they take the message-event frame built by
:func:`sqslab.logs.frames_from_events` (or any frame with the same columns) and
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
