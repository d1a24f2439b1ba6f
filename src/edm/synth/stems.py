"""Playing an arrangement with a kit: one stem (a mono float32 signal of the whole track) per
part.

Pattern choices (lead rhythm, chord voicing) are drawn from the arrangement's random generator
as each stem is played, so the order of :func:`play_stems` is part of what makes a seed's files
identical.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

from edm.synth import instruments as inst
from edm.synth.form import Arrangement
from edm.synth.kits import Kit, Voice
from edm.vocabulary import BEATS_PER_BAR

SIDECHAINED = ("bass", "lead", "pad")


def play_stems(arrangement: Arrangement, kit: Kit) -> dict[str, np.ndarray]:
    """Every part's stem, the tonal ones ducked after each kick as a sidechain would."""
    player = _Player(arrangement, kit)
    stems = {
        "kick": player.kicks(muffled=False),
        "kick_lp": player.kicks(muffled=True),
        "clap": player.claps(),
        "hat": player.hats(),
        "open_hat": player.open_hats(),
        "perc": player.percussion(),
        "roll": player.snare_rolls(),
        "fill": player.fills(),
        "crash": player.crashes(),
        "riser": player.risers(),
        "bass": player.bass(),
        "lead": player.lead(),
        "pad": player.pad(),
    }
    ducking = player.sidechain()
    for name in SIDECHAINED:
        stems[name] *= ducking
    return stems


def lead_in_noise(arrangement: Arrangement) -> np.ndarray:
    """Room noise or silence before the first downbeat."""
    rng, n, lead_in = arrangement.rng, arrangement.n, arrangement.lead_in_samples
    out = np.zeros(n, dtype=np.float32)
    if rng.random() < 0.5:
        level = 10 ** (rng.uniform(-60.0, -45.0) / 20)
        out[:lead_in] = level * rng.standard_normal(lead_in)
    return out


def render_voice(
    n: int, notes: inst.Notes, sr: int, voice: Voice, *, chords: bool = False
) -> np.ndarray:
    return inst.render_notes(
        n,
        notes,
        sr,
        shape=voice.shape,
        attack=voice.attack,
        sustain=voice.sustain,
        cutoff_hz=voice.cutoff_hz,
        bright_decay=voice.bright_decay,
        detune_cents=voice.detune_cents,
        polyphonic=chords,
    )


class _Player:
    def __init__(self, arrangement: Arrangement, kit: Kit) -> None:
        self.form = arrangement
        self.kit = kit
        self.rng = arrangement.rng
        self.sr = arrangement.sr
        self.n = arrangement.n
        self.beats = np.arange(arrangement.total_beats)

    def _hits(self, beats: np.ndarray, gains: np.ndarray, sample: np.ndarray) -> np.ndarray:
        return inst.place_hits(self.n, self.form.beat_position(beats), gains, sample)

    # ---- drums ---------------------------------------------------------------------------

    def kicks(self, *, muffled: bool) -> np.ndarray:
        sample = self.kit.kick
        if muffled:
            sample = inst.filtered(sample, 110.0, "lowpass", self.sr)
            return self._hits(self.beats, self.form.beat_levels("kick_lp"), sample)
        out = self._hits(self.beats, self.form.beat_levels("kick"), sample)
        for i, section in enumerate(self.form.sections):
            if self.form.direction(i, "kick_roll") and section.bars >= 4:
                # The last bar: eighths, then sixteenths, growing louder into the drop.
                end = section.first_beat + section.n_beats
                local = np.concatenate(
                    [np.arange(end - 4, end - 2, 0.5), np.arange(end - 2, end, 0.25)]
                )
                out += self._hits(local, 0.3 + 0.4 * (local - local[0]) / 4, self._choked(sample))
        return out

    def _choked(self, sample: np.ndarray) -> np.ndarray:
        """``sample`` cut to a sixteenth with a 5 ms fade: a roll's hits do not pile up."""
        size = min(sample.size, int(self.form.beat_samples / 4))
        fade = np.clip((size - np.arange(size)) / (0.005 * self.sr), 0.0, 1.0)
        return (sample[:size] * fade).astype(np.float32)

    def claps(self) -> np.ndarray:
        beat_in_bar = self.beats % BEATS_PER_BAR
        backbeat = np.where(self.form.halftime_beats(), beat_in_bar == 2, beat_in_bar % 2 == 1)
        return self._hits(self.beats, self.form.beat_levels("clap") * backbeat, self.kit.backbeat)

    def hats(self) -> np.ndarray:
        steps = np.arange(self.form.total_beats * 4)  # sixteenths
        levels = self.form.beat_levels("hat")[steps // 4]
        accents = np.array(self.kit.hat_pattern)[steps % 4] * levels
        swing = self.kit.swing * (steps % 2)  # late odd 16ths: groove varies
        out = self._hits((steps + swing) / 4, accents, self.kit.hat)
        if self.kit.shaker is not None:
            shake = (0.5 + 0.5 * (steps % 2 == 0)) * levels * 0.6
            out += self._hits((steps + swing) / 4, shake, self.kit.shaker)
        return out

    def percussion(self) -> np.ndarray:
        """The kit's percussion on a one-bar pattern of sixteenths drawn per track, off the
        kick's beats, wherever the hats play."""
        if self.kit.perc is None:
            return np.zeros(self.n, dtype=np.float32)
        pattern = (self.rng.random(16) < self.rng.uniform(0.15, 0.35)) & (np.arange(16) % 4 != 0)
        accents = self.rng.uniform(0.5, 1.0, 16) * pattern
        steps = np.arange(self.form.total_beats * 4)
        gains = accents[steps % 16] * (self.form.beat_levels("hat")[steps // 4] > 0)
        return self._hits(steps / 4, gains, self.kit.perc)

    def open_hats(self) -> np.ndarray:
        return self._hits(self.beats + 0.5, self.form.beat_levels("open_hat"), self.kit.open_hat)

    def snare_rolls(self) -> np.ndarray:
        """Buildup rolls: quarters, then eighths, then sixteenths, growing louder."""
        positions, gains = [], []
        for section, parts in zip(self.form.sections, self.form.parts, strict=True):
            level = parts.get("roll", 0.0)
            if not level:
                continue
            beats_in = section.n_beats
            half, three_quarters = beats_in // 2, beats_in * 3 // 4
            local = np.concatenate(
                [
                    np.arange(0, half, 1.0),
                    np.arange(half, three_quarters, 0.5),
                    np.arange(three_quarters, beats_in, 0.25),
                ]
            )
            positions.append(section.first_beat + local)
            gains.append(level * (0.25 + 0.75 * local / beats_in))
        if not positions:
            return np.zeros(self.n, dtype=np.float32)
        return self._hits(np.concatenate(positions), np.concatenate(gains), self.kit.snare)

    def fills(self) -> np.ndarray:
        """Drum fills: the pickup before bar 1 and the last beats before a drop, in eighths or
        sixteenths on snare and toms, growing louder towards the downbeat."""
        spans = []
        if self.form.pickup_beats:
            spans.append((-float(self.form.pickup_beats), 0.0))
        for i, section in enumerate(self.form.sections):
            beats = self.form.direction(i, "fill_beats")
            if beats:
                end = float(section.first_beat + section.n_beats)
                spans.append((end - beats, end))
        out = np.zeros(self.n, dtype=np.float32)
        for start, end in spans:
            step = 0.25 if self.rng.random() < 0.6 else 0.5
            local = np.arange(start, end, step)
            on = self.rng.random(local.size) < 0.85
            on[0] = True
            grow = 0.5 + 0.5 * (local - start) / max(end - start, 1e-9)
            toms = self.rng.random(local.size) < 0.35
            out += self._hits(local, grow * on * ~toms, self.kit.snare)
            out += self._hits(local, grow * on * toms, self.kit.tom)
        return out

    def crashes(self) -> np.ndarray:
        starts = np.array([s.first_beat for s in self.form.sections])
        levels = np.array([p.get("crash", 0.0) for p in self.form.parts])
        return self._hits(starts, levels, self.kit.crash)

    def risers(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for section, parts in zip(self.form.sections, self.form.parts, strict=True):
            level = parts.get("riser", 0.0)
            if not level:
                continue
            first = section.first_beat
            start, end = self.form.beat_position(np.array([first, first + section.n_beats]))
            end = min(int(end), self.n)
            riser = self.kit.riser(int(end - start), self.sr, self.rng)
            out[start:end] += level * riser / max(float(np.abs(riser).max()), 1e-9)
        return out

    # ---- tonal parts ---------------------------------------------------------------------

    def bass(self) -> np.ndarray:
        form, kit = self.form, self.kit
        levels = form.beat_levels("bass")
        starts, lengths, midi, gains = [], [], [], []
        for step, length in kit.bass_pattern:
            starts.append(form.beat_position(self.beats + step / 4))
            lengths.append(np.full(self.beats.size, length * form.beat_samples / 4 * 0.9))
            note = form.root + form.scale_note(form.chord_degree(self.beats // BEATS_PER_BAR))
            if kit.octave_jumps and step == 3:
                note = note + 12
            midi.append(note)
            gains.append(levels)
        notes = _sorted_notes(starts, lengths, midi, gains, decay=kit.bass.decay)
        return render_voice(self.n, notes, self.sr, kit.bass)

    def lead(self) -> np.ndarray:
        """An arpeggio or plucks of chord tones (one or two bars, repeated over the chords), or
        chord stabs: three voices on the same rhythm."""
        form, voice = self.form, self.kit.lead
        pattern_steps = 16 * int(self.rng.choice([1, 2]))
        density = (
            self.rng.uniform(0.2, 0.4) if voice.style == "stab" else self.rng.uniform(0.45, 0.85)
        )
        plays = self.rng.random(pattern_steps) < density
        plays[0 if voice.style != "stab" else 2] = True
        tones = self.rng.integers(0, 4, pattern_steps)  # root, third, fifth, octave
        steps = np.arange(form.total_beats * 4)
        steps = steps[plays[steps % pattern_steps]]
        bar = steps // 16
        labels = [form.sections[i].label for i in form.section_of_beat[steps // 4]]
        in_breakdown = np.isin(labels, ["breakdown", "breakbuild"])
        length = 2 if voice.style == "stab" else 1
        chord = (0, 2, 4) if voice.style == "stab" else (None,)
        out = np.zeros(self.n, dtype=np.float32)
        for tone in chord:
            offsets = np.array([0, 2, 4, 7])[tones[steps % pattern_steps]] if tone is None else tone
            midi = form.root + 36 + form.scale_note(form.chord_degree(bar) + offsets)
            notes = inst.Notes(
                starts=form.beat_position(steps / 4),
                lengths=np.full(steps.size, form.beat_samples / 4 * length * 0.95).astype(np.int64),
                midi=midi.astype(np.float64),
                gains=form.beat_levels("lead")[steps // 4],
                decays=np.where(in_breakdown, voice.decay * 4, voice.decay),  # softer, longer
            )
            if length > 1:  # stabs may overlap the next step: keep one voice monophonic
                notes = _without_overlaps(notes)
            out += render_voice(self.n, notes, self.sr, voice)
        return out / np.float32(len(chord) ** 0.5)

    def pad(self) -> np.ndarray:
        """Sustained three-note chords, one per bar. Rendered at half the sample rate and
        resampled up: a pad is low-passed well under that Nyquist, and it is the costliest part
        to render."""
        form = self.form
        bars = np.arange(form.total_bars)
        levels = form.beat_levels("pad")[bars * BEATS_PER_BAR]
        tones = np.repeat(np.array([0, 2, 4]), bars.size)
        chord_bars = np.tile(bars, 3)
        half_n, half_sr = self.n // 2 + 1, self.sr // 2
        notes = inst.Notes(
            starts=form.beat_position(chord_bars * BEATS_PER_BAR) // 2,
            lengths=np.full(chord_bars.size, form.beat_samples * BEATS_PER_BAR / 2).astype(
                np.int64
            ),
            midi=(form.root + 24 + form.scale_note(form.chord_degree(chord_bars) + tones)).astype(
                np.float64
            ),
            gains=np.tile(levels, 3),
            decays=np.full(chord_bars.size, 1.0),
        )
        half = render_voice(half_n, notes, half_sr, self.kit.pad, chords=True)
        half = inst.filtered(half / 3, self.kit.pad_cutoff_hz, "lowpass", half_sr)
        # A polyphase filter, not linear interpolation: that would leave an image of the pad
        # mirrored above 5.5 kHz, a hiss no real pad has.
        return signal.resample_poly(half, 2, 1)[: self.n].astype(np.float32)

    def sidechain(self) -> np.ndarray:
        """Gain that dips after every kick, the pumping of a sidechain compressor."""
        kick_levels = np.maximum(self.form.beat_levels("kick"), 0.0)
        beat_starts = self.form.beat_position(self.beats)
        # Samples from each beat to the next (the last beat runs to the end of the track).
        spans = np.diff(np.append(beat_starts, self.n))
        since = (np.arange(spans.sum()) - np.repeat(beat_starts - beat_starts[0], spans)) / self.sr
        depth = self.kit.sidechain_depth * np.repeat(kick_levels, spans)
        dip = depth * np.exp(-since / self.kit.sidechain_release)
        gain = np.ones(self.n, dtype=np.float32)
        gain[beat_starts[0] :] = 1.0 - dip
        return gain


def _without_overlaps(notes: inst.Notes) -> inst.Notes:
    ends = notes.starts + notes.lengths
    if notes.starts.size > 1:
        ends[:-1] = np.minimum(ends[:-1], notes.starts[1:])
    return inst.Notes(notes.starts, ends - notes.starts, notes.midi, notes.gains, notes.decays)


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
