"""An evaluation-only track rendered from its arrangement, with the annotation it implies.

Sounds of its own: a kick swept down in pitch, hats and snares from shaped noise, an FM bass,
additive pads, and a lead played by a sampler (one plucked-string one-shot, made once per
track by Karplus-Strong, resampled to every pitch). Parts are mixed into three stems (low:
kick and bass; mid: snare, pad, lead; high: hats and risers) whose section RMS is the
annotated energy.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from edm.atomic import atomic_write
from edm.benchmarks.arrangement import Arrangement, Section, draw_arrangement
from edm.data.annotations import (
    Annotation,
    AudioInfo,
    Energy,
    Metadata,
    StructureEntry,
    save_annotation,
)
from edm.errors import ConfigError

SAMPLE_RATE = 22050
MINOR_CHORDS = (0, 8, 3, 10)  # i, VI, III, VII: semitones above the root, one chord a bar
SCALE = (0, 2, 3, 5, 7, 8, 10)
_TAIL_S = 1.0


@dataclass(frozen=True)
class OtherTrack:
    name: str
    samples: np.ndarray  # float32, mono, SAMPLE_RATE
    annotation: Annotation


def render_track(
    name: str, seed: int, *, min_bpm: float = 118.0, max_bpm: float = 150.0
) -> OtherTrack:
    rng = np.random.default_rng(seed)
    arrangement = draw_arrangement(rng, min_bpm, max_bpm)
    renderer = _Renderer(rng, arrangement)
    starts = renderer.play()
    samples = renderer.mix()
    return OtherTrack(name, samples, _annotation(name, arrangement, renderer, starts, samples))


def write_other_music(
    folder: Path | str,
    n_tracks: int,
    seed: int = 7,
    *,
    min_bpm: float = 118.0,
    max_bpm: float = 150.0,
    on_track: Callable[[Path], None] | None = None,
) -> list[Path]:
    """``other_000.wav`` + ``.yaml`` ... in ``folder``; the same seed gives the same files."""
    if not 0 < min_bpm <= max_bpm:
        raise ConfigError(f"tempo range {min_bpm}..{max_bpm} BPM is empty")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for index in range(n_tracks):
        track = render_track(
            f"other_{index:03d}", seed * 1000 + index, min_bpm=min_bpm, max_bpm=max_bpm
        )
        buffer = io.BytesIO()
        sf.write(buffer, track.samples, SAMPLE_RATE, format="WAV", subtype="PCM_16")
        with atomic_write(folder / f"{track.name}.wav", "wb") as handle:
            handle.write(buffer.getvalue())
        save_annotation(track.annotation, folder / f"{track.name}.yaml")
        written.append(folder / f"{track.name}.wav")
        if on_track is not None:
            on_track(written[-1])
    return written


class _Renderer:
    def __init__(self, rng: np.random.Generator, arrangement: Arrangement) -> None:
        self.rng = rng
        self.arrangement = arrangement
        self.beat_s = 60.0 / arrangement.bpm
        self.n = int(
            (arrangement.lead_in_s + arrangement.n_bars * arrangement.bar_s + _TAIL_S) * SAMPLE_RATE
        )
        self.stems = {band: np.zeros(self.n) for band in ("low", "mid", "high")}
        self.gain = np.ones(self.n)
        self.pluck = _karplus_strong(rng, 220.0, 0.7)
        self.bass_index = float(rng.uniform(1.0, 4.0))
        self.pad_detune = float(rng.uniform(0.002, 0.006))

    def play(self) -> list[float]:
        """Every section played; the start time of each."""
        starts, time = [], self.arrangement.lead_in_s
        if self.rng.random() < 0.5:  # a lead-in of room noise rather than silence
            first = int(time * SAMPLE_RATE)
            self.stems["high"][:first] += 0.01 * self.rng.standard_normal(first)
        bar = 0
        for number, section in enumerate(self.arrangement.sections):
            starts.append(time)
            self._section(section, time, bar)
            end = time + section.bars * self.arrangement.bar_s
            last = number == len(self.arrangement.sections) - 1
            if not last:
                self._transition(section.transition, end)
            a, b = int(time * SAMPLE_RATE), int(end * SAMPLE_RATE)
            self.gain[a:b] = section.level
            bar += section.bars
            time = end
        return starts

    def mix(self) -> np.ndarray:
        mixed = 1.0 * self.stems["low"] + 0.8 * self.stems["mid"] + 0.6 * self.stems["high"]
        mixed *= self.gain
        peak = float(np.abs(mixed).max()) or 1.0
        return (0.9 * mixed / peak).astype(np.float32)

    def _section(self, section: Section, start: float, first_bar: int) -> None:
        beat = self.beat_s
        root = self.arrangement.root_midi
        for index in range(section.bars * 4):
            t = start + index * beat
            chord = MINOR_CHORDS[((first_bar * 4 + index) // 4) % len(MINOR_CHORDS)]
            if "kick" in section.parts:
                self._add("low", t, _kick(0.35))
            if "hats" in section.parts:
                self._add("high", t + beat / 2, _hat(self.rng, 0.05))
            if "snare" in section.parts and index % 4 in (1, 3):
                self._add("mid", t, _snare(self.rng, 0.18))
            if "bass" in section.parts:
                for eighth in (0.0, 0.5):
                    note = root - 12 + chord + (7 if eighth and self.rng.random() < 0.3 else 0)
                    self._add(
                        "low", t + eighth * beat, _fm_bass(note, beat * 0.45, self.bass_index)
                    )
            if "pad" in section.parts and index % 4 == 0:
                self._add("mid", t, 0.35 * _pad(root + 12 + chord, 4 * beat, self.pad_detune))
            if "lead" in section.parts:
                for sixteenth in range(4):
                    if self.rng.random() < 0.45:
                        degree = SCALE[int(self.rng.integers(len(SCALE)))]
                        note = root + 24 + degree
                        self._add(
                            "mid", t + sixteenth * beat / 4, 0.5 * self._sampler(note, beat / 2)
                        )

    def _transition(self, kind: str, end: float) -> None:
        beat, bar = self.beat_s, self.arrangement.bar_s
        if kind == "riser":
            length = 2 * bar
            t = np.arange(int(length * SAMPLE_RATE)) / SAMPLE_RATE
            sweep = np.sin(2 * np.pi * np.cumsum(200 + 1800 * t / length) / SAMPLE_RATE)
            noise = self.rng.standard_normal(t.size)
            self._add("high", end - length, (0.2 * sweep + 0.15 * noise) * (t / length) ** 2)
        elif kind == "fill":
            for step in range(8):
                self._add(
                    "mid",
                    end - beat + step * beat / 8,
                    (0.4 + 0.08 * step) * _snare(self.rng, 0.08),
                )
        elif kind == "filter":
            a, b = int((end - 2 * bar) * SAMPLE_RATE), int(end * SAMPLE_RATE)
            ramp = np.linspace(1.0, 0.1, max(0, min(b, self.n) - a))
            for band in ("mid", "high"):
                self.stems[band][a : a + ramp.size] *= ramp
        elif kind == "gap":
            a, b = int((end - beat) * SAMPLE_RATE), int(end * SAMPLE_RATE)
            for stem in self.stems.values():
                stem[a:b] = 0.0

    def _sampler(self, midi: float, seconds: float) -> np.ndarray:
        ratio = 440.0 * 2 ** ((midi - 69) / 12) / 220.0
        length = min(int(seconds * SAMPLE_RATE), int(self.pluck.size / ratio))
        return np.interp(np.arange(length) * ratio, np.arange(self.pluck.size), self.pluck)

    def _add(self, stem: str, time: float, sound: np.ndarray) -> None:
        start = round(time * SAMPLE_RATE)
        if start < 0 or start >= self.n:
            return
        end = min(self.n, start + sound.size)
        self.stems[stem][start:end] += sound[: end - start]


def _kick(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    frequency = 45.0 + 110.0 * np.exp(-t / 0.03)
    return np.sin(2 * np.pi * np.cumsum(frequency) / SAMPLE_RATE) * np.exp(-t / 0.12)


def _hat(rng: np.random.Generator, seconds: float) -> np.ndarray:
    noise = np.diff(rng.standard_normal(int(seconds * SAMPLE_RATE) + 1))
    return 0.3 * noise * np.exp(-np.arange(noise.size) / (0.012 * SAMPLE_RATE))


def _snare(rng: np.random.Generator, seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    body = np.sin(2 * np.pi * 190.0 * t) * np.exp(-t / 0.03)
    return (0.5 * body + 0.5 * rng.standard_normal(t.size)) * np.exp(-t / 0.05)


def _fm_bass(midi: float, seconds: float, index: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    f = 440.0 * 2 ** ((midi - 69) / 12)
    modulator = index * np.exp(-t / 0.1) * np.sin(2 * np.pi * 2 * f * t)
    return 0.6 * np.sin(2 * np.pi * f * t + modulator) * np.minimum(1.0, (seconds - t) / 0.01)


def _pad(midi: float, seconds: float, detune: float) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    tone = np.zeros(t.size)
    for interval in (0, 3, 7):
        f = 440.0 * 2 ** ((midi + interval - 69) / 12)
        for partial, weight in ((1, 1.0), (2, 0.4), (3, 0.2)):
            for spread in (1 - detune, 1 + detune):
                tone += weight * np.sin(2 * np.pi * f * partial * spread * t)
    envelope = np.minimum(1.0, t / 0.3) * np.minimum(1.0, (seconds - t) / 0.3)
    return tone / 9.0 * envelope


def _karplus_strong(rng: np.random.Generator, frequency: float, seconds: float) -> np.ndarray:
    period = round(SAMPLE_RATE / frequency)
    out = np.empty(int(seconds * SAMPLE_RATE))
    out[:period] = rng.uniform(-1, 1, period)
    for start in range(period, out.size, period):  # a period at a time: averaging filter
        block = out[start - period : start]
        out[start : start + period] = (0.996 * 0.5 * (block + np.roll(block, 1)))[
            : out.size - start
        ]
    return out


def _annotation(
    name: str,
    arrangement: Arrangement,
    renderer: _Renderer,
    starts: list[float],
    samples: np.ndarray,
) -> Annotation:
    bounds = [*starts, arrangement.lead_in_s + arrangement.n_bars * arrangement.bar_s]
    energy = {}
    for band, stem in renderer.stems.items():
        level = stem * renderer.gain
        rms = np.array(
            [
                np.sqrt(np.mean(level[int(a * SAMPLE_RATE) : int(b * SAMPLE_RATE)] ** 2))
                for a, b in itertools.pairwise(bounds)
            ]
        )
        energy[band] = [round(float(v), 3) for v in rms / max(float(rms.max()), 1e-9)]
    structure, bar = [], 1
    for section, time in zip(arrangement.sections, starts, strict=True):
        structure.append(StructureEntry(bar=bar, label=section.label, time=round(time, 6)))  # type: ignore[arg-type]
        bar += section.bars
    return Annotation(
        audio=AudioInfo(
            file=f"{name}.wav",
            duration=round(samples.size / SAMPLE_RATE, 6),
            bpm=arrangement.bpm,
            downbeat=round(arrangement.lead_in_s, 6),
            time_signature="4/4",
        ),
        structure=structure,
        energy=Energy(unit="section", **energy),
        metadata=Metadata(
            tier=1,
            confidence=1.0,
            source="edm.benchmarks",
            generator="other-music",  # type: ignore[call-arg]
            form=" ".join(s.label for s in arrangement.sections),  # type: ignore[call-arg]
            transitions=" ".join(s.transition for s in arrangement.sections[:-1]),  # type: ignore[call-arg]
        ),
    )
