"""Seeded generators of realistic demo inputs, one module per pipeline.

Each generator is a pure function ``(seed, sizes...) -> data``; ``write_*`` helpers put the data in
the lake where the pipelines look for it. Same seed, same bytes: the demo is reproducible.
These modules import numpy/pandas at top level, so DAG files import them inside tasks only.
"""
