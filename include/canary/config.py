"""canary_deploy's typed config: every Param's default, bounds and description, and the deployment wiring.

The traffic policy (steps, thresholds, tests) is the part of it the rollout operator needs: it leaves
as :meth:`CanaryConfig.policy` (a :class:`~include.canary.policy.CanaryPolicy`), validated together
with the rest so a bad policy fails ``plan`` before any server starts. Where traffic is shifted (the
cloud connection and endpoint) and where the embedded servers listen are deployment wiring, read
from Variables ``genai_canary_backend_conn_id``, ``genai_canary_target`` and ``genai_canary_bind_host``,
never from the trigger form.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

from include.platform.config import DagConfig, knob, wiring
from include.platform.errors import ConfigError

MODEL = "Model"
STEPS = "Traffic steps"
THRESHOLDS = "Thresholds"
LOAD = "Replay load (embedded backend)"
TEXTGEN = "Text generators (textgen)"


@dataclass(frozen=True)
class CanaryConfig(DagConfig):
    SECTION_ORDER: ClassVar[tuple[str, ...]] = (MODEL, STEPS, THRESHOLDS, LOAD, TEXTGEN)

    model_name: str = knob(
        "canary_demo", "Registry model whose @challenger is canaried against its @champion (a manual run; an "
        "asset-triggered run canaries the model and version its challenger_registered event names).",
        section=MODEL, minLength=1)
    bootstrap_demo: bool = knob(
        True, "For model canary_demo: train and register small demo versions when the champion or challenger "
        "alias is missing.", section=MODEL)
    steps: list = knob(
        [10, 25, 50, 100], "Challenger traffic share (%) at each step, strictly increasing.", section=STEPS,
        items={"type": "integer", "minimum": 1, "maximum": 100}, minItems=1)
    bake_seconds: float = knob(60.0, "Minimum seconds of traffic per step before it is analysed.",
                               section=STEPS, type="number", minimum=0)
    min_requests: int = knob(100, "Minimum challenger (and champion) requests a step needs; fewer = no data = the "
                             "step fails safe. Also the labelled answers the accuracy test needs per model.",
                             section=STEPS, minimum=1)
    max_step_seconds: float = knob(600.0, "Longest a step waits for min_requests before it is inconclusive.",
                                   section=STEPS, type="number", minimum=1)
    failure_limit: int = knob(0, "Failed or inconclusive analyses tolerated (each re-bakes the step) before "
                              "rolling back.", section=STEPS, minimum=0)
    early_abort: bool = knob(True, "End a bake early once the challenger's errors are significantly above "
                             "max_error_rate (exact binomial test), instead of baking the full time.", section=STEPS)
    max_error_rate: float = knob(0.05, "Challenger error-rate ceiling per step (0.05 = 5%).", section=THRESHOLDS,
                                 exclusiveMinimum=0, exclusiveMaximum=1)
    max_p95_latency_ms: float = knob(500.0, "Challenger p95 latency ceiling per step, in milliseconds.",
                                     section=THRESHOLDS, type="number", exclusiveMinimum=0)
    max_latency_ratio: float = knob(1.5, "Challenger p95 may be at most this multiple of the champion's p95 (when "
                                    "significantly slower, Mann-Whitney U).", section=THRESHOLDS, minimum=1)
    min_latency_delta_ms: float = knob(10.0, "...and at most this many ms slower, so jitter never fails a step.",
                                       section=THRESHOLDS, type="number", minimum=0)
    alpha: float = knob(0.01, "Significance level of the one-sided z-test (errors) and Mann-Whitney U (latency).",
                        section=THRESHOLDS, exclusiveMinimum=0, exclusiveMaximum=0.5)
    accuracy_alpha: float = knob(0.01, "Significance level of the one-sided two-proportion z-test on labelled "
                                 "replay requests (challenger less accurate than the champion).",
                                 section=THRESHOLDS, exclusiveMinimum=0, exclusiveMaximum=0.5)
    max_accuracy_drop: float = knob(0.02, "A step fails on accuracy only when the drop is significant AND larger "
                                    "than this (0.02 = 2 points).", section=THRESHOLDS, minimum=0, exclusiveMaximum=1)
    load_rps: float = knob(50.0, "Requests per second the load generator replays.", section=LOAD, type="number",
                           exclusiveMinimum=0)
    load_concurrency: int = knob(4, "Parallel connections of the load generator.", section=LOAD,
                                 minimum=1, maximum=64)
    recorded_requests: int = knob(2000, "How many recorded requests to replay (cycled): texts from the day's "
                                  "feedback export, or a churn model's labelled hold-out rows.",
                                  section=LOAD, minimum=10)
    textgen_max_new_tokens: int = knob(
        24, "textgen: new tokens each replayed prompt generates (both arms alike; fewer = faster steps).",
        section=TEXTGEN, minimum=1, maximum=512)
    textgen_temperature: float = knob(
        0.7, "textgen: sampling temperature (0 = greedy), seeded: the same prompt gives the same text. 0.7 as "
        "text_generation's default, which is how the model is served day to day.", section=TEXTGEN, type="number",
        minimum=0, maximum=2)
    textgen_max_perplexity: float = knob(
        500.0, "textgen quality gate: largest perplexity of an output given its prompt under the champion (the "
        "one reference for both arms); text_generation's max_perplexity.", section=TEXTGEN, type="number",
        minimum=1)
    textgen_max_repetition: float = knob(
        0.5, "textgen quality gate: largest share of repeated 3-grams an output may have (text_generation's "
        "max_repetition). Length bounds and banned terms are text_generation's defaults.", section=TEXTGEN,
        type="number", minimum=0, maximum=1)
    challenger_error_rate: float = knob(
        0.0, "Share of challenger predictions answered with HTTP 500 (embedded backend; env "
        "GENAI_CANARY_ERROR_RATE also works).", section="", drill=True, type="number", minimum=0, maximum=1)
    challenger_added_latency_ms: float = knob(
        0.0, "Milliseconds added to every challenger prediction (env GENAI_CANARY_ADDED_LATENCY_MS also works).",
        section="", drill=True, type="number", minimum=0)

    backend_conn_id: str = wiring(
        "canary_backend_conn_id", "", "Empty = embedded local servers. Else an aws, google_cloud_platform or "
        "azure connection id whose endpoint's traffic is shifted instead.")
    target: dict = wiring(
        "canary_target", {}, "Cloud endpoint description (JSON), e.g. {\"endpoint_name\": \"sentiment\", "
        "\"champion_variant\": \"blue\", \"challenger_variant\": \"green\"}; see docs/canary_deploy.md.")
    bind_host: str = wiring(
        "canary_bind_host", "127.0.0.1", "Address the embedded servers bind (loopback: nothing outside this "
        "machine reaches them; set one the triggerer can reach when it runs elsewhere).")

    def check(self) -> None:
        from include.canary.policy import PolicyError

        try:
            self.policy()
        except PolicyError as exc:
            raise ConfigError(f"CanaryConfig: {exc}", "fix the Param the message names") from None
        if self.backend_conn_id and not self.target:
            raise ConfigError("Variable genai_canary_backend_conn_id is set but genai_canary_target is empty",
                              "describe the endpoint in Variable genai_canary_target (see docs/canary_deploy.md)")

    def policy(self) -> Any:
        """The traffic policy the rollout operator runs (a :class:`~include.canary.policy.CanaryPolicy`)."""
        from include.canary.policy import CanaryPolicy

        names = {f.name for f in fields(CanaryPolicy)}
        return CanaryPolicy(**{k: v for k, v in self.as_dict().items() if k in names})

    def textgen_options(self, reference_dir: str) -> dict[str, Any]:
        """The ``--options`` of both ``textgen`` servers (include/canary/textgen_serving.py); ``reference_dir``
        is the champion's files, the one judge of both arms' perplexity."""
        return {"reference_dir": reference_dir, "max_new_tokens": self.textgen_max_new_tokens,
                "temperature": self.textgen_temperature, "max_perplexity": self.textgen_max_perplexity,
                "max_repetition": self.textgen_max_repetition, "threads": 1}

    @property
    def embedded(self) -> bool:
        """True when the canary runs its own local stack (no cloud connection wired)."""
        return not self.backend_conn_id
