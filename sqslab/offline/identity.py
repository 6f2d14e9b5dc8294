"""Who the offline emulator says you are, and the environment that points any AWS
SDK or the AWS CLI at it: fixed fake credentials, one account, one region, and
AWS configuration files that are the null device. Nothing here imports an AWS SDK."""

from __future__ import annotations

import os

REGION = "us-east-1"
ACCESS_KEY = "testing"
SECRET_KEY = "testing"
ACCOUNT = "123456789012"

# Variables that would carry a real identity into offline tools: unset, not emptied.
UNSET = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")


def environment(endpoint_url: str, region: str = REGION) -> dict[str, str]:
    """Environment variables that point any AWS SDK or the AWS CLI at the emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "NO_PROXY": "127.0.0.1,localhost",
    }


def env_lines(endpoint_url: str) -> list[str]:
    """Shell lines that point the AWS CLI and SDKs at ``endpoint_url``."""
    lines = [f"export {k}={v}" for k, v in environment(endpoint_url).items()]
    lines.append("unset " + " ".join(UNSET))
    return lines
