"""Worked answers to the exercises of notebook 06 (When processing fails).
`make test` runs each through its check in sqslab.experiments.exercises."""

# 1. The first invocation gets all four; with ReportBatchItemFailures only the poison message
#    stays, and the second invocation gets it alone (receive count 2). maxReceiveCount is 2, so
#    at the next receive SQS moves it to the dead-letter queue instead of delivering it.
prediction_1 = (2, 1)


# 2. Receive ten at a time until a long poll comes back empty; send each message on with its
#    attributes, and delete it from the dead-letter queue only once it is sent.
def redrive(sqs, dead_letter_url, source_url):
    moved = 0
    while messages := sqs.receive_message(QueueUrl=dead_letter_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                          MessageAttributeNames=["All"]).get("Messages", []):
        for message in messages:
            sqs.send_message(QueueUrl=source_url, MessageBody=message["Body"],
                             MessageAttributes=message.get("MessageAttributes", {}))
            sqs.delete_message(QueueUrl=dead_letter_url, ReceiptHandle=message["ReceiptHandle"])
            moved += 1
    return moved
