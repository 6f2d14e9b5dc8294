"""Only the offline server's own clients get in: every request must carry an AWS
Signature Version 4 made with the server's credentials (or with the temporary
credentials of one of its execution environments).

AWS pages followed:
- IAM User Guide, "AWS Signature Version 4 for API requests", "Elements of an AWS API
  request signature" and "Create a signed AWS API request" (canonical request, string
  to sign, signing key; the documented IAM ListUsers example);
- IAM User Guide, "Troubleshoot signed requests for AWS APIs" (SignatureDoesNotMatch,
  "Date in Credential scope does not match", "Signature expired", "Signature not yet current");
- the common errors of each service's API reference (Amazon SQS, AWS CloudFormation, IAM,
  AWS STS: InvalidClientTokenId 403, MissingAuthenticationToken 403, IncompleteSignature 400;
  CloudWatch Logs and Lambda: UnrecognizedClientException);
- Amazon S3 API Reference, "Error responses" (InvalidAccessKeyId, SignatureDoesNotMatch,
  RequestTimeTooSkewed, AccessDenied, XAmzContentSHA256Mismatch, all but the last 403) and
  "Signature Calculations for the Authorization Header: Transferring Payload in Multiple
  Chunks (Chunked Upload)" (STREAMING-AWS4-HMAC-SHA256-PAYLOAD, the seed signature).
"""


from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
import time
import urllib.error
import urllib.request
import uuid

import boto3
import botocore
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from helpers import invoke, make_function, server_status

from sqslab import target
from sqslab.deploy.code_zip import zip_files
from sqslab.offline.auth import identity, sigv4
from sqslab.offline.server import control as server

SERVICES = ("sqs", "lambda", "logs", "cloudformation", "s3", "iam", "sts")

TEMPLATE = json.dumps({"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}})


def client_with(offline, service, access_key, secret, token=None, unsigned=False):
    """A plain boto3 client of the offline endpoint with the credentials given."""
    config = Config(proxies={}, retries={"max_attempts": 1},
                    **({"signature_version": botocore.UNSIGNED} if unsigned else {}))
    session = boto3.Session(botocore_session=target.offline_botocore_session(), aws_access_key_id=access_key,
                            aws_secret_access_key=secret, aws_session_token=token, region_name="us-east-1")
    return session.client(service, endpoint_url=offline.endpoint_url, config=config)


def attempt(c, service: str, name: str, role_arn: str = "arn:aws:iam::123456789012:role/x"):
    """One request per service that would create something (STS has nothing to create)."""
    if service == "sqs":
        return c.create_queue(QueueName=name)
    if service == "lambda":
        return c.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="index.handler",
                                 Code={"ZipFile": zip_files({"index.py": "def handler(e, c):\n    return 1\n"})})
    if service == "logs":
        return c.create_log_group(logGroupName=name)
    if service == "cloudformation":
        return c.create_stack(StackName=name, TemplateBody=TEMPLATE)
    if service == "s3":
        return c.create_bucket(Bucket=name)
    if service == "iam":
        return c.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    return c.get_caller_identity()


def exists(clients, service: str, name: str) -> bool:
    c = getattr(clients, service)
    if service == "sqs":
        return any(u.endswith("/" + name) for u in c.list_queues().get("QueueUrls", []))
    if service == "lambda":
        return name in [f["FunctionName"] for f in c.list_functions()["Functions"]]
    if service == "logs":
        return bool(c.describe_log_groups(logGroupNamePrefix=name)["logGroups"])
    if service == "cloudformation":
        return name in [s["StackName"] for s in c.list_stacks()["StackSummaries"]]
    if service == "s3":
        return name in [b["Name"] for b in c.list_buckets()["Buckets"]]
    if service == "iam":
        return name in [r["RoleName"] for r in c.list_roles()["Roles"]]
    return False


# (code, HTTP status) per service for: no signature, a key the server never issued, a wrong secret.
EXPECTED = {
    "sqs": ("MissingAuthenticationToken", "InvalidClientTokenId", "SignatureDoesNotMatch"),
    "cloudformation": ("MissingAuthenticationToken", "InvalidClientTokenId", "SignatureDoesNotMatch"),
    "iam": ("MissingAuthenticationToken", "InvalidClientTokenId", "SignatureDoesNotMatch"),
    "sts": ("MissingAuthenticationToken", "InvalidClientTokenId", "SignatureDoesNotMatch"),
    "lambda": ("MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException"),
    "logs": ("MissingAuthenticationTokenException", "UnrecognizedClientException", "InvalidSignatureException"),
    "s3": ("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"),
}


@pytest.mark.parametrize("service", SERVICES)
def test_no_signature_an_unknown_key_or_a_wrong_secret_get_403_and_change_nothing(offline, clients, tmp_path,
                                                                                  role_arn, service):
    creds = target.offline_credentials()
    elsewhere = identity.ensure_credentials(tmp_path)  # what another state directory's server holds
    cases = {
        "unsigned": client_with(offline, service, "x", "x", unsigned=True),
        "unknown key": client_with(offline, service, elsewhere.access_key, elsewhere.secret_key),
        "wrong secret": client_with(offline, service, creds.access_key, creds.secret_key[::-1]),
    }
    for (case, c), code in zip(cases.items(), EXPECTED[service], strict=True):
        name = f"auth-{uuid.uuid4().hex[:10]}"
        with pytest.raises(ClientError) as err:
            attempt(c, service, name)
        got = err.value.response
        assert (got["Error"]["Code"], got["ResponseMetadata"]["HTTPStatusCode"]) == (code, 403), (case, got)
        assert not exists(clients, service, name), f"{service}: a request with {case} changed something"
    name = f"auth-{uuid.uuid4().hex[:10]}"
    attempt(client_with(offline, service, creds.access_key, creds.secret_key), service, name, role_arn)
    assert service == "sts" or exists(clients, service, name), "the server's own credentials may do everything"


def test_another_offline_servers_key_is_refused(offline, clients, monkeypatch, tmp_path):
    """Two servers (two state directories): each one's clients are strangers to the other."""
    from conftest import free_port

    session_creds = target.offline_credentials()
    monkeypatch.setenv("SQSLAB_HOME", str(tmp_path / "other"))
    monkeypatch.setenv("SQSLAB_OFFLINE_PORT", str(free_port()))
    try:
        other = target.start_offline("offline")
        other_creds = target.offline_credentials()
        assert other_creds.access_key != session_creds.access_key and other.endpoint_url != offline.endpoint_url
        for endpoint, creds in ((offline, other_creds), (other, session_creds)):
            with pytest.raises(ClientError) as err:
                client_with(endpoint, "sqs", creds.access_key, creds.secret_key).create_queue(QueueName="stranger")
            assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
        assert "QueueUrls" not in client_with(other, "sqs", other_creds.access_key, other_creds.secret_key).list_queues()
    finally:
        server.stop()


def test_the_credentials_file_is_the_owners_alone(offline):
    path = identity.credentials_path(server.state_dir())
    assert path.stat().st_mode & 0o777 == 0o600
    creds = identity.load_credentials(server.state_dir())
    assert creds.access_key.startswith("AKIA") and len(creds.access_key) == 20 and len(creds.secret_key) == 40
    assert creds.secret_key not in repr(creds)
    os.chmod(path, 0o644)
    identity._CACHE.clear()
    assert identity.load_credentials(server.state_dir()) == creds
    assert path.stat().st_mode & 0o777 == 0o600, "a loosened file is closed again"


def raw(offline, method, path="/", *, body=b"", headers=None, creds=None, service="sqs", now=None,
        secret=None, tamper=None):
    """A request signed by sqslab.offline.auth.sigv4.sign (``tamper`` changes it after signing)."""
    url = offline.endpoint_url + path
    headers = {"Content-Type": "application/octet-stream", **(headers or {})}
    h = dict(headers)
    if creds is not None:
        h = sigv4.sign(method, url, access_key=creds.access_key, secret=secret or creds.secret_key,
                      region="us-east-1", service=service, body=body, headers=headers, now=now)
    if tamper:
        body, h = tamper(body, h)
    req = urllib.request.Request(url, data=body if method != "GET" else None, headers=h, method=method)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


SQS_JSON = {"X-Amz-Target": "AmazonSQS.ListQueues", "Content-Type": "application/x-amz-json-1.0"}


def test_each_protocol_answers_in_its_own_shape(offline):
    """Query/XML (SQS's query protocol, CloudFormation, IAM, STS), SQS's JSON protocol,
    Lambda's REST-JSON, CloudWatch Logs' JSON and S3's REST-XML, each with no signature."""
    status, headers, body = raw(offline, "POST", body=b"Action=ListQueues&Version=2012-11-05",
                                headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 403 and b"<Code>MissingAuthenticationToken</Code>" in body and b"<Type>Sender</Type>" in body
    status, headers, body = raw(offline, "POST", body=b"{}", headers=SQS_JSON)
    assert status == 403 and json.loads(body)["__type"].endswith("#MissingAuthenticationToken")
    assert headers["x-amzn-query-error"] == "MissingAuthenticationToken;Sender"
    status, headers, body = raw(offline, "GET", "/2015-03-31/functions/")
    assert status == 403 and headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException")
    status, headers, body = raw(offline, "POST", body=b"{}", headers={"X-Amz-Target": "Logs_20140328.DescribeLogGroups",
                                                                   "Content-Type": "application/x-amz-json-1.1"})
    assert status == 403 and json.loads(body)["__type"] == "MissingAuthenticationTokenException"
    status, headers, body = raw(offline, "GET", "/some-bucket")
    assert status == 403 and b"<Error><Code>AccessDenied</Code>" in body


def test_a_request_changed_after_signing_is_refused(offline, clients):
    creds = target.offline_credentials()
    name = f"tamper-{uuid.uuid4().hex[:8]}"
    good = json.dumps({"QueueName": "harmless"}).encode()
    headers = {"X-Amz-Target": "AmazonSQS.CreateQueue", "Content-Type": "application/x-amz-json-1.0"}

    def swap_body(body, h):
        return json.dumps({"QueueName": name}).encode(), h

    status, _, body = raw(offline, "POST", body=good, headers=headers, creds=creds, tamper=swap_body)
    assert status == 403 and json.loads(body)["__type"].endswith("#SignatureDoesNotMatch")
    assert not exists(clients, "sqs", name)

    def other_day(body, h):
        h = dict(h)
        h["x-amz-date"] = "20200101" + h["x-amz-date"][8:]
        return body, h

    status, _, body = raw(offline, "POST", body=good, headers=headers, creds=creds, tamper=other_day)
    assert status == 403 and "Date in Credential scope does not match" in json.loads(body)["message"]
    status, _, _ = raw(offline, "POST", body=b"{}", headers=SQS_JSON, creds=creds)
    assert status == 200, "the same request, untouched, passes"


def test_clock_skew_beyond_15_minutes(offline):
    creds = target.offline_credentials()
    now = time.time()
    for offset, words in ((-16 * 60, "Signature expired:"), (16 * 60, "Signature not yet current:")):
        status, _, body = raw(offline, "POST", body=b"{}", headers=SQS_JSON, creds=creds, now=now + offset)
        doc = json.loads(body)
        assert status == 403 and doc["__type"].endswith("#SignatureDoesNotMatch") and doc["message"].startswith(words)
        status, _, body = raw(offline, "GET", "/", creds=creds, service="s3", now=now + offset)
        assert status == 403 and b"<Code>RequestTimeTooSkewed</Code>" in body
    for offset in (-14 * 60, 14 * 60):
        assert raw(offline, "POST", body=b"{}", headers=SQS_JSON, creds=creds, now=now + offset)[0] == 200


def test_malformed_authorization_is_an_incomplete_signature(offline):
    status, _, body = raw(offline, "POST", body=b"Action=ListQueues",
                          headers={"Content-Type": "application/x-www-form-urlencoded",
                                   "Authorization": "AWS4-HMAC-SHA256 Credential=AKIAX/20200101/us-east-1/sqs/aws4_request"})
    assert status == 400 and b"<Code>IncompleteSignature</Code>" in body
    status, _, body = raw(offline, "POST", body=b"Action=ListQueues",
                          headers={"Content-Type": "application/x-www-form-urlencoded", "Authorization": "AWS AKIAX:abc"})
    assert status == 400 and b"IncompleteSignature" in body


def test_s3_payloads_as_boto3_sends_them_and_a_body_that_is_not_the_one_signed(offline, clients):
    s3 = clients.s3
    bucket = f"auth-{uuid.uuid4().hex[:10]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a b/c+d", Body=b"x" * 70000)
    s3.upload_fileobj(io.BytesIO(b"y" * 5000), bucket, "streamed")
    assert s3.get_object(Bucket=bucket, Key="a b/c+d")["Body"].read() == b"x" * 70000
    creds = target.offline_credentials()

    def body_swapped(body, h):
        return b"evil", h

    status, _, body = raw(offline, "PUT", f"/{bucket}/k", body=b"good", creds=creds, service="s3", tamper=body_swapped)
    assert status == 400 and b"<Code>XAmzContentSHA256Mismatch</Code>" in body
    h = _resign("PUT", f"{offline.endpoint_url}/{bucket}/unsigned", creds, {"x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    assert raw(offline, "PUT", f"/{bucket}/unsigned", body=b"free", headers=h)[0] == 200
    assert s3.get_object(Bucket=bucket, Key="unsigned")["Body"].read() == b"free"


def test_s3_chunked_upload_is_accepted_on_its_seed_signature(offline, clients):
    """STREAMING-AWS4-HMAC-SHA256-PAYLOAD: the seed signature covers the headers; a wrong one is refused."""
    bucket = f"auth-{uuid.uuid4().hex[:10]}"
    clients.s3.create_bucket(Bucket=bucket)
    creds = target.offline_credentials()
    data = b"z" * 100
    url = f"{offline.endpoint_url}/{bucket}/chunked"
    extra = {"x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD", "content-encoding": "aws-chunked",
             "x-amz-decoded-content-length": str(len(data))}
    h = _resign("PUT", url, creds, extra)
    body = f"{len(data):x};chunk-signature={'0' * 64}\r\n".encode() + data + b"\r\n0;chunk-signature=" + b"0" * 64 + b"\r\n\r\n"
    status, _, out = raw(offline, "PUT", f"/{bucket}/chunked", body=body, headers=h)
    assert status == 200, out
    assert clients.s3.get_object(Bucket=bucket, Key="chunked")["Body"].read() == data
    h = _resign("PUT", url, creds, extra, secret=creds.secret_key[::-1])
    assert raw(offline, "PUT", f"/{bucket}/chunked2", body=body, headers=h)[0] == 403


def _resign(method, url, creds, extra, secret=None):
    """Sign with a declared x-amz-content-sha256 (not the body's digest)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    stamp = sigv4.amz_date(time.time())
    h = {"host": parts.netloc, "x-amz-date": stamp, **extra}
    signed = sorted(h)
    scope = f"{stamp[:8]}/us-east-1/s3/aws4_request"
    creq = sigv4.canonical_request(method, sigv4.canonical_uri(parts.path, "s3"), "", h, signed,
                                  extra["x-amz-content-sha256"])
    import hmac

    sig = hmac.new(sigv4.signing_key(secret or creds.secret_key, stamp[:8], "us-east-1", "s3"),
                   sigv4.string_to_sign(stamp, scope, creq).encode(), hashlib.sha256).hexdigest()
    h["authorization"] = f"{sigv4.ALGORITHM} Credential={creds.access_key}/{scope}, SignedHeaders={';'.join(signed)}, Signature={sig}"
    return h


def test_the_status_route_says_only_the_pid_unsigned(offline):
    status, _, body = raw(offline, "GET", server.STATUS_PATH)
    doc = json.loads(body)
    assert status == 200 and set(doc) == {"pid"}, "unsigned: nothing but what ps shows anyone"
    full = server_status(offline.endpoint_url)
    assert full["pid"] == doc["pid"] and "runtime" in full and "state_dir" in full
    creds = target.offline_credentials()
    status, _, _ = raw(offline, "GET", server.STATUS_PATH, creds=creds, service="sqslab", secret="not-the-secret")
    assert status == 403
    status, _, body = raw(offline, "GET", "/moto-api/data.json")
    assert status == 403, "moto's own routes need a signature too"


ECHO_CREDENTIALS = """
import os
def handler(event, context):
    return {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")}
"""


def test_each_environment_has_temporary_credentials_that_end_with_it(offline, lam, role_arn):
    """Lambda sets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN for the function
    (Lambda Developer Guide, "Defined runtime environment variables"); a request signed with them
    must carry the token; once the environment is gone they open nothing."""
    name = make_function(lam, role_arn, ECHO_CREDENTIALS)
    first = invoke(lam, name)["body"]
    assert first["AWS_ACCESS_KEY_ID"].startswith("ASIA") and first["AWS_SESSION_TOKEN"]
    assert first["AWS_ACCESS_KEY_ID"] != target.offline_credentials().access_key
    as_fn = client_with(offline, "sqs", first["AWS_ACCESS_KEY_ID"], first["AWS_SECRET_ACCESS_KEY"],
                        first["AWS_SESSION_TOKEN"])
    assert as_fn.list_queues()["ResponseMetadata"]["HTTPStatusCode"] == 200
    no_token = client_with(offline, "sqs", first["AWS_ACCESS_KEY_ID"], first["AWS_SECRET_ACCESS_KEY"])
    with pytest.raises(ClientError) as err:
        no_token.list_queues()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId"
    lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"vv": "2"}})
    second = invoke(lam, name)["body"]
    assert second["AWS_ACCESS_KEY_ID"] != first["AWS_ACCESS_KEY_ID"], "a new environment, new credentials"
    with pytest.raises(ClientError) as err:
        as_fn.list_queues()
    assert err.value.response["Error"]["Code"] == "InvalidClientTokenId", "the old environment's credentials ended"


def test_an_unsigned_payload_is_s3s_alone(offline):
    """Signature Version 4, "Create a canonical request": the payload hash is the hex SHA-256 of the body;
    UNSIGNED-PAYLOAD (and the chunked STREAMING-* forms) are Amazon S3's. An SQS request claiming it would
    leave its body unsigned, so it is refused (SignatureDoesNotMatch) and changes nothing."""
    creds = target.offline_credentials()
    url = offline.endpoint_url + "/"
    body = b'{"QueueName": "unsigned-body"}'
    stamp = sigv4.amz_date(time.time())
    h = {"host": url.split("/")[2], "x-amz-date": stamp, "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
         "x-amz-target": "AmazonSQS.CreateQueue", "content-type": "application/x-amz-json-1.0"}
    signed = sorted(h)
    scope = f"{stamp[:8]}/us-east-1/sqs/aws4_request"
    creq = sigv4.canonical_request("POST", "/", "", h, signed, "UNSIGNED-PAYLOAD")
    sig = hmac.new(sigv4.signing_key(creds.secret_key, stamp[:8], "us-east-1", "sqs"),
                   sigv4.string_to_sign(stamp, scope, creq).encode(), hashlib.sha256).hexdigest()
    h["authorization"] = (f"{sigv4.ALGORITHM} Credential={creds.access_key}/{scope}, "
                          f"SignedHeaders={';'.join(signed)}, Signature={sig}")
    req = urllib.request.Request(url, data=body, headers=h, method="POST")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with pytest.raises(urllib.error.HTTPError) as err:
        opener.open(req, timeout=10)
    assert err.value.code == 403 and b"SignatureDoesNotMatch" in err.value.read()
    assert not [u for u in target.client("sqs", offline).list_queues().get("QueueUrls", []) if "unsigned-body" in u]
