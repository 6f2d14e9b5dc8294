"""What a learner sees on the page, read from the committed notebooks (nothing runs):
the SQS and Lambda calls each chapter teaches are written in its code cells, code
cells stay short unless marked as plumbing, no cell is there for the tests, and chapters with exercises have their checks and
worked answers."""


from __future__ import annotations

import re

import nbformat
import pytest

from sqslab.config import NOTEBOOKS, ROOT

SERIES = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def code_cells(path):
    return [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_the_api_is_on_the_page():
    text = "\n".join(c.source for p in SERIES for c in code_cells(p) if not c.source.startswith("# extra code"))
    for call in ("receive_message(", "delete_message(", "send_message(", "change_message_visibility("):
        assert f".{call}" in text, f"no cell calls {call}"
    for chapter, calls in {
        "01_deploy": ("cfn.create_stack(", "cfn.update_stack(", 'cfn.get_waiter("stack_create_complete")',
                      "cfn.describe_stacks(", '["Outputs"]'),
        # the logs fetched and shaped on the page: the figures' data is built here, not in the package
        "03_visibility_timeout": ('logs.get_paginator("filter_log_events")', "pd.json_normalize(", "json.loads(",
                                  'windows["end_ms"] =', ".merge("),
        "04_long_polling": ('logs.get_paginator("filter_log_events")', "filterPattern=", '"REPORT"', ".str.extract(",
                            "pd.json_normalize("),
        "05_event_source_mapping": ('logs.get_paginator("filter_log_events")', "pd.json_normalize(",
                                    "lam.create_event_source_mapping(", "lam.get_event_source_mapping(",
                                    "lam.delete_event_source_mapping(", "sqs.send_message(", "sqs.get_queue_attributes(",
                                    "except lam.exceptions.InvalidParameterValueException"),
        "06_failures_and_dead_letter_queues": ('logs.get_paginator("filter_log_events")', ".groupby(",
                                               "lam.update_event_source_mapping(", "sqs.send_message_batch(",
                                               "sqs.get_queue_attributes(", "sqs.start_message_move_task(",
                                               "sqs.receive_message(", "sqs.send_message(", "sqs.delete_message("),
        "07_fifo_queues": ("MessageGroupId=", "MessageDeduplicationId=", "MessageSystemAttributeNames=",
                           "sqs.send_message_batch(", "lam.update_event_source_mapping(", "Enabled=False",
                           'logs.get_paginator("filter_log_events")', "pd.json_normalize(", "VisibilityTimeout=0"),
        "08_message_lifetime": ("DelaySeconds=timer_s", "sqs.get_queue_attributes(", "ApproximateNumberOfMessages",
                                "MessageRetentionPeriod", "sqs_extended.send_message(", "s3.list_objects_v2(",
                                "logs.filter_log_events(", "pd.json_normalize(", "except ClientError"),
        "09_duplicates_and_idempotency": ("sqs.send_message_batch(", 'logs.get_paginator("filter_log_events")',
                                          "pd.json_normalize(", "dynamodb.scan(", ".groupby(", "lam.invoke(",
                                          "VisibilityTimeout=1", "sqs.delete_message("),
        "10_concurrency_and_throttling": ("lam.put_function_concurrency(", "lam.get_function_concurrency(",
                                          "lam.update_event_source_mapping(", '"MaximumConcurrency"',
                                          "lam.delete_function_concurrency(", 'logs.get_paginator("filter_log_events")',
                                          "lam_once.invoke(", '"total_max_attempts": 1', '"RetryAttempts"',
                                          "except ClientError", "sqs.send_message_batch("),
        "11_filtering_and_fan_out": ("FilterCriteria=", "lam.update_event_source_mapping(", "sns.subscribe(",
                                     '"RawMessageDelivery"', '"FilterPolicy"', "sns.publish(", '"Policy"',
                                     "sqs.set_queue_attributes(", 'logs.get_paginator("filter_log_events")'),
    }.items():
        page = "\n".join(c.source for c in code_cells(NOTEBOOKS / f"{chapter}.ipynb")
                         if not c.source.startswith("# extra code"))
        for call in calls:
            assert call in page, f"{chapter}: no cell calls {call}"
    assert re.search(r"lambda_client\.invoke\(FunctionName=", text), "no cell makes the bare boto3 invoke"
    invoke_cells = [c.source for c in code_cells(NOTEBOOKS / "02_invoke.ipynb")]
    assert any("nb.show_handlers()" in s for s in invoke_cells), "02 shows the handlers' source"
    assert any('LogType="Tail"' in s and "REPORT" in s for s in invoke_cells), "02 decodes the REPORT line by hand"


@pytest.mark.parametrize("path", SERIES, ids=lambda p: p.stem)
def test_cells_are_short_unless_plumbing(path):
    for cell in code_cells(path):
        lines = cell.source.splitlines()
        if "parameters" in cell.metadata.get("tags", []) or cell.source.startswith("# extra code"):
            continue
        assert len(lines) <= 12, f"{path.name} cell {cell.id}: {len(lines)} lines; mark plumbing '# extra code'"


@pytest.mark.parametrize("path", SERIES, ids=lambda p: p.stem)
def test_no_cell_exists_for_the_tests(path):
    """The tests read a chapter's results from its kernel (tests/integration/test_notebooks.py, INSPECT), not from cells."""
    for cell in code_cells(path):
        assert "observe(" not in cell.source and "observation" not in cell.metadata.get("tags", []), \
            f"{path.name} cell {cell.id} is there for the tests"


@pytest.mark.parametrize("chapter", ["02_invoke", "03_visibility_timeout", "04_long_polling", "05_event_source_mapping",
                                     "06_failures_and_dead_letter_queues", "07_fifo_queues",
                                     "08_message_lifetime", "09_duplicates_and_idempotency",
                                     "10_concurrency_and_throttling", "11_filtering_and_fan_out"])
def test_exercises_have_checks_and_answers(chapter):
    cells = code_cells(NOTEBOOKS / f"{chapter}.ipynb")
    checks = [c for c in cells if "exercises.check_" in c.source]
    assert len(checks) >= 2, f"{chapter} has {len(checks)} exercise checks"
    solution = (ROOT / "solutions" / f"{chapter}.py").read_text()
    for c in checks:
        number = re.search(r"check_\d\d_(\d)", c.source).group(1)
        assert f"# {number}." in solution, f"solutions/{chapter}.py has no worked answer {number}"
