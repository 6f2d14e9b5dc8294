"""Small, named fixes to moto, applied inside the offline server process only.

One module per AWS service (:mod:`.cloudformation`, :mod:`.iam`,
:mod:`.awslambda`, :mod:`.sqs`, :mod:`.sns`, :mod:`.logs`) and one for the dispatch every service shares (:mod:`.dispatch`), and here the registry that applies them in order. Each
patch names the upstream gap it covers, checks that the moto internals it
touches still look the way it expects (:mod:`.guards`), and raises
:class:`PatchError` with a clear message when they do not, instead of silently
misbehaving on a moto release whose internals changed. The supported moto range
is pinned in ``pyproject.toml``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqslab.offline.patches import awslambda, cloudformation, core, dispatch, iam, logs, sns, sqs
from sqslab.offline.patches.guards import SUPPORTED, PatchError

__all__ = ["PATCHES", "SUPPORTED", "Patch", "PatchError", "applied", "apply_all"]


@dataclass(frozen=True)
class Patch:
    name: str
    gap: str
    apply: Callable[[], str]


_applied: dict[str, str] = {}


PATCHES: tuple[Patch, ...] = (
    # first: it stands in for services before anything loads CloudFormation's parser
    Patch("cfn_models_of_series_services", "CloudFormation's parser loads 30 services' models (EC2's 90 MB)",
          cloudformation.apply_models_of_series_services),
    Patch("regions_without_service_models", "naming a service's regions keeps its whole model and the endpoint data",
          core.apply_regions_without_service_models),
    Patch("models_untracked", "every model instance is kept for ever", core.apply_models_untracked),
    Patch("dispatch_action_one_reading", "an Action parameter overrides X-Amz-Target and Lambda's route",
          dispatch.apply_dispatch_action_one_reading),
    Patch("dispatch_checked", "requests are dispatched unchecked (roles, ambiguity)", dispatch.apply_dispatch_checked),
    Patch("cfn_unknown_types_refused", "a resource of a type moto lacks is skipped: the stack completes without it",
          cloudformation.apply_unknown_types_refused),
    Patch("cfn_getatt_short_form", "YAML !GetAtt split on every dot", cloudformation.apply_getatt_short_form),
    Patch("cfn_nested_stack_outputs", "Stack has no get_cfn_attribute", cloudformation.apply_nested_stack_outputs),
    Patch("cfn_nested_stack_parent_ids", "nested stacks have no ParentId or RootId",
          cloudformation.apply_nested_stack_parent_ids),
    Patch("cfn_create_failure_rolls_back", "a failed resource escapes CreateStack",
          cloudformation.apply_create_failure_rollback),
    Patch("cfn_update_failure_rolls_back", "a failed resource escapes UpdateStack, the resources before it kept",
          cloudformation.apply_update_failure_rollback),
    Patch("cfn_create_refuses_existing_names", "a create takes over a named resource that exists",
          cloudformation.apply_create_refuses_existing_names),
    Patch("cfn_nested_stack_updates_in_place", "a nested stack is replaced on every update",
          cloudformation.apply_nested_stack_updates_in_place),
    Patch("cfn_update_follows_conditions", "a parameter read through a Condition updates nothing",
          cloudformation.apply_update_follows_conditions),
    Patch("cfn_mapping_update_resets_removed_properties", "a mapping keeps properties an update left out",
          cloudformation.apply_mapping_update_resets_removed_properties),
    Patch("cfn_queue_update_sets_attributes", "a queue update applies only two of its properties",
          cloudformation.apply_queue_update_sets_attributes),
    Patch("cfn_lambda_layer_versions", "a layer version's Ref is an object, its name and a function's Layers ignored",
          cloudformation.apply_lambda_layer_versions),
    Patch("iam_role_policy_json", "CloudFormation role policies stored as dict repr", iam.apply_role_policy_json),
    Patch("iam_role_managed_policies", "CloudFormation roles ignore ManagedPolicyArns", iam.apply_role_managed_policies),
    Patch("iam_managed_policies_text_released", "the managed policies' 4.7 MB JSON text is kept once parsed",
          iam.apply_managed_policies_text_released),
    Patch("iam_account_lookup_in_existing_partitions", "each request's account lookup makes an IAM backend per partition",
          iam.apply_account_lookup_in_existing_partitions),
    Patch("lambda_env_strings", "environment values kept as int/bool", awslambda.apply_lambda_env_strings),
    Patch("lambda_local_runtime", "Lambda code runs only in Docker", awslambda.apply_lambda_local_runtime),
    Patch("sqs_no_push_on_send", "SendMessage runs the mapped function synchronously", sqs.apply_sqs_no_push_on_send),
    Patch("lambda_esm_sqs_checks", "SQS mappings skip Lambda's create/update checks",
          awslambda.apply_lambda_esm_sqs_checks),
    Patch("lambda_esm_sqs_poller", "SQS mappings are not polled; State reported at once",
          awslambda.apply_lambda_esm_sqs_poller),
    Patch("lambda_code_package_limits", "code packages of any unzipped size are accepted",
          awslambda.apply_lambda_code_package_limits),
    Patch("lambda_environment_checks", "reserved environment keys are accepted and silently replaced",
          awslambda.apply_lambda_environment_checks),
    Patch("lambda_invoke_request_checks", "Invoke runs a payload that is not JSON, or over 6 MB",
          awslambda.apply_lambda_invoke_request_checks),
    Patch("lambda_reserved_concurrency", "reservations unchecked without MOTO_LAMBDA_CONCURRENCY_QUOTA",
          awslambda.apply_lambda_reserved_concurrency),
    Patch("lambda_account_settings", "GetAccountSettings is not served", awslambda.apply_lambda_account_settings),
    Patch("lambda_invoke_async_is_asynchronous", "InvokeAsync runs at once and answers the function's result",
          awslambda.apply_lambda_invoke_async_is_asynchronous),
    Patch("lambda_esm_unknown_uuid_not_found", "updating or deleting an unknown mapping answers an empty 404",
          awslambda.apply_lambda_esm_unknown_uuid_not_found),
    Patch("sqs_queue_attribute_limits", "queue attributes out of range (VisibilityTimeout 43201) are kept",
          sqs.apply_sqs_queue_attribute_limits),
    Patch("sqs_request_values_as_documented", "empty bodies queued; receive values out of range taken or garbled",
          sqs.apply_sqs_request_values_as_documented),
    Patch("sqs_change_visibility_in_flight", "ChangeMessageVisibility never answers MessageNotInflight",
          sqs.apply_sqs_change_visibility_in_flight),
    Patch("sqs_long_poll_wakes_on_visibility", "a long poll sees a message visible again up to 1 s late",
          sqs.apply_sqs_long_poll_wakes_on_visibility),
    Patch("sqs_fifo_visible_again_keeps_order", "a FIFO group's messages visible again come back last first",
          sqs.apply_sqs_fifo_visible_again_keeps_order),
    Patch("sqs_fifo_long_poll_sees_freed_groups", "a FIFO long poll misses a group freed while it waits, and spins",
          sqs.apply_sqs_fifo_long_poll_sees_freed_groups),
    Patch("sqs_fifo_receive_fills_from_one_group", "a FIFO receive mixes interleaved groups, one message of each",
          sqs.apply_sqs_fifo_receive_fills_from_one_group),
    Patch("sqs_retention_expiry", "expired messages stay in the queue, in flight and counted",
          sqs.apply_sqs_retention_expiry),
    Patch("sqs_fifo_dedup_interval", "a FIFO deduplication id is forgotten once its message is deleted",
          sqs.apply_sqs_fifo_dedup_interval),
    Patch("sns_sqs_delivery_checks_queue_policy", "a topic delivers to any subscribed queue, whatever its policy",
          sns.apply_sns_sqs_delivery_checks_queue_policy),
    Patch("sns_requests_checked", "bad subscription attributes answer 500 and stay made; any protocol or topic attribute",
          sns.apply_sns_requests_checked),
    Patch("sns_sqs_delivery_as_documented", "raw Binary attributes break the queue; a failed delivery fails Publish",
          sns.apply_sns_sqs_delivery_as_documented),
    # after the two above: a message its filter policy turns away is neither refused nor delivered
    Patch("sns_filter_policies_as_documented", "$or on the body fails Publish; exists, equals-ignore-case, scope wrong",
          sns.apply_sns_filter_policies_as_documented),
    Patch("logs_retention_and_cap", "log events are kept for ever, RetentionInDays ignored", logs.apply_logs_retention_and_cap),
    Patch("sqs_message_move_tasks", "no StartMessageMoveTask / ListMessageMoveTasks / CancelMessageMoveTask (HTTP 500)",
          sqs.apply_sqs_message_move_tasks),
    # last: it wraps Queue.__init__, whose source the patches above inspect
    Patch("sqs_deleted_handles_bounded", "every deleted message's receipt handle is kept for ever",
          sqs.apply_sqs_deleted_handles_bounded),
)


def apply_all() -> dict[str, str]:
    """Apply every patch once; returns what each did. Raises PatchError on a mismatch."""
    for patch in PATCHES:
        if patch.name not in _applied:
            _applied[patch.name] = patch.apply()
    return dict(_applied)


def applied() -> dict[str, str]:
    return dict(_applied)
