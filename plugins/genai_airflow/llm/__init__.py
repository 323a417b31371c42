"""Operators of ``llm_fine_tuning``'s cloud training path; the requests they send are built in ``include.llm.cloud``."""
