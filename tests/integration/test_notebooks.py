"""The notebook series: committed clean, navigation current, and, executed with the
quick profile, showing what it should (its results, figures, no errors).

No cell of a notebook exists for these tests: what they assert is read from the executed
kernel once the notebook has run (``tutorial.run(inspect=...)``), by evaluating the
expressions in :data:`INSPECT` over the names the chapter's own cells defined, or from the
outputs the notebook shows."""


from __future__ import annotations

import html
import json
import os
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

# The emulator's modules, moto and cfn-lint, as far as a chapter's kernel loaded them: none. The kernel
# finds, starts and signs in to the offline server (sqslab.offline.server, .auth.identity, .auth.sigv4),
# and nothing more of the emulator; cfn-lint loads only where 01 validates a template.
EMULATOR_IN_KERNEL = ('sorted(m for m in __import__("sys").modules if m.startswith(("moto", "cfnlint", '
                      '"sqslab.offline.awslambda", "sqslab.offline.iam", "sqslab.offline.patches", "sqslab.offline.sqs")))')

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
        "emulator_in_kernel": EMULATOR_IN_KERNEL,
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
        "package_windows": 'timeline.windows(logged.assign(logical=logged["function"]))'
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
        # the batches read on the page (filter_log_events, json_normalize), against the package's reading
        "page_batch_sizes": 'batches["size"].astype(int).tolist()',
        "page_report_lines": 'sum(line.startswith("REPORT") for line in lines)',
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
        # the per-message tables built on the page (filter_log_events, groupby), against the package's
        "page_tables": '[t[["attempts", "receive_counts"]].reset_index().values.tolist() '
                       'for t in (with_report, without_report)]',
        "package_tables": '[timeline.per_message_attempts(r.attempts)[["body", "attempts", "receive_counts"]]'
                          '.values.tolist() for r in (with_partial, without_partial)]',
        "page_after_redrive_ok": 'sorted(after_redrive.index[after_redrive["last_outcome"] == "ok"])',
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
    "07_fifo_queues": {
        "in_order": "in_order.to_dict()", "visibility_timeout_s": "lab.visibility_timeout",
        "receives": 'receives[["body", "receive_count", "received_s", "deleted"]].values.tolist()',
        "duplicate_bodies": "duplicate_bodies", "duplicate_accepted": 'again["ResponseMetadata"]["HTTPStatusCode"]',
        "content_bodies": "content_bodies", "run": "run",
        "batches": 'batches["groups"].tolist()',
        "outcomes": 'records.groupby("body", sort=False)["outcome"].agg(list).to_dict()',
        "receive_counts": 'records.astype({"approximate_receive_count": int})'
                          '.groupby("body", sort=False)["approximate_receive_count"].agg(list).to_dict()',
        "retry_gaps_s": '(records.loc[records["body"] == "poison B2", "time_ms"].diff().dropna() / 1000).round(1).tolist()',
        "dead_bodies": "dead_bodies", "fair_groups": "fair_groups",
    },
    "08_message_lifetime": {
        "delay_s": "lab.delay_seconds", "timer_s": "timer_s", "received_s": "received_s",
        "first_last": 'counts.groupby("queue", sort=False)["messages"].agg(["first", "last"]).values.tolist()',
        "gone_at_s": "gone_at.to_dict()",
        "refused": 'refused["Code"]', "refused_message": 'refused["Message"]', "body_bytes": "len(body.encode())",
        "objects": '[o["Size"] for o in objects]',
        "read_back": 'read_back[["from_s3", "bytes", "declared_bytes", "same_body"]].values.tolist()',
    },
    "09_duplicates_and_idempotency": {
        "table": "table.to_dict()", "per_order": "per_order.reset_index().values.tolist()", "run": "run",
        "keys": 'keys[keys["order_id"].str.startswith(run)][["order_id", "status", "expires_in_min"]].values.tolist()',
        "visibility_timeout_s": "lab.visibility_timeout",
    },
    "10_concurrency_and_throttling": {
        "burst_first": 'int(batches.loc[batches["start_s"] < 0.1, "running"].max())',
        "burst_peak": 'int(batches["running"].max())', "burst_batches": "len(batches)",
        "emulator_in_kernel": EMULATOR_IN_KERNEL,
        "environments": 'int(batches["stream"].nunique())',
        "table": 'table[["processed", "dead_letters"]].values.tolist()',
        "throttled": '[throttled["Error"]["Code"], throttled["ResponseMetadata"]["HTTPStatusCode"], throttled["Reason"], throttled["ResponseMetadata"]["RetryAttempts"]]',
        "limits": '[limits["ConcurrentExecutions"], limits["UnreservedConcurrentExecutions"]]',
    },
    "11_filtering_and_fan_out": {
        "processed": 'sorted(b["total"] for b in processed)', "left": "left",
        "filtering": "filtering.to_dict()", "first_raw": 'first["raw"]', "first_audit": 'first["audit"]',
        "refund_envelope": '[(e["Type"], json.loads(e["Message"])["kind"], e["TopicArn"] == topic) '
                           'for e in map(json.loads, first["refunds"])]',
        "deliveries": "deliveries.to_dict()",
    },
    "99_cleanup": {
        "leftovers": "len(left)", "stack_deleted": 'reports[lab.name]["stack_deleted"]',
        "resources_held": 'len(reports[lab.name]["resources"])',
        "retries_stack_deleted": 'reports[nb.retries_stack_name(lab.name)]["stack_deleted"]',
        "retries_resources_held": 'len(reports[nb.retries_stack_name(lab.name)]["resources"])',
        "fifo_stack_deleted": 'reports[nb.chapter_stack_name(lab.name, "fifo")]["stack_deleted"]',
        "fifo_resources_held": 'len(reports[nb.chapter_stack_name(lab.name, "fifo")]["resources"])',
        "lifetime_stack_deleted": 'reports[nb.chapter_stack_name(lab.name, "lifetime")]["stack_deleted"]',
        "lifetime_objects_deleted": 'reports[nb.chapter_stack_name(lab.name, "lifetime")]["objects_deleted"]',
        "idempotency_stack_deleted": 'reports[nb.chapter_stack_name(lab.name, "idempotency")]["stack_deleted"]',
        "idempotency_resources_held": 'len(reports[nb.chapter_stack_name(lab.name, "idempotency")]["resources"])',
        "concurrency_stack_deleted": 'reports[nb.chapter_stack_name(lab.name, "concurrency")]["stack_deleted"]',
        "fanout_stack_deleted": 'reports[nb.chapter_stack_name(lab.name, "fanout")]["stack_deleted"]',
    },
}


def load(p: Path):
    return nbformat.read(p, as_version=4)


@pytest.fixture(scope="module")
def executed(offline, tmp_path_factory):
    """The series executed with the quick profile. The article's chapters (00-04), the
    retries stack's (05-06) and the later chapters' (07-), each on stacks of their own, share
    nothing but the server, so they run side by side here, as four readers would, and the clean-up notebook runs after both; the contents page is then
    written for all of them. Every notebook runs even if one fails, and each test below
    fails only for its own."""
    from concurrent.futures import ThreadPoolExecutor

    from sqslab.config import TEMPLATES
    from sqslab.deploy import template

    # cfn-lint runs once per template text on a machine (its findings are cached); a chapter whose
    # template no earlier test had linted would load it in its kernel. Linted here first, whatever
    # order the test files run in, the kernels are checked for the emulator alone.
    for name in TEMPLATES:
        template.validate(name)
    out = tmp_path_factory.mktemp("handouts")
    names = [p.stem for p in NOTEBOOKS]
    last = names[-1]
    retries = [n for n in names if n.startswith(("05_", "06_", "10_"))]
    concepts = [n for n in names if n.startswith(("07_", "09_", "11_"))]
    lifetime = [n for n in names if n.startswith("08_")]  # about 80 s, most of it retention's 60 s
    article = [n for n in names if n not in retries + concepts + lifetime and n != last]

    def run(only):
        return tutorial.run(profile="quick", out_dir=out, stack_name="nbtest", say=lambda *_: None,
                            keep_going=True, check=False, only=only, inspect=INSPECT)

    with ThreadPoolExecutor(max_workers=4) as pool:
        groups = [pool.submit(run, group) for group in (article, retries, concepts, lifetime)]
        records = [r for group in groups for r in group.result()]
    records += run([last])
    handouts.write_index(out, NOTEBOOKS, records, profile="quick")
    return {r["notebook"]: r for r in records}


def values(record) -> dict:
    """What the notebook computed, read from its kernel after it ran (:data:`INSPECT`)."""
    failed = {k: str(v) for k, v in record["values"].items() if isinstance(v, EvaluationError)}
    assert failed == {}, f"{record['notebook']}: {failed}"
    return record["values"]


def obs(executed, name):
    assert executed[name]["error"] is None, f"{name} failed: {executed[name]['error']}"
    return values(executed[name])


def shown(executed, name) -> str:
    """Every text output the executed notebook shows, joined."""
    nb = load(executed[name]["ipynb"])
    texts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") if isinstance(out.get("text"), str) else "".join(out.get("text", [])))
            plain = out.get("data", {}).get("text/plain", "")
            texts.append(plain if isinstance(plain, str) else "".join(plain))
    return "\n".join(texts)


def figures(executed, name) -> int:
    """Figures in the executed notebook; each must be embedded in the HTML handout too."""
    nb = load(executed[name]["ipynb"])
    count = sum("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
    assert executed[name]["html"].read_text().count("data:image/png;base64") >= count
    return count


def test_each_notebook_takes_at_least_its_waits_by_design(executed):
    """The waits the tutorial counts as forced are real: no notebook ran faster than them."""
    for name, forced in tutorial.waits_by_design("quick").items():
        assert executed[f"{name}.ipynb"]["seconds"] >= forced, name


def test_every_notebook_ran_without_error_and_has_a_handout(executed):
    assert set(executed) == {p.name for p in NOTEBOOKS}
    for name, rec in executed.items():
        assert rec["error"] is None
        nb = load(rec["ipynb"])
        errors = [o for c in nb.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
        assert errors == [], name
        assert rec["html"].stat().st_size > 10_000


def test_handouts_open_offline_in_a_browser(executed, tmp_path):
    """Every handout and the contents page in headless Chromium, with no network: no console error,
    every image decoded, every relative link and #anchor resolving; links between notebooks lead to
    handouts, Contents to index.html; in print, navigation hidden and code lines wrapped."""
    import browser

    if browser.chromium() is None:
        missing = f"opening the handouts needs Chromium ({browser.CHROMIUM}): install it with `{browser.INSTALL}`"
        if os.environ.get("SQSLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    out = executed["00_index.ipynb"]["html"].parent
    shots = {"02_invoke", "index"}
    with browser.Browser(tmp_path) as b:
        pages = [b.open(p, screenshot=tmp_path / f"{p.stem}.png" if p.stem in shots else None)
                 for p in sorted(out.glob("*.html"))]
    assert [p.path.name for p in pages] == sorted([f"{p.stem}.html" for p in NOTEBOOKS] + ["index.html"])
    problems = [f"{p.path.name}: {problem}" for p in pages for problem in p.problems] + browser.anchors_across(pages)
    assert problems == []
    for page in pages[:-1]:
        source = tutorial.NOTEBOOKS / f"{page.path.stem}.ipynb"
        assert page.title == nav.title_of(source)
        assert not [h for h in page.hrefs if re.match(r"\d\d_\w+\.ipynb", h)], f"{page.path.name} links a notebook"
        assert "index.html" in page.hrefs, "Contents leads to the contents page"
        assert page.print_rules == {"navigation": 2, "navigation_shown": 0, "pre_white_space": "pre-wrap",
                                    "output_break_inside": "avoid"}, page.path.name
        assert sum(img["width"] > 0 for img in page.images) >= figures(executed, source.name)
    index = pages[-1]
    assert [h for h in index.hrefs if h.endswith(".html")] == [f"{p.stem}.html" for p in NOTEBOOKS]
    text = (out / "index.html").read_text()
    assert all(html.escape(nav.title_of(p)) in text for p in NOTEBOOKS)
    assert text.count("ran in ") == len(NOTEBOOKS) and "FAILED" not in text
    assert all((tmp_path / f"{name}.png").stat().st_size > 10_000 for name in shots)


def test_the_series_prints_as_one_pdf(executed, tmp_path):
    """The executed series as one PDF (sqslab.series.printed): it opens; a title page, a contents page
    whose page numbers are where the chapters start, every chapter from a page of its own with its title;
    every figure of the handouts drawn once (none split across two pages); page numbers in the footer;
    no navigation or Colab cell; pages that render."""
    import shutil
    import subprocess

    from sqslab.series import printed

    poppler = [shutil.which(tool) for tool in ("pdfinfo", "pdftotext", "pdfimages", "pdftoppm")]
    missing = None
    if printed.chromium() is None:
        missing = f"printing the series needs Chromium ({printed.CHROMIUM}): install it with `{printed.INSTALL}`"
    elif None in poppler:
        missing = "reading the PDF needs poppler-utils: install it with `sudo apt-get install poppler-utils`"
    if missing:
        if os.environ.get("SQSLAB_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    for rec in executed.values():
        shutil.copy(rec["ipynb"], tmp_path / rec["ipynb"].name)
    said = []
    pdf = printed.write_pdf(tmp_path, NOTEBOOKS, list(executed.values()), profile="quick", say=said.append)
    assert pdf == tmp_path / "sqslab.pdf" and len(said) == 1, said
    said_pages = int(re.fullmatch(rf"the series as one PDF: {re.escape(str(pdf))} \((\d+) pages, \d+ s\)",
                                  said[0]).group(1))

    def run(*args) -> str:
        done = subprocess.run(args, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, f"{args[0]}: {done.stderr.strip()}"
        return done.stdout

    info = run("pdfinfo", str(pdf))
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages == said_pages and pages >= 2 + len(NOTEBOOKS)
    assert re.search(r"^Title:\s+" + re.escape(nav.title_of(NOTEBOOKS[0])), info, re.M)
    texts = run("pdftotext", "-enc", "UTF-8", str(pdf), "-").split("\f")[:pages]
    lines = [[line.strip() for line in text.splitlines() if line.strip()] for text in texts]
    flat = [" ".join(text.split()) for text in texts]

    def squashed(text: str) -> str:  # a title as printed: wrapped, and a hyphen at a line's end dropped
        return re.sub(r"[\s-]+", "", text)
    # the title page: the series' title, the run's date and profile; no page number
    assert squashed(nav.title_of(NOTEBOOKS[0])) in squashed(texts[0])
    assert re.search(r"Run \d{4}-\d\d-\d\d · quick profile · 13 chapters", flat[0]), flat[0]
    assert "1" not in lines[0]
    # each chapter from a page of its own (its named destination), its label first and its title there;
    # the contents page lists those pages, in order
    dests = run("pdfinfo", "-dests", str(pdf))
    starts = {name: int(page) for page, name in re.findall(r"^\s*(\d+) \[.*\] \"(\d\d_[a-z_]+)\"$", dests, re.M)}
    assert list(starts) == [p.stem for p in NOTEBOOKS], dests
    assert sorted(starts.values()) == list(starts.values()) and len(set(starts.values())) == len(starts), starts
    for p in NOTEBOOKS:
        page = starts[p.stem]
        assert lines[page - 1][0] == f"{p.stem}.ipynb", (p.stem, lines[page - 1][:3])
        assert squashed(nav.title_of(p)) in squashed(texts[page - 1]), p.stem
    assert lines[1][0] == "Contents"
    assert [int(x) for x in lines[1] if x.isdigit()] == [starts[p.stem] for p in NOTEBOOKS] + [2]
    # page numbers in the footer, from the contents page on
    assert [i + 1 for i, page in enumerate(lines[1:], start=1) if str(i + 1) not in page] == []
    # the handouts' navigation and Colab cell are not printed
    assert not any("| Contents |" in text or "in Colab" in text or "Open this notebook in" in text for text in flat)
    # every figure of the handouts, each drawn once: none split across two pages
    images = [row.split() for row in run("pdfimages", "-list", str(pdf)).splitlines()[2:]]
    drawn = [int(row[0]) for row in images if row[2] == "image"]
    assert len(drawn) == sum(figures(executed, p.name) for p in NOTEBOOKS)
    # the title page and a page with a figure render
    for page in (1, drawn[0]):
        run("pdftoppm", "-r", "60", "-f", str(page), "-l", str(page), "-png", str(pdf), str(tmp_path / "page"))
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == 2 and all(png.stat().st_size > 5_000 for png in rendered), rendered


def test_index_and_deploy(executed):
    assert figures(executed, "00_index.ipynb") >= 1
    o = obs(executed, "01_deploy.ipynb")
    # deployed by create_stack (or update_stack) on the page, its outputs read back with describe_stacks
    assert o["stack_status"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    assert {"QueueName", "QueueUrl", "QueueArn"} <= set(o["output_keys"])
    assert o["queue_visibility_timeout_s"] == 6 and o["queue_wait_s"] == 2
    assert o["function2_may_delete"] is False and o["function3_may_delete"] is True
    # Least privilege, tried: a delete made with function2's role is refused by IAM (AccessDenied, naming
    # the action: IAM User Guide, "Troubleshoot access denied error messages"); function3's role gets past
    # IAM to SQS, which refuses the made-up receipt handle (DeleteMessage API reference).
    assert o["delete_with_function2_role"] == "AccessDenied" and o["function2_role_named_in_denial"] is True
    assert o["delete_with_function3_role"] == "ReceiptHandleIsInvalid"


def test_invoke_shows_the_articles_observations(executed):
    o = obs(executed, "02_invoke.ipynb")
    assert o["sent"] == 2 and o["function2_first"] == 2 and o["function2_first_matches"]
    assert 0 < o["first_duration_ms"] < 5000, "the REPORT line decoded by hand in the notebook"
    assert o["function3_at_once"] == 0 and o["function3_at_once_s"] == pytest.approx(2, abs=0.5)
    assert o["function3_after_timeout"] == 2 and o["function3_after_matches"]
    assert o["function2_last"] == 0 and o["function2_last_s"] == pytest.approx(2, abs=0.5)
    assert o["emulator_in_kernel"] == [], "the chapter's kernel loaded the emulator"


def test_visibility_timeout_timeline(executed):
    o = obs(executed, "03_visibility_timeout.ipynb")
    assert o["messages"] == 2 and o["receives_per_message"] == [2, 2]
    assert o["receivers"] == ["function2 -> function3"] * 2 and o["deleted"] == [True, True]
    assert o["first_window_s"] == [pytest.approx(6, abs=0.05)] * 2 and o["max_receive_count"] == 2
    assert o["page_windows"] == o["package_windows"], "the windows computed on the page are the package's"
    text = shown(executed, "03_visibility_timeout.ipynb")
    assert "START RequestId: " in text and "REPORT RequestId: " in text and '"event": "receive"' in text, \
        "function2's raw log lines are shown"
    # the slow consumer: A's message, received again by B (receive count 2)
    assert o["slow_receivers"] == [["consumer A", "order 42"], ["consumer B", "order 42"]]
    assert o["slow_receive_counts"] == [1, 2]
    # the heartbeat: B got nothing; one window, ended by A's delete after about 6 s of work
    assert o["heartbeat_b_got"] == 0 and o["heartbeat_windows"] == 1 and o["heartbeat_ended_by"] == ["delete"]
    # hidden the whole 6 s A worked (and the heartbeat calls' time on top: up to 0.6 s on a loaded machine)
    assert 6 <= o["heartbeat_hidden_s"] < 7.5
    assert figures(executed, "03_visibility_timeout.ipynb") == 3


def test_long_polling(executed):
    o = obs(executed, "04_long_polling.ipynb")
    # the REPORT lines of the article's six invocations, decoded on the page; the empty polls last the wait
    assert [f for f, _ in o["durations"]] == ["function1"] * 2 + ["function2", "function3", "function3", "function2"]
    assert o["durations"][3][1] == pytest.approx(2000, abs=500) and o["durations"][5][1] == pytest.approx(2000, abs=500)
    assert o["empty_poll_s"] and all(s == pytest.approx(2, abs=0.5) for s in o["empty_poll_s"])
    assert all(s < 1 for s in o["nonempty_poll_s"])
    # The poll returns when the message arrives, well before its wait runs out.
    assert o["early_got"] == 1
    assert o["early_return_s"] < o["wait_s"] - 0.25
    assert 0 <= o["early_after_send_s"] < 1.0, "it returns as the message arrives, not at the end of its wait"
    assert o["short_requests"] > o["long_requests"] and o["short_empty"] > o["long_empty"]
    assert o["short_received"] == o["long_received"] == o["sent"], "both consumers, side by side, got every message"
    month = 30 * 24 * 3600
    for mode in ("short", "long"):
        expected = o[f"{mode}_requests"] / o["compare_seconds"] * month / 1e6 * o["price_per_million"]
        assert o[f"{mode}_cost"] == pytest.approx(expected)
    assert figures(executed, "04_long_polling.ipynb") == 2


def test_event_source_mapping(executed):
    """05: one invocation per batch; the window makes batches of a trickle; the create-time check."""
    o = obs(executed, "05_event_source_mapping.ipynb")
    # ten messages, one every 0.4 s, a 1 s window: batches close a window after their first message
    assert o["sent"] == 10 and o["processed"] == 10 and o["processed_once"] is True
    assert o["invocations"] == o["report_lines"] == len(o["batch_sizes"]), "one invocation (REPORT line) per batch"
    assert o["page_batch_sizes"] == o["batch_sizes"] and o["page_report_lines"] == o["report_lines"]
    assert sum(o["batch_sizes"]) == 10 and 3 <= o["invocations"] <= 5 and max(o["batch_sizes"]) <= 3
    assert o["create_refused"] is True and o["created_with_six_times"] is True
    assert (f"Queue visibility timeout: {o['function_timeout_s'] - 1} seconds is less than Function timeout: "
            f"{o['function_timeout_s']} seconds") in o["create_refused_message"]
    assert "InvalidParameterValueException" in o["create_refused_message"]
    # the sweep: (1, 0), (10, 0), (10, 1 s), (10, 5 s) on the same trickle (ten messages 0.4 s apart: 3.6 s)
    assert o["sweep_settings"] == [[1, 0], [10, 0], [10, 1], [10, 5]] and o["sweep_processed"] == [10] * 4
    one, no_window, window, long_window = o["sweep_invocations"]
    assert one == 10 and all(size == [1] * 10 for size in o["sweep_batch_sizes"][:1])
    assert no_window >= 8, "without a window a trickle is hardly batched"
    assert 3 <= window <= 5 and long_window == 1 and o["sweep_batch_sizes"][3] == [10], "the long window fills the batch"
    assert figures(executed, "05_event_source_mapping.ipynb") == 2


def test_failures_and_dead_letter_queue(executed):
    """06: retries at each visibility timeout, the dead-letter queue after maxReceiveCount, good messages
    reprocessed only without partial batch responses, and the redrive."""
    o = obs(executed, "06_failures_and_dead_letter_queues.ipynb")
    assert o["max_receive_count"] == 3 and o["visibility_timeout_s"] == 2
    assert o["poison"] == [3, [1, 2, 3]], "the poison message: three attempts, receive counts 1, 2, 3"
    assert o["page_tables"] == o["package_tables"], "the tables read on the page are the package's"
    assert o["retry_gaps_s"] == [pytest.approx(2, abs=0.4)] * 2, "each retry one visibility timeout after the last"
    assert o["good_attempts"] == [1, 1, 1, 1]
    assert o["dead_letter_after_first"] == 1 and o["dead_letter_bodies"] == ["poison: order 3"]
    # one poison record in a batch of five: with partial batch responses no good one runs again; without, all
    # four run three times and reach the dead-letter queue with it
    assert o["good_again_with"] == 0 and o["good_again_without"] == 8
    assert o["invocations_with"] == 3 and o["invocations_without"] == 3
    assert o["dead_letter_after_second"] == 6 and len(o["dead_letter_bodies_without"]) == 5
    # the redrive: a message move task (StartMessageMoveTask), offline as on AWS, back to the original source queue
    assert o["redrive_by_hand"] is False and o["redriven"] == 6
    assert o["good_after_redrive"] == ["order 10", "order 6", "order 7", "order 9"] == o["page_after_redrive_ok"]
    assert o["good_after_redrive_receive_counts"] == [1]
    assert figures(executed, "06_failures_and_dead_letter_queues.ipynb") == 3


def test_fifo_queues(executed):
    """07: order per group while groups interleave, a group held back while its message is in flight,
    a duplicate accepted and delivered once, content-based deduplication, and a FIFO mapping whose
    failing message holds its group until the dead-letter queue (Lambda Developer Guide, with-sqs;
    SQS Developer Guide, FIFO-queues-understanding-logic, FIFO-queues-exactly-once-processing)."""
    o = obs(executed, "07_fifo_queues.ipynb")
    vt = o["visibility_timeout_s"]
    assert vt == 2
    assert o["in_order"] == {g: [f"{g}{n}" for n in (1, 2, 3)] for g in "ABC"}
    rows = {(body, count): (at, deleted) for body, count, at, deleted in o["receives"]}
    first_b1, again_b1 = rows[("B1", 1)][0], rows[("B1", 2)][0]
    assert rows[("B1", 1)][1] is False and rows[("B1", 2)][1] is True
    # group B held back: B1 comes again one visibility timeout after its first receive (the consumer's half a
    # second of work runs inside it), B2 only after that; A and C go on in between
    assert again_b1 - first_b1 == pytest.approx(vt, abs=0.4)
    assert rows[("B2", 1)][0] > again_b1
    between = [body for (body, _), (at, _) in rows.items() if first_b1 < at < again_b1]
    assert between and all(not body.startswith("B") for body in between)
    assert figures(executed, "07_fifo_queues.ipynb") == 2
    # the same deduplication id twice: both sends accepted (HTTP 200), one message delivered
    assert o["duplicate_accepted"] == 200 and o["duplicate_bodies"] == ["order 42"]
    assert o["content_bodies"] == [f"order 43 ({o['run']})", f"order 44 ({o['run']})"]
    # the mapping: one batch of all nine, groups in order; the poison record and the rest of its group retried
    # each visibility timeout, then moved; B4 afterwards processed at once
    assert o["batches"][0] == "A A A B B B C C C" and o["batches"][1:] == ["B B", "B B", "B"]
    assert o["outcomes"]["poison B2"] == ["failed"] * 3 and o["outcomes"]["B3"] == ["skipped"] * 3
    assert o["receive_counts"]["poison B2"] == o["receive_counts"]["B3"] == [1, 2, 3]
    assert all(o["outcomes"][b] == ["ok"] for b in ("A1", "A2", "A3", "B1", "C1", "C2", "C3", "B4"))
    assert o["retry_gaps_s"] == [pytest.approx(vt, abs=0.4)] * 2
    assert o["dead_bodies"] == ["poison B2", "B3"]
    assert sorted(set(o["fair_groups"])) == ["tenant-big", "tenant-small"]


def test_message_lifetime(executed):
    """08: SQS Developer Guide, sqs-delay-queues and sqs-message-timers (each message received when its delay
    ends); API reference, SetQueueAttributes, MessageRetentionPeriod (an unreceived message deleted after it);
    sqs-dead-letter-queues (a standard queue's moved message keeps its enqueue time: a dead-letter queue as
    short as its source loses it); quotas-messages (1 MiB); extended-client-library-python (a body through S3)."""
    o = obs(executed, "08_message_lifetime.ipynb")
    delay, timer = o["delay_s"], o["timer_s"]
    assert (delay, timer) == (2, 4)
    assert o["received_s"]["delay queue"] == pytest.approx(delay, abs=0.5)
    assert o["received_s"]["message timer"] == pytest.approx(timer, abs=0.5)
    # retention: the retention queue's and the trap's dead-letter queue's messages gone 60 s after the sends
    # (sampled every 2 s), the fix's dead-letter queue still holding its message
    assert o["first_last"] == [[1, 0], [1, 0], [1, 1]]
    gone = o["gone_at_s"]
    assert list(gone) == ["retention queue (60 s)", "dead-letter queue, 60 s (the trap)"]
    # never before the 60 s; seen at the next 2 s sample, later when four workers load two cores
    assert all(60 <= t <= 66 for t in gone.values()), gone
    # over 1 MiB refused, then through S3: the object holds the body, the function read back the same bytes
    assert o["refused"] == "InvalidParameterValue" and "1048576" in o["refused_message"]
    assert o["body_bytes"] > 1_500_000 and o["objects"] == [o["body_bytes"]]
    assert o["read_back"] == [[True, o["body_bytes"], o["body_bytes"], True]]
    assert figures(executed, "08_message_lifetime.ipynb") == 2


def test_duplicates_and_idempotency(executed):
    """09: Lambda Developer Guide, with-sqs ("Lambda event source mappings process each event at least once");
    Powertools for AWS Lambda (Python), idempotency and batch processing. The side effect counted in the table
    and in the logs: twice per order without idempotency (a retried batch; a visibility timeout run out),
    exactly once with it; only the failed record retried through the batch processor."""
    o = obs(executed, "09_duplicates_and_idempotency.ipynb")
    orders = ["1", "2", "3", "4", "5", "by-hand"]
    assert o["table"] == {"idempotent": {k: 1 for k in orders}, "plain": {k: 2 for k in orders}}
    run = o["run"]
    rows = {order_id: (charged, attempts) for order_id, charged, attempts in o["per_order"]}
    for n in range(1, 6):  # the logs agree with the table; only the flaky order came back to the idempotent one
        assert rows[f"{run}-plain-{n}"] == (2, 2)
        assert rows[f"{run}-idempotent-{n}"] == (1, 2 if n == 3 else 1)
    # the keys the batch left (read before the by-hand part), each COMPLETED, each expiring in an hour
    assert sorted(k[0] for k in o["keys"]) == [f"{run}-idempotent-{n}" for n in range(1, 6)]
    assert {k[1] for k in o["keys"]} == {"COMPLETED"} and {k[2] for k in o["keys"]} == {60}
    assert figures(executed, "09_duplicates_and_idempotency.ipynb") == 1


def test_concurrency_and_throttling(executed):
    """10: services-sqs-scaling (five batches to start, more while messages wait); Knowledge Center,
    lambda-sqs-scaling (the mapping does not account for reserved concurrency: throttled messages reach the
    dead-letter queue unprocessed; MaximumConcurrency fixes it); Invoke, Errors (429 and its Reason)."""
    o = obs(executed, "10_concurrency_and_throttling.ipynb")
    assert o["emulator_in_kernel"] == [], "the chapter's kernel loaded the emulator"
    # five to start (a loaded machine's cold starts let a batch or two begun later log their start early)
    assert o["burst_batches"] == 30 and o["burst_first"] <= 5 + 2 and 5 < o["burst_peak"]
    assert o["environments"] >= o["burst_peak"]
    (processed, dead), (fixed_processed, fixed_dead) = o["table"]
    assert dead >= 1 and processed + dead == 10, o["table"]
    assert (fixed_processed, fixed_dead) == (10, 0)
    assert o["throttled"] == ["TooManyRequestsException", 429, "ReservedFunctionConcurrentInvocationLimitExceeded", 0]
    # GetAccountSettings: the default 1,000, less what reservations hold (none of this chapter's, by then)
    assert o["limits"][0] == 1000 and 100 <= o["limits"][1] <= 1000
    assert figures(executed, "10_concurrency_and_throttling.ipynb") == 2


def test_filtering_and_fan_out(executed):
    """11: with-sqs-filtering (only matching messages reach the function; the others are deleted); SNS
    Developer Guide: raw message delivery against the envelope, subscription filter policies, and the queue
    policy a topic needs (without it, nothing arrives)."""
    o = obs(executed, "11_filtering_and_fan_out.ipynb")
    assert o["processed"] == [10, 12, 30] and o["left"] == 0
    assert o["filtering"] == {"sent": {"order": 4, "plain text": 1, "refund": 1},
                              "processed": {"order": 3, "plain text": 0, "refund": 0}}
    assert sorted(json.loads(b)["kind"] for b in o["first_raw"]) == ["order", "refund"]
    assert o["refund_envelope"] == [["Notification", "refund", True]] and o["first_audit"] == []
    assert o["deliveries"] == {"before the audit queue's policy": {"raw": 2, "refunds": 1, "audit": 0},
                               "after": {"raw": 2, "refunds": 1, "audit": 2}}
    assert figures(executed, "11_filtering_and_fan_out.ipynb") == 2


def test_cleanup_leaves_nothing(executed):
    o = obs(executed, "99_cleanup.ipynb")
    assert o["stack_deleted"] is True and o["leftovers"] == 0
    assert o["resources_held"] >= 10  # the queue, three functions, their roles and log groups
    # the retries stack: two queues, the consumer, its role, its log group, its mapping
    assert o["retries_stack_deleted"] is True and o["retries_resources_held"] >= 6
    # the fifo stack: five queues, the consumer, its role, its log group, its mapping
    assert o["fifo_stack_deleted"] is True and o["fifo_resources_held"] >= 9
    # the lifetime stack: its bucket emptied (the 1.5 MiB body) before CloudFormation deleted it
    assert o["lifetime_stack_deleted"] is True and o["lifetime_objects_deleted"] == 1
    # the idempotency stack: three queues, two tables, the layer, two consumers, roles, log groups, mappings
    assert o["idempotency_stack_deleted"] is True and o["idempotency_resources_held"] >= 13
    assert o["concurrency_stack_deleted"] is True and o["fanout_stack_deleted"] is True


def test_recorded_source_draws_the_articles_run(offline, tmp_path):
    records = tutorial.run(profile="quick", out_dir=tmp_path, stack_name="nbrec", only=["03_visibility_timeout"],
                           extra={"source": "recorded"}, say=lambda *_: None, inspect=INSPECT)
    o = values(records[0])
    assert o["visibility_timeout_s"] == 90 and o["first_window_s"] == [pytest.approx(90, abs=0.05)] * 2
    assert o["receives_per_message"] == [2, 2]


def test_tutorial_stops_only_the_server_it_started(tmp_path, monkeypatch):
    from conftest import free_port

    from sqslab.offline.server import control as server

    monkeypatch.setenv("SQSLAB_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SQSLAB_OFFLINE_PORT", str(free_port()))
    assert not server.status()["running"]
    records = tutorial.run(profile="quick", out_dir=tmp_path / "out", only=["00_index"], say=lambda *_: None)
    assert records[0]["error"] is None and records[0]["html"].exists()
    assert not server.status()["running"], "the run started the server, so it must stop it"


@pytest.mark.slow
def test_invoke_notebook_with_the_articles_timings(offline, tmp_path):
    """02 with 90 s / 20 s: the article's observations, and a wall time close to the waits it forces."""
    from sqslab.deploy import stack

    try:
        records = tutorial.run(profile="article", out_dir=tmp_path, stack_name="nbslow", only=["02_invoke"],
                               say=lambda *_: None, inspect=INSPECT)
    finally:
        stack.teardown("nbslow", progress=False)
    o = values(records[0])
    assert o["function2_first"] == 2 and o["function3_at_once"] == 0 and o["function3_after_timeout"] == 2
    assert o["function3_at_once_s"] == pytest.approx(20, abs=0.5) and o["function2_last_s"] == pytest.approx(20, abs=0.5)
    forced = 90 + 20  # the 90 s window (function3's 20 s poll runs inside it), then function2's 20 s poll
    print(f"\n02_invoke with the article's timings: {records[0]['seconds']:.1f} s (its waits force {forced} s)")
    assert records[0]["seconds"] < 1.25 * forced
