"""Log parsing, the timeline and the figures, on the recorded offline run in data/ (no AWS, no server)."""


from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from sqslab.analysis import logs, plots, pricing, timeline
from sqslab.config import RECORDING  # noqa: E402
from sqslab.lab import article
from sqslab.series import recording  # noqa: E402


@pytest.fixture(scope="module")
def recorded():
    doc = recording.load_recording(RECORDING)
    inv, msg = logs.frames_from_events(doc["events"])
    return doc, inv, msg


def test_recording_is_labelled(recorded):
    doc, _, _ = recorded
    assert "not on AWS" in doc["about"] and doc["emulator"].startswith("moto ")
    assert doc["parameters"] == {"VisibilityTimeout": 90, "ReceiveMessageWaitTimeSeconds": 20}
    assert doc["recorded_at"].endswith("Z")


def test_invocations_from_report_lines(recorded):
    _, inv, _ = recorded
    assert list(inv["function"]) == ["function1", "function1", "function2", "function3", "function3", "function2"]
    assert inv["timestamp_ms"].is_monotonic_increasing
    long_polls = inv[inv["duration_ms"] > 1000]
    assert list(long_polls["function"]) == ["function3", "function2"]
    assert all(abs(d / 1000 - 20) < 0.5 for d in long_polls["duration_ms"])
    assert inv.groupby("function")["cold_start"].first().all()  # each function's first call is cold


def test_windows_and_receive_counts(recorded):
    _, _, msg = recorded
    w = timeline.windows(msg)
    assert len(w) == 4
    assert list(w["receiver"]) == ["function2", "function2", "function3", "function3"]
    assert list(w["receive_count"]) == [1, 1, 2, 2]
    first = w[w["receiver"] == "function2"]
    assert ((first["end_ms"] - first["received_ms"]) == 90_000).all() and (first["ended_by"] == "timeout").all()
    assert (w[w["receiver"] == "function3"]["ended_by"] == "delete").all()
    per = timeline.per_message(msg)
    assert list(per["receives"]) == [2, 2] and per["deleted"].all()
    assert all(90 <= s < 91 for s in per["hidden_until_reappears_s"])


def test_polls(recorded):
    _, _, msg = recorded
    p = timeline.polls(msg)
    assert list(p["messages"]) == [2, 0, 2, 0]
    assert all(abs(d - 20) < 0.5 for d in p[p["messages"] == 0]["duration_s"])
    assert all(d < 1 for d in p[p["messages"] > 0]["duration_s"])


def test_latest_run_picks_the_last_pair_of_sends(recorded):
    _, _, msg = recorded
    twice = pd.concat([msg, msg.assign(timestamp_ms=msg["timestamp_ms"] + 10**6)], ignore_index=True)
    latest = article.latest_run(twice)
    assert len(latest) == len(msg) and latest["timestamp_ms"].min() == msg["timestamp_ms"].min() + 10**6
    assert article.latest_run(msg[msg["event"] != "send"]).empty


def test_timeline_figure(recorded):
    _, _, msg = recorded
    fig = plots.timeline_figure(timeline.windows(msg), timeline.sends(msg), timeline.polls(msg))
    ax = fig.axes[0]
    assert "(s)" in ax.get_xlabel() and ax.get_title()
    legend = fig.legends[0]
    labels = {t.get_text() for t in legend.get_texts()}
    assert {"sent", "deleted", "visible again (timeout over)", "invisible after function2 received it"} <= labels
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert legend.get_window_extent(renderer).y1 <= ax.get_tightbbox(renderer).y0, "the legend is below the axis label"
    assert len(ax.patches) == 4  # one bar per window
    assert any("90 s visibility timeout" in t.get_text() for t in ax.texts)


def test_poll_duration_figure(recorded):
    _, inv, _ = recorded
    fig = plots.poll_duration_figure(inv, 20)
    ax = fig.axes[0]
    heights = sorted(p.get_height() for p in ax.patches)
    assert len(heights) == 6 and heights[-1] == pytest.approx(20, abs=0.5)
    assert "(s)" in ax.get_ylabel() and ax.get_legend() is not None


def test_cost_arithmetic_and_figure():
    cost = pricing.monthly_cost(requests=120, duration_s=60, price_per_million=0.40)
    assert cost["requests_per_month"] == pytest.approx(2 * 30 * 24 * 3600)
    assert cost["cost_usd_per_month"] == pytest.approx(2 * 30 * 24 * 3600 / 1e6 * 0.40)
    assert pricing.monthly_cost(10, 10, 0.4, free_requests=10**9)["cost_usd_per_month"] == 0
    table = pd.DataFrame([
        {"mode": "short", "wait_s": 0, "duration_s": 60, "requests": 60, "empty_receives": 54, "cost_usd_per_month": 1.0},
        {"mode": "long", "wait_s": 20, "duration_s": 60, "requests": 9, "empty_receives": 3, "cost_usd_per_month": 0.2},
    ])
    fig = plots.polling_cost_figure(table)
    assert len(fig.axes) == 2 and all(a.get_ylabel() for a in fig.axes)


def test_pricing_file_names_its_source():
    p = pricing.load_pricing()
    assert p["source"].startswith("https://aws.amazon.com/sqs/pricing") and p["price_per_million_requests_usd"] > 0
    assert p["recorded"]


def test_parse_since():
    assert logs.parse_since("90s", now=1000.0) == 910_000
    assert logs.parse_since("2h", now=10_000.0) == 10_000_000 - 7_200_000
    assert logs.parse_since("2026-01-31T09:00:00Z") == 1769850000000
    with pytest.raises(Exception, match="is not a time"):
        logs.parse_since("yesterday")


def test_pure_modules_import_no_aws_sdk():
    import subprocess
    import sys

    code = "import sys, sqslab.analysis.timeline, sqslab.base.loglines, sqslab.analysis.plots; print('boto3' in sys.modules or 'botocore' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "False", out.stderr
