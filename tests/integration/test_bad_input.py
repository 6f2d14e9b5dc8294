"""Bad input, table-driven: the command line, the Python API and the notebooks'
parameters. Each case must answer in one line (no traceback) with its exit code,
and leave everything as it was: the stacks, the queues with their message
counts, the functions and the artifacts are read before and after."""


from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sqslab import cli, target
from sqslab.analysis import logs
from sqslab.base.errors import SqslabError
from sqslab.deploy import stack, template
from sqslab.lab.handle import Lab
from sqslab.series import tutorial

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def world(offline, clients):
    """A deployed stack holding two messages: what every case must leave alone."""
    name, prefix = f"bi-{uuid.uuid4().hex[:6]}", f"bi{uuid.uuid4().hex[:6]}"
    stack.deploy(stack_name=name, params={"Prefix": prefix, "ReceiveMessageWaitTimeSeconds": 1}, progress=False)
    for _ in range(2):
        Lab.of(name).invoke("function1", progress=False)
    queue_url = clients.sqs.get_queue_url(QueueName=f"{prefix}-queue")["QueueUrl"]
    everything = snapshot(clients)
    yield {"stack": name, "prefix": prefix, "queue_url": queue_url}
    # Message counts of every queue, over the whole table (each case checks its own queue's).
    assert snapshot(clients) == everything
    stack.teardown(name, progress=False)


def snapshot(clients, counted: list[str] | None = None) -> dict:
    """Stacks, queues, functions and artifacts; message counts of the ``counted`` queues (all if None)."""
    sqs, lam, s3 = clients.sqs, getattr(clients, "lambda"), clients.s3
    stacks = sorted((s["StackName"], s["StackStatus"]) for s in clients.cloudformation.describe_stacks()["Stacks"])
    queues = {}
    urls = sqs.list_queues().get("QueueUrls", [])
    for url in urls if counted is None else counted:
        attrs = sqs.get_queue_attributes(
            QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        )["Attributes"]
        queues[url] = (attrs["ApproximateNumberOfMessages"], attrs["ApproximateNumberOfMessagesNotVisible"])
    functions = sorted(f["FunctionName"] for f in lam.list_functions()["Functions"])
    objects = sorted(
        (b["Name"], o["Key"])
        for b in s3.list_buckets()["Buckets"]
        for o in s3.list_objects_v2(Bucket=b["Name"]).get("Contents", [])
    )
    return {"stacks": stacks, "urls": sorted(urls), "queues": queues, "functions": functions, "objects": objects}


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{text}"
    assert "Traceback" not in text
    return lines[0]


def deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


# (argv, exit code, words the line must hold); {stack}/{prefix}/{dir}/{file:...} are filled in.
CLI_CASES = [
    (["deploy", "--param", "VisibilityTimeout=nan"], 2, "VisibilityTimeout must be a number"),
    (["deploy", "--param", "VisibilityTimeout=1.5"], 2, "must be a whole number"),
    (["deploy", "--param", "VisibilityTimeout=inf"], 2, "must be a number"),
    (["deploy", "--param", "VisibilityTimeout=-1"], 2, "out of range"),
    (["deploy", "--param", "VisibilityTimeout=43201"], 2, "out of range"),
    (["deploy", "--param", "ReceiveMessageWaitTimeSeconds=21"], 2, "out of range"),
    (["deploy", "--param", "MemorySize=1e3"], 2, "must be a number"),
    (["deploy", "--param", "Colour=blue"], 2, "unknown parameter 'Colour'"),
    (["deploy", "--param", "nonsense"], 2, "is not Key=Value"),
    (["deploy", "--param", "=5"], 2, "is not Key=Value"),
    (["deploy", "--param", "Prefix=UPPER"], 2, "Prefix 'UPPER' is not allowed"),
    (["deploy", "--param", "Runtime=python2.7"], 2, "Runtime 'python2.7' is not allowed"),
    (["deploy", "--stack-name", "bad name!"], 2, "stack name 'bad name!' is not allowed"),
    (["deploy", "--stack-name", ""], 2, "stack name empty is not allowed"),
    (["deploy", "--stack-name", "1abc"], 2, "is not allowed"),
    (["deploy", "--stack-name", "x" * 129], 2, "at most 128"),
    (["teardown", "--stack-name", ""], 2, "stack name empty is not allowed"),
    (["teardown", "--stack-name", "bad name!"], 2, "is not allowed"),
    (["deploy", "--bucket", "Bad_Bucket!"], 2, "bucket name 'Bad_Bucket!' is not allowed"),
    (["deploy", "--bucket", "ab"], 2, "is not allowed"),
    (["deploy", "--bucket", "192.168.1.1"], 2, "is not allowed"),
    (["teardown", "--stack-name", "{stack}", "--bucket", "Bad_Bucket!"], 2, "is not allowed"),
    (["deploy", "--template", "/no/such/template.yaml"], 2, "template not found"),
    (["deploy", "--template", "{dir}"], 2, "is a directory"),
    (["deploy", "--template", "{file:binary}"], 2, "cannot be read"),
    (["deploy", "--template", "{file:noresources}"], 2, "no Resources section"),
    (["deploy", "--template", "{file:badyaml}"], 2, "not valid YAML"),
    (["deploy", "--template", "{file:lintfails}", "--stack-name", "bi-lint"], 2, "fails cfn-lint"),
    (["deploy", "--stack-name", "bi-other", "--param", "Prefix={prefix}"], 2, "is taken: stack {stack} already owns"),
    (["deploy", "--stack-name", "bi-nested", "--template", "nested", "--param", "Prefix={prefix}"], 2, "is taken"),
    (["deploy", "--template", "retry"], 2, "template not found: retry (give a file, or 'single' / 'nested' / 'retries' / 'fifo' / 'lifetime' / 'idempotency' / 'concurrency' / 'fanout')"),
    (["deploy", "--template", "retries", "--param", "MaxReceiveCount=0"], 2,
     "MaxReceiveCount 0 is out of range: AWS allows 1 to 1000"),
    (["deploy", "--template", "retries", "--param", "ReportBatchItemFailures=yes"], 2,
     "ReportBatchItemFailures 'yes' is not allowed: choose one of true, false"),
    (["deploy", "--template", "retries", "--param", "Timeout=30"], 2, "unknown parameter 'Timeout'"),
    (["deploy", "--stack-name", "bi-retries", "--template", "retries", "--param", "Prefix={prefix}"], 2, "is taken"),
    (["deploy", "--target", "aws", "--stack-name", "x", "--param", "Colour=1"], 2, "unknown parameter"),
    (["invoke", "function1", "--stack-name", "{stack}", "--payload", "{deep}"], 2, "nested too deeply"),
    (["invoke", "function1", "--stack-name", "{stack}", "--payload", "not json"], 2, "--payload is not JSON"),
    (["invoke", "function1", "--stack-name", "{stack}", "--payload", "{huge}"], 2, "at most 6 MB"),
    (["invoke", ""], 2, "an empty name is not a function name"),
    (["invoke", "no such/function"], 2, "is not a function name"),
    (["invoke", "function9", "--stack-name", "{stack}"], 2, "'function9' is not one of the stack's functions"),
    (["invoke", "consumer", "--stack-name", "{stack}"], 2, "'consumer' is not one of the stack's functions: use function1"),
    (["invoke", "nosuch", "--stack-name", "{stack}"], 2, "no function named 'nosuch': use function1, function2, function3"),
    (["invoke", "function1", "--stack-name", "never-deployed"], 2, "stack never-deployed is not deployed"),
    (["logs", "function1", "--stack-name", "{stack}", "--since", "99999999d"], 2, "before 1970"),
    (["logs", "function1", "--stack-name", "{stack}", "--since", "yesterday"], 2, "is not a time"),
    (["logs", "function1", "--stack-name", "{stack}", "--since", "2026-13-45"], 2, "is not a time"),
    (["logs", "function1", "--format", "xml"], 2, "invalid choice: 'xml'"),
    (["tutorial", "--only", "07_nope"], 2, "--only '07_nope' is not a notebook of the series"),
    (["tutorial", "--profile", "bogus"], 2, "invalid choice: 'bogus'"),
    (["tutorial", "--out", "/etc/hostname"], 2, "--out /etc/hostname is a file, not a folder"),
    (["tutorial", "--out", "/proc/x"], 2, "--out /proc/x: cannot write there"),
    (["record", "--out", "{dir}"], 2, "is a folder: give a file name"),
    (["record", "--out", "/etc/hostname"], 2, "exists and is not a file this command wrote"),
    (["offline", "start", "--port", "80"], 2, "out of range"),
    (["offline", "start", "--port", "abc"], 2, "invalid int value"),
    (["offline", "start", "--port", "{free_port}"], 2, "the offline server already runs on port"),
    (["offline"], 2, "required"),
    (["deploy", "--templat", "retries"], 2, "unrecognized arguments: --templat retries"),
    (["bogus"], 2, "invalid choice: 'bogus'"),
    (["deploy", "--target", "mars"], 2, "invalid choice: 'mars'"),
]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("inputs")
    (d / "binary.yaml").write_bytes(bytes(range(256)) * 4)
    (d / "noresources.yaml").write_text("Parameters: {}\n")
    (d / "badyaml.yaml").write_text("Resources:\n  Queue: [unclosed\n")
    (d / "lintfails.yaml").write_text("Resources:\n  Queue:\n    Type: AWS::SQS::Queue\n    Properties: {Colour: red}\n")
    return d


def fill(arg: str, world, files) -> str:
    if arg == "{deep}":
        return deep_json(60_000)
    if arg == "{huge}":
        return json.dumps({"data": "x" * (6 * 1024 * 1024 + 1)})
    if arg == "{dir}":
        return str(files)
    if arg.startswith("{file:"):
        return str(files / f"{arg[6:-1]}.yaml")
    if arg == "{free_port}":
        from conftest import free_port

        return str(free_port())
    return arg.format(stack=world["stack"], prefix=world["prefix"])


@pytest.mark.parametrize(("argv", "code", "words"), CLI_CASES, ids=[" ".join(c[0])[:50] for c in CLI_CASES])
def test_cli(argv, code, words, world, files, clients, capsys):
    argv = [fill(a, world, files) for a in argv]
    before = snapshot(clients, [world["queue_url"]])
    capsys.readouterr()
    try:
        got = cli.main(argv)
    except SystemExit as exc:  # argparse's usage errors
        got = exc.code
    out, err = capsys.readouterr()
    after = snapshot(clients, [world["queue_url"]])
    line = one_line(err)
    assert got == code, line
    assert out == "", out
    assert line.startswith("sqslab: ")
    assert words.format(stack=world["stack"], prefix=world["prefix"]) in line, line
    assert after == before


def _api_cases(world, files):
    s, p = world["stack"], world["prefix"]
    return [
        ("validate(params=str)", lambda: template.validate(params="VisibilityTimeout=5"), "must be a mapping"),
        ("validate(template=123)", lambda: template.validate(template=123), "must be a path, not int"),
        ("validate(template=dir)", lambda: template.validate(template=files), "is a directory"),
        ("validate(template='')", lambda: template.validate(template=""), "template"),
        ("validate(params list value)", lambda: template.validate(params={"VisibilityTimeout": [1]}), "text or a number"),
        ("validate(params int key)", lambda: template.validate(params={1: 2}), "is not a name"),
        ("validate(params bool)", lambda: template.validate(params={"VisibilityTimeout": True}), "text or a number"),
        ("deploy(stack_name='')", lambda: stack.deploy(stack_name="", progress=False), "stack name empty"),
        ("deploy(stack_name=None)", lambda: stack.deploy(stack_name=None, progress=False), "must be text"),
        ("deploy(bucket='UPPER')", lambda: stack.deploy(bucket="UPPER", progress=False), "bucket name"),
        ("deploy(same Prefix)", lambda: stack.deploy(stack_name="bi-api", params={"Prefix": p}, progress=False),
         f"stack {s} already owns {p}-queue"),
        ("deploy(target='mars')", lambda: stack.deploy(target="mars", progress=False), "unknown target 'mars'"),
        ("teardown(stack_name=5)", lambda: stack.teardown(stack_name=5, progress=False), "must be text"),
        ("outputs('bad name!')", lambda: stack.outputs("bad name!"), "is not allowed"),
        ("invoke(None)", lambda: Lab.of(s).invoke(None, progress=False), "must be text"),
        ("invoke(payload=object())", lambda: Lab.of(s).invoke("function1", object(), progress=False),
         "not JSON-serialisable"),
        ("invoke(payload=nan)", lambda: Lab.of(s).invoke("function1", float("nan"), progress=False),
         "not JSON-serialisable"),
        ("invoke(stack_name='')", lambda: Lab.of("").invoke("function1", progress=False), "stack name"),
        ("parse_since(5)", lambda: logs.parse_since(5), "must be text"),
        ("tutorial.run(profile)", lambda: tutorial.run(profile="bogus", say=lambda *_: None), "unknown profile"),
        ("target.resolve('mars')", lambda: target.resolve("mars"), "unknown target"),
        ("target.client('nosuchservice')", lambda: target.client("nosuchservice"),
         "no AWS service is called 'nosuchservice'"),
        ("target.client(123)", lambda: target.client(123), "named by a string such as 'sqs'"),
        ("target.client('sqs ')", lambda: target.client("sqs "), "did you mean sqs?"),
    ]


API_IDS = [c[0] for c in _api_cases({"stack": "s", "prefix": "p"}, Path("."))]


@pytest.mark.parametrize("index", range(len(API_IDS)), ids=API_IDS)
def test_python_api(index, world, files, clients):
    _, call, words = _api_cases(world, files)[index]
    before = snapshot(clients, [world["queue_url"]])
    with pytest.raises(SqslabError) as err:
        call()
    line = one_line(str(err.value))
    assert words in line, line
    assert snapshot(clients, [world["queue_url"]]) == before


def test_notebook_stops_with_one_line(tmp_path, clients, world):
    """papermill with a bad parameter: the notebook's error output is the one line, and nothing ran."""
    import papermill as pm

    before = snapshot(clients, [world["queue_url"]])
    out = tmp_path / "out.ipynb"
    with pytest.raises(pm.PapermillExecutionError):
        pm.execute_notebook(str(ROOT / "notebooks" / "01_deploy.ipynb"), str(out), kernel_name="python3",
                            parameters={"profile": "bogus", "stack_name": "bi-nb"}, progress_bar=False,
                            cwd=str(ROOT / "notebooks"))
    nb = json.loads(out.read_text())
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert len(errors) == 1
    assert errors[0]["traceback"] == ["sqslab: profile 'bogus' is not one of 'article', 'quick'"]
    assert snapshot(clients, [world["queue_url"]]) == before


def test_subprocess_answers_are_one_line(world):
    """The same rule through the installed entry point, as a user meets it."""
    env = {**os.environ, "COLUMNS": "80"}
    for argv, words in [
        (["deploy", "--stack-name", "bad name!"], "is not allowed"),
        (["deploy", "--stack-name", "bi-sub", "--param", f"Prefix={world['prefix']}"], "is taken"),
        (["invoke", "function1", "--stack-name", world["stack"], "--payload", deep_json(60_000)], "nested too deeply"),
    ]:
        result = subprocess.run([sys.executable, "-m", "sqslab.cli", *argv], capture_output=True, text=True,
                                timeout=120, env=env)
        assert result.returncode == 2, result.stderr
        assert words in one_line(result.stderr) and result.stdout == ""


@pytest.mark.parametrize(("source", "error_type"), [
    ("def handler(event, context)\n    return 1\n", "SyntaxError"),
    ("import no_such_module_here\n\ndef handler(event, context):\n    return 1\n", "Runtime.ImportModuleError"),
    ("def handler(event, context):\n    raise ValueError('bad\\nthing ' * 100)\n", "ValueError"),
], ids=["syntax error", "import error", "long multi-line error"])
def test_failing_handler_is_one_line(source, error_type, lam, role_arn, capsys):
    """A handler that fails at import, or with a long multi-line message: the errorType,
    the message on one line, and where to read the traceback."""
    from helpers import make_function

    name = make_function(lam, role_arn, source)
    capsys.readouterr()
    code = cli.main(["invoke", name])
    out, err = capsys.readouterr()
    line = one_line(err)
    assert code == 1 and out == ""
    assert line.startswith(f"sqslab: {name} failed: ") and error_type in line, line
    assert line.endswith(f"its traceback: sqslab logs {name} --since 5m") and len(line) < 400
    lam.delete_function(FunctionName=name)


def _sqslab(env_extra: dict, *argv: str, home, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    from conftest import free_port

    env = {**os.environ, "SQSLAB_HOME": str(home), "SQSLAB_OFFLINE_PORT": str(free_port()), **env_extra}
    return subprocess.run([sys.executable, "-m", "sqslab.cli", *argv], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=120, env=env)


def test_an_own_state_directory_is_private_and_an_older_wider_one_is_tightened(tmp_path):
    """Made 0700 with 0600 files; one made wider by an earlier version is tightened in place."""
    sdir = tmp_path / "offline"
    sdir.mkdir(mode=0o755)
    os.chmod(sdir, 0o755)
    (sdir / "server.log").write_text("old\n")
    os.chmod(sdir / "server.log", 0o644)
    try:
        result = _sqslab({}, "offline", "start", home=tmp_path)
        assert result.returncode == 0, result.stderr
        assert (sdir.stat().st_mode & 0o777) == 0o700
        for name in ("credentials", "server.json", "server.log"):
            assert ((sdir / name).stat().st_mode & 0o777) == 0o600, name
    finally:
        _sqslab({}, "offline", "stop", home=tmp_path)


def test_a_closed_pipe_ends_quietly(tmp_path, offline):
    """`sqslab ... | head` whose reader has gone: no traceback, exit status 141 (128 + SIGPIPE), as Unix
    tools end."""
    read, write = os.pipe()
    os.close(read)
    env = {**os.environ, "SQSLAB_HOME": os.environ["SQSLAB_HOME"]}
    result = subprocess.run([sys.executable, "-m", "sqslab.cli", "offline", "env"], stdout=write,
                            stderr=subprocess.PIPE, text=True, timeout=60, env=env)
    os.close(write)
    assert result.returncode == 141 and result.stderr == "", result.stderr


def test_lambda_refuses_reserved_environment_keys(lam, role_arn, clients):
    """Working with Lambda environment variables: the keys Lambda sets itself are reserved
    (InvalidParameterValueException, "... Reserved keys used in this request: ..."), at CreateFunction and
    UpdateFunctionConfiguration; PATH, PYTHONPATH and LANG stay settable."""
    from botocore.exceptions import ClientError
    from helpers import make_function

    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "_HANDLER", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE"):
        with pytest.raises(ClientError) as err:
            make_function(lam, role_arn, "def handler(e, c):\n    return 1\n",
                          Environment={"Variables": {key: "x"}})
        e = err.value.response["Error"]
        assert e["Code"] == "InvalidParameterValueException" and e["Message"].endswith(
            f"Reserved keys used in this request: {key}"), e
    name = make_function(lam, role_arn, "import os\ndef handler(e, c):\n    return os.environ['LANG']\n",
                         Environment={"Variables": {"PATH": "/usr/bin:/bin", "PYTHONPATH": "/nowhere", "LANG": "C.UTF-8"}})
    with pytest.raises(ClientError) as err:
        lam.update_function_configuration(FunctionName=name, Environment={"Variables": {"AWS_REGION": "x"}})
    assert err.value.response["Error"]["Code"] == "InvalidParameterValueException"
    assert lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]["LANG"] == "C.UTF-8"
    assert json.loads(lam.invoke(FunctionName=name)["Payload"].read()) == "C.UTF-8"
    lam.delete_function(FunctionName=name)


def test_requests_the_emulator_cannot_serve_are_4xx_in_the_services_shape(offline):
    """A region that does not exist (AWS: "Credential should be scoped to a valid region"), and moto's own
    routes (its state dump failed with an HTML 500): a 4xx each, in the service's protocol."""
    import boto3
    import urllib3
    from botocore.exceptions import ClientError

    from sqslab.offline.auth import sigv4

    creds = target.offline_credentials()
    for service, call in (("sqs", "list_queues"), ("lambda", "list_functions"), ("logs", "describe_log_groups")):
        c = boto3.client(service, endpoint_url=offline.endpoint_url, region_name="mars-9",
                         aws_access_key_id=creds.access_key, aws_secret_access_key=creds.secret_key)
        with pytest.raises(ClientError) as err:
            getattr(c, call)()
        meta = err.value.response
        assert meta["ResponseMetadata"]["HTTPStatusCode"] == 403 and "valid region" in meta["Error"]["Message"]
    url = offline.endpoint_url + "/moto-api/data.json"
    h = sigv4.sign("GET", url, access_key=creds.access_key, secret=creds.secret_key, region="us-east-1",
                  service="sqs")
    r = urllib3.PoolManager().request("GET", url, headers=h)
    assert r.status == 404 and b"<Code>UnknownOperationException</Code>" in r.data


def test_a_mapping_whose_function_was_deleted_says_so(lam, role_arn, clients, offline):
    """The poller's log names the missing function, not a role that may not read."""
    import time

    from helpers import make_function

    from sqslab.offline.server import control as server

    q = clients.sqs.create_queue(QueueName=f"gone-{uuid.uuid4().hex[:6]}", Attributes={"VisibilityTimeout": "30"})
    arn = clients.sqs.get_queue_attributes(QueueUrl=q["QueueUrl"], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = make_function(lam, role_arn, "def handler(e, c):\n    return 1\n", Timeout=3)
    esm = lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=name)["UUID"]
    lam.delete_function(FunctionName=name)
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        text = "\n".join(ln for ln in server.log_file().read_text().splitlines() if esm in ln)
        if "does not exist" in text:
            break
        time.sleep(0.2)
    assert f"event source mapping {esm}: its function" in text and "does not exist" in text, text
    assert "may not sqs:ReceiveMessage" not in text
    lam.delete_event_source_mapping(UUID=esm)
    clients.sqs.delete_queue(QueueUrl=q["QueueUrl"])


@pytest.mark.parametrize("argv,env,words", [
    (["--only", "zz"], {}, "--only 'zz' is not a notebook of the series"),
    (["--target", "aws", "--only", "02_invoke"], {"AWS_REGION": None}, "no AWS region configured"),
    (["--target", "aws", "--only", "02_invoke"], {"AWS_REGION": "mars-1"}, "AWS region 'mars-1' is not one"),
    (["--target", "aws", "--only", "02_invoke"], {"AWS_REGION": "eu-west-1"}, "no AWS credentials found"),
])
def test_a_refused_tutorial_makes_nothing(tmp_path, monkeypatch, capsys, argv, env, words):
    """`sqslab tutorial` with a name the series lacks, or an AWS target it cannot reach: one line, before
    a folder is made or a kernel started."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    for name, value in env.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    out = tmp_path / "handouts"
    assert cli.main(["tutorial", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert words in err and len(err.strip().splitlines()) == 1, err
    assert not out.exists()
