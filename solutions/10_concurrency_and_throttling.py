"""Worked answers to the exercises of notebook 10 (Concurrency and throttling).
`make test` runs each through its check in sqslab.experiments.exercises."""

import json
import time

# 1. Lambda keeps at least 100 of the account's concurrency unreserved: 1,000 - 850 - 100 = 50.
prediction_1 = 50


# 2. A throttled invoke is a ClientError whose code is TooManyRequestsException: wait and try
#    again, twice as long each time; any other error, or the last attempt's, is raised.
def invoke_patiently(lam, name, payload, attempts):
    pause = 0.5
    for attempt in range(attempts):
        try:
            response = lam.invoke(FunctionName=name, Payload=json.dumps(payload))
            return json.loads(response["Payload"].read())
        except lam.exceptions.TooManyRequestsException:
            if attempt == attempts - 1:
                raise
            time.sleep(pause)
            pause *= 2
