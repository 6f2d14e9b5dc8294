"""Code packages and layers as Lambda limits them (sqslab.offline.awslambda.code_package, the patch
lambda_code_package_limits).

AWS pages: "Lambda quotas" (deployment package: 50 MB zipped for a direct upload, 250 MB
unzipped including layers; the API reference's AccountLimit, CodeSizeUnzipped "the maximum size
of a function's deployment package and layers when they're extracted"); Lambda's messages
"Unzipped size must be smaller than 262144000 bytes" and "Function code combined with layers
exceeds the maximum allowed size of 262144000 bytes. The actual size is N bytes."; Invoke's
errors (InvalidZipFileException, 502); "Managing Lambda dependencies with layers" (a deleted layer
version keeps working for functions that use it); the Lambda execution environment's read-only
``/var/task``.
"""


from __future__ import annotations

import base64
import io
import json
import os
import stat
import textwrap
import uuid
import zipfile

import pytest
from botocore.exceptions import ClientError
from helpers import HANDLER, invoke, make_function, zeros_zip

from sqslab.deploy.code_zip import zip_files
from sqslab.offline.awslambda import code_package
from sqslab.offline.server import control as server

LIMIT = code_package.UNZIPPED_LIMIT


def link_zip(link: str, target: str, files: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("index.py", HANDLER)
        info = zipfile.ZipInfo(link)
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, target)
        for name, text in (files or {}).items():
            zf.writestr(name, text)
    return buf.getvalue()


def folders(kind: str) -> set[str]:
    root = server.state_dir() / kind
    return {p.name for p in root.iterdir()} if root.is_dir() else set()


@pytest.fixture(scope="module")
def bomb():
    """About 0.3 MB zipped, past the quota unzipped."""
    data = zeros_zip("padding.bin", LIMIT + 1, {"index.py": HANDLER})
    assert len(data) < 1_000_000
    return data


def _code(err) -> tuple[str, str, int]:
    e = err.value.response
    return e["Error"]["Code"], e["Error"]["Message"], e["ResponseMetadata"]["HTTPStatusCode"]


def test_a_package_past_the_unzipped_quota_is_refused_at_create_and_nothing_is_unpacked(lam, role_arn, bomb):
    """Lambda quotas: 250 MB unzipped. CreateFunction refuses it with Lambda's message; no folder is written."""
    before = folders("code")
    with pytest.raises(ClientError) as err:
        lam.create_function(FunctionName=f"bomb-{uuid.uuid4().hex[:6]}", Runtime="python3.12", Role=role_arn,
                            Handler="index.handler", Code={"ZipFile": bomb})
    assert _code(err) == ("InvalidParameterValueException", f"Unzipped size must be smaller than {LIMIT} bytes", 400)
    assert folders("code") == before


def test_update_function_code_past_the_quota_is_refused_and_the_old_code_stays(lam, role_arn, bomb):
    name = make_function(lam, role_arn, HANDLER)
    sha = lam.get_function(FunctionName=name)["Configuration"]["CodeSha256"]
    with pytest.raises(ClientError) as err:
        lam.update_function_code(FunctionName=name, ZipFile=bomb)
    assert _code(err)[0] == "InvalidParameterValueException"
    assert lam.get_function(FunctionName=name)["Configuration"]["CodeSha256"] == sha
    assert invoke(lam, name)["body"] == "ran"
    lam.delete_function(FunctionName=name)


def test_layers_count_toward_the_quota(lam, role_arn, bomb):
    """A layer past the quota is refused at PublishLayerVersion; a function whose code and layers together
    pass it is refused at CreateFunction and at UpdateFunctionConfiguration, with Lambda's message."""
    with pytest.raises(ClientError) as err:
        lam.publish_layer_version(LayerName=f"big-{uuid.uuid4().hex[:6]}", Content={"ZipFile": bomb})
    assert _code(err) == ("InvalidParameterValueException", f"Unzipped size must be smaller than {LIMIT} bytes", 400)
    half = LIMIT // 2 + 1
    layer = lam.publish_layer_version(LayerName=f"half-{uuid.uuid4().hex[:6]}",
                                      Content={"ZipFile": zeros_zip("python/half.bin", half)})["LayerVersionArn"]
    code = zeros_zip("half.bin", half, {"index.py": HANDLER})
    with pytest.raises(ClientError) as err:
        lam.create_function(FunctionName=f"both-{uuid.uuid4().hex[:6]}", Runtime="python3.12", Role=role_arn,
                            Handler="index.handler", Code={"ZipFile": code}, Layers=[layer])
    code_, message, status = _code(err)
    assert (code_, status) == ("InvalidParameterValueException", 400)
    assert message.startswith(f"Function code combined with layers exceeds the maximum allowed size of {LIMIT} bytes. "
                              "The actual size is ")
    name = f"small-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="index.handler",
                        Code={"ZipFile": code})
    with pytest.raises(ClientError) as err:
        lam.update_function_configuration(FunctionName=name, Layers=[layer])
    assert _code(err)[0] == "InvalidParameterValueException"
    assert not lam.get_function_configuration(FunctionName=name).get("Layers"), "nothing of the refused update stays"
    lam.delete_function(FunctionName=name)


def test_cloudformation_meets_the_same_quota(clients, role_arn, bomb):
    """CloudFormation creates functions through the same Lambda API: the stack fails on the function, with
    Lambda's message, and rolls back."""
    bucket = f"pkg-{uuid.uuid4().hex[:8]}"
    clients.s3.create_bucket(Bucket=bucket)
    clients.s3.put_object(Bucket=bucket, Key="bomb.zip", Body=bomb)
    template = {"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {
        "FunctionName": f"cfn-bomb-{bucket}", "Runtime": "python3.12", "Handler": "index.handler", "Role": role_arn,
        "Code": {"S3Bucket": bucket, "S3Key": "bomb.zip"}}}}}
    stack = f"bomb-{bucket}"
    cfn = clients.cloudformation
    try:
        cfn.create_stack(StackName=stack, TemplateBody=json.dumps(template))
    except ClientError as err:  # refused at once is as good as failed: nothing made either way
        assert "Unzipped size" in str(err)
    else:
        events = cfn.describe_stack_events(StackName=stack)["StackEvents"]
        assert any("Unzipped size must be smaller than" in (e.get("ResourceStatusReason") or "") for e in events)
    with pytest.raises(ClientError):
        getattr(clients, "lambda").get_function(FunctionName=f"cfn-bomb-{bucket}")


def test_links_leading_outside_and_entries_under_a_file_are_refused(lam, role_arn):
    """A package is unpacked into its own folder: a link that leads out of it, and an entry that would be
    written under a file or a link, are refused at CreateFunction (never an HTML 500); nothing is unpacked."""
    before = folders("code")
    for data in (link_zip("evil", "../../../../etc"), link_zip("abs", "/etc/passwd"),
                 link_zip("a", "index.py", {"a/b.py": "x = 1\n"})):
        with pytest.raises(ClientError) as err:
            lam.create_function(FunctionName=f"link-{uuid.uuid4().hex[:6]}", Runtime="python3.12", Role=role_arn,
                                Handler="index.handler", Code={"ZipFile": data})
        assert _code(err)[0] == "InvalidParameterValueException" and _code(err)[2] == 400
    assert folders("code") == before
    # a link within the package is kept as a link
    name = f"inlink-{uuid.uuid4().hex[:6]}"
    lam.create_function(FunctionName=name, Runtime="python3.12", Role=role_arn, Handler="index.handler",
                        Code={"ZipFile": link_zip("alias.py", "index.py")})
    assert invoke(lam, name)["body"] == "ran"
    lam.delete_function(FunctionName=name)


def test_a_deleted_functions_folder_is_removed_and_its_code_is_read_only(lam, role_arn):
    """DeleteFunction stops its environments and removes its unpacked package; while it lives, the package
    is read-only, as /var/task is (the handler's writes fail, except for root, whom modes do not stop)."""
    source = textwrap.dedent('''
        import os
        def handler(event, context):
            try:
                open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "scribble.txt"), "w").write("x")
                return "wrote"
            except OSError as e:
                return type(e).__name__
    ''')
    name = make_function(lam, role_arn, source + f"# {uuid.uuid4()}\n")
    got = invoke(lam, name)["body"]
    sha = lam.get_function(FunctionName=name)["Configuration"]["CodeSha256"]
    folder = base64.b64decode(sha).hex()[:32]
    root = server.state_dir() / "code" / folder
    assert root.is_dir()
    assert stat.S_IMODE(root.stat().st_mode) == 0o555 and stat.S_IMODE((root / "index.py").stat().st_mode) == 0o444
    assert got == ("wrote" if os.geteuid() == 0 else "PermissionError")
    lam.delete_function(FunctionName=name)
    assert not root.exists()


def test_a_deleted_layer_version_keeps_working_until_no_function_uses_it(lam, role_arn):
    """Managing Lambda dependencies with layers: deleting a layer version does not affect the functions that
    use it. Its unpacked folder goes when the last of them does."""
    tag = uuid.uuid4().hex[:6]
    layer = lam.publish_layer_version(LayerName=f"lib-{tag}", Content={"ZipFile": zip_files(
        {"python/libmod.py": f"VALUE = '{tag}'\n"})})
    name = make_function(lam, role_arn, "import libmod\ndef handler(event, context):\n    return libmod.VALUE\n",
                         Layers=[layer["LayerVersionArn"]])
    before = folders("opt")
    assert invoke(lam, name)["body"] == tag
    new = folders("opt") - before
    assert len(new) == 1
    lam.delete_layer_version(LayerName=f"lib-{tag}", VersionNumber=layer["Version"])
    lam.update_function_configuration(FunctionName=name, Timeout=4)  # a new environment, a cold start
    lam.get_waiter("function_updated_v2").wait(FunctionName=name)
    assert invoke(lam, name)["body"] == tag, "the deleted layer version still works for its function"
    assert new <= folders("opt")
    lam.delete_function(FunctionName=name)
    assert not (new & folders("opt"))
