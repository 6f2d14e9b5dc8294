"""Invoke latency of the offline Lambda runtime, the timing of an empty long poll, and how
soon a FIFO long poll gets a message of a group freed while it waits.

Measured client-side (boto3 -> offline server -> worker -> back), printed as
median and p95. Not a test: figures depend on the machine.

    python benchmarks/bench_invoke.py [--cold N] [--warm N] [--polls N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid

from common import BENCH_POLICY, line, on_offline_server

from sqslab import target
from sqslab.deploy.code_zip import zip_files
from sqslab.deploy.smoke import ensure_role

TRIVIAL = "def handler(event, context):\n    return {'ok': True}\n"
SQS_ROUNDTRIP = """
import os
import boto3
sqs = boto3.client("sqs")
URL = sqs.get_queue_url(QueueName=os.environ["queue_name"])["QueueUrl"]

def handler(event, context):
    sqs.send_message(QueueUrl=URL, MessageBody="ping")
    msgs = sqs.receive_message(QueueUrl=URL, MaxNumberOfMessages=1, WaitTimeSeconds=1).get("Messages", [])
    for m in msgs:
        sqs.delete_message(QueueUrl=URL, ReceiptHandle=m["ReceiptHandle"])
    return len(msgs)
"""




def timed_invoke(lam, name: str) -> float:
    t0 = time.perf_counter()
    resp = lam.invoke(FunctionName=name, Payload=b"{}")
    body = resp["Payload"].read()
    elapsed = time.perf_counter() - t0
    if resp.get("FunctionError"):
        sys.exit(f"benchmark handler failed: {name}: {body[:300]!r}")
    return elapsed


def bench_handler(lam, role: str, label: str, source: str, cold: int, warm: int,
                  env: dict | None = None) -> list[float]:
    colds, warms = [], []
    names = []
    for _ in range(cold):
        name = f"bench-{uuid.uuid4().hex[:10]}"
        lam.create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
            Code={"ZipFile": zip_files({"index.py": source})}, Timeout=30,
            Environment={"Variables": env or {}},
        )
        names.append(name)
        colds.append(timed_invoke(lam, name))
    for _ in range(3):  # settle
        timed_invoke(lam, names[0])
    for _ in range(warm):
        warms.append(timed_invoke(lam, names[0]))
    line(f"{label}: cold invoke", colds)
    line(f"{label}: warm invoke", warms)
    for name in names:
        lam.delete_function(FunctionName=name)
    return warms


def bench_send_message(sqs, url: str, n: int) -> list[float]:
    times = []
    for i in range(n + 5):
        t0 = time.perf_counter()
        sqs.send_message(QueueUrl=url, MessageBody="ping")
        if i >= 5:  # settle
            times.append(time.perf_counter() - t0)
    return times


def report_authentication(tgt, warm: list[float], sends: list[float], roundtrips: list[float]) -> None:
    """Every request is checked (SigV4, sqslab.offline.auth), and a function's requests are also
    evaluated against its role's policies (sqslab.offline.iam.policy): the server measures what each
    costs per request; without them, each request would be that much quicker."""
    from sqslab.offline.server import control as server

    url = tgt.endpoint_url + server.STATUS_PATH
    auth = server._http_json(url, headers=server._signed_headers(url)).get("auth", {})
    check_ms = auth.get("check_median_us", 0.0) / 1000
    policy_ms = auth.get("policy_median_us", 0.0) / 1000
    print(f"{'signature check per request (server side)':<44} n={auth.get('passed', 0):<4} median "
          f"{check_ms:8.3f} ms   p95 {auth.get('check_p95_us', 0.0) / 1000:8.3f} ms")
    print(f"{'policy evaluation per function request':<44} n={len(roundtrips) * 3:<4} median "
          f"{policy_ms:8.3f} ms   p95 {auth.get('policy_p95_us', 0.0) / 1000:8.3f} ms")
    rows = (("warm invoke (trivial handler)", warm, check_ms, check_ms),
            ("SendMessage (the learner's: no evaluation)", sends, check_ms, check_ms),
            # the invoke is checked; the handler's three requests are checked and evaluated
            ("warm invoke, handler's send+receive+delete", roundtrips, check_ms + 3 * (check_ms + policy_ms),
             check_ms + policy_ms))
    for label, values, total_ms, per_request_ms in rows:
        with_auth = statistics.median(values) * 1000
        print(f"{label + ': with / without':<44} median {with_auth:8.2f} ms / {with_auth - total_ms:8.2f} ms"
              f"   (+{per_request_ms:.3f} ms per request, goal at most 1 ms)")


def bench_helper_against_bare(tgt, n: int) -> None:
    """sqslab's invoke (Lab.invoke) against the bare boto3 call it makes."""
    from sqslab.deploy import stack
    from sqslab.lab.handle import Lab

    name = f"bench-{uuid.uuid4().hex[:6]}"
    stack.deploy(stack_name=name, params={"Prefix": name}, target=tgt, progress=False)
    try:
        lab = Lab.of(name, tgt)
        lam, function = lab.client("lambda"), lab.function_name("function1")
        helper, bare = [], []
        for i in range(n + 3):
            t0 = time.perf_counter()
            lab.invoke("function1", progress=False)
            t1 = time.perf_counter()
            lam.invoke(FunctionName=function, LogType="Tail")["Payload"].read()
            t2 = time.perf_counter()
            if i >= 3:  # settle
                helper.append(t1 - t0)
                bare.append(t2 - t1)
        line("article's function1: bare boto3 invoke", bare)
        line("article's function1: sqslab Lab.invoke", helper)
        print(f"{'helper overhead (median difference)':<44} {1000 * (statistics.median(helper) - statistics.median(bare)):.2f} ms")
    finally:
        stack.teardown(name, target=tgt, progress=False)


def bench_fifo_group_freed(sqs, n: int) -> list[float]:
    """How soon a waiting FIFO long poll gets the next message of a group after the group's
    in-flight message is deleted (SQS developer guide, FIFO-queues-understanding-logic)."""
    import threading

    url = sqs.create_queue(QueueName=f"bench-{uuid.uuid4().hex[:8]}.fifo",
                           Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    lags = []
    try:
        for i in range(n):
            for part in ("a", "b"):
                sqs.send_message(QueueUrl=url, MessageBody=f"{i}-{part}", MessageGroupId="g")
            held = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1)["Messages"][0]
            got = {}

            def poll(got=got):
                got["messages"] = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1,
                                                      WaitTimeSeconds=5).get("Messages", [])
                got["at"] = time.perf_counter()

            waiter = threading.Thread(target=poll)
            waiter.start()
            time.sleep(0.2)
            freed = time.perf_counter()
            sqs.delete_message(QueueUrl=url, ReceiptHandle=held["ReceiptHandle"])
            waiter.join()
            assert got["messages"] and got["messages"][0]["Body"] == f"{i}-b"
            lags.append(got["at"] - freed)
            sqs.delete_message(QueueUrl=url, ReceiptHandle=got["messages"][0]["ReceiptHandle"])
    finally:
        sqs.delete_queue(QueueUrl=url)
    return lags


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cold", type=int, default=10, help="cold starts per handler")
    parser.add_argument("--warm", type=int, default=100, help="warm invokes per handler")
    parser.add_argument("--polls", type=int, default=2, help="empty 20 s long polls to time")
    args = parser.parse_args(argv)

    return on_offline_server(_run, args)


def _run(args) -> int:
    tgt = target.start_offline("offline")
    lam, sqs, iam = (target.client(s, tgt) for s in ("lambda", "sqs", "iam"))
    role = ensure_role(iam, "sqslab-bench-role", policy=BENCH_POLICY)
    queue = f"bench-{uuid.uuid4().hex[:8]}"
    url = sqs.create_queue(QueueName=queue)["QueueUrl"]
    print(f"offline endpoint {tgt.endpoint_url}; client-side latency, boto3 -> server -> worker -> boto3")
    warm = bench_handler(lam, role, "trivial handler", TRIVIAL, args.cold, args.warm)
    sends = bench_send_message(sqs, url, args.warm)
    line("SendMessage", sends)
    sqs.purge_queue(QueueUrl=url)
    roundtrips = bench_handler(lam, role, "boto3 handler, SQS send+receive", SQS_ROUNDTRIP, args.cold,
                               max(10, args.warm // 3), env={"queue_name": queue})
    report_authentication(tgt, warm, sends, roundtrips)
    bench_helper_against_bare(tgt, args.warm)
    line("FIFO long poll: group freed to message", bench_fifo_group_freed(sqs, 20))
    polls = []
    for _ in range(args.polls):
        t0 = time.perf_counter()
        got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=20).get("Messages", [])
        polls.append(time.perf_counter() - t0)
        assert not got
    if polls:
        line("empty long poll, WaitTimeSeconds=20", polls, unit="s", scale=1.0)
        errors = [abs(p - 20.0) for p in polls]
        print(f"{'long poll error against 20 s':<44} max {max(errors):.3f} s")
    sqs.delete_queue(QueueUrl=url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
