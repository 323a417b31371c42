"""The churn model's declared hyper-parameter search space, and the one a run searches (Param overrides applied).

The ranges bracket scikit-learn's defaults (:data:`include.retraining.churn_model.DEFAULT_PARAMS`);
log scales where the effect is multiplicative. Param ``search_space`` may narrow or widen any range
by name; a typo or an empty range is a :class:`ConfigError` naming that Param, raised when the
run's config is built, before anything is trained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from include.platform.errors import ConfigError
from include.tuning.space import SearchSpace, integer, real

if TYPE_CHECKING:
    from include.retraining.config import RetrainingConfig

#: The declared search space (Param ``search_space`` may narrow or widen any range by name).
SEARCH_SPACE = SearchSpace((
    real("learning_rate", 0.01, 0.3, log=True),
    integer("max_iter", 30, 300),
    integer("max_leaf_nodes", 4, 64, log=True),
    integer("min_samples_leaf", 5, 200, log=True),
    real("l2_regularization", 1e-4, 10.0, log=True),
))


def space_for(cfg: RetrainingConfig) -> SearchSpace:
    """The declared space with the run's ``search_space`` overrides; a bad override names the Param."""
    try:
        return SEARCH_SPACE.with_overrides(cfg.search_space or None)
    except (KeyError, ValueError, TypeError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        raise ConfigError(f"search_space={cfg.search_space!r} is invalid: {message}",
                          f"set search_space to {{name: [low, high]}} with names from {SEARCH_SPACE.names} "
                          "and low < high (above 0 for a log-scaled range), or {} for the declared space") from exc
