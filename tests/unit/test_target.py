"""sqslab.target: offline is the default, AWS only by opt-in, and offline never leaves loopback."""


from __future__ import annotations

import pytest

from sqslab import target
from sqslab.base.errors import SqslabError


def test_default_target_is_offline(monkeypatch):
    monkeypatch.delenv("SQSLAB_TARGET", raising=False)
    assert target.target_name() == "offline"
    monkeypatch.setenv("SQSLAB_TARGET", "AWS")
    assert target.target_name() == "aws"
    assert target.target_name("offline") == "offline"


def test_unknown_target_is_one_clear_line(monkeypatch):
    monkeypatch.setenv("SQSLAB_TARGET", "prod")
    with pytest.raises(SqslabError) as err:
        target.target_name()
    assert "unknown target 'prod'" in str(err.value) and "\n" not in str(err.value)


def test_aws_target_uses_normal_configuration_without_contacting_it(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKINGKEY01")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-looking-secret")
    tgt = target.resolve("aws", region="eu-west-1")
    assert tgt.name == "aws" and tgt.endpoint_url is None and tgt.region == "eu-west-1"
    sess = target.session(tgt)
    assert sess.get_credentials().access_key == "AKIAREALLOOKINGKEY01"


@pytest.mark.parametrize("region", ["mars-1", "US-EAST-1", "us-east-1 "])
def test_an_aws_region_that_does_not_exist_is_one_line(monkeypatch, region):
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_REGION", region)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for given in (None, region):
        with pytest.raises(SqslabError) as err:
            target.resolve("aws", region=given)
        assert f"AWS region {region!r} is not one where SQS runs" in str(err.value) and "\n" not in str(err.value)


def test_nothing_creates_a_client_at_import():
    import subprocess
    import sys

    code = (
        "import boto3, botocore.session, pkgutil, importlib, sqslab\n"
        "calls = []\n"
        "botocore.session.Session.create_client = lambda *a, **k: calls.append(a)\n"
        "for m in pkgutil.walk_packages(sqslab.__path__, 'sqslab.'):\n"
        "    if not m.name.endswith('.worker'):\n"
        "        importlib.import_module(m.name)\n"
        "print(len(calls))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "0"


def test_offline_sessions_resolve_every_service_as_botocore_does_with_a_fraction_of_its_data():
    """An offline session's endpoint resolver holds each service's endpoint in the offline region
    only; every service botocore knows resolves there exactly as with the whole endpoint data
    (hostname, signing region and name, signature versions), FIPS and dual-stack too."""
    import json

    import botocore.session

    whole = botocore.session.Session()._get_internal_component("endpoint_resolver")
    offline = target.offline_botocore_session()._get_internal_component("endpoint_resolver")
    assert offline is target.offline_botocore_session()._get_internal_component("endpoint_resolver")  # made once
    services = sorted(whole._endpoint_data["partitions"][0]["services"])
    assert len(services) > 200 and {"sqs", "lambda", "iam", "s3", "sns"} <= set(services)
    for service in services:
        for variant in ({}, {"use_fips_endpoint": True}, {"use_dualstack_endpoint": True}):
            assert offline.construct_endpoint(service, target.OFFLINE_REGION, **variant) == \
                whole.construct_endpoint(service, target.OFFLINE_REGION, **variant), (service, variant)
    # IAM is global: its partition endpoint is kept
    assert offline.construct_endpoint("iam", target.OFFLINE_REGION)["hostname"] == "iam.amazonaws.com"
    sqs_endpoints = offline._endpoint_data["partitions"][0]["services"]["sqs"]["endpoints"]
    assert list(sqs_endpoints) == [target.OFFLINE_REGION]
    assert len(json.dumps(offline._endpoint_data)) < len(json.dumps(whole._endpoint_data)) / 3
