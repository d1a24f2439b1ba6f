"""The promotion gate's rules: per metric, a minimum change against Production and a floor.

Rules come from, in order (each overriding the one before, metric by metric): the defaults
(``DEFAULT_RULES``), a ``gate.toml`` in the working folder or the ``[tool.edm.gate]`` section
of its ``pyproject.toml``, and ``--require`` options::

    # gate.toml (in pyproject.toml: the same under [tool.edm.gate])
    holdout = "data/holdout"          # the configured gate set: a folder of held-out tracks
    [metrics.beat_f]
    min_delta = -0.01                 # not worse than Production by more than 0.01
    [metrics.label_accuracy]
    floor = 0.8                       # at least 0.8, whatever Production scores

    --require 'beat_f:delta>=-0.01' --require 'label_accuracy>=0.8'

Metric names are those of ``edm evaluate`` (``test_`` prefix optional); higher is better.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from edm.errors import ConfigError

GATE_FILE = "gate.toml"
METRIC_PREFIX = "test_"
_REQUIRE = re.compile(
    r"^\s*(?P<metric>[A-Za-z_][\w.]*?)\s*(?::\s*(?P<delta>delta))?\s*>=\s*"
    r"(?P<value>[-+]?(?:\d+\.?\d*|\.\d+))\s*$"
)


@dataclass(frozen=True)
class Rule:
    """``min_delta``: candidate minus Production must be at least this (-0.01: 0.01 worse at most);
    ``floor``: the candidate must score at least this."""

    metric: str
    min_delta: float | None = None
    floor: float | None = None

    @property
    def logged_name(self) -> str:
        return METRIC_PREFIX + self.metric

    def describe(self) -> str:
        parts = []
        if self.min_delta is not None:
            parts.append("not worse" if self.min_delta == 0 else f"Δ ≥ {self.min_delta:+.3g}")
        if self.floor is not None:
            parts.append(f"≥ {self.floor:.3g}")
        return ", ".join(parts) or "shown"

    def verdict(self, production: float | None, candidate: float | None) -> str:
        """``pass``, ``FAIL``, or ``missing`` (the candidate has no such score)."""
        if candidate is None:
            return "missing" if (self.min_delta, self.floor) != (None, None) else "pass"
        if self.floor is not None and candidate < self.floor - 1e-12:
            return "FAIL"
        if (
            self.min_delta is not None
            and production is not None
            and candidate - production < self.min_delta - 1e-12
        ):
            return "FAIL"
        return "pass"


DEFAULT_RULES: tuple[Rule, ...] = (
    Rule("beat_f", min_delta=-0.01),
    Rule("downbeat_f", min_delta=-0.01),
    Rule("bpm_accuracy", min_delta=-0.02),
    Rule("boundary_f_0.5", min_delta=0.0),
    Rule("boundary_f_3", min_delta=-0.01),
    Rule("label_accuracy", min_delta=-0.01),
)
"""Beats, downbeats, tempo, boundaries and labels: none may get worse by more than a little."""


@dataclass(frozen=True)
class GateSettings:
    rules: tuple[Rule, ...] = DEFAULT_RULES
    holdout: Path | None = None  # the configured gate set
    source: str = "defaults"


def merge_rules(rules: Iterable[Rule], overrides: Iterable[Rule]) -> tuple[Rule, ...]:
    """``rules`` with each override's set fields replacing the same metric's; new ones added."""
    merged = {rule.metric: rule for rule in rules}
    for rule in overrides:
        old = merged.get(rule.metric, Rule(rule.metric))
        changes = {
            k: getattr(rule, k) for k in ("min_delta", "floor") if getattr(rule, k) is not None
        }
        merged[rule.metric] = replace(old, **changes)
    return tuple(merged.values())


def parse_require(text: str) -> Rule:
    """``METRIC:delta>=X`` (minimum change against Production) or ``METRIC>=X`` (floor)."""
    match = _REQUIRE.match(text)
    if match is None:
        raise ConfigError(
            f"--require {text!r}: expected METRIC>=FLOOR or METRIC:delta>=MIN_CHANGE "
            "(e.g. 'label_accuracy>=0.8', 'beat_f:delta>=-0.01')"
        )
    metric = match["metric"].removeprefix(METRIC_PREFIX)
    value = float(match["value"])
    return Rule(metric, min_delta=value) if match["delta"] else Rule(metric, floor=value)


def load_gate_settings(folder: Path | str = ".", requires: Iterable[str] = ()) -> GateSettings:
    """The defaults, then ``gate.toml`` or ``pyproject.toml``'s ``[tool.edm.gate]`` in
    ``folder``, then ``requires`` (``--require`` texts)."""
    folder = Path(folder)
    section: Mapping[str, object] = {}
    source = "defaults"
    gate_file, pyproject = folder / GATE_FILE, folder / "pyproject.toml"
    if gate_file.is_file():
        section, source = _read_toml(gate_file), str(gate_file)
    elif pyproject.is_file():
        found = _read_toml(pyproject).get("tool", {}).get("edm", {}).get("gate")  # type: ignore[union-attr]
        if isinstance(found, dict):
            section, source = found, f"{pyproject} [tool.edm.gate]"
    rules = merge_rules(DEFAULT_RULES, _rules_from(section, source))
    rules = merge_rules(rules, (parse_require(text) for text in requires))
    holdout = section.get("holdout")
    if holdout is not None and not isinstance(holdout, str):
        raise ConfigError(f"{source}: holdout must be a folder path (a string)")
    base = gate_file.parent if source != "defaults" else folder
    return GateSettings(rules, (base / holdout) if holdout else None, source)


def _read_toml(path: Path) -> dict[str, object]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot be read as TOML: {exc}") from None


def _rules_from(section: Mapping[str, object], source: str) -> list[Rule]:
    metrics = section.get("metrics", {})
    if not isinstance(metrics, dict):
        raise ConfigError(f"{source}: metrics must be a table of [metrics.NAME] sections")
    rules = []
    for name, fields in metrics.items():
        if not isinstance(fields, dict) or set(fields) - {"min_delta", "floor"}:
            raise ConfigError(f"{source}: metrics.{name} takes min_delta and floor (numbers)")
        values = {}
        for key, value in fields.items():
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise ConfigError(f"{source}: metrics.{name}.{key} must be a number")
            values[key] = float(value)
        rules.append(Rule(str(name).removeprefix(METRIC_PREFIX), **values))
    return rules
