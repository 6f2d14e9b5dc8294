"""From another shell: `eval "$(sqslab offline env)"`, then the AWS CLI and a plain
boto3 script create a function from a zip, invoke it, and read its log lines."""


from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sqslab.deploy.code_zip import zip_files

BIN = Path(sys.executable).parent


def shell(script: str, tmp_path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env["PATH"] = f"{BIN}:{env['PATH']}"
    env["AWS_PROFILE"] = "someone-real"  # must be unset by the env lines
    env["AWS_ACCESS_KEY_ID"] = "AKIAREALLOOKINGKEY01"
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", 'eval "$(sqslab offline env)"\n' + script],
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300,
    )


@pytest.mark.skipif(shutil.which("aws", path=str(BIN)) is None, reason="the AWS CLI is in the test extras")
def test_aws_cli(offline, role_arn, tmp_path):
    (tmp_path / "fn.zip").write_bytes(zip_files({"app.py": "def go(event, context):\n    print('cli says', event['n'])\n    return {'double': event['n'] * 2}\n"}))
    result = shell(
        f"""
        aws lambda create-function --function-name cli-fn --runtime python3.12 --handler app.go \\
            --role {role_arn} --zip-file fileb://fn.zip > /dev/null
        aws lambda invoke --function-name cli-fn \\
            --payload '{{"n": 21}}' out.json > meta.json
        aws logs filter-log-events --log-group-name /aws/lambda/cli-fn --output json > logs.json
        """,
        tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "out.json").read_text()) == {"double": 42}
    assert json.loads((tmp_path / "meta.json").read_text())["StatusCode"] == 200
    messages = [e["message"] for e in json.loads((tmp_path / "logs.json").read_text())["events"]]
    assert any(m.startswith("START RequestId:") for m in messages)
    assert "cli says 21" in messages
    assert any(m.startswith("END RequestId:") for m in messages)
    assert any(m.startswith("REPORT RequestId:") and "Init Duration" in m for m in messages)


def test_plain_boto3_script(offline, role_arn, tmp_path):
    (tmp_path / "fn.zip").write_bytes(zip_files({"index.py": "def handler(e, c):\n    print('boto3 says hi')\n    return 'ok'\n"}))
    script = tmp_path / "script.py"
    script.write_text(f"""
import boto3, json
lam = boto3.client("lambda")
lam.create_function(FunctionName="script-fn", Runtime="python3.12", Handler="index.handler",
                    Role="{role_arn}", Code={{"ZipFile": open("fn.zip", "rb").read()}})
out = json.loads(lam.invoke(FunctionName="script-fn")["Payload"].read())
logs = boto3.client("logs").filter_log_events(logGroupName="/aws/lambda/script-fn")["events"]
print(json.dumps({{"out": out, "messages": [e["message"] for e in logs]}}))
""")
    result = shell(f"{sys.executable} script.py", tmp_path)
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["out"] == "ok"
    assert "boto3 says hi" in doc["messages"]
    assert [m.split(" ")[0] for m in doc["messages"] if m.split(" ")[0] in ("START", "END", "REPORT")] == ["START", "END", "REPORT"]
