"""The real-AWS code path (target "aws"), exercised against the offline emulator.

The aws target reads the ordinary AWS configuration; here that configuration
points at the emulator (AWS_ENDPOINT_URL on loopback, fake keys, a region other
than us-east-1), and every connection is checked to stay on loopback. Nothing
here can reach AWS.
"""


from __future__ import annotations

import socket
import uuid

import pytest

from sqslab import target
from sqslab.deploy import stack
from sqslab.lab.handle import Lab


@pytest.fixture
def aws_env_pointing_at_emulator(offline, monkeypatch, tmp_path):
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", offline.endpoint_url)
    creds = target.offline_credentials()  # the emulator's own: it takes no other
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", creds.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", creds.secret_key)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    connected = []
    real_connect = socket.socket.connect

    def spy(self, address):
        connected.append(address)
        if address[0] not in ("127.0.0.1", "::1"):
            raise AssertionError(f"a connection to {address} was attempted")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    yield connected
    assert connected and all(a[0] in ("127.0.0.1", "::1") for a in connected)


def test_aws_target_deploy_invoke_teardown(aws_env_pointing_at_emulator, clients):
    tgt = target.resolve("aws")
    assert tgt.name == "aws" and tgt.region == "eu-west-1" and tgt.endpoint_url is None
    name, prefix = f"aws-{uuid.uuid4().hex[:6]}", f"a{uuid.uuid4().hex[:6]}"
    result = stack.deploy(stack_name=name, params={"Prefix": prefix, "ReceiveMessageWaitTimeSeconds": 1},
                          target="aws", progress=False)
    assert result.action == "created"
    assert result.bucket == "sqslab-artifacts-123456789012-eu-west-1"
    assert ":eu-west-1:" in result.outputs["QueueArn"]
    s3 = target.client("s3", "aws")
    assert s3.get_bucket_location(Bucket=result.bucket)["LocationConstraint"] == "eu-west-1"
    sent = Lab.of(name, "aws").invoke("function1", progress=False)
    got = Lab.of(name, "aws").invoke("function3", progress=False)
    assert got.body == [sent.body["Successful"][0]["Id"]]
    report = stack.teardown(name, target="aws", progress=False)
    assert report["stack_deleted"] and report["bucket_deleted"]
    assert result.bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_aws_target_with_a_bucket_the_user_gives(aws_env_pointing_at_emulator):
    s3 = target.client("s3", "aws")
    bucket = f"my-own-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    name, prefix = f"own-{uuid.uuid4().hex[:6]}", f"o{uuid.uuid4().hex[:6]}"
    result = stack.deploy(stack_name=name, params={"Prefix": prefix}, target="aws", bucket=bucket, progress=False)
    assert result.bucket == bucket
    report = stack.teardown(name, target="aws", bucket=bucket, progress=False)
    assert report["artifacts_deleted"] == 3 and not report["bucket_deleted"]
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]], "a bucket the user gave is never deleted"


def test_a_bucket_the_user_names_must_exist(aws_env_pointing_at_emulator):
    with pytest.raises(stack.SqslabError, match="does not exist"):
        stack.deploy(stack_name="nobucket", target="aws", bucket=f"missing-{uuid.uuid4().hex[:8]}", progress=False)
    assert stack.describe(target.client("cloudformation", "aws"), "nobucket") is None
