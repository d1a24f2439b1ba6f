"""One synthetic track: its families drawn, its arrangement played with its kit, mixed and
mastered to 16-bit audio, and its exact annotation.

The energy annotation is measured on the mix's own stems (RMS per section and band), so it is
what a listener would hear rather than what the arrangement meant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edm.data.annotations import Annotation, AudioInfo, Energy, Metadata, StructureEntry
from edm.synth.config import SynthConfig
from edm.synth.families import draw_family
from edm.synth.form import Arrangement
from edm.synth.instruments import filtered
from edm.synth.kits import make_kit
from edm.synth.mix import master
from edm.synth.oneshots import vinyl
from edm.synth.stems import lead_in_noise, play_stems
from edm.vocabulary import BEATS_PER_BAR, ENERGY_BANDS

LEVELS_DB = {
    "kick": 0.0,
    "kick_lp": -4.0,
    "clap": -7.0,
    "hat": -13.0,
    "open_hat": -16.0,
    "perc": -15.0,
    "roll": -11.0,
    "fill": -8.0,
    "crash": -14.0,
    "riser": -15.0,
    "bass": -5.0,
    "lead": -9.0,
    "pad": -13.0,
}
# Which stems form each band of the energy annotation, band by band (low, mid, high).
ENERGY_STEMS = dict(
    zip(
        ENERGY_BANDS,
        (
            ("kick", "kick_lp", "bass"),
            ("lead", "pad", "clap", "roll", "fill", "perc"),
            ("hat", "open_hat", "riser", "crash"),
        ),
        strict=True,
    )
)


@dataclass(frozen=True)
class SyntheticTrack:
    name: str
    samples: np.ndarray  # int16 mono
    sample_rate: int
    annotation: Annotation
    sound_family: str
    arrangement_family: str


def generate_track(name: str, seed: int, index: int, config: SynthConfig) -> SyntheticTrack:
    """Track ``index`` of the set made with ``seed`` (independent of the other tracks)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    sound_family = draw_family(rng, config.sound_families)
    arrangement_family = draw_family(rng, config.arrangement_families)
    arrangement = Arrangement(rng, config, arrangement_family)
    kit = make_kit(sound_family, rng, arrangement.sr)
    stems = play_stems(arrangement, kit)
    mix = _mix(arrangement, stems)
    if kit.vinyl_db is not None:
        mix += np.float32(10 ** (kit.vinyl_db / 20) * np.abs(mix).max()) * vinyl(
            arrangement.n, arrangement.sr, rng
        )
    samples = np.round(np.clip(master(mix, rng, arrangement.sr), -1.0, 1.0) * 32767)
    annotation = _annotation(name, arrangement, stems, sound_family, arrangement_family)
    return SyntheticTrack(
        name, samples.astype(np.int16), arrangement.sr, annotation, sound_family, arrangement_family
    )


def _mix(arrangement: Arrangement, stems: dict[str, np.ndarray]) -> np.ndarray:
    """Stems at their levels (each varied per track), summed, with the gaps before drops.

    ``stems`` is updated in place to the levelled stems, which the energy annotation measures.
    """
    rng = arrangement.rng
    gaps = arrangement.gaps()
    mix = np.zeros(arrangement.n, dtype=np.float32)
    for name, stem in stems.items():
        gain_db = LEVELS_DB[name] + rng.uniform(-3.0, 3.0)
        stems[name] = stem * np.float32(10 ** (gain_db / 20))
        for start, stop, is_filtered in gaps:
            if not is_filtered and name != "fill":  # a silent gap: only the fill plays on
                stems[name][start:stop] = 0.0
        mix += stems[name]
    for start, stop, is_filtered in gaps:
        if is_filtered:  # the band seems to leave the room: only its low end comes through
            mix[start:stop] = filtered(mix[start:stop], 250.0, "lowpass", arrangement.sr)
    for start, stop in arrangement.sweeps():
        # A filter opening over the section: dry and low-passed mix cross-faded, cheaper than
        # a filter whose cutoff moves, and heard much the same.
        dark = filtered(mix[start:stop], float(rng.uniform(250, 600)), "lowpass", arrangement.sr)
        opening = np.linspace(0.0, 1.0, stop - start, dtype=np.float32) ** 2
        mix[start:stop] = opening * mix[start:stop] + (1.0 - opening) * dark
    mix += lead_in_noise(arrangement) * max(float(np.abs(mix).max()), 1e-9)
    return mix


def _annotation(
    name: str,
    arrangement: Arrangement,
    stems: dict[str, np.ndarray],
    sound_family: str,
    arrangement_family: str,
) -> Annotation:
    downbeat = arrangement.downbeat_seconds
    structure = [
        StructureEntry(
            bar=s.start_bar,
            label=s.label,  # type: ignore[arg-type]
            time=round(downbeat + (s.start_bar - 1) * arrangement.bar_seconds, 6),
        )
        for s in arrangement.sections
    ]
    bounds = [
        arrangement.beat_position(np.array([s.first_beat, s.first_beat + s.n_beats]))
        for s in arrangement.sections
    ]
    energy = {}
    for band, names in ENERGY_STEMS.items():
        band_mix = sum(stems[name] for name in names)
        rms = np.array([np.sqrt(np.mean(band_mix[a:b] ** 2)) for a, b in bounds])
        energy[band] = [round(float(v), 3) for v in rms / max(float(rms.max()), 1e-9)]
    return Annotation(
        audio=AudioInfo(
            file=f"{name}.wav",
            duration=round(arrangement.n / arrangement.sr, 6),
            bpm=float(arrangement.bpm),
            downbeat=round(downbeat, 6),
            time_signature=f"{BEATS_PER_BAR}/4",
            key=arrangement.key,
        ),
        structure=structure,
        energy=Energy(unit="section", **energy),
        metadata=Metadata(
            tier=1,
            confidence=1.0,
            source="synthetic",
            sound_family=sound_family,  # type: ignore[call-arg]
            arrangement_family=arrangement_family,  # type: ignore[call-arg]
        ),
    )
