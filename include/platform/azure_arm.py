"""One way to talk to Azure Resource Manager: azure-core's ``ARMPipelineClient`` with the azure provider's credential.

Shared by the canary's Azure ML backend (traffic, metrics) and llm_fine_tuning's Azure ML jobs, because the
obvious call is wrong twice: ``AzureBaseHook`` takes ``conn_id`` (``azure_conn_id`` raises a TypeError), and
``ARMPipelineClient(policies=None, authentication_policy=...)`` builds its pipeline from a default
Configuration and silently sends **no Authorization header**, so the policies are listed here.
"""

from __future__ import annotations

from typing import Any

ARM = "https://management.azure.com"
ARM_SCOPE = "https://management.azure.com/.default"


def credential(conn_id: str | None) -> Any:
    """The connection's credential (service principal, managed identity ... as the provider reads it), else
    ``DefaultAzureCredential`` (environment, workload identity, CLI)."""
    if conn_id:
        from airflow.providers.microsoft.azure.hooks.base_azure import AzureBaseHook

        return AzureBaseHook(conn_id=conn_id).get_credential()
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential()


def client(cred: Any, base_url: str = ARM) -> Any:
    """An ``ARMPipelineClient`` whose every request carries ``Bearer`` for ``cred`` (ARM scope)."""
    from azure.core.pipeline import policies
    from azure.mgmt.core import ARMPipelineClient

    auth = policies.BearerTokenCredentialPolicy(cred, ARM_SCOPE)
    return ARMPipelineClient(base_url=base_url, policies=[
        policies.RequestIdPolicy(), policies.HeadersPolicy(),
        policies.UserAgentPolicy(sdk_moniker="genai-airflow-pipelines"), policies.RetryPolicy(), auth,
        policies.ContentDecodePolicy(), policies.NetworkTraceLoggingPolicy()])
