"""Bad input, table-driven: the command line, the Python API and the notebooks'
parameters. Each case must answer in one line (no traceback) with its exit code,
and leave everything as it was: the stacks, the queues with their message
counts, the functions and the artifacts are read before and after."""


from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from sqslab.base.errors import SqslabError
from sqslab.deploy import checks
from sqslab.lab import notebook


def one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {len(lines)}:\n{text}"
    assert "Traceback" not in text
    return lines[0]


NOTEBOOK_CASES = [
    ({"profile": "bogus"}, "profile 'bogus' is not one of 'article', 'quick'"),
    ({"visibility_timeout": "abc"}, "visibility_timeout must be a whole number of seconds, not 'abc'"),
    ({"visibility_timeout": 1.5}, "visibility_timeout must be a whole number"),
    ({"visibility_timeout": 50000}, "out of range: SQS allows 0 to 43200"),
    ({"visibility_timeout": True}, "must be a whole number of seconds, not bool"),
    ({"wait": 25}, "wait 25 is out of range: SQS allows 0 to 20"),
    ({"target": "bogus"}, "unknown target 'bogus'"),
    ({"stack_name": "bad!"}, "stack name 'bad!' is not allowed"),
    ({"source": "nowhere"}, "source 'nowhere' is not one of 'live', 'recorded'"),
    ({"compare_seconds": -5}, "compare_seconds -5 is out of range"),
]


@pytest.mark.parametrize(("given", "words"), NOTEBOOK_CASES, ids=[next(iter(c[0])) + "=" + repr(next(iter(c[0].values()))) for c in NOTEBOOK_CASES])
def test_notebook_parameters(given, words):
    params = {"target": "offline", "stack_name": "sqslab", "profile": "quick", "visibility_timeout": None,
              "wait": None, **given}
    extra = {k: params.pop(k) for k in ("source", "compare_seconds") if k in params}
    with pytest.raises(SqslabError) as err:
        notebook.check_notebook_parameters(**params, **extra)
    assert words in one_line(str(err.value))


def test_checks_accept_what_aws_accepts():
    """The boundary must not refuse good input either."""
    assert checks.stack_name("A-b1" + "x" * 124) == "A-b1" + "x" * 124
    assert checks.bucket_name("sqslab-artifacts-123456789012-eu-west-1") is not None
    assert checks.function_name("arn:aws:lambda:us-east-1:123456789012:function:fa-021-function1:$LATEST")
    assert checks.number_text("X", " 30 ", whole=True) == "30" and checks.number_text("X", "30.0", whole=True) == "30"
    assert checks.payload({"k": [1, "two", None]}) == b'{"k": [1, "two", null]}'
    assert checks.seconds("wait", "20", 0, 20, "SQS") == 20


def _sqslab(env_extra: dict, *argv: str, home, stdout=subprocess.PIPE) -> subprocess.CompletedProcess:
    from conftest import free_port

    env = {**os.environ, "SQSLAB_HOME": str(home), "SQSLAB_OFFLINE_PORT": str(free_port()), **env_extra}
    return subprocess.run([sys.executable, "-m", "sqslab.cli", *argv], stdout=stdout, stderr=subprocess.PIPE,
                          text=True, timeout=120, env=env)


@pytest.mark.parametrize(("env", "words"), [
    ({"SQSLAB_IDLE_TTL_S": "abc"}, "SQSLAB_IDLE_TTL_S='abc' is not a number: use 1 to 86400 seconds"),
    ({"SQSLAB_MEMORY_POLL_MS": "-5"}, "SQSLAB_MEMORY_POLL_MS='-5' is out of range: use 1 to 1000 milliseconds"),
    ({"SQSLAB_MEMORY_POLL_MS": "nan"}, "is out of range"),
    ({"SQSLAB_OFFLINE_PORT": "70000"}, "SQSLAB_OFFLINE_PORT=70000 is out of range: choose one in 1024-65535"),
    ({"SQSLAB_OFFLINE_PORT": "abc"}, "SQSLAB_OFFLINE_PORT='abc' is not a port number"),
    ({"SQSLAB_HOME": "state/here"}, "SQSLAB_HOME='state/here' is a relative path: give an absolute one"),
], ids=["idle ttl abc", "memory poll -5", "memory poll nan", "port 70000", "port abc", "relative home"])
def test_settings_out_of_range_are_one_line_and_start_nothing(env, words, tmp_path):
    """A setting is checked where it is read, with its valid range: no server starts (a memory poll of -5 ms
    silently turned the MemorySize limit off; an idle time of 'abc' was a server traceback)."""
    result = _sqslab(env, "offline", "start", home=tmp_path)
    assert result.returncode == 2 and words in one_line(result.stderr), result.stderr
    assert not (tmp_path / "offline" / "server.json").exists()


def test_a_state_home_that_is_a_file_or_cannot_be_made(tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    for home, words in ((afile, "is not a folder"), (Path("/proc/1/nope"), "cannot make")):
        for argv in (("offline", "start"), ("offline", "status"), ("offline", "stop")):
            result = _sqslab({}, *argv, home=home)
            if argv[1] != "start" and "cannot make" in words:
                continue  # nothing to make for status or stop: there is no server there
            assert result.returncode == 2 and words in one_line(result.stderr), (argv, result.stderr)


needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a folder to another user needs root")


@needs_root
def test_a_state_directory_of_another_user_is_refused(tmp_path):
    """As ssh refuses a key file others control: a state directory (or credentials) that another user made,
    even in a folder open to all, is refused in one line whatever SQSLAB_HOME says; nothing starts and
    nothing is stopped."""
    shared = tmp_path / "shared"
    (shared / "offline").mkdir(parents=True)
    os.chmod(shared, 0o777)
    os.chmod(shared / "offline", 0o777)
    creds = shared / "offline" / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIAOTHERUSERKEY0000\naws_secret_access_key = theirs\n")
    os.chmod(creds, 0o644)
    os.chown(shared / "offline", 65534, 65534)
    os.chown(creds, 65534, 65534)
    for argv in (("offline", "start"), ("offline", "stop"), ("offline", "status")):
        result = _sqslab({}, *argv, home=shared)
        assert result.returncode == 2 and "belongs to another user" in one_line(result.stderr), result.stderr
    assert not (shared / "offline" / "server.json").exists()
    os.chown(shared / "offline", 0, 0)  # the folder is ours, the credentials someone else's
    result = _sqslab({}, "offline", "start", home=shared)
    assert result.returncode == 2 and "belongs to another user" in one_line(result.stderr), result.stderr


def test_a_failed_start_names_its_own_cause_not_an_earlier_runs(tmp_path):
    """The reason is read from the lines this start wrote to the log, not the last line of an earlier run."""
    from sqslab.offline.server import control as server

    old = "sqslab-offline: stopped\n"
    log = tmp_path / "offline" / "server.log"
    log.parent.mkdir(parents=True)
    log.write_text(old)
    offset = log.stat().st_size
    with log.open("a") as f:
        f.write("Traceback (most recent call last):\n  File x\nValueError: could not convert string to float\n")
        f.write("sqslab-offline: stopped on an error\n")
    saved = os.environ.get("SQSLAB_HOME")
    os.environ["SQSLAB_HOME"] = str(tmp_path)
    try:
        line = server._last_error_line(offset, 1)
        assert line.startswith("ValueError: could not convert string to float"), line
        assert server._last_error_line(log.stat().st_size, 3).startswith("it exited with code 3 and logged nothing")
    finally:
        os.environ["SQSLAB_HOME"] = saved


def test_a_state_directory_that_cannot_be_written_is_one_line(tmp_path, monkeypatch):
    """An unwritable or read-only state directory: one line saying so and what to do. (Root ignores
    file modes, so the refusal the file system would give is stood in for by os.access saying no.)"""
    from sqslab.offline import state

    (tmp_path / "offline").mkdir(mode=0o700)
    monkeypatch.setenv("SQSLAB_HOME", str(tmp_path))
    real_access = os.access
    monkeypatch.setattr(state.os, "access", lambda p, mode: False if str(p).endswith("offline") else real_access(p, mode))
    with pytest.raises(SqslabError) as err:
        state.ensure()
    assert "is not writable: make it writable (chmod u+w) or set SQSLAB_HOME" in one_line(str(err.value))


def test_an_output_file_replaces_only_what_its_command_wrote(tmp_path):
    """`sqslab record --out`: a file that exists is replaced only if it is an earlier recording; any
    other file (a system file, a notebook, a link) is refused before the run, and nothing is written."""
    import shutil

    from sqslab.config import RECORDING
    from sqslab.series import recording

    earlier = tmp_path / "run.json"
    shutil.copy(RECORDING, earlier)
    assert checks.output_file("--out", earlier, replaceable=recording.is_recording) == earlier
    other = tmp_path / "notes.json"
    other.write_text('{"mine": true}\n')
    link = tmp_path / "link.json"
    link.symlink_to(earlier)
    for path in (other, link, Path("/etc/hostname")):
        with pytest.raises(SqslabError, match="exists and is not a file this command wrote"):
            checks.output_file("--out", path, replaceable=recording.is_recording)
    assert other.read_text() == '{"mine": true}\n'
    assert checks.output_file("--out", tmp_path / "new" / "run.json", replaceable=recording.is_recording)


@pytest.mark.parametrize("command,words", [
    (["deploy"], "interrupted: the stack may be deployed in part; run the same `sqslab deploy` again"),
    (["teardown"], "interrupted: the stack may be deleted in part; run the same `sqslab teardown` again"),
    (["smoke"], "interrupted"),
])
def test_an_interrupted_command_says_what_it_may_have_left(monkeypatch, capsys, command, words):
    """Ctrl-C: exit code 130 and one line; a deploy or a teardown cut short says how to finish it."""
    from sqslab import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, f"_{command[0]}", interrupted)
    assert cli.main(command) == 130
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"sqslab: {words}"), err
