"""The shared ARM client sends the credential's bearer token (the pitfall it exists for: a pipeline built with
``policies=None`` sends none). Reading the connection through ``AzureBaseHook(conn_id=...)`` runs in the Azure ML training e2e
(tests/e2e/test_llm_fine_tuning_vertex_azureml.py)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

from azure.core.credentials import AccessToken
from azure.core.rest import HttpRequest

from include.platform import azure_arm


class _Token:
    def get_token(self, *scopes, **kwargs):  # noqa: ANN002, ANN003, ANN201 - azure-core's TokenCredential protocol
        assert scopes == (azure_arm.ARM_SCOPE,)
        return AccessToken("t0ken", int(time.time()) + 3600)


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server naming
        data = json.dumps({"authorization": self.headers.get("Authorization")}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):  # noqa: ANN002 - silence
        pass


def test_every_request_carries_the_bearer_token():
    server = HTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_port}"
        resp = azure_arm.client(_Token(), base).send_request(HttpRequest("GET", f"{base}/x"), enforce_https=False)
        assert resp.json() == {"authorization": "Bearer t0ken"}
    finally:
        server.shutdown()
