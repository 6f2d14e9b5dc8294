"""payload_reader: reads back message bodies that the SQS Extended Client Library put in S3.

A sender using the library sends a body over its threshold (256 KiB) as an S3 object, and the
message as a pointer to it: the JSON array ``["software.amazon.payloadoffloading.PayloadS3Pointer",
{"s3BucketName": ..., "s3Key": ...}]``, with the message attribute ``ExtendedPayloadSize`` (the
body's size in bytes). Lambda's event source mapping hands the function that pointer; the
function fetches the object with s3:GetObject and works on the body. A body that is not a
pointer is the message itself.

Logs one JSON line per record (``payload``: message id, whether the body came from S3, its
size in bytes and SHA-256). boto3 (in the Lambda runtime) only.
"""

import hashlib
import json
import os
import time

import boto3

POINTER_CLASS = "software.amazon.payloadoffloading.PayloadS3Pointer"
_s3 = None


def s3():
    global _s3
    if _s3 is None:
        _s3 = boto3.client("s3")
    return _s3


def pointer(body):
    """(bucket, key) when ``body`` is an Extended Client pointer, else None."""
    try:
        doc = json.loads(body)
    except (TypeError, ValueError):
        return None
    if isinstance(doc, list) and len(doc) == 2 and doc[0] == POINTER_CLASS and isinstance(doc[1], dict):
        return doc[1].get("s3BucketName"), doc[1].get("s3Key")
    return None


def lambda_handler(event, context):
    for record in (event or {}).get("Records") or []:
        body = record.get("body") or ""
        where = pointer(body)
        if where:
            data = s3().get_object(Bucket=where[0], Key=where[1])["Body"].read()
        else:
            data = body.encode("utf-8")
        declared = (record.get("messageAttributes") or {}).get("ExtendedPayloadSize", {}).get("stringValue")
        print(json.dumps({"event": "payload", "function": os.environ.get("AWS_LAMBDA_FUNCTION_NAME"),
                          "message_id": record.get("messageId"), "from_s3": bool(where),
                          "pointer_bytes": len(body.encode("utf-8")), "bytes": len(data),
                          "declared_bytes": int(declared) if declared else None,
                          "sha256": hashlib.sha256(data).hexdigest(), "time_ms": int(time.time() * 1000)}))
