"""Timing of the offline SQS event source mapping (sqslab.offline.awslambda.event_source).

- delivery latency: from SendMessage to the handler's start, on an idle mapping
  with a warm execution environment (goal: median 100 ms or less; bar 250 ms);
- retry lateness: how long after its visibility timeout ends a failed message is
  running in the handler again (goal 0.2 s; bar 1 s).

The handler writes its start time to a file, so no log reading is timed. Not a
test: figures depend on the machine.

    python benchmarks/bench_event_source.py [--deliveries N] [--retries N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path

from common import BENCH_POLICY, line, on_offline_server

from sqslab import target
from sqslab.deploy.code_zip import zip_files
from sqslab.deploy.smoke import ensure_role

HANDLER = """
import os, time

def handler(event, context):
    started = time.time()
    with open(os.environ["BENCH_OUT"], "a") as out:
        for r in event["Records"]:
            a = r["attributes"]
            out.write(f"{r['body']} {a['ApproximateReceiveCount']} {a['ApproximateFirstReceiveTimestamp']} {started}\\n")
    if any(r["body"].startswith("retry") and r["attributes"]["ApproximateReceiveCount"] == "1" for r in event["Records"]):
        raise RuntimeError("failing the first attempt on purpose")
"""

VISIBILITY_S = 1



def rows(path: Path) -> list[tuple[str, int, float, float]]:
    if not path.exists():
        return []
    out = []
    for text in path.read_text().splitlines():
        body, count, first_ms, started = text.split()
        out.append((body, int(count), int(first_ms) / 1000, float(started)))
    return out


def wait_for(predicate, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.005)
    sys.exit("benchmark: a message was not delivered in time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--deliveries", type=int, default=30, help="messages sent one at a time to an idle mapping")
    parser.add_argument("--retries", type=int, default=10, help="messages failed once and retried")
    args = parser.parse_args(argv)

    return on_offline_server(_run, args)


def _run(args) -> int:
    tgt = target.start_offline("offline")
    lam, sqs, iam = (target.client(s, tgt) for s in ("lambda", "sqs", "iam"))
    # The mapping polls with the function's role (Lambda checks it): the bench queues only.
    role = ensure_role(iam, "sqslab-bench-role", policy=BENCH_POLICY)
    out = Path(tempfile.mkdtemp(prefix="sqslab-bench-")) / "starts.txt"
    tag = uuid.uuid4().hex[:8]
    url = sqs.create_queue(QueueName=f"bench-esm-{tag}", Attributes={"VisibilityTimeout": str(VISIBILITY_S)})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = f"bench-esm-{tag}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler",
                        Code={"ZipFile": zip_files({"index.py": HANDLER})}, Timeout=1,
                        Environment={"Variables": {"BENCH_OUT": str(out)}})
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)["UUID"]
    print(f"offline endpoint {tgt.endpoint_url}; SQS event source mapping, visibility timeout {VISIBILITY_S} s")
    try:
        sends, latencies = [], []
        for i in range(args.deliveries + 3):  # the first three warm the environment
            body = f"deliver-{i}"
            t0 = time.time()
            sqs.send_message(QueueUrl=url, MessageBody=body)
            sends.append(time.time() - t0)
            got = wait_for(lambda body=body: [r for r in rows(out) if r[0] == body], 5)
            if i >= 3:
                latencies.append(got[0][3] - t0)
            time.sleep(0.2)  # idle again
        line("SendMessage call (mapped handler, idle)", sends[3:])
        line("delivery: SendMessage to handler start", latencies)

        for i in range(args.retries):
            sqs.send_message(QueueUrl=url, MessageBody=f"retry-{i}")
            time.sleep(0.05)
        done = wait_for(lambda: (lambda r: r if len([x for x in r if x[0].startswith("retry") and x[1] == 2])
                                 >= args.retries else None)(rows(out)), 10)
        lateness = []
        for i in range(args.retries):
            attempts = {count: (first, started) for body, count, first, started in done if body == f"retry-{i}"}
            first_receive = attempts[1][0]
            lateness.append(attempts[2][1] - (first_receive + VISIBILITY_S))
        line("retry lateness after the visibility timeout", lateness)
    finally:
        lam.delete_event_source_mapping(UUID=mapping)
        sqs.delete_queue(QueueUrl=url)
        lam.delete_function(FunctionName=name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
