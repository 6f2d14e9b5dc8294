"""Worked answers to the exercises of notebook 02 (Invoke the functions in the
article's order). `make test` runs each through its check in sqslab.experiments.exercises."""

# 1. Three sends, then function2 twice in a row: the first receive takes all three
#    (it asks for up to 10) and leaves them invisible for the visibility timeout,
#    so the second finds nothing and waits out its long poll.
prediction_1 = (3, 0)


# 2. function3's job: a receive never removes a message; deleting it with the
#    receipt handle of that receive does.
def receive_and_delete(sqs, queue_url):
    response = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    bodies = []
    for message in response.get("Messages", []):
        sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        bodies.append(message["Body"])
    return bodies


# 3. A visibility timeout of 0 ends the invisible window the receive opened.
def make_visible_again(sqs, queue_url, receipt_handle):
    sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
