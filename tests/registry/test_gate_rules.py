"""The gate's rules: defaults, gate.toml, [tool.edm.gate] and --require."""

from __future__ import annotations

from pathlib import Path

import pytest

from edm.errors import ConfigError
from edm.registry.gate_rules import Rule, load_gate_settings, parse_require


def test_rules_come_from_defaults_gate_toml_pyproject_and_require(tmp_path: Path) -> None:
    defaults = {r.metric: r for r in load_gate_settings(tmp_path).rules}
    assert {"beat_f", "downbeat_f", "bpm_accuracy", "boundary_f_0.5", "label_accuracy"} <= set(
        defaults
    )
    (tmp_path / "pyproject.toml").write_text(
        '[tool.edm.gate]\nholdout = "data/holdout"\n'
        "[tool.edm.gate.metrics.label_accuracy]\nfloor = 0.8\n"
    )
    settings = load_gate_settings(tmp_path, ["test_beat_f:delta>=-0.05", "energy_corr>=0.1"])
    rules = {r.metric: r for r in settings.rules}
    assert settings.holdout == tmp_path / "data/holdout"
    assert rules["label_accuracy"] == Rule("label_accuracy", min_delta=-0.01, floor=0.8)
    assert rules["beat_f"].min_delta == -0.05 and rules["energy_corr"].floor == 0.1
    (tmp_path / "gate.toml").write_text("[metrics.beat_f]\nmin_delta = 0\n")
    assert {r.metric: r for r in load_gate_settings(tmp_path).rules}["beat_f"].min_delta == 0
    assert parse_require("boundary_f_0.5:delta>=0") == Rule("boundary_f_0.5", min_delta=0.0)
    with pytest.raises(ConfigError, match=r"--require 'beat_f>0\.1': expected METRIC>=FLOOR"):
        parse_require("beat_f>0.1")
    (tmp_path / "gate.toml").write_text("[metrics.beat_f]\nfloor = 'high'\n")
    with pytest.raises(ConfigError, match=r"gate.toml: metrics.beat_f.floor must be a number"):
        load_gate_settings(tmp_path)
