"""The named moto patches: nested stack outputs in both YAML forms, environment
values as strings, and the guards that fail loudly on changed moto internals."""


from __future__ import annotations

import json
import uuid

import pytest

from sqslab.offline import patches

CHILD = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Prefix: {Type: String}
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${Prefix}-queue"
      VisibilityTimeout: 90
Outputs:
  QueueArn: {Value: !GetAtt Queue.Arn}
  QueueName: {Value: !GetAtt Queue.QueueName}
"""

ECHO = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  QueueName: {Type: String}
  QueueArn: {Type: String}
Resources:
  Topic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${QueueName}-topic"
Outputs:
  Seen: {Value: !Sub "${QueueName}|${QueueArn}"}
"""

PARENT = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  Prefix: {Type: String}
  Bucket: {Type: String}
Resources:
  QueueStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: !Sub "https://${Bucket}.s3.amazonaws.com/child.yaml"
      Parameters:
        Prefix: !Ref Prefix
  EchoStack:
    Type: AWS::CloudFormation::Stack
    Properties:
      TemplateURL: !Sub "https://${Bucket}.s3.amazonaws.com/echo.yaml"
      Parameters:
        QueueName: !GetAtt QueueStack.Outputs.QueueName
        QueueArn:
          Fn::GetAtt: [QueueStack, Outputs.QueueArn]
Outputs:
  ShortForm: {Value: !GetAtt QueueStack.Outputs.QueueName}
  LongForm:
    Value:
      Fn::GetAtt: [QueueStack, Outputs.QueueArn]
  Passed: {Value: !GetAtt EchoStack.Outputs.Seen}
"""


def test_nested_stack_outputs_in_both_yaml_forms(clients):
    bucket = f"nested-{uuid.uuid4().hex[:8]}"
    clients.s3.create_bucket(Bucket=bucket)
    clients.s3.put_object(Bucket=bucket, Key="child.yaml", Body=CHILD.encode())
    clients.s3.put_object(Bucket=bucket, Key="echo.yaml", Body=ECHO.encode())
    prefix = f"p{uuid.uuid4().hex[:6]}"
    stack = f"parent-{prefix}"
    clients.cloudformation.create_stack(
        StackName=stack,
        TemplateBody=PARENT,
        Parameters=[{"ParameterKey": "Prefix", "ParameterValue": prefix},
                    {"ParameterKey": "Bucket", "ParameterValue": bucket}],
    )
    desc = clients.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
    assert desc["StackStatus"] == "CREATE_COMPLETE"
    outputs = {o["OutputKey"]: o["OutputValue"] for o in desc["Outputs"]}
    assert outputs["ShortForm"] == f"{prefix}-queue"
    assert outputs["LongForm"] == f"arn:aws:sqs:us-east-1:123456789012:{prefix}-queue"
    assert outputs["Passed"] == f"{prefix}-queue|arn:aws:sqs:us-east-1:123456789012:{prefix}-queue"
    topics = [t["TopicArn"] for t in clients.sns.list_topics()["Topics"]]
    assert any(t.endswith(f":{prefix}-queue-topic") for t in topics)


ENV_TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Parameters:
  MaxNumberOfMessages: {Type: Number, Default: 10}
  Role: {Type: String}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      FunctionName: !Sub "${AWS::StackName}-fn"
      Runtime: python3.12
      Handler: index.lambda_handler
      Role: !Ref Role
      Environment:
        Variables:
          max_number_of_messages: !Ref MaxNumberOfMessages
          enabled: true
          ratio: 0.5
      Code:
        ZipFile: |
          import os
          def lambda_handler(event, context):
              return {k: os.environ[k] for k in ("max_number_of_messages", "enabled", "ratio")}
"""


def test_cloudformation_numbers_and_booleans_reach_the_function_as_strings(clients, lam, role_arn):
    stack = f"env-{uuid.uuid4().hex[:6]}"
    clients.cloudformation.create_stack(
        StackName=stack, TemplateBody=ENV_TEMPLATE,
        Parameters=[{"ParameterKey": "Role", "ParameterValue": role_arn}],
    )
    name = f"{stack}-fn"
    cfg = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
    assert cfg == {"max_number_of_messages": "10", "enabled": "true", "ratio": "0.5"}
    body = json.loads(lam.invoke(FunctionName=name)["Payload"].read())
    assert body == {"max_number_of_messages": "10", "enabled": "true", "ratio": "0.5"}


def test_every_patch_is_applied_in_the_server(offline):
    from sqslab.offline.server import control as server

    applied = server.status()["runtime"]["patches"]
    assert set(applied) == {p.name for p in patches.PATCHES}


def test_send_message_no_longer_runs_the_mapped_function(clients, lam, role_arn):
    """With moto's own path a send to a queue whose handler sleeps 1 s took over 1 s;
    the offline pollers deliver it after SendMessage has returned."""
    from helpers import make_function

    tag = uuid.uuid4().hex[:8]
    url = clients.sqs.create_queue(QueueName=f"push-{tag}", Attributes={"VisibilityTimeout": "5"})["QueueUrl"]
    arn = clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = make_function(lam, role_arn, "import time\ndef handler(event, context):\n    time.sleep(1)\n", Timeout=3)
    uid = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)["UUID"]
    try:
        import time

        t0 = time.perf_counter()
        clients.sqs.send_message(QueueUrl=url, MessageBody="x")
        assert time.perf_counter() - t0 < 0.5
    finally:
        lam.delete_event_source_mapping(UUID=uid)


def test_a_message_deleted_twice_succeeds_while_its_handle_is_remembered(clients):
    """SQS DeleteMessage: deleting again with the same receipt handle succeeds (the handle is remembered for
    sqs.DELETED_HANDLE_TTL_S); a handle never issued is ReceiptHandleIsInvalid."""
    from botocore.exceptions import ClientError

    url = clients.sqs.create_queue(QueueName=f"twice-{uuid.uuid4().hex[:6]}")["QueueUrl"]
    clients.sqs.send_message(QueueUrl=url, MessageBody="x")
    handle = clients.sqs.receive_message(QueueUrl=url)["Messages"][0]["ReceiptHandle"]
    clients.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    clients.sqs.delete_message(QueueUrl=url, ReceiptHandle=handle)
    with pytest.raises(ClientError) as err:
        clients.sqs.delete_message(QueueUrl=url, ReceiptHandle="z" * 185)
    assert err.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    clients.sqs.delete_queue(QueueUrl=url)


def test_a_stack_carries_a_layer_version_to_its_function(clients, lam, role_arn):
    """CloudFormation template reference: AWS::Lambda::LayerVersion ("Ref returns the ARN of the
    layer version"; LayerName, the layer's name) and AWS::Lambda::Function, Layers ("Specify each
    layer by its ARN, including the version"); deleting the stack deletes the layer version. The
    function imports from the layer's python/ folder, on the runtime's path as on Lambda
    ("Working with layers for Python Lambda functions")."""
    from sqslab.deploy.code_zip import zip_files

    tag = uuid.uuid4().hex[:6]
    bucket, name = f"layer-src-{tag}", f"lay-{tag}"
    clients.s3.create_bucket(Bucket=bucket)
    clients.s3.put_object(Bucket=bucket, Key="layer.zip", Body=zip_files({"python/laylib.py": "ANSWER = 42\n"}))
    template = {
        "Resources": {
            "Layer": {"Type": "AWS::Lambda::LayerVersion", "Properties": {
                "LayerName": name, "CompatibleRuntimes": ["python3.12"],
                "Content": {"S3Bucket": bucket, "S3Key": "layer.zip"}}},
            "Fn": {"Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": f"{name}-fn", "Runtime": "python3.12", "Handler": "index.handler", "Role": role_arn,
                "Code": {"ZipFile": "import laylib\n\ndef handler(event, context):\n    return laylib.ANSWER\n"},
                "Layers": [{"Ref": "Layer"}]}}},
        "Outputs": {"LayerArn": {"Value": {"Ref": "Layer"}}},
    }
    cfn, stack = clients.cloudformation, f"layer-{tag}"
    cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    try:
        outputs = {o["OutputKey"]: o["OutputValue"] for o in cfn.describe_stacks(StackName=stack)["Stacks"][0]["Outputs"]}
        arn = f"arn:aws:lambda:us-east-1:123456789012:layer:{name}:1"
        assert outputs == {"LayerArn": arn}
        assert [x["Arn"] for x in lam.get_function(FunctionName=f"{name}-fn")["Configuration"]["Layers"]] == [arn]
        assert json.loads(lam.invoke(FunctionName=f"{name}-fn")["Payload"].read()) == 42
    finally:
        cfn.delete_stack(StackName=stack)
    assert lam.list_layer_versions(LayerName=name)["LayerVersions"] == []
    clients.s3.delete_object(Bucket=bucket, Key="layer.zip")
    clients.s3.delete_bucket(Bucket=bucket)


def test_a_template_with_resource_types_offline_cloudformation_does_not_create_is_refused(clients):
    """CloudFormation User Guide, template anatomy (Resources: Type); CreateStack refuses a template whose
    types it does not know: "Template format error: Unrecognized resource types: [...]". moto skipped
    such a resource and completed the stack without it; offline they are refused (patch
    cfn_unknown_types_refused) at CreateStack, UpdateStack and CreateChangeSet, before anything is made."""
    from botocore.exceptions import ClientError

    cfn, sqs = clients.cloudformation, clients.sqs
    name = f"unknown-{uuid.uuid4().hex[:8]}"
    queue = {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-q"}}
    policy = {"Type": "AWS::SQS::QueuePolicy", "Properties": {"Queues": [{"Ref": "Q"}], "PolicyDocument": {
        "Version": "2012-10-17", "Statement": []}}}
    vpc = {"Type": "AWS::EC2::VPC", "Properties": {"CidrBlock": "10.0.0.0/16"}}

    def refused(call, **kwargs):
        with pytest.raises(ClientError) as err:
            call(**kwargs)
        assert err.value.response["Error"]["Code"] == "ValidationError"
        return err.value.response["Error"]["Message"]

    message = refused(cfn.create_stack, StackName=name,
                      TemplateBody=json.dumps({"Resources": {"Q": queue, "P": policy, "V": vpc}}))
    assert message.startswith("Template format error: Unrecognized resource types: [AWS::EC2::VPC, AWS::SQS::QueuePolicy]")
    assert f"{name}-q" not in " ".join(sqs.list_queues(QueueNamePrefix=name).get("QueueUrls", []))
    with pytest.raises(ClientError):
        cfn.describe_stacks(StackName=name)
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {"Q": queue}}))
    try:
        assert "QueuePolicy" in refused(cfn.update_stack, StackName=name,
                                        TemplateBody=json.dumps({"Resources": {"Q": queue, "P": policy}}))
        assert "QueuePolicy" in refused(cfn.create_change_set, StackName=name, ChangeSetName="more",
                                        TemplateBody=json.dumps({"Resources": {"Q": queue, "P": policy}}))
        assert [r["LogicalResourceId"] for r in cfn.describe_stack_resources(StackName=name)["StackResources"]] == ["Q"]
    finally:
        cfn.delete_stack(StackName=name)
