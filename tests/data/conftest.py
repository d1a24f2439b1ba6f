from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from edm.data.annotations import (
    Annotation,
    AudioInfo,
    Energy,
    Metadata,
    StructureEntry,
    save_annotation,
)

SAMPLE_RATE = 22050
WriteTrack = Callable[..., Path]


@pytest.fixture(autouse=True)
def _private_feature_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The default feature cache of every test is its own, never ~/.cache."""
    monkeypatch.setenv("EDM_CACHE_DIR", str(tmp_path / "feature-cache"))


def simple_annotation(
    audio_file: str = "t.wav",
    duration: float = 10.0,
    bpm: float = 120.0,
    downbeat: float = 0.5,
    with_energy: bool = True,
) -> Annotation:
    """120 BPM (bars of 2 s), sections at 0.5 s (intro), 4.5 s (drop), 8.5 s (outro)."""
    return Annotation(
        audio=AudioInfo(
            file=audio_file, duration=duration, bpm=bpm, downbeat=downbeat, time_signature="4/4"
        ),
        structure=[
            StructureEntry(bar=1, label="intro", time=0.5),
            StructureEntry(bar=3, label="drop", time=4.5, confidence=0.9),
            StructureEntry(bar=5, label="outro", time=8.5),
        ],
        energy=Energy(
            unit="section", low=[0.2, 1.0, 0.4], mid=[0.1, 0.9, 0.3], high=[0.3, 0.8, 0.2]
        )
        if with_energy
        else None,
        metadata=Metadata(tier=1, confidence=1.0, source="test"),
    )


@pytest.fixture
def write_track() -> WriteTrack:
    """Write ``<name>.wav`` (clicks on the beats over noise) and ``<name>.yaml`` into a folder."""

    def write(
        folder: Path, name: str, duration: float = 10.0, seed: int = 0, **annotation_args
    ) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(seed)
        n = int(duration * SAMPLE_RATE)
        audio = 0.05 * rng.standard_normal(n)
        for beat in np.arange(0.5, duration, 0.5):
            start = int(beat * SAMPLE_RATE)
            audio[start : start + 200] += 0.8
        sf.write(folder / f"{name}.wav", audio.astype(np.float32), SAMPLE_RATE, subtype="PCM_16")
        annotation = simple_annotation(f"{name}.wav", duration=duration, **annotation_args)
        path = folder / f"{name}.yaml"
        save_annotation(annotation, path)
        return path

    return write


@pytest.fixture
def make_annotation() -> Callable[..., Annotation]:
    """:func:`simple_annotation`: 10 s at 120 BPM, intro / drop / outro."""
    return simple_annotation
