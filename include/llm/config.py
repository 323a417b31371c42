"""``llm_fine_tuning``'s typed config: the single home of every Param (default, bounds, description).

The DAG builds its form with ``FineTuneConfig.params()``; each task turns the run's Params into the typed
object with ``FineTuneConfig.from_params(params)`` and hands it to :mod:`include.llm.steps`.

**Params that grant reach** are constrained twice, as in the sentiment trainer: ``base_model`` matches
:data:`BASE_MODEL_PATTERN` in the form (no paths), then :meth:`FineTuneConfig.check` applies the hub
allow-list (Variable ``genai_allowed_models``); ``corpus_key`` is a key under the lake's
``raw/llm_corpus/`` zone (``.jsonl`` or ``.parquet``), never a path on the worker.

Import-light: DAG files import this module at parse time (no torch, transformers, pandas).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

from include.llm import LOCAL_TINY_GPT2, MODEL_NAME
from include.platform.config import DagConfig, knob, wiring
from include.platform.errors import ConfigError

#: Hub ids any deployment may fine-tune; an operator adds more with Variable ``genai_allowed_models``.
HUB_MODELS = ("gpt2", "distilgpt2", "openai-community/gpt2", "distilbert/distilgpt2")
_REGISTRY = r"[a-z0-9][a-z0-9_-]{0,63}(@(champion|challenger|previous)|/[1-9][0-9]{0,8})"
_HUB = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,95}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,95})?"
REGISTRY_REF = re.compile(_REGISTRY)
HUB_ID = re.compile(_HUB)
#: JSON-schema pattern of ``base_model`` (the trigger form refuses paths before a run exists).
BASE_MODEL_PATTERN = f"^{LOCAL_TINY_GPT2}$|^{_REGISTRY}$|^{_HUB}$"
#: A key under ``raw/llm_corpus/``: plain segments, ``.jsonl`` or ``.parquet``.
CORPUS_KEY_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}(/[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}){0,4}\.(jsonl|parquet)$"
DEFAULT_CORPUS_KEY = "womens_clothing_reviews.jsonl"

_DATA, _MODEL, _TRAIN, _EVAL, _GATE = "Corpus", "Model and tokenizer", "Training", "Evaluation", "Quality gate"
_CLOUD = "Cloud training"
_ADAPT = "Adapters (LoRA)"
#: Who moves textgen@champion after a passing gate (adaptive_retraining's choice, same words).
PROMOTION_MODES = ("gate", "canary")
#: Where ``train`` runs. ``auto``: SageMaker when the training aws connection exists, else local.
TRAINING_BACKENDS = ("auto", "local", "sagemaker", "vertex", "azureml")
#: An IAM role ARN (the role SageMaker assumes for the job), nothing else: the Param grants reach.
ROLE_ARN_PATTERN = r"^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"


def is_registry_ref(ref: str) -> bool:
    return REGISTRY_REF.fullmatch(ref.strip()) is not None


def check_base_model(ref: str) -> str:
    """``ref`` if it is the offline tiny GPT-2, a ``textgen`` registry version or an allow-listed hub id."""
    from include.platform.settings import check_allowed

    ref = ref.strip()
    if ref == LOCAL_TINY_GPT2:
        return ref
    if is_registry_ref(ref):
        if not ref.startswith((f"{MODEL_NAME}@", f"{MODEL_NAME}/")):
            raise ConfigError(f"base_model {ref!r} is a registry reference to another model",
                              f"continue from '{MODEL_NAME}@champion' or '{MODEL_NAME}/<version>'")
        return ref
    if HUB_ID.fullmatch(ref) and ".." not in ref:
        return check_allowed("models", ref, HUB_MODELS)
    raise ConfigError(f"base_model {ref!r} is not {LOCAL_TINY_GPT2!r}, a registry reference or a hub id",
                      f"use {LOCAL_TINY_GPT2!r}, '{MODEL_NAME}@champion' or an allow-listed hub id "
                      "(Variable genai_allowed_models); local folders are never loaded")


@dataclass(frozen=True)
class FineTuneConfig(DagConfig):
    """``llm_fine_tuning``: corpus, tokenizer and model size, the training loop, evaluation and the gate."""

    #: Share of the optimizer steps spent warming the learning rate up (linear), then cosine decay to 10%.
    WARMUP_SHARE: ClassVar[float] = 0.1
    WEIGHT_DECAY: ClassVar[float] = 0.1
    GRAD_CLIP: ClassVar[float] = 1.0
    #: Fixed prompts of the generation checks (the corpus' domain: clothing reviews, lower-cased).
    PROMPTS: ClassVar[tuple[str, ...]] = ("this dress is", "i love the", "the fabric", "i ordered a size",
                                          "the color is", "i was disappointed", "this top runs",
                                          "the fit is perfect")

    corpus_key: str = knob(DEFAULT_CORPUS_KEY, "Corpus under the lake's raw/llm_corpus/ zone: JSONL (one object "
                           "per line with a 'text' field) or Parquet (a 'text' column). The default is written by "
                           "seed_demo_data (include.llm.corpus.seed_corpus: the shipped Women's E-Commerce Clothing "
                           "Reviews, CC0).", section=_DATA, pattern=CORPUS_KEY_PATTERN, maxLength=1000)
    max_docs: int = knob(0, "Use at most this many valid documents (a seeded sample); 0 = all.",
                         section=_DATA, minimum=0, maximum=10_000_000)
    min_chars: int = knob(20, "Documents shorter than this (after stripping) are quarantined.",
                          section=_DATA, minimum=1, maximum=10_000)
    max_chars: int = knob(4000, "Documents longer than this are quarantined (not truncated).",
                          section=_DATA, minimum=10, maximum=1_000_000)
    heldout_share: float = knob(0.05, "Share of documents held out for perplexity (split by a hash of the text, "
                                "so the same text is always on the same side).", section=_DATA,
                                minimum=0.01, maximum=0.5)
    seed: int = knob(7, "Seed of the sample, the initial weights and the batch order.", section=_DATA)

    base_model: str = knob(LOCAL_TINY_GPT2, "Model to train: 'local:tiny-gpt2' (offline: a GPT-2 config of the "
                           "size below with a byte-level BPE tokenizer trained on the corpus, from scratch), "
                           "'textgen@champion' / 'textgen/<n>' (continue training a registered version with its "
                           "tokenizer) or a Hugging Face Hub id an operator allow-listed (gpt2, distilgpt2; "
                           "Variable genai_allowed_models), loaded with from_pretrained.",
                           section=_MODEL, pattern=BASE_MODEL_PATTERN, maxLength=200)
    vocab_size: int = knob(2048, "local:tiny-gpt2: BPE vocabulary size (256 byte symbols + merges + <|endoftext|>).",
                           section=_MODEL, minimum=300, maximum=65_536)
    block_size: int = knob(128, "Tokens per training block (the context length).", section=_MODEL,
                           minimum=16, maximum=1024)
    n_layer: int = knob(4, "local:tiny-gpt2: transformer layers.", section=_MODEL, minimum=1, maximum=24)
    n_embd: int = knob(256, "local:tiny-gpt2: hidden size (a multiple of n_head).", section=_MODEL,
                       minimum=32, maximum=2048)
    n_head: int = knob(4, "local:tiny-gpt2: attention heads.", section=_MODEL, minimum=1, maximum=32)

    max_steps: int = knob(300, "Optimizer steps (batches of batch_size blocks).", section=_TRAIN,
                          minimum=1, maximum=1_000_000)
    batch_size: int = knob(8, "Blocks per optimizer step.", section=_TRAIN, minimum=1, maximum=1024)
    learning_rate: float = knob(1e-3, "AdamW peak learning rate (10% linear warm-up, cosine decay to 10%). "
                                "1e-3 suits training from scratch; use ~5e-5 for a hub model.",
                                section=_TRAIN, minimum=0, maximum=0.1)
    checkpoint_every: int = knob(100, "Write a checkpoint (weights, optimizer, scheduler, step, RNG states) to the "
                                 "lake every this many steps; a retried task resumes from the last one.",
                                 section=_TRAIN, minimum=1, maximum=1_000_000)
    log_every: int = knob(25, "Progress line (step, loss, tokens/s, ETA) every this many steps.",
                          section=_TRAIN, minimum=1, maximum=100_000)
    precision: str = knob("auto", "auto: bf16 autocast where the device multiplies bf16 natively (a bf16 GPU, or "
                          "a CPU with AMX tiles: 1.2-1.5x faster there, same held-out perplexity), else fp32; "
                          "bf16 forces it. Weights and optimizer state stay fp32.",
                          section=_TRAIN, enum=["auto", "fp32", "bf16"])
    device: str = knob("auto", "auto: a GPU when the worker has one, else CPU.", section=_TRAIN,
                       enum=["auto", "cpu"])
    threads: int = knob(2, "torch CPU threads.", section=_TRAIN, minimum=1, maximum=64)

    lora: str = knob("auto", "LoRA adapters (peft) instead of full fine-tuning. auto: LoRA when the base is a "
                     "pretrained model (a hub id or a textgen registry version) with at least lora_min_parameters "
                     "parameters, full fine-tuning otherwise; on / off force it. The adapters are merged into the "
                     "weights before registration, so serving needs no peft. local:tiny-gpt2 trains from random "
                     "weights and cannot use LoRA.", section=_ADAPT, enum=["auto", "on", "off"])
    lora_min_parameters: int = knob(100_000_000, "lora=auto: bases with at least this many parameters get LoRA "
                                    "(gpt2 has 124 M, distilgpt2 82 M).", section=_ADAPT, minimum=0,
                                    maximum=10**12)
    lora_rank: int = knob(8, "LoRA rank r of each adapter pair (A: d x r, B: r x d).", section=_ADAPT,
                          minimum=1, maximum=256)
    lora_alpha: int = knob(16, "LoRA scaling alpha (the update is scaled by alpha / r).", section=_ADAPT,
                           minimum=1, maximum=1024)
    lora_dropout: float = knob(0.05, "Dropout on the adapters' input during training.", section=_ADAPT,
                               minimum=0, maximum=0.5)
    lora_target_modules: str = knob("", "Comma-separated module names that get adapters; empty = peft's default "
                                    "for the architecture (c_attn for GPT-2, q_proj,v_proj for Llama).",
                                    section=_ADAPT, pattern=r"^([A-Za-z0-9_.]{1,64}(,[A-Za-z0-9_.]{1,64}){0,31})?$",
                                    maxLength=2100)

    max_eval_blocks: int = knob(400, "At most this many held-out blocks scored for perplexity (the same ones for "
                                "the challenger and the champion).", section=_EVAL, minimum=1, maximum=100_000)
    max_new_tokens: int = knob(40, "Tokens generated per fixed prompt for the generation checks.",
                               section=_EVAL, minimum=4, maximum=512)
    eval_temperature: float = knob(0.8, "Generation checks: sampling temperature (0 = greedy). The checks judge "
                                   "seeded nucleus samples, as text_generation serves by default (at 0.7): greedy "
                                   "decoding of a small LM loops (distinct-2 0.09 at 300 steps vs 0.65 sampled).",
                                   section=_EVAL, minimum=0, maximum=2)
    eval_top_p: float = knob(0.9, "Generation checks: nucleus (top-p) cut-off of the samples.", section=_EVAL,
                             minimum=0.05, maximum=1)
    eval_samples: int = knob(2, "Generation checks: seeded samples per fixed prompt (more = steadier metrics).",
                             section=_EVAL, minimum=1, maximum=16)

    min_improvement: float = knob(0.02, "Promote only when the held-out word-level perplexity is at least this "
                                  "fraction below the champion's (0.02 = 2% lower), on the same held-out texts.",
                                  section=_GATE, minimum=0, maximum=1)
    max_perplexity: float = knob(1000.0, "First model (no champion yet): promote only below this held-out "
                                 "word-level perplexity. Measured on the default corpus and model: untrained "
                                 "~31,600, after the default 300 steps ~510 (bench/results/llm_fine_tuning.json).", section=_GATE, minimum=1, maximum=1e9)
    max_repetition: float = knob(0.2, "Generation checks: the largest share of repeated 3-grams allowed "
                                 "(mean over the fixed prompts).", section=_GATE, minimum=0, maximum=1)
    min_distinct_2: float = knob(0.5, "Generation checks: the smallest distinct-2 (unique word bigrams / all "
                                 "bigrams, over every prompt) allowed.", section=_GATE, minimum=0, maximum=1)

    promotion: str = knob(
        "", "Who promotes textgen@champion once the gate passes a challenger: canary (default) = it is handed to "
        "canary_deploy (event challenger_registered), which serves both text generators on replayed prompts and "
        "alone promotes or rolls back; gate = this DAG promotes at once. The first model (no champion to "
        "compare with) is promoted here either way. Empty = Variable genai_textgen_promotion, else canary.",
        section=_GATE, setting="textgen_promotion", fallback="canary", enum=["", *PROMOTION_MODES])

    training_backend: str = knob(
        "auto", "Where train runs. auto: a SageMaker training job when the aws connection named by Variable "
        "genai_llm_training_aws_conn_id (default aws_training) exists and the lake is on s3://; a Vertex AI "
        "custom job when the google_cloud_platform connection of genai_llm_training_gcp_conn_id (default "
        "gcp_training) exists and the lake is on gs://; an Azure ML command job when the azure connection of "
        "genai_llm_training_azure_conn_id (default azureml_training) exists and the lake is on abfs://; else "
        "local (this worker). local / sagemaker / vertex / azureml force one (a cloud that cannot run fails at "
        "once, naming what is missing).",
        section=_CLOUD, enum=list(TRAINING_BACKENDS))
    sagemaker_role_arn: str | None = knob(
        None, "IAM role ARN the SageMaker training job assumes (needs s3:GetObject on the lake's run folder, "
        "s3:PutObject on its sagemaker/ output and ECR pull for the image). Empty = Variable "
        "genai_llm_sagemaker_role_arn.", section=_CLOUD, type="string", setting="llm_sagemaker_role_arn",
        pattern=f"{ROLE_ARN_PATTERN}|^$", maxLength=600)
    sagemaker_instance_type: str = knob("ml.m5.xlarge", "SageMaker training instance type (ml.g5.xlarge for a "
                                        "GPU; precision auto then uses bf16).", section=_CLOUD,
                                        pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$", maxLength=40)
    cloud_max_runtime_minutes: int = knob(180, "Cloud job stopping condition (SageMaker MaxRuntimeInSeconds, "
                                          "Vertex timeout, Azure ML limits.timeout).", section=_CLOUD,
                                          minimum=5, maximum=7 * 24 * 60)

    training_aws_conn_id: str = wiring("llm_training_aws_conn_id", "aws_training",
                                       "aws connection of the SageMaker training job; its existence makes "
                                       "training_backend=auto choose SageMaker. The lake must be on s3:// "
                                       "(the job's input channels are the run's packed blocks there).")
    training_image: str = wiring("llm_training_image", "",
                                 "Container image the cloud job runs: this project's image pushed to ECR / "
                                 "Artifact Registry / ACR (it holds include/llm and the pinned stack); entry "
                                 "point python -m include.llm.cloud_entry.")
    training_gcp_conn_id: str = wiring("llm_training_gcp_conn_id", "gcp_training",
                                       "google_cloud_platform connection of a Vertex AI custom training job.")
    training_azure_conn_id: str = wiring("llm_training_azure_conn_id", "azureml_training",
                                         "azure connection of an Azure ML command job.")
    cloud_target: dict = wiring("llm_cloud_training", {},
                                "JSON: project/region/machine_type/service_account/accelerator_type/"
                                "accelerator_count/api_endpoint (Vertex AI), subscription_id/resource_group/"
                                "workspace/compute/environment_id/storage_account/arm_endpoint (Azure ML).")

    drill_crash_after_steps: int = knob(0, "Fault drill: the train task's first attempt dies after this many steps "
                                        "(0 = off); the retry resumes from the last checkpoint.",
                                        section="", drill=True, minimum=0, maximum=1_000_000)

    SECTION_ORDER: ClassVar[tuple[str, ...]] = (_DATA, _MODEL, _TRAIN, _ADAPT, _EVAL, _GATE, _CLOUD)

    @property
    def local(self) -> bool:
        """True when the base is the offline tiny GPT-2 (tokenizer trained here, weights from scratch)."""
        return self.base_model == LOCAL_TINY_GPT2

    def check(self) -> None:
        check_base_model(self.base_model)
        if self.n_embd % self.n_head:
            raise ConfigError(f"n_embd {self.n_embd} is not a multiple of n_head {self.n_head}",
                              "pick n_embd divisible by n_head (e.g. 256 and 4)")
        if self.local and self.lora == "on":
            raise ConfigError("lora=on with base_model local:tiny-gpt2: LoRA adapts pretrained weights, and the "
                              "local model starts from random ones", "set lora to auto/off, or start from "
                              "'textgen@champion' or a hub model")
        if self.min_chars > self.max_chars:
            raise ConfigError(f"min_chars {self.min_chars} > max_chars {self.max_chars}", "swap them")
