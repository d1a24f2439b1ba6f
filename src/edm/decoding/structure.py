"""The decoded structure of a track, and its conversion to the annotation schema.

``TrackStructure.to_annotation`` writes what the trainer reads (``edm.data.annotations``), so an
analysed track can be corrected by hand and trained on.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edm.data.annotations import Annotation, AudioInfo, Energy, Metadata, StructureEntry
from edm.decoding.confidence import Confidence
from edm.decoding.metre import Metre
from edm.errors import DataError
from edm.vocabulary import BEATS_PER_BAR, ENERGY_BANDS


@dataclass(frozen=True)
class Section:
    """One decoded section, ``start`` to ``end``; :class:`StructureEntry` is its annotation."""

    start: float  # seconds
    end: float
    label: str
    confidence: float  # mean probability of ``label`` over the section's frames
    energy: tuple[float, float, float]  # low, mid, high, each 0..1

    @property
    def duration(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": round(self.start, 3),
            "end": round(self.end, 3),
            "label": self.label,
            "confidence": round(self.confidence, 3),
            "energy": {
                band: round(value, 3) for band, value in zip(ENERGY_BANDS, self.energy, strict=True)
            },
        }


@dataclass(frozen=True)
class TrackStructure:
    """Beats, downbeats and sections of one track; ``bpm`` is None when no beat was found."""

    bpm: float | None
    beats: tuple[float, ...]
    downbeats: tuple[float, ...]
    sections: list[Section]
    duration: float
    beats_per_bar: int = BEATS_PER_BAR
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the tempo fit's score
    confidence: Confidence | None = None  # set by decode_structure (decoding/confidence.py)
    # (start in seconds, BPM) of each tempo segment: one entry for a constant tempo.
    tempo_curve: tuple[tuple[float, float], ...] = ()
    metre: Metre | None = None  # how the metre was decided (decoding/metre.py)
    tempo_range: tuple[float, float] | None = None  # the BPM range the tempo was searched in

    def to_dict(self) -> dict[str, Any]:
        document = {
            "duration": round(self.duration, 3),
            "bpm": None if self.bpm is None else round(self.bpm, 3),
            "time_signature": f"{self.beats_per_bar}/4",
            "beats": [round(t, 3) for t in self.beats],
            "downbeats": [round(t, 3) for t in self.downbeats],
            "sections": [section.to_dict() for section in self.sections],
        }
        if self.tempo_curve:
            document["tempo_curve"] = [[t, bpm] for t, bpm in self.tempo_curve]
        if self.metre is not None:
            document["metre"] = self.metre.to_dict()
        if self.tempo_range is not None:
            document["tempo_range"] = [round(v, 3) for v in self.tempo_range]
        if self.confidence is not None:
            document["confidence"] = self.confidence.to_dict()
        return document

    def to_annotation(
        self, audio_file: str, *, source: str = "edm analyze", **metadata: Any
    ) -> Annotation:
        """The annotation schema (tier 3: automatic), ``audio_file`` relative to the YAML file.

        Bar 1 is the downbeat that starts the first section, so that section bar numbers count
        from the music, as in hand-made annotations.
        """
        if self.bpm is None or not self.downbeats:
            raise DataError(
                f"{audio_file}: no beat was found, so there is no tempo or bar grid to annotate"
            )
        bar_seconds = self.beats_per_bar * 60.0 / self.bpm
        first_downbeat = self._bar_one(bar_seconds)
        structure: list[StructureEntry] = []
        for section in self.sections:
            bar = 1 + round((section.start - first_downbeat) / bar_seconds)
            if structure and bar <= structure[-1].bar:
                bar = structure[-1].bar + 1  # a section shorter than a bar still gets its own
            structure.append(
                StructureEntry(
                    bar=max(bar, 1),
                    label=section.label,  # type: ignore[arg-type]
                    time=round(section.start, 3),
                    confidence=round(_unit(section.confidence), 3),
                )
            )
        energy = None
        if self.sections:
            bands = list(zip(*(s.energy for s in self.sections), strict=True))
            energy = Energy(
                unit="section",
                **{
                    band: [round(_unit(v), 3) for v in values]
                    for band, values in zip(ENERGY_BANDS, bands, strict=True)
                },
            )
        confidences = [s.confidence for s in self.sections]
        overall = sum(confidences) / len(confidences) if confidences else 0.0
        return Annotation(
            audio=AudioInfo(
                file=audio_file,
                duration=round(self.duration, 3),
                bpm=round(self.bpm, 3),
                downbeat=round(first_downbeat, 3),
                time_signature=f"{self.beats_per_bar}/4",
                music_end=self._music_end(bar_seconds),
            ),
            structure=structure,
            energy=energy,
            metadata=Metadata(
                tier=3, confidence=round(_unit(overall), 3), source=source, **metadata
            ),
        )

    def _music_end(self, bar_seconds: float) -> float | None:
        """Where the beats stop, when that is over two bars before the end (trailing silence
        the decoder gave no beats); None when the music runs to the end."""
        if not self.beats:
            return None
        end = round(self.beats[-1] + bar_seconds / self.beats_per_bar, 3)
        return end if self.duration - end > 2 * bar_seconds else None

    def _bar_one(self, bar_seconds: float) -> float:
        if not self.sections:
            return self.downbeats[0]
        start = self.sections[0].start
        nearest = min(self.downbeats, key=lambda t: abs(t - start))
        # Sections are snapped to downbeats; one that is not (no downbeat near it) starts bar 1.
        return nearest if abs(nearest - start) < bar_seconds / 2 else start


def _unit(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)
