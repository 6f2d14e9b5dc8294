"""AWS Signature Version 4 as the offline server computes it again, without a server: the
IAM User Guide's documented example ("Create a signed AWS API request", the IAM
ListUsers request), and botocore's own signatures for every service the series uses
verifying, at a small cost per request (tests/integration/test_auth.py sends them)."""

from __future__ import annotations

import hashlib
import statistics
import time

import pytest

from sqslab.offline.auth import keystore, sigv4


def test_aws_documented_example():
    """IAM User Guide, "Create a signed AWS API request": GET ?Action=ListUsers&Version=2010-05-08
    on iam.amazonaws.com at 20150830T123600Z with the example secret; the signing key, the
    canonical request's hash and the signature AWS documents."""
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    key = sigv4.signing_key(secret, "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
    headers = {"content-type": "application/x-www-form-urlencoded; charset=utf-8", "host": "iam.amazonaws.com",
               "x-amz-date": "20150830T123600Z"}
    creq = sigv4.canonical_request("GET", "/", sigv4.canonical_query("Version=2010-05-08&Action=ListUsers"), headers,
                                  sorted(headers), sigv4.EMPTY_SHA256)
    assert hashlib.sha256(creq.encode()).hexdigest() == "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59"
    signature = "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    store = keystore.KeyStore()
    store.add(keystore.Principal("AKIDEXAMPLE", secret))
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/?Action=ListUsers&Version=2010-05-08",
               "CONTENT_TYPE": headers["content-type"], "HTTP_HOST": "iam.amazonaws.com",
               "HTTP_X_AMZ_DATE": "20150830T123600Z",
               "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
                                     f"SignedHeaders=content-type;host;x-amz-date, Signature={signature}"}
    verifier = sigv4.Verifier(store, clock=lambda: 1440938160.0)  # 2015-08-30T12:36:00Z
    assert verifier.check(sigv4.request_of(environ), lambda: b"").access_key == "AKIDEXAMPLE"
    environ["HTTP_AUTHORIZATION"] = environ["HTTP_AUTHORIZATION"][:-1] + "8"
    with pytest.raises(sigv4.AuthError) as err:
        verifier.check(sigv4.request_of(environ), lambda: b"")
    assert err.value.kind == "signature"


def test_botocore_signatures_verify_for_every_service_and_cost_little():
    """botocore's own SigV4 signer (what boto3 and the AWS CLI use) against the check, in this
    process; the check's median cost stays far below a millisecond (the signing key is cached)."""
    from botocore.auth import S3SigV4Auth, SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    store = keystore.KeyStore()
    p = store.add(keystore.Principal(keystore.access_key_id(), keystore.secret_key()))
    verifier = sigv4.Verifier(store)
    cases = [
        ("sqs", "POST", "http://127.0.0.1:5151/", b'{"QueueUrl": "x"}', {"X-Amz-Target": "AmazonSQS.SendMessage"}),
        ("lambda", "POST", "http://127.0.0.1:5151/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/invocations",
         b"{}", {}),
        ("s3", "PUT", "http://127.0.0.1:5151/bucket/a%20b/c%2Bd?tagging=&x=1", b"data", {}),
        ("cloudformation", "POST", "http://127.0.0.1:5151/", b"Action=ListStacks&Version=2010-05-15",
         {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}),
        ("iam", "GET", "http://127.0.0.1:5151/?Action=ListRoles&Marker=a%2Fb%3D&Version=2010-05-08", b"", {}),
    ]
    times = []
    for service, method, url, body, headers in cases:
        req = AWSRequest(method=method, url=url, data=body, headers=headers)
        signer = S3SigV4Auth if service == "s3" else SigV4Auth
        signer(Credentials(p.access_key, p.secret_key), service, "us-east-1").add_auth(req)
        path_query = url.split("5151", 1)[1]
        environ = {"REQUEST_METHOD": method, "RAW_URI": path_query, "HTTP_HOST": "127.0.0.1:5151"}
        for k, v in req.headers.items():
            v = v.decode() if isinstance(v, bytes) else v
            key = k.upper().replace("-", "_")
            environ[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else "HTTP_" + key] = v
        for _ in range(50):
            t0 = time.perf_counter()
            assert verifier.check(sigv4.request_of(environ), lambda body=body: body) is p, service
            times.append(time.perf_counter() - t0)
    assert statistics.median(times) < 0.0005, f"median check {statistics.median(times) * 1e6:.0f} µs"


@pytest.mark.parametrize("text", ["garbage\n", "", "[default]\n", "[default]\naws_access_key_id = K\n", "\udcff"])
def test_a_damaged_credentials_file_is_one_line(tmp_path, text):
    """The offline server's credentials file damaged in any way: one line naming the file and the fix,
    whatever configparser would have said over several lines."""
    from sqslab.base.errors import SqslabError
    from sqslab.offline.auth import identity

    path = identity.credentials_path(tmp_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    path.chmod(0o600)
    with pytest.raises(SqslabError) as err:
        identity.load_credentials(tmp_path)
    assert "\n" not in str(err.value) and "is damaged" in str(err.value) and "delete it and restart" in str(err.value)
