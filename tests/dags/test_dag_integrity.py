"""Every DAG in dags/ parses cleanly, cheaply, and documents itself."""

from __future__ import annotations

import pytest

from tests.dags.dag_checks import (
    ROOT,
    asset_graph_problems,
    asset_producers,
    asset_watcher_problems,
    dag_files,
    file_problems,
    integrity_problems,
    param_form_problems,
    parse_costs,
    task_body_problems,
)


def test_dags_folder_has_dags(dagbag):
    assert dagbag.dags, "no DAGs parsed from dags/"


def test_no_import_errors_and_documented(dagbag):
    problems = integrity_problems(dagbag)
    assert not problems, "\n".join(problems)


def test_every_scheduled_asset_has_a_producer(dagbag):
    problems = asset_graph_problems(dagbag)
    assert not problems, "\n".join(problems)


def test_every_reference_to_an_asset_carries_the_same_watchers(dagbag):
    problems = asset_watcher_problems(dagbag)
    assert not problems, "\n".join(problems)
    producers = asset_producers(dagbag)["asset:feature_batch"]
    assert "watcher:feature_batch_lake_arrivals" in producers and "seed_demo_data.feature_batches" in producers


def test_compute_spending_dags_emit_compute_spent(dagbag):
    """cloud_cost_report is scheduled on compute_spent: these DAGs spend compute and say so."""
    producers = {p.split(".")[0] for p in asset_producers(dagbag)["asset:compute_spent"]}
    assert producers == {"adaptive_retraining", "batch_inference", "canary_deploy", "customer_sentiment_analysis",
                         "llm_fine_tuning", "synthetic_data_generation", "text_generation", "train_sentiment_model"}


def test_dag_ids_are_unique_across_files():
    import ast

    seen: dict[str, str] = {}
    dupes = []
    for path in dag_files(ROOT / "dags"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.keyword) and node.arg == "dag_id" and isinstance(node.value, ast.Constant):
                if node.value.value in seen:
                    dupes.append(f"{node.value.value}: {seen[node.value.value]} and {path.name}")
                seen[node.value.value] = path.name
    assert not dupes, dupes


@pytest.fixture(scope="module")
def parse_results():
    return parse_costs(dag_files(ROOT / "dags"))


@pytest.mark.parametrize("path", dag_files(ROOT / "dags"), ids=lambda p: p.name)
def test_parse_cost(path, parse_results):
    """Each file: no import error, no heavy library, fastest of several parses within the budget (0.2 s)."""
    problems = file_problems(path.name, parse_results[path])
    assert not problems, "\n".join(problems)


def test_task_bodies_are_thin():
    """Each task resolves context, calls one step in include/ and returns (statement budget per body)."""
    problems = task_body_problems(ROOT / "dags")
    assert not problems, "\n".join(problems)


def test_every_param_sits_in_a_form_section(dagbag):
    problems = param_form_problems(dagbag)
    assert not problems, "\n".join(problems)
