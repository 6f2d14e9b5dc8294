"""Resource names, shared by the deploy tooling and the emulator's CloudFormation fixes."""

from __future__ import annotations


def names_match(physical_id, name: str) -> bool:
    """Whether a physical resource id (a name, a queue URL, an ARN) is the resource named ``name``."""
    physical_id = str(physical_id or "")
    return physical_id == name or physical_id.endswith(("/" + name, ":" + name))
