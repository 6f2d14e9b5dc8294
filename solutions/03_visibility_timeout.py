"""Worked answers to the exercises of notebook 03 (The visibility timeout).
`make test` runs each through its check in sqslab.experiments.exercises."""

import time

# 1. Invisible for 3 s after A's receive, so nothing at 1 s; never deleted, so
#    visible again at 3 s and received at 4 s.
prediction_1 = (0, 1)


# 2. A heartbeat: before the timeout runs out, set it anew (counted from the call),
#    and delete when the work is done.
def process_with_heartbeat(sqs, queue_url, message, seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(min(1.0, end - time.monotonic()))
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=2)
    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
