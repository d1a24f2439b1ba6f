"""Annotations and the activations a perfect model would give for them, for the decoding and
evaluation tests."""

from __future__ import annotations

import numpy as np

from edm.data.annotations import Annotation, AudioInfo, Energy, Metadata, StructureEntry
from edm.data.targets import frame_targets
from edm.decoding.activations import FrameActivations
from edm.vocabulary import LABELS

FPS = 50.0


def make_annotation(
    bpm: float = 128.0,
    downbeat: float = 1.3,
    sections: tuple[tuple[int, str], ...] = (
        (1, "intro"),
        (9, "buildup"),
        (17, "drop"),
        (33, "breakdown"),
        (41, "buildup"),
        (49, "drop"),
        (65, "outro"),
    ),
    tail_bars: int = 8,
) -> Annotation:
    """A track on a constant grid whose sections start on the given bars."""
    bar = 4 * 60.0 / bpm
    last_bar = sections[-1][0] + tail_bars - 1
    duration = round(downbeat + last_bar * bar + 0.7, 6)
    energy = {"intro": 0.3, "buildup": 0.5, "drop": 1.0, "breakdown": 0.2, "outro": 0.4}
    values = [energy[label] for _, label in sections]
    return Annotation(
        audio=AudioInfo(file="track.wav", duration=duration, bpm=bpm, downbeat=downbeat),
        structure=[
            StructureEntry(bar=b, label=label, time=round(downbeat + (b - 1) * bar, 6))  # type: ignore[arg-type]
            for b, label in sections
        ],
        energy=Energy(low=values, mid=[v * 0.8 for v in values], high=[v * 0.5 for v in values]),
        metadata=Metadata(tier=1, confidence=1.0, source="test"),
    )


def activations_from(
    annotation: Annotation, *, noise: float = 0.0, seed: int = 0
) -> FrameActivations:
    """What a perfect model would output for ``annotation``, plus optional noise."""
    n_frames = int(annotation.audio.duration * FPS)
    targets = frame_targets(annotation, n_frames, FPS)
    rng = np.random.default_rng(seed)

    def noisy(values: np.ndarray) -> np.ndarray:
        return np.clip(values + noise * rng.random(values.shape), 0.0, 1.0)

    label = np.full((len(LABELS), n_frames), 0.02)
    label[targets.label, np.arange(n_frames)] = 0.88
    return FrameActivations(
        frame_rate=FPS,
        beat=noisy(targets.beat),
        downbeat=noisy(targets.downbeat),
        boundary=noisy(targets.boundary),
        energy=noisy(targets.energy),
        label=label,
    )
