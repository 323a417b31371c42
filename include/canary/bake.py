"""What a canary bake may poll and when its errors are already conclusive; standard library only.

Used by ``CanaryBakeTrigger`` (plugins/genai_airflow/canary/triggers.py), which runs in the
triggerer: no scipy, no numpy, nothing that slows the triggerer's event loop down on import.
"""

from __future__ import annotations

import math
import socket
from urllib.parse import urlparse

from include.canary.httpbase import is_loopback


def unreachable_reason(counts_url: str | None, stack_host: str | None) -> str | None:
    """Why this triggerer must not poll ``counts_url`` (a loopback URL of another host), else None."""
    if not counts_url or not stack_host or stack_host == socket.gethostname():
        return None
    if not is_loopback(urlparse(counts_url).hostname):
        return None
    return (f"router {counts_url.split('/admin')[0]} listens on loopback of host {stack_host!r}; this triggerer "
            f"runs on {socket.gethostname()!r} and cannot reach it: bake timed without request counts "
            "(run the triggerer on the canary host, or set Variable genai_canary_bind_host to an address "
            "the triggerer can reach)")


def binomial_sf(k: int, n: int, p: float) -> float:
    """P(X >= k) for X ~ Binomial(n, p), summed in log space (no scipy in the triggerer)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    log_p, log_q = math.log(p), math.log1p(-p)
    lg = math.lgamma
    return min(1.0, sum(math.exp(lg(n + 1) - lg(i + 1) - lg(n - i + 1) + i * log_p + (n - i) * log_q)
                        for i in range(k, n + 1)))
