"""A model server process: ``POST /predict``, ``GET /health``, ``POST /admin/shutdown``.

Run as ``python -m include.canary.servers --model-dir DIR --kind churn_hgb --role challenger --ready-file F``.
The model is a registry version already downloaded (and sha256-verified) by the setup task; it loads
through the serving table (:mod:`include.canary.serving`: ``--kind`` or, when not given, the kind
its artifact declares), which also says what a request body holds (texts or feature rows).

Fault injection (for tests and drills): ``--error-rate`` answers that share of predictions with
HTTP 500, ``--added-latency-ms`` sleeps before answering. Both can also come from the environment
(``GENAI_CANARY_ERROR_RATE``, ``GENAI_CANARY_ADDED_LATENCY_MS``) so a drill needs no code change.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import threading
import time

from include.canary.httpbase import (
    JsonHandler,
    Server,
    add_limit_args,
    limits_from_args,
    serve,
)
from include.canary.serving import Loaded
from include.canary.serving import load as load_model

log = logging.getLogger("canary.server")

class Faults:
    """Injected faults; a seeded RNG so a drill's error count is reproducible."""

    def __init__(self, error_rate: float, added_latency_ms: float, seed: int) -> None:
        self.error_rate = max(0.0, min(1.0, error_rate))
        self.added_latency_s = max(0.0, added_latency_ms) / 1000.0
        # A string seed: integer seeds 0.. start with long runs of high draws (Random(0) gives no
        # value below 0.2 in its first 24), which would make a 20% drill look healthy at first.
        self._rng = random.Random(f"faults-{seed}")
        self._lock = threading.Lock()

    def should_fail(self) -> bool:
        if self.error_rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < self.error_rate


def make_handler(model: Loaded, identity: dict, faults: Faults) -> type[JsonHandler]:
    lock = threading.Lock()  # numpy/torch inference is not re-entrant for every model type

    class Handler(JsonHandler):
        def handle_get(self) -> None:
            if self.path == "/health":
                self.send_json(200, {"status": "ok", **identity})
            else:
                self.send_json(404, {"error": f"no route {self.path}"})

        def handle_post(self) -> None:
            if self.path != "/predict":
                self.send_json(404, {"error": f"no route {self.path}"})
                return
            inputs = model.parse(self.read_json_object())
            if faults.added_latency_s:
                time.sleep(faults.added_latency_s)
            if faults.should_fail():
                self.send_json(500, {"error": "injected fault", **identity})
                return
            with lock:
                preds = model.predict(inputs)
            self.send_json(200, {"predictions": preds, **identity})

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--kind", default="", help="serving kind (include/canary/serving.py); empty = detect")
    parser.add_argument("--role", required=True, help="champion or challenger (reported by /health)")
    parser.add_argument("--model-ref", default="", help="registry reference, reported by /health")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ready-file")
    parser.add_argument("--ttl", type=float, default=3600.0)
    parser.add_argument("--error-rate", type=float, default=float(os.environ.get("GENAI_CANARY_ERROR_RATE", 0)))
    parser.add_argument("--added-latency-ms", type=float,
                        default=float(os.environ.get("GENAI_CANARY_ADDED_LATENCY_MS", 0)))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--options", default="{}", help="JSON options of the serving kind (textgen: decoding, "
                        "gate rules, reference_dir; include/canary/textgen_serving.py)")
    add_limit_args(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format=f"%(asctime)s {args.role} %(levelname)s %(message)s")
    model = load_model(args.model_dir, args.kind or None, json.loads(args.options))
    model.predict(model.warmup)  # first call pays lazy initialisation outside the measured window
    identity = {"role": args.role, "model": args.model_ref, "kind": model.kind}
    faults = Faults(args.error_rate, args.added_latency_ms, args.seed)
    server = Server((args.host, args.port), make_handler(model, identity, faults), limits_from_args(args))
    log.info("serving %s (error_rate=%s, added_latency_ms=%s)", args.model_ref, args.error_rate, args.added_latency_ms)
    serve(server, args.ready_file, args.ttl)


if __name__ == "__main__":
    main()
