"""The IAM patches: roles made by CloudFormation keep their policies as IAM does."""

from __future__ import annotations

import inspect
import json

from sqslab.offline.patches.guards import mark_applied, mismatch_error, original_of, require_attr


# ---------------------------------------------------------------------------
# iam_role_policy_json
# Upstream gap: a role created by CloudFormation with inline `Policies` keeps
# each PolicyDocument as a Python dict (moto.iam.models.Role.put_policy stores
# what it is given), so GetRolePolicy returns its repr, not JSON, and nothing
# can read the policy back. IAM stores and returns policy documents as JSON.
def apply_role_policy_json() -> str:
    from moto.iam.models import Role

    original = original_of(Role, "put_policy", "iam_role_policy_json", ("self", "policy_name", "policy_json"))
    if original is None:
        return "already applied"

    def put_policy(self, policy_name, policy_json):
        if isinstance(policy_json, dict):
            policy_json = json.dumps(policy_json)
        return original(self, policy_name, policy_json)

    mark_applied(put_policy, "iam_role_policy_json", original)
    Role.put_policy = put_policy
    return "Role.put_policy stores JSON"


# ---------------------------------------------------------------------------
# iam_role_managed_policies
# Upstream gap: moto.iam.models.Role.create_from_cloudformation_json ignores
# the role's ManagedPolicyArns, so a CloudFormation role shows no attached
# policies (AWSLambdaBasicExecutionRole here). CloudFormation attaches them.
def apply_role_managed_policies() -> str:
    from moto.iam.models import Role, iam_backends
    from moto.utilities.utils import get_partition

    original = original_of(Role, "create_from_cloudformation_json", "iam_role_managed_policies")
    if original is None:
        return "already applied"
    if "ManagedPolicyArns" in inspect.getsource(original):
        return "not needed: this moto attaches ManagedPolicyArns itself"
    func = original.__func__

    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        role = func(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        backend = iam_backends[account_id][get_partition(region_name)]
        for arn in (cloudformation_json.get("Properties") or {}).get("ManagedPolicyArns", []):
            backend.attach_role_policy(arn, role.name)
        return role

    delete_func = require_attr(Role, "delete_from_cloudformation_json", "iam_role_managed_policies").__func__

    def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        # CloudFormation detaches what it attached before deleting the role.
        backend = iam_backends[account_id][get_partition(region_name)]
        for role in list(backend.roles.values()):
            if role.name == resource_name:
                for arn in list(role.managed_policies):
                    backend.detach_role_policy(arn, role.name)
        return delete_func(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)

    mark_applied(create_from_cloudformation_json, "iam_role_managed_policies", original)
    Role.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)
    Role.delete_from_cloudformation_json = classmethod(delete_from_cloudformation_json)
    return "CloudFormation roles get their ManagedPolicyArns attached, and detached on delete"


# ---------------------------------------------------------------------------
# iam_account_lookup_in_existing_partitions
# Upstream gap: moto.iam.models.get_account_id_from, which every request's response
# calls to find the account of its access key, looks in each account's IAM backend of
# every partition (aws, aws-cn, aws-us-gov, and the isolated ones), and reading a
# partition's backend creates it: each one a copy of AWS's 1,582 managed policies, their
# documents serialized again. Six copies were about 45 MB of the offline server's 130 MB
# after its first two requests. An access key can only be in a backend that exists, so
# only the partitions already made are looked in: the same answer, with nothing created.
def apply_account_lookup_in_existing_partitions() -> str:
    from moto.iam import models

    patch = "iam_account_lookup_in_existing_partitions"
    original = original_of(models, "get_account_id_from", patch, ("access_key",))
    if original is None:
        return "already applied"
    require_attr(models, "iam_backends", patch)
    require_attr(models, "DEFAULT_ACCOUNT_ID", patch)

    def get_account_id_from(access_key: str) -> str:
        for account_id, account in list(models.iam_backends.items()):
            for backend in list(account.values()):  # the partitions' backends made so far
                if access_key in backend.access_keys:
                    return account_id
        return models.DEFAULT_ACCOUNT_ID

    mark_applied(get_account_id_from, patch, original)
    models.get_account_id_from = get_account_id_from
    return "get_account_id_from looks in the partitions' backends that exist"


# ---------------------------------------------------------------------------
# iam_managed_policies_text_released
# Upstream gap: AWS's managed policies (1,582 of them) come as one JSON text, a 4.7 MB
# constant of moto.iam.aws_managed_policies that moto.iam.models imports by name. Each IAM
# backend parses it into its policies, and the text stays in memory for the server's life
# beside them. It is now imported for the parse and let go after it: the next backend (another
# account's) imports it again.
TEXT_MODULE = "moto.iam.aws_managed_policies"


def apply_managed_policies_text_released() -> str:
    import importlib
    import sys
    import threading

    from moto.iam import models

    patch = "iam_managed_policies_text_released"
    original = original_of(models.IAMBackend, "_init_aws_policies", patch, ("self",))
    if original is None:
        return "already applied"
    require_attr(models, "aws_managed_policies_data", patch)
    if "aws_managed_policies_data" not in original.__code__.co_names:
        raise mismatch_error(patch, "IAMBackend._init_aws_policies no longer reads aws_managed_policies_data")
    lock = threading.Lock()

    def release() -> None:
        models.aws_managed_policies_data = None
        sys.modules.pop(TEXT_MODULE, None)
        package = sys.modules.get("moto.iam")
        if package is not None and hasattr(package, "aws_managed_policies"):
            delattr(package, "aws_managed_policies")

    def _init_aws_policies(self):
        with lock:
            models.aws_managed_policies_data = importlib.import_module(TEXT_MODULE).aws_managed_policies_data
            try:
                return original(self)
            finally:
                release()

    mark_applied(_init_aws_policies, patch, original)
    models.IAMBackend._init_aws_policies = _init_aws_policies
    release()
    return "AWS's managed policies are parsed from their text, and the text let go"
