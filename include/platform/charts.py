"""Report charts: a finished matplotlib figure as PNG bytes, ready for ``storage.write_bytes``.

Every pipeline's report writes PNGs to the lake (local or cloud), so a chart never goes through a
local temp file, and the figure is always closed: a long-lived worker would otherwise keep every
figure it ever drew in pyplot's registry.
"""

from __future__ import annotations

import io
from typing import Any


def png_bytes(fig: Any, *, dpi: int = 100, tight: bool = False) -> bytes:
    """Render ``fig`` as PNG (``tight`` crops to the drawn area) and close it."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight" if tight else None)
    finally:
        plt.close(fig)
    return buf.getvalue()


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the non-interactive Agg backend (workers have no display).

    The one place the backend is chosen, instead of ``matplotlib.use("Agg")`` in every report.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt
