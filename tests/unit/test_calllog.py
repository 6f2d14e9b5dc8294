"""Watched clients record a cell's SQS calls in the handlers' log schema, and the
timeline reads a ChangeMessageVisibility as the Amazon SQS API Reference describes
it (ChangeMessageVisibility: the new timeout counts from the time of the call)."""


from __future__ import annotations

import pandas as pd

from sqslab.analysis import timeline


def test_windows_follow_change_visibility():
    rows = [
        {"event": "send", "logical": "p", "message_id": "m", "body": "x", "time_ms": 0},
        {"event": "receive", "logical": "A", "message_id": "m", "body": "x", "received_ms": 1000,
         "approximate_receive_count": 1, "visibility_timeout_s": 4},
        {"event": "change_visibility", "logical": "A", "message_id": "m", "time_ms": 3000, "visibility_timeout_s": 10},
        {"event": "change_visibility", "logical": "A", "message_id": "m", "time_ms": 20000, "visibility_timeout_s": 10},
    ]
    win = timeline.windows(pd.DataFrame(rows))
    # 3 s: still hidden, so hidden until 13 s; the call at 20 s came after the window ended and changes nothing
    assert win.loc[0, "timeout_end_ms"] == 13000 and win.loc[0, "ended_by"] == "timeout"
    rows[2]["visibility_timeout_s"] = 0
    assert timeline.windows(pd.DataFrame(rows)).loc[0, "end_ms"] == 3000
