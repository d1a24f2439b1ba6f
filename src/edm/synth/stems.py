"""Playing an arrangement: one stem (a mono float32 signal of the whole track) per part.

Sound choices (kick tuning, hat pattern, bass rhythm, timbres) are drawn from the arrangement's
random generator as each stem is played, so the order of :func:`play_stems` is part of what
makes a seed's files identical.
"""

from __future__ import annotations

import numpy as np

from edm.synth import instruments as inst
from edm.synth.form import Arrangement
from edm.vocabulary import BEATS_PER_BAR

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
SIDECHAINED = ("bass", "lead", "pad")


def play_stems(arrangement: Arrangement) -> dict[str, np.ndarray]:
    """Every part's stem, the tonal ones ducked after each kick as a sidechain would."""
    player = _Player(arrangement)
    kick = player.kick_sample()
    stems = {
        "kick": player.kicks(kick, muffled=False),
        "kick_lp": player.kicks(kick, muffled=True),
        "clap": player.claps(),
        "hat": player.hats(),
        "open_hat": player.open_hats(),
        "roll": player.snare_rolls(),
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


class _Player:
    def __init__(self, arrangement: Arrangement) -> None:
        self.form = arrangement
        self.rng = arrangement.rng
        self.sr = arrangement.sr
        self.n = arrangement.n

    # ---- drums ---------------------------------------------------------------------------

    def kick_sample(self) -> np.ndarray:
        return inst.kick(
            self.sr,
            self.rng,
            start_hz=self.rng.uniform(110, 260),
            end_hz=self.rng.uniform(42, 62),
            pitch_decay=self.rng.uniform(0.015, 0.05),
            amp_decay=self.rng.uniform(0.12, 0.4),
            click=self.rng.uniform(0.0, 0.4),
        )

    def kicks(self, sample: np.ndarray, *, muffled: bool) -> np.ndarray:
        if muffled:
            sample = inst.filtered(sample, 110.0, "lowpass", self.sr)
        beats = np.arange(self.form.total_beats)
        gains = self.form.beat_levels("kick_lp" if muffled else "kick")
        return inst.place_hits(self.n, self.form.beat_position(beats), gains, sample)

    def claps(self) -> np.ndarray:
        sample = inst.noise_hit(
            self.sr,
            self.rng,
            decay=self.rng.uniform(0.06, 0.16),
            band=(self.rng.uniform(800, 1300), self.rng.uniform(2500, 5000)),
            kind="bandpass",
            length=0.4,
            bursts=3,
        )
        beats = np.arange(self.form.total_beats)
        backbeat = (beats % BEATS_PER_BAR) % 2 == 1  # beats 2 and 4
        return inst.place_hits(
            self.n, self.form.beat_position(beats), self.form.beat_levels("clap") * backbeat, sample
        )

    def hats(self) -> np.ndarray:
        pattern = HAT_PATTERNS[str(self.rng.choice(list(HAT_PATTERNS)))]
        sample = inst.noise_hit(
            self.sr,
            self.rng,
            decay=self.rng.uniform(0.015, 0.06),
            band=self.rng.uniform(5000, 8500),
            kind="highpass",
            length=0.2,
        )
        steps = np.arange(self.form.total_beats * 4)  # sixteenths
        accents = np.array(pattern)[steps % 4] * self.form.beat_levels("hat")[steps // 4]
        swing = self.rng.uniform(0.0, 0.08) * (steps % 2)  # late odd 16ths: groove varies
        return inst.place_hits(
            self.n, self.form.beat_position((steps + swing) / 4), accents, sample
        )

    def open_hats(self) -> np.ndarray:
        sample = inst.noise_hit(
            self.sr, self.rng, decay=self.rng.uniform(0.12, 0.3), band=6000.0, kind="highpass",
            length=0.6,
        )  # fmt: skip
        beats = np.arange(self.form.total_beats)
        return inst.place_hits(
            self.n, self.form.beat_position(beats + 0.5), self.form.beat_levels("open_hat"), sample
        )

    def snare_rolls(self) -> np.ndarray:
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
            positions.append(self.form.beat_position(section.first_beat + local))
            gains.append(level * (0.25 + 0.75 * local / beats_in))
        if not positions:
            return np.zeros(self.n, dtype=np.float32)
        return inst.place_hits(self.n, np.concatenate(positions), np.concatenate(gains), sample)

    def crashes(self) -> np.ndarray:
        sample = inst.noise_hit(
            self.sr, self.rng, decay=self.rng.uniform(0.6, 1.4), band=3000.0, kind="highpass",
            length=2.5,
        )  # fmt: skip
        starts = [s.first_beat for s in self.form.sections]
        levels = [p.get("crash", 0.0) for p in self.form.parts]
        return inst.place_hits(
            self.n, self.form.beat_position(np.array(starts)), np.array(levels), sample
        )

    def risers(self) -> np.ndarray:
        out = np.zeros(self.n, dtype=np.float32)
        for section, parts in zip(self.form.sections, self.form.parts, strict=True):
            level = parts.get("riser", 0.0)
            if not level:
                continue
            first = section.first_beat
            start, end = self.form.beat_position(np.array([first, first + section.n_beats]))
            out[start:end] += level * inst.riser(
                int(end - start),
                self.sr,
                self.rng,
                low_hz=self.rng.uniform(150, 400),
                high_hz=self.rng.uniform(1500, 4000),
            )
        return out

    # ---- tonal parts ---------------------------------------------------------------------

    def bass(self) -> np.ndarray:
        form = self.form
        pattern = BASS_PATTERNS[str(self.rng.choice(list(BASS_PATTERNS)))]
        octave_jumps = self.rng.random() < 0.4
        beats = np.arange(form.total_beats)
        levels = form.beat_levels("bass")
        starts, lengths, midi, gains = [], [], [], []
        for step, length in pattern:
            starts.append(form.beat_position(beats + step / 4))
            lengths.append(np.full(beats.size, length * form.beat_samples / 4 * 0.9))
            note = form.root + form.scale_note(form.chord_degree(beats // BEATS_PER_BAR))
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

    def lead(self) -> np.ndarray:
        """An arpeggio of chord tones, one or two bars long, repeated over the chords."""
        form = self.form
        pattern_steps = 16 * int(self.rng.choice([1, 2]))
        density = self.rng.uniform(0.45, 0.85)
        plays = self.rng.random(pattern_steps) < density
        plays[0] = True
        tones = self.rng.integers(0, 4, pattern_steps)  # root, third, fifth, octave
        steps = np.arange(form.total_beats * 4)
        on = plays[steps % pattern_steps]
        steps = steps[on]
        bar = steps // 16
        degree = form.chord_degree(bar) + np.array([0, 2, 4, 7])[tones[steps % pattern_steps]]
        midi = form.root + 36 + form.scale_note(degree)
        section_level = form.beat_levels("lead")[steps // 4]
        in_breakdown = np.isin(
            [form.sections[i].label for i in form.section_of_beat[steps // 4]],
            ["breakdown", "breakbuild"],
        )
        decay = self.rng.uniform(0.06, 0.22)
        notes = inst.Notes(
            starts=form.beat_position(steps / 4),
            lengths=np.full(steps.size, form.beat_samples / 4 * 0.95).astype(np.int64),
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

    def pad(self) -> np.ndarray:
        form = self.form
        bars = np.arange(form.total_bars)
        levels = form.beat_levels("pad")[bars * BEATS_PER_BAR]
        out = np.zeros(self.n, dtype=np.float32)
        shape = str(self.rng.choice(["saw", "sine"]))
        for chord_tone in (0, 2, 4):
            notes = inst.Notes(
                starts=form.beat_position(bars * BEATS_PER_BAR),
                lengths=np.full(bars.size, form.beat_samples * BEATS_PER_BAR).astype(np.int64),
                midi=(
                    form.root + 24 + form.scale_note(form.chord_degree(bars) + chord_tone)
                ).astype(np.float64),
                gains=levels,
                decays=np.full(bars.size, 1.0),
            )
            out += inst.render_notes(
                self.n, notes, self.sr, shape=shape, attack=0.25, sustain=0.8, cutoff_hz=None
            )
        return inst.filtered(out / 3, 1400.0, "lowpass", self.sr)

    def sidechain(self) -> np.ndarray:
        """Gain that dips after every kick, the pumping of a sidechain compressor."""
        depth = self.rng.uniform(0.3, 0.8)
        kick_levels = np.maximum(self.form.beat_levels("kick"), 0.0)
        beat_starts = self.form.beat_position(np.arange(self.form.total_beats))
        t = np.arange(self.n)
        beat = np.clip(np.searchsorted(beat_starts, t, side="right") - 1, 0, None)
        since = np.maximum(t - beat_starts[beat], 0) / self.sr
        dip = depth * kick_levels[beat] * np.exp(-since / 0.12) * (t >= beat_starts[0])
        return (1.0 - dip).astype(np.float32)


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
