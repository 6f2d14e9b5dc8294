"""The idempotency stack (infra/idempotency.yaml, ``--template idempotency``, chapter 09): its
DynamoDB tables as Powertools expects them, the Powertools layer built from the installed
copy and the only way the idempotent consumer can import it, least-privilege roles checked
by the emulator on DynamoDB calls, and a teardown that leaves nothing."""


from __future__ import annotations

import json
import uuid

from sqslab.deploy import stack
from sqslab.lab import resources


def _invoke(lam, function, body):
    event = {"Records": [{"messageId": uuid.uuid4().hex, "body": json.dumps(body),
                          "attributes": {"ApproximateReceiveCount": "1"}}]}
    return lam.invoke(FunctionName=function, Payload=json.dumps(event))


def test_the_layer_the_tables_and_the_roles(clients):
    """Lambda Developer Guide, "Working with layers for Python Lambda functions" (a layer's python/ folder
    on the import path; without the layer the import fails); the idempotency table keyed as Powertools expects; IAM: the
    plain consumer's role has no right on the idempotency table (AccessDenied, evaluated by the emulator)."""
    name, prefix = f"id-{uuid.uuid4().hex[:6]}", f"id{uuid.uuid4().hex[:6]}"
    lam, ddb = getattr(clients, "lambda"), clients.dynamodb
    out = stack.deploy("idempotency", name, {"Prefix": prefix, "VisibilityTimeout": 5}, progress=False).outputs
    try:
        key = ddb.describe_table(TableName=out["IdempotencyTableName"])["Table"]["KeySchema"]
        assert key == [{"AttributeName": "id", "KeyType": "HASH"}]  # Powertools' default key attribute
        layer_name, version = out["PowertoolsLayerArn"].rsplit(":", 1)
        assert lam.get_layer_version(LayerName=layer_name, VersionNumber=int(version))["LayerVersionArn"] == \
            out["PowertoolsLayerArn"]
        fn = out["IdempotentFunctionName"]
        assert [x["Arn"] for x in lam.get_function_configuration(FunctionName=fn)["Layers"]] == [out["PowertoolsLayerArn"]]
        order = {"order_id": f"t-{uuid.uuid4().hex[:6]}", "amount": 5}
        for _ in range(2):  # the same order twice: charged once
            got = _invoke(lam, fn, order)
            assert "FunctionError" not in got and json.loads(got["Payload"].read()) == {"batchItemFailures": []}
        item = ddb.get_item(TableName=out["OrdersTableName"], Key={"order_id": {"S": order["order_id"]}})["Item"]
        assert item["charges"] == {"N": "1"}
        # Powertools comes from the layer only: without it the handler cannot import it
        lam.update_function_configuration(FunctionName=fn, Layers=[])
        lam.get_waiter("function_updated_v2").wait(FunctionName=fn)
        got = _invoke(lam, fn, order)
        assert got.get("FunctionError") and "aws_lambda_powertools" in got["Payload"].read().decode()
        # the plain consumer's role may update the orders table, nothing on the idempotency table
        plain = out["PlainFunctionName"]
        code = ("import boto3, os\n"
                "def handler(event, context):\n"
                "    try:\n"
                f"        boto3.client('dynamodb').get_item(TableName='{out['IdempotencyTableName']}', "
                "Key={'id': {'S': 'x'}})\n"
                "        return 'allowed'\n"
                "    except Exception as exc:\n"
                "        return type(exc).__name__ + ': ' + str(exc)\n")
        from sqslab.deploy.code_zip import zip_files
        lam.update_function_code(FunctionName=plain, ZipFile=zip_files({"index.py": code}))
        lam.get_waiter("function_updated_v2").wait(FunctionName=plain)
        lam.update_function_configuration(FunctionName=plain, Handler="index.handler")
        lam.get_waiter("function_updated_v2").wait(FunctionName=plain)
        answer = json.loads(lam.invoke(FunctionName=plain)["Payload"].read())
        assert "AccessDenied" in answer and "dynamodb:GetItem" in answer
    finally:
        report = stack.teardown(name, progress=False)
    assert report["stack_deleted"] and len(report["resources"]) >= 13
    assert resources.leftovers(name, "offline", held=report["resources"]) == []
