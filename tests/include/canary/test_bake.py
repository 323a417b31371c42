"""What a canary bake may poll and when its errors are conclusive (include/canary/bake.py, used by the trigger)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from include.canary import bake


def test_binomial_tail_matches_scipy():
    from scipy import stats

    for k, n, p in ((5, 100, 0.05), (20, 100, 0.05), (58, 321, 0.05), (0, 10, 0.1)):
        assert bake.binomial_sf(k, n, p) == pytest.approx(stats.binom.sf(k - 1, n, p), rel=1e-9, abs=1e-15)


def test_only_loopback_urls_of_another_host_are_refused():
    reason = bake.unreachable_reason
    assert reason("http://127.0.0.1:9/admin/counts?since=0", None) is None  # nothing recorded: local default
    assert reason("http://10.1.2.3:8000/admin/counts?since=0", "gpu-worker-7") is None  # a routable address
    assert "cannot reach" in reason("http://[::1]:9/admin/counts?since=0", "gpu-worker-7")
    assert "cannot reach" in reason("http://localhost:9/admin/counts?since=0", "gpu-worker-7")


def test_bake_logic_imports_nothing_heavy():
    """The triggerer imports this module with every bake: no scipy/numpy/pandas may come with it."""
    code = ("import sys; import include.canary.bake; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'numpy', 'pandas', 'sklearn'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[3])
    assert out.stdout.strip() == "[]"
