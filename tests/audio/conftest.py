from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _private_feature_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default feature cache of every test is its own, never ~/.cache."""
    monkeypatch.setenv("EDM_CACHE_DIR", str(tmp_path / "feature-cache"))


@pytest.fixture
def tone() -> tuple[np.ndarray, int]:
    """Two seconds of stereo: 440 Hz left, 880 Hz right, at 44.1 kHz."""
    rate = 44100
    t = np.arange(2 * rate) / rate
    stereo = np.stack([np.sin(2 * np.pi * 440 * t), np.sin(2 * np.pi * 880 * t)], axis=1)
    return (0.4 * stereo).astype(np.float32), rate
