"""docs/<dag>.md show each DAG's Params through the generated block, and it is current."""

from __future__ import annotations

from scripts.param_tables import BEGIN, ROOT, render, table


def test_every_dag_doc_holds_its_current_param_table(dagbag):
    stale, missing = [], []
    for dag_id, dag in sorted(dagbag.dags.items()):
        doc = ROOT / "docs" / f"{dag_id}.md"
        if not dag.params:
            continue
        if not doc.exists():
            missing.append(dag_id)
            continue
        text = doc.read_text()
        if BEGIN not in text or render(text, table(dag)) != text:
            stale.append(doc.name)
    assert not missing, f"DAGs with Params but no docs/<dag_id>.md: {missing}"
    assert not stale, f"stale Param tables in {stale}: run `make param-tables`"
