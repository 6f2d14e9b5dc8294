"""The local Lambda runtime, driven through plain boto3 calls to the offline server."""


from __future__ import annotations

import json
import re
import threading
import time

import pytest
from helpers import invoke, log_messages, make_function, report_of

from sqslab.base.loglines import REPORT_RE, parse_report
from sqslab.offline.server import control as server
from sqslab.target import offline_credentials


def offline_key() -> str:
    return offline_credentials().access_key


# The pattern commonly used to parse Lambda REPORT lines (tabs between fields).
AWS_REPORT = re.compile(
    r"REPORT RequestId: ([0-9a-f-]{36})\tDuration: ([0-9.]+) ms\tBilled Duration: ([0-9]+) ms\t"
    r"Memory Size: ([0-9]+) MB\tMax Memory Used: ([0-9]+) MB(\tInit Duration: ([0-9.]+) ms)?"
)


def test_handler_result_env_context_and_reserved_variables(lam, clients, role_arn, offline):
    name = make_function(
        lam,
        role_arn,
        """
        import os
        def handler(event, context):
            keys = ["_HANDLER", "LAMBDA_TASK_ROOT", "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
                    "AWS_LAMBDA_FUNCTION_TIMEOUT", "AWS_REGION", "AWS_LAMBDA_LOG_GROUP_NAME",
                    "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_EXECUTION_ENV", "AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID"]
            return {
                "event": event,
                "env": {k: os.environ.get(k) for k in keys},
                "cwd_is_task_root": os.getcwd() == os.environ["LAMBDA_TASK_ROOT"],
                "ctx": {
                    "aws_request_id": context.aws_request_id,
                    "function_name": context.function_name,
                    "memory_limit_in_mb": context.memory_limit_in_mb,
                    "invoked_function_arn": context.invoked_function_arn,
                    "remaining": context.get_remaining_time_in_millis(),
                    "log_group_name": context.log_group_name,
                    "log_stream_name": context.log_stream_name,
                },
                "has_real_profile": "AWS_PROFILE" in os.environ,
            }
        """,
        MemorySize=256,
        Timeout=7,
    )
    resp = invoke(lam, name, {"x": [1, "é"]})
    body = resp["body"]
    assert resp["StatusCode"] == 200 and "FunctionError" not in resp
    assert body["event"] == {"x": [1, "é"]}
    env, ctx = body["env"], body["ctx"]
    assert env["_HANDLER"] == "index.handler"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == name == ctx["function_name"]
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256" == ctx["memory_limit_in_mb"]
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "7"
    assert env["AWS_REGION"] == "us-east-1"
    assert env["AWS_ENDPOINT_URL"] == offline.endpoint_url
    # temporary credentials of the environment's own, not the learner's (Lambda: "Using AWS Lambda
    # environment variables" lists AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN)
    assert env["AWS_ACCESS_KEY_ID"].startswith("ASIA") and env["AWS_ACCESS_KEY_ID"] != offline_key()
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_python3.12"
    assert body["cwd_is_task_root"] and not body["has_real_profile"]
    assert ctx["invoked_function_arn"].endswith(f":function:{name}")
    assert 5000 < ctx["remaining"] <= 7000
    assert ctx["log_group_name"] == f"/aws/lambda/{name}" == env["AWS_LAMBDA_LOG_GROUP_NAME"]
    assert re.fullmatch(r"\d{4}/\d{2}/\d{2}/\[\$LATEST\][0-9a-f]{32}", ctx["log_stream_name"])
    assert re.fullmatch(r"[0-9a-f-]{36}", ctx["aws_request_id"])


def test_environment_variables_arrive_as_strings(lam, clients, role_arn):
    name = make_function(
        lam,
        role_arn,
        "import os\ndef handler(e, c):\n    return {k: os.environ[k] for k in ('nn', 'bb', 'ss')}\n",
        Environment={"Variables": {"nn": "10", "bb": "true", "ss": "x y"}},
    )
    assert invoke(lam, name)["body"] == {"nn": "10", "bb": "true", "ss": "x y"}


def test_warm_environment_is_reused_and_module_code_runs_once(lam, clients, role_arn):
    name = make_function(
        lam,
        role_arn,
        """
        import os
        INITS = [os.getpid()]
        COUNT = 0
        def handler(e, c):
            global COUNT
            COUNT += 1
            return {"count": COUNT, "pid": os.getpid(), "inits": len(INITS)}
        """,
    )
    results = [invoke(lam, name, LogType="Tail") for _ in range(4)]
    assert [r["body"]["count"] for r in results] == [1, 2, 3, 4]
    assert len({r["body"]["pid"] for r in results}) == 1
    assert all(r["body"]["inits"] == 1 for r in results)
    reports = [report_of(r["log"]) for r in results]
    assert [r["cold_start"] for r in reports] == [True, False, False, False]


def test_configuration_update_starts_a_new_environment(lam, clients, role_arn):
    src = "import os\nN = 0\ndef handler(e, c):\n    global N\n    N += 1\n    return [N, os.environ.get('vv')]\n"
    name = make_function(lam, role_arn, src, Environment={"Variables": {"vv": "1"}})
    assert invoke(lam, name)["body"] == [1, "1"]
    assert invoke(lam, name)["body"] == [2, "1"]
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"vv": "2"}})
    assert invoke(lam, name)["body"] == [1, "2"]


def test_timeout_is_enforced_with_lambdas_message(lam, clients, role_arn):
    name = make_function(
        lam,
        role_arn,
        "import time\ndef handler(e, c):\n    print('working')\n    time.sleep(30)\n",
        Timeout=1,
    )
    t0 = time.monotonic()
    resp = invoke(lam, name, LogType="Tail")
    elapsed = time.monotonic() - t0
    assert resp["FunctionError"] == "Unhandled"
    assert "Task timed out after 1.00 seconds" in resp["body"]["errorMessage"]
    assert elapsed < 3.0, f"the caller waited {elapsed:.1f} s for a 1 s timeout"
    assert "working" in resp["log"]
    report = report_of(resp["log"])
    assert report["status"] == "timeout" and report["duration_ms"] == pytest.approx(1000.0)
    # The timed-out environment was stopped: the next invoke starts a new one (a cold start).
    again = invoke(lam, name, LogType="Tail")
    again_report = report_of(again["log"])
    assert again_report["cold_start"]


def test_unhandled_error_has_lambdas_shape(lam, clients, role_arn):
    name = make_function(
        lam,
        role_arn,
        "def helper():\n    raise ValueError('bad input: 42')\ndef handler(e, c):\n    helper()\n",
    )
    resp = invoke(lam, name, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    body = resp["body"]
    assert body["errorType"] == "ValueError"
    assert body["errorMessage"] == "bad input: 42"
    assert isinstance(body["stackTrace"], list) and any("helper" in f for f in body["stackTrace"])
    assert "[ERROR] ValueError: bad input: 42" in resp["log"]


@pytest.mark.parametrize(
    ("source", "handler", "error_type"),
    [
        ("import no_such_module\n", "index.handler", "Runtime.ImportModuleError"),
        ("x = 1\n", "index.missing", "Runtime.HandlerNotFound"),
    ],
)
def test_init_errors(lam, clients, role_arn, source, handler, error_type):
    name = make_function(lam, role_arn, source, handler=handler)
    resp = invoke(lam, name)
    assert resp["FunctionError"] == "Unhandled"
    assert resp["body"]["errorType"] == error_type


def test_concurrent_invokes_get_their_own_environments(lam, clients, role_arn):
    name = make_function(
        lam,
        role_arn,
        "import os, time\ndef handler(e, c):\n    time.sleep(1.0)\n    return os.getpid()\n",
    )
    invoke(lam, name)  # one warm environment exists now
    results: list = []

    def call():
        results.append(invoke(lam, name, LogType="Tail"))

    threads = [threading.Thread(target=call) for _ in range(3)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    assert len({r["body"] for r in results}) == 3, "each concurrent invoke needs its own environment"
    assert elapsed < 2.6, f"3 concurrent 1 s invokes took {elapsed:.1f} s: they ran one after another"
    colds = [report_of(r["log"])["cold_start"] for r in results]
    assert sorted(colds) == [False, True, True]
    streams = clients.logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 3


def test_event_invocation_returns_202_at_once_and_runs_later(lam, clients, role_arn):
    name = make_function(
        lam, role_arn, "import time\ndef handler(e, c):\n    time.sleep(1.0)\n    print('ran', e['n'])\n"
    )
    t0 = time.monotonic()
    resp = lam.invoke(FunctionName=name, InvocationType="Event", Payload=b'{"n": 7}')
    assert resp["StatusCode"] == 202
    assert time.monotonic() - t0 < 0.8
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and "ran 7" not in log_messages(clients.logs, name):
        time.sleep(0.2)
    assert "ran 7" in log_messages(clients.logs, name)


def test_dry_run_returns_204_and_runs_nothing(lam, clients, role_arn):
    name = make_function(lam, role_arn, "def handler(e, c):\n    print('should not run')\n")
    before = server.status()["runtime"]["counts"]["invokes"]
    resp = lam.invoke(FunctionName=name, InvocationType="DryRun")
    assert resp["StatusCode"] == 204
    assert server.status()["runtime"]["counts"]["invokes"] == before
    groups = clients.logs.describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{name}")["logGroups"]
    assert groups == [] or log_messages(clients.logs, name) == []


def test_logs_start_end_report_per_environment(lam, clients, role_arn):
    name = make_function(lam, role_arn, "def handler(e, c):\n    print('line one\\nline two')\n    return 1\n")
    first = invoke(lam, name)
    invoke(lam, name)
    msgs = log_messages(clients.logs, name)
    starts = [m for m in msgs if m.startswith("START RequestId: ")]
    reports = [m for m in msgs if m.startswith("REPORT ")]
    assert len(starts) == 2 and len(reports) == 2 and sum(m.startswith("END RequestId: ") for m in msgs) == 2
    assert all(s.endswith("Version: $LATEST") for s in starts)
    assert "line one" in msgs and "line two" in msgs
    for line in reports:
        assert AWS_REPORT.match(line), line
        assert REPORT_RE.match(line)
    assert "Init Duration" in reports[0] and "Init Duration" not in reports[1]
    streams = clients.logs.describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert len(streams) == 1  # one environment served both
    assert first["ResponseMetadata"]["HTTPHeaders"]["x-amz-executed-version"] == "$LATEST"
    used = parse_report(reports[0])["max_memory_used_mb"]
    assert 5 <= used < 200, f"Max Memory Used {used} MB is not the worker's own"


def test_log_tail_is_the_last_4_kb_base64(lam, clients, role_arn):
    name = make_function(
        lam, role_arn, "def handler(e, c):\n    for i in range(400):\n        print(f'line {i:04d} ' + 'x' * 40)\n"
    )
    resp = invoke(lam, name, LogType="Tail")
    assert len(resp["log"].encode()) == 4096
    assert resp["log"].rstrip("\t").splitlines()[-1].startswith("REPORT ")
    assert "line 0399" in resp["log"] and "line 0000" not in resp["log"]
    plain = invoke(lam, name)
    assert "LogResult" not in plain


def test_runtime_mismatch_is_reported_once(lam, clients, role_arn):
    name = make_function(lam, role_arn, "def handler(e, c):\n    return 'ok'\n", Runtime="python3.9")
    assert invoke(lam, name)["body"] == "ok"
    invoke(lam, name)
    notes = server.status()["runtime"]["notes"]
    assert sum(name in n and "python3.9" in n for n in notes) == 1
    log = (server.log_file()).read_text()
    assert log.count(f"{name} declares python3.9") == 1


def test_handler_boto3_calls_reach_the_offline_server(lam, clients, role_arn):
    queue_url = clients.sqs.create_queue(QueueName="runtime-test-q")["QueueUrl"]
    name = make_function(
        lam,
        role_arn,
        """
        import boto3
        def handler(e, c):
            sqs = boto3.client("sqs")
            url = sqs.get_queue_url(QueueName="runtime-test-q")["QueueUrl"]
            return sqs.send_message(QueueUrl=url, MessageBody=e["body"])["MessageId"]
        """,
    )
    mid = invoke(lam, name, {"body": "from the handler"})["body"]
    got = clients.sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in got] == [(mid, "from the handler")]


def test_payload_not_json_serialisable(lam, clients, role_arn):
    name = make_function(lam, role_arn, "def handler(e, c):\n    return {1, 2}\n")
    resp = invoke(lam, name)
    assert resp["FunctionError"] == "Unhandled"
    assert resp["body"]["errorType"] == "Runtime.MarshalError"
    assert json.loads(json.dumps(resp["body"]))  # a proper JSON error document


def test_a_chapter_start_stops_the_idle_environments_and_only_the_learner_may_ask(lam, role_arn):
    """Lambda may stop an idle environment at any time (its next invoke a cold start); offline a
    chapter's setup asks the server to (control.reclaim_idle, README), with a POST signed by the
    learner's credentials: unsigned, or signed with other keys, it is refused and stops nothing."""
    import urllib.error
    import urllib.request

    from sqslab.offline.auth import sigv4
    from sqslab.offline.server.info import RECLAIM_PATH

    def cold(name) -> bool:
        log = invoke(lam, name, LogType="Tail")["log"]
        return parse_report(next(ln for ln in log.splitlines() if ln.startswith("REPORT")))["cold_start"]

    name = make_function(lam, role_arn, "def handler(e, c):\n    return 1\n")
    assert cold(name) and not cold(name)
    url = server.status()["endpoint_url"] + RECLAIM_PATH
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    for headers in ({}, sigv4.sign("POST", url, access_key="AKIAOTHER", secret="other", region="us-east-1",
                                   service="sqslab")):
        with pytest.raises(urllib.error.HTTPError) as refused:
            opener.open(urllib.request.Request(url, data=b"", headers=headers, method="POST"), timeout=5)
        assert refused.value.code == 403
    assert not cold(name), "a refused request stopped nothing"
    assert server.reclaim_idle() >= 1
    assert server.status()["runtime"]["environments"]["idle"] == 0
    assert cold(name)


def test_a_cold_start_stops_the_environments_idle_longest(lam, role_arn):
    """Lambda reclaims idle execution environments, by no rule it documents; offline a cold start
    first stops the idle environments beyond pool.IDLE_AT_COLD_START, longest idle first (README)."""
    from sqslab.offline.awslambda import pool

    def cold(name) -> bool:
        log = invoke(lam, name, LogType="Tail")["log"]
        return parse_report(next(ln for ln in log.splitlines() if ln.startswith("REPORT")))["cold_start"]

    keep = pool.IDLE_AT_COLD_START
    names = [make_function(lam, role_arn, "def handler(e, c):\n    return 1\n") for _ in range(keep + 4)]
    assert all(cold(name) for name in names)
    envs = server.status()["runtime"]["environments"]
    assert envs["idle"] == keep + 1 and envs["busy"] == 0  # trimmed before the last cold start, then the last
    assert not cold(names[-1]) and not cold(names[-1 - keep])  # the most recently used stay warm
    assert server.status()["runtime"]["environments"]["idle"] == keep + 1  # a warm invoke stops nothing
    assert cold(names[0])  # the longest idle was stopped
