"""Worked answers to the exercises of notebook 07 (FIFO queues).
`make test` runs each through its check in sqslab.experiments.exercises."""

# 1. Deduplication is per queue: the second "x" has the same body, so the same content-based
#    deduplication id, though it names group B; "z" names the same MessageDeduplicationId as "y",
#    and an explicit id wins over the content. Two messages are delivered: x and y.
prediction_1 = 2


# 2. Ask for each message's MessageGroupId, append its body to its group's list, delete it, and
#    stop when a long poll comes back empty. A message left undeleted would hold its group back.
def drain_in_order(sqs, queue_url):
    groups = {}
    while messages := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                          MessageSystemAttributeNames=["MessageGroupId"]).get("Messages", []):
        for message in messages:
            groups.setdefault(message["Attributes"]["MessageGroupId"], []).append(message["Body"])
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return groups
