"""sqslab: Amazon SQS data linkage between three Lambda functions, taught by running it.

Nothing here creates an AWS client at import time; :mod:`sqslab.target` is the one
place that does.
"""

__version__ = "0.1.0"
