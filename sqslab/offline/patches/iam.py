"""The IAM patches: roles made by CloudFormation keep their policies as IAM does."""

from __future__ import annotations

import inspect
import json

from sqslab.offline.patches.guards import mark_applied, original_of, require_attr


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
