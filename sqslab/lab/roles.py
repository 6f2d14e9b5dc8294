"""Code that runs with a stack function's role, without changing that function.

Chapter 01 shows least privilege at work: a call function2's code never makes
(``sqs:DeleteMessage``), made with function2's role, is refused. The role's trust
policy lets only Lambda assume it, so the one honest way to run code with it,
on AWS and offline alike, is a Lambda function: :func:`function_running_as`
creates a small, short-lived function with that role (its code is
:data:`PROBE_SOURCE`), and deletes it, and the log group Lambda made for it,
when the ``with`` block ends. The stack's own functions are not touched.
"""

from __future__ import annotations

import contextlib
import uuid

from sqslab.deploy import scratch
from sqslab.deploy.code_zip import zip_files
from sqslab.lab.handle import Lab

# The probe tries one DeleteMessage with a receipt handle that is not real: IAM decides
# before SQS looks at the handle, so a role without sqs:DeleteMessage gets AccessDenied,
# and one with it gets SQS's ReceiptHandleIsInvalid (nothing is deleted either way).
PROBE_SOURCE = '''
import boto3
from botocore.exceptions import ClientError


def lambda_handler(event, context):
    sqs = boto3.client("sqs")
    try:
        sqs.delete_message(QueueUrl=event["QueueUrl"], ReceiptHandle=event.get("ReceiptHandle", "not-a-real-handle"))
    except ClientError as error:
        return {"code": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
    return {"code": None, "message": "deleted"}
'''


@contextlib.contextmanager
def function_running_as(lab: Lab, role_arn: str, runtime: str | None = None):
    """Yield the name of a new function that runs :data:`PROBE_SOURCE` with ``role_arn``;
    the function and its log group are deleted afterwards."""
    lam = lab.client("lambda")
    if runtime is None:
        runtime = lam.get_function_configuration(FunctionName=lab.function_name("function2"))["Runtime"]
    name = f"{scratch.prefix(lab.name)}probe-{uuid.uuid4().hex[:6]}"[:64]
    lam.create_function(FunctionName=name, Runtime=runtime, Role=role_arn, Handler="index.lambda_handler",
                        Code={"ZipFile": zip_files({"index.py": PROBE_SOURCE})}, Timeout=10,
                        Description="sqslab: a short-lived probe with a stack function's role")
    try:
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        yield name
    finally:
        with contextlib.suppress(lam.exceptions.ResourceNotFoundException):
            lam.delete_function(FunctionName=name)
        logs = lab.client("logs")
        with contextlib.suppress(logs.exceptions.ResourceNotFoundException):
            logs.delete_log_group(logGroupName=f"/aws/lambda/{name}")
