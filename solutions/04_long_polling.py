"""Worked answers to the exercises of notebook 04 (Long polling).
`make test` runs each through its check in sqslab.experiments.exercises."""

# 1. A long poll returns as soon as a message is there: at about 2 s, with it.
prediction_1 = "a"


# 2. Ten at a time (the most one receive returns), each receive a 1 s long poll, so
#    an empty answer means the queue is empty, not that the servers asked had none.
def drain(sqs, queue_url):
    deleted = 0
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                       WaitTimeSeconds=1).get("Messages", [])
        if not messages:
            return deleted
        for message in messages:
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            deleted += 1
