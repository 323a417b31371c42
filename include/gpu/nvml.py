"""Read GPU utilisation and memory through NVML (nvidia-ml-py), or say clearly why there is none.

Why NVML and not ``nvidia-smi`` parsing or GPUtil (the article's choice): NVML is the library both of
them wrap; it is the same source DCGM exporter reads (``DCGM_FI_DEV_GPU_UTIL``, ``FB_FREE``,
``FB_USED``), needs no subprocess and returns typed numbers.

On a machine without an NVIDIA driver ``nvmlInit`` raises ``NVMLError_LibraryNotFound``; ``probe()``
turns every NVML error into ``GPUSnapshot(available=False, reason=...)`` so callers choose a policy
instead of crashing.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger(__name__)

MIB = 1024 * 1024

# nvmlInit/nvmlShutdown are reference counted by the driver, but the Python binding's lazy library
# load is not thread-safe; triggers call probe() from worker threads (asyncio.to_thread).
_LOCK = threading.Lock()


@dataclass(frozen=True)
class GPUReading:
    """One device at one instant (utilisation in percent, memory in MiB)."""

    index: int
    uuid: str
    name: str
    utilization_percent: float
    memory_utilization_percent: float
    memory_total_mib: float
    memory_used_mib: float
    memory_free_mib: float
    processes: int = 0

    @property
    def memory_used_percent(self) -> float:
        return 100.0 * self.memory_used_mib / self.memory_total_mib if self.memory_total_mib else 0.0


@dataclass(frozen=True)
class GPUSnapshot:
    """All visible devices, or none with the reason (no driver, no device, NVML error)."""

    available: bool
    gpus: tuple[GPUReading, ...] = field(default_factory=tuple)
    reason: str = ""
    driver_version: str = ""

    @property
    def count(self) -> int:
        return len(self.gpus)

    def mean_utilization(self) -> float | None:
        return sum(g.utilization_percent for g in self.gpus) / len(self.gpus) if self.gpus else None

    def max_utilization(self) -> float | None:
        return max(g.utilization_percent for g in self.gpus) if self.gpus else None

    def free_memory_mib(self) -> list[float]:
        return [g.memory_free_mib for g in self.gpus]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for XCom and trigger events."""
        return {
            "available": self.available,
            "reason": self.reason,
            "driver_version": self.driver_version,
            "gpus": [asdict(g) for g in self.gpus],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GPUSnapshot:
        return cls(
            available=bool(data.get("available")),
            gpus=tuple(GPUReading(**g) for g in data.get("gpus", [])),
            reason=str(data.get("reason", "")),
            driver_version=str(data.get("driver_version", "")),
        )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _visible_indices(count: int) -> list[int]:
    """Indices NVML should report, honouring a CUDA_VISIBLE_DEVICES of plain integers.

    NVML ignores CUDA_VISIBLE_DEVICES (it always sees every device); a task pinned to GPUs 2,3 must
    only judge those. UUID/MIG entries are matched later by uuid.
    """
    raw = os.environ.get("CUDA_VISIBLE_DEVICES")
    if raw is None or raw.strip() == "":
        return list(range(count)) if raw is None else []
    out = []
    for part in raw.split(","):
        part = part.strip()
        if part.isdigit() and int(part) < count:
            out.append(int(part))
    return out


def probe(device_indices: list[int] | None = None, honour_visible_devices: bool = False) -> GPUSnapshot:
    """Read every (or the given) NVIDIA device; never raises for a missing GPU or driver."""
    try:
        import pynvml
    except ImportError as exc:  # nvidia-ml-py not installed
        return GPUSnapshot(available=False, reason=f"nvidia-ml-py is not installed ({exc})")

    with _LOCK:
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            reason = f"NVML unavailable: {type(exc).__name__}: {exc} (no NVIDIA driver on this machine?)"
            log.info("%s", reason)
            return GPUSnapshot(available=False, reason=reason)
        try:
            driver = _text(pynvml.nvmlSystemGetDriverVersion())
            count = pynvml.nvmlDeviceGetCount()
            indices = list(range(count)) if device_indices is None else [i for i in device_indices if i < count]
            if honour_visible_devices:
                visible = set(_visible_indices(count))
                indices = [i for i in indices if i in visible]
            readings = []
            for i in indices:
                handle = pynvml.nvmlDeviceGetHandleByIndex(i)
                util = pynvml.nvmlDeviceGetUtilizationRates(handle)
                mem = pynvml.nvmlDeviceGetMemoryInfo(handle)
                try:
                    procs = len(pynvml.nvmlDeviceGetComputeRunningProcesses(handle))
                except pynvml.NVMLError:  # not supported on some devices (MIG, older drivers)
                    procs = 0
                readings.append(GPUReading(
                    index=i,
                    uuid=_text(pynvml.nvmlDeviceGetUUID(handle)),
                    name=_text(pynvml.nvmlDeviceGetName(handle)),
                    utilization_percent=float(util.gpu),
                    memory_utilization_percent=float(util.memory),
                    memory_total_mib=mem.total / MIB,
                    memory_used_mib=mem.used / MIB,
                    memory_free_mib=mem.free / MIB,
                    processes=procs,
                ))
        except pynvml.NVMLError as exc:
            return GPUSnapshot(available=False, reason=f"NVML error while reading devices: {exc}")
        finally:
            try:
                pynvml.nvmlShutdown()
            except pynvml.NVMLError:
                pass
    if not readings:
        return GPUSnapshot(available=False, reason="NVML works but no GPU is visible", driver_version=driver)
    return GPUSnapshot(available=True, gpus=tuple(readings), driver_version=driver)


def select_free_gpus(
    snapshot: GPUSnapshot,
    count: int,
    max_utilization_percent: float = 10.0,
    min_free_memory_mib: float = 0.0,
) -> list[GPUReading]:
    """The ``count`` least-busy devices that are idle enough, or [] when not enough qualify.

    A device qualifies when its utilisation is at most ``max_utilization_percent`` and it has at least
    ``min_free_memory_mib`` free; among those, the most free memory wins (ties: lowest utilisation,
    then index), so two jobs started together spread over devices instead of stacking.
    """
    if count <= 0:
        return []
    candidates = [
        g for g in snapshot.gpus
        if g.utilization_percent <= max_utilization_percent and g.memory_free_mib >= min_free_memory_mib
    ]
    candidates.sort(key=lambda g: (-g.memory_free_mib, g.utilization_percent, g.index))
    return candidates[:count] if len(candidates) >= count else []
