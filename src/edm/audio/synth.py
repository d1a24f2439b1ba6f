"""Synthetic EDM tracks with exact annotations, for demos and tests.

Each track is 4/4 at 118 to 150 BPM, starts with 0 to 2 s of silence or noise before the first
downbeat, and follows the EDM form (intro, buildup, drop, breakdown, [breakbuild], buildup,
drop, …, outro) in sections of 4 or 8 bars. The instruments carry the form the way real tracks
do: a kick on every beat in drops and none (or a muffled one) in breakdowns, risers and snare
rolls in buildups, bass and lead loudest in drops, pads in breakdowns. Tempo, key, chord
progression, kick tuning and decay, hat and bass patterns, timbres and levels are drawn per
track, so that a model has to learn the form rather than one track.

The same ``seed`` gives byte-identical WAV and YAML files.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from edm.audio import instruments as inst
from edm.data.annotations import (
    Annotation,
    AudioInfo,
    Energy,
    Metadata,
    Section,
    save_annotation,
)
from edm.errors import ConfigError

logger = logging.getLogger(__name__)

BEATS_PER_BAR = 4
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
# Four-bar chord progressions as scale degrees (0 = i, 5 = VI, …), common in minor-key EDM.
PROGRESSIONS = ((0, 5, 2, 6), (0, 6, 5, 6), (0, 3, 5, 4), (0, 0, 5, 6), (5, 6, 0, 0), (0, 5, 3, 4))
# Bass rhythms as (16th step within the beat, length in 16ths).
BASS_PATTERNS = {
    "offbeat": ((2, 2),),
    "rolling": ((1, 1), (2, 1), (3, 1)),
    "gallop": ((2, 1), (3, 1)),
}
HAT_PATTERNS = {
    "offbeat": (0.0, 0.0, 1.0, 0.0),
    "eighths": (0.55, 0.0, 1.0, 0.0),
    "sixteenths": (0.45, 0.3, 1.0, 0.3),
}
PHRASE_BARS = {
    "intro": (4, 8),
    "buildup": (4, 8),
    "drop": (8,),  # (4, 8) when there are three drops
    "breakdown": (4, 8),
    "breakbuild": (4,),
    "outro": (4, 8),
}
# Which instruments form each band of the energy annotation.
ENERGY_STEMS = {
    "low": ("kick", "kick_lp", "bass"),
    "mid": ("lead", "pad", "clap", "roll"),
    "high": ("hat", "open_hat", "riser", "crash"),
}


@dataclass(frozen=True)
class SynthConfig:
    sample_rate: int = 22050
    min_seconds: float = 60.0
    max_seconds: float = 100.0
    min_bpm: int = 118
    max_bpm: int = 150
    max_lead_in: float = 2.0

    def __post_init__(self) -> None:
        if not 0 < self.min_seconds <= self.max_seconds:
            raise ConfigError(
                f"track length range {self.min_seconds}..{self.max_seconds} s is empty"
            )
        if self.max_seconds < 30:
            raise ConfigError(f"--max-seconds {self.max_seconds} is too short for an EDM form")
        # The shortest form is 28 bars (45 s at 150 BPM): a tighter budget gets the form that
        # comes closest to it rather than an error.
        if not 0 < self.min_bpm <= self.max_bpm:
            raise ConfigError(f"BPM range {self.min_bpm}..{self.max_bpm} is empty")


@dataclass(frozen=True)
class SectionPlan:
    label: str
    start_bar: int  # 1-based
    bars: int


@dataclass(frozen=True)
class SyntheticTrack:
    name: str
    samples: np.ndarray  # int16 mono
    sample_rate: int
    annotation: Annotation


def generate_track(name: str, seed: int, index: int, config: SynthConfig) -> SyntheticTrack:
    """Track ``index`` of the set made with ``seed`` (independent of the other tracks)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, index]))
    return _TrackRenderer(name, rng, config).render()


def write_synthetic_dataset(
    out_dir: Path,
    n_tracks: int,
    seed: int = 0,
    config: SynthConfig | None = None,
    on_track: Callable[[Path], None] | None = None,
    workers: int | None = None,
) -> list[Path]:
    """Write ``track_000.wav`` + ``track_000.yaml``, … into ``out_dir``; returns the YAML paths.

    Tracks are rendered by ``workers`` processes (default: one per CPU); each track depends
    only on ``(seed, index)``, so the files are the same with any number of workers.
    """
    if n_tracks < 1:
        raise ConfigError(f"--tracks must be at least 1, got {n_tracks}")
    config = config or SynthConfig()
    out_dir.mkdir(parents=True, exist_ok=True)
    workers = min(workers or os.cpu_count() or 1, n_tracks)
    jobs = [(out_dir, seed, index, config) for index in range(n_tracks)]
    written: list[Path] = []
    with ProcessPoolExecutor(workers) if workers > 1 else nullcontext() as pool:
        results = pool.map(_write_track, jobs) if pool is not None else map(_write_track, jobs)
        for path in results:
            written.append(path)
            if on_track is not None:
                on_track(path)
    return written


def _write_track(job: tuple[Path, int, int, SynthConfig]) -> Path:
    out_dir, seed, index, config = job
    track = generate_track(f"track_{index:03d}", seed, index, config)
    sf.write(out_dir / f"{track.name}.wav", track.samples, track.sample_rate, subtype="PCM_16")
    yaml_path = out_dir / f"{track.name}.yaml"
    save_annotation(track.annotation, yaml_path)
    logger.debug("wrote %s", yaml_path)
    return yaml_path


def plan_form(
    rng: np.random.Generator, bar_seconds: float, budget_seconds: tuple[float, float]
) -> list[SectionPlan]:
    """Section labels and lengths in bars whose total fits the time budget (or comes closest)."""
    best: list[SectionPlan] = []
    best_miss = float("inf")
    low, high = budget_seconds
    for _ in range(200):
        labels = _choose_labels(rng)
        three_drops = labels.count("drop") == 3
        bars = [
            int(rng.choice((4, 8) if label == "drop" and three_drops else PHRASE_BARS[label]))
            for label in labels
        ]
        seconds = sum(bars) * bar_seconds
        miss = max(low - seconds, seconds - high, 0.0)
        if miss < best_miss:
            best_miss, best = miss, _with_start_bars(labels, bars)
        if miss == 0.0:
            break
    return best


def _choose_labels(rng: np.random.Generator) -> list[str]:
    labels = ["intro", "buildup", "drop"]
    n_drops = 3 if rng.random() < 0.35 else 2
    for _ in range(n_drops - 1):
        roll = rng.random()
        if roll < 0.25:
            middle = ["breakdown", "breakbuild"]
        elif roll < 0.45:
            middle = ["breakdown", "breakbuild", "buildup"]
        else:
            middle = ["breakdown", "buildup"]
        labels += [*middle, "drop"]
    return [*labels, "outro"]


def _with_start_bars(labels: list[str], bars: list[int]) -> list[SectionPlan]:
    plans, start = [], 1
    for label, length in zip(labels, bars, strict=True):
        plans.append(SectionPlan(label, start, length))
        start += length
    return plans


class _TrackRenderer:
    """Draws one track's choices, renders its stems and mixes them."""

    def __init__(self, name: str, rng: np.random.Generator, config: SynthConfig) -> None:
        self.name = name
        self.rng = rng
        self.sr = config.sample_rate
        self.bpm = int(rng.integers(config.min_bpm, config.max_bpm + 1))
        self.beat_samples = 60.0 / self.bpm * self.sr
        self.lead_in_samples = int(rng.uniform(0.0, config.max_lead_in) * self.sr)
        self.tail_seconds = float(rng.uniform(0.5, 1.5))
        bar_seconds = BEATS_PER_BAR * 60.0 / self.bpm
        fixed = self.lead_in_samples / self.sr + self.tail_seconds
        budget = (max(config.min_seconds - fixed, bar_seconds), config.max_seconds - fixed)
        self.sections = plan_form(rng, bar_seconds, budget)
        self.total_bars = sum(s.bars for s in self.sections)
        self.total_beats = self.total_bars * BEATS_PER_BAR
        end = self.beat_position(self.total_beats)
        self.n = int(end + self.tail_seconds * self.sr)
        self.root = int(rng.integers(28, 40))  # E1..D#2: the bass octave
        self.progression = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
        # Per beat: which section it belongs to (index into self.sections).
        self.section_of_beat = np.repeat(
            np.arange(len(self.sections)), [s.bars * BEATS_PER_BAR for s in self.sections]
        )
        self.parts = [self._choose_parts(s.label) for s in self.sections]

    def beat_position(self, beats: np.ndarray | float) -> np.ndarray:
        """Sample index of a (fractional) beat counted from the first downbeat."""
        return np.round(self.lead_in_samples + np.asarray(beats) * self.beat_samples).astype(
            np.int64
        )

    def render(self) -> SyntheticTrack:
        kick = self._kick_sample()
        stems = {
            "kick": self._kicks(kick, muffled=False),
            "kick_lp": self._kicks(kick, muffled=True),
            "clap": self._claps(),
            "hat": self._hats(),
            "open_hat": self._open_hats(),
            "roll": self._snare_rolls(),
            "crash": self._crashes(),
            "riser": self._risers(),
            "bass": self._bass(),
            "lead": self._lead(),
            "pad": self._pad(),
        }
        ducking = self._sidechain()
        for name in ("bass", "lead", "pad"):
            stems[name] *= ducking
        levels_db = {
            "kick": 0.0,
            "kick_lp": -4.0,
            "clap": -7.0,
            "hat": -13.0,
            "open_hat": -16.0,
            "roll": -11.0,
            "crash": -14.0,
            "riser": -15.0,
            "bass": -5.0,
            "lead": -9.0,
            "pad": -13.0,
        }
        mix = np.zeros(self.n, dtype=np.float32)
        for name, stem in stems.items():
            gain_db = levels_db[name] + self.rng.uniform(-3.0, 3.0)
            stems[name] = stem * np.float32(10 ** (gain_db / 20))
            mix += stems[name]
        mix += self._lead_in_noise()
        peak_dbfs = self.rng.uniform(-3.0, -0.5)
        mix *= np.float32(10 ** (peak_dbfs / 20) / max(float(np.abs(mix).max()), 1e-9))
        samples = np.round(np.clip(mix, -1.0, 1.0) * 32767).astype(np.int16)
        return SyntheticTrack(self.name, samples, self.sr, self._annotation(stems))

    # ---- choices -------------------------------------------------------------------------

    def _choose_parts(self, label: str) -> dict[str, float]:
        """Instrument levels (0..1) of one section: the arrangement that makes its energy."""
        r = self.rng.random
        if label == "intro":
            return {
                "kick": 1.0 if r() < 0.85 else 0.0,
                "hat": 0.7,
                "clap": 0.6 if r() < 0.3 else 0.0,
                "bass": 0.5 if r() < 0.4 else 0.0,
                "pad": 0.6 if r() < 0.4 else 0.0,
            }
        if label == "buildup":
            kick = float(self.rng.choice([1.0, 0.0, 0.5]))  # 0.5: kick in the first half only
            return {
                "kick": kick,
                "hat": 0.8,
                "clap": 0.5,
                "bass": 0.5 if r() < 0.5 else 0.0,
                "lead": 0.5 if r() < 0.6 else 0.0,
                "pad": 0.6 if r() < 0.5 else 0.0,
                "riser": 1.0,
                "roll": 1.0,
            }
        if label == "drop":
            return {
                "kick": 1.0,
                "clap": 1.0,
                "hat": 1.0,
                "open_hat": 1.0,
                "bass": 1.0,
                "lead": 1.0,
                "pad": 0.4 if r() < 0.3 else 0.0,
                "crash": 1.0 if r() < 0.8 else 0.0,
            }
        if label == "breakdown":
            return {
                "kick_lp": 0.35 if r() < 0.4 else 0.0,
                "hat": 0.3 if r() < 0.3 else 0.0,
                "pad": 1.0,
                "lead": 0.45 if r() < 0.7 else 0.0,
            }
        if label == "breakbuild":
            return {
                "kick_lp": 0.35 if r() < 0.5 else 0.0,
                "hat": 0.5 if r() < 0.5 else 0.0,
                "pad": 1.0,
                "lead": 0.5 if r() < 0.5 else 0.0,
                "riser": 0.7,
                "roll": 0.6,
            }
        # outro
        return {
            "kick": 1.0,
            "hat": 0.8,
            "clap": 0.6 if r() < 0.5 else 0.0,
            "bass": 0.5 if r() < 0.5 else 0.0,
            "pad": 0.4 if r() < 0.3 else 0.0,
        }

    def _beat_levels(self, part: str) -> np.ndarray:
        """Level of ``part`` on every beat of the track."""
        levels = np.array([p.get(part, 0.0) for p in self.parts])[self.section_of_beat]
        if part == "kick":
            # A buildup with kick level 0.5 drops its kick halfway: tension before the drop.
            for i, section in enumerate(self.sections):
                if self.parts[i].get("kick") == 0.5:
                    first = (section.start_bar - 1) * BEATS_PER_BAR
                    half = section.bars * BEATS_PER_BAR // 2
                    levels[first : first + half] = 1.0
                    levels[first + half : first + 2 * half] = 0.0
        return levels

    # ---- drums ---------------------------------------------------------------------------

    def _kick_sample(self) -> np.ndarray:
        return inst.kick(
            self.sr,
            self.rng,
            start_hz=self.rng.uniform(110, 260),
            end_hz=self.rng.uniform(42, 62),
            pitch_decay=self.rng.uniform(0.015, 0.05),
            amp_decay=self.rng.uniform(0.12, 0.4),
            click=self.rng.uniform(0.0, 0.4),
        )

    def _kicks(self, sample: np.ndarray, *, muffled: bool) -> np.ndarray:
        if muffled:
            sample = inst.filtered(sample, 110.0, "lowpass", self.sr)
        beats = np.arange(self.total_beats)
        gains = self._beat_levels("kick_lp" if muffled else "kick")
        return inst.place_hits(self.n, self.beat_position(beats), gains, sample)

    def _claps(self) -> np.ndarray:
        sample = inst.noise_hit(
            self.sr,
            self.rng,
            decay=self.rng.uniform(0.06, 0.16),
            band=(self.rng.uniform(800, 1300), self.rng.uniform(2500, 5000)),
            kind="bandpass",
            length=0.4,
            bursts=3,
        )
        beats = np.arange(self.total_beats)
        backbeat = (beats % BEATS_PER_BAR) % 2 == 1  # beats 2 and 4
        return inst.place_hits(
            self.n, self.beat_position(beats), self._beat_levels("clap") * backbeat, sample
        )

    def _hats(self) -> np.ndarray:
        pattern = HAT_PATTERNS[str(self.rng.choice(list(HAT_PATTERNS)))]
        sample = inst.noise_hit(
            self.sr,
            self.rng,
            decay=self.rng.uniform(0.015, 0.06),
            band=self.rng.uniform(5000, 8500),
            kind="highpass",
            length=0.2,
        )
        steps = np.arange(self.total_beats * 4)
        accents = np.array(pattern)[steps % 4] * self._beat_levels("hat")[steps // 4]
        swing = self.rng.uniform(0.0, 0.08) * (steps % 2)  # late odd 16ths: groove varies
        return inst.place_hits(self.n, self.beat_position((steps + swing) / 4), accents, sample)

    def _open_hats(self) -> np.ndarray:
        sample = inst.noise_hit(
            self.sr, self.rng, decay=self.rng.uniform(0.12, 0.3), band=6000.0, kind="highpass",
            length=0.6,
        )  # fmt: skip
        beats = np.arange(self.total_beats)
        return inst.place_hits(
            self.n, self.beat_position(beats + 0.5), self._beat_levels("open_hat"), sample
        )

    def _snare_rolls(self) -> np.ndarray:
        """Buildup rolls: quarters, then eighths, then sixteenths, growing louder."""
        sample = inst.noise_hit(
            self.sr,
            self.rng,
            decay=self.rng.uniform(0.05, 0.1),
            band=(1000.0, 6000.0),
            kind="bandpass",
            length=0.3,
            tone_hz=self.rng.uniform(160, 240),
        )
        positions, gains = [], []
        for section, parts in zip(self.sections, self.parts, strict=True):
            level = parts.get("roll", 0.0)
            if not level:
                continue
            beats_in = section.bars * BEATS_PER_BAR
            first = (section.start_bar - 1) * BEATS_PER_BAR
            half, three_quarters = beats_in // 2, beats_in * 3 // 4
            local = np.concatenate(
                [
                    np.arange(0, half, 1.0),
                    np.arange(half, three_quarters, 0.5),
                    np.arange(three_quarters, beats_in, 0.25),
                ]
            )
            positions.append(self.beat_position(first + local))
            gains.append(level * (0.25 + 0.75 * local / beats_in))
        if not positions:
            return np.zeros(self.n, dtype=np.float32)
        return inst.place_hits(self.n, np.concatenate(positions), np.concatenate(gains), sample)

    def _crashes(self) -> np.ndarray:
        sample = inst.noise_hit(
            self.sr, self.rng, decay=self.rng.uniform(0.6, 1.4), band=3000.0, kind="highpass",
            length=2.5,
        )  # fmt: skip
        starts = [(s.start_bar - 1) * BEATS_PER_BAR for s in self.sections]
        levels = [p.get("crash", 0.0) for p in self.parts]
        return inst.place_hits(
            self.n, self.beat_position(np.array(starts)), np.array(levels), sample
        )

    def _risers(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for section, parts in zip(self.sections, self.parts, strict=True):
            level = parts.get("riser", 0.0)
            if not level:
                continue
            first = (section.start_bar - 1) * BEATS_PER_BAR
            start, end = self.beat_position(np.array([first, first + section.bars * 4]))
            out[start:end] += level * inst.riser(
                int(end - start),
                self.sr,
                self.rng,
                low_hz=self.rng.uniform(150, 400),
                high_hz=self.rng.uniform(1500, 4000),
            )
        return out

    # ---- tonal parts ---------------------------------------------------------------------

    def _chord_degree(self, bar: np.ndarray) -> np.ndarray:
        return np.array(self.progression)[bar % len(self.progression)]

    def _scale_note(self, degree: np.ndarray) -> np.ndarray:
        """Semitones above the root of scale degree ``degree`` (may exceed an octave)."""
        degree = np.asarray(degree)
        return 12 * (degree // 7) + np.array(MINOR_SCALE)[degree % 7]

    def _bass(self) -> np.ndarray:
        pattern = BASS_PATTERNS[str(self.rng.choice(list(BASS_PATTERNS)))]
        octave_jumps = self.rng.random() < 0.4
        beats = np.arange(self.total_beats)
        levels = self._beat_levels("bass")
        starts, lengths, midi, gains = [], [], [], []
        for step, length in pattern:
            starts.append(self.beat_position(beats + step / 4))
            lengths.append(np.full(beats.size, length * self.beat_samples / 4 * 0.9))
            note = self.root + self._scale_note(self._chord_degree(beats // BEATS_PER_BAR))
            if octave_jumps and step == 3:
                note = note + 12
            midi.append(note)
            gains.append(levels)
        notes = _sorted_notes(starts, lengths, midi, gains, decay=self.rng.uniform(0.1, 0.3))
        return inst.render_notes(
            self.n,
            notes,
            self.sr,
            shape=str(self.rng.choice(["saw", "square", "sine"])),
            attack=0.003,
            sustain=0.6,
            cutoff_hz=self.rng.uniform(250, 900),
        )

    def _lead(self) -> np.ndarray:
        """An arpeggio of chord tones, one or two bars long, repeated over the chords."""
        pattern_steps = 16 * int(self.rng.choice([1, 2]))
        density = self.rng.uniform(0.45, 0.85)
        plays = self.rng.random(pattern_steps) < density
        plays[0] = True
        tones = self.rng.integers(0, 4, pattern_steps)  # root, third, fifth, octave
        steps = np.arange(self.total_beats * 4)
        on = plays[steps % pattern_steps]
        steps = steps[on]
        bar = steps // 16
        degree = self._chord_degree(bar) + np.array([0, 2, 4, 7])[tones[steps % pattern_steps]]
        midi = self.root + 36 + self._scale_note(degree)
        section_level = self._beat_levels("lead")[steps // 4]
        in_breakdown = np.isin(
            [self.sections[i].label for i in self.section_of_beat[steps // 4]],
            ["breakdown", "breakbuild"],
        )
        decay = self.rng.uniform(0.06, 0.22)
        notes = inst.Notes(
            starts=self.beat_position(steps / 4),
            lengths=np.full(steps.size, self.beat_samples / 4 * 0.95).astype(np.int64),
            midi=midi.astype(np.float64),
            gains=section_level,
            decays=np.where(in_breakdown, decay * 4, decay),  # softer, longer notes
        )
        return inst.render_notes(
            self.n,
            notes,
            self.sr,
            shape=str(self.rng.choice(["saw", "square"])),
            attack=0.004,
            sustain=0.15,
            cutoff_hz=self.rng.uniform(1800, 5000),
        )

    def _pad(self) -> np.ndarray:
        bars = np.arange(self.total_bars)
        levels = self._beat_levels("pad")[bars * BEATS_PER_BAR]
        out = np.zeros(self.n, dtype=np.float32)
        shape = str(self.rng.choice(["saw", "sine"]))
        for chord_tone in (0, 2, 4):
            notes = inst.Notes(
                starts=self.beat_position(bars * BEATS_PER_BAR),
                lengths=np.full(bars.size, self.beat_samples * BEATS_PER_BAR).astype(np.int64),
                midi=(
                    self.root + 24 + self._scale_note(self._chord_degree(bars) + chord_tone)
                ).astype(np.float64),
                gains=levels,
                decays=np.full(bars.size, 1.0),
            )
            out += inst.render_notes(
                self.n, notes, self.sr, shape=shape, attack=0.25, sustain=0.8, cutoff_hz=None
            )
        return inst.filtered(out / 3, 1400.0, "lowpass", self.sr)

    def _sidechain(self) -> np.ndarray:
        """Gain that dips after every kick, the pumping of a sidechain compressor."""
        depth = self.rng.uniform(0.3, 0.8)
        kick_levels = np.maximum(self._beat_levels("kick"), 0.0)
        beat_starts = self.beat_position(np.arange(self.total_beats))
        t = np.arange(self.n)
        beat = np.clip(np.searchsorted(beat_starts, t, side="right") - 1, 0, None)
        since = np.maximum(t - beat_starts[beat], 0) / self.sr
        dip = depth * kick_levels[beat] * np.exp(-since / 0.12) * (t >= beat_starts[0])
        return (1.0 - dip).astype(np.float32)

    def _lead_in_noise(self) -> np.ndarray:
        """Room noise or silence before the first downbeat."""
        out = np.zeros(self.n, dtype=np.float32)
        if self.rng.random() < 0.5:
            level = 10 ** (self.rng.uniform(-60.0, -45.0) / 20)
            out[: self.lead_in_samples] = level * self.rng.standard_normal(self.lead_in_samples)
        return out

    # ---- annotation ----------------------------------------------------------------------

    def _annotation(self, stems: dict[str, np.ndarray]) -> Annotation:
        downbeat = self.lead_in_samples / self.sr
        bar_seconds = BEATS_PER_BAR * 60.0 / self.bpm
        structure = [
            Section(
                bar=s.start_bar,
                label=s.label,  # type: ignore[arg-type]
                time=round(downbeat + (s.start_bar - 1) * bar_seconds, 6),
            )
            for s in self.sections
        ]
        bounds = [
            self.beat_position(np.array([(s.start_bar - 1) * 4, (s.start_bar - 1 + s.bars) * 4]))
            for s in self.sections
        ]
        energy = {}
        for band, names in ENERGY_STEMS.items():
            band_mix = sum(stems[name] for name in names)
            rms = np.array([np.sqrt(np.mean(band_mix[a:b] ** 2)) for a, b in bounds])
            energy[band] = [round(float(v), 3) for v in rms / max(float(rms.max()), 1e-9)]
        root_name = NOTE_NAMES[self.root % 12]
        return Annotation(
            audio=AudioInfo(
                file=f"{self.name}.wav",
                duration=round(self.n / self.sr, 6),
                bpm=float(self.bpm),
                downbeat=round(downbeat, 6),
                time_signature="4/4",
                key=f"{root_name} minor",
            ),
            structure=structure,
            energy=Energy(unit="section", **energy),
            metadata=Metadata(tier=1, confidence=1.0, source="synthetic"),
        )


def _sorted_notes(
    starts: list[np.ndarray],
    lengths: list[np.ndarray],
    midi: list[np.ndarray],
    gains: list[np.ndarray],
    *,
    decay: float,
) -> inst.Notes:
    start = np.concatenate(starts)
    order = np.argsort(start, kind="stable")
    return inst.Notes(
        starts=start[order],
        lengths=np.concatenate(lengths)[order].astype(np.int64),
        midi=np.concatenate(midi)[order].astype(np.float64),
        gains=np.concatenate(gains)[order].astype(np.float64),
        decays=np.full(start.size, decay),
    )
