"""The integrity and parse-cost checks fail on bad DAG files, and say which file."""

from __future__ import annotations

import textwrap

from tests.dags.dag_checks import (
    asset_graph_problems,
    asset_watcher_problems,
    integrity_problems,
    load_dagbag,
    param_form_problems,
    parse_cost_problems,
    task_body_problems,
)

GOOD = '''
import pendulum
from airflow.sdk import dag, task

@dag(dag_id="fine", schedule=None, start_date=pendulum.datetime(2026, 1, 1), tags=["t"],
     description="d", doc_md="doc", default_args={"owner": "me", "retries": 2,
                                                 "on_failure_callback": lambda context: None})
def fine():
    @task
    def t():
        return 1
    t()

fine()
'''

HEAVY = GOOD.replace('import pendulum', 'import pendulum\nimport pandas  # parse-time heavy import').replace(
    '"fine"', '"heavy"')

BROKEN = GOOD.replace('"fine"', '"broken"').replace("def t():", "def t(:")

UNDOCUMENTED = '''
import pendulum
from airflow.sdk import Param, dag, task

@dag(dag_id="undocumented", schedule=None, start_date=pendulum.datetime(2026, 1, 1),
     params={"n": Param(3, type="integer")})
def undocumented():
    @task
    def t():
        return 1
    t()

undocumented()
'''


def _folder(tmp_path, **files):
    for name, body in files.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(body))
    return tmp_path


def test_broken_dag_file_is_named(airflow_db, tmp_path):
    folder = _folder(tmp_path, good_dag=GOOD, broken_dag=BROKEN)
    problems = integrity_problems(load_dagbag(folder))
    assert any(p.startswith("broken_dag.py: import error") for p in problems), problems
    assert not any("good_dag.py" in p for p in problems), problems


def test_undocumented_dag_is_named_with_each_missing_rule(airflow_db, tmp_path):
    folder = _folder(tmp_path, undocumented_dag=UNDOCUMENTED)
    text = "\n".join(integrity_problems(load_dagbag(folder)))
    for expected in ("no tags", "no doc_md", "no description", "owner", "retries < 2",
                     "no failure notifier", "Param 'n' has no description"):
        assert expected in text, text
    assert "undocumented_dag.py" in text


def test_heavy_and_broken_files_fail_parse_cost_by_name(tmp_path):
    folder = _folder(tmp_path, good_dag=GOOD, heavy_dag=HEAVY, broken_dag=BROKEN)
    problems = parse_cost_problems(folder)
    assert any(p.startswith("heavy_dag.py: imports") and "pandas" in p for p in problems), problems
    assert any(p.startswith("broken_dag.py: fails to import") for p in problems), problems
    assert not any(p.startswith("good_dag.py") for p in problems), problems


def test_slow_dag_file_exceeds_budget(tmp_path):
    slow = GOOD.replace("import pendulum", "import pendulum, time\ntime.sleep(0.5)").replace('"fine"', '"slow"')
    folder = _folder(tmp_path, slow_dag=slow)
    problems = parse_cost_problems(folder, budget_s=0.2)
    assert any(p.startswith("slow_dag.py: parse took") and "budget 0.20s" in p
               and "move I/O and work at module level into tasks" in p for p in problems), problems


# The pattern that made customer_sentiment_analysis.py parse in 0.6-0.9 s: declaring a @task.llm
# task imports common-ai's operator module, and with it pydantic-ai, at every parse.
TASK_LLM = GOOD.replace('"fine"', '"llm"').replace(
    "    @task\n    def t():\n        return 1",
    '    @task.llm(llm_conn_id="sentiment_llm", system_prompt="Classify.")\n    def t():\n        return "hi"')


def test_task_llm_dag_fails_the_default_budget_naming_file_and_pydantic_ai(tmp_path):
    assert "@task.llm" in TASK_LLM
    folder = _folder(tmp_path, llm_dag=TASK_LLM, good_dag=GOOD)
    problems = parse_cost_problems(folder)  # the project's budget (0.2 s), fastest of 5 parses
    slow = [p for p in problems if p.startswith("llm_dag.py: parse took")]
    assert slow and "heaviest import: pydantic_ai" in slow[0], problems
    assert "via airflow.providers.common.ai" in slow[0], problems
    assert any(p.startswith("llm_dag.py: imports pydantic_ai at parse time") for p in problems), problems
    assert not any(p.startswith("good_dag.py") for p in problems), problems


def test_over_budget_file_names_the_slow_module_it_imports(tmp_path):
    """A module outside HEAVY_MODULES is still named, from -X importtime, when it costs the budget."""
    (tmp_path / "_slowlib.py").write_text("import time\ntime.sleep(0.4)\n")
    folder = _folder(tmp_path, uses_slowlib=GOOD.replace("import pendulum", "import pendulum\nimport _slowlib"))
    problems = parse_cost_problems(folder, repeats=2)
    assert len(problems) == 1 and problems[0].startswith("uses_slowlib.py: parse took"), problems
    assert "(fastest of 2; budget 0.20s); heaviest import: _slowlib 0.4" in problems[0], problems


# Asset graph: a consumer scheduled on an asset nobody produces (directly, inside an expression, or
# inside AssetOrTimeSchedule) is named; one produced by a task outlet or by an AssetWatcher is not.
ASSET_DAGS = '''
import pendulum
from airflow.sdk import Asset, AssetOrTimeSchedule, AssetWatcher, CronTriggerTimetable, dag, task
from airflow.triggers.base import BaseEventTrigger

class _Never(BaseEventTrigger):
    def serialize(self):
        return (f"{__name__}._Never", {})
    async def run(self):
        if False:
            yield

MADE = Asset(name="made")
ORPHAN = Asset(name="orphan")
ORPHAN_IN_OR = Asset(name="orphan_in_or")
WATCHED = Asset(name="watched", watchers=[AssetWatcher(name="w", trigger=_Never())])
ARGS = {"owner": "me", "retries": 2, "on_failure_callback": lambda context: None}
KW = dict(start_date=pendulum.datetime(2026, 1, 1), tags=["t"], description="d", doc_md="doc", default_args=ARGS)

@dag(dag_id="producer", schedule=None, **KW)
def producer():
    @task(outlets=[MADE])
    def make():
        return 1
    make()

@dag(dag_id="bare_producer", schedule=None, **KW)
def bare_producer():
    @task(outlets=[Asset(name="watched")])  # the watched asset without its watcher
    def make():
        return 1
    make()

@dag(dag_id="fine_consumer", schedule=[MADE], **KW)
def fine_consumer():
    @task
    def t():
        return 1
    t()

@dag(dag_id="watched_consumer", schedule=[WATCHED], **KW)
def watched_consumer():
    @task
    def t():
        return 1
    t()

@dag(dag_id="orphan_consumer", schedule=[ORPHAN], **KW)
def orphan_consumer():
    @task
    def t():
        return 1
    t()

@dag(dag_id="hidden_orphan", schedule=AssetOrTimeSchedule(timetable=CronTriggerTimetable("@daily", timezone="UTC"),
                                                           assets=(MADE | (ORPHAN_IN_OR & MADE))), **KW)
def hidden_orphan():
    @task
    def t():
        return 1
    t()

for factory in (producer, bare_producer, fine_consumer, watched_consumer, orphan_consumer, hidden_orphan):
    factory()
'''


def test_consumed_but_never_produced_asset_is_named(airflow_db, tmp_path):
    folder = _folder(tmp_path, asset_dags=ASSET_DAGS)
    dagbag = load_dagbag(folder)
    assert not dagbag.import_errors, dagbag.import_errors
    problems = asset_graph_problems(dagbag)
    assert len(problems) == 2, problems
    assert problems[0].startswith("asset_dags.py (hidden_orphan): scheduled on asset 'orphan_in_or' that no task "
                                  "outlet and no AssetWatcher produces"), problems
    assert problems[1].startswith("asset_dags.py (orphan_consumer): scheduled on asset 'orphan'"), problems


def test_asset_referenced_with_and_without_its_watcher_is_named(airflow_db, tmp_path):
    dagbag = load_dagbag(_folder(tmp_path, asset_dags=ASSET_DAGS))
    problems = asset_watcher_problems(dagbag)
    assert problems == [
        "asset 'watched': watchers differ between references (with watchers: ['watched_consumer']; without: "
        "['bare_producer']); define the asset once with its watchers and use that object in every DAG file "
        "(include/platform/assets.py lake_watched)"], problems


THICK = GOOD.replace('"fine"', '"thick"').replace("""    def t():
        return 1""", """    def t(params=None):
        total = 0
        for value in params["values"]:
            if value > 0:
                total += value
            else:
                total -= value
        return total""")


def test_over_budget_task_body_is_named(tmp_path):
    folder = _folder(tmp_path, good_dag=GOOD, thick_dag=THICK)
    problems = task_body_problems(folder, budget=5)
    assert problems == ["thick_dag.py:10 task 't' has 6 statements (budget 5): move the logic into a step "
                        "function in include/ and call it"], problems


def test_param_without_section_is_named(airflow_db, tmp_path):
    dagbag = load_dagbag(_folder(tmp_path, undocumented=UNDOCUMENTED))
    assert param_form_problems(dagbag) == [
        "undocumented.py (undocumented): Params without section= ['n'] (declare them with "
        "include.platform.config.knob(section=...))"]
