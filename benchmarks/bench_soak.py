"""A long mixed load on an offline server of its own, and the server's memory over it.

    .venv/bin/python benchmarks/bench_soak.py [--minutes 30] [--sample-s 30]   (make soak)

For ``--minutes``, at once: direct invokes of a function; sends to a queue that an event
source mapping drains into a consumer which fails every record whose body starts with
``poison`` (ReportBatchItemFailures; the queue's RedrivePolicy moves those to a
dead-letter queue after two receives) and reports the others it processed to a queue
the benchmark reads; and sends, long polls and deletes on a plain queue. The server's resident memory (the server process; execution environments are
processes of their own) is sampled every ``--sample-s`` seconds. At the end the load
stops, the queues drain, and every message sent to the mapped queue must be accounted
for: a good one reported by the consumer, a poison one in the dead-letter queue. Prints
the samples, the counts, and how much the memory grew over the last 20 minutes (or the
last two thirds of a shorter run). Exit status 1 if a message is missing.

Runs in a state directory and on a port of its own: a running server of yours is left
alone.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import textwrap
import threading
import time
import uuid

CONSUMER = textwrap.dedent('''
    import boto3

    DONE = boto3.client("sqs").get_queue_url(QueueName="bench-soak-done")["QueueUrl"]


    def handler(event, context):
        failures, done = [], []
        for record in event["Records"]:
            body = record["body"]
            if body.startswith("poison"):
                failures.append({"itemIdentifier": record["messageId"]})
            else:
                done.append({"Id": str(len(done)), "MessageBody": body})
        if done:  # what was processed, told to the benchmark (the logs keep a stream's newest events only)
            boto3.client("sqs").send_message_batch(QueueUrl=DONE, Entries=done)
        return {"batchItemFailures": failures}
''')
ECHO = "def handler(event, context):\n    return event\n"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--sample-s", type=float, default=30.0)
    parser.add_argument("--send-per-s", type=float, default=20.0, help="to the mapped queue")
    args = parser.parse_args(argv)
    os.environ["SQSLAB_HOME"] = tempfile.mkdtemp(prefix="sqslab-soak-")
    from common import free_port

    os.environ["SQSLAB_OFFLINE_PORT"] = str(free_port())

    from common import BENCH_POLICY

    from sqslab import target
    from sqslab.deploy.code_zip import zip_files
    from sqslab.deploy.smoke import ensure_role
    from sqslab.offline.server import control as server

    tgt = target.start_offline("offline")
    try:
        return run(args, tgt, BENCH_POLICY, ensure_role, zip_files, server)
    finally:
        server.stop()


def run(args, tgt, policy, ensure_role, zip_files, server) -> int:
    from sqslab import target

    sqs, lam, iam = (target.client(s, tgt) for s in ("sqs", "lambda", "iam"))
    statements = policy["Statement"] + [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]
    role = ensure_role(iam, "bench-soak-role", policy={"Version": "2012-10-17", "Statement": statements})
    dlq = sqs.create_queue(QueueName="bench-soak-dlq", Attributes={"MessageRetentionPeriod": "1209600"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName="bench-soak-src", Attributes={
        "VisibilityTimeout": "6", "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})})[
        "QueueUrl"]
    src_arn = sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    plain = sqs.create_queue(QueueName="bench-soak-plain")["QueueUrl"]
    done = sqs.create_queue(QueueName="bench-soak-done")["QueueUrl"]
    for name, code in (("bench-soak-consumer", CONSUMER), ("bench-soak-echo", ECHO)):
        lam.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="index.handler", Timeout=5,
                            Code={"ZipFile": zip_files({"index.py": code})})
    lam.create_event_source_mapping(EventSourceArn=src_arn, FunctionName="bench-soak-consumer", BatchSize=10,
                                    FunctionResponseTypes=["ReportBatchItemFailures"])
    pid = server.status()["pid"]
    stop = threading.Event()
    sent_good: set[str] = set()
    sent_poison: set[str] = set()
    processed: set[str] = set()
    counts = {"invokes": 0, "sends": 0, "plain_sends": 0, "plain_received": 0}

    def invoker():
        while not stop.is_set():
            lam.invoke(FunctionName="bench-soak-echo", Payload=b'{"n": 1}')
            counts["invokes"] += 1
            time.sleep(0.1)

    def sender():
        period = 1.0 / args.send_per_s
        while not stop.is_set():
            body = ("poison-" if random.random() < 0.05 else "good-") + uuid.uuid4().hex
            sqs.send_message(QueueUrl=src, MessageBody=body)
            (sent_poison if body.startswith("poison") else sent_good).add(body)
            counts["sends"] += 1
            time.sleep(period)

    def plain_loop():
        while not stop.is_set():
            sqs.send_message_batch(QueueUrl=plain, Entries=[{"Id": str(i), "MessageBody": f"p{i}"} for i in range(5)])
            counts["plain_sends"] += 5
            got = sqs.receive_message(QueueUrl=plain, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            for m in got:
                sqs.delete_message(QueueUrl=plain, ReceiptHandle=m["ReceiptHandle"])
            counts["plain_received"] += len(got)

    def done_reader():  # until the end: the consumer's reports of what it processed
        while not (stop.is_set() and finished.is_set()):
            got = sqs.receive_message(QueueUrl=done, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
            for m in got:
                processed.add(m["Body"])
                sqs.delete_message(QueueUrl=done, ReceiptHandle=m["ReceiptHandle"])

    finished = threading.Event()
    reader = threading.Thread(target=done_reader, daemon=True)
    reader.start()
    threads = [threading.Thread(target=f, daemon=True) for f in (invoker, sender, plain_loop)]
    t0 = time.monotonic()
    samples = [(0.0, rss_mb(pid))]
    for t in threads:
        t.start()
    end = t0 + args.minutes * 60
    while time.monotonic() < end:
        time.sleep(min(args.sample_s, max(0.0, end - time.monotonic())))
        samples.append((time.monotonic() - t0, rss_mb(pid)))
        print(f"{samples[-1][0] / 60:6.1f} min  server RSS {samples[-1][1]:7.1f} MB  {counts}", flush=True)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    # drain: the mapped queue empties (poison messages reach the dead-letter queue after two receives)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        a = sqs.get_queue_attributes(QueueUrl=src, AttributeNames=["ApproximateNumberOfMessages",
                                                                   "ApproximateNumberOfMessagesNotVisible"])
        if all(v == "0" for v in a["Attributes"].values()):
            break
        time.sleep(1)
    time.sleep(3)  # the last reports
    finished.set()
    reader.join(timeout=30)
    dead: set[str] = set()
    while True:
        got = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=600).get("Messages", [])
        if not got:
            break
        dead.update(m["Body"] for m in got)
    missing_good = sent_good - processed
    missing_poison = sent_poison - dead
    window = min(20 * 60, samples[-1][0] * 2 / 3)
    start = min(samples, key=lambda s: abs(s[0] - (samples[-1][0] - window)))
    last = samples[-1]
    growth = (max(s[1] for s in samples if s[0] >= start[0]) - start[1]) / start[1] * 100
    print(f"load: {counts['invokes']} invokes, {counts['sends']} sends to the mapped queue "
          f"({len(sent_poison)} poison), {counts['plain_sends']} plain sends, {counts['plain_received']} received")
    print(f"accounted for: {len(sent_good & processed)}/{len(sent_good)} good processed, "
          f"{len(sent_poison & dead)}/{len(sent_poison)} poison in the dead-letter queue")
    print(f"server RSS: {samples[0][1]:.1f} MB at start, {start[1]:.1f} MB at {start[0] / 60:.1f} min, "
          f"{last[1]:.1f} MB at {last[0] / 60:.1f} min: {growth:+.1f} % over the last {window / 60:.1f} min")
    if missing_good or missing_poison:
        print(f"MISSING: {len(missing_good)} good, {len(missing_poison)} poison", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
