"""The one place that makes boto3 sessions and clients.

Two targets:

``offline`` (the default)
    The embedded emulator on loopback. Clients get a fixed loopback endpoint, fake
    credentials and a fixed region; the user's real credentials, profile, config
    file and proxy settings are never read, so an offline client cannot send a
    request anywhere but 127.0.0.1. Asking for an offline client starts the
    emulator when none is running.

``aws``
    A real AWS account, only by explicit opt-in: ``SQSLAB_TARGET=aws`` in the
    environment or ``target="aws"`` as an argument. Credentials, profile and
    region come from the usual AWS configuration.

Nothing here runs at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from sqslab.errors import SqslabError

TARGETS = ("offline", "aws")
OFFLINE_REGION = "us-east-1"
OFFLINE_ACCESS_KEY = "testing"
OFFLINE_SECRET_KEY = "testing"
OFFLINE_ACCOUNT = "123456789012"


@dataclass(frozen=True)
class Target:
    """Where requests go: ``name`` is ``offline`` or ``aws``."""

    name: str
    region: str
    endpoint_url: str | None = None
    profile: str | None = None

    @property
    def offline(self) -> bool:
        return self.name == "offline"


def target_name(target: str | Target | None = None) -> str:
    """The target asked for: the argument, else ``SQSLAB_TARGET``, else offline."""
    if isinstance(target, Target):
        return target.name
    name = (target or os.environ.get("SQSLAB_TARGET") or "offline").strip().lower()
    if name not in TARGETS:
        raise SqslabError(
            f"unknown target {name!r}: use 'offline' (the default) or 'aws' "
            "(set SQSLAB_TARGET=aws or pass --target aws to opt in to a real account)"
        )
    return name


def resolve(
    target: str | Target | None = None,
    *,
    region: str | None = None,
    profile: str | None = None,
) -> Target:
    """Decide the target. Offline, this starts the emulator if it is not running."""
    if isinstance(target, Target):
        return target
    name = target_name(target)
    if name == "offline":
        from sqslab.offline import server

        return Target("offline", OFFLINE_REGION, endpoint_url=server.ensure_running())
    return Target(
        "aws",
        region or _aws_default_region(profile),
        endpoint_url=None,
        profile=profile or os.environ.get("AWS_PROFILE"),
    )


def _aws_default_region(profile: str | None) -> str:
    import boto3

    # botocore reads AWS_DEFAULT_REGION and the profile; AWS_REGION is what the other SDKs read.
    region = boto3.Session(profile_name=profile).region_name or os.environ.get("AWS_REGION")
    if not region:
        raise SqslabError(
            "no AWS region configured: set AWS_REGION (or AWS_DEFAULT_REGION) "
            "or a region in your AWS profile"
        )
    return region


def offline_botocore_session(region: str = OFFLINE_REGION):
    """A botocore session sealed off from the user's AWS configuration.

    The profile is not taken from ``AWS_PROFILE``; the config and credentials
    files are the null device; the region is fixed.
    """
    import botocore.session

    session = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    session.set_config_variable("config_file", os.devnull)
    session.set_config_variable("credentials_file", os.devnull)
    session.set_config_variable("region", region)
    return session


def session(target: str | Target | None = None, **kwargs):
    """A boto3 session for the target."""
    import boto3

    tgt = resolve(target, **kwargs)
    if tgt.offline:
        return boto3.Session(
            botocore_session=offline_botocore_session(tgt.region),
            aws_access_key_id=OFFLINE_ACCESS_KEY,
            aws_secret_access_key=OFFLINE_SECRET_KEY,
            region_name=tgt.region,
        )
    return boto3.Session(profile_name=tgt.profile, region_name=tgt.region)


def client_config(tgt: Target, **overrides):
    """The botocore Config for a client of ``tgt``.

    Offline: no proxies (an ``HTTP_PROXY`` in the environment must not carry
    loopback traffic elsewhere), few retries, and a read timeout longer than
    the longest Lambda invoke (900 s) so long polls and slow handlers are not cut.
    """
    from botocore.config import Config

    if tgt.offline:
        base = dict(
            proxies={},
            retries={"max_attempts": 2, "mode": "standard"},
            read_timeout=910,
            connect_timeout=5,
        )
    else:
        base = dict(read_timeout=910, retries={"mode": "standard"})
    base.update(overrides)
    return Config(**base)


def _make(kind: str, service: str, target, overrides: dict):
    tgt = resolve(target)
    return getattr(session(tgt), kind)(service, endpoint_url=tgt.endpoint_url, config=client_config(tgt, **overrides))


def client(service: str, target: str | Target | None = None, **config_overrides):
    """A boto3 client for ``service`` on the target (offline unless opted in)."""
    return _make("client", service, target, config_overrides)


def resource(service: str, target: str | Target | None = None, **config_overrides):
    """A boto3 resource for ``service`` on the target."""
    return _make("resource", service, target, config_overrides)


# Variables that would carry a real identity into offline tools: unset, not emptied.
OFFLINE_UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def offline_environment(endpoint_url: str, region: str = OFFLINE_REGION) -> dict[str, str]:
    """Environment variables that point any AWS SDK or the AWS CLI at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": OFFLINE_ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": OFFLINE_SECRET_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "NO_PROXY": "127.0.0.1,localhost",
    }
