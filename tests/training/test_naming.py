from __future__ import annotations

import re
from datetime import datetime

from edm.training import generate_run_name


def test_spec_example() -> None:
    name = generate_run_name("mert-95m", "baseline-lr1e4", now=datetime(2025, 12, 5, 14, 30, 22))
    assert name == "run_20251205_143022_mert-95m_baseline-lr1e4"


def test_description_is_made_safe() -> None:
    name = generate_run_name(
        "cnn", "  new loss/fn: ä=0.5 & more!! ", now=datetime(2026, 1, 2, 3, 4, 5)
    )
    assert name == "run_20260102_030405_cnn_new-loss-fn-0.5-more"
    assert generate_run_name("cnn", "../../etc", now=datetime(2026, 1, 2)).endswith("_cnn_etc")


def test_without_description_and_with_the_clock() -> None:
    assert re.fullmatch(r"run_\d{8}_\d{6}_cnn", generate_run_name("cnn"))
    assert len(generate_run_name("cnn", "x" * 500)) < 100
