"""One typed, frozen config per DAG domain: the single home of every Param's default, bounds and description.

Before this module each room declared its Params in the DAG file, copied the defaults into a dataclass
(which drifted: the autoscaler's policy said 10 replicas, the form said 8) and a third time into the
docs, and then indexed the raw ``params[...]`` dict deep inside ``include/``. Now a domain declares
one frozen dataclass whose fields are :func:`knob` s::

    @dataclass(frozen=True)
    class CostConfig(DagConfig):
        lookback_days: int = knob(35, "Days of cost loaded per run ...", section="Window",
                                  minimum=15, maximum=400)
        daily_budget_usd: float | None = knob(None, "Daily budget in USD ...", section="Budget",
                                              type="number", setting="cost_daily_budget_usd", fallback=1000.0)

* the DAG file builds its form from it: ``params=CostConfig.params()`` (cheap: no I/O, no heavy import);
* a task turns the run's Params into the typed object: ``cfg = CostConfig.from_params(params)``
  (validated against the same JSON schema the form uses; a bad value fails the task at once with a
  :class:`~include.platform.errors.ConfigError` naming the Param and what it accepts);
* ``include/`` functions take ``cfg`` — never the raw dict;
* ``scripts/param_tables.py`` writes the knob table of ``docs/<dag>.md`` from the DAG's Params and a
  test keeps it in step.

**Param-or-setting.** A knob with ``setting="x"`` left empty (``None``/``""``) in the form is read from
Variable ``genai_x`` at run time (:func:`~include.platform.settings.get_setting`), else ``fallback``.
This replaces the thirteen ``get_setting(x, D) or D`` copies.

**Deployment wiring** (namespaces, resource ids, connection ids an analyst must not re-point) is not a
Param at all: declare it with :func:`wiring` — a field read only from its Variable (or the default),
shown in the docs' settings table, absent from the trigger form.

**Drills** (fault injection) are knobs with ``drill=True``: they land in their own section,
:data:`DRILL_SECTION`, placed last in the form.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from include.platform.errors import ConfigError

#: The form section of fault-injection knobs; always the last section of a form.
DRILL_SECTION = "Fault drills (testing only: leave off)"

_PY_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string",
                              list: "array", tuple: "array", dict: "object"}
_SCHEMA_KEYS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum", "pattern", "items",
                "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "format", "examples",
                "values_display", "additionalProperties")


@dataclasses.dataclass(frozen=True)
class Knob:
    """What the form, the validation and the docs know about one field."""

    default: Any
    description: str
    section: str
    schema: dict[str, Any]
    setting: str | None = None
    fallback: Any = None
    is_param: bool = True

    @property
    def json_type(self) -> str | list[str]:
        return self.schema["type"]


def knob(default: Any, description: str, *, section: str, type: str | list[str] | None = None,  # noqa: A002
         setting: str | None = None, fallback: Any = None, drill: bool = False, **schema: Any) -> Any:
    """A dataclass field that is also a Param.

    ``type`` is inferred from the default (bool/int/float/str/list/dict) and must be given when the
    default is ``None``; a ``None`` default makes the JSON type nullable. ``schema`` takes the JSON-schema
    keywords Airflow's Param takes (``minimum``, ``maximum``, ``enum``, ``pattern``, ``items`` ...).
    """
    unknown = set(schema) - set(_SCHEMA_KEYS)
    if unknown:
        raise TypeError(f"knob(): unknown schema keywords {sorted(unknown)}")
    json_type: str | list[str]
    if type is not None:
        json_type = type
    elif default is None:
        raise TypeError("knob(): a None default needs an explicit type=")
    else:
        json_type = _PY_TYPES[builtin_type(default)]
    if default is None and isinstance(json_type, str):
        json_type = ["null", json_type]
    full_schema = {"type": json_type, **schema}
    meta = Knob(default=default, description=description, section=DRILL_SECTION if drill else section,
                schema=full_schema, setting=setting, fallback=fallback)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata={"knob": meta})
    return dataclasses.field(default=default, metadata={"knob": meta})


def wiring(setting: str, default: Any, description: str, *, type: str | None = None) -> Any:  # noqa: A002
    """A field read only from Variable ``genai_<setting>`` (else ``default``): deployment wiring, not a Param."""
    json_type = type or (_PY_TYPES[builtin_type(default)] if default is not None else "string")
    meta = Knob(default=default, description=description, section="Deployment settings",
                schema={"type": json_type}, setting=setting, fallback=default, is_param=False)
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: copy.deepcopy(default), metadata={"knob": meta})
    return dataclasses.field(default=default, metadata={"knob": meta})


def builtin_type(value: Any) -> type:
    for kind in (bool, int, float, str, list, tuple, dict):  # bool before int: True is an int
        if isinstance(value, kind):
            return kind
    raise TypeError(f"knob(): cannot infer a JSON type from {value!r}; pass type=")


def knobs(cls: type) -> dict[str, Knob]:
    """Field name → :class:`Knob`, in declaration order (Params, then wiring)."""
    return {f.name: f.metadata["knob"] for f in dataclasses.fields(cls) if "knob" in f.metadata}


def _from_string(raw: str, json_type: str | list[str], name: str) -> Any:
    """A Variable's text as the knob's JSON type (Variables are strings)."""
    types = [json_type] if isinstance(json_type, str) else [t for t in json_type if t != "null"]
    kind = types[0] if types else "string"
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return float(raw)
        if kind == "boolean":
            if raw.strip().lower() in ("1", "true", "yes", "on"):
                return True
            if raw.strip().lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(f"{raw!r} is not a boolean")
        if kind in ("array", "object"):
            return json.loads(raw)
    except ValueError as exc:
        raise ConfigError(f"Variable genai_{name} = {raw!r} is not a valid {kind}: {exc}",
                          f"set Variable genai_{name} to a {kind} (or delete it to use the default)") from exc
    return raw


class DagConfig:
    """Base of every domain config: build the form, parse a run's Params, document the knobs.

    Subclasses are ``@dataclass(frozen=True)``; override :meth:`check` for rules across fields (raise
    :class:`ConfigError` naming the Params).
    """

    #: Domain configs may reorder their form's sections (default: declaration order, drills last).
    SECTION_ORDER: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def params(cls, **override_defaults: Any) -> dict[str, Any]:
        """The DAG's ``params=``: one ``airflow.sdk.Param`` per knob, in form order.

        ``override_defaults`` lets two DAGs share a config with different defaults (rare).
        """
        from airflow.sdk import Param

        entries = [(name, k) for name, k in knobs(cls).items() if k.is_param]
        unknown = set(override_defaults) - {name for name, _ in entries}
        if unknown:
            raise TypeError(f"{cls.__name__}.params(): no knobs named {sorted(unknown)}")
        order = list(cls.SECTION_ORDER)
        for _, k in entries:
            if k.section not in order and k.section != DRILL_SECTION:
                order.append(k.section)
        order.append(DRILL_SECTION)
        entries.sort(key=lambda item: order.index(item[1].section))
        out: dict[str, Any] = {}
        for name, k in entries:
            default = copy.deepcopy(override_defaults.get(name, k.default))
            description = k.description
            if k.setting:
                fallback = "" if k.fallback is None else f", else {k.fallback!r}"
                description += f" Empty = Variable genai_{k.setting}{fallback}."
            out[name] = Param(default, description=description, section=k.section, **k.schema)
        return out

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> Self:
        """The run's Params (and Variables for setting-backed knobs and wiring) as a validated config."""
        import jsonschema.exceptions

        params = params or {}
        values: dict[str, Any] = {}
        for name, k in knobs(cls).items():
            value = params.get(name, k.default) if k.is_param else None
            if hasattr(value, "resolve"):  # an unresolved airflow Param (tests passing dag.params)
                value = value.resolve(suppress_exception=True)
            if k.setting and value in (None, ""):
                from include.platform.settings import get_setting

                raw = get_setting(k.setting)
                value = k.fallback if raw is None else _from_string(raw, k.json_type, k.setting)
                where = f"Variable genai_{k.setting}"
            else:
                where = f"Param {name!r}"
            if isinstance(value, list) and isinstance(k.default, tuple):
                value = tuple(value)
            schema = dict(k.schema)
            if value is None and k.setting:  # an unset setting with no fallback: None is allowed
                values[name] = None
                continue
            error = jsonschema.exceptions.best_match(_validator(json.dumps(schema, sort_keys=True))
                                                     .iter_errors(_jsonable(value)))
            if error is not None:
                raise ConfigError(
                    f"{where} of {cls.__name__} = {value!r} is invalid: {error.message}",
                    f"set {name} to a value the form accepts ({_accepts(schema)}): {k.description}") from None
            values[name] = value
        try:
            cfg = cls(**values)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"{cls.__name__}: {exc}", "check the Params named above") from exc
        cfg.check()
        return cfg

    @classmethod
    def defaults(cls) -> Self:
        """The config a run with an untouched form gets (settings resolved)."""
        return cls.from_params({})

    def check(self) -> None:
        """Rules across fields; raise :class:`ConfigError` naming the Params. Default: none."""

    def as_dict(self) -> dict[str, Any]:
        """Plain values (for XCom, reports and logs)."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def _accepts(schema: Mapping[str, Any]) -> str:
    bits = [f"type {schema['type']}"]
    for key in ("enum", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "pattern"):
        if key in schema:
            bits.append(f"{key} {schema[key]!r}")
    return ", ".join(bits)


def settings_table(cls: type) -> str:
    """Markdown table of a config's deployment wiring (Variables, not Params)."""
    rows = ["| Variable | Default | What it wires |", "|---|---|---|"]
    for _name, k in knobs(cls).items():
        if not k.is_param:
            rows.append(f"| `genai_{k.setting}` | `{k.default!r}` | {k.description} |")
    return "\n".join(rows)


@functools.lru_cache(maxsize=1024)
def _validator(schema_json: str) -> Any:
    """One checked validator per distinct knob schema. ``jsonschema.validate`` re-checks the schema on
    every call (≈90 ms per ``from_params`` of a 24-knob config on a loaded 2-core machine); this checks
    it once per process."""
    import jsonschema.validators

    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)
