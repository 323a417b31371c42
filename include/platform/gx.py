"""One way to run a Great Expectations suite over a pandas frame (GX Core 1.x, ephemeral context).

Three rooms validate frames with GX (FOCUS costs, the synthetic sample, the LLM corpus); each used to repeat the
context / data-source / batch-definition plumbing. The suites (what is checked) stay in the rooms.
"""

from __future__ import annotations

from typing import Any


def validate_frame(frame: Any, suite: Any, *, source: str, asset: str, batch: str = "all",
                   result_format: str | None = None) -> Any:
    """``suite`` (a ``gx.ExpectationSuite``) over ``frame``; the GX validation result.

    ``result_format="COMPLETE"`` lists every failing row's index (what quarantine needs); ``None`` keeps GX's
    default (a summary).
    """
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    try:  # progress bars would flood the task log; the setting moved between GX 1.x releases
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    added = context.suites.add(suite)
    definition = (context.data_sources.add_pandas(source).add_dataframe_asset(asset)
                  .add_batch_definition_whole_dataframe(batch))
    data = definition.get_batch(batch_parameters={"dataframe": frame})
    if result_format is None:
        return data.validate(added)
    return data.validate(added, result_format={"result_format": result_format})
