"""The access keys an offline server accepts, and whom each stands for: the learner, or
one execution environment of a function (temporary credentials, issued and revoked here)."""

from __future__ import annotations

import base64
import secrets
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Principal:
    """Whom an access key stands for: the learner (``kind == "learner"``) or one
    execution environment of a function (``kind == "function"``)."""

    access_key: str
    secret_key: str
    kind: str = "learner"
    token: str | None = None
    function_arn: str = ""
    role_arn: str = ""


class KeyStore:
    """The access keys a server accepts, and whom each stands for."""

    def __init__(self):
        self._keys: dict[str, Principal] = {}
        self._lock = threading.Lock()

    def add(self, principal: Principal) -> Principal:
        with self._lock:
            self._keys[principal.access_key] = principal
        return principal

    def get(self, access_key: str) -> Principal | None:
        return self._keys.get(access_key)

    def issue(self, function_arn: str = "", role_arn: str = "") -> Principal:
        """Temporary credentials for one execution environment (``ASIA...`` keys, as STS issues)."""
        return self.add(Principal(
            access_key="ASIA" + key_chars(16),
            secret_key=secret_key(),
            kind="function",
            token=base64.b64encode(secrets.token_bytes(96)).decode("ascii"),
            function_arn=function_arn,
            role_arn=role_arn,
        ))

    def revoke(self, access_key: str) -> None:
        with self._lock:
            self._keys.pop(access_key, None)

    def __len__(self) -> int:
        return len(self._keys)


_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def key_chars(n: int) -> str:
    return "".join(secrets.choice(_B32) for _ in range(n))


def access_key_id() -> str:
    """A long-term access key id in AWS's form (``AKIA`` and 16 characters)."""
    return "AKIA" + key_chars(16)


def secret_key() -> str:
    """A random 40-character secret access key (240 bits)."""
    return base64.b64encode(secrets.token_bytes(30)).decode("ascii")


# The server process's store: the learner's key is added at start, environments' keys as they start.
STORE = KeyStore()


def issue_for_environment(function_arn: str = "", role_arn: str = "") -> Principal:
    """Temporary credentials for one execution environment of ``function_arn``, standing for
    its execution role: ``role_arn``, or the function's Role as moto's Lambda backend holds it now."""
    if function_arn and not role_arn:
        from sqslab.offline.iam import policy as iam_policy

        role_arn = iam_policy.function_role(function_arn)
    return STORE.issue(function_arn, role_arn)


def revoke(access_key: str) -> None:
    STORE.revoke(access_key)
