"""Who the offline emulator says you are, and the environment that points any AWS
SDK or the AWS CLI at it: one account, one region, AWS configuration files that
are the null device, and credentials of the server's own.

Each offline server has its own access key id and secret, made at random the
first time a server starts in a state directory and kept there in
``credentials`` (mode 0600, in the AWS shared-credentials format): only the
user who owns the state directory can read them, and the server accepts no
request that is not signed with them (:mod:`sqslab.offline.auth`). They mean
nothing anywhere else: they are not AWS credentials. Nothing here imports an
AWS SDK.
"""

from __future__ import annotations

import configparser
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from sqslab.base.account import ACCOUNT, REGION  # noqa: F401 (the emulator's callers read them here)
from sqslab.base.errors import SqslabError

CREDENTIALS_FILE = "credentials"

# Variables that would carry a real identity into offline tools: unset, not emptied.
UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str

    def __repr__(self) -> str:  # never print the secret by accident
        return f"Credentials(access_key={self.access_key!r}, secret_key='***')"


def credentials_path(state_dir: str | os.PathLike) -> Path:
    return Path(state_dir) / CREDENTIALS_FILE


_CACHE: dict[tuple, Credentials] = {}


def load_credentials(state_dir: str | os.PathLike) -> Credentials:
    """The credentials of the offline server of ``state_dir``; one clear line if there are none."""
    path = credentials_path(state_dir)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SqslabError(f"the offline server's credentials are missing ({path}): restart it with "
                          "`sqslab offline stop` and `sqslab offline start`") from None
    key = (str(path), st.st_ino, st.st_mtime_ns, st.st_size)
    found = _CACHE.get(key)
    if found is not None:
        return found
    if st.st_uid != os.geteuid():
        raise SqslabError(f"the offline server's credentials file {path} belongs to another user: sqslab will not "
                          "use credentials that others wrote; set SQSLAB_HOME to a folder of your own")
    if st.st_mode & 0o077:
        os.chmod(path, stat.S_IRUSR | stat.S_IWUSR)  # readable by its owner only, whatever copied it
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(path.read_text())
        section = parser["default"]
        creds = Credentials(section["aws_access_key_id"].strip(), section["aws_secret_access_key"].strip())
    except (OSError, KeyError, UnicodeDecodeError, configparser.Error) as exc:
        why = ("no [default] section with aws_access_key_id and aws_secret_access_key"
               if isinstance(exc, (KeyError, configparser.Error)) else type(exc).__name__)
        raise SqslabError(f"the offline server's credentials file {path} is damaged ({why}): delete it and "
                          "restart the server (`sqslab offline stop`, `sqslab offline start`)") from None
    _CACHE.clear()
    _CACHE[key] = creds
    return creds


def ensure_credentials(state_dir: str | os.PathLike) -> Credentials:
    """The state directory's credentials, made (at random, mode 0600) if there are none yet."""
    path = credentials_path(state_dir)
    if not path.exists():
        from sqslab.offline.auth.keystore import access_key_id, secret_key

        path.parent.mkdir(parents=True, exist_ok=True)
        text = (
            "# The offline sqslab server's credentials: they open this state directory's server on\n"
            "# 127.0.0.1 and nothing else. Not AWS credentials. See `sqslab offline env`.\n"
            f"[default]\naws_access_key_id = {access_key_id()}\naws_secret_access_key = {secret_key()}\n"
        )
        tmp = path.with_name(f".{CREDENTIALS_FILE}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        try:
            os.link(tmp, path)  # never replaces credentials another process wrote first
        except FileExistsError:
            pass
        except OSError:  # a file system without hard links
            if not path.exists():
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return load_credentials(state_dir)


def environment(endpoint_url: str, credentials: Credentials, region: str = REGION) -> dict[str, str]:
    """Environment variables that point any AWS SDK or the AWS CLI at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": credentials.access_key,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_key,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "NO_PROXY": "127.0.0.1,localhost",
    }


def env_lines(endpoint_url: str, credentials: Credentials) -> list[str]:
    """Shell lines that point the AWS CLI and SDKs at ``endpoint_url``."""
    lines = [
        "# The offline sqslab server and its own credentials (they open it and nothing else).",
        "# AWS CLI v1 (`aws --version` says aws-cli/1.x) ignores AWS_ENDPOINT_URL for SQS and would",
        "# call the real AWS: use `sqslab aws ...` instead, which gives every service the endpoint.",
    ]
    lines += [f"export {k}={v}" for k, v in environment(endpoint_url, credentials).items()]
    lines.append("unset " + " ".join(UNSET))
    return lines
