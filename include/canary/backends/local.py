"""The embedded backend: the router started by the DAG's setup task (see include/canary/router.py)."""

from __future__ import annotations

import json
import urllib.request
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from include.canary.analysis import Sample


def _call(url: str, body: dict | None = None, timeout: float = 10.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback router we started
        return json.loads(resp.read())


class LocalRouterBackend:
    kind = "local"

    def __init__(self, router_url: str, host: str | None = None) -> None:
        self.router_url = router_url.rstrip("/")
        self.host = host  # the machine the router runs on (recorded by the setup task)

    def set_challenger_weight(self, percent: int) -> int:
        return int(_call(f"{self.router_url}/admin/weights", {"challenger": int(percent)})["seq"])

    def current_weights(self) -> dict[str, int]:
        weight = int(_call(f"{self.router_url}/health")["weight"])
        return {"champion": 100 - weight, "challenger": weight}

    def window(self, start: int) -> tuple[Sample, Sample, int]:
        from include.canary.analysis import Sample

        data = _call(f"{self.router_url}/admin/metrics?since={int(start)}")
        records = data["records"]
        return Sample.from_records(records, "champion"), Sample.from_records(records, "challenger"), data["next"]

    def wait_spec(self, start: int) -> dict[str, Any]:
        # The recorded router URL and host, not a guess: the bake trigger polls from the triggerer,
        # which may be another machine (then a loopback URL is refused there, see the trigger).
        return {"counts_url": f"{self.router_url}/admin/counts?since={int(start)}", "host": self.host}

    def counts(self, start: int = 0) -> dict[str, Any]:
        return _call(f"{self.router_url}/admin/counts?since={int(start)}")
