"""Worked answers to the exercises of notebook 05 (Let Lambda poll).
`make test` runs each through its check in sqslab.experiments.exercises."""

# 1. Lambda refuses a mapping when the function's timeout is longer than the queue's
#    visibility timeout: T - 1 is refused; T (equal) is allowed; 6 * T is what AWS recommends.
prediction_1 = (False, True, True)


# 2. The queue's ARN from its attributes, then a mapping with BatchSize 5 and a 1 s window.
def map_queue(lam, sqs, queue_url, function_name):
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    mapping = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function_name,
                                              BatchSize=5, MaximumBatchingWindowInSeconds=1)
    return mapping["UUID"]
