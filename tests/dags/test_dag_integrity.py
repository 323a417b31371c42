"""Every DAG in dags/ parses cleanly, cheaply, and documents itself."""

from __future__ import annotations

import pytest

from tests.dags.dag_checks import PARSE_BUDGET_S, ROOT, dag_files, integrity_problems, parse_costs


def test_dags_folder_has_dags(dagbag):
    assert dagbag.dags, "no DAGs parsed from dags/"


def test_no_import_errors_and_documented(dagbag):
    problems = integrity_problems(dagbag)
    assert not problems, "\n".join(problems)


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
    result = parse_results[path]
    assert result["error"] is None, f"{path.name}: {result['error']}"
    assert not result["heavy"], f"{path.name} imports {result['heavy']} at parse time; import inside tasks"
    assert result["seconds"] <= PARSE_BUDGET_S, f"{path.name} parsed in {result['seconds']:.2f}s"
