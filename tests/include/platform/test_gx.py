"""Every room's GX validation works in a fresh interpreter, as in a task process on a Celery worker.

In one pytest process an earlier test leaves a GX context active, which hid a bug: a suite built with
``suite.add_expectation`` before any context existed raised ``DataContextRequiredError`` on a worker
(synthetic_data_generation's validate_with_gx, found by the service suite). Each check here runs in its own
``python -c`` so no context is inherited.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

SYNTHETIC = """
import json
from include.demo.customers import customer_table
from include.synthetic.schema import infer_schema
from include.synthetic.validation import validate
table = customer_table(300, seed=3)
schema = infer_schema(table, id_columns=["customer_id"])
good = validate(table, schema, expected_rows=len(table))
bad = table.copy(); bad.loc[:9, "age"] = -7
print(json.dumps({"good": good["success"], "bad": validate(bad, schema)["success"]}))
"""

LLM = """
import json
import pandas as pd
from include.llm.validate import validate
docs = pd.DataFrame({"source_file": "c.jsonl", "line": [1, 2, 3],
                     "text": ["a perfectly fine review of a dress", "short", "another fine review, of a top"]})
out = validate(docs, min_chars=10, max_chars=200)
print(json.dumps({"valid": len(out.valid), "quarantined": len(out.quarantined)}))
"""


def _fresh(code: str) -> dict:
    env = os.environ | {"PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}"}
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("code", "expected"), [(SYNTHETIC, {"good": True, "bad": False}),
                                                (LLM, {"valid": 2, "quarantined": 1})], ids=["synthetic", "llm"])
def test_validation_runs_without_an_inherited_gx_context(code, expected):
    assert _fresh(code) == expected
