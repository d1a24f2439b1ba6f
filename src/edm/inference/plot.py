"""A picture of an analysed track: energy over time, sections coloured by label, beats, bars.

Rendered with matplotlib's Agg backend (no display needed) straight to a PNG file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edm.atomic import atomic_write
from edm.decoding.activations import FrameActivations
from edm.decoding.structure import TrackStructure
from edm.vocabulary import ENERGY_BANDS

LABEL_COLOURS = {
    "intro": "#8ecae6",
    "buildup": "#ffb703",
    "drop": "#e63946",
    "breakdown": "#2a9d8f",
    "breakbuild": "#9b5de5",
    "outro": "#577590",
    "unlabeled": "#cccccc",
}
BAND_COLOURS = ("#1d3557", "#457b9d", "#a8dadc")
_FIGURE_SIZE = (14.0, 4.5)
_DPI = 100


def plot_structure(
    structure: TrackStructure,
    activations: FrameActivations | None,
    path: Path | str,
    *,
    title: str = "",
) -> Path:
    """Write the PNG to ``path`` (atomically) and return it."""
    import matplotlib

    matplotlib.use("Agg", force=True)  # files only: never open a window
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    figure = Figure(figsize=_FIGURE_SIZE, dpi=_DPI, layout="constrained")
    sections_axis, energy_axis = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": (1, 3)}
    )
    for section in structure.sections:
        colour = LABEL_COLOURS.get(section.label, "#999999")
        for axis in (sections_axis, energy_axis):
            axis.axvspan(section.start, section.end, color=colour, alpha=0.35, linewidth=0)
        sections_axis.text(
            (section.start + section.end) / 2, 0.5, section.label, ha="center", va="center",
            fontsize=8, clip_on=True,
        )  # fmt: skip
    sections_axis.set_yticks([])
    sections_axis.set_ylim(0, 1)
    for beat in structure.beats:
        sections_axis.axvline(beat, ymin=0.0, ymax=0.15, color="#555555", linewidth=0.4)
    for downbeat in structure.downbeats:
        energy_axis.axvline(downbeat, color="#333333", linewidth=0.5, alpha=0.5)
        sections_axis.axvline(downbeat, ymin=0.0, ymax=0.3, color="black", linewidth=0.8)

    if activations is not None:
        times = np.arange(activations.n_frames) / activations.frame_rate
        for band, name in enumerate(ENERGY_BANDS):
            energy_axis.plot(
                times, activations.energy[band], color=BAND_COLOURS[band], linewidth=0.8,
                label=f"energy {name}",
            )  # fmt: skip
    energy_axis.set_ylim(0, 1.05)
    energy_axis.set_xlim(0, structure.duration)
    energy_axis.set_xlabel("time (s)")
    energy_axis.set_ylabel("energy")
    legend = [
        Patch(color=LABEL_COLOURS[label], alpha=0.5, label=label)
        for label in dict.fromkeys(s.label for s in structure.sections)
        if label in LABEL_COLOURS
    ]
    handles, _ = energy_axis.get_legend_handles_labels()
    energy_axis.legend(handles=[*handles, *legend], loc="upper right", fontsize=7, ncol=2)
    bpm = f"{structure.bpm:.1f} BPM" if structure.bpm is not None else "no beat found"
    sections_axis.set_title(f"{title}  ({bpm})" if title else bpm, fontsize=10)

    path = Path(path)
    with atomic_write(path) as handle:
        figure.savefig(handle, format="png")
    return path
