"""Worked answers to the exercises of notebook 11 (Filtering and fan-out).
`make test` runs each through its check in sqslab.experiments.exercises."""

# 1. anything-but matches a status that is present and not "test": only {"status": "live"}. A
#    message without the field does not match, and a plain-text body never matches an object
#    pattern. One reaches the function; Lambda deletes the other three unseen.
prediction_1 = 1


# 2. The service principal, the one action, the queue as the resource, and the topic named in
#    aws:SourceArn, so no other topic can send.
def policy_for(queue_arn, topic_arn):
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sqs:SendMessage",
        "Resource": queue_arn, "Condition": {"ArnEquals": {"aws:SourceArn": topic_arn}}}]}
