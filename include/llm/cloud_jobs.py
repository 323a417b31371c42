"""Submit, find and read Vertex AI and Azure ML training jobs: the two clients behind ``cloud_train``.

Both answer the same four questions for :func:`include.llm.steps.cloud_train` (a reschedule-mode sensor:
every poke plans from what the cloud holds, so a retry, a reschedule and a dead worker all re-attach):

* ``describe(name)`` — the run's job of that name as the API returns it (JSON dict), or None;
* ``create(name, body)`` — submit the job built by :mod:`include.llm.cloud`;
* ``status`` / ``reason`` / ``created`` / ``try_of`` — read a description;
* ``model_folder(described)`` — where the job's model folder is, as a lake URI.

**Vertex AI** — ``google.cloud.aiplatform_v1.JobServiceClient`` with the REST transport (the documented
``customJobs`` create/list/get; credentials from the google provider's ``GoogleBaseHook``). Custom job ids
are chosen by Vertex, so a job is found by its display name (``list`` with ``filter=display_name="..."``).
**Azure ML** — ARM REST ``PUT``/``GET`` of ``.../workspaces/<ws>/jobs/<name>`` (API 2024-04-01) through
azure-core's ``ARMPipelineClient`` with the azure provider's credential (``AzureBaseHook``), as the
canary's Azure backend does; job names are ours, so a GET answers "does this run's job exist".

There is no emulator of either control plane: the tests run these clients against loopback listeners
implementing the documented endpoints (tests/e2e/test_llm_fine_tuning_vertex_azureml.py).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from urllib.parse import urlparse

from include.llm import cloud

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class VertexJobs:
    """The run's Vertex AI custom jobs (``projects/<p>/locations/<region>/customJobs``)."""

    kind = "vertex"
    where = "Vertex AI (the job's logs in Cloud Logging)"
    ended = cloud.VERTEX_ENDED
    completed = cloud.VERTEX_DONE

    def __init__(self, conn_id: str | None, target: dict[str, Any]) -> None:
        self.conn_id, self.target = conn_id, target
        self.parent = cloud.vertex_parent(target)
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from google.cloud import aiplatform_v1

            credentials = None
            if self.conn_id:
                from airflow.providers.google.common.hooks.base_google import GoogleBaseHook

                credentials = GoogleBaseHook(gcp_conn_id=self.conn_id).get_credentials()
            self._client = aiplatform_v1.JobServiceClient(
                credentials=credentials, transport="rest",
                client_options={"api_endpoint": cloud.vertex_endpoint(self.target)})
        return self._client

    @staticmethod
    def _as_dict(job: Any) -> dict[str, Any]:
        from google.cloud import aiplatform_v1

        return json.loads(aiplatform_v1.CustomJob.to_json(job, use_integers_for_enums=False))

    def describe(self, name: str) -> dict[str, Any] | None:
        jobs = [self._as_dict(j) for j in self.client.list_custom_jobs(
            request={"parent": self.parent, "filter": f'display_name="{name}"'})]
        jobs = [j for j in jobs if j.get("displayName") == name]
        return max(jobs, key=lambda j: j.get("createTime", "")) if jobs else None

    def create(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        from google.cloud import aiplatform_v1

        job = aiplatform_v1.CustomJob.from_json(json.dumps(body))  # unknown or misspelt fields fail here
        return self._as_dict(self.client.create_custom_job(parent=self.parent, custom_job=job))

    @staticmethod
    def status(described: dict[str, Any]) -> str:
        return described.get("state", "JOB_STATE_UNSPECIFIED")

    @staticmethod
    def reason(described: dict[str, Any]) -> str | None:
        return (described.get("error") or {}).get("message")

    @staticmethod
    def created(described: dict[str, Any]) -> datetime | None:
        return _parse_time(described.get("createTime"))

    @staticmethod
    def try_of(described: dict[str, Any]) -> str | None:
        return (described.get("labels") or {}).get(cloud.TRY_LABEL)

    @staticmethod
    def model_folder(described: dict[str, Any]) -> str:
        out = ((described.get("jobSpec") or {}).get("baseOutputDirectory") or {}).get("outputUriPrefix")
        if not out:
            raise RuntimeError(f"Vertex AI job {described.get('name')} has no baseOutputDirectory")
        return f"{out.rstrip('/')}/model"


class AzureMLJobs:
    """The run's Azure ML jobs (ARM ``.../workspaces/<ws>/jobs/<name>``)."""

    kind = "azureml"
    where = "Azure ML studio (the job's outputs + logs)"
    ended = cloud.AZUREML_ENDED
    completed = cloud.AZUREML_DONE

    def __init__(self, conn_id: str | None, target: dict[str, Any]) -> None:
        self.conn_id, self.target = conn_id, target
        cloud.azureml_workspace(target)  # subscription, resource group, workspace are required
        self.arm = target.get("arm_endpoint") or cloud.ARM
        # Bearer tokens go over TLS only — except to a loopback ARM endpoint (a local proxy, the tests).
        self.enforce_https = urlparse(self.arm).hostname not in LOOPBACK
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from include.platform import azure_arm

            self._client = azure_arm.client(azure_arm.credential(self.conn_id), self.arm)
        return self._client

    def _send(self, method: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any] | None:
        from azure.core.rest import HttpRequest

        resp = self.client.send_request(HttpRequest(method, cloud.azureml_job_url(self.target, name), json=body),
                                        enforce_https=self.enforce_https)
        if method == "GET" and resp.status_code == 404:
            return None
        resp.raise_for_status()
        return resp.json() if resp.text() else {}

    def describe(self, name: str) -> dict[str, Any] | None:
        return self._send("GET", name)

    def create(self, name: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._send("PUT", name, body) or {}

    @staticmethod
    def status(described: dict[str, Any]) -> str:
        return (described.get("properties") or {}).get("status") or "Unknown"

    @staticmethod
    def reason(described: dict[str, Any]) -> str | None:
        props = described.get("properties") or {}
        return (props.get("error") or {}).get("message") or props.get("statusMessage")

    @staticmethod
    def created(described: dict[str, Any]) -> datetime | None:
        return _parse_time((described.get("systemData") or {}).get("createdAt"))

    @staticmethod
    def try_of(described: dict[str, Any]) -> str | None:
        return ((described.get("properties") or {}).get("tags") or {}).get(cloud.TRY_LABEL)

    @staticmethod
    def model_folder(described: dict[str, Any]) -> str:
        uri = (((described.get("properties") or {}).get("outputs") or {}).get("model") or {}).get("uri")
        if not uri:
            raise RuntimeError(f"Azure ML job {described.get('name')} has no outputs.model.uri")
        return cloud.lake_uri_from_abfss(uri)


def jobs_for(backend: str, conn_id: str | None, target: dict[str, Any]) -> VertexJobs | AzureMLJobs:
    return {"vertex": VertexJobs, "azureml": AzureMLJobs}[backend](conn_id, target)
