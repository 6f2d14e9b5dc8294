"""The notebook series as committed: complete, without outputs, opening and closing the
same way, its navigation current (tests/integration/test_notebooks.py executes it)."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from sqslab.series import handouts, nav, tutorial
from sqslab.series.kernels import EvaluationError

NOTEBOOKS = sorted(tutorial.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))

# For each notebook: {name: expression over the names its cells define}, evaluated after it ran.
_BY_MESSAGE = 'windows.groupby("message_id", sort=False)'

_SLOW = "timeline.windows(slow)"

_BEAT = "timeline.windows(beat)"

INSPECT = {
    "00_index": {"target": "lab.target.name", "visibility_timeout_s": "lab.visibility_timeout", "wait_s": "lab.wait"},
    "01_deploy": {
        "queue_visibility_timeout_s": 'int(queue.loc["VisibilityTimeout", "value"])',
        "queue_wait_s": 'int(queue.loc["ReceiveMessageWaitTimeSeconds", "value"])',
        "function2_may_delete": 'bool(policies.loc["function2", "may delete"])',
        "function3_may_delete": 'bool(policies.loc["function3", "may delete"])',
        "delete_with_function2_role": 'tried["function2"]["code"]',
        "delete_with_function3_role": 'tried["function3"]["code"]',
        "function2_role_named_in_denial": '"not authorized to perform: sqs:deletemessage" in tried["function2"]["message"].lower()',
        "stack_status": 'deployed["StackStatus"]', "output_keys": "sorted(outputs)",
    },
    "02_invoke": {
        "sent": "len(sent_ids)", "first_duration_ms": "duration_ms",
        "function2_first": "len(first.body)", "function2_first_matches": "sorted(first.body) == sent_ids",
        "function3_at_once": "len(hidden.body)", "function3_at_once_s": "round(hidden.duration_ms / 1000, 2)",
        "function3_after_timeout": "len(deleted.body)", "function3_after_matches": "sorted(deleted.body) == sent_ids",
        "function2_last": "len(empty.body)", "function2_last_s": "round(empty.duration_ms / 1000, 2)",
    },
    "03_visibility_timeout": {
        "messages": 'int(windows["message_id"].nunique())',
        "receives_per_message": f"{_BY_MESSAGE}.size().tolist()",
        "receivers": f'{_BY_MESSAGE}["function"].agg(" -> ".join).tolist()',
        "deleted": f'{_BY_MESSAGE}["ended_by"].agg(lambda e: bool((e == "delete").any())).tolist()',
        "first_window_s": f'{_BY_MESSAGE}["hidden_s"].first().round(2).tolist()',
        "max_receive_count": 'int(windows["approximate_receive_count"].max())',
        "visibility_timeout_s": 'int(windows["visibility_timeout_s"].iloc[0])',
        # the page's windows, against the package's (which also follows ChangeMessageVisibility)
        "page_windows": 'windows[["message_id", "end_ms", "ended_by"]].values.tolist()',
        "package_windows": 'timeline.windows(messages.assign(logical=messages["function"]))'
                           '[["message_id", "end_ms", "ended_by"]].values.tolist()',
        "slow_receivers": f'{_SLOW}[["receiver", "body"]].values.tolist()',
        "slow_receive_counts": f'{_SLOW}["receive_count"].tolist()',
        "heartbeat_b_got": "len(b_got)", "heartbeat_windows": f"len({_BEAT})",
        "heartbeat_ended_by": f'{_BEAT}["ended_by"].tolist()',
        "heartbeat_hidden_s": f'round(float(({_BEAT}["end_ms"] - {_BEAT}["received_ms"]).iloc[0]) / 1000, 1)',
    },
    "04_long_polling": {
        "durations": 'invocations[["function", "duration_ms"]].values.tolist()',
        "empty_poll_s": 'polls.loc[polls["messages"] == 0, "duration_s"].round(2).tolist()',
        "nonempty_poll_s": 'polls.loc[polls["messages"] > 0, "duration_s"].round(2).tolist()',
        "wait_s": "lab.wait",
        "early_return_s": 'round(poll["returned_at"] - poll["started_at"], 2)', "early_got": 'len(poll["messages"])',
        "early_after_send_s": 'round(poll["returned_at"] - sent_at, 2)',
        "compare_seconds": "seconds", "sent": "int(seconds // every)",
        "short_received": 'tallies["short"]["received"]', "long_received": 'tallies["long"]["received"]',
        "short_requests": 'int(table.loc[0, "requests"])', "long_requests": 'int(table.loc[1, "requests"])',
        "short_empty": 'int(table.loc[0, "empty_receives"])', "long_empty": 'int(table.loc[1, "empty_receives"])',
        "short_cost": 'float(table.loc[0, "cost_usd_per_month"])', "long_cost": 'float(table.loc[1, "cost_usd_per_month"])',
        "price_per_million": 'prices["price_per_million_requests_usd"]',
    },
    "05_event_source_mapping": {
        "sent": "len(sent)", "invocations": "run.invocation_count()", "report_lines": "len(run.invocations)",
        "batch_sizes": 'run.batches["size"].tolist()',
        "processed_once": 'bool((run.attempts.groupby("message_id").size() == 1).all())',
        "processed": 'int(run.attempts.groupby("message_id").size().sum())',
        "create_refused": "refused is not None", "create_refused_message": "refused", "function_timeout_s": "timeout",
        "created_with_six_times": 'mine["State"] in ("Creating", "Enabled")',
        "sweep_settings": '[list(s) for s in table[["BatchSize", "window_s"]].itertuples(index=False)]',
        "sweep_invocations": 'table["invocations"].tolist()', "sweep_processed": 'table["processed"].tolist()',
        "sweep_batch_sizes": 'table["batch_sizes"].tolist()',
    },
    "06_failures_and_dead_letter_queues": {
        "poison": 'timeline.per_message_attempts(with_partial.attempts).set_index("body")'
                  '.loc["poison: order 3", ["attempts", "receive_counts"]].tolist()',
        "good_attempts": 'timeline.per_message_attempts(with_partial.attempts).set_index("body")'
                         '.drop("poison: order 3")["attempts"].tolist()',
        "retry_gaps_s": '(with_partial.attempts.loc[with_partial.attempts["body"] == "poison: order 3", "start_ms"]'
                        '.diff().dropna() / 1000).round(1).tolist()',
        "visibility_timeout_s": "lab.visibility_timeout", "max_receive_count": "lab.max_receive_count",
        "dead_letter_after_first": "len(arrivals.dropna())", "dead_letter_bodies": 'arrivals["body"].tolist()',
        "good_again_with": 'int(table.loc[0, "good_again"])', "good_again_without": 'int(table.loc[1, "good_again"])',
        "invocations_with": 'int(table.loc[0, "invocations"])', "invocations_without": 'int(table.loc[1, "invocations"])',
        "dead_letter_after_second": "max(count for _, count in rises_without)",  # as the chapter watched it
        "dead_letter_bodies_without": 'arrivals_without.dropna()["body"].tolist()',
        "redriven": "redriven", "redrive_by_hand": "task is None",
        "good_after_redrive": 'sorted(set(after.attempts.loc[after.attempts["outcome"] == "ok", "body"]))',
        "good_after_redrive_receive_counts":
            'sorted(set(after.attempts.loc[after.attempts["outcome"] == "ok", "receive_count"]))',
    },
    "99_cleanup": {
        "leftovers": "len(left)", "stack_deleted": 'reports[lab.name]["stack_deleted"]',
        "resources_held": 'len(reports[lab.name]["resources"])',
        "retries_stack_deleted": 'reports[nb.retries_stack_name(lab.name)]["stack_deleted"]',
        "retries_resources_held": 'len(reports[nb.retries_stack_name(lab.name)]["resources"])',
    },
}


def load(p: Path):
    return nbformat.read(p, as_version=4)


def test_series_is_complete():
    names = [p.name for p in NOTEBOOKS]
    assert names[0] == "00_index.ipynb" and names[-1] == "99_cleanup.ipynb"
    assert {"01_deploy.ipynb", "02_invoke.ipynb", "03_visibility_timeout.ipynb", "04_long_polling.ipynb",
            "05_event_source_mapping.ipynb", "06_failures_and_dead_letter_queues.ipynb"} <= set(names)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    for cell in load(path).cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_opens_and_closes_the_same_way(path):
    nb = load(path)
    first = nb.cells[0].source
    assert first.startswith("# ") and "**You will learn**" in first and "**Before this:**" in first
    assert any("parameters" in c.metadata.get("tags", []) for c in nb.cells)
    setup = [c for c in nb.cells[:6] if c.cell_type == "code" and "lab = nb.setup(" in c.source]
    assert len(setup) == 1, "one setup cell, near the top"
    closing = [c for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("## Summary and takeaways")]
    assert len(closing) == 1 and re.search(r"\]\(\w+\.ipynb\)", closing[0].source)
    assert nb.cells[1].source.startswith(nav.MARK) and nb.cells[-1].source.startswith(nav.MARK)


def test_navigation_is_current():
    assert nav.apply(tutorial.NOTEBOOKS, check=True) == []


def test_navigation_check_catches_drift(tmp_path):
    for p in NOTEBOOKS[:3]:
        (tmp_path / p.name).write_text(p.read_text())
    assert nav.apply(tmp_path, check=True) != []  # two of three links now point past the end
    nav.apply(tmp_path)
    assert nav.apply(tmp_path, check=True) == []


@pytest.fixture(scope="module")
def executed(offline, tmp_path_factory):
    """The series executed with the quick profile. The article's chapters (00-04) and the
    retries stack's (05-06) share nothing but the server, so they run side by side here, as
    two readers would, and the clean-up notebook runs after both; the contents page is then
    written for all of them. Every notebook runs even if one fails, and each test below
    fails only for its own."""
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path_factory.mktemp("handouts")
    names = [p.stem for p in NOTEBOOKS]
    last = names[-1]
    retries = [n for n in names if n.startswith(("05_", "06_"))]
    article = [n for n in names if n not in retries and n != last]

    def run(only):
        return tutorial.run(profile="quick", out_dir=out, stack_name="nbtest", say=lambda *_: None,
                            keep_going=True, check=False, only=only, inspect=INSPECT)

    with ThreadPoolExecutor(max_workers=2) as pool:
        groups = [pool.submit(run, group) for group in (article, retries)]
        records = [r for group in groups for r in group.result()]
    records += run([last])
    handouts.write_index(out, NOTEBOOKS, records, profile="quick")
    return {r["notebook"]: r for r in records}


def values(record) -> dict:
    """What the notebook computed, read from its kernel after it ran (:data:`INSPECT`)."""
    failed = {k: str(v) for k, v in record["values"].items() if isinstance(v, EvaluationError)}
    assert failed == {}, f"{record['notebook']}: {failed}"
    return record["values"]


def figures(executed, name) -> int:
    """Figures in the executed notebook; each must be embedded in the HTML handout too."""
    nb = load(executed[name]["ipynb"])
    count = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert executed[name]["html"].read_text().count("data:image/png;base64") >= count
    return count
