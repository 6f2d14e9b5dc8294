"""What the offline server holds: its CloudFormation parser loads without the services the series
does not deploy (patch cfn_models_of_series_services: EC2's models and those built on them, API
Gateway's), finding a request's account makes no IAM backend (patch
iam_account_lookup_in_existing_partitions), and naming a service's regions keeps neither its
model nor botocore's endpoint data (patch regions_without_service_models, sqslab.offline.regions). Checked in a fresh interpreter, as the server starts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

INFRA = Path(__file__).resolve().parents[2] / "infra"


def series_types() -> set[str]:
    found = {m for path in INFRA.glob("*.yaml") for m in re.findall(r"Type: *(AWS::\w+::\w+)", path.read_text())}
    assert "AWS::SQS::Queue" in found and len(found) >= 8
    return found

PROBE = r"""
import json, sys
from sqslab.offline import patches
from sqslab.offline.patches.cloudformation import LEFT_OUT
done = patches.apply_all()["cfn_models_of_series_services"]
loaded_after_patches = sorted(s for s in LEFT_OUT if f"moto.{s}.models" in sys.modules)
from moto.cloudformation import parsing
from moto.cloudformation.parsing import get_model_map
types = get_model_map()
tagged = isinstance(object(), parsing.TaggedEC2Resource)
ec2_loaded = "moto.ec2.models" in sys.modules
ssm_regions = type(parsing.ssm_backends["123456789012"]).__name__   # an SSM parameter: moto.ssm loads then
print(json.dumps({"done": done, "loaded": loaded_after_patches, "tagged": tagged, "ssm": ssm_regions,
                  "ssm_loaded": "moto.ssm.models" in sys.modules, "ec2_loaded": ec2_loaded,
                  "types": sorted(types)}))
"""


def test_cloudformation_parser_loads_without_the_services_left_out():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120, check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["done"] == "CloudFormation's parser loaded without 12 services' models"
    assert got["loaded"] == []
    # every resource type of the series' templates is known, and the light services' too
    assert series_types() <= set(got["types"])
    assert {"AWS::KMS::Key", "AWS::Events::Rule", "AWS::Lambda::Permission"} <= set(got["types"])
    assert not any(t.startswith(("AWS::EC2::", "AWS::RDS::", "AWS::ApiGateway::")) for t in got["types"])
    # a stand-in's name loads the real module when it is used, and not before
    assert got["tagged"] is False and got["ec2_loaded"] is False
    assert got["ssm"] == "AccountSpecificBackend" and got["ssm_loaded"] is True


ACCOUNT_PROBE = r"""
import json
from sqslab.offline import patches
patches.apply_all()
from moto.iam import models
iam = models.iam_backends["111122223333"]["aws"]          # one account's backend in the aws partition
key = iam.create_access_key(iam.create_user("u", "/", None).name)
before = {a: sorted(acct.keys()) for a, acct in models.iam_backends.items()}
found = models.get_account_id_from(key.access_key_id)
unknown = models.get_account_id_from("AKIANOTAKEY000000000")
after = {a: sorted(acct.keys()) for a, acct in models.iam_backends.items()}
print(json.dumps({"found": found, "unknown": unknown, "before": before, "after": after,
                  "default": models.DEFAULT_ACCOUNT_ID}))
"""


def test_a_requests_account_is_found_without_making_iam_backends():
    """IAM, access keys: a key belongs to one account. moto's lookup read every partition's IAM
    backend of every account, making each (a copy of AWS's managed policies) on the way."""
    out = subprocess.run([sys.executable, "-c", ACCOUNT_PROBE], capture_output=True, text=True, timeout=120,
                         check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["found"] == "111122223333"
    assert got["unknown"] == got["default"]
    assert got["after"] == got["before"] == {"111122223333": ["aws"]}



REGIONS_PROBE = r"""
import json
from sqslab.offline import patches
patches.apply_all()
from moto.core.base_backend import AccountSpecificBackend
from moto.sqs.models import sqs_backends
from moto.awslambda.models import lambda_backends
from moto.logs.models import logs_backends
from moto.ses.models import ses_backends
made = {name: list(backends["123456789012"].regions)
        for name, backends in (("sqs", sqs_backends), ("lambda", lambda_backends), ("logs", logs_backends),
                               ("ses", ses_backends))}
sessions_made = AccountSpecificBackend.get_session.cache_info().currsize
from sqslab.offline.auth.middleware import valid_regions
from botocore.loaders import create_loader
every_region = sorted(r for p in create_loader().load_data("endpoints")["partitions"] for r in p["regions"])
import boto3
session = boto3.Session()   # botocore's own answer, from a session of this probe's
want = {name: [r for p in session.get_available_partitions() for r in session.get_available_regions(name, partition_name=p)]
        for name in made}
print(json.dumps({"made": made, "want": want, "sessions_made": sessions_made,
                  "valid": sorted(valid_regions()), "every_region": every_region}))
"""


def test_a_services_regions_are_botocores_without_keeping_its_session():
    """moto makes a backend per region botocore lists for the service, every partition in turn. The
    regions are the same (SES, whose endpoint prefix is "email", has fewer); no session is kept."""
    out = subprocess.run([sys.executable, "-c", REGIONS_PROBE], capture_output=True, text=True, timeout=120,
                         check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["made"] == got["want"]
    assert "us-east-1" in got["made"]["sqs"] and "cn-north-1" in got["made"]["sqs"]
    assert 0 < len(got["made"]["ses"]) < len(got["made"]["sqs"])
    assert got["sessions_made"] == 0
    # the signature check's regions (a request signed for another is refused) come from the same table
    assert got["valid"] == got["every_region"] and "us-gov-west-1" in got["valid"]


POLICIES_PROBE = r"""
import json, os, sys
os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"   # as the server sets it
from sqslab.offline import patches
patches.apply_all()
from moto.iam import models
held_after_patches = "moto.iam.aws_managed_policies" in sys.modules
first = models.iam_backends["123456789012"]["aws"]
basic = first.get_policy("arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")
second = models.iam_backends["111122223333"]["aws"]          # another account parses the text again
print(json.dumps({"held_after_patches": held_after_patches, "first": len(first.aws_managed_policies),
                  "second": len(second.aws_managed_policies),
                  "held": "moto.iam.aws_managed_policies" in sys.modules or models.aws_managed_policies_data is not None,
                  "basic": json.loads(first.get_policy_version(basic.arn, basic.default_version_id).document)}))
"""


def test_aws_managed_policies_are_kept_parsed_not_as_their_text():
    """IAM, AWS managed policies: they exist in every account (AWSLambdaBasicExecutionRole grants
    CloudWatch Logs' CreateLogGroup, CreateLogStream and PutLogEvents). moto's 4.7 MB JSON text of
    them is let go once an account's are parsed (patch iam_managed_policies_text_released)."""
    out = subprocess.run([sys.executable, "-c", POLICIES_PROBE], capture_output=True, text=True, timeout=120,
                         check=True)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["held_after_patches"] is False and got["held"] is False
    assert got["first"] == got["second"] > 1000
    actions = {a for statement in got["basic"]["Statement"] for a in statement["Action"]}
    assert {"logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"} <= actions
