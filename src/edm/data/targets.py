"""Frame-level training targets at the feature frame rate (50 frames per second by default).

- ``beat``, ``downbeat``: 1.0 on the frame of each (down)beat and 0.5 on its two neighbours, so
  that being one frame (20 ms) off is not punished like missing the beat entirely; beats run
  from the first downbeat to the music's end only, bars of ``audio.time_signature`` beats.
- ``boundary``: a Gaussian (``boundary_sigma`` frames wide) around each section start; a start at
  the very first frame is not a boundary (nothing changes there).
- ``label``: the index into :data:`~edm.vocabulary.LABELS` of the section each frame is in;
  frames before the first section, and after ``audio.music_end``, are ``unlabeled`` (the
  silence class); frames of a section whose label is outside the vocabulary (``unknown``) are
  :data:`IGNORE_INDEX`, which the loss and the label accuracy skip.
- ``energy``: ``(3, T)`` low/mid/high in 0..1 from the annotation's energy, each value held from
  its section's (or bar's) start to the next; zeros and ``has_energy=False`` without one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from edm.data.annotations import Annotation
from edm.vocabulary import LABELS, UNLABELED

IGNORE_INDEX = -100  # nn.CrossEntropyLoss's default ignore_index: no label to learn here
BEAT_NEIGHBOUR_WEIGHT = 0.5
DEFAULT_BOUNDARY_SIGMA = 2.0  # frames: ±6 frames (±120 ms) have a non-zero target


@dataclass(frozen=True)
class FrameTargets:
    boundary: np.ndarray  # float32 (T,)
    beat: np.ndarray  # float32 (T,)
    downbeat: np.ndarray  # float32 (T,)
    label: np.ndarray  # int64 (T,)
    energy: np.ndarray  # float32 (3, T)
    has_energy: bool

    @property
    def n_frames(self) -> int:
        return int(self.beat.shape[0])


def beat_times(annotation: Annotation) -> np.ndarray:
    """Every beat where there is music: from the first downbeat (bar 1) to the music's end
    (``audio.music_end``, else the track's end), on the constant grid of ``audio.bpm``.

    Lead-in silence before bar 1 and the silence after the music get no beat, so that a model
    is never taught, nor scored on, beats where nothing plays.
    """
    period = annotation.audio.beat_duration
    first = annotation.audio.downbeat
    end = annotation.audio.music_stop
    count = int(np.floor((end - first) / period)) + 1
    times = first + period * np.arange(max(count, 0))
    return times[times < end]


def downbeat_times(annotation: Annotation) -> np.ndarray:
    beats = beat_times(annotation)
    period = annotation.audio.beat_duration
    beat_number = np.round((beats - annotation.audio.downbeat) / period).astype(np.int64)
    return beats[beat_number % annotation.audio.beats_per_bar == 0]


def frame_targets(
    annotation: Annotation,
    n_frames: int,
    frame_rate: float,
    *,
    boundary_sigma: float = DEFAULT_BOUNDARY_SIGMA,
) -> FrameTargets:
    """Targets for a track whose features have ``n_frames`` frames at ``frame_rate``."""
    section_starts = np.array([s.time for s in annotation.structure], dtype=np.float64)
    section_frames = np.round(section_starts * frame_rate).astype(np.int64)
    label_index = np.array([label_index_of(s.label) for s in annotation.structure], dtype=np.int64)
    energy, has_energy = _energy(annotation, n_frames, frame_rate, section_frames)
    return FrameTargets(
        boundary=gaussian_peaks(section_frames[section_frames > 0], n_frames, boundary_sigma),
        beat=widened_peaks(_frames_of(beat_times(annotation), frame_rate), n_frames),
        downbeat=widened_peaks(_frames_of(downbeat_times(annotation), frame_rate), n_frames),
        label=_labels(annotation, section_frames, label_index, n_frames, frame_rate),
        energy=energy,
        has_energy=has_energy,
    )


def label_index_of(label: str) -> int:
    """The class index of a section label; :data:`IGNORE_INDEX` for one outside the vocabulary."""
    return LABELS.index(label) if label in LABELS else IGNORE_INDEX


def _labels(
    annotation: Annotation,
    section_frames: np.ndarray,
    label_index: np.ndarray,
    n_frames: int,
    frame_rate: float,
) -> np.ndarray:
    labels = _held_values(section_frames, label_index, n_frames, UNLABELED).astype(np.int64)
    if annotation.audio.music_end is not None:
        labels[round(annotation.audio.music_end * frame_rate) :] = UNLABELED
    return labels


def _frames_of(times: np.ndarray, frame_rate: float) -> np.ndarray:
    return np.round(times * frame_rate).astype(np.int64)


def widened_peaks(frames: np.ndarray, n_frames: int) -> np.ndarray:
    """1.0 on each frame and BEAT_NEIGHBOUR_WEIGHT beside it: a beat target that forgives the
    one-frame error of rounding a time to a frame."""
    out = np.zeros(n_frames, dtype=np.float32)
    for offset, weight in ((-1, BEAT_NEIGHBOUR_WEIGHT), (1, BEAT_NEIGHBOUR_WEIGHT), (0, 1.0)):
        shifted = frames + offset
        shifted = shifted[(shifted >= 0) & (shifted < n_frames)]
        out[shifted] = np.maximum(out[shifted], weight)
    return out


def gaussian_peaks(frames: np.ndarray, n_frames: int, sigma: float) -> np.ndarray:
    """A Gaussian bump of width ``sigma`` frames on each frame (boundary targets)."""
    out = np.zeros(n_frames, dtype=np.float32)
    radius = max(1, int(np.ceil(3 * sigma)))
    offsets = np.arange(-radius, radius + 1)
    shape = np.exp(-0.5 * (offsets / sigma) ** 2).astype(np.float32)
    for frame in frames.tolist():
        positions = frame + offsets
        inside = (positions >= 0) & (positions < n_frames)
        out[positions[inside]] = np.maximum(out[positions[inside]], shape[inside])
    return out


def _held_values(
    start_frames: np.ndarray, values: np.ndarray, n_frames: int, before_first: float
) -> np.ndarray:
    """``values[i]`` from ``start_frames[i]`` until the next start; ``before_first`` before."""
    frames = np.arange(n_frames)
    index = np.searchsorted(start_frames, frames, side="right") - 1
    held = values[np.maximum(index, 0)] if values.size else np.zeros(n_frames, values.dtype)
    return np.where(index >= 0, held, before_first)


def _energy(
    annotation: Annotation, n_frames: int, frame_rate: float, section_frames: np.ndarray
) -> tuple[np.ndarray, bool]:
    energy = annotation.energy
    if energy is None:
        return np.zeros((3, n_frames), dtype=np.float32), False
    if energy.unit == "section":
        starts = section_frames
    else:
        bar = annotation.audio.bar_duration
        starts = np.round(
            (annotation.audio.downbeat + bar * np.arange(len(energy.low))) * frame_rate
        ).astype(np.int64)
    bands = [
        _held_values(starts, np.asarray(values, dtype=np.float32), n_frames, 0.0)
        for values in energy.bands()
    ]
    return np.stack(bands).astype(np.float32), True
