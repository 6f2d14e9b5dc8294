"""Worked answers to the exercises of notebook 08 (A message's lifetime).
`make test` runs each through its check in sqslab.experiments.exercises."""

# 1. On a standard queue a moved message keeps its original enqueue time: the dead-letter queue's
#    5-day retention counts from the first send, so the message is deleted on day 5 (3 days after
#    the move). On a FIFO queue the enqueue time is reset by the move: day 2 + 5 = 7.
prediction_1 = 5


# 2. A message timer: DelaySeconds on the send hides this message only, for 0 to 900 seconds.
def send_later(sqs, queue_url, body, seconds):
    return sqs.send_message(QueueUrl=queue_url, MessageBody=body, DelaySeconds=seconds)
