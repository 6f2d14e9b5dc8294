"""Lambda's sandbox where a learner would notice it: what a handler can import, and its memory.

Each test names the AWS page it follows:

- "Working with .zip file archives for Python Lambda functions", section "Dependency
  search path and runtime-included libraries"
  https://docs.aws.amazon.com/lambda/latest/dg/python-package.html#python-package-searchpath
- "Building Lambda functions with Python", "Runtime-included SDK versions"
  https://docs.aws.amazon.com/lambda/latest/dg/lambda-python.html#python-sdk-included
- "Working with layers for Python Lambda functions" and "Packaging your layer content"
  https://docs.aws.amazon.com/lambda/latest/dg/python-layers.html
  https://docs.aws.amazon.com/lambda/latest/dg/packaging-layers.html#packaging-layers-paths
- "Defined runtime environment variables"
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-envvars.html#configuration-envvars-runtime
- "Configure Lambda function memory" and "Troubleshoot invocation issues in Lambda"
  https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html
  https://docs.aws.amazon.com/lambda/latest/dg/troubleshooting-invocation.html
- The message texts are those of Lambda's Python runtime interface client
  (aws/aws-lambda-python-runtime-interface-client, awslambdaric/bootstrap.py: _get_handler,
  log_error).
"""


from __future__ import annotations

import importlib.util
import os
import sys
import textwrap
import time
import uuid

import pytest
from helpers import invoke, make_function, report_of

from sqslab.deploy.code_zip import zip_files
from sqslab.offline.awslambda import memory

needs_proc = pytest.mark.skipif(not memory.SUPPORTED, reason="the memory limit needs Linux's /proc")


def _function(lam, role_arn, files: dict[str, str], **kwargs) -> str:
    name = f"t-{uuid.uuid4().hex[:10]}"
    lam.create_function(
        FunctionName=name, Runtime=kwargs.pop("Runtime", "python3.13"), Role=role_arn, Handler="index.handler",
        Code={"ZipFile": zip_files({k: textwrap.dedent(v) for k, v in files.items()})}, **kwargs,
    )
    return name


def test_importing_a_library_lambda_does_not_ship_fails_with_import_module_error(lam, role_arn):
    """python-package.html (Dependency search path and runtime-included libraries): only the
    deployment package, layers and the runtime's own libraries are importable. The error and
    its log lines as Lambda's Python runtime writes them (bootstrap.py _get_handler, log_error);
    the init failure's INIT_REPORT and REPORT (Status: error, Error Type) as Lambda logs them."""
    assert importlib.util.find_spec("pandas"), "the server's environment has pandas: the handler must not see it"

    name = make_function(lam, role_arn, "import pandas\n\ndef handler(event, context):\n    return 1\n")
    resp = invoke(lam, name, LogType="Tail")
    assert resp["FunctionError"] == "Unhandled"
    assert resp["body"] == {
        "errorMessage": "Unable to import module 'index': No module named 'pandas'",
        "errorType": "Runtime.ImportModuleError",
        "requestId": "",
        "stackTrace": [],
    }
    log = resp["log"].splitlines()
    at = log.index("[ERROR] Runtime.ImportModuleError: Unable to import module 'index': No module named 'pandas'")
    assert log[at + 1] == "Traceback (most recent call last):"
    assert log[at + 2].startswith("INIT_REPORT Init Duration: ")
    assert log[at + 2].endswith("\tPhase: invoke\tStatus: error\tError Type: Runtime.ImportModuleError")
    assert log[at + 3].startswith("START RequestId: ") and log[at + 4].startswith("END RequestId: ")
    report = log[at + 5]
    assert report.startswith("REPORT RequestId: ") and "Init Duration" not in report
    assert report.endswith("\tStatus: error\tError Type: Runtime.ImportModuleError\t")
    assert report_of(resp["log"])["max_memory_used_mb"] > 0
    # the function is not broken for good: a fixed package works on the next invoke
    lam.update_function_code(FunctionName=name, ZipFile=zip_files({"index.py": "def handler(e, c):\n    return 2\n"}))
    assert invoke(lam, name)["body"] == 2


def test_boto3_and_its_dependencies_come_from_the_runtime(lam, role_arn):
    """lambda-python.html (Runtime-included SDK versions): boto3 and botocore are there, and
    their dependencies; the server's own packages (sqslab, moto) are not."""
    name = make_function(
        lam,
        role_arn,
        """
        import importlib, os
        import boto3, botocore, s3transfer, jmespath, dateutil, six, urllib3

        def handler(event, context):
            runtime_dir = os.environ["LAMBDA_RUNTIME_DIR"]
            missing = []
            for mod in ("sqslab", "moto", "pytest", "requests"):
                try:
                    importlib.import_module(mod)
                except ImportError:
                    missing.append(mod)
            return {
                "boto3": boto3.__version__,
                "botocore": botocore.__version__,
                "from_runtime_dir": [m.__file__.startswith(runtime_dir)
                                     for m in (boto3, botocore, s3transfer, jmespath, dateutil, six, urllib3)],
                "missing": missing,
                "queues": boto3.client("sqs").list_queues().get("QueueUrls", []) is not None,
            }
        """,
    )
    resp = invoke(lam, name)
    assert "FunctionError" not in resp, resp["body"]
    body = resp["body"]
    import boto3
    import botocore

    assert (body["boto3"], body["botocore"]) == (boto3.__version__, botocore.__version__)
    assert all(body["from_runtime_dir"])
    assert body["missing"] == ["sqslab", "moto", "pytest", "requests"]
    assert body["queues"]


def test_sys_path_cwd_and_the_runtime_variables(lam, role_arn):
    """configuration-envvars.html (Defined runtime environment variables): LAMBDA_TASK_ROOT
    is the function's code and the working directory, LAMBDA_RUNTIME_DIR the runtime's
    libraries, PYTHONPATH is $LAMBDA_RUNTIME_DIR; python-package.html: the task root is
    searched first. Nothing of the server's environment (site-packages, user site) is on the path."""
    name = make_function(
        lam,
        role_arn,
        """
        import os, sys
        def handler(event, context):
            return {"path": sys.path, "cwd": os.getcwd(), "env": {k: os.environ.get(k) for k in
                    ("LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "PYTHONPATH")}, "exit": callable(exit)}
        """,
    )
    body = invoke(lam, name)["body"]
    task_root, runtime_dir = body["env"]["LAMBDA_TASK_ROOT"], body["env"]["LAMBDA_RUNTIME_DIR"]
    assert body["path"][0] == task_root == body["cwd"]
    assert body["path"][1] == runtime_dir == body["env"]["PYTHONPATH"]
    rest = body["path"][2:]
    assert rest and all(p.startswith(sys.base_prefix) for p in rest), rest  # the standard library only
    assert not any("site-packages" in p for p in body["path"])
    assert body["exit"]


def test_the_task_root_comes_first(lam, role_arn):
    """python-package.html: "If you include a version of a runtime-included library in your
    deployment package, your version will take precedence"."""
    name = _function(
        lam,
        role_arn,
        {
            "index.py": """
                import os, six
                def handler(event, context):
                    return [six.MARK, six.__file__, os.environ["LAMBDA_TASK_ROOT"]]
                """,
            "six.py": "MARK = 'from the task root'\n",
        },
    )
    mark, path, task_root = invoke(lam, name)["body"]
    assert mark == "from the task root"
    assert path == os.path.join(task_root, "six.py")


def test_layers_come_after_the_task_root_and_before_the_runtime(lam, role_arn):
    """python-package.html: layers (/opt/python/lib/python3.x/site-packages, /opt/python) have
    precedence over the runtime-included libraries, and the deployment package over layers;
    packaging-layers.html: a layer's Python packages go under python/."""
    layer = zip_files(
        {
            "python/layer_only.py": "WHERE = 'layer'\n",
            "python/both.py": "WHERE = 'layer'\n",
            "python/lib/python3.13/site-packages/jmespath.py": "WHERE = 'layer site-packages'\n",
        }
    )
    arn = lam.publish_layer_version(
        LayerName=f"t-layer-{uuid.uuid4().hex[:8]}", Content={"ZipFile": layer}, CompatibleRuntimes=["python3.13"]
    )["LayerVersionArn"]
    name = _function(
        lam,
        role_arn,
        {
            "index.py": """
                import both, jmespath, layer_only
                def handler(event, context):
                    return [layer_only.WHERE, both.WHERE, jmespath.WHERE]
                """,
            "both.py": "WHERE = 'task root'\n",
        },
        Layers=[arn],
    )
    assert invoke(lam, name)["body"] == ["layer", "task root", "layer site-packages"]


ALLOCATE = """
def handler(event, context):
    chunks = []
    for _ in range(event["mb"] // 16):
        chunks.append(bytearray(16 * 1024 * 1024))  # zero-filled: every page is touched
    return {"held_mb": 16 * len(chunks)}
"""


@needs_proc
def test_going_over_memory_size_stops_the_environment(lam, role_arn):
    """configuration-memory.html / troubleshooting-invocation.html: a function that uses more
    than its memory is stopped; Lambda answers Runtime.OutOfMemory ("Runtime exited with
    error: signal: killed"), the REPORT line says Status: error, Error Type:
    Runtime.OutOfMemory with Max Memory Used at the limit, and the environment is not reused."""
    name = make_function(lam, role_arn, ALLOCATE, MemorySize=128, Timeout=30)
    t0 = time.monotonic()
    resp = invoke(lam, name, {"mb": 2048}, LogType="Tail")
    assert time.monotonic() - t0 < 5, "stopped early, not after allocating 2 GB"
    assert resp["FunctionError"] == "Unhandled"
    request_id = report_of(resp["log"])["request_id"]
    assert resp["body"] == {
        "errorType": "Runtime.OutOfMemory",
        "errorMessage": f"RequestId: {request_id} Error: Runtime exited with error: signal: killed",
    }
    report = [ln for ln in resp["log"].splitlines() if ln.startswith("REPORT")][-1]
    assert "\tMemory Size: 128 MB\tMax Memory Used: 128 MB\t" in report
    assert report.endswith("\tStatus: error\tError Type: Runtime.OutOfMemory\t")
    assert f"RequestId: {request_id} Error: Runtime exited with error: signal: killed" in resp["log"]
    again = invoke(lam, name, {"mb": 16}, LogType="Tail")
    assert again["body"] == {"held_mb": 16}
    assert report_of(again["log"])["cold_start"], "the stopped environment must not be reused"


@needs_proc
def test_memory_under_the_limit_is_fine(lam, role_arn):
    """configuration-memory.html: a function within its memory runs; Max Memory Used shows it."""
    name = make_function(lam, role_arn, ALLOCATE, MemorySize=256, Timeout=30)
    resp = invoke(lam, name, {"mb": 96}, LogType="Tail")
    assert "FunctionError" not in resp, resp["body"]
    assert resp["body"] == {"held_mb": 96}
    assert 96 <= report_of(resp["log"])["max_memory_used_mb"] < 256


@needs_proc
def test_a_child_process_counts_and_ends_with_the_environment(lam, role_arn, tmp_path):
    """configuration-memory.html: the limit is the environment's, child processes included;
    the children end when the environment is stopped."""
    pidfile = tmp_path / "child.pid"
    name = make_function(
        lam,
        role_arn,
        f"""
        import subprocess, sys, time
        def handler(event, context):
            child = subprocess.Popen([sys.executable, "-S", "-c",
                                      "import time; x = bytearray(300 * 2**20); time.sleep(60)"])
            open({str(pidfile)!r}, "w").write(str(child.pid))
            time.sleep(10)
            return "not stopped"
        """,
        MemorySize=128,
        Timeout=30,
    )
    resp = invoke(lam, name)
    assert resp["body"]["errorType"] == "Runtime.OutOfMemory"
    child = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and _alive(child):
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][0] != "Z"
    except OSError:
        return False
