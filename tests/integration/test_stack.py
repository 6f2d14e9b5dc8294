"""Deploy, update, no-op, bad input, failure summaries and teardown of the article's
stack, offline; both template layouts deploy the same thing."""


from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid

import pytest
from helpers import run_sqslab

from sqslab.base.errors import DeployError, SqslabError
from sqslab.deploy import stack, template

pytestmark = pytest.mark.usefixtures("offline")


def unique(prefix="t"):
    return f"{prefix}{uuid.uuid4().hex[:6]}"


def queue_attrs(clients, name):
    url = clients.sqs.get_queue_url(QueueName=name)["QueueUrl"]
    return clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]


def artifact_keys(clients, stack_name):
    bucket = "sqslab-artifacts-123456789012-us-east-1"
    try:
        return [o["Key"] for o in clients.s3.list_objects_v2(Bucket=bucket, Prefix=f"{stack_name}/").get("Contents", [])]
    except clients.s3.exceptions.NoSuchBucket:
        return []


def test_deploy_again_unchanged_then_update(clients):
    name, prefix = unique("stk-"), unique("p")
    t0 = time.monotonic()
    first = stack.deploy(stack_name=name, params={"Prefix": prefix}, progress=False)
    print(f"\ncreate took {time.monotonic() - t0:.2f} s")
    assert first.action == "created" and first.status == "CREATE_COMPLETE"
    assert first.outputs["QueueName"] == f"{prefix}-queue"
    assert {first.outputs[f"Function{i}Name"] for i in (1, 2, 3)} == {f"{prefix}-function{i}" for i in (1, 2, 3)}
    attrs = queue_attrs(clients, f"{prefix}-queue")
    assert attrs["VisibilityTimeout"] == "90" and attrs["ReceiveMessageWaitTimeSeconds"] == "20"

    again = stack.deploy(stack_name=name, params={"Prefix": prefix}, progress=False)
    assert again.action == "unchanged"

    changed = stack.deploy(stack_name=name, params={"Prefix": prefix, "VisibilityTimeout": "30"}, progress=False)
    assert changed.action == "updated"
    assert queue_attrs(clients, f"{prefix}-queue")["VisibilityTimeout"] == "30"
    env = clients.__getattr__("lambda").get_function_configuration(FunctionName=f"{prefix}-function2")["Environment"]
    assert env["Variables"]["visibility_timeout"] == "30"

    report = stack.teardown(name, progress=False)
    assert report["stack_deleted"] and report["artifacts_deleted"] >= 3
    assert stack.describe(clients.cloudformation, name) is None
    assert artifact_keys(clients, name) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"Colour": "blue"}, "unknown parameter 'Colour'"),
        ({"VisibilityTimeout": "50000"}, "VisibilityTimeout 50000 is out of range: AWS allows 0 to 43200"),
        ({"ReceiveMessageWaitTimeSeconds": "25"}, "ReceiveMessageWaitTimeSeconds 25 is out of range: AWS allows 0 to 20"),
        ({"MaxNumberOfMessages": "ten"}, "MaxNumberOfMessages must be a number"),
        ({"Runtime": "python2.7"}, "Runtime 'python2.7' is not allowed"),
    ],
)
def test_bad_parameters_deploy_nothing(clients, params, expected):
    name = unique("bad-")
    with pytest.raises(SqslabError) as err:
        stack.deploy(stack_name=name, params={"Prefix": unique("p"), **params}, progress=False)
    assert expected in str(err.value) and "\n" not in str(err.value)
    assert stack.describe(clients.cloudformation, name) is None
    assert artifact_keys(clients, name) == []


def test_template_failing_cfn_lint_deploys_nothing(clients, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(
        "Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties:\n      VisibilityTimeOut: 90\n"
    )
    name = unique("lint-")
    with pytest.raises(DeployError) as err:
        stack.deploy(broken, stack_name=name, progress=False)
    assert "fails cfn-lint" in str(err.value) and "VisibilityTimeOut" in str(err.value)
    assert stack.describe(clients.cloudformation, name) is None


def test_failed_resource_is_summarised_and_nothing_is_left(clients, tmp_path, role_arn):
    tpl = tmp_path / "fails.yaml"
    prefix = unique("f")
    tpl.write_text(f"""
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: {prefix}-queue}}
  Broken:
    Type: AWS::Lambda::Function
    DependsOn: Queue
    Properties:
      FunctionName: {prefix}-fn
      Runtime: python3.12
      Handler: index.handler
      Role: {role_arn}
      Code: {{S3Bucket: no-such-bucket-{prefix}, S3Key: code.zip}}
""")
    name = unique("fail-")
    with pytest.raises(DeployError) as err:
        stack.deploy(tpl, stack_name=name, progress=False)
    msg = str(err.value)
    assert "Broken (AWS::Lambda::Function) failed" in msg and "NoSuchBucket" in msg
    assert "deleted" in msg
    assert stack.describe(clients.cloudformation, name) is None
    assert not any(u.endswith(f"/{prefix}-queue") for u in clients.sqs.list_queues().get("QueueUrls", []))


def test_short_function_timeout_warns():
    doc = template.load_template(template.DEFAULT_TEMPLATE)
    _, warnings = template.check_stack_parameters(doc, {"Timeout": "10"})
    assert len(warnings) == 1 and "time out mid-poll" in warnings[0]
    assert template.check_stack_parameters(doc, {})[1] == []


def _summary(clients, prefix):
    lam = clients.__getattr__("lambda")
    attrs = queue_attrs(clients, f"{prefix}-queue")
    queue = {k: attrs[k] for k in ("VisibilityTimeout", "ReceiveMessageWaitTimeSeconds", "MessageRetentionPeriod")}
    functions = {}
    for i in (1, 2, 3):
        cfg = lam.get_function_configuration(FunctionName=f"{prefix}-function{i}")
        env = {k: v.replace(prefix, "PREFIX") for k, v in cfg["Environment"]["Variables"].items()}
        functions[i] = (cfg["Runtime"], cfg["Handler"], cfg["MemorySize"], cfg["Timeout"], env)
    return queue, functions


def role_actions(clients, stack_name, logical_role):
    """The SQS actions a deployed function's role allows, and on which resources, read back from IAM."""
    resources = clients.cloudformation.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    role = next(r["PhysicalResourceId"] for r in resources if r["LogicalResourceId"] == logical_role)
    role_name = role.split("/")[-1]
    actions, targets = set(), set()
    for pname in clients.iam.list_role_policies(RoleName=role_name)["PolicyNames"]:
        doc = clients.iam.get_role_policy(RoleName=role_name, PolicyName=pname)["PolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        for st in doc["Statement"]:
            acts = st["Action"] if isinstance(st["Action"], list) else [st["Action"]]
            actions.update(acts)
            targets.update(st["Resource"] if isinstance(st["Resource"], list) else [st["Resource"]])
    managed = [p["PolicyArn"] for p in clients.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]]
    return actions, targets, managed


def test_least_privilege_read_back_from_the_deployed_stack(clients):
    name, prefix = unique("iam-"), unique("p")
    result = stack.deploy(stack_name=name, params={"Prefix": prefix}, progress=False)
    arn = result.outputs["QueueArn"]
    a1, r1, m1 = role_actions(clients, name, "Function1Role")
    a2, r2, m2 = role_actions(clients, name, "Function2Role")
    a3, r3, m3 = role_actions(clients, name, "Function3Role")
    assert a1 == {"sqs:GetQueueUrl", "sqs:SendMessage"}
    assert a2 == {"sqs:GetQueueUrl", "sqs:ReceiveMessage"}
    assert "sqs:DeleteMessage" not in a2
    assert a3 == {"sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:DeleteMessage"}
    assert r1 == r2 == r3 == {arn}
    for managed in (m1, m2, m3):
        assert managed == ["arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"]
    stack.teardown(name, progress=False)


def test_nested_layout_deploys_the_same_stack(clients):
    single_name, single_prefix = unique("single-"), unique("s")
    nested_name, nested_prefix = unique("nested-"), unique("n")
    single = stack.deploy(template.DEFAULT_TEMPLATE, single_name, {"Prefix": single_prefix}, progress=False)
    t0 = time.monotonic()
    nested = stack.deploy(template.NESTED_TEMPLATE, nested_name, {"Prefix": nested_prefix}, progress=False)
    print(f"\nnested create took {time.monotonic() - t0:.2f} s")
    assert nested.action == "created"
    assert set(nested.outputs) == set(single.outputs)
    assert _summary(clients, single_prefix) == _summary(clients, nested_prefix)
    assert stack.deploy(template.NESTED_TEMPLATE, nested_name, {"Prefix": nested_prefix}, progress=False).action == "unchanged"
    # Policies: read back from the child stacks' roles.
    children = {
        r["LogicalResourceId"]: r["PhysicalResourceId"]
        for r in clients.cloudformation.list_stack_resources(StackName=nested_name)["StackResourceSummaries"]
    }
    for i, logical in ((1, "Lambda1Stack"), (2, "Lambda2Stack"), (3, "Lambda3Stack")):
        child = children[logical].split("/")[1] if children[logical].startswith("arn:") else children[logical]
        nested_actions, nested_res, _ = role_actions(clients, child, "Role")
        single_actions, _, _ = role_actions(clients, single_name, f"Function{i}Role")
        assert nested_actions == single_actions
        assert nested_res == {nested.outputs["QueueArn"]}
    stack.teardown(single_name, progress=False)
    stack.teardown(nested_name, progress=False)
    assert stack.describe(clients.cloudformation, nested_name) is None


def run_cli(*args):
    return run_sqslab(*args, timeout=300)


def test_cli_deploy_invoke_logs_teardown(clients):
    name, prefix = unique("cli-"), unique("c")
    dep = run_cli("deploy", "--stack-name", name, "--param", f"Prefix={prefix}", "--param", "ReceiveMessageWaitTimeSeconds=1")
    assert dep.returncode == 0, dep.stderr
    assert "created" in dep.stdout and f"{prefix}-queue" in dep.stdout
    assert "unchanged" in run_cli("deploy", "--stack-name", name, "--param", f"Prefix={prefix}",
                                  "--param", "ReceiveMessageWaitTimeSeconds=1").stdout
    inv = run_cli("invoke", "function1", "--stack-name", name)
    assert inv.returncode == 0 and "Duration" in inv.stdout
    got = run_cli("invoke", "function3", "--stack-name", name)
    assert got.returncode == 0
    assert len(json.loads(got.stdout[: got.stdout.rindex("]") + 1])) == 1
    logs = run_cli("logs", "function3", "--stack-name", name, "--format", "json")
    rows = json.loads(logs.stdout)
    assert any(r["message"].startswith("REPORT ") for r in rows)
    assert any('"event": "delete"' in r["message"] for r in rows)
    csv_out = run_cli("logs", "function1", "--stack-name", name, "--format", "csv", "--since", "10m").stdout
    assert csv_out.splitlines()[0] == "time,stream,message"
    td = run_cli("teardown", "--stack-name", name)
    assert td.returncode == 0 and "stack deleted" in td.stdout


def test_cli_aws_errors_are_one_line(tmp_path):
    """The aws target without credentials: one line, no traceback (nothing is contacted: no credentials)."""
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update({"AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
                "AWS_REGION": "eu-west-1", "AWS_EC2_METADATA_DISABLED": "true"})
    result = subprocess.run([sys.executable, "-m", "sqslab.cli", "teardown", "--target", "aws"],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "sqslab: no AWS credentials found: configure them (aws configure, AWS_PROFILE) or use the offline target"
    ]


def test_cfn_lint_warnings_are_reported_but_do_not_block(clients, tmp_path):
    tpl = tmp_path / "warn.yaml"
    tpl.write_text("Parameters:\n  Unused: {Type: String, Default: x}\nResources:\n  Queue:\n    Type: AWS::SQS::Queue\n")
    name = unique("warn-")
    result = stack.deploy(tpl, stack_name=name, progress=False)
    assert result.action == "created"
    assert any(w.startswith("cfn-lint: ") and "W2001" in w and "Unused" in w for w in result.warnings)
    stack.teardown(name, progress=False)


def test_lint_findings_are_kept_per_text_and_cfn_lint_version(tmp_path, monkeypatch):
    """A deploy that finds the stack unchanged need not start cfn-lint again: the findings for a
    template text are read from the cache; a damaged entry is linted again."""
    import cfnlint.api

    from sqslab.deploy import template

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    text = template.render(template.load_template(template.DEFAULT_TEMPLATE)) + "\n"  # a text of its own
    template._lint_text.cache_clear()
    first = template._lint_text(text, "us-east-1")
    (entry,) = (tmp_path / "sqslab" / "cfn-lint").glob("*.json")
    template._lint_text.cache_clear()

    def no_lint(*args, **kwargs):
        raise AssertionError("cfn-lint ran although its findings were kept")

    monkeypatch.setattr(cfnlint.api, "lint", no_lint)
    assert template._lint_text(text, "us-east-1") == first
    entry.write_text("{not json")
    template._lint_text.cache_clear()
    with pytest.raises(AssertionError, match="cfn-lint ran"):
        template._lint_text(text, "us-east-1")
    template._lint_text.cache_clear()


LAYER_TEMPLATE = """
Resources:
  Role:
    Type: AWS::IAM::Role
    Properties:
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement: [{Effect: Allow, Principal: {Service: lambda.amazonaws.com}, Action: sts:AssumeRole}]
  YamlLayer:
    Type: AWS::Lambda::LayerVersion
    Properties:
      LayerName: !Sub "${AWS::StackName}-yaml"
      CompatibleRuntimes: [python3.12]
      Content: layer
  Reader:
    Type: AWS::Lambda::Function
    Properties:
      Runtime: python3.12
      Handler: index.handler
      Role: !GetAtt Role.Arn
      Code: reader
      Layers: [!Ref YamlLayer]
Outputs:
  ReaderName:
    Value: !Ref Reader
"""


def test_a_layer_built_from_installed_packages_is_deployed_with_its_stack(lam, tmp_path):
    """A template's layer whose Content is a folder with a requirements.txt is built from the
    distributions installed here and packaged like function code; the function imports from it
    (Lambda's runtime has no PyYAML of its own: "Working with layers for Python Lambda
    functions"); the stack's teardown deletes the layer version with it."""
    (tmp_path / "layer").mkdir()
    (tmp_path / "layer" / "requirements.txt").write_text("PyYAML\n")
    (tmp_path / "reader").mkdir()
    (tmp_path / "reader" / "index.py").write_text(
        "import yaml\n\n\ndef handler(event, context):\n    return yaml.safe_load(event['text'])\n")
    (tmp_path / "template.yaml").write_text(LAYER_TEMPLATE)
    name = f"layer-{uuid.uuid4().hex[:6]}"
    result = stack.deploy(tmp_path / "template.yaml", stack_name=name, progress=False)
    try:
        reader = result.outputs["ReaderName"]
        got = lam.invoke(FunctionName=reader, Payload=json.dumps({"text": "a: [1, 2]"}))
        assert json.loads(got["Payload"].read()) == {"a": [1, 2]}
        lam.update_function_configuration(FunctionName=reader, Layers=[])  # without it, no yaml
        lam.get_waiter("function_updated_v2").wait(FunctionName=reader)
        failed = lam.invoke(FunctionName=reader, Payload=json.dumps({"text": "a: 1"}))
        assert failed.get("FunctionError") == "Unhandled"
        assert json.loads(failed["Payload"].read())["errorType"] == "Runtime.ImportModuleError"
    finally:
        stack.teardown(name, progress=False)
    assert lam.list_layer_versions(LayerName=f"{name}-yaml")["LayerVersions"] == []
