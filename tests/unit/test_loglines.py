"""Lambda's log lines: REPORT lines written by the offline runtime read back the same,
and Lambda's own lines parsed (no AWS, no server)."""


from __future__ import annotations

import uuid

import pytest

from sqslab.base.loglines import format_report, parse_json_line, parse_report


@pytest.mark.parametrize("init_ms", [None, 118.02])
@pytest.mark.parametrize(
    ("status", "parsed_status"),
    [
        (None, "success"),
        ("timeout", "timeout"),
        ("error\tError Type: Runtime.ExitError", "error"),  # as the runtime writes a crash
    ],
)
def test_report_round_trip(init_ms, status, parsed_status):
    request_id = str(uuid.uuid4())
    line = format_report(request_id, 1234.56, 256, 41, init_ms, status)
    got = parse_report(line)
    assert got == {
        "request_id": request_id,
        "duration_ms": 1234.56,
        "billed_ms": 1235 if init_ms is None else 1353,  # init counts, rounded up to the ms
        "memory_mb": 256,
        "max_memory_used_mb": 41,
        "init_ms": init_ms,
        "cold_start": init_ms is not None,
        "status": parsed_status,
    }


def test_report_is_tab_separated_with_a_trailing_tab():
    line = format_report("3604209a-e9a3-11e6-939a-754dd98c7be3", 0.004, 128, 18)
    assert line == (
        "REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 0.00 ms\tBilled Duration: 1 ms\t"
        "Memory Size: 128 MB\tMax Memory Used: 18 MB\t"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 12.34 ms\tBilled Duration: 100 ms\t"
         "Memory Size: 128 MB\tMax Memory Used: 18 MB\t", {"duration_ms": 12.34, "billed_ms": 100, "cold_start": False}),
        ("REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 1.5 ms\tBilled Duration: 120 ms\t"
         "Memory Size: 256 MB\tMax Memory Used: 40 MB\tInit Duration: 118.02 ms\t",
         {"init_ms": 118.02, "cold_start": True, "memory_mb": 256}),
        ("REPORT RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3\tDuration: 3000.00 ms\tBilled Duration: 3000 ms\t"
         "Memory Size: 128 MB\tMax Memory Used: 44 MB\tStatus: timeout", {"status": "timeout"}),
    ],
)
def test_parse_report(line, expected):
    got = parse_report(line)
    assert got is not None and {k: got[k] for k in expected} == expected


def test_non_report_and_non_json_lines():
    assert parse_report("START RequestId: 3604209a-e9a3-11e6-939a-754dd98c7be3 Version: $LATEST") is None
    assert parse_json_line("plain text") is None and parse_json_line('{"no": "event"}') is None
    assert parse_json_line('{"event": "send", "body": "x"}')["body"] == "x"
