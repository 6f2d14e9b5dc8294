"""Unpacking a code package as Lambda limits it (sqslab.offline.awslambda.code_package), without a
server: the bytes written are counted and unpacking stops at the quota ("Lambda quotas": 250 MB
unzipped; Invoke's InvalidZipFileException, 502), a full disk leaves no folder, and the
package checks answer in Lambda's words. tests/integration/test_code_packages.py tries the
quotas through CreateFunction, UpdateFunctionCode, layers and Invoke."""

from __future__ import annotations

import errno
import io
import zipfile
from importlib.metadata import version
from pathlib import PurePosixPath

import pytest
from helpers import HANDLER, zeros_zip

from sqslab.base.errors import SqslabError
from sqslab.deploy import code_zip, template
from sqslab.deploy.code_zip import zip_files
from sqslab.offline.awslambda import code_package


def test_unpacking_stops_at_the_limit_and_leaves_nothing(tmp_path):
    """A zip's declared sizes are not trusted: the bytes written are counted and unpacking stops at the
    quota, with nothing left behind (InvalidZipFileException, as Invoke answers)."""
    data = zeros_zip("big.bin", 5_000_000, {"index.py": HANDLER})
    with pytest.raises(code_package.PackageError) as err:
        code_package.unpack(tmp_path / "pkg", [data], limit=1_000_000)
    assert (err.value.code, err.value.status) == ("InvalidZipFileException", 502)
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_leaves_no_folder(tmp_path, monkeypatch):
    """A write that fails (ENOSPC) removes what was written and answers in Lambda's shape."""
    real_open = open
    written = [0]

    class Full(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def write(self, b):
            written[0] += len(b)
            if written[0] > 100_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.f.write(b)

        def __exit__(self, *a):
            self.f.close()

    def fake_open(path, mode="r", *a, **k):
        f = real_open(path, mode, *a, **k)
        return Full(f) if "x" in mode else f

    monkeypatch.setattr("builtins.open", fake_open)
    with pytest.raises(code_package.PackageError) as err:
        code_package.unpack(tmp_path / "pkg", [zeros_zip("big.bin", 1_000_000, {"index.py": HANDLER})])
    assert err.value.code == "InvalidZipFileException" and "No space left" in err.value.message
    assert list(tmp_path.iterdir()) == []


def test_checks_without_a_server():
    assert code_package.unzipped_size(zip_files({"a.py": "x" * 100})) == 100
    with pytest.raises(code_package.PackageError) as err:
        code_package.check_package(b"not a zip")
    assert err.value.message.startswith("Could not unzip uploaded file")
    assert code_package._link_stays_inside(PurePosixPath("a/b"), "../c")
    assert not code_package._link_stays_inside(PurePosixPath("a/b"), "../../c")


def test_a_layer_is_built_from_installed_distributions(tmp_path):
    """"Working with layers for Python Lambda functions": a layer's packages go under python/.
    Built from the copies installed here (nothing downloaded); a missing or mis-pinned
    distribution is one line saying what to install."""
    names = zipfile.ZipFile(io.BytesIO(code_zip.zip_distributions(["PyYAML  # the YAML parser"]))).namelist()
    assert "python/yaml/__init__.py" in names and all(n.startswith("python/") for n in names)
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)
    with pytest.raises(SqslabError, match="not installed here: pip install 'no-such-dist-xyz'"):
        code_zip.zip_distributions(["no-such-dist-xyz"])
    with pytest.raises(SqslabError, match=f"pins PyYAML==0.0.1 but {version('PyYAML')} is installed"):
        code_zip.zip_distributions(["PyYAML==0.0.1"])
    # in a template: a folder with requirements.txt is built from them, any other folder zipped as it is
    (tmp_path / "built").mkdir()
    (tmp_path / "built" / "requirements.txt").write_text("PyYAML\n")
    (tmp_path / "plain" / "python").mkdir(parents=True)
    (tmp_path / "plain" / "python" / "mine.py").write_text("X = 1\n")
    assert "python/yaml/__init__.py" in zipfile.ZipFile(io.BytesIO(template.layer_zip(tmp_path / "built"))).namelist()
    assert zipfile.ZipFile(io.BytesIO(template.layer_zip(tmp_path / "plain"))).namelist() == ["python/mine.py"]
